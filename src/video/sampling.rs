//! Which frames of a clip are read: T uniform segments (TSN-style, as the paper and
//! mmaction2 sample), or a frame pair `(t, t+k)` for AM-flow maps.

use rand::{Rng, RngExt};

use super::ClipError;

/// Where in each segment the frame is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentPick {
    /// A random frame within the segment (training).
    Random,
    /// The middle frame of the segment (testing).
    Middle,
}

/// `t` frame indices from a clip of `frames` frames split into `t` equal segments
/// `[⌊s·frames/t⌋, ⌊(s+1)·frames/t⌋)`, one frame from each, ascending. The middle frame of
/// segment `s` is `⌊(s + ½)·frames/t⌋` (mmaction2's test-mode sampling); a clip shorter than
/// `t` frames always takes middles, which repeats frames. A clip with no frames is an error.
pub fn uniform_segments(
    frames: usize,
    t: usize,
    pick: SegmentPick,
    rng: &mut impl Rng,
) -> Result<Vec<usize>, ClipError> {
    if frames == 0 || t == 0 {
        return Err(ClipError::Sampling(format!(
            "cannot sample {t} segments from a clip of {frames} frames"
        )));
    }
    Ok((0..t)
        .map(|s| {
            let start = s * frames / t;
            let end = ((s + 1) * frames / t).max(start + 1);
            match pick {
                SegmentPick::Random if frames >= t => rng.random_range(start..end),
                _ => (2 * s + 1) * frames / (2 * t),
            }
        })
        .collect())
}

/// The frame pair `(t, t+k)` of a clip of `frames` frames, checked.
pub fn pair(frames: usize, t: usize, k: usize) -> Result<[usize; 2], ClipError> {
    if k == 0 {
        return Err(ClipError::Sampling(
            "the frame offset k must be at least 1".into(),
        ));
    }
    if frames < 2 {
        return Err(ClipError::Sampling(format!(
            "AM flow needs two frames, but the clip has {frames}"
        )));
    }
    match t.checked_add(k) {
        Some(u) if u < frames => Ok([t, u]),
        _ => Err(ClipError::Sampling(format!(
            "frame pair ({t}, {t}+{k}) does not fit a clip of {frames} frames (0 to {})",
            frames - 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn middle_frames_of_segments() {
        let mut rng = StdRng::seed_from_u64(0);
        // 80 frames, 8 segments of 10: middles at 5, 15, ..., 75 (mmaction2 test mode).
        let idx = uniform_segments(80, 8, SegmentPick::Middle, &mut rng).unwrap();
        assert_eq!(idx, [5, 15, 25, 35, 45, 55, 65, 75]);
        // Short clips repeat frames.
        let idx = uniform_segments(3, 8, SegmentPick::Middle, &mut rng).unwrap();
        assert_eq!(idx, [0, 0, 0, 1, 1, 2, 2, 2]);
        assert!(uniform_segments(0, 8, SegmentPick::Middle, &mut rng).is_err());
    }

    #[test]
    fn random_frames_stay_in_their_segments() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            let idx = uniform_segments(95, 8, SegmentPick::Random, &mut rng).unwrap();
            for (s, &i) in idx.iter().enumerate() {
                assert!((s * 95 / 8..(s + 1) * 95 / 8).contains(&i), "{s}: {i}");
            }
        }
    }

    #[test]
    fn pairs() {
        assert_eq!(pair(10, 3, 2).unwrap(), [3, 5]);
        assert!(pair(10, 8, 2).is_err());
        assert!(pair(1, 0, 1).is_err());
        assert!(pair(10, 0, 0).is_err());
        assert!(pair(10, usize::MAX, 1).is_err());
    }
}

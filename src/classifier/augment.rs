//! Training augmentations that move a clip to another class, with the labels that follow:
//! mirroring left–right (`train --mirror`) and playing backwards (`train --reverse`), each
//! applied to half of the training clips at random, drawn afresh every time a clip is loaded.
//!
//! A mirrored clip of "moving right" shows "moving left", and a clockwise turn becomes a
//! counter-clockwise one; played backwards, "right" becomes "left", "grow" becomes "shrink" and
//! a turn changes its sense too. The user names the class pairs a transform swaps
//! (`left:right,rotate_cw:rotate_ccw`); every class not named keeps its label, so a transform is
//! only right for a dataset where each class is its own image or a named partner's.
//!
//! For a motion classifier these are the cheapest evidence there is that the class lies in the
//! direction of the motion: the same pixels, mirrored or played backwards, carry the partner's
//! label, so no appearance shortcut tells `rotate_cw` from `rotate_ccw`.

use rand::RngExt;
use rand::rngs::StdRng;

/// A `--mirror` or `--reverse` list that does not fit the dataset.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// An entry that is not `a:b`.
    #[error("--{option}: \"{entry}\" is not a pair of classes `a:b`")]
    NotAPair {
        /// `mirror` or `reverse`.
        option: &'static str,
        /// The entry.
        entry: String,
    },
    /// A class the dataset does not have.
    #[error("--{option}: \"{class}\" is not one of the dataset's classes ({known})")]
    UnknownClass {
        /// `mirror` or `reverse`.
        option: &'static str,
        /// The class.
        class: String,
        /// The dataset's classes.
        known: String,
    },
    /// A class in two pairs, or paired with itself.
    #[error("--{option}: \"{class}\" is named more than once")]
    Repeated {
        /// `mirror` or `reverse`.
        option: &'static str,
        /// The class.
        class: String,
    },
}

/// The label map of one transform: `map[c]` is the class a clip of class `c` shows after it.
/// Parsed from `a:b,c:d` (empty: every class keeps its label); each pair swaps both ways.
pub fn class_swaps(
    option: &'static str,
    spec: &str,
    classes: &[String],
) -> Result<Vec<usize>, AugmentError> {
    let mut map: Vec<usize> = (0..classes.len()).collect();
    let mut named = vec![false; classes.len()];
    let index = |class: &str| {
        classes
            .iter()
            .position(|c| c == class)
            .ok_or_else(|| AugmentError::UnknownClass {
                option,
                class: class.to_string(),
                known: classes.join(", "),
            })
    };
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (a, b) = entry
            .split_once(':')
            .ok_or_else(|| AugmentError::NotAPair {
                option,
                entry: entry.to_string(),
            })?;
        let (a, b) = (index(a.trim())?, index(b.trim())?);
        for c in [a, b] {
            if std::mem::replace(&mut named[c], true) {
                return Err(AugmentError::Repeated {
                    option,
                    class: classes[c].clone(),
                });
            }
        }
        map[a] = b;
        map[b] = a;
    }
    Ok(map)
}

/// The transforms a training batcher applies; `None` leaves that one out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Augment {
    /// The label map of a left–right mirror.
    pub mirror: Option<Vec<usize>>,
    /// The label map of playing the clip backwards.
    pub reverse: Option<Vec<usize>>,
}

impl Augment {
    /// Whether any transform is on.
    pub fn is_on(&self) -> bool {
        self.mirror.is_some() || self.reverse.is_some()
    }

    /// Applies each transform that is on with probability ½ to one clip's values
    /// `[crops, T, 3, S, S]` (row-major, every crop alike) and returns its label after them.
    pub fn apply(
        &self,
        clip: &mut [f32],
        frames: usize,
        size: usize,
        label: usize,
        rng: &mut StdRng,
    ) -> usize {
        let mut label = label;
        if let Some(map) = &self.mirror
            && rng.random_bool(0.5)
        {
            mirror(clip, size);
            label = map[label];
        }
        if let Some(map) = &self.reverse
            && rng.random_bool(0.5)
        {
            for crop in clip.chunks_exact_mut(frames * 3 * size * size) {
                reverse(crop, frames);
            }
            label = map[label];
        }
        label
    }
}

/// Mirrors every row of `size` values left–right: pixel `x` of a row takes pixel `size−1−x`.
fn mirror(clip: &mut [f32], size: usize) {
    for row in clip.chunks_exact_mut(size) {
        row.reverse();
    }
}

/// Plays the clip backwards: frame `t` takes frame `T−1−t`.
fn reverse(clip: &mut [f32], frames: usize) {
    let per_frame = clip.len() / frames;
    for t in 0..frames / 2 {
        let (head, tail) = clip.split_at_mut((frames - 1 - t) * per_frame);
        head[t * per_frame..(t + 1) * per_frame].swap_with_slice(&mut tail[..per_frame]);
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn classes() -> Vec<String> {
        ["left", "right", "up", "rotate_cw", "rotate_ccw"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn pairs_swap_both_ways_and_the_rest_keep_their_label() {
        let map = class_swaps("mirror", "left:right, rotate_cw:rotate_ccw", &classes()).unwrap();
        assert_eq!(map, [1, 0, 2, 4, 3]);
        assert_eq!(
            class_swaps("mirror", "", &classes()).unwrap(),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn unknown_repeated_and_malformed_pairs_are_refused() {
        let err = class_swaps("reverse", "left:sideways", &classes()).unwrap_err();
        assert!(
            err.to_string().contains("\"sideways\" is not one of"),
            "{err}"
        );
        let err = class_swaps("reverse", "left:right,right:up", &classes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"right\" is named more than once"),
            "{err}"
        );
        let err = class_swaps("reverse", "up:up", &classes()).unwrap_err();
        assert!(
            err.to_string().contains("\"up\" is named more than once"),
            "{err}"
        );
        let err = class_swaps("reverse", "left", &classes()).unwrap_err();
        assert!(err.to_string().contains("not a pair"), "{err}");
    }

    #[test]
    fn mirror_reverses_rows_and_reverse_reverses_frames() {
        // T = 3 frames, 3 channels, 2×2 pixels: value = 100·t + 10·c + 2·y + x.
        let clip: Vec<f32> = (0..3 * 3 * 4)
            .map(|i| (100 * (i / 12) + 10 * (i / 4 % 3) + i % 4) as f32)
            .collect();
        let mut m = clip.clone();
        mirror(&mut m, 2);
        // Row [x0, x1] becomes [x1, x0]: frame 0, channel 0 is [1, 0, 3, 2].
        assert_eq!(&m[..4], &[1.0, 0.0, 3.0, 2.0]);
        assert_eq!(&m[32..], &[221.0, 220.0, 223.0, 222.0]);
        let mut r = clip.clone();
        reverse(&mut r, 3);
        assert_eq!(&r[..12], &clip[24..]);
        assert_eq!(&r[12..24], &clip[12..24]);
        assert_eq!(&r[24..], &clip[..12]);
        // An even number of frames: every frame moves.
        let mut r = clip[..24].to_vec();
        reverse(&mut r, 2);
        assert_eq!(&r[..12], &clip[12..24]);
        assert_eq!(&r[12..], &clip[..12]);
    }

    #[test]
    fn each_transform_hits_about_half_the_clips_and_its_label_follows() {
        let augment = Augment {
            mirror: Some(vec![1, 0, 2, 4, 3]),
            reverse: None,
        };
        let mut rng = StdRng::seed_from_u64(7);
        let clip: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut mirrored = 0;
        for _ in 0..1000 {
            let mut c = clip.clone();
            let label = augment.apply(&mut c, 2, 2, 3, &mut rng);
            if c == clip {
                assert_eq!(label, 3);
            } else {
                let mut m = clip.clone();
                mirror(&mut m, 2);
                assert_eq!(c, m);
                assert_eq!(label, 4);
                mirrored += 1;
            }
        }
        assert!((400..600).contains(&mirrored), "{mirrored} of 1000");
        assert!(!Augment::default().is_on() && augment.is_on());
    }
}

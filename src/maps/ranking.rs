//! Block ranking (beyond the paper, which picked AM blocks by eye): how well does each block's
//! flow mark the parts of the frame that move?
//!
//! For a frame pair and a block, with `P` patches:
//! - pixel motion `m_p = mean |I(t+k) − I(t)|` over the patch's pixels and channels (0–1 scale),
//!   on the frames exactly as the backbone saw them;
//! - flow strength `e_p = ‖f_p − median_p f‖₂`: the flow channels minus their median over the
//!   patches (vanilla flow is about 1 everywhere when nothing moves, aligned flow about 0; the
//!   median removes either background), L2 norm over channels;
//! - correlation `r = pearson(e, m)` (0 when either is constant);
//! - concentration `c = 1 − H(e / Σe) / ln P`, 0 for flow spread evenly, 1 for one patch;
//! - score `= 0.8·r + 0.2·c`: mostly agreement with the motion, a little for sharp maps.
//!
//! Scores are averaged over the pairs of a clip and the clips of a dataset; the `k` best blocks
//! (2 by default, as the paper's "AM/2(1,12)") are proposed for AM flow.

use serde::{Deserialize, Serialize};

use super::{Grid, PatchFlow};
use crate::video::Frame;

/// Weight of the correlation in the score (the rest is concentration).
pub const CORRELATION_WEIGHT: f32 = 0.8;

/// One block's score for one pair, or averaged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockScore {
    /// Block number, 1-based as users see it.
    pub block: usize,
    /// `0.8·correlation + 0.2·concentration`.
    pub score: f32,
    /// Pearson correlation of flow strength and pixel motion over patches.
    pub correlation: f32,
    /// `1 − normalised entropy` of the flow strength.
    pub concentration: f32,
}

/// Mean absolute pixel change per patch between two equal-size frames, `[P]`, 0–1 scale.
pub fn patch_motion(a: &Frame, b: &Frame, grid: Grid) -> Vec<f32> {
    let (w, h) = a.dimensions();
    let mut sums = vec![0f64; grid.patches()];
    let mut counts = vec![0u32; grid.patches()];
    for (x, y, pa) in a.enumerate_pixels() {
        let Some(pb) = b.get_pixel_checked(x, y) else {
            continue;
        };
        let col = (x as usize * grid.cols / w as usize).min(grid.cols - 1);
        let row = (y as usize * grid.rows / h as usize).min(grid.rows - 1);
        let diff: u32 = (0..3).map(|c| u32::from(pa[c].abs_diff(pb[c]))).sum();
        sums[row * grid.cols + col] += f64::from(diff) / (3.0 * 255.0);
        counts[row * grid.cols + col] += 1;
    }
    sums.iter()
        .zip(&counts)
        .map(|(s, &n)| (s / f64::from(n.max(1))) as f32)
        .collect()
}

/// `‖f_p − median f‖₂` per patch.
pub fn flow_strength(flow: &PatchFlow) -> Vec<f32> {
    let c = flow.channels.max(1);
    let patches = flow.patches();
    let medians: Vec<f32> = (0..c)
        .map(|ch| {
            let mut col: Vec<f32> = (0..patches).map(|p| flow.values[p * c + ch]).collect();
            col.sort_by(f32::total_cmp);
            col.get(patches / 2).copied().unwrap_or(0.0)
        })
        .collect();
    flow.values
        .chunks_exact(c)
        .map(|row| {
            row.iter()
                .zip(&medians)
                .map(|(v, m)| (v - m) * (v - m))
                .sum::<f32>()
                .sqrt()
        })
        .collect()
}

/// Pearson correlation, 0 when either side is constant.
pub fn pearson(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let my = y[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0f64, 0f64, 0f64);
    for (&a, &b) in x.iter().zip(y) {
        let (da, db) = (f64::from(a) - mx, f64::from(b) - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx <= 1e-18 || syy <= 1e-18 {
        0.0
    } else {
        (sxy / (sxx * syy).sqrt()) as f32
    }
}

/// `1 − H(e / Σe) / ln P`; 0 when `e` is all zero.
pub fn concentration(e: &[f32]) -> f32 {
    let total: f64 = e.iter().map(|&v| f64::from(v.max(0.0))).sum();
    if total <= 0.0 || e.len() < 2 {
        return 0.0;
    }
    let entropy: f64 = e
        .iter()
        .map(|&v| f64::from(v.max(0.0)) / total)
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    (1.0 - entropy / (e.len() as f64).ln()) as f32
}

/// Scores block `index` (0-based) of one pair.
pub fn score_block(index: usize, flow: &PatchFlow, motion: &[f32]) -> BlockScore {
    let e = flow_strength(flow);
    let correlation = pearson(&e, motion);
    let concentration = concentration(&e);
    BlockScore {
        block: index + 1,
        score: CORRELATION_WEIGHT * correlation + (1.0 - CORRELATION_WEIGHT) * concentration,
        correlation,
        concentration,
    }
}

/// Running means of block scores over pairs (and clips).
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    sums: Vec<[f64; 3]>,
    pairs: usize,
}

impl Ranking {
    /// Adds one pair's scores (one per block, in block order).
    pub fn add(&mut self, scores: &[BlockScore]) {
        if self.sums.len() < scores.len() {
            self.sums.resize(scores.len(), [0.0; 3]);
        }
        for (s, b) in self.sums.iter_mut().zip(scores) {
            s[0] += f64::from(b.score);
            s[1] += f64::from(b.correlation);
            s[2] += f64::from(b.concentration);
        }
        self.pairs += 1;
    }

    /// Pairs added so far.
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// The mean scores, in block order.
    pub fn means(&self) -> Vec<BlockScore> {
        let n = self.pairs.max(1) as f64;
        self.sums
            .iter()
            .enumerate()
            .map(|(i, s)| BlockScore {
                block: i + 1,
                score: (s[0] / n) as f32,
                correlation: (s[1] / n) as f32,
                concentration: (s[2] / n) as f32,
            })
            .collect()
    }

    /// The `k` best blocks by mean score, 1-based, in ascending block order.
    pub fn proposed(&self, k: usize) -> Vec<usize> {
        propose(&self.means(), k)
    }
}

/// The `k` best blocks of `scores` by score, 1-based, ascending.
pub fn propose(scores: &[BlockScore], k: usize) -> Vec<usize> {
    best_blocks(scores.iter().map(|s| (s.block, s.score)), k)
}

/// The `k` blocks of the highest values among `(block, value)`, ties to the earlier block,
/// returned in ascending block order: every ranking's proposal.
pub fn best_blocks(scored: impl IntoIterator<Item = (usize, f32)>, k: usize) -> Vec<usize> {
    let mut order: Vec<(usize, f32)> = scored.into_iter().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut best: Vec<usize> = order.iter().take(k).map(|&(block, _)| block).collect();
    best.sort_unstable();
    best
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn motion_is_pooled_per_patch() {
        let a = Frame::from_pixel(4, 2, Rgb([0, 0, 0]));
        let mut b = a.clone();
        b.put_pixel(3, 0, Rgb([255, 255, 255])); // right patch, one of 4 pixels
        let m = patch_motion(&a, &b, Grid { rows: 1, cols: 2 });
        assert_eq!(m, [0.0, 0.25]);
    }

    #[test]
    fn statistics_match_hand_values() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-6);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        assert!(concentration(&[1.0, 1.0, 1.0, 1.0]).abs() < 1e-6);
        assert!((concentration(&[0.0, 0.0, 5.0, 0.0]) - 1.0).abs() < 1e-6);
        // One channel, median 1: strengths |f − 1|.
        let f = PatchFlow {
            values: vec![1.0, 1.0, 3.0, 0.5, 1.0],
            channels: 1,
        };
        assert_eq!(flow_strength(&f), [0.0, 0.0, 2.0, 0.5, 0.0]);
    }

    #[test]
    fn a_block_that_follows_the_motion_ranks_first() {
        let motion = [0.0, 0.0, 0.9, 0.1, 0.0, 0.0];
        let follows = PatchFlow {
            values: vec![1.0, 1.0, 3.0, 1.4, 1.0, 1.0],
            channels: 1,
        };
        let noise = PatchFlow {
            values: vec![1.2, 0.7, 1.0, 1.0, 1.3, 0.9],
            channels: 1,
        };
        let mut ranking = Ranking::default();
        ranking.add(&[
            score_block(0, &noise, &motion),
            score_block(1, &follows, &motion),
        ]);
        ranking.add(&[
            score_block(0, &noise, &motion),
            score_block(1, &follows, &motion),
        ]);
        assert_eq!(ranking.pairs(), 2);
        assert_eq!(ranking.proposed(1), [2]);
        assert!(ranking.means()[1].correlation > 0.9);
    }
}

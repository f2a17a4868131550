//! Supervised block ranking for a labelled dataset (`amflow blocks DATA --labels`): how well a
//! linear probe reads the class from each block's AM flow alone.
//!
//! For a clip, a block and each of its `T` sampled pairs, the block's vanilla flow `[P, H]` is
//! standardised over the patches per head (`(f − mean_P f) / sqrt(var_P f + 1e-12)`, as
//! `amflow train --flow-norm tokens` feeds it to the adapters), then averaged over a `G × G` grid
//! of cells of the patch grid: `[G·G·H]` per pair, concatenated in time order to `x ∈ R^{T·G·G·H}`
//! (the order keeps where the motion went from pair to pair). The displacement flow
//! (`--flow displacement`, `[P, 2H]`: every head's `v_x`, then every head's `v_y`) is averaged
//! over the cells as it is, vectors in patches per frame, which is how training feeds it.
//!
//! The probe is ridge regression onto one-hot classes, in its dual form since clips are fewer
//! than features: with the training rows standardised per feature (means and deviations of the
//! training folds only), `K = X Xᵀ`, `λ = mean(diag K)`, `A = (K + λI)⁻¹ Y` and scores
//! `X_test Xᵀ A`; the predicted class is the arg max. A block's score is its stratified `k`-fold
//! cross-validated top-1 (clip `i` of a class in fold `i mod k`), so every clip is predicted by a
//! probe that never saw it. `λ` is fixed, not tuned on the folds, so the accuracy is not chosen
//! on the clips it is measured on.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::{Grid, PatchFlow};

/// One block's probe result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeScore {
    /// Block number, 1-based as users see it.
    pub block: usize,
    /// Cross-validated top-1 of the probe on this block's flow, 0–1.
    pub accuracy: f32,
}

/// Why a probe could not be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// Fewer than two classes, or a class with fewer clips than folds.
    #[error(
        "a probe needs at least 2 classes with at least {folds} clips each; the smallest of {classes} classes has {smallest}"
    )]
    TooFewClips {
        /// Classes seen.
        classes: usize,
        /// Clips of the smallest class.
        smallest: usize,
        /// Folds asked for.
        folds: usize,
    },
    /// Rows of different lengths, or labels not matching rows.
    #[error("probe features are ragged: {0}")]
    Ragged(String),
    /// A feature was NaN or infinite.
    #[error("probe feature {index} of clip {clip} is not finite ({value})")]
    NotFinite {
        /// Clip (row).
        clip: usize,
        /// Feature (column).
        index: usize,
        /// The value.
        value: f32,
    },
    /// The regularised kernel was not positive definite (cannot happen for finite features).
    #[error("the probe's linear system could not be solved")]
    Singular,
}

/// One pair's features for one block of the vanilla flow: the flow standardised over patches
/// per channel ([`standardised`]), averaged over `cells × cells` cells of the patch grid
/// ([`cell_means`]), `[cells·cells·channels]`, cell-major.
pub fn pooled_flow(flow: &PatchFlow, grid: Grid, cells: usize) -> Vec<f32> {
    cell_means(&standardised(flow), grid, cells)
}

/// `(f − mean_P f) / sqrt(var_P f + 1e-12)` per channel over the patches.
pub fn standardised(flow: &PatchFlow) -> PatchFlow {
    let c = flow.channels.max(1);
    let n = flow.patches().max(1) as f64;
    let mut mean = vec![0f64; c];
    let mut sq = vec![0f64; c];
    for row in flow.values.chunks_exact(c) {
        for ((m, s), &v) in mean.iter_mut().zip(&mut sq).zip(row) {
            *m += f64::from(v);
            *s += f64::from(v) * f64::from(v);
        }
    }
    let scale: Vec<(f64, f64)> = mean
        .iter()
        .zip(&sq)
        .map(|(&m, &s)| {
            let mu = m / n;
            let var = (s / n - mu * mu).max(0.0);
            (mu, 1.0 / (var + 1e-12).sqrt())
        })
        .collect();
    let values = flow
        .values
        .chunks_exact(c)
        .flat_map(|row| {
            row.iter()
                .zip(&scale)
                .map(|(&v, &(mu, inv))| ((f64::from(v) - mu) * inv) as f32)
        })
        .collect();
    PatchFlow {
        values,
        channels: flow.channels,
    }
}

/// The flow averaged over `cells × cells` cells of the patch grid (fewer when the grid is
/// smaller), `[cells·cells·channels]`, cell-major: the displacement flow's probe features as
/// they are, vectors in patches per frame, as `amflow train` feeds them to the adapters.
pub fn cell_means(flow: &PatchFlow, grid: Grid, cells: usize) -> Vec<f32> {
    let c = flow.channels.max(1);
    let cells = cells.clamp(1, grid.rows.min(grid.cols).max(1));
    let mut out = vec![0f64; cells * cells * c];
    let mut counts = vec![0u32; cells * cells];
    for (i, row) in flow.values.chunks_exact(c).enumerate() {
        let (r, col) = (i / grid.cols, i % grid.cols);
        let cell = (r * cells / grid.rows).min(cells - 1) * cells
            + (col * cells / grid.cols).min(cells - 1);
        counts[cell] += 1;
        for (ch, &v) in row.iter().enumerate() {
            out[cell * c + ch] += f64::from(v);
        }
    }
    out.iter()
        .enumerate()
        .map(|(i, &s)| (s / f64::from(counts[i / c].max(1))) as f32)
        .collect()
}

/// Stratified `folds`-fold cross-validated top-1 of the ridge probe (see the module docs) on
/// rows `x` (one per clip, all the same length) with classes `y` in `0..classes`.
pub fn cross_validated_accuracy(
    x: &[Vec<f32>],
    y: &[usize],
    classes: usize,
    folds: usize,
) -> Result<f32, ProbeError> {
    if x.len() != y.len() {
        return Err(ProbeError::Ragged(format!(
            "{} rows, {} labels",
            x.len(),
            y.len()
        )));
    }
    let d = x.first().map_or(0, Vec::len);
    for (clip, row) in x.iter().enumerate() {
        if row.len() != d {
            return Err(ProbeError::Ragged(format!(
                "clip {clip} has {} features, clip 0 has {d}",
                row.len()
            )));
        }
        if let Some((index, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ProbeError::NotFinite { clip, index, value });
        }
    }
    let mut per_class = vec![0usize; classes];
    for &label in y {
        match per_class.get_mut(label) {
            Some(n) => *n += 1,
            None => {
                return Err(ProbeError::Ragged(format!(
                    "label {label} with {classes} classes"
                )));
            }
        }
    }
    let present: Vec<usize> = per_class.iter().copied().filter(|&n| n > 0).collect();
    let smallest = present.iter().copied().min().unwrap_or(0);
    if present.len() < 2 || smallest < folds || folds < 2 {
        return Err(ProbeError::TooFewClips {
            classes: present.len(),
            smallest,
            folds,
        });
    }
    // Clip i of its class goes to fold (i mod folds).
    let mut seen = vec![0usize; classes];
    let fold: Vec<usize> = y
        .iter()
        .map(|&label| {
            let f = seen[label] % folds;
            seen[label] += 1;
            f
        })
        .collect();
    let mut correct = 0usize;
    for k in 0..folds {
        let train: Vec<usize> = (0..x.len()).filter(|&i| fold[i] != k).collect();
        let test: Vec<usize> = (0..x.len()).filter(|&i| fold[i] == k).collect();
        let predicted = ridge_predict(x, y, classes, &train, &test)?;
        correct += test
            .iter()
            .zip(&predicted)
            .filter(|(i, p)| y[**i] == **p)
            .count();
    }
    Ok(correct as f32 / x.len() as f32)
}

/// Fits the ridge probe on rows `train` and predicts the class of rows `test`.
fn ridge_predict(
    x: &[Vec<f32>],
    y: &[usize],
    classes: usize,
    train: &[usize],
    test: &[usize],
) -> Result<Vec<usize>, ProbeError> {
    let d = x[0].len();
    let n = train.len();
    // Standardise with the training rows' statistics only.
    let mut mean = vec![0f64; d];
    for &i in train {
        for (m, &v) in mean.iter_mut().zip(&x[i]) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut inv_sd = vec![0f64; d];
    for &i in train {
        for ((s, &v), m) in inv_sd.iter_mut().zip(&x[i]).zip(&mean) {
            *s += (f64::from(v) - m).powi(2);
        }
    }
    // A feature constant over the training rows carries nothing: weight 0.
    inv_sd.iter_mut().for_each(|s| {
        let sd = (*s / n as f64).sqrt();
        *s = if sd > 1e-9 { 1.0 / sd } else { 0.0 };
    });
    let rows = |idx: &[usize]| {
        DMatrix::from_fn(idx.len(), d, |r, c| {
            (f64::from(x[idx[r]][c]) - mean[c]) * inv_sd[c]
        })
    };
    let xt = rows(train); // [n, d]
    let xs = rows(test); // [m, d]
    let mut k = &xt * xt.transpose(); // [n, n]
    let lambda = (k.trace() / n as f64).max(1e-9);
    for i in 0..n {
        k[(i, i)] += lambda;
    }
    let chol = k.cholesky().ok_or(ProbeError::Singular)?;
    let targets = DMatrix::from_fn(n, classes, |r, c| if y[train[r]] == c { 1.0 } else { 0.0 });
    let scores = &xs * xt.transpose() * chol.solve(&targets); // [m, classes]
    // The arg max of each row, the first class on ties.
    Ok(scores
        .row_iter()
        .map(|row| (0..classes).fold(0, |best, c| if row[c] > row[best] { c } else { best }))
        .collect())
}

/// Blocks ordered by probe accuracy, best first (ties: the earlier block); the first `k`,
/// ascending, are the proposal.
pub fn propose(scores: &[ProbeScore], k: usize) -> Vec<usize> {
    super::ranking::best_blocks(scores.iter().map(|s| (s.block, s.accuracy)), k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_standardises_per_channel_and_averages_cells() {
        // 2×2 patches, 1 cell per patch; channel 0 = 1, 2, 3, 4; channel 1 constant 5.
        let flow = PatchFlow {
            values: vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0],
            channels: 2,
        };
        let grid = Grid { rows: 2, cols: 2 };
        let out = pooled_flow(&flow, grid, 2);
        // mean 2.5, population sd sqrt(1.25).
        let sd = 1.25f32.sqrt();
        let want = [-1.5 / sd, 0.0, -0.5 / sd, 0.0, 0.5 / sd, 0.0, 1.5 / sd, 0.0];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-5, "{out:?}");
        }
        // One cell: the standardised mean, 0 for both channels.
        let one = pooled_flow(&flow, grid, 1);
        assert_eq!(one.len(), 2);
        assert!(one.iter().all(|v| v.abs() < 1e-6), "{one:?}");
    }

    #[test]
    fn cell_means_keep_the_values_as_they_are() {
        // A 2×4 grid with 2 channels (v_x, v_y) and 2×2 cells of 1×2 patches each: each cell's
        // mean, not standardised (a uniform vector stays itself).
        let values: Vec<f32> = (0..8).flat_map(|p| [p as f32, 1.0]).collect();
        let flow = PatchFlow {
            values,
            channels: 2,
        };
        let grid = Grid { rows: 2, cols: 4 };
        let out = cell_means(&flow, grid, 2);
        assert_eq!(out, [0.5, 1.0, 2.5, 1.0, 4.5, 1.0, 6.5, 1.0]);
        assert_eq!(cell_means(&flow, grid, 1), [3.5, 1.0]);
    }

    /// Rows whose class is written in feature 0 (plus noise in the others) are read perfectly;
    /// rows of noise alone are read at about chance.
    #[test]
    fn the_probe_reads_a_class_that_is_there_and_not_one_that_is_not() {
        let classes = 3;
        let per_class = 10;
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let (mut signal, mut pure, mut y) = (vec![], vec![], vec![]);
        for i in 0..classes * per_class {
            let class = i % classes;
            y.push(class);
            let mut row: Vec<f32> = (0..20).map(|_| noise()).collect();
            pure.push(row.clone());
            row[0] = class as f32 * 3.0;
            row[1] = if class == 1 { 2.0 } else { -2.0 };
            signal.push(row);
        }
        let good = cross_validated_accuracy(&signal, &y, classes, 5).unwrap();
        assert!(good > 0.95, "{good}");
        let chance = cross_validated_accuracy(&pure, &y, classes, 5).unwrap();
        assert!(chance < 0.6, "{chance}");
    }

    #[test]
    fn bad_inputs_are_refused() {
        let y = vec![0, 1, 0, 1];
        let rows = vec![vec![1.0], vec![2.0], vec![f32::NAN], vec![0.0]];
        assert!(matches!(
            cross_validated_accuracy(&rows, &y, 2, 2),
            Err(ProbeError::NotFinite { clip: 2, .. })
        ));
        let rows = vec![vec![1.0], vec![2.0], vec![3.0], vec![0.0]];
        assert!(matches!(
            cross_validated_accuracy(&rows, &y, 2, 3),
            Err(ProbeError::TooFewClips { smallest: 2, .. })
        ));
        assert!(matches!(
            cross_validated_accuracy(&rows, &[0, 0, 0, 0], 2, 2),
            Err(ProbeError::TooFewClips { classes: 1, .. })
        ));
        let ragged = vec![vec![1.0], vec![2.0, 1.0], vec![3.0], vec![0.0]];
        assert!(matches!(
            cross_validated_accuracy(&ragged, &y, 2, 2),
            Err(ProbeError::Ragged(_))
        ));
    }

    #[test]
    fn the_proposal_is_the_most_accurate_blocks() {
        let s = |block, accuracy| ProbeScore { block, accuracy };
        let scores = [s(1, 0.2), s(2, 0.9), s(3, 0.5), s(4, 0.9)];
        assert_eq!(propose(&scores, 2), [2, 4]);
        assert_eq!(propose(&scores, 3), [2, 3, 4]);
    }
}

//! PCA of per-patch flow channels to three colour components (the paper's Figure 5).
//!
//! For a flow `[P, C]` (P patch tokens, C channels: heads for vanilla flow, `D` for aligned):
//! centre every channel, take the eigenvectors of the `C × C` covariance with the three largest
//! eigenvalues, and flip each so that its largest-magnitude loading is positive (so colours do
//! not flip from one run or frame to the next). Projections are then min–max scaled per
//! component to `[0, 1]`, over one block (per-block basis) or over all blocks together
//! (shared basis, so colours compare across blocks). With fewer than three channels the
//! missing components are zero.

use nalgebra::{DMatrix, SymmetricEigen};

/// A PCA basis: the channel means and up to three unit components.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    /// Mean of every channel, `[C]`.
    pub mean: Vec<f32>,
    /// Components, strongest first, each `[C]`, with its largest-magnitude loading positive.
    pub components: Vec<Vec<f32>>,
    /// The variance along each component.
    pub variances: Vec<f32>,
}

/// Rows of `channels` values each.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// Row-major values, `rows × channels`.
    pub values: &'a [f32],
    /// Values per row.
    pub channels: usize,
}

impl Rows<'_> {
    fn count(&self) -> usize {
        self.values.len().checked_div(self.channels).unwrap_or(0)
    }
}

impl Basis {
    /// Fits a basis to all rows of all `sets` (one set per block for a shared basis).
    pub fn fit(sets: &[Rows<'_>]) -> Basis {
        let c = sets.first().map_or(0, |s| s.channels);
        let total: usize = sets.iter().map(Rows::count).sum();
        let mut mean = vec![0f64; c];
        for set in sets {
            for row in set.values.chunks_exact(c.max(1)) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += f64::from(v);
                }
            }
        }
        mean.iter_mut().for_each(|m| *m /= total.max(1) as f64);
        let mut cov = DMatrix::<f64>::zeros(c, c);
        for set in sets {
            for row in set.values.chunks_exact(c.max(1)) {
                let centred = nalgebra::DVector::from_iterator(
                    c,
                    row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m),
                );
                cov.ger(1.0, &centred, &centred, 1.0);
            }
        }
        cov /= (total.max(2) - 1) as f64;
        let eigen = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let mut components = Vec::new();
        let mut variances = Vec::new();
        for &k in order.iter().take(3) {
            let v = eigen.eigenvectors.column(k);
            let largest = v
                .iter()
                .copied()
                .fold(0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            let sign = if largest < 0.0 { -1.0 } else { 1.0 };
            components.push(v.iter().map(|&x| (x * sign) as f32).collect());
            variances.push(eigen.eigenvalues[k].max(0.0) as f32);
        }
        Basis {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            components,
            variances,
        }
    }

    /// Projections of every row onto the components: `[rows][3]` (zeros for absent ones).
    pub fn project(&self, rows: Rows<'_>) -> Vec<[f32; 3]> {
        rows.values
            .chunks_exact(rows.channels.max(1))
            .map(|row| {
                let mut out = [0f32; 3];
                for (o, comp) in out.iter_mut().zip(&self.components) {
                    *o = row
                        .iter()
                        .zip(&self.mean)
                        .zip(comp)
                        .map(|((&v, &m), &w)| (v - m) * w)
                        .sum();
                }
                out
            })
            .collect()
    }
}

/// Min–max scales each of the three components to `[0, 1]` jointly over all `sets`
/// (a constant component becomes 0.5).
pub fn min_max(sets: &mut [Vec<[f32; 3]>]) {
    for k in 0..3 {
        let (lo, hi) = sets
            .iter()
            .flatten()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[k]), hi.max(p[k]))
            });
        let range = hi - lo;
        for p in sets.iter_mut().flatten() {
            p[k] = if range > 1e-12 {
                (p[k] - lo) / range
            } else {
                0.5
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_direction_of_largest_spread_with_a_stable_sign() {
        // Points along (1, 2)/√5 with a little spread along (−2, 1)/√5.
        let mut values = Vec::new();
        for i in 0..20 {
            let t = i as f32 - 9.5;
            let e = if i % 2 == 0 { 0.1 } else { -0.1 };
            values.extend([t * 1.0 - 2.0 * e + 3.0, t * 2.0 + e - 1.0]);
        }
        let rows = Rows {
            values: &values,
            channels: 2,
        };
        let basis = Basis::fit(&[rows]);
        let s5 = 5f32.sqrt();
        // (The alternating offset correlates a little with t, hence the tolerance.)
        assert!(
            (basis.components[0][0] - 1.0 / s5).abs() < 3e-3,
            "{:?}",
            basis.components
        );
        assert!((basis.components[0][1] - 2.0 / s5).abs() < 3e-3);
        // Second component: (−2, 1)/√5 flipped so its largest loading is positive: (2, −1)/√5.
        assert!(
            (basis.components[1][0] - 2.0 / s5).abs() < 3e-3,
            "{:?}",
            basis.components
        );
        assert!((basis.components[1][1] + 1.0 / s5).abs() < 3e-3);
        assert_eq!(basis.components.len(), 2);
        assert!((basis.mean[0] - 3.0).abs() < 1e-4 && (basis.mean[1] + 1.0).abs() < 1e-4);
        let mut p = vec![basis.project(rows)];
        min_max(&mut p);
        assert_eq!(p[0][0][0], 0.0);
        assert_eq!(p[0][19][0], 1.0);
        assert!(p[0].iter().all(|c| c[2] == 0.5), "no third component");
    }

    #[test]
    fn matches_numpy() {
        // numpy: X = [[1,0,2],[0,1,1],[3,1,0],[2,2,2],[0,0,1]]; Xc = X - X.mean(0);
        // w, V = np.linalg.eigh(np.cov(X.T)): variances 1.9939, 0.7435, 0.3626; top vector
        // ±[0.9053, 0.3773, −0.1953], second ±[0.0357, −0.5257, −0.8499] (flipped: largest > 0).
        let values = [1., 0., 2., 0., 1., 1., 3., 1., 0., 2., 2., 2., 0., 0., 1.];
        let basis = Basis::fit(&[Rows {
            values: &values,
            channels: 3,
        }]);
        let expect_var = [1.99392, 0.74352, 0.36256];
        for (v, e) in basis.variances.iter().zip(expect_var) {
            assert!((v - e).abs() < 1e-4, "{:?}", basis.variances);
        }
        let expect = [[0.90528, 0.37725, -0.19531], [-0.03568, 0.52566, 0.84995]];
        for (c, e) in basis.components.iter().zip(expect) {
            for (a, b) in c.iter().zip(e) {
                assert!((a - b).abs() < 1e-4, "{c:?} vs {e:?}");
            }
        }
    }
}

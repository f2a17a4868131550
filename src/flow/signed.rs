//! Signed AM flow (beyond the paper): where attention rose and where it fell, kept apart.
//!
//! The vanilla flow takes `|X(t) − X(t+1)|`, so a motion and its reverse (a square turning
//! clockwise or counter-clockwise by the same angle) change the same entries by the same amounts
//! and give the same flow. Keeping the sign apart keeps the direction: for one block, frames `t`
//! and `t+1`, head `h`, with `X = Q Kᵀ/√d_head` the attention logits and `Δ = X(t+1) − X(t)`:
//!
//! ```text
//! rise[h,j] = Σ_i softmax_j( Δ[h,i,·])[j]        keys whose attention grew
//! fall[h,j] = Σ_i softmax_j(−Δ[h,i,·])[j]        keys whose attention shrank
//! flow      = [rise ‖ fall]                       [2H, N]
//! ```
//!
//! Reversing the motion (swapping the frames) swaps the two halves. Like the vanilla flow each
//! half's entries sum to `N` per head, so a key with no change in attention gets `≈ 1` in both.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

use super::vanilla::column_sums;

/// Signed AM flow of pairs of logits: `[B, H, N, N]` × 2 → `[B, 2H, N]`, the heads' `rise`
/// first, then their `fall`.
pub fn signed_flow(logits_t: Tensor<4>, logits_t1: Tensor<4>) -> Tensor<3> {
    let delta = logits_t1 - logits_t; // [B, H, N, N]
    let rise = column_sums(softmax(delta.clone(), 3)); // [B, H, N]
    let fall = column_sums(softmax(delta.neg(), 3)); // [B, H, N]
    Tensor::cat(vec![rise, fall], 1) // [B, 2H, N]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{max_error, tensor, values};

    fn close(got: &[f32], want: &[f32]) {
        let error = max_error(got, want, "signed flow");
        assert!(error < 1e-6, "{got:?} != {want:?}");
    }

    #[test]
    fn hand_computed_rise_and_fall() {
        // One head, two tokens. Δ = [[0, ln 3], [0, 0]]: row 0 of softmax(Δ) is [1/4, 3/4],
        // row 1 [1/2, 1/2] → rise = [3/4, 5/4]; softmax(−Δ) rows [3/4, 1/4] and [1/2, 1/2] →
        // fall = [5/4, 3/4].
        let l3 = 3f32.ln();
        let a = tensor(vec![0.0, 0.0, 0.0, 0.0], [1, 1, 2, 2]);
        let b = tensor(vec![0.0, l3, 0.0, 0.0], [1, 1, 2, 2]);
        close(&values(signed_flow(a, b)), &[0.75, 1.25, 1.25, 0.75]);
    }

    #[test]
    fn reversing_the_pair_swaps_rise_and_fall_where_the_vanilla_flow_stays() {
        // Two heads, three tokens, logits with no symmetry.
        let x: Vec<f32> = (0..18).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3).collect();
        let y: Vec<f32> = (0..18).map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.2).collect();
        let forward = values(signed_flow(
            tensor(x.clone(), [1, 2, 3, 3]),
            tensor(y.clone(), [1, 2, 3, 3]),
        ));
        let backward = values(signed_flow(
            tensor(y.clone(), [1, 2, 3, 3]),
            tensor(x.clone(), [1, 2, 3, 3]),
        ));
        // [2H, N] = [4, 3]: heads' rise in rows 0–1, fall in rows 2–3.
        close(&forward[..6], &backward[6..]);
        close(&forward[6..], &backward[..6]);
        // The two directions differ (else the sign would carry nothing here).
        assert!(
            forward
                .iter()
                .zip(&backward)
                .any(|(f, b)| (f - b).abs() > 1e-3)
        );
        let v1 = values(super::super::vanilla_flow(
            tensor(x.clone(), [1, 2, 3, 3]),
            tensor(y.clone(), [1, 2, 3, 3]),
        ));
        let v2 = values(super::super::vanilla_flow(
            tensor(y, [1, 2, 3, 3]),
            tensor(x, [1, 2, 3, 3]),
        ));
        close(&v1, &v2);
        // Each head's rise and fall sum to N over the keys.
        for row in forward.chunks(3) {
            assert!((row.iter().sum::<f32>() - 3.0).abs() < 1e-5, "{row:?}");
        }
    }
}

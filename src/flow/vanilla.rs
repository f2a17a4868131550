//! Vanilla AM flow (the paper's eq. 2–3), for fixed cameras, in plain tensor ops.
//!
//! For one block, frames `t` and `t+1`, head `h`, with `X = Q Kᵀ/√d_head` the attention logits:
//!
//! ```text
//! D[h,i,j]  = |X(t)[h,i,j] − X(t+1)[h,i,j]|
//! S[h,i,·]  = softmax over keys j of D[h,i,·]
//! flow[h,j] = Σ_i S[h,i,j]                       (column sums, Sᵀ·1)
//! ```
//!
//! One value per head and token, `[H, N]`, over all tokens (CLS and registers included).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// Vanilla AM flow of pairs of logits: `[B, H, N, N]` × 2 → `[B, H, N]`.
pub fn vanilla_flow(logits_t: Tensor<4>, logits_t1: Tensor<4>) -> Tensor<3> {
    let diff = (logits_t - logits_t1).abs(); // [B, H, N, N]
    column_sums(softmax(diff, 3)) // [B, H, N]
}

/// Column sums of row-stochastic maps, `Σ_i P[b,h,i,j]`: `[B, H, N, N]` → `[B, H, N]`.
pub fn column_sums(maps: Tensor<4>) -> Tensor<3> {
    let [b, h, _, n] = maps.dims();
    maps.sum_dim(2).reshape([b, h, n])
}

/// The vanilla flow of every consecutive pair of a clip in one batched pass: logits of `T`
/// frames `[T, H, N, N]` → `[T, H, N]`, where row `t` is the flow from frame `t` to `t+1` and the
/// last row (no next frame) is zeros.
pub fn clip_vanilla_flow(logits: Tensor<4>) -> Tensor<3> {
    let [t, h, n, _] = logits.dims();
    let device = logits.device();
    if t < 2 {
        return Tensor::zeros([t, h, n], &device);
    }
    let current = logits.clone().narrow(0, 0, t - 1); // [T−1, H, N, N]
    let next = logits.narrow(0, 1, t - 1); // [T−1, H, N, N]
    let flows = super::kernel::FlowKernel::vanilla_flow(&super::kernel::Fused, current, next); // [T−1, H, N]
    Tensor::cat(vec![flows, Tensor::zeros([1, h, n], &device)], 0)
}

/// The paper's "1 of the same shape as V": each head's value repeated over that head's
/// `d_head` channels, `[B, H, N]` → `[B, N, H·d_head]` (head-major channels, as Q, K and V
/// are split).
pub fn broadcast_heads(flow: Tensor<3>, head_dim: usize) -> Tensor<3> {
    let [b, h, n] = flow.dims();
    flow.swap_dims(1, 2) // [B, N, H]
        .reshape([b, n, h, 1])
        .repeat_dim(3, head_dim) // [B, N, H, d]
        .reshape([b, n, h * head_dim])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{tensor, values};

    #[test]
    fn hand_computed_two_token_flow() {
        // One head, two tokens. |ΔX| = [[0, ln 3], [ln 3, 0]] → rows softmax to
        // [1/4, 3/4] and [3/4, 1/4]; column sums are [1, 1]. With ΔX = [[0, ln 3], [0, 0]]:
        // rows [1/4, 3/4] and [1/2, 1/2] → columns [3/4, 5/4].
        let l3 = 3f32.ln();
        let a = tensor(vec![0.0, l3, 0.0, 0.0], [1, 1, 2, 2]);
        let b = tensor(vec![0.0, 0.0, l3, 0.0], [1, 1, 2, 2]);
        let f = values(vanilla_flow(a.clone(), b));
        assert!(
            (f[0] - 1.0).abs() < 1e-6 && (f[1] - 1.0).abs() < 1e-6,
            "{f:?}"
        );
        let zero = tensor(vec![0.0; 4], [1, 1, 2, 2]);
        let f = values(vanilla_flow(a, zero));
        assert!(
            (f[0] - 0.75).abs() < 1e-6 && (f[1] - 1.25).abs() < 1e-6,
            "{f:?}"
        );
    }

    #[test]
    fn identical_frames_give_uniform_flow() {
        // No change: every row softmaxes to 1/N, so every column sums to 1.
        let x = tensor((0..2 * 9).map(|v| v as f32 * 0.37).collect(), [2, 1, 3, 3]);
        for v in values(vanilla_flow(x.clone(), x)) {
            assert!((v - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn clip_flows_pair_consecutive_frames_and_end_in_zeros() {
        let x = tensor(
            (0..3 * 2 * 4).map(|v| (v as f32).sin()).collect(),
            [3, 2, 2, 2],
        );
        let clip = values(clip_vanilla_flow(x.clone()));
        let first = values(vanilla_flow(
            x.clone().narrow(0, 0, 1),
            x.clone().narrow(0, 1, 1),
        ));
        let second = values(vanilla_flow(x.clone().narrow(0, 1, 1), x.narrow(0, 2, 1)));
        assert_eq!(&clip[0..4], &first[..]);
        assert_eq!(&clip[4..8], &second[..]);
        assert_eq!(&clip[8..12], &[0.0; 4]);
    }

    #[test]
    fn heads_broadcast_over_their_channels() {
        let f = tensor(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 2]);
        // Heads [1, 2] (token 0: 1, 3; token 1: 2, 4), d_head = 2.
        assert_eq!(
            values(broadcast_heads(f, 2)),
            [1.0, 1.0, 3.0, 3.0, 2.0, 2.0, 4.0, 4.0]
        );
    }
}

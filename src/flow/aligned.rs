//! Aligned AM flow (the paper's eq. 4–5), for moving cameras.
//!
//! ```text
//! P(t)      = softmax over keys of X(t)
//! s(t)[h,j] = Σ_i P(t)[h,i,j]                  broadcast over each head's channels → [N, D]
//! Z(t)      = AligningEncoder(s(t))            one per block, shared by both frames
//! flow      = |Z(t) − Z(t+1)|                  [N, D]
//! ```
//!
//! The aligning encoder is one pre-norm transformer-encoder layer of width `D` with linear
//! attention (Katharopoulos et al. 2020): with `φ(x) = elu(x) + 1`,
//! `out_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / φ(q_i)ᵀ Σ_j φ(k_j)`, which costs `O(N·d²)` instead of
//! `O(N²·d)`. Layer: `x' = s + W_o·LinAttn(LN₁(s))`, `Z = x' + W₂·gelu(W₁·LN₂(x'))` with an MLP
//! of width `mlp_ratio · D`. Choices the paper leaves open: pre-norm (as the ViT it sits in),
//! `mlp_ratio = 2` (the encoder only re-weights a one-value-per-head signal, it needs little
//! width), and 12 heads by default, falling back to the largest divisor of `D` below 12 when 12
//! does not divide it (the tiny test model has `D = 32`, so 8).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Tensor};

use super::vanilla::{broadcast_heads, column_sums};

/// Sizes of an [`AligningEncoder`].
#[derive(Config, Debug, PartialEq)]
pub struct AligningEncoderConfig {
    /// Model width `D` (the backbone's hidden size).
    pub d_model: usize,
    /// Attention heads (must divide `d_model`; see [`AligningEncoderConfig::for_width`]).
    #[config(default = 12)]
    pub heads: usize,
    /// MLP width as a multiple of `d_model`.
    #[config(default = 2)]
    pub mlp_ratio: usize,
    /// Layer-norm epsilon.
    #[config(default = 1e-6)]
    pub layer_norm_eps: f64,
}

impl AligningEncoderConfig {
    /// For width `d_model`, with `preferred` heads or the largest divisor of `d_model` below it.
    pub fn for_width(d_model: usize, preferred: usize) -> Self {
        let heads = (1..=preferred.max(1))
            .rev()
            .find(|&h| d_model.is_multiple_of(h))
            .unwrap_or(1);
        Self::new(d_model).with_heads(heads)
    }

    /// A freshly initialised encoder.
    pub fn init(&self, device: &Device) -> AligningEncoder {
        let d = self.d_model;
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        AligningEncoder {
            norm1: norm(),
            query: linear(d, d),
            key: linear(d, d),
            value: linear(d, d),
            out: linear(d, d),
            norm2: norm(),
            fc1: linear(d, d * self.mlp_ratio),
            fc2: linear(d * self.mlp_ratio, d),
            heads: self.heads,
        }
    }
}

/// One transformer-encoder layer with linear attention.
#[derive(Module, Debug)]
pub struct AligningEncoder {
    pub(crate) norm1: LayerNorm,
    pub(crate) query: Linear,
    pub(crate) key: Linear,
    pub(crate) value: Linear,
    pub(crate) out: Linear,
    pub(crate) norm2: LayerNorm,
    pub(crate) fc1: Linear,
    pub(crate) fc2: Linear,
    pub(crate) heads: usize,
}

/// `φ(x) = elu(x) + 1`: `x + 1` for `x > 0`, `eˣ` otherwise; positive everywhere.
pub fn feature_map<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clone().clamp_min(0.0) + x.clamp_max(0.0).exp()
}

/// Linear attention of `[B, H, N, d]` queries, keys and values.
pub fn linear_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    let (q, k) = (feature_map(q), feature_map(k));
    let kv = k.clone().swap_dims(2, 3).matmul(v); // [B, H, d, d]
    let numerator = q.clone().matmul(kv); // [B, H, N, d]
    let k_sum = k.sum_dim(2); // [B, H, 1, d]
    let denominator = q.matmul(k_sum.swap_dims(2, 3)); // [B, H, N, 1]
    numerator / denominator
}

impl AligningEncoder {
    /// `[B, H, N, d]` from `[B, N, D]`.
    fn split(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, n, d] = x.dims();
        x.reshape([b, n, self.heads, d / self.heads])
            .swap_dims(1, 2)
    }

    /// `Z = AligningEncoder(s)`: `[B, N, D]` → `[B, N, D]`.
    pub fn forward(&self, s: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = s.dims();
        let h = self.norm1.forward(s.clone());
        let q = self.split(self.query.forward(h.clone()));
        let k = self.split(self.key.forward(h.clone()));
        let v = self.split(self.value.forward(h));
        let attended = linear_attention(q, k, v).swap_dims(1, 2).reshape([b, n, d]);
        let x = s + self.out.forward(attended);
        let hidden = gelu(self.fc1.forward(self.norm2.forward(x.clone())));
        x + self.fc2.forward(hidden)
    }

    /// Aligned AM flow of a clip from its attention probabilities `[T, H, N, N]`:
    /// `[T, N, D]`, row `t` being `|Z(t) − Z(t+1)|` and the last row zeros.
    pub fn clip_flow(&self, probs: Tensor<4>) -> Tensor<3> {
        let [t, h, n, _] = probs.dims();
        let d = self.norm1.gamma.dims()[0];
        let s = broadcast_heads(column_sums(probs), d / h); // [T, N, D]
        self.clip_flow_from_sums(s, t, n, d)
    }

    /// The same from column sums already broadcast to `[T, N, D]`.
    fn clip_flow_from_sums(&self, s: Tensor<3>, t: usize, n: usize, d: usize) -> Tensor<3> {
        let device = s.device();
        if t < 2 {
            return Tensor::zeros([t, n, d], &device);
        }
        let z = self.forward(s); // [T, N, D]
        let flows = (z.clone().narrow(0, 0, t - 1) - z.narrow(0, 1, t - 1)).abs(); // [T−1, N, D]
        Tensor::cat(vec![flows, Tensor::zeros([1, n, d], &device)], 0)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::softmax;

    use super::*;
    use crate::test_support::{tensor, values};

    fn random<const D: usize>(shape: [usize; D], seed: u32) -> Tensor<D> {
        let n: usize = shape.iter().product();
        let v = (0..n)
            .map(|i| ((i as f32 + 1.0) * 12.9898 + seed as f32 * 78.233).sin())
            .collect::<Vec<_>>();
        tensor(v, shape)
    }

    #[test]
    fn linear_attention_equals_the_quadratic_form() {
        let (q, k, v) = (
            random([2, 3, 5, 4], 1),
            random([2, 3, 5, 4], 2),
            random([2, 3, 5, 4], 3),
        );
        let fast = values(linear_attention(q.clone(), k.clone(), v.clone()));
        // A[i,j] = φ(q_i)·φ(k_j), rows normalised, times V.
        let a = feature_map(q).matmul(feature_map(k).swap_dims(2, 3)); // [B, H, N, N]
        let a = a.clone() / a.sum_dim(3);
        let slow = values(a.matmul(v));
        for (x, y) in fast.iter().zip(&slow) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn feature_map_is_elu_plus_one() {
        let x = tensor(vec![-2.0, 0.0, 1.5], [3]);
        let y = values(feature_map(x));
        let expect = [(-2f32).exp(), 1.0, 2.5];
        for (a, b) in y.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn heads_fall_back_to_a_divisor() {
        assert_eq!(AligningEncoderConfig::for_width(384, 12).heads, 12);
        assert_eq!(AligningEncoderConfig::for_width(32, 12).heads, 8);
        assert_eq!(AligningEncoderConfig::for_width(7, 12).heads, 7);
    }

    #[test]
    fn still_clips_have_no_aligned_flow_and_moving_ones_do() {
        let device = Device::flex();
        let encoder = AligningEncoderConfig::for_width(8, 12).init(&device);
        // 2 heads × 4 channels; 3 frames of 5 tokens: frames 0 and 1 equal, frame 2 differs.
        let logits = random([1, 2, 5, 5], 4);
        let other = random([1, 2, 5, 5], 5);
        let probs = softmax(Tensor::cat(vec![logits.clone(), logits, other], 0), 3);
        let flow = encoder.clip_flow(probs);
        assert_eq!(flow.dims(), [3, 5, 8]);
        let v = values(flow);
        assert!(
            v[..40].iter().all(|x| x.abs() < 1e-6),
            "frames 0 → 1 are equal"
        );
        assert!(
            v[40..80].iter().any(|x| x.abs() > 1e-4),
            "frames 1 → 2 differ"
        );
        assert!(
            v[80..].iter().all(|&x| x == 0.0),
            "the last frame has no next"
        );
    }
}

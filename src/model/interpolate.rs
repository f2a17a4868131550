//! Bicubic resampling of the position-embedding grid, exactly as Hugging Face's DINOv2 does it.
//!
//! Hugging Face calls `torch.nn.functional.interpolate(pos, size=(h, w), mode="bicubic",
//! align_corners=False)` (no antialiasing) on the `[1, D, G, G]` grid of patch position
//! embeddings. That operation is separable: along one axis of input length `n` and output length
//! `m`, output `o` reads input position
//!
//! ```text
//! x = (o + ½) · n / m − ½,   i = ⌊x⌋,   t = x − i
//! out[o] = Σ_{k=0..3} w_k(t) · in[clamp(i − 1 + k, 0, n − 1)]
//! ```
//!
//! with Keys' cubic convolution weights for `A = −0.75` (PyTorch's choice):
//! `w_0 = c₂(t + 1)`, `w_1 = c₁(t)`, `w_2 = c₁(1 − t)`, `w_3 = c₂(2 − t)`, where
//! `c₁(x) = ((A + 2)x − (A + 3))x² + 1` and `c₂(x) = ((Ax − 5A)x + 8A)x − 4A`.
//!
//! We write each axis as an `[m, n]` matrix `W` (clamped taps add up), so the resampled grid is
//! `W_h · P · W_wᵀ` for every channel: two matrix products that run on any backend. When
//! `m = n` the matrix is the identity, matching Hugging Face's shortcut of returning the
//! embeddings unchanged.

/// PyTorch's cubic convolution coefficient.
const A: f32 = -0.75;

fn cubic_near(x: f32) -> f32 {
    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
}

fn cubic_far(x: f32) -> f32 {
    ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
}

/// Row-major `[out_len, in_len]` matrix resampling a length-`in_len` axis to `out_len` samples.
///
/// Arithmetic is in f32, like PyTorch's CPU kernel for f32 inputs.
pub fn bicubic_matrix(in_len: usize, out_len: usize) -> Vec<f32> {
    let mut w = vec![0.0f32; out_len * in_len];
    if in_len == 0 || out_len == 0 {
        return w;
    }
    let scale = in_len as f32 / out_len as f32;
    let last = in_len as i64 - 1;
    for o in 0..out_len {
        let x = scale * (o as f32 + 0.5) - 0.5;
        let i = x.floor();
        let t = x - i;
        let taps = [
            cubic_far(t + 1.0),
            cubic_near(t),
            cubic_near(1.0 - t),
            cubic_far(2.0 - t),
        ];
        for (k, tap) in taps.iter().enumerate() {
            let src = (i as i64 - 1 + k as i64).clamp(0, last) as usize;
            w[o * in_len + src] += tap;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_identity() {
        let w = bicubic_matrix(5, 5);
        for o in 0..5 {
            for i in 0..5 {
                assert_eq!(w[o * 5 + i], if o == i { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn rows_sum_to_one() {
        for (n, m) in [(37, 16), (4, 6), (4, 2), (1, 3), (37, 73)] {
            let w = bicubic_matrix(n, m);
            for o in 0..m {
                let s: f32 = w[o * n..(o + 1) * n].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "{n}->{m} row {o} sums to {s}");
            }
        }
    }

    #[test]
    fn resampling_a_ramp_is_symmetric() {
        // Mirroring the axis mirrors the weights: for the ramp [0, 1] resampled to any length,
        // out[k] + out[m − 1 − k] = 1, and the ends overshoot by Keys' negative lobe.
        for m in [3, 4, 7] {
            let w = bicubic_matrix(2, m);
            let out: Vec<f32> = (0..m).map(|o| w[o * 2 + 1]).collect();
            for k in 0..m {
                assert!((out[k] + out[m - 1 - k] - 1.0).abs() < 1e-6, "{out:?}");
            }
        }
        // m = 4: x = −0.25 for the first sample, t = 0.75, only the tap at distance 1.25 reads
        // the 1: c₂(1.25) = −0.10546875.
        assert!((bicubic_matrix(2, 4)[1] + 0.105_468_75).abs() < 1e-7);
    }
}

//! Softmax over the last axis, `p[…, j] = exp(x[…, j] − max) / Σ_k exp(x[…, k] − max)`, with
//! the SIMD [`exp`](super::exp); burn's CPU softmax calls libm's `expf` per element.

use burn::tensor::Tensor;
use burn::tensor::activation;
use pulp::{Arch, Simd, WithSimd};

use super::Taken;
use super::exp::{exp, exp_f32s};

/// `softmax(x, D − 1)`: vectorised on the CPU, burn's `softmax` elsewhere.
// Without the CPU backend a `CpuTensor` is never made: its branch is dead code there.
#[cfg_attr(not(feature = "cpu"), allow(unreachable_code))]
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match super::CpuTensor::take(x) {
        Taken::Cpu(cpu) => {
            let n = cpu.shape().dims::<D>()[D - 1];
            cpu.map_in_place(|values| softmax_rows(values, n)).wrap()
        }
        Taken::Other(x) => activation::softmax(*x, D - 1),
    }
}

/// Every `n`-long row of `values` replaced by its softmax, in place.
pub fn softmax_rows(values: &mut [f32], n: usize) {
    if n == 0 {
        return;
    }
    Arch::new().dispatch(Rows { values, n });
}

struct Rows<'a> {
    values: &'a mut [f32],
    n: usize,
}

impl WithSimd for Rows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        for row in self.values.chunks_exact_mut(self.n) {
            let sum = exp_shifted_row(simd, row);
            scale_row(simd, row, 1.0 / sum);
        }
    }
}

/// `row[j] ← exp(row[j] − max(row))`; returns the sum of the new values.
#[inline(always)]
pub(crate) fn exp_shifted_row<S: Simd>(simd: S, row: &mut [f32]) -> f32 {
    let (lanes, tail) = S::as_mut_simd_f32s(row);
    let mut max = simd.splat_f32s(f32::NEG_INFINITY);
    for v in lanes.iter() {
        max = simd.max_f32s(max, *v);
    }
    let max = tail
        .iter()
        .fold(simd.reduce_max_f32s(max), |m, v| m.max(*v));
    let shift = simd.splat_f32s(max);
    let mut sum = simd.splat_f32s(0.0);
    for v in lanes.iter_mut() {
        let e = exp_f32s(simd, simd.sub_f32s(*v, shift));
        sum = simd.add_f32s(sum, e);
        *v = e;
    }
    let mut total = simd.reduce_sum_f32s(sum);
    for v in tail.iter_mut() {
        *v = exp(*v - max);
        total += *v;
    }
    total
}

/// `row[j] ← row[j]·factor`.
#[inline(always)]
pub(crate) fn scale_row<S: Simd>(simd: S, row: &mut [f32], factor: f32) {
    let (lanes, tail) = S::as_mut_simd_f32s(row);
    let f = simd.splat_f32s(factor);
    for v in lanes.iter_mut() {
        *v = simd.mul_f32s(*v, f);
    }
    for v in tail.iter_mut() {
        *v *= factor;
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tolerance};

    use super::*;

    #[test]
    fn matches_burns_softmax_on_rows_with_a_tail() {
        let device = Device::flex();
        // Rows of 37: four SIMD registers and a tail of 5 on AVX2.
        let x = Tensor::<4>::random(
            [2, 3, 4, 37],
            burn::tensor::Distribution::Uniform(-12.0, 12.0),
            &device,
        );
        let ours = softmax_last(x.clone()).into_data();
        let burns = activation::softmax(x, 3).into_data();
        ours.assert_approx_eq::<f32>(&burns, Tolerance::absolute(1e-6));
    }

    #[test]
    fn rows_sum_to_one_even_with_huge_spreads() {
        let mut values = vec![0.0, -1e4, 1e4, 3.0, -50.0, 20.0];
        softmax_rows(&mut values, 3);
        for row in values.chunks(3) {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-6, "{row:?}");
            assert!(row.iter().all(|p| p.is_finite() && *p >= 0.0), "{row:?}");
        }
        assert!((values[2] - 1.0).abs() < 1e-6);
    }
}

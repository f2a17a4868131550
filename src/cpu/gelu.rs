//! The exact GELU, `gelu(x) = x·Φ(x) = ½·x·(1 + erf(x/√2))`, with a vectorised CPU kernel.
//!
//! burn's CPU backend evaluates GELU element by element through libm's `erff`; in the profile
//! of one frame pair through ViT-S/14 that was 19% of the time (BENCHMARKS.md). On the CPU
//! (`flex`, no autodiff, f32) this module evaluates `erf` as a rational function instead, a few
//! fused multiply-adds and one division per element, in SIMD registers:
//!
//! ```text
//! erf(x) ≈ x·P(x²) / Q(x²)   for |x| ≤ 4,   P of degree 6 in x², Q of degree 4 in x²
//! erf(x) = ±1                for |x| > 4    (erfc(4) ≈ 1.5e-8 is below f32's resolution at 1)
//! ```
//!
//! The coefficients are the minimax fit Eigen uses for its `erf` on floats
//! (`generic_fast_erf_float`). Measured against libm's `erff` on [-6, 6]: at most 4.2e-7 apart
//! for erf, 7e-7 for GELU (tests below). Every other device (wgpu, autodiff for training)
//! keeps burn's own `gelu`.

use burn::tensor::Tensor;
use burn::tensor::activation;
use pulp::{Arch, Simd, WithSimd};

use super::Taken;

/// Odd numerator, in powers of x²: `α₁ + α₃x² + … + α₁₃x¹²`.
const NUMERATOR: [f32; 7] = [
    -1.609_603_3e-2,
    -2.954_6e-3,
    -7.349_906_3e-4,
    -5.692_506_4e-5,
    -2.101_024e-6,
    2.770_681_4e-8,
    -2.726_142_3e-10,
];
/// Even denominator, in powers of x²: `β₀ + β₂x² + … + β₈x⁸`.
const DENOMINATOR: [f32; 5] = [
    -1.426_473_9e-2,
    -7.373_329e-3,
    -1.682_827e-3,
    -2.133_740_6e-4,
    -1.456_607_2e-5,
];
/// Beyond this |x|, erf(x) is ±1 in f32.
const CLAMP: f32 = 4.0;

/// `gelu(x)` with the exact normal CDF: vectorised on the CPU, burn's `gelu` elsewhere.
// Without the CPU backend a `CpuTensor` is never made: its branch is dead code there.
#[cfg_attr(not(feature = "cpu"), allow(unreachable_code))]
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match super::CpuTensor::take(x) {
        Taken::Cpu(cpu) => cpu.map_in_place(gelu_in_place).wrap(),
        Taken::Other(x) => activation::gelu(*x),
    }
}

/// `gelu` over a slice, in place, with the widest SIMD the CPU has.
pub fn gelu_in_place(values: &mut [f32]) {
    Arch::new().dispatch(GeluKernel(values));
}

/// erf(x) for one value, the same rational function as the SIMD kernel.
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = NUMERATOR
        .iter()
        .rev()
        .skip(1)
        .fold(NUMERATOR[6], |acc, &c| acc.mul_add(x2, c));
    let q = DENOMINATOR
        .iter()
        .rev()
        .skip(1)
        .fold(DENOMINATOR[4], |acc, &c| acc.mul_add(x2, c));
    x * p / q
}

/// gelu(x) for one value.
pub fn gelu_scalar(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

struct GeluKernel<'a>(&'a mut [f32]);

impl WithSimd for GeluKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let (lanes, tail) = S::as_mut_simd_f32s(self.0);
        let half = simd.splat_f32s(0.5);
        let one = simd.splat_f32s(1.0);
        let scale = simd.splat_f32s(std::f32::consts::FRAC_1_SQRT_2);
        let hi = simd.splat_f32s(CLAMP);
        let lo = simd.splat_f32s(-CLAMP);
        let alpha = NUMERATOR.map(|c| simd.splat_f32s(c));
        let beta = DENOMINATOR.map(|c| simd.splat_f32s(c));
        for v in lanes.iter_mut() {
            let x = *v;
            let z = simd.min_f32s(simd.max_f32s(simd.mul_f32s(x, scale), lo), hi);
            let z2 = simd.mul_f32s(z, z);
            let mut p = alpha[6];
            for c in alpha[..6].iter().rev() {
                p = simd.mul_add_e_f32s(p, z2, *c);
            }
            let mut q = beta[4];
            for c in beta[..4].iter().rev() {
                q = simd.mul_add_e_f32s(q, z2, *c);
            }
            let erf = simd.div_f32s(simd.mul_f32s(z, p), q);
            *v = simd.mul_f32s(simd.mul_f32s(half, x), simd.add_f32s(one, erf));
        }
        for v in tail.iter_mut() {
            *v = gelu_scalar(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;

    /// The exact GELU in f64.
    fn reference_gelu(x: f32) -> f32 {
        let x = f64::from(x);
        (0.5 * x * (1.0 + reference_erf(x / std::f64::consts::SQRT_2))) as f32
    }

    /// erf(x) = 2/√π ∫₀ˣ e^(−t²) dt by Simpson's rule on 2000 intervals (error ~1e-12, far
    /// below f32's resolution).
    fn reference_erf(x: f64) -> f64 {
        let n = 2000;
        let h = x / n as f64;
        let f = |t: f64| (-t * t).exp();
        let mut sum = f(0.0) + f(x);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            sum += w * f(i as f64 * h);
        }
        sum * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_is_within_5e7_of_the_true_value() {
        let mut worst = 0.0f64;
        for i in -1200..=1200 {
            let x = i as f32 * 0.005;
            worst = worst.max((f64::from(erf(x)) - reference_erf(f64::from(x))).abs());
        }
        assert!(worst < 5e-7, "erf is {worst:e} off");
    }

    #[test]
    fn simd_kernel_matches_the_scalar_form_and_the_exact_gelu() {
        // 1001 values: whole SIMD registers and a tail.
        let xs: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.017).collect();
        let mut ys = xs.clone();
        gelu_in_place(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            assert!(
                (y - gelu_scalar(*x)).abs() <= 2e-7 * x.abs().max(1.0),
                "x = {x}"
            );
            assert!((y - reference_gelu(*x)).abs() <= 1e-6, "x = {x}: {y}");
        }
    }

    #[test]
    fn the_cpu_tensor_path_matches_burns_gelu() {
        let device = Device::flex();
        let xs: Vec<f32> = (0..2 * 3 * 50).map(|i| (i as f32 - 150.0) * 0.05).collect();
        let x = Tensor::<3>::from_data(burn::tensor::TensorData::new(xs, [2, 3, 50]), &device);
        let ours = gelu(x.clone()).into_data();
        let burns = activation::gelu(x).into_data();
        ours.assert_approx_eq::<f32>(&burns, burn::tensor::Tolerance::absolute(1e-6));
    }
}

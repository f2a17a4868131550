//! `exp(x)` in SIMD registers, for the softmax kernels.
//!
//! Cody–Waite range reduction and a degree-6 polynomial (the Cephes `expf` scheme):
//!
//! ```text
//! n = round(x·log₂e)                       (by adding and subtracting 1.5·2²³)
//! r = x − n·ln2                            (ln2 split in two for exactness), |r| ≤ ln2/2
//! eʳ ≈ 1 + r + r²·P(r)                     (P of degree 5)
//! eˣ = 2ⁿ·eʳ                               (n added to the exponent bits)
//! ```
//!
//! Inputs are clamped to [−87, 88], where 2ⁿ stays a normal float; the softmax kernels only
//! pass `x − max ≤ 0`, so the clamp maps the far negative tail to ~1.6e-38 instead of 0.
//! Within 2 ulp of `f32::exp` on the clamped range (tested below).

use pulp::Simd;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO, LN2_HI exact in 9 bits so that `n·LN2_HI` is exact.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;
const LO: f32 = -87.0;
const HI: f32 = 88.0;
/// P(r), highest power first.
const P: [f32; 6] = [
    1.987_569_2e-4,
    1.398_2e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `exp` of every lane.
#[inline(always)]
pub fn exp_f32s<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    let x = simd.min_f32s(simd.max_f32s(x, simd.splat_f32s(LO)), simd.splat_f32s(HI));
    let shifted = simd.mul_add_e_f32s(x, simd.splat_f32s(LOG2E), simd.splat_f32s(ROUND));
    let n = simd.sub_f32s(shifted, simd.splat_f32s(ROUND));
    let r = simd.mul_add_e_f32s(n, simd.splat_f32s(-LN2_HI), x);
    let r = simd.mul_add_e_f32s(n, simd.splat_f32s(-LN2_LO), r);
    let mut p = simd.splat_f32s(P[0]);
    for c in &P[1..] {
        p = simd.mul_add_e_f32s(p, r, simd.splat_f32s(*c));
    }
    let r2 = simd.mul_f32s(r, r);
    let er = simd.add_f32s(simd.mul_add_e_f32s(p, r2, r), simd.splat_f32s(1.0));
    // 2ⁿ: the integer n sits in the low bits of `shifted`'s pattern, offset by ROUND's own.
    let bits = simd.transmute_u32s_f32s(shifted);
    let n_int = simd.sub_u32s(bits, simd.splat_u32s(ROUND.to_bits()));
    let biased = simd.add_u32s(n_int, simd.splat_u32s(127));
    let two_n = simd.wrapping_dyn_shl_u32s(biased, simd.splat_u32s(23));
    simd.mul_f32s(er, simd.transmute_f32s_u32s(two_n))
}

/// `exp` of one value, the same arithmetic as [`exp_f32s`] (for tails and tests).
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(LO, HI);
    let shifted = x.mul_add(LOG2E, ROUND);
    let n = shifted - ROUND;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    let p = P[1..].iter().fold(P[0], |acc, c| acc.mul_add(r, *c));
    let er = p.mul_add(r * r, r) + 1.0;
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    er * f32::from_bits(n_int.wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use pulp::{Arch, WithSimd};

    use super::*;

    struct ExpAll<'a>(&'a mut [f32]);

    impl WithSimd for ExpAll<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) {
            let (lanes, tail) = S::as_mut_simd_f32s(self.0);
            for v in lanes {
                *v = exp_f32s(simd, *v);
            }
            for v in tail {
                *v = exp(*v);
            }
        }
    }

    #[test]
    fn simd_and_scalar_exp_are_within_2_ulp_of_std() {
        let xs: Vec<f32> = (0..35_001).map(|i| -87.0 + i as f32 * 0.005).collect();
        let mut ys = xs.clone();
        Arch::new().dispatch(ExpAll(&mut ys));
        for (x, y) in xs.iter().zip(&ys) {
            let want = x.exp();
            let ulp = (want.to_bits() as i64 - y.to_bits() as i64).abs();
            assert!(ulp <= 2, "exp({x}) = {y}, std says {want} ({ulp} ulp)");
            let scalar = exp(*x);
            let ulp = (want.to_bits() as i64 - scalar.to_bits() as i64).abs();
            assert!(ulp <= 2, "scalar exp({x}) = {scalar}, std says {want}");
        }
    }

    #[test]
    fn far_negative_inputs_are_tiny_not_nan() {
        for x in [-88.0f32, -1e6, f32::NEG_INFINITY] {
            let y = exp(x);
            assert!((0.0..1e-37).contains(&y), "exp({x}) = {y}");
        }
    }
}

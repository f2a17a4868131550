//! Vanilla AM flow fused into one pass on the CPU, the counterpart of the WGSL kernel:
//!
//! ```text
//! flow[b,h,j] = Σ_i exp(D[b,h,i,j] − m_i) / Σ_k exp(D[b,h,i,k] − m_i),
//! D = |X(t) − X(t+1)|,  m_i = max_k D[b,h,i,k]
//! ```
//!
//! Each row of `D` is built in one scratch row, turned into its softmax there and added to the
//! `[B, H, N]` column sums, so neither `|ΔX|` nor its softmax (`[B, H, N, N]` each) is written.

use burn::tensor::Tensor;
use pulp::{Arch, Simd, WithSimd};

use super::softmax::{exp_shifted_row, scale_row};
use super::{CpuTensor, Taken};

/// `Σ_i softmax_j |X(t) − X(t+1)|` for CPU float32 tensors outside autodiff, `[B, H, N, N]` × 2
/// → `[B, H, N]`; `None` for anything else or mismatched shapes. The inputs are read in place.
// Without the CPU backend a `CpuTensor` is never made: its branch is dead code there.
#[cfg_attr(not(feature = "cpu"), allow(unreachable_code))]
pub fn vanilla_flow(logits_t: &Tensor<4>, logits_t1: &Tensor<4>) -> Option<Tensor<3>> {
    if logits_t.dims() != logits_t1.dims() {
        return None;
    }
    let (Taken::Cpu(a), Taken::Cpu(b)) = (
        CpuTensor::take(logits_t.clone()),
        CpuTensor::take(logits_t1.clone()),
    ) else {
        return None;
    };
    let [batch, heads, rows, n] = a.shape().dims::<4>();
    let mut flow = vec![0.0f32; batch * heads * n];
    if rows > 0 && n > 0 {
        Arch::new().dispatch(Fused {
            a: a.values(),
            b: b.values(),
            rows,
            n,
            flow: &mut flow,
        });
    }
    Some(a.with_values(flow, [batch, heads, n].into()).wrap())
}

struct Fused<'a> {
    a: &'a [f32],
    b: &'a [f32],
    rows: usize,
    n: usize,
    /// `[B·H, N]` column sums.
    flow: &'a mut [f32],
}

impl WithSimd for Fused<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let map = self.rows * self.n;
        let mut scratch = vec![0.0f32; self.n];
        let maps = self.a.chunks_exact(map).zip(self.b.chunks_exact(map));
        for ((a, b), column_sums) in maps.zip(self.flow.chunks_exact_mut(self.n)) {
            for (ra, rb) in a.chunks_exact(self.n).zip(b.chunks_exact(self.n)) {
                abs_diff(simd, ra, rb, &mut scratch);
                let sum = exp_shifted_row(simd, &mut scratch);
                scale_row(simd, &mut scratch, 1.0 / sum);
                accumulate(simd, column_sums, &scratch);
            }
        }
    }
}

/// `out[j] ← |a[j] − b[j]|`.
#[inline(always)]
fn abs_diff<S: Simd>(simd: S, a: &[f32], b: &[f32], out: &mut [f32]) {
    let (la, ta) = S::as_simd_f32s(a);
    let (lb, tb) = S::as_simd_f32s(b);
    let (lo, to) = S::as_mut_simd_f32s(out);
    for ((o, x), y) in lo.iter_mut().zip(la).zip(lb) {
        *o = simd.abs_f32s(simd.sub_f32s(*x, *y));
    }
    for ((o, x), y) in to.iter_mut().zip(ta).zip(tb) {
        *o = (x - y).abs();
    }
}

/// `acc[j] ← acc[j] + row[j]`.
#[inline(always)]
fn accumulate<S: Simd>(simd: S, acc: &mut [f32], row: &[f32]) {
    let (la, ta) = S::as_mut_simd_f32s(acc);
    let (lr, tr) = S::as_simd_f32s(row);
    for (a, r) in la.iter_mut().zip(lr) {
        *a = simd.add_f32s(*a, *r);
    }
    for (a, r) in ta.iter_mut().zip(tr) {
        *a += r;
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Tolerance};

    use super::*;

    #[test]
    fn matches_the_tensor_op_reference() {
        let device = Device::flex();
        // N = 29: SIMD registers and a tail; two maps in the batch, three heads.
        let a = Tensor::<4>::random([2, 3, 29, 29], Distribution::Uniform(-6.0, 6.0), &device);
        let b = Tensor::<4>::random([2, 3, 29, 29], Distribution::Uniform(-6.0, 6.0), &device);
        let reference = crate::flow::vanilla_flow(a.clone(), b.clone()).into_data();
        let fused = match vanilla_flow(&a, &b) {
            Some(flow) => flow.into_data(),
            None => panic!("CPU float32 tensors take the fused path"),
        };
        fused.assert_approx_eq::<f32>(&reference, Tolerance::absolute(1e-5));
    }

    #[test]
    fn other_devices_and_autodiff_are_handed_back() {
        let device = Device::flex().autodiff();
        let a = Tensor::<4>::zeros([1, 1, 2, 2], &device);
        assert!(vanilla_flow(&a, &a).is_none());
    }
}

//! Vanilla AM flow as a fused GPU kernel, behind [`FlowKernel`], whose default is the plain
//! tensor-op version ([`super::vanilla_flow`]).
//!
//! The tensor-op version materialises `|ΔX|` and its softmax, `[B, H, N, N]` each. The fused one
//! works on the tensors' own GPU buffers (no host round trip) and never writes an N×N tensor:
//! up to [`TILE_CAP`] tokens, `shaders/amflow_tile_flow.wgsl` keeps blocks of rows in workgroup
//! memory (one read of the logits, one `exp` per element) and writes per-block column sums
//! `[B·H, N/rb, N]` that a sum over the blocks finishes; beyond, `amflow_row_stats.wgsl` (each
//! row's log-sum-exp) then `amflow_colsum.wgsl` read the logits twice. It runs when both inputs are
//! float32 tensors of burn's wgpu backend outside autodiff. On the CPU backend the same fusion
//! runs as a SIMD loop ([`crate::cpu::flow`]); anywhere else (a tensor that needs gradients)
//! the reference runs. The kernels' launches are in [`super::wgsl`]; without the `gpu` feature
//! (the web page's CPU worker, which carries no cubecl) there are no wgpu tensors and no WGSL.

use burn::tensor::Tensor;

use super::vanilla_flow;
#[cfg(feature = "gpu")]
pub use super::wgsl::{TILE_CAP, fused_vanilla_flow};

/// How vanilla AM flow is computed. The default method is the tensor-op reference.
pub trait FlowKernel {
    /// `Σ_i softmax_j |X(t) − X(t+1)|`: `[B, H, N, N]` × 2 → `[B, H, N]`.
    fn vanilla_flow(&self, logits_t: Tensor<4>, logits_t1: Tensor<4>) -> Tensor<3> {
        vanilla_flow(logits_t, logits_t1)
    }
}

/// The plain tensor-op version, on any backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct TensorOps;

impl FlowKernel for TensorOps {}

/// The fused kernel where the tensors allow it (WGSL on wgpu, SIMD on the CPU), the reference
/// elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fused;

impl FlowKernel for Fused {
    fn vanilla_flow(&self, logits_t: Tensor<4>, logits_t1: Tensor<4>) -> Tensor<3> {
        if let Some(flow) = fused_vanilla_flow(logits_t.clone(), logits_t1.clone()) {
            return flow;
        }
        match crate::cpu::flow::vanilla_flow(&logits_t, &logits_t1) {
            Some(flow) => flow,
            None => vanilla_flow(logits_t, logits_t1),
        }
    }
}

/// Without the GPU backend there are no wgpu tensors: never fused.
#[cfg(not(feature = "gpu"))]
pub fn fused_vanilla_flow(_: Tensor<4>, _: Tensor<4>) -> Option<Tensor<3>> {
    None
}

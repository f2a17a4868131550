//! AM flow: motion read out of the attention maps of a frozen transformer (SPEC §2).
//!
//! - [`vanilla`]: `Σ_i softmax_j |X(t) − X(t+1)|`, one value per head and token.
//! - [`signed`]: `rise ‖ fall`, where attention grew and where it shrank, kept apart (beyond the
//!   paper: the direction that `|·|` drops).
//! - [`displacement`]: where each token's content came from, a vector per head and token (beyond
//!   the paper: the correspondence that the column sums drop).
//! - [`aligned`]: `|Z(t) − Z(t+1)|` with `Z` a learned linear-attention encoder of the
//!   attention column sums, for moving cameras.
//! - [`pair_flows`] runs the backbone on a frame pair and returns every block's flow;
//!   [`stream`] runs each frame once and makes consecutive pairs from what it kept.

pub mod aligned;
pub mod displacement;
pub mod kernel;
pub mod signed;
pub mod stream;
pub mod vanilla;
#[cfg(feature = "gpu")]
pub mod wgsl;

use burn::tensor::Tensor;

use crate::model::{Capture, Dinov2, InputError};

pub use aligned::{AligningEncoder, AligningEncoderConfig};
pub use displacement::{QueriesKeys, displacement_flow, displacements_between, pair_displacements};
pub use kernel::{FlowKernel, Fused, TensorOps};
pub use signed::signed_flow;
pub use stream::{
    FrameCache, FrameSignals, flows_between, frame_key, frame_queries_keys, frame_signals,
    frame_signals_each,
};
pub use vanilla::{broadcast_heads, clip_vanilla_flow, column_sums, vanilla_flow};

/// Every block's attention signals for one frame pair.
#[derive(Debug, Clone)]
pub struct PairFlows {
    /// Vanilla flow of block `i` at index `i`, `[H, N]` over all tokens (CLS first).
    pub vanilla: Vec<Tensor<2>>,
    /// Column sums `Σ_i softmax_j X[h,i,j]` of block `i`, `[2, H, N]` (frame t, frame t+k).
    pub colsum: Vec<Tensor<3>>,
}

/// Runs the backbone once on `pixels` `[2, 3, H, W]` (frame t, frame t+k) and computes every
/// block's vanilla flow (with the fused kernel where it runs) and column sums.
pub fn pair_flows(backbone: &Dinov2, pixels: Tensor<4>) -> Result<PairFlows, InputError> {
    pair_flows_with(backbone, pixels, &Fused)
}

/// [`pair_flows`] with a chosen way of computing the vanilla flow.
pub fn pair_flows_with(
    backbone: &Dinov2,
    pixels: Tensor<4>,
    kernel: &dyn FlowKernel,
) -> Result<PairFlows, InputError> {
    check_pair(&pixels)?;
    let capture = Capture {
        logits: true,
        probs: true,
        ..Capture::default()
    };
    let out = backbone.forward_with(pixels, capture)?;
    let mut vanilla = Vec::with_capacity(out.logits.len());
    let mut colsum = Vec::with_capacity(out.logits.len());
    for (logits, probs) in out.logits.into_iter().zip(out.probs) {
        let (flow, sums) = block_flows(kernel, logits, probs);
        vanilla.push(flow);
        colsum.push(sums);
    }
    Ok(PairFlows { vanilla, colsum })
}

/// One block's signals for a pair from its logits and probabilities `[2, H, N, N]`: the vanilla
/// flow from frame t to t+k `[H, N]` and the column sums of both frames `[2, H, N]`.
fn block_flows(
    kernel: &dyn FlowKernel,
    logits: Tensor<4>,
    probs: Tensor<4>,
) -> (Tensor<2>, Tensor<3>) {
    let [_, h, n, _] = logits.dims();
    let t = logits.clone().narrow(0, 0, 1);
    let t1 = logits.narrow(0, 1, 1);
    (
        kernel.vanilla_flow(t, t1).reshape([h, n]),
        column_sums(probs),
    )
}

/// A frame pair is a batch of two.
fn check_pair(pixels: &Tensor<4>) -> Result<(), InputError> {
    match pixels.dims()[0] {
        2 => Ok(()),
        found => Err(InputError::Batch { found, expected: 2 }),
    }
}

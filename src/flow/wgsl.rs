//! The WGSL kernels of vanilla AM flow (`shaders/`), launched through cubecl on the tensors'
//! own GPU buffers: up to [`TILE_CAP`] tokens `amflow_tile_flow.wgsl` in one pass, beyond it
//! `amflow_row_stats.wgsl` then `amflow_colsum.wgsl`. Built with the `gpu` feature; see
//! [`super::kernel`] for when they run.

use burn::backend::wgpu::{
    CubeDim, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous,
};
use burn::backend::{BackendTensor, DispatchTensor, DispatchTensorKind};
use burn::tensor::{DType, Tensor};
use cubecl::CubeCount;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;

/// One of amflow's WGSL kernels, named in its kernel id so that burn's cache tells them apart.
#[derive(Clone, Copy)]
struct Wgsl {
    name: &'static str,
    source: &'static str,
}

const TILE_FLOW: Wgsl = Wgsl {
    name: "amflow_tile_flow",
    source: include_str!("../../shaders/amflow_tile_flow.wgsl"),
};
const ROW_STATS: Wgsl = Wgsl {
    name: "amflow_row_stats",
    source: include_str!("../../shaders/amflow_row_stats.wgsl"),
};
const COLUMN_SUMS: Wgsl = Wgsl {
    name: "amflow_colsum",
    source: include_str!("../../shaders/amflow_colsum.wgsl"),
};

impl KernelSource for Wgsl {
    /// The shader with its sizes filled in from the constants below (`{{ workgroup }}`,
    /// `{{ tile_cap }}`, `{{ tile_rows_max }}`), so the dispatch and the shader cannot disagree.
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(self.source)
            .register("workgroup", WORKGROUP.to_string())
            .register("tile_cap", TILE_CAP.to_string())
            .register("tile_rows_max", TILE_ROWS_MAX.to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.name)
    }
    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// The most tokens `amflow_tile_flow.wgsl` holds (its `CAP`: rows of the attention map in
/// workgroup memory), and the most rows per workgroup (`RB_MAX`). With [`WORKGROUP`]
/// invocations that is 2560 + 16·64 floats of workgroup memory, 14 KiB, inside WebGPU's
/// guaranteed 16 KiB. Filled into the shaders when they are compiled.
pub const TILE_CAP: usize = 2560;
const TILE_ROWS_MAX: usize = 16;
/// Invocations per workgroup of every amflow shader (their `WG` and `@workgroup_size`).
const WORKGROUP: u32 = 64;

/// The wgpu float32 primitive of a tensor, if it is one (and not tracked by autodiff).
fn cube_f32(t: Tensor<4>) -> Option<(CubeTensor, DispatchTensor)> {
    let dispatch = t.into_dispatch();
    match &dispatch.kind {
        DispatchTensorKind::Cube(BackendTensor::Float(c)) if c.dtype == DType::F32 => {
            Some((into_contiguous(c.clone()), dispatch))
        }
        _ => None,
    }
}

/// Workgroups for `count` items, spilling past 65535 into y.
fn workgroups(count: usize) -> CubeCount {
    let count = count.max(1) as u32;
    CubeCount::Static(count.min(65535), count.div_ceil(65535), 1)
}

fn params(values: &[usize]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| (v as u32).to_le_bytes())
        .collect()
}

/// The fused kernel itself: `Some(flow)` when both inputs are float32 wgpu tensors of the same
/// square shape outside autodiff, `None` (nothing launched) otherwise.
pub fn fused_vanilla_flow(logits_t: Tensor<4>, logits_t1: Tensor<4>) -> Option<Tensor<3>> {
    if logits_t.dims() != logits_t1.dims() {
        return None;
    }
    let [b, h, n, n2] = logits_t.dims();
    if n != n2 || n == 0 {
        return None;
    }
    let (a, dispatch) = cube_f32(logits_t)?;
    let (c, _) = cube_f32(logits_t1)?;
    if n <= TILE_CAP {
        return Some(tile_flow(a, c, [b, h, n], dispatch));
    }
    let client = a.client.clone();
    let rows = b * h * n;
    let groups = b * h;
    let lse = client.empty(rows * 4); // [B·H·N] row log-sum-exp
    let flow = client.empty(groups * n * 4);
    let row_params = client.create_from_slice(&params(&[rows, n]));
    client.launch(
        Box::new(SourceKernel::new(ROW_STATS, CubeDim::new_1d(WORKGROUP))),
        workgroups(rows),
        KernelArguments::new().with_buffers(vec![
            a.handle.clone().binding(),
            c.handle.clone().binding(),
            lse.clone().binding(),
            row_params.binding(),
        ]),
    );
    let column_params = client.create_from_slice(&params(&[groups, n]));
    client.launch(
        Box::new(SourceKernel::new(COLUMN_SUMS, CubeDim::new_1d(WORKGROUP))),
        workgroups((groups * n).div_ceil(WORKGROUP as usize)),
        KernelArguments::new().with_buffers(vec![
            a.handle.clone().binding(),
            c.handle.binding(),
            lse.binding(),
            flow.clone().binding(),
            column_params.binding(),
        ]),
    );
    Some(float_tensor(&a, flow, [b, h, n], &dispatch))
}

/// A float32 buffer the kernels wrote on `like`'s device, as a tensor of `shape`, with the
/// autodiff setting of `dispatch` (the input it came from).
fn float_tensor(
    like: &CubeTensor,
    buffer: cubecl::server::Handle,
    shape: [usize; 3],
    dispatch: &DispatchTensor,
) -> Tensor<3> {
    let out = CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape.into(),
        buffer,
        DType::F32,
    );
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Cube(BackendTensor::Float(out)),
        autodiff: dispatch.autodiff,
    })
}

/// The one-pass kernel: per-block column sums `[B·H, blocks, N]`, summed over the blocks.
fn tile_flow(
    a: CubeTensor,
    c: CubeTensor,
    [b, h, n]: [usize; 3],
    dispatch: DispatchTensor,
) -> Tensor<3> {
    let client = a.client.clone();
    let groups = b * h;
    let rows = (TILE_CAP / n).clamp(1, TILE_ROWS_MAX);
    let blocks = n.div_ceil(rows);
    let partial = client.empty(groups * blocks * n * 4);
    let tile_params = client.create_from_slice(&params(&[groups, n, rows, blocks]));
    client.launch(
        Box::new(SourceKernel::new(TILE_FLOW, CubeDim::new_1d(WORKGROUP))),
        workgroups(groups * blocks),
        KernelArguments::new().with_buffers(vec![
            a.handle.clone().binding(),
            c.handle.binding(),
            partial.clone().binding(),
            tile_params.binding(),
        ]),
    );
    float_tensor(&a, partial, [groups, blocks, n], &dispatch)
        .sum_dim(1)
        .reshape([b, h, n])
}

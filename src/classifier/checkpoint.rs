//! Checkpoints: one self-describing safetensors file holding the trainable weights, with the
//! [`ClassifierConfig`] (backbone identity, AM blocks, flow and TPM kinds, frames, bottleneck,
//! class names) as JSON under the metadata key `amflow`. The backbone's weights stay separate.
//!
//! The weights are float32 as trained, or float16 ([`to_half`], `amflow train --half`, `amflow
//! checkpoint --half`): half the bytes for the checkpoints the page downloads and the binaries
//! carry. Loading casts every float tensor to float32, so both read the same way.

use std::collections::HashMap;
use std::path::Path;

use burn::store::{FloatCastAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{DType, Device};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::config::{BackboneId, ClassifierConfig};
use super::model::{AmClassifier, Trainable};
use crate::model::Dinov2;

/// The metadata key holding the configuration JSON.
pub const METADATA_KEY: &str = "amflow";

/// Why a checkpoint could not be written or used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The demo checkpoint was asked for from a program built without it (the `embedded`
    /// feature off).
    #[error(
        "this amflow was built without the `embedded` feature, so it has no compiled-in demo checkpoint: name one with --checkpoint FILE"
    )]
    NotEmbedded,
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a safetensors file, or not one of ours.
    #[error("{path}: not an amflow checkpoint: {problem}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The weights do not fit the configuration.
    #[error("{path}: the weights do not match the checkpoint's configuration: {problem}")]
    Weights {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A weight float16 cannot hold.
    #[error(
        "{path}: {tensor} holds {value}, which float16 cannot store; keep this checkpoint in float32"
    )]
    NotHalf {
        /// The file.
        path: String,
        /// The tensor.
        tensor: String,
        /// The weight.
        value: f32,
    },
    /// The checkpoint was trained on another backbone.
    #[error(
        "{path} was trained on {expected} ({} blocks, width {}, {} heads, patch {}), but the backbone given is {found} ({} blocks, width {}, {} heads, patch {}); pass the matching one with --backbone",
        expected_id.num_hidden_layers, expected_id.hidden_size, expected_id.num_attention_heads, expected_id.patch_size,
        found_id.num_hidden_layers, found_id.hidden_size, found_id.num_attention_heads, found_id.patch_size
    )]
    Backbone {
        /// The file.
        path: String,
        /// The backbone it names.
        expected: String,
        /// The one given.
        found: String,
        /// Its shape.
        expected_id: Box<BackboneId>,
        /// The given one's shape.
        found_id: Box<BackboneId>,
    },
}

/// The configuration stored in checkpoint bytes, validated.
pub fn read_config(bytes: &[u8], path: &str) -> Result<ClassifierConfig, CheckpointError> {
    let format = |problem: String| CheckpointError::Format {
        path: path.to_string(),
        problem,
    };
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format(format!("unreadable safetensors header ({e})")))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| format(format!("no \"{METADATA_KEY}\" entry in its metadata")))?;
    let config: ClassifierConfig =
        serde_json::from_str(json).map_err(|e| format(format!("bad configuration: {e}")))?;
    config.validate().map_err(|e| format(e.to_string()))?;
    Ok(config)
}

/// The checkpoint's bytes with every float32 tensor stored as float16 (IEEE binary16, round to
/// nearest even), other tensors and the metadata as they were; a checkpoint already in float16
/// comes back unchanged. A weight that float16 cannot hold (|w| > 65504, or not finite) is an
/// error rather than an infinity in the file.
pub fn to_half(bytes: &[u8], path: &str) -> Result<Vec<u8>, CheckpointError> {
    let format = |problem: String| CheckpointError::Format {
        path: path.to_string(),
        problem,
    };
    read_config(bytes, path)?;
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format(format!("unreadable safetensors header ({e})")))?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| format(format!("unreadable safetensors ({e})")))?;
    let mut halves: HashMap<String, Vec<u8>> = HashMap::new();
    for (name, view) in tensors.tensors() {
        if view.dtype() != Dtype::F32 {
            continue;
        }
        let mut half = Vec::with_capacity(view.data().len() / 2);
        for word in view.data().chunks_exact(4) {
            let w = f32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            let h = half::f16::from_f32(w);
            if !h.is_finite() {
                return Err(CheckpointError::NotHalf {
                    path: path.to_string(),
                    tensor: name,
                    value: w,
                });
            }
            half.extend_from_slice(&h.to_le_bytes());
        }
        halves.insert(name, half);
    }
    let mut views = Vec::new();
    for (name, view) in tensors.tensors() {
        let shape = view.shape().to_vec();
        let out = match halves.get(&name) {
            Some(half) => TensorView::new(Dtype::F16, shape, half),
            None => TensorView::new(view.dtype(), shape, view.data()),
        }
        .map_err(|e| format(format!("{name}: {e}")))?;
        views.push((name, out));
    }
    safetensors::serialize(views, metadata.metadata().clone())
        .map_err(|e| format(format!("cannot write the float16 copy ({e})")))
}

/// The storage type of a checkpoint's float weights: `"F32"`, `"F16"`, or `"mixed"`.
pub fn weight_dtype(bytes: &[u8], path: &str) -> Result<String, CheckpointError> {
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Format {
        path: path.to_string(),
        problem: format!("unreadable safetensors ({e})"),
    })?;
    let mut kinds: Vec<String> = tensors
        .tensors()
        .iter()
        .map(|(_, v)| format!("{:?}", v.dtype()))
        .collect();
    kinds.sort();
    kinds.dedup();
    Ok(match kinds.as_slice() {
        [one] => one.clone(),
        _ => "mixed".into(),
    })
}

impl AmClassifier {
    /// The checkpoint as bytes: trainable weights + configuration metadata.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let json = serde_json::to_string(&self.config).unwrap_or_default();
        let mut store = SafetensorsStore::from_bytes(None).metadata(METADATA_KEY, json);
        let err = |problem: String| CheckpointError::Format {
            path: "(new checkpoint)".into(),
            problem,
        };
        self.trainable
            .save_into(&mut store)
            .map_err(|e| err(e.to_string()))?;
        store.get_bytes().map_err(|e| err(e.to_string()))
    }

    /// Writes the checkpoint atomically (a temporary file beside it, then a rename), its
    /// weights in float16 when `half` ([`to_half`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, path: &Path, half: bool) -> Result<(), CheckpointError> {
        let mut bytes = self.checkpoint_bytes()?;
        if half {
            bytes = to_half(&bytes, &path.display().to_string())?;
        }
        crate::durable::write_atomic(path, &bytes).map_err(|e| CheckpointError::Io {
            path: path.display().to_string(),
            source: e.source,
        })
    }

    /// Rebuilds a classifier from checkpoint bytes around `backbone` (named `backbone_name`),
    /// which must have the shape the checkpoint was trained on.
    pub fn from_checkpoint_bytes(
        bytes: Vec<u8>,
        path: &str,
        backbone: Dinov2,
        backbone_name: &str,
        device: &Device,
    ) -> Result<Self, CheckpointError> {
        let config = read_config(&bytes, path)?;
        let found = BackboneId::of(backbone_name, &backbone);
        if !config.backbone.same_shape(&found) {
            return Err(CheckpointError::Backbone {
                path: path.to_string(),
                expected: config.backbone.name.clone(),
                found: backbone_name.to_string(),
                expected_id: Box::new(config.backbone.clone()),
                found_id: Box::new(found),
            });
        }
        let mut trainable = Trainable::new(&config, device);
        let weights = |problem: String| CheckpointError::Weights {
            path: path.to_string(),
            problem,
        };
        // Float16 checkpoints (`to_half`) load as float32, the dtype the model computes in.
        let mut store = SafetensorsStore::from_bytes(Some(bytes))
            .with_from_adapter(FloatCastAdapter::to(DType::F32));
        let result = trainable
            .load_from(&mut store)
            .map_err(|e| weights(e.to_string()))?;
        if !result.errors.is_empty() || !result.missing.is_empty() {
            return Err(weights(format!(
                "{} tensors missing ({}), {} errors ({})",
                result.missing.len(),
                result
                    .missing
                    .iter()
                    .take(3)
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                result.errors.len(),
                result
                    .errors
                    .iter()
                    .take(3)
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        Ok(Self {
            backbone,
            trainable,
            config,
        })
    }

    /// Loads a checkpoint file around `backbone`.
    pub fn load(
        path: &Path,
        backbone: Dinov2,
        backbone_name: &str,
        device: &Device,
    ) -> Result<Self, CheckpointError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: shown.clone(),
            source,
        })?;
        Self::from_checkpoint_bytes(bytes, &shown, backbone, backbone_name, device)
    }
}

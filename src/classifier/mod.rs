//! The AM-flow classifier (SPEC §3): adapters, AM flow in the AM blocks, temporal modules, the
//! frozen branch, checkpoints.

pub mod adapter;
pub mod checkpoint;
pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod data;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod progress;
pub mod tpm;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;

pub use checkpoint::CheckpointError;
pub use config::{BackboneId, ClassifierConfig, FlowKind, TpmKind, parse_blocks};
pub use model::{AmClassifier, ParamCounts, Trainable};

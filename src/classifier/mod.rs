//! The AM-flow classifier (SPEC §3): adapters, AM flow in the AM blocks, temporal modules, the
//! frozen branch, checkpoints.

//!
//! Without the `model` feature only the configuration remains (the engine's messages carry it).

#[cfg(feature = "model")]
pub mod adapter;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod augment;
#[cfg(feature = "model")]
pub mod checkpoint;
pub mod config;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod data;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod epochs;
#[cfg(feature = "model")]
pub mod model;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod prefix;
#[cfg(feature = "model")]
pub mod tpm;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod train;

#[cfg(feature = "model")]
pub use checkpoint::CheckpointError;
pub use config::{
    BackboneId, BlocksArg, ClassifierConfig, ConfigError, FlowKind, FlowNorm, TpmKind,
    parse_blocks, read_blocks,
};
#[cfg(feature = "model")]
pub use model::{AmClassifier, ParamCounts, Trainable};

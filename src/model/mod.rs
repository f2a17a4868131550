//! The frozen DINOv2 backbone: configuration, weights, modules.

//! Without the `model` feature only the configuration remains (the engine's messages carry it).

pub mod config;
#[cfg(feature = "model")]
pub mod dinov2;
pub mod error;
#[cfg(feature = "model")]
pub mod interpolate;
#[cfg(feature = "model")]
pub mod weights;

pub use config::Dinov2Config;
#[cfg(feature = "model")]
pub use dinov2::{Block, BlockOutput, Capture, Dinov2, Dinov2Output};
#[cfg(feature = "model")]
pub use error::{BackboneError, WeightsProblem};
pub use error::{ConfigProblem, InputError};

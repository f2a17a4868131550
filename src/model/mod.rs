//! The frozen DINOv2 backbone: configuration, weights, modules.

pub mod config;
pub mod dinov2;
pub mod error;
pub mod interpolate;
pub mod weights;

pub use config::Dinov2Config;
pub use dinov2::{Block, BlockOutput, Capture, Dinov2, Dinov2Output};
pub use error::{BackboneError, ConfigProblem, InputError, WeightsProblem};

//! amflow: motion read out of the attention maps of a frozen image transformer ("AM flow",
//! Agrawal et al.), as a visualiser and toolkit.
//!
//! Data flows one way: clip → frames → backbone → AM flow → maps / classifier → UI.

pub mod analysis;
pub mod app;
pub mod backend;
pub mod classifier;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod cpu;
pub mod embedded;
pub mod engine;
pub mod flow;
pub mod manifest;
pub mod maps;
pub mod model;
pub mod synth;
#[cfg(test)]
mod test_support;
pub mod video;
#[cfg(target_arch = "wasm32")]
pub mod web_start;

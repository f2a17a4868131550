//! amflow: motion read out of the attention maps of a frozen image transformer ("AM flow",
//! Agrawal et al.), as a visualiser and toolkit.
//!
//! Data flows one way: clip → frames → backbone → AM flow → maps / classifier → UI.

//!
//! Two cargo features, both on by default: `model` (the backbone, AM flow, the classifier and
//! the engine's service: burn and cubecl) and `app` (the eframe/egui app). The web page's UI
//! module is built with `app` alone and its model worker with `model` alone; the library without
//! the app is `--no-default-features --features model`. Without `model` the data types the app
//! and the engine's messages share (configurations, flows, maps, clips) remain.

#[cfg(all(feature = "app", not(feature = "model"), not(target_arch = "wasm32")))]
compile_error!(
    "the desktop app runs the model itself: build the `app` feature with `model` (only the web \
     page's UI module is built without it)"
);

pub mod analysis;
#[cfg(feature = "app")]
pub mod app;
pub mod backend;
pub mod classifier;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod cli;
#[cfg(feature = "model")]
pub mod cpu;
#[cfg(not(target_arch = "wasm32"))]
pub mod durable;
pub mod embedded;
pub mod engine;
#[cfg(feature = "model")]
pub mod flow;
pub mod manifest;
pub mod maps;
pub mod model;
pub mod synth;
#[cfg(all(test, feature = "model"))]
mod test_support;
pub mod video;
#[cfg(target_arch = "wasm32")]
pub mod web_start;

//! amflow: motion read out of the attention maps of a frozen image transformer ("AM flow",
//! Agrawal et al.), as a visualiser and toolkit.
//!
//! Data flows one way: clip → frames → backbone → AM flow → maps / classifier → UI.

//!
//! Cargo features, all on by default: `model` (the backbone, AM flow, the classifier and the
//! engine's service: burn) on the backends `cpu` (burn's flex) and `gpu` (burn's wgpu, cubecl),
//! and `app` (the eframe/egui app). The web page's UI module is built with `app` alone and its
//! two model workers with `gpu` alone and `cpu` alone; the library without the app is
//! `--no-default-features --features cpu,gpu`. Without `model` the data types the app and the
//! engine's messages share (configurations, flows, maps, clips) remain.

#[cfg(all(feature = "app", not(feature = "model"), not(target_arch = "wasm32")))]
compile_error!(
    "the desktop app runs the model itself: build the `app` feature with `cpu` and `gpu` (only \
     the web page's UI module is built without the model)"
);
#[cfg(all(
    feature = "model",
    not(target_arch = "wasm32"),
    not(all(feature = "cpu", feature = "gpu"))
))]
compile_error!(
    "natively the model is built with both backends: the features `cpu` and `gpu` (one backend \
     alone is for the web page's workers)"
);
#[cfg(all(feature = "model", not(any(feature = "cpu", feature = "gpu"))))]
compile_error!("the model needs a backend: the feature `cpu`, `gpu` or both");

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
pub mod wire_floats;

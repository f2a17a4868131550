//! The engine: the model work (backbone, AM flow, classifier) behind a message interface, apart
//! from the UI. The app sends [`Request`]s and reads [`Reply`]s; it never holds a model.
//!
//! | where | the engine runs | messages |
//! | --- | --- | --- |
//! | desktop | a thread of its own ([`Engine::native`]) | values over channels |
//! | web page | a dedicated Web Worker, its own WebAssembly module (`src/bin/amflow-worker.rs`) | MessagePack bytes over `postMessage`, buffers transferred |
//!
//! In the browser this keeps the page's thread free while a model runs (a ViT-S pair on the
//! CPU fallback takes seconds), and keeps burn, cubecl and the model out of the page's own
//! module: the page draws at once, and the worker's module loads beside it. There are two
//! worker modules, one per backend ([`Engine::worker`] picks): the WebGPU worker (built with
//! `gpu`, no flex in it) and the CPU worker (built with `cpu`, no cubecl), which runs a pair's
//! two backbone passes on two cores with a helper worker ([`helper`]). A worker fetches the
//! model files itself ([`fetch`], through the Cache API, checked against the page's manifest).

//!
//! The service, the loading and the worker's loop need the `model` feature; the client and the
//! messages do not (the page's UI module is built without the model).

#[cfg(any(target_arch = "wasm32", feature = "model"))]
mod client;
mod error;
#[cfg(all(target_arch = "wasm32", feature = "model"))]
pub mod fetch;
#[cfg(feature = "model")]
pub mod helper;
#[cfg(all(not(target_arch = "wasm32"), feature = "model"))]
pub mod hub;
#[cfg(feature = "model")]
mod load;
pub mod protocol;
pub mod relaxed_simd;
#[cfg(feature = "model")]
mod service;
#[cfg(all(target_arch = "wasm32", feature = "model"))]
pub mod worker;
mod worker_binary;

#[cfg(any(target_arch = "wasm32", feature = "model"))]
pub use client::{Engine, Replies};
pub use error::EngineError;
pub use protocol::{
    AnalysedPair, BackboneInfo, BackboneSource, CheckpointSource, ClassifierInfo, PairWork, Reply,
    Request, WireBlock, WireFrame,
};
#[cfg(feature = "model")]
pub use service::Service;

/// Runs a future to completion on this thread. Natively nothing the engine runs waits: files
/// are read and tensors read back synchronously, so the first poll finishes.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

//! The web page's WebGPU model worker (see `amflow::engine`): a module of its own, built with the
//! `gpu` feature alone and loaded by the page into a dedicated Web Worker, holding burn and the
//! model so the page's module need not. Without a WebGPU adapter it says so and the page starts
//! `amflow-worker-cpu` instead.
//! Natively there is nothing to run: the desktop app runs its engine on a thread.

#[cfg(all(target_arch = "wasm32", feature = "model"))]
fn main() {
    amflow::web_start::run_static_constructors();
    amflow::engine::worker::run();
}

#[cfg(all(target_arch = "wasm32", not(feature = "model")))]
fn main() {
    web_sys::console::error_1(
        &"this worker was built without the model (the `gpu` feature)".into(),
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    eprintln!("amflow-worker is the web page's model worker; natively, run `amflow`");
    std::process::ExitCode::FAILURE
}

//! The web page's CPU model worker (see `amflow::engine`): the same worker as `amflow-worker`,
//! built with the `cpu` feature alone, so that a browser without WebGPU loads no cubecl. The
//! page starts it when the browser has no WebGPU or the user asked for the CPU (`?backend=cpu`),
//! and it starts a helper of its own module for a pair's second frame. Natively there is nothing
//! to run: the desktop app runs its engine on a thread.

#[cfg(all(target_arch = "wasm32", feature = "model"))]
fn main() {
    amflow::web_start::run_static_constructors();
    amflow::engine::worker::run();
}

#[cfg(all(target_arch = "wasm32", not(feature = "model")))]
fn main() {
    web_sys::console::error_1(
        &"this worker was built without the model (the `cpu` feature)".into(),
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    eprintln!("amflow-worker-cpu is the web page's CPU model worker; natively, run `amflow`");
    std::process::ExitCode::FAILURE
}

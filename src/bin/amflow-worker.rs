//! The web page's model worker (see `amflow::engine`): a module of its own, loaded by the page
//! into a dedicated Web Worker, holding burn and the model so the page's module need not.
//! Natively there is nothing to run: the desktop app runs its engine on a thread.

#[cfg(target_arch = "wasm32")]
fn main() {
    amflow::web_start::run_static_constructors();
    amflow::engine::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    eprintln!("amflow-worker is the web page's model worker; natively, run `amflow`");
    std::process::ExitCode::FAILURE
}

//! The web page's CPU model worker for browsers with relaxed SIMD: `amflow-worker-cpu` built with
//! the `relaxed-simd` feature, so that gemm's matrix-product kernels fuse multiply and add
//! (`f32x4.relaxed_madd`). A module holding relaxed-SIMD instructions does not even validate in a
//! browser without them (Safari), so the page starts this one only where
//! `WebAssembly.validate` accepts relaxed SIMD and the plain CPU worker elsewhere. Natively there
//! is nothing to run.

#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
fn main() {
    amflow::web_start::run_static_constructors();
    amflow::engine::worker::run();
}

#[cfg(all(target_arch = "wasm32", not(feature = "relaxed-simd")))]
fn main() {
    web_sys::console::error_1(
        &"this worker was built without relaxed SIMD (the `relaxed-simd` feature)".into(),
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "amflow-worker-cpu-relaxed is the web page's CPU model worker; natively, run `amflow`"
    );
    std::process::ExitCode::FAILURE
}

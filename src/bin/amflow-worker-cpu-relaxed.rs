//! The web page's CPU model worker for browsers with relaxed SIMD: `amflow-worker-cpu` built with
//! the `relaxed-simd` feature, so that gemm's matrix-product kernels fuse multiply and add
//! (`f32x4.relaxed_madd`). A module holding relaxed-SIMD instructions does not even validate in a
//! browser without them (Safari), so the page starts this one only where
//! `WebAssembly.validate` accepts relaxed SIMD and the plain CPU worker elsewhere. Natively there
//! is nothing to run.

amflow::worker_main! {
    name: "amflow-worker-cpu-relaxed",
    role: "CPU model worker",
    feature: "relaxed-simd",
    needs: "relaxed SIMD (the `relaxed-simd` feature)",
}

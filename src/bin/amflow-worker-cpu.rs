//! The web page's CPU model worker (see `amflow::engine`): the same worker as `amflow-worker`,
//! built with the `cpu` feature alone, so that a browser without WebGPU loads no cubecl. The
//! page starts it when the browser has no WebGPU or the user asked for the CPU (`?backend=cpu`),
//! and it starts a helper of its own module for a pair's second frame. Natively there is nothing
//! to run: the desktop app runs its engine on a thread.

amflow::worker_main! {
    name: "amflow-worker-cpu",
    role: "CPU model worker",
    feature: "model",
    needs: "the model (the `cpu` feature)",
}

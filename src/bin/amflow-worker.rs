//! The web page's WebGPU model worker (see `amflow::engine`): a module of its own, built with the
//! `gpu` feature alone and loaded by the page into a dedicated Web Worker, holding burn and the
//! model so the page's module need not. Without a WebGPU adapter it says so and the page starts
//! `amflow-worker-cpu` instead.
//! Natively there is nothing to run: the desktop app runs its engine on a thread.

amflow::worker_main! {
    name: "amflow-worker",
    role: "model worker",
    feature: "model",
    needs: "the model (the `gpu` feature)",
}

//! Work off the UI thread: a thread natively, a task in the browser. The result arrives on a
//! channel and the UI is asked to repaint.

use std::future::Future;
use std::sync::mpsc::{Receiver, channel};

/// Runs `work` on a thread; its result arrives on the returned channel.
#[cfg(not(target_arch = "wasm32"))]
pub fn run<T: Send + 'static>(
    ctx: &egui::Context,
    work: impl Future<Output = T> + Send + 'static,
) -> Receiver<T> {
    let (tx, rx) = channel();
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        // The receiver only disappears when its panel is replaced; nothing is lost then.
        let _ = tx.send(crate::engine::block_on(work));
        ctx.request_repaint();
    });
    rx
}

/// Runs `work` as a browser task; its result arrives on the returned channel.
#[cfg(target_arch = "wasm32")]
pub fn run<T: 'static>(
    ctx: &egui::Context,
    work: impl Future<Output = T> + 'static,
) -> Receiver<T> {
    let (tx, rx) = channel();
    let ctx = ctx.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = tx.send(work.await);
        ctx.request_repaint();
    });
    rx
}

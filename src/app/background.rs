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
        let _ = tx.send(block_on(work));
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

/// Lets the page draw before model work goes on: on the browser's single thread a task that
/// awaits this between steps (blocks of a forward pass, tensors of a backbone) never holds the
/// page for longer than one step. Natively the work has a thread of its own, so it returns at
/// once.
pub(crate) async fn yield_now() {
    #[cfg(target_arch = "wasm32")]
    crate::video::web::sleep(0).await;
}

/// Runs a future to completion on this thread. Natively nothing the app runs this way waits:
/// files are read and tensors read back synchronously, so the first poll finishes.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
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

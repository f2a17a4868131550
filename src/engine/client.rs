//! The UI's side of the interface: [`Engine::request`] sends a request and hands back the
//! receiver its replies arrive on; the UI is asked to repaint with every reply.

#[cfg(not(target_arch = "wasm32"))]
use std::sync::mpsc::Sender;
use std::sync::mpsc::{Receiver, channel};

use super::EngineError;
use super::protocol::{Reply, Request};

/// The replies to one request: progress, then one final reply.
pub type Replies = Receiver<Reply>;

/// A handle on the engine. Requests are carried out one after another, in the order sent.
#[derive(Clone)]
pub struct Engine {
    #[cfg(not(target_arch = "wasm32"))]
    requests: Sender<(Request, Sender<Reply>)>,
    /// The worker, or why there is none.
    #[cfg(target_arch = "wasm32")]
    worker: Result<std::rc::Rc<web::Worker>, EngineError>,
}

impl Engine {
    /// Sends `request`; its replies arrive on the returned receiver.
    pub fn request(&self, request: Request) -> Replies {
        let (tx, rx) = channel();
        #[cfg(not(target_arch = "wasm32"))]
        if let Err(std::sync::mpsc::SendError((_, tx))) = self.requests.send((request, tx)) {
            let _ = tx.send(Reply::Failed(EngineError::Engine(
                "the engine's thread has stopped".into(),
            )));
        }
        #[cfg(target_arch = "wasm32")]
        match &self.worker {
            Ok(worker) => worker.send(request, tx),
            Err(message) => {
                let _ = tx.send(Reply::Failed(message.clone()));
            }
        }
        rx
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Engine {
    /// Starts the engine on a thread of its own, running the model on `device`.
    pub fn native(
        device: burn::tensor::Device,
        description: String,
        gpu: bool,
        repaint: impl Fn() + Send + 'static,
    ) -> Self {
        let (requests, incoming) = channel::<(Request, Sender<Reply>)>();
        std::thread::Builder::new()
            .name("amflow-engine".into())
            .spawn(move || {
                let mut service = super::Service::new(device, description, gpu);
                for (request, replies) in incoming {
                    super::block_on(service.handle(request, &mut |reply| {
                        // A receiver dropped by the UI only means nobody waits for this any more.
                        let _ = replies.send(reply);
                        repaint();
                    }));
                }
            })
            .map_or_else(
                |e| {
                    // Without a thread every request is answered with the reason.
                    let (requests, incoming) = channel::<(Request, Sender<Reply>)>();
                    let message =
                        EngineError::Engine(format!("the engine's thread could not start: {e}"));
                    std::thread::spawn(move || {
                        for (_, replies) in incoming {
                            let _ = replies.send(Reply::Failed(message.clone()));
                        }
                    });
                    Self { requests }
                },
                |_| Self { requests },
            )
    }
}

#[cfg(target_arch = "wasm32")]
impl Engine {
    /// Starts the engine in a dedicated Web Worker (`amflow-worker_loader.js`, beside the page).
    pub fn worker(repaint: impl Fn() + 'static) -> Result<Self, EngineError> {
        Ok(Self {
            worker: Ok(std::rc::Rc::new(web::Worker::start(repaint)?)),
        })
    }

    /// An engine that answers every request with `message` (the worker could not start).
    pub fn failed(message: EngineError) -> Self {
        Self {
            worker: Err(message),
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    //! The page's side of the worker: requests encoded and posted (their buffers transferred),
    //! replies decoded and handed to the request's receiver. Requests sent before the worker
    //! says it is listening wait here, since a worker drops messages that arrive before its
    //! module has set its handler.

    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    use std::sync::mpsc::Sender;

    use js_sys::{Array, Uint8Array};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;
    use web_sys::{ErrorEvent, MessageEvent};

    use super::super::EngineError;
    use super::super::protocol::{Envelope, Reply, Request, decode, encode};

    /// The worker's script, written by trunk beside the page (`data-type="worker"` in
    /// `web/index.html`).
    const SCRIPT: &str = "./amflow-worker_loader.js";

    #[derive(Default)]
    struct State {
        next: u64,
        waiting: HashMap<u64, Sender<Reply>>,
        /// Encoded requests held until the worker listens.
        queued: Vec<Uint8Array>,
        listening: bool,
        /// Why the worker is gone, once it is.
        failed: Option<EngineError>,
    }

    pub struct Worker {
        worker: web_sys::Worker,
        state: Rc<RefCell<State>>,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut(ErrorEvent)>,
    }

    fn post(worker: &web_sys::Worker, bytes: &Uint8Array) -> Result<(), EngineError> {
        worker
            .post_message_with_transfer(bytes, &Array::of1(&bytes.buffer()))
            .map_err(|e| EngineError::Engine(crate::video::web::js_message(e)))
    }

    impl Worker {
        pub fn start(repaint: impl Fn() + 'static) -> Result<Self, EngineError> {
            let worker = web_sys::Worker::new(SCRIPT).map_err(|e| {
                EngineError::Engine(format!(
                    "the model worker ({SCRIPT}) could not start: {}",
                    crate::video::web::js_message(e)
                ))
            })?;
            let state = Rc::new(RefCell::new(State::default()));
            let repaint = Rc::new(repaint);
            let (s, w, r) = (state.clone(), worker.clone(), repaint.clone());
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let mut state = s.borrow_mut();
                if data.as_string().as_deref() == Some("listening") {
                    state.listening = true;
                    for bytes in std::mem::take(&mut state.queued) {
                        if let Err(e) = post(&w, &bytes) {
                            web_sys::console::error_1(&format!("amflow: {e}").into());
                        }
                    }
                    return;
                }
                let bytes = Uint8Array::new(&data).to_vec();
                match decode::<Envelope<Reply>>(&bytes) {
                    Ok(Envelope { id, message }) => {
                        let last = message.is_final();
                        if let Some(tx) = state.waiting.get(&id) {
                            let _ = tx.send(message);
                        }
                        if last {
                            state.waiting.remove(&id);
                        }
                    }
                    Err(e) => web_sys::console::error_1(&format!("amflow: {e}").into()),
                }
                drop(state);
                r();
            });
            let (s, r) = (state.clone(), repaint);
            let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                let message =
                    EngineError::Engine(format!("the model worker failed: {}", event.message()));
                web_sys::console::error_1(&format!("amflow: {message}").into());
                let mut state = s.borrow_mut();
                for (_, tx) in state.waiting.drain() {
                    let _ = tx.send(Reply::Failed(message.clone()));
                }
                state.failed = Some(message);
                drop(state);
                r();
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Ok(Self {
                worker,
                state,
                _on_message: on_message,
                _on_error: on_error,
            })
        }

        pub fn send(&self, request: Request, tx: Sender<Reply>) {
            let mut state = self.state.borrow_mut();
            if let Some(message) = &state.failed {
                let _ = tx.send(Reply::Failed(message.clone()));
                return;
            }
            let id = state.next;
            state.next += 1;
            let bytes = match encode(&Envelope {
                id,
                message: request,
            }) {
                Ok(bytes) => Uint8Array::from(bytes.as_slice()),
                Err(e) => {
                    let _ = tx.send(Reply::Failed(e));
                    return;
                }
            };
            state.waiting.insert(id, tx);
            if !state.listening {
                state.queued.push(bytes);
            } else if let Err(e) = post(&self.worker, &bytes)
                && let Some(tx) = state.waiting.remove(&id)
            {
                let _ = tx.send(Reply::Failed(e));
            }
        }
    }

    impl Drop for Worker {
        fn drop(&mut self) {
            self.worker.terminate();
        }
    }
}

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
        self.request_with(request, move |reply| {
            // A receiver dropped by the UI only means nobody waits for this any more.
            let _ = tx.send(reply);
        });
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
    /// Starts the engine in dedicated Web Workers beside the page: the WebGPU worker
    /// (`amflow-worker_loader.js`, the `gpu` build) when the page finds a WebGPU adapter, else
    /// the CPU worker (`amflow-worker-cpu_loader.js`, the `cpu` build), so that a browser without
    /// WebGPU never fetches the WebGPU module. `?backend=cpu` goes to the CPU worker at once;
    /// `?backend=wgpu` to the WebGPU worker without the page's check. A WebGPU worker that finds
    /// no adapter of its own says so and is replaced by the CPU worker. Requests wait until a
    /// worker listens, so none is lost on the way.
    ///
    /// The CPU worker comes in two flavours of one code: `amflow-worker-cpu-relaxed_loader.js`
    /// (gemm's kernels with relaxed SIMD's fused multiply-add) where the browser validates
    /// relaxed SIMD and `relaxed_simd` allows it, else `amflow-worker-cpu_loader.js` (SIMD128).
    pub fn worker(
        backend: Option<crate::backend::BackendKind>,
        relaxed_simd: bool,
        repaint: impl Fn() + 'static,
    ) -> Result<Self, EngineError> {
        use crate::backend::BackendKind;
        let start = match backend {
            Some(BackendKind::Cpu) => web::Start::Cpu(" — the CPU was asked for"),
            Some(BackendKind::Wgpu) => web::Start::Gpu,
            None => web::Start::CheckAdapter,
        };
        let cpu_script = web::cpu_script(relaxed_simd && web::has_relaxed_simd());
        Ok(Self {
            worker: Ok(std::rc::Rc::new(web::Worker::start(
                start, cpu_script, None, repaint,
            )?)),
        })
    }

    /// An engine in a worker running `script` (a worker module's loader, resolved against the
    /// current script), named `name` (what the browser's tools show): a worker's own helper.
    pub fn worker_at(script: &str, name: &str) -> Result<Self, EngineError> {
        Ok(Self {
            worker: Ok(std::rc::Rc::new(web::Worker::start(
                web::Start::Script(script.to_string()),
                web::CPU_SCRIPT,
                Some(name),
                || {},
            )?)),
        })
    }

    /// An engine that answers every request with `message` (the worker could not start).
    pub fn failed(message: EngineError) -> Self {
        Self {
            worker: Err(message),
        }
    }

    /// Sends `request`; `sink` gets each of its replies as it arrives, on this thread.
    pub fn request_with(&self, request: Request, sink: impl FnMut(Reply) + 'static) {
        let mut sink: Box<dyn FnMut(Reply)> = Box::new(sink);
        match &self.worker {
            Ok(worker) => worker.send(request, sink),
            Err(message) => sink(Reply::Failed(message.clone())),
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    //! The page's side of the worker: requests encoded and posted (their buffers transferred),
    //! replies decoded and handed to the request's sink. Requests sent before the worker says it
    //! is listening wait here, since a worker drops messages that arrive before its module has
    //! set its handler. A WebGPU worker that finds no adapter says `no-gpu: <why>` instead; it
    //! is replaced by the CPU worker, which gets the waiting requests.

    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use js_sys::{Array, Float32Array, Uint8Array};
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{ErrorEvent, MessageEvent, WorkerOptions};

    use super::super::EngineError;
    use super::super::protocol::{Envelope, Reply, Request, decode, encode};

    /// The WebGPU worker's script, written by trunk beside the page (`data-type="worker"` in
    /// `web/index.html`, the `gpu` build).
    pub const GPU_SCRIPT: &str = "./amflow-worker_loader.js";
    /// The CPU worker's script (the `cpu` build).
    pub const CPU_SCRIPT: &str = "./amflow-worker-cpu_loader.js";
    /// The CPU worker's script with relaxed SIMD (the `cpu,relaxed-simd` build).
    pub const CPU_RELAXED_SCRIPT: &str = "./amflow-worker-cpu-relaxed_loader.js";

    /// Whether this browser's WebAssembly has relaxed SIMD (Chromium and Firefox do; Safari,
    /// as of 2026, does not): whether it validates
    /// [`RELAXED_SIMD_PROBE`](super::super::relaxed_simd::RELAXED_SIMD_PROBE).
    pub fn has_relaxed_simd() -> bool {
        let probe = Uint8Array::from(super::super::relaxed_simd::RELAXED_SIMD_PROBE);
        js_sys::WebAssembly::validate(&probe).unwrap_or(false)
    }

    /// The CPU worker's script: the relaxed-SIMD flavour when `relaxed` (the browser has it and
    /// the page did not turn it off), else the SIMD128 one.
    pub fn cpu_script(relaxed: bool) -> &'static str {
        if relaxed {
            CPU_RELAXED_SCRIPT
        } else {
            CPU_SCRIPT
        }
    }

    type Sink = Box<dyn FnMut(Reply)>;

    #[derive(Default)]
    struct State {
        next: u64,
        waiting: HashMap<u64, Sink>,
        /// Encoded requests held until the worker listens, by number.
        queued: Vec<(u64, Uint8Array)>,
        listening: bool,
        /// Why the worker is gone, once it is.
        failed: Option<EngineError>,
        /// Added to the device's description: why the model is not on WebGPU, when it is not.
        why_cpu: String,
        /// The CPU worker's script ([`cpu_script`]), for a WebGPU worker that finds no adapter.
        cpu_script: &'static str,
    }

    struct Handlers {
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut(ErrorEvent)>,
    }

    pub struct Worker {
        /// The running worker (replaced once when the WebGPU worker finds no adapter) and its
        /// handlers.
        current: Rc<RefCell<Option<(web_sys::Worker, Handlers)>>>,
        state: Rc<RefCell<State>>,
    }

    fn post(worker: &web_sys::Worker, bytes: &Uint8Array) -> Result<(), EngineError> {
        worker
            .post_message_with_transfer(bytes, &Array::of1(&bytes.buffer()))
            .map_err(|e| EngineError::Engine(crate::video::web::js_message(e)))
    }

    type Current = Rc<RefCell<Option<(web_sys::Worker, Handlers)>>>;

    /// A reply as the worker posts it: MessagePack bytes, or an array of the bytes and the
    /// reply's bulk floats (`Float32Array`s, each copied once into this module's memory).
    fn decode_reply(data: &JsValue) -> Result<Envelope<Reply>, EngineError> {
        if !Array::is_array(data) {
            return decode(&Uint8Array::new(data).to_vec());
        }
        let parts = Array::from(data);
        let mut envelope: Envelope<Reply> = decode(&Uint8Array::new(&parts.get(0)).to_vec())?;
        let bulk = (1..parts.length())
            .map(|i| Float32Array::new(&parts.get(i)).to_vec())
            .collect();
        envelope.message.put_bulk(bulk)?;
        Ok(envelope)
    }

    /// Starts `script` as the current worker, its messages going to `state`.
    fn launch(
        script: &str,
        name: Option<&str>,
        current: &Current,
        state: &Rc<RefCell<State>>,
        repaint: &Rc<dyn Fn()>,
    ) -> Result<(), EngineError> {
        let options = WorkerOptions::new();
        if let Some(name) = name {
            options.set_name(name);
        }
        let worker = web_sys::Worker::new_with_options(script, &options).map_err(|e| {
            EngineError::Engine(format!(
                "the model worker ({script}) could not start: {}",
                crate::video::web::js_message(e)
            ))
        })?;
        let (s, c, r) = (state.clone(), current.clone(), repaint.clone());
        let name = name.map(str::to_string);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(text) = data.as_string() {
                on_text(&text, name.as_deref(), &c, &s, &r);
                return;
            }
            match decode_reply(&data) {
                Ok(Envelope { id, message }) => {
                    let (sink, message) = {
                        let mut state = s.borrow_mut();
                        let message = match message {
                            Reply::Started { description, gpu } => Reply::Started {
                                description: description + &state.why_cpu,
                                gpu,
                            },
                            other => other,
                        };
                        (state.waiting.remove(&id), message)
                    };
                    // The sink runs with the state released: it may send the next request.
                    if let Some(mut sink) = sink {
                        let last = message.is_final();
                        sink(message);
                        if !last {
                            s.borrow_mut().waiting.insert(id, sink);
                        }
                    }
                }
                Err(e) => web_sys::console::error_1(&format!("amflow: {e}").into()),
            }
            r();
        });
        let (s, r) = (state.clone(), repaint.clone());
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            let message =
                EngineError::Engine(format!("the model worker failed: {}", event.message()));
            web_sys::console::error_1(&format!("amflow: {message}").into());
            fail(&s, message);
            r();
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let handlers = Handlers {
            _on_message: on_message,
            _on_error: on_error,
        };
        if let Some((old, _)) = current.borrow_mut().replace((worker, handlers)) {
            old.terminate();
        }
        Ok(())
    }

    /// The worker is gone: every request waiting and every later one is answered with `why`.
    fn fail(state: &Rc<RefCell<State>>, why: EngineError) {
        let waiting: Vec<Sink> = {
            let mut state = state.borrow_mut();
            state.failed = Some(why.clone());
            state.waiting.drain().map(|(_, f)| f).collect()
        };
        for mut f in waiting {
            f(Reply::Failed(why.clone()));
        }
    }

    /// A worker's text message: `listening` (post what waits), or `no-gpu: <why>` from the
    /// WebGPU worker (start the CPU worker instead).
    fn on_text(
        text: &str,
        name: Option<&str>,
        current: &Current,
        state: &Rc<RefCell<State>>,
        repaint: &Rc<dyn Fn()>,
    ) {
        if text == "listening" {
            let queued = {
                let mut state = state.borrow_mut();
                state.listening = true;
                std::mem::take(&mut state.queued)
            };
            let mut unsent = Vec::new();
            if let Some((worker, _)) = current.borrow().as_ref() {
                for (id, bytes) in queued {
                    if let Err(e) = post(worker, &bytes) {
                        unsent.push((id, e));
                    }
                }
            }
            for (id, e) in unsent {
                let sink = state.borrow_mut().waiting.remove(&id);
                if let Some(mut sink) = sink {
                    sink(Reply::Failed(e));
                }
            }
        } else if let Some(why) = text.strip_prefix("no-gpu: ") {
            web_sys::console::warn_1(&format!("amflow: {why}; the model runs on the CPU").into());
            state.borrow_mut().why_cpu = format!(" — no WebGPU adapter for the model ({why})");
            // Not from inside this worker's own handler: the old worker and its handlers are
            // dropped by the switch.
            let (c, s, r, name) = (
                current.clone(),
                state.clone(),
                repaint.clone(),
                name.map(str::to_string),
            );
            let cpu_script = state.borrow().cpu_script;
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = launch(cpu_script, name.as_deref(), &c, &s, &r) {
                    fail(&s, e);
                }
                r();
            });
        }
    }

    /// Which worker to start.
    pub enum Start {
        /// The WebGPU worker.
        Gpu,
        /// The CPU worker, with why (added to the device's description).
        Cpu(&'static str),
        /// The WebGPU worker if the page finds an adapter, else the CPU worker.
        CheckAdapter,
        /// A given script.
        Script(String),
    }

    /// Whether the page's `navigator.gpu` hands out an adapter; `Err(why)` when not.
    async fn webgpu_adapter() -> Result<(), String> {
        let gpu = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
            .and_then(|n| js_sys::Reflect::get(&n, &"gpu".into()))
            .ok()
            .filter(|g| !g.is_undefined() && !g.is_null())
            .ok_or("this browser has no WebGPU")?;
        let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or("this browser's WebGPU has no requestAdapter")?;
        let promise = request
            .call0(&gpu)
            .ok()
            .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
            .ok_or("requestAdapter failed")?;
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(adapter) if !adapter.is_null() && !adapter.is_undefined() => Ok(()),
            Ok(_) => Err("no WebGPU adapter".into()),
            Err(e) => Err(crate::video::web::js_message(e)),
        }
    }

    impl Worker {
        /// Starts the worker `start` names, `cpu_script` being the CPU worker's script.
        pub fn start(
            start: Start,
            cpu_script: &'static str,
            name: Option<&str>,
            repaint: impl Fn() + 'static,
        ) -> Result<Self, EngineError> {
            let state = Rc::new(RefCell::new(State {
                cpu_script,
                ..State::default()
            }));
            let current: Current = Rc::new(RefCell::new(None));
            let repaint: Rc<dyn Fn()> = Rc::new(repaint);
            match start {
                Start::Gpu => launch(GPU_SCRIPT, name, &current, &state, &repaint)?,
                Start::Script(script) => launch(&script, name, &current, &state, &repaint)?,
                Start::Cpu(why) => {
                    state.borrow_mut().why_cpu = why.to_string();
                    launch(cpu_script, name, &current, &state, &repaint)?;
                }
                Start::CheckAdapter => {
                    let (c, s, r) = (current.clone(), state.clone(), repaint.clone());
                    let name = name.map(str::to_string);
                    wasm_bindgen_futures::spawn_local(async move {
                        let script = match webgpu_adapter().await {
                            Ok(()) => GPU_SCRIPT,
                            Err(why) => {
                                s.borrow_mut().why_cpu = format!(" — {why}");
                                cpu_script
                            }
                        };
                        if let Err(e) = launch(script, name.as_deref(), &c, &s, &r) {
                            fail(&s, e);
                        }
                        r();
                    });
                }
            }
            Ok(Self { current, state })
        }

        pub fn send(&self, request: Request, mut sink: Sink) {
            let mut state = self.state.borrow_mut();
            if let Some(message) = state.failed.clone() {
                drop(state);
                sink(Reply::Failed(message));
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
                    drop(state);
                    sink(Reply::Failed(e));
                    return;
                }
            };
            state.waiting.insert(id, sink);
            if !state.listening {
                state.queued.push((id, bytes));
                return;
            }
            let posted = match self.current.borrow().as_ref() {
                Some((worker, _)) => post(worker, &bytes),
                None => Err(EngineError::Engine("the model worker is gone".into())),
            };
            if let Err(e) = posted
                && let Some(mut sink) = state.waiting.remove(&id)
            {
                drop(state);
                sink(Reply::Failed(e));
            }
        }
    }

    impl Drop for Worker {
        fn drop(&mut self) {
            if let Some((worker, _)) = self.current.borrow_mut().take() {
                worker.terminate();
            }
        }
    }
}

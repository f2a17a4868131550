//! The page's model worker: the engine's [`Service`] in a dedicated Web Worker. Requests arrive
//! as MessagePack bytes and are carried out one after another; replies go back the same way,
//! their buffers transferred rather than copied. Once its handler is set, the worker posts
//! `"listening"` (messages that arrive before that would be dropped, so the page holds them).

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::Service;
use super::protocol::{Envelope, Reply, Request, decode, encode};

fn report(message: &str) {
    web_sys::console::error_1(&format!("amflow worker: {message}").into());
}

fn post(scope: &DedicatedWorkerGlobalScope, id: u64, message: Reply) {
    match encode(&Envelope { id, message }) {
        Ok(bytes) => {
            let array = Uint8Array::from(bytes.as_slice());
            if let Err(e) = scope.post_message_with_transfer(&array, &Array::of1(&array.buffer())) {
                report(&crate::video::web::js_message(e));
            }
        }
        Err(e) => report(&e.to_string()),
    }
}

/// Runs the worker: call from the worker module's `main`.
pub fn run() {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        report("not running in a dedicated worker");
        return;
    };
    let (tx, rx) = async_channel::unbounded::<Vec<u8>>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        // The receiver lives as long as the worker.
        let _ = tx.try_send(bytes);
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    let replies = scope.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mut service = Service::default();
        while let Ok(bytes) = rx.recv().await {
            match decode::<Envelope<Request>>(&bytes) {
                Ok(Envelope { id, message }) => {
                    service
                        .handle(message, &mut |reply| post(&replies, id, reply))
                        .await;
                }
                Err(e) => report(&e.to_string()),
            }
        }
    });
    if let Err(e) = scope.post_message(&"listening".into()) {
        report(&crate::video::web::js_message(e));
    }
}

//! The page's model worker: the engine's [`Service`] in a dedicated Web Worker. It opens its
//! device first: the WebGPU worker (the `gpu` build) the browser's adapter, or, when there is
//! none, it posts `no-gpu: <why>` and stops (the page starts the CPU worker instead); the CPU
//! worker (the `cpu` build) burn's flex. Then it posts `listening` (messages that arrive before
//! its handler is set would be dropped, so the page holds them), and requests arriving as
//! MessagePack bytes are carried out one after another; replies go back the same way, their
//! buffers transferred rather than copied.

use burn::tensor::Device;
use js_sys::{Array, Float32Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::Service;
use super::protocol::{Envelope, Reply, Request, decode, encode};

fn report(message: &str) {
    web_sys::console::error_1(&format!("amflow worker: {message}").into());
}

/// Posts `message`: its MessagePack bytes, or, when it carries bulk floats
/// ([`Reply::take_bulk`]), an array of the bytes and one `Float32Array` per buffer; every
/// buffer is transferred, not copied again.
fn post(scope: &DedicatedWorkerGlobalScope, id: u64, mut message: Reply) {
    let bulk = message.take_bulk();
    match encode(&Envelope { id, message }) {
        Ok(bytes) => {
            let array = Uint8Array::from(bytes.as_slice());
            let transfer = Array::of1(&array.buffer());
            let posted = if bulk.is_empty() {
                scope.post_message_with_transfer(&array, &transfer)
            } else {
                let parts = Array::of1(&array);
                for floats in &bulk {
                    let floats = Float32Array::from(floats.as_slice());
                    transfer.push(&floats.buffer());
                    parts.push(&floats);
                }
                scope.post_message_with_transfer(&parts, &transfer)
            };
            if let Err(e) = posted {
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
    wasm_bindgen_futures::spawn_local(async move {
        let (device, description, gpu) = match open().await {
            Ok(opened) => opened,
            Err(why) => {
                if let Err(e) = scope.post_message(&format!("no-gpu: {why}").into()) {
                    report(&crate::video::web::js_message(e));
                }
                return;
            }
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
        if let Err(e) = scope.post_message(&"listening".into()) {
            report(&crate::video::web::js_message(e));
        }
        let mut service = Service::new(device, description, gpu);
        while let Ok(bytes) = rx.recv().await {
            match decode::<Envelope<Request>>(&bytes) {
                Ok(Envelope { id, message }) => {
                    service
                        .handle(message, &mut |reply| post(&scope, id, reply))
                        .await;
                }
                Err(e) => report(&e.to_string()),
            }
        }
    });
}

/// The device this module runs its model on, its description and whether it is a GPU; or why
/// there is no WebGPU adapter, in a module without the CPU backend.
async fn open() -> Result<(Device, String, bool), String> {
    #[cfg(feature = "gpu")]
    {
        match webgpu().await {
            Ok(opened) => Ok(opened),
            #[cfg(feature = "cpu")]
            Err(why) => Ok(cpu(&format!(" — no WebGPU adapter for the model ({why})"))),
            #[cfg(not(feature = "cpu"))]
            Err(why) => Err(why),
        }
    }
    #[cfg(not(feature = "gpu"))]
    {
        Ok(cpu(""))
    }
}

#[cfg(feature = "cpu")]
fn cpu(why: &str) -> (Device, String, bool) {
    // What the module's matrix products were built with (the page starts the relaxed-SIMD
    // flavour where the browser validates relaxed SIMD).
    let simd = if cfg!(feature = "relaxed-simd") {
        "SIMD128 + relaxed SIMD"
    } else {
        "SIMD128"
    };
    (
        Device::flex(),
        format!("CPU (burn flex, {simd}){why}"),
        false,
    )
}

/// The browser's WebGPU adapter, as burn's wgpu device.
#[cfg(feature = "gpu")]
async fn webgpu() -> Result<(Device, String, bool), String> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| e.to_string())?;
    let info = setup.adapter.get_info();
    let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
    let name = if info.name.is_empty() {
        "the browser's adapter".to_string()
    } else {
        info.name
    };
    Ok((
        device,
        format!(
            "GPU: {name} ({:?}{})",
            info.backend,
            if software { ", software" } else { "" }
        ),
        true,
    ))
}

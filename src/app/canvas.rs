//! The page's drawing context: WebGL2 without multisampling, for eframe's glow painter.
//!
//! The model runs in a worker, so the page's UI needs no GPU compute and draws with WebGL2
//! whether or not the browser has WebGPU. Where the browser rasterises on the CPU (no GPU for
//! the page, as in a headless browser or a machine with a blocklisted GPU) every frame the UI
//! draws takes CPU time from the model's workers. Measured on the page's CPU fallback in
//! headless Chromium on two cores, 1280×900 (BENCHMARKS.md): CPU time per frame drawn 355 ms
//! with eframe's wgpu painter on WebGL, 155 ms with its glow painter on WebGL2's default
//! context (4× multisampled), 87–116 ms with the context made here.

use wasm_bindgen::JsValue;

/// Creates `canvas`'s WebGL2 context with `antialias` and `depth` off, before eframe asks for
/// one: a canvas keeps the attributes of its first context, and eframe's glow painter asks
/// without any (WebGL's defaults: 4× multisampling and a depth buffer, neither of which egui
/// uses). Without WebGL2 nothing is created and eframe falls back to WebGL1 on its own.
pub fn prepare_webgl2(canvas: &web_sys::HtmlCanvasElement) -> Result<(), JsValue> {
    let attributes = js_sys::Object::new();
    js_sys::Reflect::set(&attributes, &"antialias".into(), &false.into())?;
    js_sys::Reflect::set(&attributes, &"depth".into(), &false.into())?;
    canvas.get_context_with_context_options("webgl2", &attributes)?;
    Ok(())
}

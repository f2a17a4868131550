//! The browser's file picker: a hidden `<input type="file">`, clicked from the app's button;
//! the chosen file's bytes arrive on a channel.

use std::sync::mpsc::{Receiver, channel};

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::AppError;

/// A picked file: its name and bytes, or why it could not be read.
pub type Picked = Result<(String, Vec<u8>), AppError>;

/// Opens the browser's file picker for videos and animations.
pub fn pick_file(ctx: egui::Context) -> Result<Receiver<Picked>, AppError> {
    let browser = |message: String| AppError::Browser(message);
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| browser("no document".into()))?;
    let input: HtmlInputElement = document
        .create_element("input")
        .map_err(|e| browser(crate::video::web::js_message(e)))?
        .dyn_into()
        .map_err(|_| browser("could not make an <input> element".into()))?;
    input.set_type("file");
    input.set_accept("video/*,image/gif,image/webp");
    let (tx, rx) = channel();
    let chosen = input.clone();
    let on_change = Closure::once_into_js(move || {
        let Some(file) = chosen.files().and_then(|f| f.get(0)) else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let picked = match JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => Ok((name, Uint8Array::new(&buffer).to_vec())),
                Err(e) => Err(AppError::Browser(format!(
                    "{name}: could not be read ({})",
                    crate::video::web::js_message(e)
                ))),
            };
            let _ = tx.send(picked);
            ctx.request_repaint();
        });
    });
    input.set_onchange(Some(on_change.unchecked_ref()));
    // In the document (hidden), as some browsers only open pickers for attached inputs; it is
    // left there, one small element per pick.
    let _ = input.style().set_property("display", "none");
    if let Some(body) = document.body() {
        let _ = body.append_child(&input);
    }
    input.click();
    Ok(rx)
}

//! Saving what the app exports: natively a file in the working folder (written atomically),
//! in the browser a download.

/// Saves `bytes` as `name`; says where they went, or why not.
pub fn save(name: &str, bytes: &[u8], mime: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = mime;
        let path = std::env::current_dir()
            .unwrap_or_else(|_| std::path::PathBuf::from("."))
            .join(name);
        match crate::durable::write_atomic(&path, bytes) {
            Ok(()) => format!("wrote {}", path.display()),
            Err(e) => e.to_string(),
        }
    }
    #[cfg(target_arch = "wasm32")]
    match download(name, bytes, mime) {
        Ok(()) => format!("downloaded {name}"),
        Err(e) => format!("could not download {name}: {e}"),
    }
}

/// Offers `bytes` as a download through a Blob URL and a clicked `<a download>`.
#[cfg(target_arch = "wasm32")]
fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), super::AppError> {
    use super::AppError::Browser;
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| Browser(crate::video::web::js_message(e));
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(js)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| Browser("no document".into()))?;
    let anchor = document
        .create_element("a")
        .map_err(js)?
        .dyn_into::<web_sys::HtmlAnchorElement>()
        .map_err(|_| Browser("not an anchor".into()))?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

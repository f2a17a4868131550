//! Downloads in the browser with progress, kept in the Cache API (`caches`, cache
//! "amflow-models"), so that a backbone or checkpoint fetched once opens offline afterwards.
//! Where the page has no Cache API (not a secure context), files are fetched every time.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStreamDefaultReader, Response};

use crate::video::web::js_message;

/// The cache's name.
const CACHE: &str = "amflow-models";

/// Bytes done and bytes expected (when the server says), shared with the UI.
pub type Progress = Rc<Cell<(u64, Option<u64>)>>;

async fn open_cache() -> Option<Cache> {
    let caches = web_sys::window()?.caches().ok()?;
    JsFuture::from(caches.open(CACHE))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// Fetches `url` (from the cache when it is there), reporting progress into `progress` and
/// asking `ctx` to repaint as bytes arrive.
pub async fn fetch_bytes(
    url: &str,
    progress: &Progress,
    ctx: &egui::Context,
) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let cache = open_cache().await;
    if let Some(cache) = &cache
        && let Ok(hit) = JsFuture::from(cache.match_with_str(url)).await
        && let Ok(response) = hit.dyn_into::<Response>()
    {
        return read(response, progress, ctx).await;
    }
    let response: Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {}", js_message(e)))?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let bytes = read(
        response
            .clone()
            .map_err(|e| format!("{url}: {}", js_message(e)))?,
        progress,
        ctx,
    )
    .await?;
    if let Some(cache) = &cache {
        // A failed cache write only costs a download next time.
        let _ = JsFuture::from(cache.put_with_str(url, &response)).await;
    }
    Ok(bytes)
}

/// Reads a response's body chunk by chunk.
async fn read(
    response: Response,
    progress: &Progress,
    ctx: &egui::Context,
) -> Result<Vec<u8>, String> {
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    progress.set((0, total));
    let body = response.body().ok_or("the response has no body")?;
    let reader: ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| "the body cannot be read")?;
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_message)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(js_message)?;
        let array: Uint8Array = value.dyn_into().map_err(|_| "a chunk that is not bytes")?;
        let start = bytes.len();
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        progress.set((bytes.len() as u64, total));
        ctx.request_repaint();
    }
    Ok(bytes)
}

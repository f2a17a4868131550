//! Downloads in the browser with progress, kept in the Cache API (`caches`, cache
//! "amflow-models"), so that a backbone or checkpoint fetched once opens offline afterwards.
//! Where the page has no Cache API (not a secure context), files are fetched every time.
//!
//! The page's own assets (the default backbone and the demo checkpoint, shipped beside the
//! module) are checked against the build's manifest ([`crate::manifest`]) before they are used
//! or cached: a cached copy that fails the check is deleted and fetched again, a download that
//! fails it is fetched once more and then refused. Their cache key carries the SHA-256, so a
//! copy from another release is never matched.

//!
//! It runs in the page's model worker as well as on the page: the fetches and caches are the
//! global scope's, whichever it is.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Cache, CacheStorage, ReadableStreamDefaultReader, RequestCache, RequestInit, Response,
    WorkerGlobalScope,
};

use crate::manifest::{self, CheckError, Entry, Manifest, ManifestError};
use crate::video::web::js_message;

/// The cache's name.
const CACHE: &str = "amflow-models";

/// The most memory reserved up front for a download whose size only its server vouches for
/// (`Content-Length`); past it the buffer grows with the bytes that actually arrive.
const MAX_RESERVE: u64 = 64 << 20;

/// Hears the bytes done of the current download and its size, when known.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// What can go wrong with a download.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed or the body could not be read.
    #[error("{url}: {message}")]
    Network {
        /// What was fetched.
        url: String,
        /// What the browser said.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status} {text}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status code.
        status: u16,
        /// Its reason phrase.
        text: String,
    },
    /// More bytes arrived than the file can have.
    #[error("{url}: more than the {expected} bytes the page's manifest lists")]
    TooLong {
        /// What was fetched.
        url: String,
        /// Bytes listed.
        expected: u64,
    },
    /// The page's manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A download that does not match the manifest, twice.
    #[error("the download was damaged twice in a row: {0}")]
    Damaged(CheckError),
}

/// The global scope's `fetch`: the page's or the worker's.
fn scope_fetch(url: &str, init: &RequestInit) -> Result<Promise, FetchError> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Ok(window.fetch_with_str_and_init(url, init))
    } else if let Some(worker) = global.dyn_ref::<WorkerGlobalScope>() {
        Ok(worker.fetch_with_str_and_init(url, init))
    } else {
        Err(network(url)("neither a page nor a worker".into()))
    }
}

/// The global scope's Cache API, where it has one (secure contexts).
fn scope_caches() -> Option<CacheStorage> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        window.caches().ok()
    } else {
        global.dyn_ref::<WorkerGlobalScope>()?.caches().ok()
    }
}

async fn open_cache() -> Option<Cache> {
    let caches = scope_caches()?;
    JsFuture::from(caches.open(CACHE))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

fn network(url: &str) -> impl Fn(wasm_bindgen::JsValue) -> FetchError + '_ {
    move |e| FetchError::Network {
        url: url.to_string(),
        message: js_message(e),
    }
}

/// A GET of `url`, through the browser's HTTP cache as `mode` says (`Default`; `NoCache`
/// revalidates with the server; `Reload` goes to the server and stores what it sends).
async fn get(url: &str, mode: RequestCache) -> Result<Response, FetchError> {
    let init = RequestInit::new();
    init.set_cache(mode);
    let response: Response = JsFuture::from(scope_fetch(url, &init)?)
        .await
        .map_err(network(url))?
        .dyn_into()
        .map_err(|_| network(url)("not a response".into()))?;
    if !response.ok() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: response.status(),
            text: response.status_text(),
        });
    }
    Ok(response)
}

/// Fetches `url` (from the cache when it is there), reporting progress to `progress`. Nothing checks what arrives: this is for URLs the
/// user gave (`?backbone=`, `?checkpoint=`), whose loaders validate the contents.
pub async fn fetch_bytes(url: &str, progress: Progress<'_>) -> Result<Vec<u8>, FetchError> {
    let cache = open_cache().await;
    if let Some(cache) = &cache
        && let Ok(hit) = JsFuture::from(cache.match_with_str(url)).await
        && let Ok(response) = hit.dyn_into::<Response>()
    {
        return read(url, response, None, progress).await;
    }
    let response = get(url, RequestCache::Default).await?;
    let bytes = read(url, response.clone().map_err(network(url))?, None, progress).await?;
    if let Some(cache) = &cache {
        // A failed cache write only costs a download next time.
        let _ = JsFuture::from(cache.put_with_str(url, &response)).await;
    }
    Ok(bytes)
}

/// The page's manifest, `amflow-assets.json` beside `index.html`, revalidated with the server
/// so that a new release's manifest is seen at once.
pub async fn manifest() -> Result<Manifest, FetchError> {
    let response = get(manifest::FILE, RequestCache::NoCache).await?;
    let text = JsFuture::from(response.text().map_err(network(manifest::FILE))?)
        .await
        .map_err(network(manifest::FILE))?
        .as_string()
        .unwrap_or_default();
    Ok(Manifest::parse(&text)?)
}

/// Fetches one of the page's own assets (`path` relative to the page, listed in `manifest`),
/// checked against its entry; through the Cache API, keyed by its SHA-256.
pub async fn fetch_asset(
    manifest: &Manifest,
    path: &str,
    progress: Progress<'_>,
) -> Result<Vec<u8>, FetchError> {
    let entry = manifest.entry(path)?;
    // The hash in the URL: the cache key of this release's copy, and past any HTTP cache.
    let url = format!("{path}?sha256={}", entry.sha256);
    let cache = open_cache().await;
    // After a copy failed its check, the next comes from the server itself: the browser's HTTP
    // cache may hold the same bad bytes.
    let mut mode = RequestCache::Default;
    if let Some(cache) = &cache
        && let Ok(hit) = JsFuture::from(cache.match_with_str(&url)).await
        && let Ok(response) = hit.dyn_into::<Response>()
    {
        mode = RequestCache::Reload;
        let bytes = read(&url, response, Some(entry), &mut *progress).await;
        match bytes.map(|b| entry.check(path, &b).map(|()| b)) {
            Ok(Ok(bytes)) => return Ok(bytes),
            Ok(Err(e)) => warn(&format!(
                "the cached copy failed its check ({e}); fetching it again"
            )),
            Err(e) => warn(&format!(
                "the cached copy could not be read ({e}); fetching it again"
            )),
        }
        let _ = JsFuture::from(cache.delete_with_str(&url)).await;
    }
    let mut tries = 0;
    let mut bytes = loop {
        tries += 1;
        let response = get(&url, mode).await?;
        mode = RequestCache::Reload;
        let bytes = match read(&url, response, Some(entry), &mut *progress).await {
            Err(FetchError::TooLong { .. }) if tries < 2 => continue,
            other => other?,
        };
        match entry.check(path, &bytes) {
            Ok(()) => break bytes,
            Err(e) if tries < 2 => warn(&format!(
                "the download failed its check ({e}); fetching it again"
            )),
            Err(e) => return Err(FetchError::Damaged(e)),
        }
    };
    if let Some(cache) = &cache
        && let Ok(copy) = Response::new_with_opt_u8_array(Some(&mut bytes))
    {
        // What is cached is what was checked. A failed cache write only costs a download.
        let _ = JsFuture::from(cache.put_with_str(&url, &copy)).await;
    }
    Ok(bytes)
}

fn warn(message: &str) {
    web_sys::console::warn_1(&format!("amflow: {message}").into());
}

/// Reads a response's body chunk by chunk. With `expected`, memory is reserved for the listed
/// size and more bytes than that are an error; without it, the server's `Content-Length` is
/// trusted only up to [`MAX_RESERVE`].
async fn read(
    url: &str,
    response: Response,
    expected: Option<&Entry>,
    progress: Progress<'_>,
) -> Result<Vec<u8>, FetchError> {
    let total = match expected {
        Some(entry) => Some(entry.bytes),
        None => response
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok()),
    };
    progress(0, total);
    let body = response
        .body()
        .ok_or_else(|| network(url)("the response has no body".into()))?;
    let reader: ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| network(url)("the body cannot be read".into()))?;
    let reserve = total.map_or(0, |t| {
        t.min(MAX_RESERVE.max(expected.map_or(0, |e| e.bytes)))
    });
    let mut bytes = Vec::with_capacity(reserve as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(network(url))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(network(url))?;
        let array: Uint8Array = value
            .dyn_into()
            .map_err(|_| network(url)("a chunk that is not bytes".into()))?;
        let start = bytes.len();
        if let Some(entry) = expected
            && start as u64 + array.length() as u64 > entry.bytes
        {
            let _ = JsFuture::from(reader.cancel()).await;
            return Err(FetchError::TooLong {
                url: url.to_string(),
                expected: entry.bytes,
            });
        }
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        progress(bytes.len() as u64, total);
    }
    Ok(bytes)
}

//! Clips in the browser: any format the browser plays (MP4/H.264, WebM/VP9, AV1, ...), decoded
//! by an off-screen `<video>` element. Frames are read by seeking the element to each sampled
//! time and drawing it into a canvas, never by playing the clip through.
//!
//! Browsers do not report a video's frame rate. Opening a clip measures it by seeking the
//! paused video and reading the media time of the frame each seek shows
//! (`requestVideoFrameCallback`): a search narrows two frames down to neighbours (see
//! [`super::frame_rate`]), and one frame's step gives the rate (snapped to the usual rates within
//! 3 %). Where the browser lacks that callback, the clip is read at [`WebVideo::DEFAULT_FPS`];
//! [`WebVideo::with_fps`] overrides either. Frame `i`
//! is the picture shown at time `(i + ½)/fps`, the middle of its interval, so rounding never
//! lands on the neighbour.

use std::cell::{Cell, RefCell};

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, Response,
    Url,
};

use super::frame_rate;
use super::image_io::check_size;
use super::{ClipError, ClipInfo, Frame};

/// How long loading or one seek may take before it is reported as a failure.
const TIMEOUT_MS: i32 = 20_000;

/// The short side frames are drawn at, at most (as natively).
const MAX_SHORT_SIDE: u32 = 480;

/// A video the browser decodes.
pub struct WebVideo {
    info: ClipInfo,
    video: HtmlVideoElement,
    reader: FrameReader,
    /// The object URL the `<video>` reads, revoked on drop.
    object_url: String,
    /// Set while a seek is under way: one `<video>` shows one time.
    busy: Cell<bool>,
}

impl std::fmt::Debug for WebVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebVideo")
            .field("info", &self.info)
            .finish()
    }
}

/// A 2D canvas kept in CPU memory (every frame drawn into it is read back) that copies a
/// `<video>`'s current picture out as a frame: what clips and the camera both read through.
pub(crate) struct FrameReader {
    canvas: HtmlCanvasElement,
    context: CanvasRenderingContext2d,
}

impl FrameReader {
    /// A canvas of its own.
    pub(crate) fn new() -> Result<Self, ClipError> {
        let canvas: HtmlCanvasElement = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| ClipError::Browser("no document".into()))?
            .create_element("canvas")
            .map_err(|e| browser("a <canvas> element", e))?
            .dyn_into()
            .map_err(|_| ClipError::Browser("could not make a <canvas> element".into()))?;
        let options = js_sys::Object::new();
        let _ = Reflect::set(&options, &"willReadFrequently".into(), &true.into());
        let context: CanvasRenderingContext2d = canvas
            .get_context_with_context_options("2d", &options)
            .map_err(|e| browser("a 2d canvas context", e))?
            .ok_or_else(|| ClipError::Browser("no 2d canvas context".into()))?
            .dyn_into()
            .map_err(|_| ClipError::Browser("no 2d canvas context".into()))?;
        Ok(Self { canvas, context })
    }

    /// `video`'s current picture scaled to `w`×`h`; `name` names it in errors.
    pub(crate) fn read(
        &self,
        video: &HtmlVideoElement,
        (w, h): (u32, u32),
        name: &str,
    ) -> Result<Frame, ClipError> {
        // Resizing clears the canvas: only when the size changes.
        if (self.canvas.width(), self.canvas.height()) != (w, h) {
            self.canvas.set_width(w);
            self.canvas.set_height(h);
        }
        self.context
            .draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, w.into(), h.into())
            .map_err(|e| browser(name, e))?;
        let data = self
            .context
            .get_image_data(0.0, 0.0, w.into(), h.into())
            .map_err(|e| browser(name, e))?
            .data();
        let rgb: Vec<u8> = data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Frame::from_raw(w, h, rgb)
            .ok_or_else(|| ClipError::Browser(format!("{name}: the canvas gave a short image")))
    }
}

fn browser(what: &str, e: JsValue) -> ClipError {
    ClipError::Browser(format!("{what}: {}", js_message(e)))
}

/// What a JavaScript error (or any thrown value) says.
pub(crate) fn js_message(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

impl WebVideo {
    /// The frame rate assumed for browser-decoded video: 30 fps, the most common rate.
    pub const DEFAULT_FPS: f64 = 30.0;

    /// Opens a clip from bytes the user picked or dropped. `mime` may be empty.
    pub async fn from_bytes(name: &str, bytes: &[u8], mime: &str) -> Result<Self, ClipError> {
        if bytes.is_empty() {
            return Err(ClipError::NoFrames(format!("{name} (the file is empty)")));
        }
        let parts = Array::of1(&Uint8Array::from(bytes));
        let options = BlobPropertyBag::new();
        if !mime.is_empty() {
            options.set_type(mime);
        }
        let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(|e| browser(name, e))?;
        Self::from_blob(name, &blob).await
    }

    /// Opens a clip from a URL (same origin, or served with CORS headers). The whole file is
    /// downloaded first and read from memory: a `<video>` streaming from a server that does not
    /// answer range requests (Python's `http.server`, for one) cannot seek, and would show the
    /// first frame for every time asked.
    pub async fn from_url(url: &str) -> Result<Self, ClipError> {
        let window = web_sys::window().ok_or_else(|| ClipError::Browser("no window".into()))?;
        let response: Response = JsFuture::from(window.fetch_with_str(url))
            .await
            .map_err(|e| {
                ClipError::Browser(format!(
                    "{url}: {} (a clip on another site must be served with CORS headers)",
                    js_message(e)
                ))
            })?
            .dyn_into()
            .map_err(|_| ClipError::Browser(format!("{url}: not an HTTP response")))?;
        if !response.ok() {
            return Err(ClipError::Browser(format!(
                "{url}: HTTP {} {}",
                response.status(),
                response.status_text()
            )));
        }
        let blob: Blob = JsFuture::from(response.blob().map_err(|e| browser(url, e))?)
            .await
            .map_err(|e| browser(url, e))?
            .dyn_into()
            .map_err(|_| ClipError::Browser(format!("{url}: the body is not a file")))?;
        if blob.size() == 0.0 {
            return Err(ClipError::NoFrames(format!("{url} (the file is empty)")));
        }
        Self::from_blob(url, &blob).await
    }

    /// Opens a clip held in memory by the browser, through an object URL revoked on drop.
    async fn from_blob(name: &str, blob: &Blob) -> Result<Self, ClipError> {
        let url = Url::create_object_url_with_blob(blob).map_err(|e| browser(name, e))?;
        let video = Self::load(name, url.clone()).await;
        if video.is_err() {
            let _ = Url::revoke_object_url(&url);
        }
        video
    }

    /// Opens the clip at `object_url`, which the returned video owns.
    async fn load(name: &str, object_url: String) -> Result<Self, ClipError> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| ClipError::Browser("no document".into()))?;
        let video: HtmlVideoElement = document
            .create_element("video")
            .map_err(|e| browser(name, e))?
            .dyn_into()
            .map_err(|_| ClipError::Browser("could not make a <video> element".into()))?;
        video.set_muted(true);
        video.set_preload("auto");
        let loaded = wait_for(&video, Event::Loaded);
        video.set_src(&object_url);
        loaded.await.map_err(|e| load_error(name, &video, e))?;

        let (source_w, source_h) = (video.video_width(), video.video_height());
        check_size(name, source_w, source_h)?;
        let duration = video.duration();
        if !duration.is_finite() || duration <= 0.0 {
            return Err(ClipError::NoFrames(format!("{name} (no duration)")));
        }
        let (width, height) = scaled(source_w, source_h);
        let reader = FrameReader::new()?;
        let fps = measure_fps(name, &video).await.unwrap_or(Self::DEFAULT_FPS);
        let frames = ((duration * fps).floor() as usize).max(1);
        let info = ClipInfo::constant_rate(name.to_string(), frames, fps, width, height);
        Ok(Self {
            info,
            video,
            reader,
            object_url,
            busy: Cell::new(false),
        })
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// The frames at `indices`, in that order, each read by one seek.
    pub async fn frames(&self, indices: &[usize]) -> Result<Vec<Frame>, ClipError> {
        self.info.check_indices(indices)?;
        let mut out = Vec::with_capacity(indices.len());
        for &i in indices {
            out.push(self.frame(i).await?);
        }
        Ok(out)
    }

    /// One frame. The element seeks one frame at a time: a read that finds another under way
    /// waits for it (the maps' pair and the predictions' frames may be asked for together).
    async fn frame(&self, index: usize) -> Result<Frame, ClipError> {
        while self.busy.replace(true) {
            sleep(10).await;
        }
        let result = self.seek_and_draw(index).await;
        self.busy.set(false);
        result
    }

    async fn seek_and_draw(&self, index: usize) -> Result<Frame, ClipError> {
        let name = format!("{}, frame {index}", self.info.name);
        let time = (index as f64 + 0.5) / self.info.fps;
        let seeked = wait_for(&self.video, Event::Seeked);
        self.video.set_current_time(time.min(self.video.duration()));
        seeked
            .await
            .map_err(|e| load_error(&name, &self.video, e))?;
        self.reader
            .read(&self.video, (self.info.width, self.info.height), &name)
    }
}

impl Drop for WebVideo {
    fn drop(&mut self) {
        self.video.remove_attribute("src").ok();
        let _ = Url::revoke_object_url(&self.object_url);
    }
}

/// Resolves after `ms` milliseconds (0: on the page's next turn).
pub(crate) async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve: Function, _reject: Function| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Measures the frame rate by seeking ([`frame_rate::measure`]): `requestVideoFrameCallback`
/// (called through `Reflect` since web-sys marks it unstable) reports the media time of the
/// frame each seek shows. Playing the clip instead would drop frames while the page is busy
/// (loading a model); seeking never does. `None` when the browser cannot tell.
async fn measure_fps(name: &str, video: &HtmlVideoElement) -> Option<f64> {
    let request: Function = Reflect::get(video, &"requestVideoFrameCallback".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let looks = RefCell::new(Vec::new());
    let mut look = async |t: f64| {
        let shown = shown_at(video, &request, t).await;
        looks.borrow_mut().push(match shown {
            Some(s) => format!("{t:.4}→{s:.4}"),
            None => format!("{t:.4}→?"),
        });
        shown
    };
    let fps = frame_rate::measure(video.duration(), &mut look).await?;
    web_sys::console::info_1(
        &format!(
            "amflow: {name}: {fps:.3} fps (seeking to → frame shown: {})",
            looks.borrow().join(", ")
        )
        .into(),
    );
    Some(fps)
}

/// How long one look at a chosen time may take before the frame-rate search gives up on it.
const PROBE_TIMEOUT_MS: i32 = 5_000;

/// Seeks the paused video to media time `t` and resolves to the media time of the frame it
/// presents (Chromium reports one after every seek, the same frame again included); `None` when
/// none is reported within [`PROBE_TIMEOUT_MS`].
async fn shown_at(video: &HtmlVideoElement, request: &Function, t: f64) -> Option<f64> {
    let presented = Promise::new(&mut |resolve: Function, _reject: Function| {
        let callback = Closure::once_into_js(move |_now: f64, metadata: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &metadata);
        });
        let _ = request.call1(video, &callback);
    });
    let timeout = Promise::new(&mut |resolve: Function, _reject: Function| {
        if let Some(window) = web_sys::window() {
            let _ = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, PROBE_TIMEOUT_MS);
        }
    });
    video.set_current_time(t);
    let first = JsFuture::from(Promise::race(&Array::of2(&presented, &timeout)))
        .await
        .ok()?;
    Reflect::get(&first, &"mediaTime".into()).ok()?.as_f64()
}

/// The frame size drawn for a `w × h` video: short side at most [`MAX_SHORT_SIDE`].
fn scaled(w: u32, h: u32) -> (u32, u32) {
    let short = w.min(h);
    if short <= MAX_SHORT_SIDE {
        return (w, h);
    }
    let s = |side: u32| {
        ((f64::from(side) * f64::from(MAX_SHORT_SIDE) / f64::from(short)).round() as u32).max(1)
    };
    (s(w), s(h))
}

#[derive(Clone, Copy)]
enum Event {
    Loaded,
    Seeked,
}

/// A future that resolves on the event, and fails on the element's `error` event or after
/// [`TIMEOUT_MS`]. Listeners are set before the action that fires the event.
fn wait_for(video: &HtmlVideoElement, event: Event) -> JsFuture {
    let video = video.clone();
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        match event {
            Event::Loaded => video.set_onloadeddata(Some(&resolve)),
            Event::Seeked => video.set_onseeked(Some(&resolve)),
        }
        video.set_onerror(Some(&reject));
        if let Some(window) = web_sys::window() {
            let timeout = JsValue::from_str("timed out");
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_1(
                &reject, TIMEOUT_MS, &timeout,
            );
        }
    });
    JsFuture::from(promise)
}

fn load_error(name: &str, video: &HtmlVideoElement, e: JsValue) -> ClipError {
    if let Some(error) = video.error() {
        let reason = match error.code() {
            1 => "loading was aborted",
            2 => "a network error stopped loading",
            3 => {
                "the browser's decoder rejected it (a damaged or truncated file, or an encoding \
                 this browser does not decode; converting it may help: ffmpeg -i CLIP -c:v \
                 libvpx-vp9 clip.webm)"
            }
            4 => {
                "the browser does not play this format (converting it may help: ffmpeg -i CLIP \
                 -c:v libvpx-vp9 clip.webm)"
            }
            _ => "the browser refused it",
        };
        return ClipError::Browser(format!("{name}: {reason}"));
    }
    browser(name, e)
}

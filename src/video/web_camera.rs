//! A camera in the browser: `getUserMedia` into a muted `<video>` element, its current picture
//! drawn into a canvas and read back whenever the stream has shown a new one.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    HtmlVideoElement, MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream,
    MediaStreamConstraints, MediaStreamTrack,
};

use super::web::{FrameReader, js_message};
use super::{ClipError, Frame};

/// The longest side frames are read at (a camera's 1280×720 becomes 320×180: more than the
/// model's input, and a small read-back per frame).
const MAX_SIDE: u32 = 320;

/// A video input the browser lists: its id and label (empty until permission is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraDevice {
    /// `MediaDeviceInfo.deviceId`.
    pub id: String,
    /// `MediaDeviceInfo.label`.
    pub label: String,
}

fn devices_api() -> Result<MediaDevices, ClipError> {
    web_sys::window()
        .ok_or_else(|| ClipError::Browser("no window".into()))?
        .navigator()
        .media_devices()
        .map_err(|_| ClipError::Camera {
            source_name: "camera".into(),
            message: "this page has no access to cameras (it needs https or localhost)".into(),
        })
}

/// The cameras the browser offers.
pub async fn cameras() -> Result<Vec<CameraDevice>, ClipError> {
    let api = devices_api()?;
    let list = JsFuture::from(
        api.enumerate_devices()
            .map_err(|e| ClipError::Browser(js_message(e)))?,
    )
    .await
    .map_err(|e| ClipError::Browser(js_message(e)))?;
    Ok(js_sys::Array::from(&list)
        .iter()
        .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
        .filter(|d| d.kind() == MediaDeviceKind::Videoinput)
        .map(|d| CameraDevice {
            id: d.device_id(),
            label: d.label(),
        })
        .collect())
}

/// What the browser's refusal means for the user.
fn refusal(e: JsValue) -> ClipError {
    let name = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.name()))
        .unwrap_or_default();
    let message = match name.as_str() {
        "NotAllowedError" | "SecurityError" => {
            "permission to use the camera was refused".to_string()
        }
        "NotFoundError" | "OverconstrainedError" => "no camera was found".to_string(),
        "NotReadableError" => "the camera is in use by another program".to_string(),
        _ => js_message(e),
    };
    ClipError::Camera {
        source_name: "camera".into(),
        message,
    }
}

/// A running camera.
pub struct WebCamera {
    name: String,
    stream: MediaStream,
    video: HtmlVideoElement,
    reader: FrameReader,
    /// The `<video>`'s time at the last frame read.
    last_time: f64,
}

impl WebCamera {
    /// Starts the camera `device` (its id; the browser's choice when `None`) and waits until it
    /// plays.
    pub async fn open(device: Option<&str>) -> Result<Self, ClipError> {
        let api = devices_api()?;
        let constraints = MediaStreamConstraints::new();
        let video_constraints = match device {
            Some(id) => {
                let c = js_sys::Object::new();
                let exact = js_sys::Object::new();
                js_sys::Reflect::set(&exact, &"exact".into(), &id.into())
                    .map_err(|e| ClipError::Browser(js_message(e)))?;
                js_sys::Reflect::set(&c, &"deviceId".into(), &exact)
                    .map_err(|e| ClipError::Browser(js_message(e)))?;
                JsValue::from(c)
            }
            None => JsValue::TRUE,
        };
        constraints.set_video(&video_constraints);
        let promise = api
            .get_user_media_with_constraints(&constraints)
            .map_err(refusal)?;
        let stream: MediaStream = JsFuture::from(promise)
            .await
            .map_err(refusal)?
            .dyn_into()
            .map_err(|_| ClipError::Browser("getUserMedia gave no stream".into()))?;
        let name = stream
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .map(|t| t.label())
            .ok()
            .filter(|l| !l.is_empty())
            .map_or_else(|| "camera".to_string(), |l| format!("camera {l}"));
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| ClipError::Browser("no document".into()))?;
        let video: HtmlVideoElement = document
            .create_element("video")
            .map_err(|e| ClipError::Browser(js_message(e)))?
            .dyn_into()
            .map_err(|_| ClipError::Browser("not a <video>".into()))?;
        video.set_muted(true);
        video.set_autoplay(true);
        let _ = video.set_attribute("playsinline", "");
        video.set_src_object(Some(&stream));
        if let Ok(play) = video.play() {
            JsFuture::from(play).await.map_err(refusal)?;
        }
        Ok(Self {
            name,
            stream,
            video,
            reader: FrameReader::new()?,
            last_time: -1.0,
        })
    }

    /// How it is named to the user.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The camera's newest picture if it has shown a new one since the last call; an error
    /// once its stream has ended (unplugged, or permission taken back).
    pub fn try_next_frame(&mut self) -> Result<Option<Frame>, ClipError> {
        let ended = self
            .stream
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .map_or(true, |t| {
                t.ready_state() == web_sys::MediaStreamTrackState::Ended
            });
        if ended {
            return Err(ClipError::Camera {
                source_name: self.name.clone(),
                message: "the camera stopped".into(),
            });
        }
        let (w, h) = (self.video.video_width(), self.video.video_height());
        let time = self.video.current_time();
        if w == 0 || h == 0 || time == self.last_time {
            return Ok(None);
        }
        self.last_time = time;
        let scale = (MAX_SIDE as f64 / w.max(h) as f64).min(1.0);
        let (fw, fh) = (
            ((w as f64 * scale).round() as u32).max(1),
            ((h as f64 * scale).round() as u32).max(1),
        );
        self.reader
            .read(&self.video, (fw, fh), &self.name)
            .map(Some)
    }
}

impl Drop for WebCamera {
    fn drop(&mut self) {
        for track in self.stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                track.stop();
            }
        }
        self.video.set_src_object(None);
    }
}

//! A camera as a frame source, through the system's `ffmpeg` (the same program that reads video
//! files): `v4l2` on Linux, `avfoundation` on macOS, `dshow` on Windows, or one of ffmpeg's own
//! test sources (`lavfi:testsrc2=size=320x240:rate=25`) standing in for a camera.
//!
//! ffmpeg writes raw RGB frames to a pipe; a reader thread keeps only the newest, so a consumer
//! slower than the camera always gets the latest frame and never a queue of stale ones.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};

use super::ffmpeg::Ffmpeg;
use super::{ClipError, Frame};

/// How long [`Camera::open`] waits for the first frame before giving up.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// Which camera: a device of the system's capture API, or an ffmpeg test source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A capture device, named as the platform's ffmpeg input format names it
    /// (`/dev/video0`, `0`, `video=Integrated Camera`).
    Device(String),
    /// `lavfi:EXPR`: an ffmpeg filter graph as the input (`testsrc2`, `mandelbrot`, …).
    Lavfi(String),
}

impl CameraSource {
    /// `None`: the platform's first camera; `lavfi:EXPR`: a test source; else a device name.
    pub fn parse(spec: Option<&str>) -> Self {
        match spec {
            Some(s) if s.starts_with("lavfi:") => Self::Lavfi(s["lavfi:".len()..].to_string()),
            Some(s) => Self::Device(s.to_string()),
            None => Self::Device(default_device().to_string()),
        }
    }

    /// How it is named in messages.
    pub fn name(&self) -> String {
        match self {
            Self::Device(d) => format!("camera {d}"),
            Self::Lavfi(e) => format!("ffmpeg test source {e}"),
        }
    }

    /// A [`ClipError::Camera`] about it.
    fn error(&self, message: String) -> ClipError {
        ClipError::Camera {
            source_name: self.name(),
            message,
        }
    }

    /// ffmpeg's input format for it.
    fn format(&self) -> &'static str {
        match self {
            Self::Lavfi(_) => "lavfi",
            Self::Device(_) => platform_format(),
        }
    }

    fn input(&self) -> &str {
        match self {
            Self::Device(d) => d,
            Self::Lavfi(e) => e,
        }
    }
}

/// The platform's capture API as ffmpeg names it.
fn platform_format() -> &'static str {
    if cfg!(target_os = "macos") {
        "avfoundation"
    } else if cfg!(target_os = "windows") {
        "dshow"
    } else {
        "v4l2"
    }
}

/// The first camera of the platform.
fn default_device() -> &'static str {
    if cfg!(target_os = "macos") {
        "0"
    } else if cfg!(target_os = "windows") {
        // dshow has no default device; ffmpeg's message lists the names to pass.
        "video=default"
    } else {
        "/dev/video0"
    }
}

/// What the reader thread shares with the consumer.
#[derive(Default)]
struct Shared {
    /// The newest frame not yet taken, and how many frames arrived in all.
    latest: Option<Frame>,
    arrived: u64,
    /// Why the stream ended, once it has.
    ended: Option<String>,
}

impl Shared {
    /// The newest frame not yet taken; `Err` with the reason once the stream has ended.
    fn take(&mut self) -> Result<Option<Frame>, String> {
        match (self.latest.take(), &self.ended) {
            (Some(frame), _) => Ok(Some(frame)),
            (None, Some(why)) => Err(explain(why)),
            (None, None) => Ok(None),
        }
    }
}

/// A running camera.
pub struct Camera {
    source: CameraSource,
    child: FfmpegChild,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Camera {
    /// Starts `source` and waits for its first frame. No camera, a refused permission or a
    /// device ffmpeg cannot open each end here with ffmpeg's reason.
    pub fn open(source: CameraSource, ffmpeg: &Ffmpeg) -> Result<Self, ClipError> {
        let mut command = FfmpegCommand::new_with_path(&ffmpeg.ffmpeg);
        command.hide_banner().arg("-nostdin");
        if let CameraSource::Lavfi(_) = source {
            // A test source runs as fast as it can be computed; a camera runs at its rate.
            command.arg("-re");
        }
        command.format(source.format()).input(source.input());
        command.args(["-an", "-sn", "-dn"]).rawvideo();
        let mut child = command.spawn().map_err(|e| ClipError::FfmpegMissing {
            path: PathBuf::from(source.name()),
            program: ffmpeg.ffmpeg.clone(),
            reason: e.to_string(),
        })?;
        let events = child.iter().map_err(|e| source.error(e.to_string()))?;
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let thread_shared = shared.clone();
        let reader = std::thread::Builder::new()
            .name("amflow-camera".into())
            .spawn(move || {
                let (lock, ready) = &*thread_shared;
                let mut errors = Vec::new();
                for event in events {
                    match event {
                        FfmpegEvent::OutputFrame(f) => {
                            if let Some(frame) = Frame::from_raw(f.width, f.height, f.data) {
                                let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
                                s.latest = Some(frame);
                                s.arrived += 1;
                                ready.notify_all();
                            }
                        }
                        FfmpegEvent::Error(e)
                        | FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, e) => errors.push(e),
                        _ => {}
                    }
                }
                let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
                s.ended = Some(if errors.is_empty() {
                    "the stream ended".to_string()
                } else {
                    errors.join("; ")
                });
                ready.notify_all();
            })
            .map_err(|e| source.error(format!("the reader thread could not start: {e}")))?;
        let camera = Self {
            source,
            child,
            shared,
            reader: Some(reader),
        };
        camera.wait_first()?;
        Ok(camera)
    }

    /// Waits until a frame has arrived or the stream has ended.
    fn wait_first(&self) -> Result<(), ClipError> {
        let (lock, ready) = &*self.shared;
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = ready
            .wait_timeout_while(guard, FIRST_FRAME_TIMEOUT, |s| {
                s.arrived == 0 && s.ended.is_none()
            })
            .unwrap_or_else(|p| p.into_inner());
        if guard.arrived > 0 {
            return Ok(());
        }
        let message = guard
            .ended
            .clone()
            .unwrap_or_else(|| format!("no frame within {} s", FIRST_FRAME_TIMEOUT.as_secs()));
        Err(self.source.error(explain(&message)))
    }

    /// The newest frame since the last call, waiting for one if none is new; an error once
    /// the stream has ended.
    pub fn next_frame(&self) -> Result<Frame, ClipError> {
        let (lock, ready) = &*self.shared;
        let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match s.take() {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => s = ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                Err(why) => return Err(self.source.error(why)),
            }
        }
    }

    /// The newest frame since the last call, if one arrived; an error once the stream has
    /// ended. Never waits.
    pub fn try_next_frame(&self) -> Result<Option<Frame>, ClipError> {
        let (lock, _) = &*self.shared;
        let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
        s.take().map_err(|why| self.source.error(why))
    }

    /// Frames the camera has delivered so far (taken or not).
    pub fn arrived(&self) -> u64 {
        let (lock, _) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).arrived
    }

    /// What it is.
    pub fn source(&self) -> &CameraSource {
        &self.source
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// ffmpeg's reason with what it means for a camera.
fn explain(message: &str) -> String {
    let lower = message.to_lowercase();
    if lower.contains("no such file") || lower.contains("could not find") {
        format!("no such camera ({message})")
    } else if lower.contains("permission denied") || lower.contains("not authorized") {
        format!("permission to use the camera was refused ({message})")
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_parsed_and_failures_explained() {
        assert_eq!(
            CameraSource::parse(Some("lavfi:testsrc2")),
            CameraSource::Lavfi("testsrc2".into())
        );
        assert_eq!(
            CameraSource::parse(Some("/dev/video2")),
            CameraSource::Device("/dev/video2".into())
        );
        // ffmpeg's own words for the two failures users meet first.
        assert!(
            explain("Cannot open video device /dev/video0: Permission denied")
                .starts_with("permission to use the camera was refused")
        );
        assert!(explain("/dev/video9: No such file or directory").starts_with("no such camera"));
    }
}

//! The app's camera (desktop: the system ffmpeg, `video::camera`; browser: `getUserMedia`,
//! `video::web_camera`): the newest frame and
//! the one `k` frames before it, shown as the pair whose maps the engine computes whenever it is
//! free, so the maps follow the camera as fast as the model allows. Pause freezes the pair for
//! exploring; record keeps the last [`RECORD_SECONDS`] as a clip the rest of the app treats like
//! any other.

use std::collections::VecDeque;
use std::sync::mpsc::Receiver;

#[cfg(not(target_arch = "wasm32"))]
use crate::video::camera::{Camera, CameraSource};
#[cfg(target_arch = "wasm32")]
use crate::video::web_camera::WebCamera as Camera;
use crate::video::{ClipError, Frame};

/// The longest recording kept, in seconds of camera frames.
pub const RECORD_SECONDS: f64 = 10.0;

/// Frames kept for the pair: the offset `k` goes up to 8.
const KEPT: usize = 9;

/// Frame arrivals over the last few seconds, for a rate.
#[derive(Debug, Default)]
pub struct Rate {
    times: VecDeque<f64>,
}

impl Rate {
    /// Notes one event at `now` (seconds).
    pub fn tick(&mut self, now: f64) {
        self.times.push_back(now);
        while self.times.len() > 2 && now - self.times[0] > 3.0 {
            self.times.pop_front();
        }
    }

    /// Events per second over the window, once there are two.
    pub fn per_second(&self) -> Option<f64> {
        let (first, last) = (self.times.front()?, self.times.back()?);
        (self.times.len() >= 2 && last > first)
            .then(|| (self.times.len() - 1) as f64 / (last - first))
    }
}

/// A running camera and what the app keeps of it.
pub struct Live {
    camera: Camera,
    /// The newest frames, oldest first.
    recent: VecDeque<Frame>,
    /// Frames taken from the camera so far (the pair's key).
    pub count: usize,
    /// The pair on screen stays while paused.
    pub paused: bool,
    /// Frames recorded so far, while recording.
    pub recording: Option<VecDeque<Frame>>,
    /// The camera's frame rate as the app receives it.
    pub frames: Rate,
}

/// Starts the camera `device` (desktop: a device name or `lavfi:EXPR`; browser: a device id;
/// `None`: the first camera) off the UI thread; opening waits until it gives pictures.
pub fn open(device: Option<String>, ctx: &egui::Context) -> Receiver<Result<Live, ClipError>> {
    super::background::run(ctx, async move {
        #[cfg(not(target_arch = "wasm32"))]
        let camera = Camera::open(
            CameraSource::parse(device.as_deref()),
            &crate::video::ffmpeg::Ffmpeg::from_path(),
        )?;
        #[cfg(target_arch = "wasm32")]
        let camera = Camera::open(device.as_deref()).await?;
        Ok(Live {
            camera,
            recent: VecDeque::with_capacity(KEPT),
            count: 0,
            paused: false,
            recording: None,
            frames: Rate::default(),
        })
    })
}

impl Live {
    /// Takes the camera's newest frame, if one came and the pair is not paused; `true` when the
    /// pair changed.
    pub fn poll(&mut self, now: f64) -> Result<bool, ClipError> {
        let Some(frame) = self.camera.try_next_frame()? else {
            return Ok(false);
        };
        self.frames.tick(now);
        if let Some(recording) = &mut self.recording {
            let fps = self.frames.per_second().unwrap_or(30.0);
            let max = (RECORD_SECONDS * fps).ceil().max(2.0) as usize;
            while recording.len() >= max {
                recording.pop_front();
            }
            recording.push_back(frame.clone());
        }
        if self.paused {
            return Ok(false);
        }
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(frame);
        self.count += 1;
        Ok(true)
    }

    /// The pair `(newest − k, newest)`, once `k + 1` frames have come.
    pub fn pair(&self, k: usize) -> Option<[Frame; 2]> {
        let n = self.recent.len();
        (n > k).then(|| [self.recent[n - 1 - k].clone(), self.recent[n - 1].clone()])
    }

    /// The camera's name.
    pub fn name(&self) -> String {
        #[cfg(not(target_arch = "wasm32"))]
        return self.camera.source().name();
        #[cfg(target_arch = "wasm32")]
        return self.camera.name();
    }

    /// Ends a recording: its frames and their rate.
    pub fn take_recording(&mut self) -> Option<(Vec<Frame>, f64)> {
        let frames: Vec<Frame> = self.recording.take()?.into();
        let fps = self.frames.per_second().unwrap_or(30.0);
        (frames.len() >= 2).then_some((frames, fps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_events_per_second_over_its_window() {
        let mut rate = Rate::default();
        assert_eq!(rate.per_second(), None);
        for i in 0..=10 {
            rate.tick(f64::from(i) * 0.1);
        }
        let r = rate.per_second().unwrap_or_default();
        assert!((r - 10.0).abs() < 1e-9, "{r}");
        // Old events leave the window: a pause of 5 s, then 5 per second.
        for i in 0..=5 {
            rate.tick(6.0 + f64::from(i) * 0.2);
        }
        let r = rate.per_second().unwrap_or_default();
        assert!((r - 5.0).abs() < 1e-9, "{r}");
    }
}

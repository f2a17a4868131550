//! Clips in, frames out: opening video files, frame folders, animated images and the embedded
//! demo clip; sampling frame indices; turning frames into normalised tensors.
//!
//! A clip is opened once (its [`ClipInfo`] is read from the header or by counting, never by
//! holding the frames) and then asked for the frames at a few indices, which are decoded and
//! returned in the order asked. Frames are `image::RgbImage`s; [`preprocess`] turns them into
//! the backbone's input. Native builds read video through the system's `ffmpeg`
//! ([`ffmpeg`]); the browser reads any format it plays through a `<video>` element (`web`).

mod animation;
#[cfg(not(target_arch = "wasm32"))]
pub mod camera;
mod clip;
mod demo;
#[cfg(not(target_arch = "wasm32"))]
pub mod discover;
mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod ffmpeg;
mod folder;
pub mod frame_rate;
mod image_io;
pub mod preprocess;
pub mod sampling;
#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(target_arch = "wasm32")]
pub mod web_camera;

pub use animation::AnimatedImage;
pub use clip::{Clip, MemoryClip};
pub use demo::demo_clip;
pub use error::{ClipError, INSTALL_FFMPEG};
pub use folder::FrameFolder;
pub use image_io::{MAX_SIDE, decode_image, image_dimensions};

/// One decoded frame: 8-bit RGB, row-major.
pub type Frame = image::RgbImage;

/// What is known of a clip before any frame is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipInfo {
    /// How the clip is named in messages (its path, or "demo clip").
    pub name: String,
    /// Number of frames.
    pub frames: usize,
    /// Frames per second: the stream's average rate for videos, from the frame delays for
    /// animations, and [`FrameFolder::DEFAULT_FPS`] (or the caller's value) for frame folders.
    pub fps: f64,
    /// Width of the decoded frames, in pixels.
    pub width: u32,
    /// Height of the decoded frames, in pixels.
    pub height: u32,
    /// Presentation time of each frame in seconds, from the clip's start. `timestamps.len() ==
    /// frames`. Videos are read at a constant rate, so frame `i` is at `i / fps`.
    pub timestamps: Vec<f64>,
}

impl ClipInfo {
    /// Info for `frames` frames at a constant `fps`.
    pub fn constant_rate(name: String, frames: usize, fps: f64, width: u32, height: u32) -> Self {
        let timestamps = (0..frames).map(|i| i as f64 / fps).collect();
        Self {
            name,
            frames,
            fps,
            width,
            height,
            timestamps,
        }
    }

    /// Checks that every index is a frame of this clip.
    pub fn check_indices(&self, indices: &[usize]) -> Result<(), ClipError> {
        match indices.iter().find(|&&i| i >= self.frames) {
            Some(&index) => Err(ClipError::FrameOutOfRange {
                clip: self.name.clone(),
                index,
                frames: self.frames,
            }),
            None => Ok(()),
        }
    }
}

/// Picks `indices` (any order, repeats allowed) out of frames decoded for `sorted_unique`
/// (ascending, no repeats), which `decoded` holds in the same order.
pub(crate) fn reorder(
    indices: &[usize],
    sorted_unique: &[usize],
    decoded: Vec<Frame>,
) -> Vec<Frame> {
    indices
        .iter()
        .filter_map(|i| sorted_unique.binary_search(i).ok())
        .filter_map(|k| decoded.get(k).cloned())
        .collect()
}

/// The ascending, repeat-free list of `indices`.
pub(crate) fn sorted_unique(indices: &[usize]) -> Vec<usize> {
    let mut wanted = indices.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

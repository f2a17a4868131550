//! Animated GIF and WebP through `image`, with no external program. Opening counts the frames
//! and reads their delays, keeping no pixels; asking for frames decodes up to the last one
//! asked for and keeps only those.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::codecs::gif::GifDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, DynamicImage, Frames, ImageDecoder};

use super::image_io::extension;
use super::image_io::{check_size, limits};
use super::{ClipError, ClipInfo, Frame};

/// The frame delay assumed when a file gives none (GIF viewers use about 10 fps).
const DEFAULT_DELAY_S: f64 = 0.1;

/// An animated GIF or WebP file.
#[derive(Debug, Clone)]
pub struct AnimatedImage {
    info: ClipInfo,
    path: PathBuf,
}

impl AnimatedImage {
    /// Reads the header and the frame delays. The frame rate is frames / total duration.
    pub fn open(path: &Path) -> Result<Self, ClipError> {
        let name = path.display().to_string();
        let (width, height) = decoder_dimensions(path)?;
        let mut timestamps = Vec::new();
        let mut t = 0.0;
        for frame in frames(path)? {
            let frame = frame.map_err(|source| image_error(&name, timestamps.len(), source))?;
            let (num, den) = frame.delay().numer_denom_ms();
            timestamps.push(t);
            let delay = if num == 0 || den == 0 {
                DEFAULT_DELAY_S
            } else {
                f64::from(num) / f64::from(den) / 1000.0
            };
            t += delay;
        }
        if timestamps.is_empty() {
            return Err(ClipError::NoFrames(name));
        }
        let fps = timestamps.len() as f64 / t;
        let info = ClipInfo {
            name,
            frames: timestamps.len(),
            fps,
            width,
            height,
            timestamps,
        };
        Ok(Self {
            info,
            path: path.to_path_buf(),
        })
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Decodes the frames at `wanted` (ascending, no repeats), composited as a viewer shows them.
    pub(crate) fn frames_sorted(&self, wanted: &[usize]) -> Result<Vec<Frame>, ClipError> {
        let mut out = Vec::with_capacity(wanted.len());
        let mut next = wanted.iter().copied().peekable();
        for (i, frame) in frames(&self.path)?.enumerate() {
            let Some(&want) = next.peek() else { break };
            let frame = frame.map_err(|source| image_error(&self.info.name, i, source))?;
            if i == want {
                out.push(DynamicImage::ImageRgba8(frame.into_buffer()).into_rgb8());
                next.next();
            }
        }
        match next.next() {
            Some(wanted) => Err(ClipError::EndedEarly {
                clip: self.info.name.clone(),
                decoded: out.len(),
                wanted,
            }),
            None => Ok(out),
        }
    }
}

fn image_error(name: &str, frame: usize, source: image::ImageError) -> ClipError {
    ClipError::Image {
        name: format!("{name}, frame {frame}"),
        source,
    }
}

fn open_file(path: &Path) -> Result<BufReader<File>, ClipError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| ClipError::io(path, source))
}

fn is_gif(path: &Path) -> bool {
    extension(path).as_deref() == Some("gif")
}

fn decoder_dimensions(path: &Path) -> Result<(u32, u32), ClipError> {
    let name = path.display().to_string();
    let err = |source| ClipError::Image {
        name: name.clone(),
        source,
    };
    let (width, height) = if is_gif(path) {
        GifDecoder::new(open_file(path)?).map_err(err)?.dimensions()
    } else {
        WebPDecoder::new(open_file(path)?)
            .map_err(err)?
            .dimensions()
    };
    check_size(&name, width, height)?;
    Ok((width, height))
}

/// The file's frames, decoded lazily, under amflow's memory limits.
fn frames(path: &Path) -> Result<Frames<'static>, ClipError> {
    let name = path.display().to_string();
    let err = |source| ClipError::Image {
        name: name.clone(),
        source,
    };
    if is_gif(path) {
        let mut decoder = GifDecoder::new(open_file(path)?).map_err(err)?;
        decoder.set_limits(limits()).map_err(err)?;
        Ok(decoder.into_frames())
    } else {
        let mut decoder = WebPDecoder::new(open_file(path)?).map_err(err)?;
        decoder.set_limits(limits()).map_err(err)?;
        Ok(decoder.into_frames())
    }
}

//! [`Clip`]: every kind of clip behind one type, opened by what the path is.

use std::path::{Path, PathBuf};

use super::image_io::extension;
use super::{
    AnimatedImage, ClipError, ClipInfo, Frame, FrameFolder, decode_image, image_dimensions,
    reorder, sorted_unique,
};

/// Frames held as encoded images in memory: the embedded demo clip, two images given on the
/// command line, frames the browser handed over. Each frame is decoded when asked for.
#[derive(Debug, Clone)]
pub struct MemoryClip {
    info: ClipInfo,
    /// One encoded image (PNG, JPEG, ...) per frame.
    encoded: Vec<Vec<u8>>,
}

impl MemoryClip {
    /// A clip of encoded frames shown at `fps`. Every frame's header is checked now (sizes must
    /// agree); pixels are decoded later.
    pub fn new(
        name: impl Into<String>,
        encoded: Vec<Vec<u8>>,
        fps: f64,
    ) -> Result<Self, ClipError> {
        let name = name.into();
        let first = encoded
            .first()
            .ok_or_else(|| ClipError::NoFrames(name.clone()))?;
        let (width, height) = image_dimensions(first, &format!("{name}, frame 0"))?;
        for (i, bytes) in encoded.iter().enumerate().skip(1) {
            let frame = format!("{name}, frame {i}");
            let found = image_dimensions(bytes, &frame)?;
            if found != (width, height) {
                return Err(ClipError::SizeMismatch {
                    name: frame,
                    found,
                    expected: (width, height),
                });
            }
        }
        let info = ClipInfo::constant_rate(name, encoded.len(), fps, width, height);
        Ok(Self { info, encoded })
    }

    /// A clip of decoded `frames` (a recording of a camera), kept as lossless PNG.
    pub fn from_frames(
        name: impl Into<String>,
        frames: &[Frame],
        fps: f64,
    ) -> Result<Self, ClipError> {
        let name = name.into();
        let encoded = frames
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let mut bytes = Vec::new();
                frame
                    .write_to(
                        &mut std::io::Cursor::new(&mut bytes),
                        image::ImageFormat::Png,
                    )
                    .map(|()| bytes)
                    .map_err(|source| ClipError::Image {
                        name: format!("{name}, frame {i}"),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(name, encoded, fps)
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Decodes the frames at `indices`, in that order.
    pub fn frames(&self, indices: &[usize]) -> Result<Vec<Frame>, ClipError> {
        self.info.check_indices(indices)?;
        indices
            .iter()
            .map(|&i| {
                let name = format!("{}, frame {i}", self.info.name);
                decode_image(&self.encoded[i], &name)
            })
            .collect()
    }
}

/// A clip of any kind amflow reads.
#[derive(Debug)]
pub enum Clip {
    /// A video file read through the system's ffmpeg (native only).
    #[cfg(not(target_arch = "wasm32"))]
    Video(super::ffmpeg::VideoFile),
    /// A folder of PNG/JPEG frames, in natural file-name order.
    Folder(FrameFolder),
    /// An animated GIF or WebP.
    Animation(AnimatedImage),
    /// Encoded frames in memory.
    Memory(MemoryClip),
}

impl Clip {
    /// Opens what `path` names: a folder of frames, an animated GIF/WebP, or (natively) a video
    /// file for ffmpeg. A single still image is an error that says to give two.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ClipError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|source| ClipError::io(path, source))?;
        if meta.is_dir() {
            return Ok(Clip::Folder(FrameFolder::open(path)?));
        }
        if meta.len() == 0 {
            return Err(ClipError::EmptyFile(path.to_path_buf()));
        }
        match extension(path).as_deref() {
            Some("gif" | "webp") => {
                let animation = AnimatedImage::open(path)?;
                if animation.info().frames < 2 {
                    // A still GIF/WebP is a single image like any other.
                    return Err(ClipError::SingleImage(path.to_path_buf()));
                }
                Ok(Clip::Animation(animation))
            }
            Some("png" | "jpg" | "jpeg" | "bmp") => Err(ClipError::SingleImage(path.to_path_buf())),
            _ => Self::open_video(path),
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn open_video(path: &Path) -> Result<Self, ClipError> {
        let ffmpeg = super::ffmpeg::Ffmpeg::from_path();
        Ok(Clip::Video(super::ffmpeg::VideoFile::open(path, &ffmpeg)?))
    }

    #[cfg(target_arch = "wasm32")]
    fn open_video(path: &Path) -> Result<Self, ClipError> {
        Err(ClipError::Browser(format!(
            "{}: video files are decoded by the browser's <video> element on the web",
            path.display()
        )))
    }

    /// A two-frame clip of two image files (frame t, frame t+1), as `amflow maps A.png B.png`
    /// takes it.
    pub fn from_images(paths: &[PathBuf], fps: f64) -> Result<Self, ClipError> {
        let encoded = paths
            .iter()
            .map(|p| match std::fs::read(p) {
                Ok(bytes) if bytes.is_empty() => Err(ClipError::EmptyFile(p.clone())),
                Ok(bytes) => Ok(bytes),
                Err(source) => Err(ClipError::io(p, source)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ");
        Ok(Clip::Memory(MemoryClip::new(name, encoded, fps)?))
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Clip::Video(v) => v.info(),
            Clip::Folder(f) => f.info(),
            Clip::Animation(a) => a.info(),
            Clip::Memory(m) => m.info(),
        }
    }

    /// Decodes the frames at `indices` (any order, repeats allowed) and returns them in that
    /// order. Only the frames asked for are kept in memory.
    pub fn frames(&self, indices: &[usize]) -> Result<Vec<Frame>, ClipError> {
        self.info().check_indices(indices)?;
        let wanted = sorted_unique(indices);
        let decoded = match self {
            #[cfg(not(target_arch = "wasm32"))]
            Clip::Video(v) => v.frames_sorted(&wanted)?,
            Clip::Folder(f) => return f.frames(indices),
            Clip::Animation(a) => a.frames_sorted(&wanted)?,
            Clip::Memory(m) => return m.frames(indices),
        };
        Ok(reorder(indices, &wanted, decoded))
    }
}

#[cfg(test)]
mod recording_tests {
    use super::*;

    /// A camera recording opens as a clip that gives back exactly the frames recorded.
    #[test]
    fn recorded_frames_come_back_as_they_were() {
        let frames: Vec<Frame> = (0..3u8)
            .map(|i| Frame::from_fn(5, 4, |x, y| image::Rgb([i * 40, x as u8 * 9, y as u8 * 17])))
            .collect();
        let clip = MemoryClip::from_frames("recording", &frames, 12.5).expect("encodes");
        let info = clip.info();
        assert_eq!((info.frames, info.width, info.height), (3, 5, 4));
        assert!((info.fps - 12.5).abs() < 1e-12);
        assert_eq!(
            clip.frames(&[2, 0, 1]).expect("decodes"),
            [frames[2].clone(), frames[0].clone(), frames[1].clone()]
        );
    }
}

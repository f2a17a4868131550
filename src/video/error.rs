//! Typed errors of opening, decoding and sampling clips. Every message names the clip and the
//! problem, and says what to do where there is something to do.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// How ffmpeg is installed, for the message shown when it is missing.
pub const INSTALL_FFMPEG: &str = "install ffmpeg (Debian/Ubuntu: `sudo apt install ffmpeg`, \
macOS: `brew install ffmpeg`, Windows: `winget install ffmpeg`) and make sure `ffmpeg` and \
`ffprobe` are on PATH, or open a folder of PNG/JPEG frames or an animated GIF/WebP instead";

/// Why a clip could not be opened, decoded or sampled.
#[derive(Debug, Error)]
pub enum ClipError {
    /// Nothing exists at the path.
    #[error("{path}: no such file or folder")]
    Missing {
        /// The path the user gave.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no bytes.
    #[error("{0}: the file is empty")]
    EmptyFile(PathBuf),
    /// A video file was given but `ffmpeg` or `ffprobe` cannot be run.
    #[error(
        "{path}: reading video files needs {program}, which could not be started ({reason}); {INSTALL_FFMPEG}"
    )]
    FfmpegMissing {
        /// The clip.
        path: PathBuf,
        /// `ffmpeg` or `ffprobe`, as it was looked for.
        program: PathBuf,
        /// Why it could not be started.
        reason: String,
    },
    /// A camera could not be started or stopped sending frames.
    #[error("{source_name}: {message}")]
    Camera {
        /// The camera, as named to the user.
        source_name: String,
        /// What went wrong (ffmpeg's reason).
        message: String,
    },
    /// ffmpeg or ffprobe ran and refused the file.
    #[error("{path}: not a video ffmpeg can read: {message}")]
    NotAVideo {
        /// The clip.
        path: PathBuf,
        /// The last lines ffmpeg printed.
        message: String,
    },
    /// The container holds no video stream (audio only, say).
    #[error("{0}: the file has no video stream")]
    NoVideoStream(PathBuf),
    /// The clip has no frames at all.
    #[error("{0}: the clip has no frames")]
    NoFrames(String),
    /// An image or a video frame that could not be decoded.
    #[error("{name}: {source}")]
    Image {
        /// The file, or the frame, that failed.
        name: String,
        /// The decoder's reason.
        #[source]
        source: image::ImageError,
    },
    /// Frames larger than amflow accepts (each side at most [`crate::video::MAX_SIDE`]).
    #[error("{name}: {width}×{height} is too large (each side at most {max} pixels)")]
    TooLarge {
        /// The file or frame.
        name: String,
        /// Width from the header.
        width: u64,
        /// Height from the header.
        height: u64,
        /// The largest side accepted.
        max: u32,
    },
    /// A frame with no pixels.
    #[error("{name}: the image is {width}×{height}, it has no pixels")]
    NoPixels {
        /// The file or frame.
        name: String,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The frames of an image sequence differ in size.
    #[error(
        "{name}: frame is {found:?} but the clip's first frame is {expected:?} (width, height)"
    )]
    SizeMismatch {
        /// The odd frame.
        name: String,
        /// Its size.
        found: (u32, u32),
        /// The first frame's size.
        expected: (u32, u32),
    },
    /// A file that is a single still image where a clip is wanted.
    #[error(
        "{0}: a single image is not a clip; give a video, a folder of frames, an animated GIF/WebP, or two images"
    )]
    SingleImage(PathBuf),
    /// A frame index past the end of the clip.
    #[error("{clip}: frame {index} asked for, but the clip has {frames} frames (0 to {last})", last = frames.saturating_sub(1))]
    FrameOutOfRange {
        /// The clip.
        clip: String,
        /// The 0-based index asked for.
        index: usize,
        /// How many frames the clip has.
        frames: usize,
    },
    /// The decoder stopped before a frame the header promised (a truncated file, say).
    #[error(
        "{clip}: decoding stopped after {decoded} frames, before frame {wanted} (truncated or damaged file?)"
    )]
    EndedEarly {
        /// The clip.
        clip: String,
        /// Frames that came out.
        decoded: usize,
        /// The first index that did not.
        wanted: usize,
    },
    /// Sampling asks for more than the clip or the request allows.
    #[error("{0}")]
    Sampling(String),
    /// Frames of one clip that are not all one size.
    #[error("frames of one clip differ in size: {first:?} and {other:?}")]
    MixedSizes {
        /// The first frame's (width, height).
        first: (u32, u32),
        /// Another frame's.
        other: (u32, u32),
    },
    /// Preprocessing was given no frames, or gave fewer back than it was given.
    #[error("{0}: no frames to work on")]
    NothingToPreprocess(&'static str),
    /// A source this build of the app cannot open (a URL on the desktop, a path in the browser).
    #[error("{0}")]
    Unsupported(String),
    /// Neither one clip nor two images.
    #[error(
        "give one clip (a video, a frame folder, an animated GIF/WebP) or two images, not {0} paths"
    )]
    PathCount(usize),
    /// The browser refused something (loading, seeking, drawing a frame).
    #[error("{0}")]
    Browser(String),
}

impl ClipError {
    /// An I/O failure on `path`: [`ClipError::Missing`] when nothing is there, else
    /// [`ClipError::Io`] with the system's reason. The one place that mapping is made.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            ClipError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            ClipError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

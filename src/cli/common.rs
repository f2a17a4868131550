//! What the subcommands share: loading the backbone, opening clips, writing files atomically.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::classifier::CheckpointError;
pub use crate::durable::{WriteError, write_atomic};
use crate::model::{BackboneError, Dinov2};
use crate::video::{Clip, ClipError};

/// The largest `--size` any command takes (pixels of the short side): a frame resized to it is
/// at most a few hundred megabytes, and the backbone then checks its own memory need
/// ([`crate::model::dinov2::MAX_ATTENTION_BYTES`]) before running.
pub const MAX_SIZE: u64 = 4096;

/// `--size`: 1 to [`MAX_SIZE`], refused by the parser otherwise.
pub fn size_parser<T>() -> clap::builder::RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::fmt::Display + Send + Sync + 'static,
{
    clap::builder::RangedU64ValueParser::new().range(1..=MAX_SIZE)
}

/// The backbone in `dir`, or the embedded default; with the name shown to users.
pub fn load_backbone(
    dir: Option<&PathBuf>,
    device: &Device,
) -> Result<(String, Dinov2), BackboneError> {
    match dir {
        None => Ok((
            crate::embedded::NAME.to_string(),
            crate::embedded::backbone(device)?,
        )),
        Some(dir) => Ok((dir.display().to_string(), Dinov2::load_dir(dir, device)?)),
    }
}

/// The bytes of the checkpoint at `path`, or of the embedded demo checkpoint; with the name
/// shown to users.
pub fn checkpoint_bytes(path: Option<&Path>) -> Result<(Vec<u8>, String), CheckpointError> {
    match path {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
                path: path.display().to_string(),
                source,
            })?;
            Ok((bytes, path.display().to_string()))
        }
        None => Ok((
            crate::embedded::demo_checkpoint()?.to_vec(),
            "the demo checkpoint".to_string(),
        )),
    }
}

/// One path: a video, a frame folder or an animation; two paths: two images (frame t, t+1).
pub fn open_clip(paths: &[PathBuf]) -> Result<Clip, ClipError> {
    match paths {
        [one] => Clip::open(one),
        [_, _] => Clip::from_images(paths, 1.0),
        _ => Err(ClipError::PathCount(paths.len())),
    }
}

/// Encodes `image` as PNG and writes it atomically.
pub fn write_png(path: &Path, image: &image::RgbImage) -> Result<(), WriteError> {
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| WriteError {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    write_atomic(path, &bytes)
}

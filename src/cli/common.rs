//! What the subcommands share: loading the backbone, opening clips, writing files atomically.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::model::{BackboneError, Dinov2};
use crate::video::{Clip, ClipError};

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

/// One path: a video, a frame folder or an animation; two paths: two images (frame t, t+1).
pub fn open_clip(paths: &[PathBuf]) -> Result<Clip, ClipError> {
    match paths {
        [one] => Clip::open(one),
        [_, _] => Clip::from_images(paths, 1.0),
        _ => Err(ClipError::Sampling(format!(
            "give one clip (a video, a frame folder, an animated GIF/WebP) or two images, not {} paths",
            paths.len()
        ))),
    }
}

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so readers
/// see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
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

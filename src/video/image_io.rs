//! Decoding single images with bounded memory: the header is checked before any pixel buffer
//! is allocated, so a 20000×20000 PNG header or a 0×0 image is an error, not an allocation.

use std::io::Cursor;

use image::{ImageReader, Limits};

use super::{ClipError, Frame};

/// The largest width or height of a frame amflow decodes. Frames are resized to 224 pixels
/// before the backbone sees them, so 8K video is the most anyone needs.
pub const MAX_SIDE: u32 = 8192;

/// The most memory one image decoder may allocate: an 8192×8192 RGBA buffer (256 MiB) and some.
const MAX_ALLOC: u64 = 300 * 1024 * 1024;

pub(crate) fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Reads the size from an image's header without decoding its pixels.
pub fn image_dimensions(bytes: &[u8], name: &str) -> Result<(u32, u32), ClipError> {
    let mut reader = reader(bytes, name)?;
    // Reading the header allocates nothing; without limits it reports the size we then check.
    reader.no_limits();
    let (width, height) = reader
        .into_dimensions()
        .map_err(|source| ClipError::Image {
            name: name.to_string(),
            source,
        })?;
    check_size(name, width, height)?;
    Ok((width, height))
}

/// Decodes a PNG/JPEG/GIF/WebP image (the first frame of an animation) to RGB.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Frame, ClipError> {
    // Check the header first: the decoders' own limits give less helpful messages.
    image_dimensions(bytes, name)?;
    let mut reader = reader(bytes, name)?;
    reader.limits(limits());
    let image = reader.decode().map_err(|source| ClipError::Image {
        name: name.to_string(),
        source,
    })?;
    Ok(image.into_rgb8())
}

/// Rejects images with no pixels or with a side past [`MAX_SIDE`].
pub(crate) fn check_size(name: &str, width: u32, height: u32) -> Result<(), ClipError> {
    if width == 0 || height == 0 {
        return Err(ClipError::NoPixels {
            name: name.to_string(),
            width,
            height,
        });
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ClipError::TooLarge {
            name: name.to_string(),
            width: width.into(),
            height: height.into(),
            max: MAX_SIDE,
        });
    }
    Ok(())
}

fn reader<'a>(bytes: &'a [u8], name: &str) -> Result<ImageReader<Cursor<&'a [u8]>>, ClipError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|source| ClipError::Image {
            name: name.to_string(),
            source: image::ImageError::IoError(source),
        })?;
    reader.limits(limits());
    Ok(reader)
}

/// A path's extension in lower case.
pub(crate) fn extension(path: &std::path::Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

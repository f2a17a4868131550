//! A folder of extracted frames (`img_00001.jpg`, `img_00002.jpg`, ... as mmaction2's
//! rawframes, or any PNG/JPEG names), read in natural order with no external program.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::image_io::extension;
use super::{ClipError, ClipInfo, Frame, decode_image, image_dimensions};

/// A folder of PNG/JPEG frames. Frame `i` is the `i`-th file in natural order (`2.png` before
/// `10.png`); files of other kinds are ignored.
#[derive(Debug, Clone)]
pub struct FrameFolder {
    info: ClipInfo,
    files: Vec<PathBuf>,
}

impl FrameFolder {
    /// The frame rate assumed for a folder of frames, which records none: 30 fps, the rate
    /// most datasets' frames are extracted at. [`FrameFolder::with_fps`] sets another.
    pub const DEFAULT_FPS: f64 = 30.0;

    /// Lists the folder and reads the first frame's header.
    pub fn open(dir: &Path) -> Result<Self, ClipError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ClipError::io(dir, source))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ClipError::io(dir, source))?;
            let path = entry.path();
            if matches!(extension(&path).as_deref(), Some("png" | "jpg" | "jpeg")) {
                files.push(path);
            }
        }
        files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        let name = dir.display().to_string();
        let first = files
            .first()
            .ok_or_else(|| ClipError::NoFrames(format!("{name} (no PNG or JPEG files)")))?;
        let (width, height) = image_dimensions(&read(first)?, &first.display().to_string())?;
        let info = ClipInfo::constant_rate(name, files.len(), Self::DEFAULT_FPS, width, height);
        Ok(Self { info, files })
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Decodes the frames at `indices`, in that order; every frame must be the first's size.
    pub fn frames(&self, indices: &[usize]) -> Result<Vec<Frame>, ClipError> {
        self.info.check_indices(indices)?;
        indices
            .iter()
            .map(|&i| {
                let path = &self.files[i];
                let name = path.display().to_string();
                let frame = decode_image(&read(path)?, &name)?;
                let expected = (self.info.width, self.info.height);
                if frame.dimensions() != expected {
                    return Err(ClipError::SizeMismatch {
                        name,
                        found: frame.dimensions(),
                        expected,
                    });
                }
                Ok(frame)
            })
            .collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ClipError> {
    let bytes = std::fs::read(path).map_err(|source| ClipError::io(path, source))?;
    if bytes.is_empty() {
        return Err(ClipError::EmptyFile(path.to_path_buf()));
    }
    Ok(bytes)
}

/// Compares file names the way people count: runs of digits by value, the rest by character.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (
                    a[..da].trim_start_matches('0'),
                    b[..db].trim_start_matches('0'),
                );
                let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn names_sort_by_number() {
        let mut names = vec![
            "img_10.jpg",
            "img_2.jpg",
            "img_1.jpg",
            "img_002b.jpg",
            "a.jpg",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a.jpg",
                "img_1.jpg",
                "img_2.jpg",
                "img_002b.jpg",
                "img_10.jpg"
            ]
        );
    }
}

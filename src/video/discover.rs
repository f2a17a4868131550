//! Finding the clips of a dataset: a clip itself, a list file's lines, or every video and frame
//! folder below a folder. Used by `amflow blocks` and by the classifier's datasets.

use std::path::{Path, PathBuf};

use super::ClipError;

/// Extensions of the files a dataset folder's clips are (videos and animations).
pub const VIDEO_EXTENSIONS: [&str; 11] = [
    "mp4", "webm", "avi", "mkv", "mov", "m4v", "mpg", "mpeg", "ogv", "gif", "webp",
];
/// Extensions of frame images.
pub const FRAME_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Whether `path` ends in one of `list` (any case).
fn has_extension(path: &Path, list: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| list.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether `dir` holds frame images (a frame-folder clip).
fn holds_frames(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| has_extension(&e.path(), &FRAME_EXTENSIONS))
    })
}

/// The clips under `path`: the path itself if it is a clip, the lines of a list file, or every
/// video file and frame folder below a dataset folder, sorted.
pub fn find_clips(path: &Path) -> Result<Vec<PathBuf>, ClipError> {
    let meta = std::fs::metadata(path).map_err(|source| ClipError::io(path, source))?;
    if meta.is_file() {
        if has_extension(path, &["txt", "list", "csv"]) {
            let text = std::fs::read_to_string(path).map_err(|source| ClipError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let base = path.parent().unwrap_or(Path::new("."));
            return Ok(text
                .lines()
                .filter_map(|l| l.split([' ', ',', '\t']).find(|s| !s.is_empty()))
                .filter(|p| !p.starts_with('#'))
                .map(|p| base.join(p))
                .collect());
        }
        return Ok(vec![path.to_path_buf()]);
    }
    if holds_frames(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut clips = Vec::new();
    let mut stack = vec![(path.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        // A folder that cannot be listed is an error, not a part of the dataset left out.
        let entries = std::fs::read_dir(&dir).map_err(|source| ClipError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if holds_frames(&p) {
                    clips.push(p);
                } else if depth < 4 {
                    stack.push((p, depth + 1));
                }
            } else if has_extension(&p, &VIDEO_EXTENSIONS) {
                clips.push(p);
            }
        }
    }
    clips.sort();
    Ok(clips)
}

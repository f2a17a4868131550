//! Durable writes: files that users rely on (checkpoints, block selections, maps, exports)
//! are written so that a reader, or a machine that loses power, sees the old file or the whole
//! new one, never an empty or half-written one.
//!
//! The bytes go to a temporary file beside the target, which is flushed to the disk (`fsync`)
//! before it is renamed over the target; the folder is then synced too, so that the rename
//! itself survives a crash. Without the first sync a crash after the rename can leave the new
//! name pointing at a file whose data never reached the disk (an empty checkpoint).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Writes `bytes` to `path` atomically and durably (see the module's description). On failure
/// the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = write_synced(&tmp, bytes)
        .map_err(|e| e.source)
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    sync_dir(dir).map_err(err)
}

/// The folder `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `bytes` to the new file `path` and flushes it to the disk: for the files of a folder
/// that is written in a staging place and then published whole ([`publish_dir`]).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    File::create(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|source| WriteError {
            path: path.to_path_buf(),
            source,
        })
}

/// Publishes the folder `staging`, whose files were written with [`write_synced`], as
/// `target`: every folder in it is synced (their entries reach the disk), an earlier `target`
/// is removed, `staging` is renamed to `target`, and the parent is synced, so that after a
/// crash `target` is either absent or whole.
pub fn publish_dir(staging: &Path, target: &Path) -> Result<(), WriteError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError { path, source }
    };
    let mut folders = vec![staging.to_path_buf()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).map_err(err(&dir))? {
            let entry = entry.map_err(err(&dir))?;
            if entry.file_type().map_err(err(&dir))?.is_dir() {
                folders.push(entry.path());
            }
        }
        sync_dir(&dir).map_err(err(&dir))?;
    }
    if target.exists() {
        std::fs::remove_dir_all(target).map_err(err(target))?;
    }
    std::fs::rename(staging, target).map_err(err(target))?;
    let parent = parent(target);
    sync_dir(parent).map_err(err(parent))
}

/// Flushes a folder's entries (a rename in it) to the disk. Windows has no such call for
/// folders; there the rename is flushed with the file system's own journal.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.json");
        std::fs::write(&path, b"an older and longer file").expect("write");
        write_atomic(&path, b"new").expect("atomic write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.json")]);
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The target is a folder that is not empty: the rename fails after the data was synced.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::write(path.join("inside"), b"x").expect("write");
        let e = write_atomic(&path, b"data").expect_err("a folder cannot be replaced by a file");
        assert_eq!(e.path, path);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("taken")]);
    }

    #[test]
    fn a_published_folder_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("data");
        std::fs::create_dir(&target).expect("mkdir");
        std::fs::write(target.join("old.txt"), b"old").expect("write");
        let staging = dir.path().join(".data.partial");
        std::fs::create_dir_all(staging.join("a/b")).expect("mkdir");
        write_synced(&staging.join("a/b/new.txt"), b"new").expect("write");
        publish_dir(&staging, &target).expect("publish");
        assert_eq!(
            std::fs::read(target.join("a/b/new.txt")).expect("read"),
            b"new"
        );
        assert!(!target.join("old.txt").exists() && !staging.exists());
    }
}

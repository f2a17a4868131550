//! The web page's asset manifest: what the published page ships beside its WebAssembly (the
//! default backbone and the demo checkpoint), with each file's size and SHA-256, written by the
//! build (`web/asset_manifest.py`, a trunk hook) as `amflow-assets.json` in `dist/`:
//!
//! ```json
//! {"format": "amflow-assets/1",
//!  "files": {"dinov2-small/model.safetensors": {"bytes": 45331168, "sha256": "3f…"}, …}}
//! ```
//!
//! The page checks every such file against its entry before it uses or caches it, so a torn
//! download or a stale copy from an earlier release is fetched again, never used. The desktop
//! app and the command line compile the same files in (`crate::embedded`) and need no manifest.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The manifest's file name, beside `index.html`.
pub const FILE: &str = "amflow-assets.json";

/// The format tag this reader understands.
pub const FORMAT: &str = "amflow-assets/1";

/// Where the page finds the default backbone's folder (`config.json`, `model.safetensors`).
pub const BACKBONE_DIR: &str = "dinov2-small/";

/// Where the page finds the demo classifier checkpoint.
pub const DEMO_CHECKPOINT: &str = "demo/synth-classifier.safetensors";

/// What is wrong with a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape.
    #[error("{FILE} is not an asset manifest: {0}")]
    Parse(String),
    /// Another format.
    #[error("{FILE} says format {found:?}; this page reads {FORMAT:?}")]
    Format {
        /// The format it names.
        found: String,
    },
    /// A file the page needs is not listed.
    #[error("{FILE} does not list {0}")]
    Missing(String),
    /// A hash that is not 64 hex digits.
    #[error("{FILE}: the SHA-256 of {path} is not 64 hex digits")]
    BadHash {
        /// The file.
        path: String,
    },
}

/// Why bytes do not match their manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// More or fewer bytes than listed.
    #[error("{path}: {found} bytes where the manifest lists {expected}")]
    Size {
        /// The file.
        path: String,
        /// Bytes listed.
        expected: u64,
        /// Bytes received.
        found: u64,
    },
    /// The right size, other contents.
    #[error("{path}: SHA-256 {found} where the manifest lists {expected}")]
    Hash {
        /// The file.
        path: String,
        /// Hash listed.
        expected: String,
        /// Hash of what was received.
        found: String,
    },
}

/// One file's entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
}

/// The parsed manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    format: String,
    files: BTreeMap<String, Entry>,
}

impl Manifest {
    /// Parses and validates `amflow-assets.json`.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Self =
            serde_json::from_str(text).map_err(|e| ManifestError::Parse(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(ManifestError::Format {
                found: manifest.format,
            });
        }
        for (path, entry) in &manifest.files {
            let hex = entry.sha256.len() == 64
                && entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex {
                return Err(ManifestError::BadHash { path: path.clone() });
            }
        }
        Ok(manifest)
    }

    /// The entry of `path` (relative to the page, e.g. `dinov2-small/model.safetensors`).
    pub fn entry(&self, path: &str) -> Result<&Entry, ManifestError> {
        self.files
            .get(path)
            .ok_or_else(|| ManifestError::Missing(path.to_string()))
    }
}

impl Entry {
    /// Checks `bytes` (the contents of `path`) against this entry: size first, then SHA-256.
    pub fn check(&self, path: &str, bytes: &[u8]) -> Result<(), CheckError> {
        if bytes.len() as u64 != self.bytes {
            return Err(CheckError::Size {
                path: path.to_string(),
                expected: self.bytes,
                found: bytes.len() as u64,
            });
        }
        let found = sha256_hex(bytes);
        if found != self.sha256 {
            return Err(CheckError::Hash {
                path: path.to_string(),
                expected: self.sha256.clone(),
                found,
            });
        }
        Ok(())
    }
}

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2's first example: SHA-256("abc").
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn manifest(sha: &str) -> String {
        format!(
            r#"{{"format": "amflow-assets/1", "files": {{"a/b.bin": {{"bytes": 3, "sha256": "{sha}"}}}}}}"#
        )
    }

    #[test]
    fn sha256_matches_the_standards_example() {
        assert_eq!(sha256_hex(b"abc"), ABC);
    }

    #[test]
    fn the_listed_bytes_pass_and_any_change_fails() {
        let m = Manifest::parse(&manifest(ABC)).unwrap_or_else(|e| panic!("{e}"));
        let entry = m.entry("a/b.bin").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.check("a/b.bin", b"abc"), Ok(()));
        // A torn download: the size tells.
        assert!(matches!(
            entry.check("a/b.bin", b"ab"),
            Err(CheckError::Size {
                expected: 3,
                found: 2,
                ..
            })
        ));
        // A stale or corrupted copy of the same size: the hash tells.
        assert!(matches!(
            entry.check("a/b.bin", b"abd"),
            Err(CheckError::Hash { .. })
        ));
        assert!(matches!(m.entry("c.bin"), Err(ManifestError::Missing(_))));
    }

    #[test]
    fn malformed_manifests_are_refused() {
        assert!(matches!(
            Manifest::parse("not json"),
            Err(ManifestError::Parse(_))
        ));
        let other = manifest(ABC).replace("amflow-assets/1", "amflow-assets/9");
        assert!(matches!(
            Manifest::parse(&other),
            Err(ManifestError::Format { .. })
        ));
        assert!(matches!(
            Manifest::parse(&manifest("abc")),
            Err(ManifestError::BadHash { .. })
        ));
        assert!(matches!(
            Manifest::parse(&manifest(&ABC.to_uppercase())),
            Err(ManifestError::BadHash { .. })
        ));
    }

    /// The build's manifest writer (`web/asset_manifest.py`, Python's hashlib) and this reader
    /// (the `sha2` crate) agree on the files the page ships: the script run over a staging
    /// folder laid out as trunk lays out `dist/`, its output parsed and every file checked.
    #[test]
    fn the_build_writes_a_manifest_the_page_accepts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let stage = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let files = [
            (
                format!("{BACKBONE_DIR}config.json"),
                "assets/dinov2-small/config.json",
            ),
            (
                format!("{BACKBONE_DIR}model.safetensors"),
                "assets/dinov2-small/model.safetensors",
            ),
            (
                DEMO_CHECKPOINT.to_string(),
                "assets/demo/synth-classifier.safetensors",
            ),
        ];
        for (path, source) in &files {
            let to = stage.path().join(path);
            std::fs::create_dir_all(to.parent().unwrap_or(stage.path()))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::copy(root.join(source), &to).unwrap_or_else(|e| panic!("{e}"));
        }
        let status = std::process::Command::new("python3")
            .arg(root.join("web/asset_manifest.py"))
            .env("TRUNK_STAGING_DIR", stage.path())
            .status()
            .unwrap_or_else(|e| panic!("python3: {e}"));
        assert!(status.success(), "web/asset_manifest.py failed");
        let text =
            std::fs::read_to_string(stage.path().join(FILE)).unwrap_or_else(|e| panic!("{e}"));
        let manifest = Manifest::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        for (path, _) in &files {
            let bytes = std::fs::read(stage.path().join(path)).unwrap_or_else(|e| panic!("{e}"));
            let entry = manifest.entry(path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(entry.check(path, &bytes), Ok(()));
            // One byte changed is caught.
            let mut bad = bytes.clone();
            bad[bytes.len() / 2] ^= 1;
            assert!(entry.check(path, &bad).is_err());
        }
    }
}

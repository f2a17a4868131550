//! Downloads a Hugging Face model folder (`config.json`, `model.safetensors`) into the local
//! Hugging Face cache, laid out as `huggingface_hub` writes it, so that either finds what the
//! other fetched:
//!
//! ```text
//! CACHE/models--ORG--NAME/blobs/ETAG                     the file's bytes
//! CACHE/models--ORG--NAME/snapshots/COMMIT/FILE  →  ../../blobs/ETAG   (a relative symlink)
//! CACHE/models--ORG--NAME/refs/REV                       COMMIT
//! ```
//!
//! `CACHE` is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. As
//! `huggingface_hub` does, each file's metadata comes from a `HEAD` request that does not follow
//! redirects (the hub's own response carries `X-Repo-Commit` and `X-Linked-Etag`; the CDN it
//! redirects large files to does not), then the bytes from a `GET` that does. One commit names
//! the snapshot of every file (the first file's, else the revision itself, written to `refs/` as
//! such so the next launch finds it). A blob is written beside its place, synced and renamed in,
//! so a broken download leaves nothing half-written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Why a Hugging Face folder could not be found in the cache or downloaded into it.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The request failed.
    #[error("{url}: {message}")]
    Http {
        /// What was asked for.
        url: String,
        /// What the HTTP client said.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url}: {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status.
        status: ureq::http::StatusCode,
    },
    /// Reading the body or writing the cache failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder (or the URL being read).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No place for the cache.
    #[error("none of HF_HUB_CACHE, HF_HOME and HOME is set")]
    NoCache,
    /// Not a `https://huggingface.co/ORG/NAME/resolve/REV/` URL.
    #[error(
        "{0}: the desktop app reads Hugging Face URLs (https://huggingface.co/ORG/NAME/resolve/main/) from the Hugging Face cache; open other folders by path"
    )]
    NotHubUrl(String),
    /// The folder is not in the cache.
    #[error("{org}/{name} is not in the Hugging Face cache ({}); fetch it with `huggingface-cli download {org}/{name} config.json model.safetensors`", repo.display())]
    NotCached {
        /// The organisation.
        org: String,
        /// The model.
        name: String,
        /// Where it was looked for.
        repo: PathBuf,
    },
}

/// `HubError::Io` for `path`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The files a backbone folder needs.
pub const FILES: [&str; 2] = ["config.json", "model.safetensors"];

/// A file's metadata as the hub's `HEAD` response gives it.
struct Metadata {
    commit: Option<String>,
    etag: Option<String>,
}

/// `HEAD url` without following redirects: the commit and the etag (`X-Linked-Etag` for files
/// kept in LFS, else `ETag`; quotes and a weak `W/` dropped), when the server gives them.
fn head(url: &str) -> Result<Metadata, HubError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent.head(url).call().map_err(|e| HubError::Http {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        return Err(HubError::Status {
            url: url.to_string(),
            status,
        });
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let clean = |v: String| v.trim_start_matches("W/").trim_matches('"').to_string();
    let safe =
        |v: &String| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    Ok(Metadata {
        commit: header("x-repo-commit").filter(safe),
        etag: header("x-linked-etag")
            .or_else(|| header("etag"))
            .map(clean)
            .filter(safe),
    })
}

/// Downloads `base` + each of [`FILES`] (`base` ends with `/`) for `org/name` at revision
/// `rev` into the hub cache `cache`; returns the snapshot folder. `progress` hears the bytes
/// done of the current file and its size, when the server says.
pub fn download(
    base: &str,
    (org, name, rev): (&str, &str, &str),
    cache: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<PathBuf, HubError> {
    let repo = cache.join(format!("models--{org}--{name}"));
    let blobs = repo.join("blobs");
    let mut commit: Option<String> = None;
    for file in FILES {
        let url = format!("{base}{file}");
        let meta = head(&url)?;
        let commit = commit
            .get_or_insert_with(|| meta.commit.clone().unwrap_or_else(|| rev.to_string()))
            .clone();
        let mut response = ureq::get(&url).call().map_err(|e| HubError::Http {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let total: Option<u64> = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        progress(0, total);
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        let partial = blobs.join(format!(".{file}.incomplete-{}", std::process::id()));
        let mut fetch = || -> std::io::Result<String> {
            let mut out = std::fs::File::create(&partial)?;
            let mut hash = Sha256::new();
            let mut done = 0u64;
            let mut body = response.body_mut().as_reader();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = body.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                hash.update(&buf[..n]);
                done += n as u64;
                progress(done, total);
            }
            out.sync_all()?;
            // Without an etag the blob is named by its SHA-256, which is what the hub's etag of
            // an LFS file is.
            let etag = meta
                .etag
                .clone()
                .unwrap_or_else(|| hash.finalize().iter().map(|b| format!("{b:02x}")).collect());
            std::fs::rename(&partial, blobs.join(&etag))?;
            Ok(etag)
        };
        let etag = fetch().map_err(|source| {
            let _ = std::fs::remove_file(&partial);
            HubError::Io {
                path: PathBuf::from(&url),
                source,
            }
        })?;
        let snapshot = repo.join("snapshots").join(&commit);
        std::fs::create_dir_all(&snapshot).map_err(io(&snapshot))?;
        let link = snapshot.join(file);
        link_blob(&blobs.join(&etag), &link, &etag).map_err(io(&link))?;
    }
    // FILES is not empty, so the loop set the commit.
    let commit = commit.unwrap_or_else(|| rev.to_string());
    let refs = repo.join("refs");
    std::fs::create_dir_all(&refs).map_err(io(&refs))?;
    crate::durable::write_atomic(&refs.join(rev), commit.as_bytes()).map_err(|e| HubError::Io {
        path: e.path,
        source: e.source,
    })?;
    Ok(repo.join("snapshots").join(commit))
}

/// `snapshot_file` → `../../blobs/ETAG`, as `huggingface_hub` links them; a copy where the
/// system has no symlinks (as `huggingface_hub` also falls back to).
fn link_blob(blob: &Path, snapshot_file: &Path, etag: &str) -> std::io::Result<()> {
    if snapshot_file.symlink_metadata().is_ok() {
        std::fs::remove_file(snapshot_file)?;
    }
    #[cfg(unix)]
    {
        let _ = blob;
        std::os::unix::fs::symlink(Path::new("../../blobs").join(etag), snapshot_file)
    }
    #[cfg(not(unix))]
    {
        let _ = etag;
        std::fs::copy(blob, snapshot_file).map(|_| ())
    }
}

/// `https://huggingface.co/ORG/NAME/resolve/REV/` → `(ORG, NAME, REV)`.
pub fn hub_parts(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.strip_prefix("https://huggingface.co/")?;
    let mut parts = rest.trim_end_matches('/').split('/');
    let (org, name, resolve, rev) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (resolve == "resolve" && parts.next().is_none()).then_some((org, name, rev))
}

/// The snapshot folder of a Hugging Face URL in the local Hugging Face cache, if it is there.
pub fn hub_cache_dir(url: &str) -> Result<PathBuf, HubError> {
    hub_cache_dir_in(&hub_cache()?, url)
}

/// The hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, as
/// `huggingface_hub` resolves it.
pub fn hub_cache() -> Result<PathBuf, HubError> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub")))
        .ok_or(HubError::NoCache)
}

/// [`hub_cache_dir`] in the hub cache `cache`.
pub fn hub_cache_dir_in(cache: &Path, url: &str) -> Result<PathBuf, HubError> {
    let (org, name, rev) = hub_parts(url).ok_or_else(|| HubError::NotHubUrl(url.to_string()))?;
    let repo = cache.join(format!("models--{org}--{name}"));
    let snapshot = std::fs::read_to_string(repo.join("refs").join(rev))
        .map(|hash| repo.join("snapshots").join(hash.trim()))
        .unwrap_or_else(|_| repo.join("snapshots").join(rev));
    if snapshot.join("config.json").is_file() && snapshot.join("model.safetensors").is_file() {
        Ok(snapshot)
    } else {
        Err(HubError::NotCached {
            org: org.to_string(),
            name: name.to_string(),
            repo,
        })
    }
}

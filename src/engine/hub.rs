//! Downloads a Hugging Face model folder (`config.json`, `model.safetensors`) into the local
//! Hugging Face cache, laid out as `huggingface_hub` reads it:
//! `HOME/hub/models--ORG--NAME/snapshots/COMMIT/FILE` and `refs/REV` holding `COMMIT` (taken
//! from the server's `X-Repo-Commit` header, or the revision itself). Each file is written
//! beside its place and renamed into it, so a broken download leaves nothing half-written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The files a backbone folder needs.
pub const FILES: [&str; 2] = ["config.json", "model.safetensors"];

/// Downloads `base` + each of [`FILES`] (`base` ends with `/`) for `org/name` at revision
/// `rev` into the cache under `home`; returns the snapshot folder. `progress` hears the bytes
/// done of the current file and its size, when the server says.
pub fn download(
    base: &str,
    (org, name, rev): (&str, &str, &str),
    home: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<PathBuf, String> {
    let repo = home.join("hub").join(format!("models--{org}--{name}"));
    let mut snapshot: Option<PathBuf> = None;
    for file in FILES {
        let url = format!("{base}{file}");
        let mut response = ureq::get(&url).call().map_err(|e| format!("{url}: {e}"))?;
        let commit = response
            .headers()
            .get("x-repo-commit")
            .and_then(|v| v.to_str().ok())
            .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            .unwrap_or(rev)
            .to_string();
        let total: Option<u64> = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        progress(0, total);
        let dir = snapshot
            .get_or_insert_with(|| repo.join("snapshots").join(&commit))
            .clone();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dest = dir.join(file);
        let partial = dir.join(format!(".{file}.partial-{}", std::process::id()));
        let mut result = || -> std::io::Result<()> {
            let mut out = std::fs::File::create(&partial)?;
            let mut done = 0u64;
            let mut body = response.body_mut().as_reader();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = body.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                done += n as u64;
                progress(done, total);
            }
            out.sync_all()?;
            std::fs::rename(&partial, &dest)
        };
        if let Err(e) = result() {
            let _ = std::fs::remove_file(&partial);
            return Err(format!("{url}: {e}"));
        }
        let refs = repo.join("refs");
        std::fs::create_dir_all(&refs)
            .and_then(|()| std::fs::write(refs.join(rev), &commit))
            .map_err(|e| format!("{}: {e}", refs.display()))?;
    }
    snapshot.ok_or_else(|| "nothing downloaded".to_string())
}

/// `https://huggingface.co/ORG/NAME/resolve/REV/` → `(ORG, NAME, REV)`.
pub fn hub_parts(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.strip_prefix("https://huggingface.co/")?;
    let mut parts = rest.trim_end_matches('/').split('/');
    let (org, name, resolve, rev) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (resolve == "resolve" && parts.next().is_none()).then_some((org, name, rev))
}

/// The snapshot folder of a Hugging Face URL in the local Hugging Face cache, if it is there.
pub fn hub_cache_dir(url: &str) -> Result<std::path::PathBuf, String> {
    hub_cache_dir_in(&hf_home()?, url)
}

/// The Hugging Face home folder: `$HF_HOME`, else `~/.cache/huggingface`.
pub(crate) fn hf_home() -> Result<std::path::PathBuf, String> {
    std::env::var_os("HF_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                std::path::PathBuf::from(h)
                    .join(".cache")
                    .join("huggingface")
            })
        })
        .ok_or_else(|| "neither HF_HOME nor HOME is set".to_string())
}

/// [`hub_cache_dir`] with the Hugging Face home folder given.
pub(crate) fn hub_cache_dir_in(
    home: &std::path::Path,
    url: &str,
) -> Result<std::path::PathBuf, String> {
    let (org, name, rev) = hub_parts(url).ok_or_else(|| {
        format!("{url}: the desktop app reads Hugging Face URLs (https://huggingface.co/ORG/NAME/resolve/main/) from the Hugging Face cache; open other folders by path")
    })?;
    let repo = home.join("hub").join(format!("models--{org}--{name}"));
    let snapshot = std::fs::read_to_string(repo.join("refs").join(rev))
        .map(|hash| repo.join("snapshots").join(hash.trim()))
        .unwrap_or_else(|_| repo.join("snapshots").join(rev));
    if snapshot.join("config.json").is_file() && snapshot.join("model.safetensors").is_file() {
        Ok(snapshot)
    } else {
        Err(format!(
            "{org}/{name} is not in the Hugging Face cache ({}); fetch it with `huggingface-cli download {org}/{name} config.json model.safetensors`",
            repo.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// Serves `files` over HTTP/1.1 on loopback, one connection per request, with an
    /// `X-Repo-Commit` header.
    fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().take(files.len()) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let body = files
                    .iter()
                    .find(|(name, _)| path.ends_with(name))
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Repo-Commit: abc123\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        format!("http://{addr}/facebook/dinov2-small/resolve/main/")
    }

    #[test]
    fn downloads_land_where_the_hugging_face_cache_keeps_them() {
        let home = tempfile::tempdir().expect("temp dir");
        let base = serve(vec![
            ("config.json", b"{\"model_type\": \"dinov2\"}".to_vec()),
            ("model.safetensors", vec![7u8; 100_000]),
        ]);
        let mut last = (0, None);
        let dir = download(
            &base,
            ("facebook", "dinov2-small", "main"),
            home.path(),
            &mut |done, total| last = (done, total),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let repo = home.path().join("hub/models--facebook--dinov2-small");
        assert_eq!(dir, repo.join("snapshots/abc123"));
        assert_eq!(
            std::fs::read(dir.join("model.safetensors")).expect("weights"),
            vec![7u8; 100_000]
        );
        assert_eq!(
            std::fs::read_to_string(repo.join("refs/main")).expect("ref"),
            "abc123"
        );
        assert_eq!(last, (100_000, Some(100_000)));
        // What the app looks up next time: the cached snapshot, no download.
        let url = "https://huggingface.co/facebook/dinov2-small/resolve/main/";
        assert_eq!(hub_cache_dir_in(home.path(), url).ok(), Some(dir));
    }

    #[test]
    fn hub_urls_are_recognised() {
        let crate::engine::BackboneSource::Url(url) =
            crate::engine::BackboneSource::hub("facebook/dinov2-base")
        else {
            panic!("a hub model is a URL");
        };
        assert_eq!(hub_parts(&url), Some(("facebook", "dinov2-base", "main")));
        assert_eq!(hub_parts("https://example.org/models/tiny/"), None);
    }

    #[test]
    fn the_hub_cache_is_read_where_hugging_face_puts_it() {
        let home = tempfile::tempdir().expect("temp dir");
        let repo = home
            .path()
            .join("hub")
            .join("models--facebook--dinov2-small");
        let snap = repo.join("snapshots").join("abc123");
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
        std::fs::write(repo.join("refs").join("main"), "abc123\n").expect("write");
        let url = "https://huggingface.co/facebook/dinov2-small/resolve/main/";
        let found = |url| hub_cache_dir_in(home.path(), url);
        assert!(found(url).is_err_and(|e| e.contains("huggingface-cli download")));
        std::fs::write(snap.join("config.json"), "{}").expect("write");
        std::fs::write(snap.join("model.safetensors"), "").expect("write");
        assert_eq!(found(url).ok(), Some(snap));
    }
}

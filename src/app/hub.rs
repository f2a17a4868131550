//! Downloads a Hugging Face model folder (`config.json`, `model.safetensors`) into the local
//! Hugging Face cache, laid out as `huggingface_hub` reads it:
//! `HOME/hub/models--ORG--NAME/snapshots/COMMIT/FILE` and `refs/REV` holding `COMMIT` (taken
//! from the server's `X-Repo-Commit` header, or the revision itself). Each file is written
//! beside its place and renamed into it, so a broken download leaves nothing half-written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes done and expected (0 when unknown), shared with the UI.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes received of the current file.
    pub done: AtomicU64,
    /// Its size, 0 when the server does not say.
    pub total: AtomicU64,
}

/// The files a backbone folder needs.
pub const FILES: [&str; 2] = ["config.json", "model.safetensors"];

/// Downloads `base` + each of [`FILES`] (`base` ends with `/`) for `org/name` at revision
/// `rev` into the cache under `home`; returns the snapshot folder.
pub fn download(
    base: &str,
    (org, name, rev): (&str, &str, &str),
    home: &Path,
    progress: &Progress,
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
        let total = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        progress.total.store(total, Ordering::Relaxed);
        progress.done.store(0, Ordering::Relaxed);
        let dir = snapshot
            .get_or_insert_with(|| repo.join("snapshots").join(&commit))
            .clone();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dest = dir.join(file);
        let partial = dir.join(format!(".{file}.partial-{}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut out = std::fs::File::create(&partial)?;
            let mut body = response.body_mut().as_reader();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = body.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                progress.done.fetch_add(n as u64, Ordering::Relaxed);
            }
            out.sync_all()?;
            std::fs::rename(&partial, &dest)
        })();
        if let Err(e) = result {
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
        let progress = Progress::default();
        let dir = download(
            &base,
            ("facebook", "dinov2-small", "main"),
            home.path(),
            &progress,
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
        assert_eq!(progress.done.load(Ordering::Relaxed), 100_000);
        // What the app looks up next time: the cached snapshot, no download.
        let url = "https://huggingface.co/facebook/dinov2-small/resolve/main/";
        assert_eq!(
            super::super::backbone::hub_cache_dir_in(home.path(), url).ok(),
            Some(dir)
        );
    }
}

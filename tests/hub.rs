//! The Hugging Face cache, both ways: what amflow downloads (from a loopback server that answers
//! as the hub does, a redirect to a "CDN" for the weights included) lands in the layout
//! `huggingface_hub` writes and is found by `huggingface_hub` itself; and what `huggingface_hub`
//! downloaded from the same server is found by amflow offline. The Python package must be
//! installed (`.ci/setup` does): without it these tests fail rather than pass unchecked.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use amflow::engine::hub::{download, hub_cache_dir_in};
use sha2::{Digest, Sha256};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const HUB_URL: &str = "https://huggingface.co/facebook/dinov2-small/resolve/main/";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The two files of a model folder.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("config.json", b"{\"model_type\": \"dinov2\"}".to_vec()),
        (
            "model.safetensors",
            (0..100_000u32).map(|i| (i % 251) as u8).collect(),
        ),
    ]
}

/// Serves `files` as the hub does on loopback: `HEAD`/`GET /facebook/dinov2-small/resolve/main/F`
/// with `X-Repo-Commit` and the etag; the weights (as an LFS file) answer with a redirect to
/// `/cdn/F` on another host (127.0.0.2, as the hub sends them to its CDN) carrying
/// `X-Linked-Etag` and `X-Linked-Size`, and the CDN's own answer has no commit. Returns the
/// hub's origin.
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let cdn = listen("127.0.0.2", files.clone(), String::new());
    listen("127.0.0.1", files, cdn)
}

/// One host of [`serve`]; `cdn` is where it redirects the weights (empty: it is the CDN).
fn listen(host: &str, files: Vec<(&'static str, Vec<u8>)>, cdn: String) -> String {
    let listener = TcpListener::bind((host, 0)).unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let me = cdn;
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                    break;
                }
            }
            let found = files
                .iter()
                .find(|(name, _)| path.ends_with(&format!("/{name}")));
            let (head, body): (String, &[u8]) = match found {
                None => (
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n".into(),
                    &[],
                ),
                Some((name, bytes))
                    if *name == "model.safetensors" && path.contains("/resolve/") =>
                {
                    (
                        format!(
                            "HTTP/1.1 302 Found\r\nLocation: {me}/cdn/{name}\r\nX-Repo-Commit: {COMMIT}\r\nX-Linked-Etag: \"{}\"\r\nX-Linked-Size: {}\r\nContent-Length: 0\r\n",
                            sha256(bytes),
                            bytes.len()
                        ),
                        &[],
                    )
                }
                Some((_, bytes)) if path.starts_with("/cdn/") => (
                    format!(
                        "HTTP/1.1 200 OK\r\nETag: \"cdn-{}\"\r\nContent-Length: {}\r\n",
                        bytes.len(),
                        bytes.len()
                    ),
                    bytes,
                ),
                Some((_, bytes)) => (
                    format!(
                        "HTTP/1.1 200 OK\r\nX-Repo-Commit: {COMMIT}\r\nETag: \"{}\"\r\nContent-Length: {}\r\n",
                        sha256(bytes),
                        bytes.len()
                    ),
                    bytes,
                ),
            };
            let _ = stream.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes());
            if method != "HEAD" {
                let _ = stream.write_all(body);
            }
        }
    });
    origin
}

/// Runs Python with `huggingface_hub`.
fn python(script: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .envs(env.iter().copied())
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "python failed:\n{text}");
    text
}

#[test]
fn what_amflow_downloads_is_the_layout_huggingface_hub_writes_and_reads() {
    let cache = tempfile::tempdir().unwrap();
    let origin = serve(files());
    let mut last = (0, None);
    let dir = download(
        &format!("{origin}/facebook/dinov2-small/resolve/main/"),
        ("facebook", "dinov2-small", "main"),
        cache.path(),
        &mut |done, total| last = (done, total),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let repo = cache.path().join("models--facebook--dinov2-small");
    // One snapshot named by the hub's commit (the weights' redirect carried it, the CDN's
    // answer did not), files linked to blobs named by their etags, and refs/main naming it.
    assert_eq!(dir, repo.join("snapshots").join(COMMIT));
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        COMMIT
    );
    for (name, bytes) in files() {
        let link = std::fs::read_link(dir.join(name)).unwrap();
        assert_eq!(link, Path::new("../../blobs").join(sha256(&bytes)));
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes);
    }
    assert_eq!(last, (100_000, Some(100_000)));
    // amflow finds it offline next time.
    assert_eq!(
        hub_cache_dir_in(cache.path(), HUB_URL).ok(),
        Some(dir.clone())
    );
    // And huggingface_hub finds it too, and its cache scan finds nothing amiss.
    let cache_dir = cache.path().to_str().unwrap();
    let said = python(
        &format!(
            r#"
import huggingface_hub as h
info = h.scan_cache_dir("{cache_dir}")
assert not info.warnings, info.warnings
[repo] = info.repos
assert repo.repo_id == "facebook/dinov2-small", repo.repo_id
[rev] = repo.revisions
assert rev.commit_hash == "{COMMIT}" and "main" in rev.refs, rev
for name in ("config.json", "model.safetensors"):
    path = h.try_to_load_from_cache("facebook/dinov2-small", name, cache_dir="{cache_dir}")
    assert isinstance(path, str), (name, path)
    print(name, len(open(path, "rb").read()))
"#
        ),
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert!(said.contains("model.safetensors 100000"), "{said}");
}

#[test]
fn what_huggingface_hub_downloads_is_found_by_amflow_offline() {
    let cache = tempfile::tempdir().unwrap();
    let origin = serve(files());
    let cache_dir = cache.path().to_str().unwrap();
    python(
        &format!(
            r#"
import huggingface_hub as h
for name in ("config.json", "model.safetensors"):
    h.hf_hub_download("facebook/dinov2-small", name, cache_dir="{cache_dir}")
"#
        ),
        &[("HF_ENDPOINT", &origin), ("HF_HUB_DISABLE_XET", "1")],
    );
    let dir = hub_cache_dir_in(cache.path(), HUB_URL).unwrap_or_else(|e| panic!("{e}"));
    for (name, bytes) in files() {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }
}

#[test]
fn the_hub_cache_is_read_where_hugging_face_puts_it() {
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join("models--facebook--dinov2-small");
    let snap = repo.join("snapshots").join("abc123");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "abc123\n").unwrap();
    let found = |url| hub_cache_dir_in(cache.path(), url);
    assert!(found(HUB_URL).is_err_and(|e| e.to_string().contains("huggingface-cli download")));
    std::fs::write(snap.join("config.json"), "{}").unwrap();
    std::fs::write(snap.join("model.safetensors"), "").unwrap();
    assert_eq!(found(HUB_URL).ok(), Some(snap));
}

#[test]
fn hub_urls_are_recognised() {
    use amflow::engine::hub::hub_parts;
    let amflow::engine::BackboneSource::Url(url) =
        amflow::engine::BackboneSource::hub("facebook/dinov2-base")
    else {
        panic!("a hub model is a URL");
    };
    assert_eq!(hub_parts(&url), Some(("facebook", "dinov2-base", "main")));
    assert_eq!(hub_parts("https://example.org/models/tiny/"), None);
}

//! Where the app's backbone comes from: the embedded ViT-S/14, a local Hugging Face folder
//! (native), or a folder URL such as `https://huggingface.co/facebook/dinov2-base/resolve/main/`.
//!
//! In the browser a URL is downloaded with progress and kept in the Cache API. Natively a
//! Hugging Face URL is looked up in the Hugging Face cache folder
//! (`$HF_HOME/hub/models--facebook--dinov2-base/snapshots/…`, default `~/.cache/huggingface`,
//! shared with `huggingface_hub`) and downloaded into it with progress when it is not there.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use burn::tensor::Device;

use crate::model::Dinov2;

/// The Hugging Face DINOv2 models the picker offers.
pub const HUB_MODELS: [&str; 3] = [
    "facebook/dinov2-small",
    "facebook/dinov2-base",
    "facebook/dinov2-large",
];

/// Where a backbone comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BackboneSource {
    /// The embedded ViT-S/14.
    #[default]
    Embedded,
    /// A folder with `config.json` and `model.safetensors` (native).
    Dir(std::path::PathBuf),
    /// A folder URL holding `config.json` and `model.safetensors`.
    Url(String),
}

impl BackboneSource {
    /// `org/name` → its `resolve/main/` URL; anything else is taken as a folder URL.
    pub fn hub(model: &str) -> Self {
        Self::Url(format!("https://huggingface.co/{model}/resolve/main/"))
    }

    /// How the source is shown.
    pub fn label(&self) -> String {
        match self {
            Self::Embedded => crate::embedded::NAME.to_string(),
            Self::Dir(dir) => dir.display().to_string(),
            Self::Url(url) => url.clone(),
        }
    }
}

/// A loaded backbone.
pub struct Loaded {
    /// How it is named.
    pub name: String,
    /// The model.
    pub model: Arc<Dinov2>,
    /// The device it lives on.
    pub device: Device,
    /// Seconds to load it.
    pub seconds: f64,
}

/// `base` joined with `file` (a `/` added where missing).
fn join(base: &str, file: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{file}")
    } else {
        format!("{base}/{file}")
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
#[cfg(not(target_arch = "wasm32"))]
pub fn hub_cache_dir(url: &str) -> Result<std::path::PathBuf, String> {
    hub_cache_dir_in(&hf_home()?, url)
}

/// The Hugging Face home folder: `$HF_HOME`, else `~/.cache/huggingface`.
#[cfg(not(target_arch = "wasm32"))]
fn hf_home() -> Result<std::path::PathBuf, String> {
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
#[cfg(not(target_arch = "wasm32"))]
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

/// Loads `source` on `device` (native: from disk; a Hugging Face URL missing from the cache is
/// downloaded into it first).
#[cfg(not(target_arch = "wasm32"))]
fn load(
    source: &BackboneSource,
    device: Device,
    progress: &super::hub::Progress,
) -> Result<Loaded, String> {
    let start = web_time::Instant::now();
    let model = match source {
        BackboneSource::Embedded => crate::embedded::backbone(&device),
        BackboneSource::Dir(dir) => Dinov2::load_dir(dir, &device),
        BackboneSource::Url(url) => {
            let dir = match (hub_cache_dir(url), hub_parts(url)) {
                (Ok(dir), _) => dir,
                (Err(_), Some(parts)) => {
                    super::hub::download(&join(url, ""), parts, &hf_home()?, progress)?
                }
                (Err(missing), None) => return Err(missing),
            };
            Dinov2::load_dir(dir, &device)
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(Loaded {
        name: source.label(),
        model: Arc::new(model),
        device,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Loads `source` on `device` (browser: URLs fetched with progress, through the cache).
#[cfg(target_arch = "wasm32")]
async fn load(
    source: &BackboneSource,
    device: Device,
    progress: &super::fetch::Progress,
    ctx: &egui::Context,
) -> Result<Loaded, String> {
    let start = web_time::Instant::now();
    // Tensors are made block by block, yielding to the page in between (one thread here).
    let yield_to_page = super::background::yield_now;
    let model = match source {
        BackboneSource::Embedded => Dinov2::from_bytes_stepwise(
            crate::embedded::CONFIG_JSON,
            crate::embedded::WEIGHTS,
            "embedded dinov2-small",
            &device,
            yield_to_page,
        )
        .await
        .map_err(|e| e.to_string()),
        BackboneSource::Dir(dir) => Err(format!(
            "{}: the web app loads backbones from URLs",
            dir.display()
        )),
        BackboneSource::Url(url) => {
            let config =
                super::fetch::fetch_bytes(&join(url, "config.json"), progress, ctx).await?;
            let config = String::from_utf8(config)
                .map_err(|_| format!("{}: not UTF-8 text", join(url, "config.json")))?;
            let weights =
                super::fetch::fetch_bytes(&join(url, "model.safetensors"), progress, ctx).await?;
            Dinov2::from_bytes_stepwise(&config, &weights, url, &device, yield_to_page)
                .await
                .map_err(|e| e.to_string())
        }
    }?;
    Ok(Loaded {
        name: source.label(),
        model: Arc::new(model),
        device,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A backbone being loaded in the background.
pub struct Loading {
    /// The answer.
    pub rx: Receiver<Result<Loaded, String>>,
    /// Download progress (browser).
    #[cfg(target_arch = "wasm32")]
    pub progress: super::fetch::Progress,
    /// Download progress (desktop).
    #[cfg(not(target_arch = "wasm32"))]
    pub progress: Arc<super::hub::Progress>,
}

impl Loading {
    /// Starts loading `source` on `device`.
    pub fn start(source: BackboneSource, device: Device, ctx: &egui::Context) -> Self {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        #[cfg(not(target_arch = "wasm32"))]
        {
            let progress = Arc::new(super::hub::Progress::default());
            let shared = progress.clone();
            std::thread::spawn(move || {
                // Repaint while a download runs, so the bar moves.
                let ticker = ctx.clone();
                let watched = shared.clone();
                let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let stop = done.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        if watched.done.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                            ticker.request_repaint();
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                });
                // The receiver only disappears when the app closes; nothing is lost then.
                let _ = tx.send(load(&source, device, &shared));
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                ctx.request_repaint();
            });
            Self { rx, progress }
        }
        #[cfg(target_arch = "wasm32")]
        {
            let progress = super::fetch::Progress::default();
            let shared = progress.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = tx.send(load(&source, device, &shared, &ctx).await);
                ctx.request_repaint();
            });
            Self { rx, progress }
        }
    }

    /// Shows the spinner (and the download's progress in the browser).
    pub fn ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("loading the backbone…");
        });
        #[cfg(target_arch = "wasm32")]
        let (done, total) = self.progress.get();
        #[cfg(not(target_arch = "wasm32"))]
        let (done, total) = {
            use std::sync::atomic::Ordering::Relaxed;
            let total = self.progress.total.load(Relaxed);
            (
                self.progress.done.load(Relaxed),
                (total > 0).then_some(total),
            )
        };
        {
            if done > 0 {
                let mb = |b: u64| b as f64 / 1e6;
                match total {
                    Some(t) if t > 0 => {
                        ui.add(egui::ProgressBar::new(done as f32 / t as f32).text(format!(
                            "{:.1} / {:.1} MB",
                            mb(done),
                            mb(t)
                        )));
                    }
                    _ => {
                        ui.label(format!("{:.1} MB", mb(done)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_recognised() {
        let BackboneSource::Url(url) = BackboneSource::hub("facebook/dinov2-base") else {
            panic!("a hub model is a URL");
        };
        assert_eq!(hub_parts(&url), Some(("facebook", "dinov2-base", "main")));
        assert_eq!(hub_parts("https://example.org/models/tiny/"), None);
        assert_eq!(
            join("https://x/y", "config.json"),
            "https://x/y/config.json"
        );
        assert_eq!(
            join("https://x/y/", "config.json"),
            "https://x/y/config.json"
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
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

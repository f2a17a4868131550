//! Where the engine's models come from.
//!
//! | source | desktop | web worker |
//! | --- | --- | --- |
//! | default backbone, demo checkpoint | compiled in (`crate::embedded`) | files beside the page, checked against its manifest, Cache API |
//! | folder | read from disk | ❌ (URLs only) |
//! | Hugging Face URL | the Hugging Face cache, downloaded into it when missing | fetched, Cache API |
//! | other URL | ❌ (open the folder or file) | fetched, Cache API |

use burn::tensor::Device;

use super::EngineError;
use super::protocol::{BackboneSource, CheckpointSource, Reply};
use crate::model::Dinov2;

/// `base` joined with `file` (a `/` added where missing).
pub(crate) fn join(base: &str, file: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{file}")
    } else {
        format!("{base}/{file}")
    }
}

/// Builds the backbone of `source` on `device`; downloads report [`Reply::Progress`] and, once
/// every file is there, [`Reply::Fetched`] through `emit`.
#[cfg(not(target_arch = "wasm32"))]
pub async fn backbone(
    source: &BackboneSource,
    device: &Device,
    emit: &mut dyn FnMut(Reply),
) -> Result<Dinov2, EngineError> {
    use super::hub;
    let model = match source {
        BackboneSource::Embedded => crate::embedded::backbone(device),
        BackboneSource::Dir(dir) => Dinov2::load_dir(dir, device),
        BackboneSource::Url(url) => {
            let dir = match (hub::hub_cache_dir(url), hub::hub_parts(url)) {
                (Ok(dir), _) => dir,
                (Err(_), Some(parts)) => hub::download(
                    &join(url, ""),
                    parts,
                    &hub::hub_cache().map_err(EngineError::download)?,
                    &mut |done, total| emit(Reply::Progress { done, total }),
                )
                .map_err(EngineError::download)?,
                (Err(missing), None) => return Err(EngineError::download(missing)),
            };
            emit(Reply::Fetched);
            Dinov2::load_dir(dir, device)
        }
    };
    model.map_err(|e| EngineError::Backbone(e.to_string()))
}

/// Builds the backbone of `source` on `device` in the page's worker: files fetched with
/// progress through the Cache API, the default one checked against the page's manifest.
#[cfg(target_arch = "wasm32")]
pub async fn backbone(
    source: &BackboneSource,
    device: &Device,
    emit: &mut dyn FnMut(Reply),
) -> Result<Dinov2, EngineError> {
    use super::fetch;
    let mut progress = |done, total| emit(Reply::Progress { done, total });
    let (config, weights, name) = match source {
        BackboneSource::Embedded => {
            let manifest = fetch::manifest().await.map_err(EngineError::download)?;
            let file = |name: &str| format!("{}{name}", crate::manifest::BACKBONE_DIR);
            let config = fetch::fetch_asset(&manifest, &file("config.json"), &mut progress)
                .await
                .map_err(EngineError::download)?;
            let weights = fetch::fetch_asset(&manifest, &file("model.safetensors"), &mut progress)
                .await
                .map_err(EngineError::download)?;
            (
                config,
                weights,
                "dinov2-small (beside the page)".to_string(),
            )
        }
        BackboneSource::Dir(dir) => {
            return Err(EngineError::Unsupported(format!(
                "{}: the web app loads backbones from URLs",
                dir.display()
            )));
        }
        BackboneSource::Url(url) => {
            let config = fetch::fetch_bytes(&join(url, "config.json"), &mut progress)
                .await
                .map_err(EngineError::download)?;
            let weights = fetch::fetch_bytes(&join(url, "model.safetensors"), &mut progress)
                .await
                .map_err(EngineError::download)?;
            (config, weights, url.clone())
        }
    };
    emit(Reply::Fetched);
    let config = String::from_utf8(config)
        .map_err(|_| EngineError::Backbone(format!("{name}: config.json is not UTF-8 text")))?;
    Dinov2::from_bytes(&config, &weights, &name, device)
        .map_err(|e| EngineError::Backbone(e.to_string()))
}

/// The bytes of a classifier checkpoint.
pub async fn checkpoint(source: &CheckpointSource) -> Result<Vec<u8>, EngineError> {
    match source {
        #[cfg(not(target_arch = "wasm32"))]
        CheckpointSource::Demo => crate::embedded::demo_checkpoint()
            .map(<[u8]>::to_vec)
            .map_err(|e| EngineError::Checkpoint(e.to_string())),
        #[cfg(target_arch = "wasm32")]
        CheckpointSource::Demo => {
            let manifest = super::fetch::manifest()
                .await
                .map_err(EngineError::download)?;
            super::fetch::fetch_asset(&manifest, crate::manifest::DEMO_CHECKPOINT, &mut |_, _| {})
                .await
                .map_err(EngineError::download)
        }
        #[cfg(not(target_arch = "wasm32"))]
        CheckpointSource::Path(path) => std::fs::read(path)
            .map_err(|e| EngineError::Checkpoint(format!("cannot read {}: {e}", path.display()))),
        #[cfg(target_arch = "wasm32")]
        CheckpointSource::Path(path) => Err(EngineError::Unsupported(format!(
            "{}: the web app loads checkpoints from URLs",
            path.display()
        ))),
        #[cfg(not(target_arch = "wasm32"))]
        CheckpointSource::Url(url) => Err(EngineError::Unsupported(format!(
            "{url}: the desktop app opens checkpoint files; download it first"
        ))),
        #[cfg(target_arch = "wasm32")]
        CheckpointSource::Url(url) => super::fetch::fetch_bytes(url, &mut |_, _| {})
            .await
            .map_err(EngineError::download),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_urls_are_joined_with_one_slash() {
        assert_eq!(
            join("https://x/y", "config.json"),
            "https://x/y/config.json"
        );
        assert_eq!(
            join("https://x/y/", "config.json"),
            "https://x/y/config.json"
        );
    }
}

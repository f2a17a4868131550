//! The app's backbone: which one is asked for, and its load as the engine reports it (download
//! progress, then the backbone's description). Where each source is loaded from:
//! `crate::engine`'s `load` module.

use crate::engine::{BackboneInfo, Engine, EngineError, Replies, Reply, Request};

pub use crate::engine::BackboneSource;

/// The Hugging Face DINOv2 models the picker offers.
pub const HUB_MODELS: [&str; 3] = [
    "facebook/dinov2-small",
    "facebook/dinov2-base",
    "facebook/dinov2-large",
];

/// A backbone being loaded by the engine.
pub struct Loading {
    replies: Replies,
    /// Bytes of the current file done and expected.
    progress: (u64, Option<u64>),
    /// Whether every file has arrived (the model is being built).
    fetched: bool,
}

/// How a load ended.
pub type Loaded = Result<BackboneInfo, EngineError>;

impl Loading {
    /// Asks `engine` to load `source`.
    pub fn start(engine: &Engine, source: BackboneSource) -> Self {
        Self {
            replies: engine.request(Request::LoadBackbone(source)),
            progress: (0, None),
            fetched: false,
        }
    }

    /// Takes in what the engine said; the outcome once the load has ended.
    pub fn poll(&mut self) -> Option<Loaded> {
        while let Ok(reply) = self.replies.try_recv() {
            match reply {
                Reply::Progress { done, total } => self.progress = (done, total),
                Reply::Fetched => self.fetched = true,
                Reply::BackboneLoaded(result) => return Some(result),
                other => return Some(Err(other.unexpected("a backbone"))),
            }
        }
        None
    }

    /// Whether its files are still downloading.
    pub fn fetching(&self) -> bool {
        !self.fetched
    }

    /// Shows the spinner and the download's progress.
    pub fn ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            super::busy::busy(ui);
            ui.label(if self.fetched {
                "building the backbone…"
            } else {
                "loading the backbone…"
            });
        });
        let (done, total) = self.progress;
        let mb = |b: u64| b as f64 / 1e6;
        match total {
            // The bar from the first byte on, since the size is known (from the page's
            // manifest, or the server's Content-Length).
            Some(t) if t > 0 && !self.fetched => {
                ui.add(egui::ProgressBar::new(done as f32 / t as f32).text(format!(
                    "{:.1} / {:.1} MB",
                    mb(done),
                    mb(t)
                )));
            }
            _ if done > 0 && !self.fetched => {
                ui.label(format!("{:.1} MB", mb(done)));
            }
            _ => {}
        }
    }
}

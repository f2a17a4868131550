//! The app's predictions: a classifier checkpoint (the embedded demo, a file, or a URL) around
//! the loaded backbone, run on `T` frames of the clip sampled as `amflow eval` samples them
//! (middles of `T` equal segments, short side resized to the checkpoint's size, centre crop),
//! top-5 classes with bars.

use std::sync::Arc;

use super::AppError;
use crate::engine::{ClassifierInfo, Engine, Replies, Reply, Request};

pub use crate::engine::CheckpointSource;

/// Class names with probabilities, best first.
type Ranked = Vec<(String, f32)>;

/// The panel's state.
pub struct PredictPanel {
    source: CheckpointSource,
    /// The classifier, once the engine has loaded it for the current backbone.
    model: Option<Arc<ClassifierInfo>>,
    building: Option<Replies>,
    /// Frames of the clip being decoded, for which clip.
    frames: Option<(super::clip::FramesReply, u64)>,
    running: Option<(Replies, u64)>,
    result: Option<(Ranked, u64)>,
    /// Which backbone the model was built on (its load count).
    built_for: Option<u64>,
    /// The clip last asked for frames.
    asked: Option<u64>,
    /// The last error.
    pub error: Option<AppError>,
    /// Why nothing is predicted, when that is no failure (the demo checkpoint does not fit a
    /// backbone other than the embedded one).
    notice: Option<String>,
    text: String,
}

impl PredictPanel {
    /// A panel that will load `source`.
    pub fn new(source: CheckpointSource) -> Self {
        Self {
            text: match &source {
                CheckpointSource::Demo => String::new(),
                other => other.label(),
            },
            source,
            model: None,
            building: None,
            frames: None,
            running: None,
            result: None,
            built_for: None,
            asked: None,
            error: None,
            notice: None,
        }
    }

    /// Drives the work: has the engine load the classifier around the backbone `name` (loaded
    /// as number `backbone_id`), asks `clip` for the frames, has the engine classify them.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        engine: &Engine,
        backbone: (&str, u64),
        clip: &mut super::ClipPanel,
    ) {
        let (name, backbone_id) = backbone;
        if self.built_for != Some(backbone_id) && self.building.is_none() {
            self.built_for = Some(backbone_id);
            self.model = None;
            self.result = None;
            self.error = None;
            self.notice = None;
            if self.source == CheckpointSource::Demo && name != crate::embedded::NAME {
                self.notice = Some(
                    "the demo checkpoint was trained on the embedded ViT-S/14; load a checkpoint trained on this backbone (amflow train --backbone …)".into(),
                );
                return;
            }
            self.building = Some(engine.request(Request::LoadClassifier(self.source.clone())));
        }
        if let Some(rx) = &self.building
            && let Ok(reply) = rx.try_recv()
        {
            self.building = None;
            let result = match reply {
                Reply::ClassifierLoaded(r) => r,
                other => Err(other.unexpected("a classifier")),
            };
            match result {
                Ok(m) => self.model = Some(Arc::new(m)),
                Err(e) => self.error = Some(e.into()),
            }
        }
        let Some(model) = &self.model else { return };
        let generation = clip.generation;
        if let Some((rx, g)) = &self.frames
            && let Ok(result) = rx.try_recv()
        {
            let g = *g;
            self.frames = None;
            match result {
                Ok(frames) => {
                    let frames = frames.iter().map(Into::into).collect();
                    self.running = Some((engine.request(Request::Classify { frames }), g));
                }
                Err(e) => self.error = Some(e.into()),
            }
        }
        if let Some((rx, g)) = &self.running
            && let Ok(reply) = rx.try_recv()
        {
            let g = *g;
            self.running = None;
            let result = match reply {
                Reply::Classified(r) => r,
                other => Err(other.unexpected("classes")),
            };
            match result {
                Ok(ranked) => {
                    self.result = Some((ranked, g));
                    self.error = None;
                }
                Err(e) => self.error = Some(e.into()),
            }
        }
        let done = matches!(&self.result, Some((_, g)) if *g == generation);
        let busy = self.frames.is_some() || self.running.is_some();
        // A failure is not retried on the same clip; another clip gets a fresh try.
        if self.asked != Some(generation) {
            self.error = None;
        }
        if !done && !busy && self.error.is_none() {
            let t = model.config.frames;
            if let Some(rx) = clip.request_segments(t, ctx) {
                self.frames = Some((rx, generation));
                self.asked = Some(generation);
            }
        }
    }

    /// The checkpoint picker and the top-5.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<CheckpointSource> {
        let mut chosen = None;
        ui.horizontal(|ui| {
            ui.label("checkpoint:");
            if ui
                .selectable_label(self.source == CheckpointSource::Demo, "demo")
                .clicked()
            {
                chosen = Some(CheckpointSource::Demo);
            }
        });
        let hint = if cfg!(target_arch = "wasm32") {
            "checkpoint URL (.safetensors)"
        } else {
            "checkpoint file (.safetensors)"
        };
        if let Some(text) = super::field::load_row(ui, &mut self.text, hint) {
            chosen = Some(if text.contains("://") || cfg!(target_arch = "wasm32") {
                CheckpointSource::Url(text)
            } else {
                CheckpointSource::Path(text.into())
            });
        }
        if let Some(model) = &self.model {
            let c = &model.config;
            ui.weak(format!(
                "{}: AM blocks {:?}, {:?} flow, {:?} TPM, {} frames at {} px, {} classes",
                self.source.label(),
                c.am_blocks,
                c.flow,
                c.tpm,
                c.frames,
                c.size,
                c.classes.len()
            ));
        }
        if self.building.is_some() || self.frames.is_some() || self.running.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label(if self.building.is_some() {
                    "loading the checkpoint…"
                } else if self.frames.is_some() {
                    "decoding the clip's frames…"
                } else {
                    "classifying…"
                });
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(egui::Color32::RED, error.to_string());
        }
        if let Some(notice) = &self.notice {
            ui.weak(notice);
        }
        if let Some((ranked, _)) = &self.result {
            for (name, p) in ranked {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(*p)
                            .desired_width(150.0)
                            .text(format!("{:.1}%", p * 100.0)),
                    );
                    ui.label(name);
                });
            }
        }
        chosen
    }

    /// How far the classifier is: `ready`, `loading`, `failed`, or `none` (nothing to load for
    /// this backbone).
    pub fn status(&self) -> &'static str {
        if self.model.is_some() {
            "ready"
        } else if self.building.is_some() {
            "loading"
        } else if self.error.is_some() {
            "failed"
        } else if self.notice.is_some() {
            "none"
        } else {
            "loading"
        }
    }

    /// The classifier, once loaded.
    pub fn model(&self) -> Option<&Arc<ClassifierInfo>> {
        self.model.as_ref()
    }
}

//! The app's predictions: a classifier checkpoint (the embedded demo, a file, or a URL) around
//! the loaded backbone, run on `T` frames of the clip sampled as `amflow eval` samples them
//! (middles of `T` equal segments, short side resized to the checkpoint's size, centre crop),
//! top-5 classes with bars.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use burn::tensor::Device;
use burn::tensor::activation::softmax;

use crate::analysis::read_back_async;

use crate::classifier::AmClassifier;
use crate::model::Dinov2;
use crate::video::Frame;
use crate::video::preprocess::{Crop, Preprocess};

/// Where a checkpoint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointSource {
    /// The demo checkpoint shipped in the program (trained on `amflow synth`).
    Demo,
    /// A file (native).
    Path(std::path::PathBuf),
    /// A URL (browser).
    Url(String),
}

impl CheckpointSource {
    fn label(&self) -> String {
        match self {
            Self::Demo => "demo (synthetic motion, 9 classes)".into(),
            Self::Path(p) => p.display().to_string(),
            Self::Url(u) => u.clone(),
        }
    }
}

/// Class names with probabilities, best first.
type Ranked = Vec<(String, f32)>;

/// The panel's state.
pub struct PredictPanel {
    source: CheckpointSource,
    /// The classifier, once built for the current backbone.
    model: Option<Arc<AmClassifier>>,
    building: Option<Receiver<Result<AmClassifier, String>>>,
    /// Frames of the clip being decoded, for which clip.
    frames: Option<(super::clip::FramesReply, u64)>,
    running: Option<(Receiver<Result<Ranked, String>>, u64)>,
    result: Option<(Ranked, u64)>,
    /// Which backbone the model was built on (its load count).
    built_for: Option<u64>,
    /// The clip last asked for frames.
    asked: Option<u64>,
    /// The last error.
    pub error: Option<String>,
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

    /// Drives the work: builds the classifier around `backbone` (loaded as number
    /// `backbone_id`), asks `clip` for the frames, runs the model on them.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        backbone: (&Arc<Dinov2>, &str, u64),
        device: &Device,
        clip: &mut super::ClipPanel,
    ) {
        let (model, name, backbone_id) = backbone;
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
            self.building = Some(build(
                ctx,
                self.source.clone(),
                model.clone(),
                name.to_string(),
                device.clone(),
            ));
        }
        if let Some(rx) = &self.building
            && let Ok(result) = rx.try_recv()
        {
            self.building = None;
            match result {
                Ok(m) => self.model = Some(Arc::new(m)),
                Err(e) => self.error = Some(e),
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
                    self.running = Some((run(ctx, model.clone(), frames, device.clone()), g))
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        if let Some((rx, g)) = &self.running
            && let Ok(result) = rx.try_recv()
        {
            let g = *g;
            self.running = None;
            match result {
                Ok(ranked) => {
                    self.result = Some((ranked, g));
                    self.error = None;
                }
                Err(e) => self.error = Some(e),
            }
        }
        let done = matches!(&self.result, Some((_, g)) if *g == generation);
        let busy = self.frames.is_some() || self.running.is_some();
        // A failure is not retried on the same clip; another clip gets a fresh try.
        if self.asked != Some(generation) {
            self.error = None;
        }
        if !done && !busy && self.error.is_none() {
            let t = model.config().frames;
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
        ui.horizontal(|ui| {
            let hint = if cfg!(target_arch = "wasm32") {
                "checkpoint URL (.safetensors)"
            } else {
                "checkpoint file (.safetensors)"
            };
            ui.add(
                egui::TextEdit::singleline(&mut self.text)
                    .hint_text(hint)
                    .desired_width(220.0),
            );
            if ui.button("load").clicked() && !self.text.trim().is_empty() {
                let text = self.text.trim().to_string();
                chosen = Some(if text.contains("://") || cfg!(target_arch = "wasm32") {
                    CheckpointSource::Url(text)
                } else {
                    CheckpointSource::Path(text.into())
                });
            }
        });
        if let Some(model) = &self.model {
            let c = model.config();
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
                ui.spinner();
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
            ui.colored_label(egui::Color32::RED, error);
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

    /// The classifier, once loaded.
    pub fn model(&self) -> Option<&Arc<AmClassifier>> {
        self.model.as_ref()
    }

    /// Whether the top-5 of the clip `generation` is on screen.
    pub fn ready(&self, generation: u64) -> bool {
        matches!(&self.result, Some((_, g)) if *g == generation)
    }
}

/// The checkpoint's bytes, from wherever it is.
async fn checkpoint_bytes(
    source: &CheckpointSource,
    _ctx: &egui::Context,
) -> Result<Vec<u8>, String> {
    match source {
        CheckpointSource::Demo => Ok(crate::embedded::DEMO_CHECKPOINT.to_vec()),
        #[cfg(not(target_arch = "wasm32"))]
        CheckpointSource::Path(path) => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        #[cfg(target_arch = "wasm32")]
        CheckpointSource::Path(path) => Err(format!(
            "{}: the web app loads checkpoints from URLs",
            path.display()
        )),
        #[cfg(not(target_arch = "wasm32"))]
        CheckpointSource::Url(url) => Err(format!(
            "{url}: the desktop app opens checkpoint files; download it first"
        )),
        #[cfg(target_arch = "wasm32")]
        CheckpointSource::Url(url) => {
            super::fetch::fetch_bytes(url, &super::fetch::Progress::default(), _ctx).await
        }
    }
}

/// Builds the classifier in the background.
fn build(
    ctx: &egui::Context,
    source: CheckpointSource,
    backbone: Arc<Dinov2>,
    name: String,
    device: Device,
) -> Receiver<Result<AmClassifier, String>> {
    let repaint = ctx.clone();
    let work = async move {
        let bytes = checkpoint_bytes(&source, &repaint).await?;
        AmClassifier::from_checkpoint_bytes(
            bytes,
            &source.label(),
            (*backbone).clone(),
            &name,
            &device,
        )
        .map_err(|e| e.to_string())
    };
    super::background::run(ctx, work)
}

/// Classifies `frames` in the background: top-5 classes.
fn run(
    ctx: &egui::Context,
    model: Arc<AmClassifier>,
    frames: Vec<Frame>,
    device: Device,
) -> Receiver<Result<Ranked, String>> {
    let work = async move {
        let c = model.config();
        let prep = Preprocess {
            size: c.size as u32,
            crop: Crop::Centre,
        };
        let clip = prep
            .tensors(&frames, &device)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .ok_or("no frames to classify")?; // [T, 3, S, S]
        let logits = model
            .forward_stepwise(clip.unsqueeze::<5>(), super::background::yield_now)
            .await
            .map_err(|e| e.to_string())?; // [1, C]
        let probs = softmax(logits, 1).reshape([c.classes.len()]);
        let values = read_back_async(probs).await.map_err(|e| e.to_string())?;
        let mut ranked: Ranked = c.classes.iter().cloned().zip(values).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(5);
        Ok(ranked)
    };
    super::background::run(ctx, work)
}

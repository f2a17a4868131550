//! The app's AM-flow panel: every block's map for the pair on screen (PCA to RGB or magnitude,
//! per-block or shared basis, blended over frame `t`), the block scores as bars with the
//! proposed AM blocks ticked, toggles to change them, and exports of the selection file and of
//! the map grid as PNG.
//!
//! The backbone runs off the UI thread: a thread natively, a future in the browser (whose GPU
//! read-back is asynchronous).

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use burn::tensor::Device;

use crate::analysis::PairAnalysis;
use crate::classifier::{AmClassifier, FlowKind};
use crate::maps::figure::{Panel, grid_image};
use crate::maps::ranking::{BlockScore, propose};
use crate::maps::selection::{FORMAT, Selection};
use crate::maps::{BasisKind, PatchFlow, View, blend, colour_blocks, render};
use crate::model::Dinov2;
use crate::video::Frame;

/// Which pair an analysis belongs to: clip generation, `t`, `k`, input size.
pub type PairKey = (u64, usize, usize, u32);

/// An analysis and the seconds it took, or why it failed.
type Analysed = Result<(PairAnalysis, f64), String>;

/// How many blocks are proposed.
const PROPOSED: usize = 2;

/// Display settings that change the textures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Look {
    view: View,
    basis: BasisKind,
    opacity: f32,
    /// Aligned flow (from a checkpoint's aligning encoders) instead of vanilla.
    aligned: bool,
}

/// Aligned flow of the AM blocks of one pair: `(block index, flow)`.
type AlignedFlows = Vec<(usize, PatchFlow)>;

/// Labelled map textures.
type Tiles = Vec<(egui::TextureHandle, String)>;

/// Aligned flows arriving from the background.
type AlignedReply = Receiver<Result<AlignedFlows, String>>;

/// The panel's state.
pub struct MapsPanel {
    look: Look,
    /// Short side of the backbone's input.
    pub size: u32,
    job: Option<(Receiver<Analysed>, PairKey)>,
    analysis: Option<(PairAnalysis, PairKey, f64)>,
    /// Map textures with their labels, for a look and a pair.
    textures: Option<(Tiles, Look, PairKey)>,
    /// The maps on screen before blending, with their labels: what "export maps as PNG…" writes.
    shown: Vec<(image::RgbImage, String)>,
    /// The aligned flows of the pair analysed, for which classifier (its address).
    aligned: Option<(AlignedFlows, PairKey, usize)>,
    aligned_job: Option<(AlignedReply, PairKey, usize)>,
    /// The classifier with aligning encoders, when one is loaded.
    aligner: Option<Arc<AmClassifier>>,
    /// The AM blocks (0-based flags), ticked from the proposal until the user changes them.
    selected: Vec<bool>,
    edited: bool,
    /// What the last export did.
    message: Option<String>,
    /// The last error.
    pub error: Option<String>,
    /// Where the first map of the grid was last drawn, in points (tests look at its pixels).
    pub grid_rect: Option<egui::Rect>,
    /// The pair whose analysis failed (not tried again until the pair changes).
    failed: Option<PairKey>,
}

impl Default for MapsPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl MapsPanel {
    /// Nothing analysed yet.
    pub fn new() -> Self {
        Self {
            look: Look {
                view: View::Pca,
                basis: BasisKind::PerBlock,
                opacity: 1.0,
                aligned: false,
            },
            size: 224,
            job: None,
            analysis: None,
            textures: None,
            shown: Vec::new(),
            aligned: None,
            aligned_job: None,
            aligner: None,
            selected: Vec::new(),
            edited: false,
            message: None,
            error: None,
            failed: None,
            grid_rect: None,
        }
    }

    /// Whether the maps of the clip's pair `key` are on screen at the current input size.
    pub fn ready(&self, key: PairKey) -> bool {
        let key = (key.0, key.1, key.2, self.size);
        matches!(&self.textures, Some((_, _, k)) if *k == key)
    }

    /// Collects a finished analysis and, when the pair on screen is not the one analysed (and
    /// nothing is running), starts analysing it.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        backbone: &Arc<Dinov2>,
        device: &Device,
        pair: Option<(PairKey, &[Frame; 2])>,
    ) {
        if let Some((rx, key)) = &self.job
            && let Ok(result) = rx.try_recv()
        {
            let key = *key;
            self.job = None;
            match result {
                Ok((analysis, seconds)) => {
                    if !self.edited || self.selected.len() != analysis.scores.len() {
                        self.selected = flags(&analysis.scores);
                        self.edited = false;
                    }
                    self.analysis = Some((analysis, key, seconds));
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(e);
                    self.failed = Some(key);
                    self.analysis = None;
                    self.textures = None;
                }
            }
        }
        self.update_aligned(ctx, device);
        let Some((key, frames)) = pair else { return };
        let (key, size) = ((key.0, key.1, key.2, self.size), self.size);
        let analysed = matches!(&self.analysis, Some((_, k, _)) if *k == key);
        if self.job.is_none() && !analysed && self.failed != Some(key) {
            self.job = Some((spawn(ctx, backbone, device, frames, size), key));
        }
    }

    /// Hands the panel the loaded classifier; its aligning encoders (if it has them) give the
    /// aligned view.
    pub fn set_classifier(&mut self, classifier: Option<&Arc<AmClassifier>>) {
        let aligned = classifier.filter(|c| c.config().flow == FlowKind::Aligned);
        let same = match (&self.aligner, aligned) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.aligner = aligned.cloned();
            self.aligned = None;
            self.textures = None;
            if self.aligner.is_none() {
                self.look.aligned = false;
            }
        }
    }

    /// Starts or collects the aligned flows of the pair analysed.
    fn update_aligned(&mut self, ctx: &egui::Context, device: &Device) {
        if let Some((rx, key, id)) = &self.aligned_job
            && let Ok(result) = rx.try_recv()
        {
            let (key, id) = (*key, *id);
            self.aligned_job = None;
            match result {
                Ok(flows) => self.aligned = Some((flows, key, id)),
                Err(e) => self.error = Some(e),
            }
        }
        let (Some(classifier), Some((analysis, key, _))) = (&self.aligner, &self.analysis) else {
            return;
        };
        let id = Arc::as_ptr(classifier) as usize;
        let have = matches!(&self.aligned, Some((_, k, i)) if k == key && *i == id);
        if !have && self.aligned_job.is_none() {
            self.aligned_job = Some((
                spawn_aligned(ctx, classifier.clone(), analysis, device.clone()),
                *key,
                id,
            ));
        }
    }

    fn refresh_textures(&mut self, ctx: &egui::Context) {
        let Some((analysis, key, _)) = &self.analysis else {
            return;
        };
        if matches!(&self.textures, Some((_, look, k)) if *look == self.look && k == key) {
            return;
        }
        let look = self.look;
        let (w, h) = analysis.frames[0].dimensions();
        let maps: Vec<(image::RgbImage, String)> = if look.aligned {
            let Some((flows, k, _)) = &self.aligned else {
                return;
            };
            if k != key {
                return;
            }
            let blocks: Vec<PatchFlow> = flows.iter().map(|(_, f)| f.clone()).collect();
            colour_blocks(&blocks, look.view, look.basis)
                .iter()
                .zip(flows)
                .map(|(c, (i, _))| {
                    (
                        render(c, analysis.grid, w, h),
                        format!("block {}  aligned", i + 1),
                    )
                })
                .collect()
        } else {
            analysis
                .maps(look.view, look.basis)
                .into_iter()
                .zip(&analysis.scores)
                .enumerate()
                .map(|(i, (map, score))| {
                    let am = self.selected.get(i).copied().unwrap_or(false);
                    let label = format!(
                        "block {}  {:+.2}{}",
                        score.block,
                        score.score,
                        if am { "  AM" } else { "" }
                    );
                    (map, label)
                })
                .collect()
        };
        let textures = maps
            .iter()
            .enumerate()
            .map(|(i, (map, label))| {
                let image = blend(&analysis.frames[0], map, look.opacity);
                let colour = egui::ColorImage::from_rgb(
                    [image.width() as usize, image.height() as usize],
                    image.as_raw(),
                );
                let texture =
                    ctx.load_texture(format!("map{i}"), colour, egui::TextureOptions::NEAREST);
                (texture, label.clone())
            })
            .collect();
        self.textures = Some((textures, look, *key));
        self.shown = maps;
    }

    /// Settings and the map grid.
    pub fn maps_ui(&mut self, ui: &mut egui::Ui) {
        self.refresh_textures(ui.ctx());
        ui.horizontal_wrapped(|ui| {
            ui.label("flow:");
            ui.selectable_value(&mut self.look.aligned, false, "vanilla");
            ui.add_enabled_ui(self.aligner.is_some(), |ui| {
                ui.selectable_value(&mut self.look.aligned, true, "aligned")
                    .on_disabled_hover_text(
                        "aligned flow needs the aligning encoders of a checkpoint trained with --flow aligned",
                    );
            });
            ui.separator();
            ui.label("maps:");
            ui.selectable_value(&mut self.look.view, View::Pca, "PCA to RGB");
            ui.selectable_value(&mut self.look.view, View::Magnitude, "magnitude");
            ui.separator();
            ui.selectable_value(&mut self.look.basis, BasisKind::PerBlock, "per-block basis");
            ui.selectable_value(&mut self.look.basis, BasisKind::Shared, "shared basis");
            ui.separator();
            ui.add(egui::Slider::new(&mut self.look.opacity, 0.0..=1.0).text("map opacity"));
            ui.separator();
            egui::ComboBox::from_label("input size")
                .selected_text(format!("{}", self.size))
                .show_ui(ui, |ui| {
                    for s in [112, 168, 224, 336, 448] {
                        ui.selectable_value(&mut self.size, s, format!("{s}"));
                    }
                });
        });
        if self.look.aligned && self.aligned_job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("running the aligning encoders…");
            });
        }
        if self.job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing the AM flow of every block…");
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(egui::Color32::RED, error);
        }
        let Some((analysis, _, seconds)) = &self.analysis else {
            return;
        };
        ui.weak(format!(
            "{}×{} patches, {} blocks, {:.2} s",
            analysis.grid.cols,
            analysis.grid.rows,
            analysis.scores.len(),
            seconds
        ));
        if let Some((textures, ..)) = &self.textures {
            let width = ui.available_width();
            let tile = textures
                .first()
                .map(|(t, _)| t.size_vec2())
                .unwrap_or(egui::vec2(1.0, 1.0));
            let columns = ((width / (tile.x.min(200.0) + 8.0)).floor() as usize).clamp(1, 6);
            let scale = ((width / columns as f32 - 8.0) / tile.x).min(1.0);
            let mut first = None;
            egui::Grid::new("maps").spacing([6.0, 6.0]).show(ui, |ui| {
                for (i, (texture, label)) in textures.iter().enumerate() {
                    ui.vertical(|ui| {
                        let image = ui.image((texture.id(), tile * scale));
                        first.get_or_insert(image.rect);
                        ui.label(egui::RichText::new(label).monospace().strong());
                    });
                    if (i + 1) % columns == 0 {
                        ui.end_row();
                    }
                }
            });
            self.grid_rect = first;
        }
    }

    /// The block scores, the AM-block toggles and the exports.
    pub fn blocks_ui(&mut self, ui: &mut egui::Ui, backbone_name: &str) {
        let Some((analysis, ..)) = &self.analysis else {
            ui.weak("block scores appear with the maps");
            return;
        };
        let scores = analysis.scores.clone();
        self.scores_ui(ui, &scores);
        ui.horizontal_wrapped(|ui| {
            if ui.button("export selection…").clicked() {
                let text = self.selection(backbone_name, &scores).to_json();
                self.message = Some(super::export::save(
                    "amflow-selection.json",
                    text.as_bytes(),
                    "application/json",
                ));
            }
            if ui.button("export maps as PNG…").clicked() {
                self.message = Some(self.export_png());
            }
            if let Some(m) = &self.message {
                ui.weak(m);
            }
        });
    }

    /// Bars of the block scores with a toggle per block.
    fn scores_ui(&mut self, ui: &mut egui::Ui, scores: &[BlockScore]) {
        let proposed = propose(scores, PROPOSED);
        let chosen: Vec<String> = self
            .selected
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        ui.label("How well each block's flow follows the pixel motion:");
        ui.label(format!(
            "proposed AM blocks {:?}; chosen: {}",
            proposed,
            if chosen.is_empty() {
                "none".to_string()
            } else {
                chosen.join(", ")
            }
        ));
        let max = scores.iter().map(|s| s.score.abs()).fold(1e-6f32, f32::max);
        for (i, s) in scores.iter().enumerate() {
            ui.horizontal(|ui| {
                if let Some(flag) = self.selected.get_mut(i)
                    && ui.checkbox(flag, format!("block {:>2}", s.block)).changed()
                {
                    self.edited = true;
                }
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(110.0, 14.0), egui::Sense::hover());
                let painter = ui.painter();
                painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
                let mid = rect.left() + rect.width() / 2.0;
                let w = rect.width() / 2.0 * (s.score / max);
                let bar = egui::Rect::from_x_y_ranges(
                    mid.min(mid + w)..=mid.max(mid + w),
                    rect.y_range(),
                );
                let colour = if proposed.contains(&s.block) {
                    egui::Color32::from_rgb(240, 160, 40)
                } else {
                    egui::Color32::from_rgb(90, 140, 200)
                };
                painter.rect_filled(bar, 2.0, colour);
                ui.monospace(format!("{:+.3}", s.score))
                    .on_hover_text(format!(
                        "correlation with the pixel motion {:+.3}, concentration {:.3}",
                        s.correlation, s.concentration
                    ));
            });
        }
        if ui.button("reset to the proposal").clicked() {
            self.selected = flags(scores);
            self.edited = false;
        }
    }

    /// The selection file for the ticked blocks.
    fn selection(&self, backbone: &str, scores: &[BlockScore]) -> Selection {
        let k = self.analysis.as_ref().map_or(1, |(_, key, _)| key.2);
        Selection {
            format: FORMAT.to_string(),
            backbone: backbone.to_string(),
            blocks: self
                .selected
                .iter()
                .enumerate()
                .filter(|(_, s)| **s)
                .map(|(i, _)| i + 1)
                .collect(),
            offset: k,
            pairs: 1,
            clips: 1,
            scores: scores.to_vec(),
        }
    }

    /// Writes the Figure-5 grid of the pair on screen.
    fn export_png(&self) -> String {
        let Some((analysis, key, _)) = &self.analysis else {
            return "nothing to export yet".into();
        };
        // The maps as shown (vanilla or aligned, view and basis), under the two frames.
        let top = [
            format!("frame {}", key.1),
            format!("frame {}", key.1 + key.2),
        ]
        .into_iter()
        .zip(&analysis.frames)
        .map(|(label, image)| Panel {
            image: image.clone(),
            label,
        })
        .collect::<Vec<_>>();
        let maps: Vec<Panel> = self
            .shown
            .iter()
            .map(|(image, label)| Panel {
                image: image.clone(),
                label: label.clone(),
            })
            .collect();
        let figure = grid_image(&top, &maps, 4);
        let mut png = Vec::new();
        match figure.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png) {
            Ok(()) => super::export::save("amflow-maps.png", &png, "image/png"),
            Err(e) => format!("could not encode the PNG: {e}"),
        }
    }
}

/// The proposed blocks as flags.
fn flags(scores: &[BlockScore]) -> Vec<bool> {
    let proposed = propose(scores, PROPOSED);
    scores.iter().map(|s| proposed.contains(&s.block)).collect()
}

/// Analyses `frames` in the background (natively at once, in the browser block by block with
/// an asynchronous read-back).
fn spawn(
    ctx: &egui::Context,
    backbone: &Arc<Dinov2>,
    device: &Device,
    frames: &[Frame; 2],
    size: u32,
) -> Receiver<Analysed> {
    let (backbone, device, frames) = (backbone.clone(), device.clone(), frames.clone());
    super::background::run(ctx, async move {
        let start = web_time::Instant::now();
        let pair = [&frames[0], &frames[1]];
        #[cfg(not(target_arch = "wasm32"))]
        let result = PairAnalysis::run(&backbone, pair, size, &device);
        #[cfg(target_arch = "wasm32")]
        let result = PairAnalysis::run_async(&backbone, pair, size, &device).await;
        result
            .map(|a| (a, start.elapsed().as_secs_f64()))
            .map_err(|e| e.to_string())
    })
}

/// Runs the classifier's aligning encoders on the column sums of the pair analysed, for its AM
/// blocks, in the background; one read-back brings every block's `[N, D]` flow.
fn spawn_aligned(
    ctx: &egui::Context,
    classifier: Arc<AmClassifier>,
    analysis: &PairAnalysis,
    device: Device,
) -> AlignedReply {
    let data = analysis.data.clone();
    let work = async move {
        let (h, n) = (data.heads, data.tokens);
        let d = classifier.config().backbone.hidden_size;
        let prefix = 1 + classifier.config().backbone.num_register_tokens;
        let mut blocks = Vec::new();
        let mut flows = Vec::new();
        for block in classifier.config().am_indices() {
            let Some(colsum) = data.colsum.get(block) else {
                continue;
            };
            let colsum = burn::tensor::Tensor::<3>::from_data(
                burn::tensor::TensorData::new(colsum.clone(), [2, h, n]),
                &device,
            );
            if let Some(flow) = classifier.aligned_pair_flow(block, colsum) {
                blocks.push(block);
                flows.push(flow.reshape([n * d]));
            }
            super::background::yield_now().await;
        }
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let values = crate::analysis::read_back_async(burn::tensor::Tensor::cat(flows, 0))
            .await
            .map_err(|e| e.to_string())?;
        Ok(blocks
            .into_iter()
            .zip(values.chunks(n * d))
            .map(|(b, v)| (b, PatchFlow::from_tokens(v, d, prefix)))
            .collect())
    };
    super::background::run(ctx, work)
}

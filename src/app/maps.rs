//! The app's AM-flow panel: every block's map for the pair on screen (the vanilla, aligned or
//! displacement flow; PCA to RGB, magnitude or, for the displacement flow, direction; per-block
//! or shared basis, blended over frame `t`), the block scores as bars with the
//! proposed AM blocks ticked, toggles to change them, and exports of the selection file and of
//! the map grid as PNG.
//!
//! The backbone runs in the engine (a thread natively, a Web Worker in the browser); the panel
//! asks for a pair's flows and draws them when they come back.

use std::sync::Arc;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsCast;

use super::AppError;
use super::ranking::{DatasetRanking, proposal};
use crate::analysis::PairAnalysis;
use crate::classifier::FlowKind;
use crate::engine::{ClassifierInfo, Engine, PairWork, Replies, Reply, Request};
use crate::maps::MapFlow;
use crate::maps::figure::{Panel, grid_image};
use crate::maps::ranking::BlockScore;
use crate::maps::selection::{FORMAT, Selection};
use crate::maps::{BasisKind, PatchFlow, View, blend, colour_blocks, render};
use crate::video::Frame;

/// Which pair an analysis belongs to: clip generation, `t`, `k`, input size.
pub type PairKey = (u64, usize, usize, u32);

/// How many blocks are proposed.
const PROPOSED: usize = 2;

/// Which flow the maps show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShownFlow {
    /// The vanilla flow, from the pair's analysis.
    #[default]
    Vanilla,
    /// The aligned flow, from a checkpoint's aligning encoders.
    Aligned,
    /// The displacement flow, asked of the engine when chosen.
    Displacement,
}

/// Display settings that change the textures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Look {
    view: View,
    basis: BasisKind,
    opacity: f32,
    flow: ShownFlow,
}

/// Aligned flow of the AM blocks of one pair: `(block index, flow)`.
type AlignedFlows = Vec<(usize, PatchFlow)>;

/// How long one frame may spend making map textures; the rest waits for the next frame, so
/// that the page's thread is never held long by a backbone with many blocks.
const TEXTURE_BUDGET_MS: f64 = 12.0;

/// Map textures being made for a look and a pair, a few per frame.
struct Making {
    look: Look,
    key: PairKey,
    /// Every block's colour per patch, with its label.
    colours: Vec<(Vec<[u8; 3]>, String)>,
    /// The maps rendered so far at the frames' size, before blending, with their labels.
    maps: Vec<(image::RgbImage, String)>,
    /// The textures made so far, in order.
    done: Tiles,
}

/// Labelled map textures.
type Tiles = Vec<(egui::TextureHandle, String)>;

/// How long the last pair took, from the request to its maps on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairTiming {
    /// The pair.
    pub key: PairKey,
    /// Milliseconds from the request to the maps on screen.
    pub maps_ms: f64,
    /// When it was asked for and when its maps were on screen, in milliseconds on the page's
    /// `performance.now()` clock (the window in which the page's long tasks are looked up).
    pub window: (f64, f64),
}

/// Now on the page's `performance.now()` clock (milliseconds); natively, since the first call.
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<web_time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(web_time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// The panel's state.
pub struct MapsPanel {
    look: Look,
    /// Short side of the backbone's input.
    pub size: u32,
    job: Option<(Replies, PairKey)>,
    analysis: Option<(PairAnalysis, PairKey, PairWork)>,
    /// Map textures with their labels, for a look and a pair.
    textures: Option<(Tiles, Look, PairKey)>,
    /// Textures on their way for another look or pair.
    making: Option<Making>,
    /// The maps on screen before blending, with their labels: what "export maps as PNG…" writes.
    shown: Vec<(image::RgbImage, String)>,
    /// The aligned flows of the pair analysed, for which classifier (its address).
    aligned: Option<(AlignedFlows, PairKey, usize)>,
    aligned_job: Option<(Replies, PairKey, usize)>,
    /// The classifier with aligning encoders, when one is loaded.
    aligner: Option<Arc<ClassifierInfo>>,
    /// The displacement flows of the pair analysed (`[P, 2H]` per block), once asked for.
    displacement: Option<(Vec<PatchFlow>, PairKey)>,
    displacement_job: Option<(Replies, PairKey)>,
    /// The AM blocks (0-based flags), ticked from the proposal until the user changes them.
    selected: Vec<bool>,
    /// A dataset's ranking dropped on the window (`amflow blocks DATA [--labels] --out FILE`):
    /// when it fits the backbone, its proposal replaces the pair's.
    pub dataset: Option<DatasetRanking>,
    /// A dropped ranking on its way in.
    reading_ranking: Option<std::sync::mpsc::Receiver<super::ranking::Dropped>>,
    edited: bool,
    /// What the last export did.
    message: Option<String>,
    /// The last error.
    pub error: Option<AppError>,
    /// Pairs analysed per second, over the last few seconds.
    pub rate: super::live::Rate,
    /// Where the first map of the grid was last drawn, in points (tests look at its pixels).
    pub grid_rect: Option<egui::Rect>,
    /// The pair whose analysis failed (not tried again until the pair changes).
    failed: Option<PairKey>,
    /// The pair asked for last and when (`now_ms`).
    requested: Option<(PairKey, f64)>,
    /// The last pair's timing, once its maps were on screen.
    pub timing: Option<PairTiming>,
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
                flow: ShownFlow::Vanilla,
            },
            size: 224,
            job: None,
            analysis: None,
            textures: None,
            making: None,
            shown: Vec::new(),
            aligned: None,
            aligned_job: None,
            aligner: None,
            displacement: None,
            displacement_job: None,
            selected: Vec::new(),
            dataset: None,
            reading_ranking: None,
            edited: false,
            message: None,
            error: None,
            rate: super::live::Rate::default(),
            failed: None,
            grid_rect: None,
            requested: None,
            timing: None,
        }
    }

    /// The engine's work on the pair analysed (seconds from the request's arrival to its flows
    /// read back, and whether a helper worker ran one frame).
    pub fn model_work(&self) -> Option<PairWork> {
        self.analysis.as_ref().map(|(_, _, work)| *work)
    }

    /// Starting at input size `size` (short side, 14 to 448) instead of 224.
    pub fn with_size(mut self, size: Option<u32>) -> Self {
        if let Some(size) = size.filter(|s| (14..=448).contains(s)) {
            self.size = size;
        }
        self
    }

    /// Starting with the displacement flow's direction maps (`?flow=displacement`, `amflow
    /// --flow displacement`) instead of the vanilla flow's PCA.
    pub fn with_flow(mut self, flow: Option<MapFlow>) -> Self {
        if flow == Some(MapFlow::Displacement) {
            self.look.flow = ShownFlow::Displacement;
            self.look.view = View::Direction;
        }
        self
    }

    /// Whether any pair's maps are on screen (live, the maps trail the newest pair).
    pub fn any_shown(&self) -> bool {
        self.textures.is_some()
    }

    /// Whether the maps of the clip's pair `key` are on screen at the current input size.
    pub fn ready(&self, key: PairKey) -> bool {
        let key = (key.0, key.1, key.2, self.size);
        matches!(&self.textures, Some((_, _, k)) if *k == key)
    }

    /// Collects a finished analysis and, when the pair on screen is not the one analysed (and
    /// nothing is running), starts analysing it.
    pub fn update(&mut self, engine: &Engine, pair: Option<(PairKey, &[Frame; 2])>) {
        if let Some((rx, key)) = &self.job
            && let Ok(reply) = rx.try_recv()
        {
            let key = *key;
            self.job = None;
            let result = match reply {
                Reply::Analysed(r) => r.and_then(crate::engine::AnalysedPair::into_analysis),
                other => Err(other.unexpected("the flows of a pair")),
            };
            match result {
                Ok((analysis, work)) => {
                    if !self.edited || self.selected.len() != analysis.scores.len() {
                        self.selected = flags(
                            &analysis.scores,
                            self.fitting_dataset(analysis.scores.len()),
                        );
                        self.edited = false;
                    }
                    self.analysis = Some((analysis, key, work));
                    self.rate.tick(now_ms() / 1e3);
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(e.into());
                    self.failed = Some(key);
                    self.analysis = None;
                    self.textures = None;
                }
            }
        }
        self.update_aligned(engine);
        self.update_displacement(engine);
        let Some((key, frames)) = pair else { return };
        let (key, size) = ((key.0, key.1, key.2, self.size), self.size);
        let analysed = matches!(&self.analysis, Some((_, k, _)) if *k == key);
        if self.job.is_none() && !analysed && self.failed != Some(key) {
            let request = Request::Analyse {
                frames: [(&frames[0]).into(), (&frames[1]).into()],
                size,
            };
            self.job = Some((engine.request(request), key));
            self.requested = Some((key, now_ms()));
        }
    }

    /// Hands the panel the loaded classifier; its aligning encoders (if it has them) give the
    /// aligned view.
    pub fn set_classifier(&mut self, classifier: Option<&Arc<ClassifierInfo>>) {
        let aligned = classifier.filter(|c| c.config.flow == FlowKind::Aligned);
        let same = match (&self.aligner, aligned) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.aligner = aligned.cloned();
            self.aligned = None;
            self.textures = None;
            if self.aligner.is_none() && self.look.flow == ShownFlow::Aligned {
                self.look.flow = ShownFlow::Vanilla;
            }
        }
    }

    /// Starts or collects the aligned flows of the pair analysed.
    fn update_aligned(&mut self, engine: &Engine) {
        if let Some((rx, key, id)) = &self.aligned_job
            && let Ok(reply) = rx.try_recv()
        {
            let (key, id) = (*key, *id);
            self.aligned_job = None;
            let result = match reply {
                Reply::AlignedFlows(r) => r,
                other => Err(other.unexpected("aligned flows")),
            };
            match result {
                Ok(flows) => self.aligned = Some((flows, key, id)),
                Err(e) => self.error = Some(e.into()),
            }
        }
        let (Some(classifier), Some((analysis, key, _))) = (&self.aligner, &self.analysis) else {
            return;
        };
        let id = Arc::as_ptr(classifier) as usize;
        let have = matches!(&self.aligned, Some((_, k, i)) if k == key && *i == id);
        if !have && self.aligned_job.is_none() {
            let request = Request::Aligned {
                data: analysis.data.clone(),
            };
            self.aligned_job = Some((engine.request(request), *key, id));
        }
    }

    /// Starts or collects the displacement flows of the pair analysed, while they are shown.
    fn update_displacement(&mut self, engine: &Engine) {
        if let Some((rx, key)) = &self.displacement_job
            && let Ok(reply) = rx.try_recv()
        {
            let key = *key;
            self.displacement_job = None;
            let result = match reply {
                Reply::Displacements(r) => r,
                other => Err(other.unexpected("displacement flows")),
            };
            match result {
                Ok(flows) => self.displacement = Some((flows, key)),
                Err(e) => {
                    self.error = Some(e.into());
                    self.failed = Some(key);
                }
            }
        }
        if self.look.flow != ShownFlow::Displacement {
            return;
        }
        let Some((analysis, key, _)) = &self.analysis else {
            return;
        };
        let have = matches!(&self.displacement, Some((_, k)) if k == key);
        if !have && self.displacement_job.is_none() && self.failed != Some(*key) {
            // The frames as the backbone saw them: resizing them to the same size again keeps
            // them as they are.
            let request = Request::Displacement {
                frames: [(&analysis.frames[0]).into(), (&analysis.frames[1]).into()],
                size: self.size,
            };
            self.displacement_job = Some((engine.request(request), *key));
        }
    }

    fn refresh_textures(&mut self, ctx: &egui::Context) {
        let Some((_, key, _)) = &self.analysis else {
            return;
        };
        if matches!(&self.textures, Some((_, look, k)) if *look == self.look && k == key) {
            return;
        }
        let look = self.look;
        let key = *key;
        if !matches!(&self.making, Some(m) if m.look == look && m.key == key) {
            // Another opacity alone re-blends the same maps.
            let same_colours = |m: &Making| {
                m.key == key
                    && (m.look.view, m.look.basis, m.look.flow)
                        == (look.view, look.basis, look.flow)
            };
            let (colours, maps) = match self.making.take() {
                Some(m) if same_colours(&m) => (m.colours, m.maps),
                _ => match self.coloured(look) {
                    Some(colours) => (colours, Vec::new()),
                    None => return,
                },
            };
            self.making = Some(Making {
                look,
                key,
                colours,
                maps,
                done: Vec::new(),
            });
        }
        let (Some(making), Some((analysis, ..))) = (&mut self.making, &self.analysis) else {
            return;
        };
        let start = now_ms();
        let (w, h) = analysis.frames[0].dimensions();
        while let Some((colours, label)) = making.colours.get(making.done.len()) {
            let i = making.done.len();
            if making.maps.len() <= i {
                making
                    .maps
                    .push((render(colours, analysis.grid, w, h), label.clone()));
            }
            let Some((map, _)) = making.maps.get(i) else {
                break;
            };
            let image = blend(&analysis.frames[0], map, look.opacity);
            let colour = egui::ColorImage::from_rgb(
                [image.width() as usize, image.height() as usize],
                image.as_raw(),
            );
            let texture =
                ctx.load_texture(format!("map{i}"), colour, egui::TextureOptions::NEAREST);
            making.done.push((texture, label.clone()));
            if now_ms() - start > TEXTURE_BUDGET_MS {
                break;
            }
        }
        if making.done.len() < making.colours.len() {
            ctx.request_repaint();
            return;
        }
        let Some(Making { done, maps, .. }) = self.making.take() else {
            return;
        };
        if let Some((asked, t0)) = self.requested
            && asked == key
        {
            let t1 = now_ms();
            self.timing = Some(PairTiming {
                key: asked,
                maps_ms: t1 - t0,
                window: (t0, t1),
            });
            self.requested = None;
        }
        self.textures = Some((done, look, key));
        self.shown = maps;
    }

    /// Every block's colour per patch for the pair analysed in `look`, with its label; `None`
    /// while the aligned or displacement flows it needs are not there. (Rendering them at the
    /// frames' size is left to the frame budget.)
    fn coloured(&self, look: Look) -> Option<Vec<(Vec<[u8; 3]>, String)>> {
        let (analysis, key, _) = self.analysis.as_ref()?;
        Some(match look.flow {
            ShownFlow::Aligned => {
                let (flows, k, _) = self.aligned.as_ref()?;
                if k != key {
                    return None;
                }
                let blocks: Vec<PatchFlow> = flows.iter().map(|(_, f)| f.clone()).collect();
                colour_blocks(&blocks, look.view, look.basis)
                    .into_iter()
                    .zip(flows)
                    .map(|(c, (i, _))| (c, format!("block {}  aligned", i + 1)))
                    .collect()
            }
            ShownFlow::Displacement => {
                let (flows, k) = self.displacement.as_ref()?;
                if k != key {
                    return None;
                }
                colour_blocks(flows, look.view, look.basis)
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| (c, format!("block {}  displacement", i + 1)))
                    .collect()
            }
            ShownFlow::Vanilla => colour_blocks(&analysis.blocks, look.view, look.basis)
                .into_iter()
                .zip(&analysis.scores)
                .enumerate()
                .map(|(i, (c, score))| {
                    let am = self.selected.get(i).copied().unwrap_or(false);
                    let label = format!(
                        "block {}  {:+.2}{}",
                        score.block,
                        score.score,
                        if am { "  AM" } else { "" }
                    );
                    (c, label)
                })
                .collect(),
        })
    }

    /// Settings and the map grid.
    pub fn maps_ui(&mut self, ui: &mut egui::Ui) {
        self.refresh_textures(ui.ctx());
        ui.horizontal_wrapped(|ui| {
            ui.label("flow:");
            ui.selectable_value(&mut self.look.flow, ShownFlow::Vanilla, "vanilla");
            ui.add_enabled_ui(self.aligner.is_some(), |ui| {
                ui.selectable_value(&mut self.look.flow, ShownFlow::Aligned, "aligned")
                    .on_disabled_hover_text(
                        "aligned flow needs the aligning encoders of a checkpoint trained with --flow aligned",
                    );
            });
            ui.selectable_value(&mut self.look.flow, ShownFlow::Displacement, "displacement")
                .on_hover_text("where each patch's content came from, a vector per head (one more backbone pass)");
            ui.separator();
            ui.label("maps:");
            ui.selectable_value(&mut self.look.view, View::Pca, "PCA to RGB");
            ui.selectable_value(&mut self.look.view, View::Magnitude, "magnitude");
            let vectors = self.look.flow == ShownFlow::Displacement;
            ui.add_enabled_ui(vectors, |ui| {
                ui.selectable_value(&mut self.look.view, View::Direction, "direction")
                    .on_disabled_hover_text("direction needs the displacement flow's vectors");
            });
            if !vectors && self.look.view == View::Direction {
                self.look.view = View::Pca;
            }
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
        if self.look.flow == ShownFlow::Aligned && self.aligned_job.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("running the aligning encoders…");
            });
        }
        if self.look.flow == ShownFlow::Displacement && self.displacement_job.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("computing the displacement flow of every block…");
            });
        }
        if self.job.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("computing the AM flow of every block…");
            });
        }
        if let Some(error) = &self.error {
            ui.colored_label(egui::Color32::RED, error.to_string());
        }
        let Some((analysis, _, work)) = &self.analysis else {
            return;
        };
        let timing = self.timing.map_or(String::new(), |t| {
            format!(
                "; maps on screen {:.0} ms after the request{}",
                t.maps_ms,
                longest_task_ms(t.window).map_or(String::new(), |l| format!(
                    ", longest main-thread task {l:.0} ms"
                ))
            )
        });
        ui.weak(format!(
            "{}×{} patches, {} blocks, {:.2} s of model work{}{timing}",
            analysis.grid.cols,
            analysis.grid.rows,
            analysis.scores.len(),
            work.seconds,
            if work.helper {
                " (the two frames on two cores)"
            } else {
                ""
            }
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
        self.poll_ranking();
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

    /// Starts reading a ranking file dropped on the window; [`Self::open_ranking`] takes it when
    /// its bytes are in (a later drop replaces an earlier one still on its way).
    pub fn read_ranking(&mut self, reading: std::sync::mpsc::Receiver<super::ranking::Dropped>) {
        self.reading_ranking = Some(reading);
    }

    /// Takes a dropped ranking once its bytes have been read.
    fn poll_ranking(&mut self) {
        let Some(Ok((name, bytes))) = self.reading_ranking.as_ref().map(|rx| rx.try_recv()) else {
            return;
        };
        self.reading_ranking = None;
        match bytes {
            Ok(bytes) => self.open_ranking(&name, &bytes),
            Err(e) => self.message = Some(format!("{name}: could not be read ({e})")),
        }
    }

    /// Reads a dataset ranking (a selection file's bytes) and proposes its blocks.
    pub fn open_ranking(&mut self, name: &str, bytes: &[u8]) {
        match DatasetRanking::from_bytes(name, bytes) {
            Ok(ranking) => {
                // The panel says what the ranking is, or why it does not fit, above the scores.
                self.message = None;
                self.dataset = Some(ranking);
                self.edited = false;
                if let Some((analysis, ..)) = &self.analysis {
                    let scores = analysis.scores.clone();
                    self.selected = flags(&scores, self.fitting_dataset(scores.len()));
                }
            }
            Err(e) => self.message = Some(e.to_string()),
        }
    }

    /// The ticked AM blocks ("1,12") and what proposed them (`pair`, `dataset`, `dataset-probe`),
    /// once a pair has been analysed.
    pub fn chosen_marker(&self) -> Option<(String, &'static str)> {
        let (analysis, ..) = self.analysis.as_ref()?;
        let blocks: Vec<String> = self.chosen().iter().map(ToString::to_string).collect();
        let source = match self.fitting_dataset(analysis.scores.len()) {
            Some(d) if d.labelled() => "dataset-probe",
            Some(_) => "dataset",
            None => "pair",
        };
        Some((blocks.join(","), source))
    }

    /// The ticked AM blocks, 1-based, ascending.
    fn chosen(&self) -> Vec<usize> {
        self.selected
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// The dataset ranking, if one is loaded and ranks the `blocks` blocks on screen.
    fn fitting_dataset(&self, blocks: usize) -> Option<&DatasetRanking> {
        fitting(&self.dataset, blocks)
    }

    /// Bars of the block scores with a toggle per block.
    fn scores_ui(&mut self, ui: &mut egui::Ui, scores: &[BlockScore]) {
        // Borrows the field alone, so that the toggles below can change `selected`.
        let dataset = fitting(&self.dataset, scores.len());
        let proposed = proposal(scores, dataset, PROPOSED);
        let chosen: Vec<String> = self.chosen().iter().map(ToString::to_string).collect();
        match (&self.dataset, dataset) {
            (_, Some(d)) => {
                ui.label(d.describe());
            }
            (Some(d), None) => {
                if let Err(e) = d.check(scores.len()) {
                    ui.colored_label(egui::Color32::RED, e.to_string());
                }
            }
            (None, None) => {
                ui.weak(
                    "drop a ranking from `amflow blocks DATA --labels --out FILE` to propose by a dataset",
                );
            }
        }
        ui.label("How well each block's flow follows the pixel motion in this pair:");
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
                if let Some(column) = dataset.and_then(|d| d.column(s.block)) {
                    let hover = if dataset.is_some_and(DatasetRanking::labelled) {
                        "the probe's cross-validated top-1 on this block's flow over the dataset"
                    } else {
                        "this block's mean score over the dataset"
                    };
                    ui.monospace(column).on_hover_text(hover);
                }
            });
        }
        if ui.button("reset to the proposal").clicked() {
            self.selected = flags(scores, dataset);
            self.edited = false;
        }
    }

    /// The selection file for the ticked blocks.
    fn selection(&self, backbone: &str, scores: &[BlockScore]) -> Selection {
        let k = self.analysis.as_ref().map_or(1, |(_, key, _)| key.2);
        Selection {
            format: FORMAT.to_string(),
            backbone: backbone.to_string(),
            blocks: self.chosen(),
            offset: k,
            pairs: 1,
            clips: 1,
            flow: MapFlow::Vanilla,
            scores: scores.to_vec(),
            probe: None,
        }
    }

    /// Writes the Figure-5 grid of the pair on screen.
    fn export_png(&self) -> String {
        let Some((analysis, key, _)) = &self.analysis else {
            return "nothing to export yet".into();
        };
        // The maps as shown (vanilla, aligned or displacement, view and basis), under the two
        // frames.
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

/// `dataset`, if it ranks the `blocks` blocks on screen.
fn fitting(dataset: &Option<DatasetRanking>, blocks: usize) -> Option<&DatasetRanking> {
    dataset.as_ref().filter(|d| d.check(blocks).is_ok())
}

/// The proposed blocks as flags.
fn flags(scores: &[BlockScore], dataset: Option<&DatasetRanking>) -> Vec<bool> {
    let proposed = proposal(scores, dataset, PROPOSED);
    scores.iter().map(|s| proposed.contains(&s.block)).collect()
}

/// The longest main-thread task that overlapped `window` (ms on `performance.now()`), as the
/// page's `longtask` observer saw it (`window.amflowLongestTask` in `web/index.html`; tasks
/// under 50 ms are not reported, so 0 means none reached 50 ms). `None` natively, and where the
/// browser has no such observer.
pub fn longest_task_ms(window: (f64, f64)) -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        let page = web_sys::window()?;
        let f: js_sys::Function = js_sys::Reflect::get(&page, &"amflowLongestTask".into())
            .ok()?
            .dyn_into()
            .ok()?;
        f.call2(&page, &window.0.into(), &window.1.into())
            .ok()?
            .as_f64()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = window;
        None
    }
}

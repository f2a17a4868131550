//! The eframe app, the same on the desktop and in the browser: a clip with its timeline and
//! frame pair `(t, t+k)`, every block's AM-flow map, the block ranking and AM-block choice, and
//! a classifier's predictions.
//!
//! The app holds no model: the backbone, the flows and the classifier live in the engine
//! ([`crate::engine`]: a thread natively, a Web Worker in the browser), which the panels ask
//! and hear back from. In the browser the page's `<body data-amflow>` says where the app is:
//! `loading`, `frames-ready` once the pair is on screen, `maps-ready` once its maps are, `error`
//! (with the message on the page) when something failed.

pub mod backbone;
pub(crate) mod background;
mod busy;
#[cfg(target_arch = "wasm32")]
pub mod canvas;
pub mod clip;
mod error;
mod export;
mod field;
mod glyphs;
#[cfg(not(target_arch = "wasm32"))]
pub mod gpu;
pub mod live;
pub mod maps;
#[cfg(target_arch = "wasm32")]
mod pick;
pub mod predict;
mod ranking;

pub use backbone::BackboneSource;
pub use clip::{ClipPanel, ClipSource};
pub use maps::MapsPanel;
pub use predict::{CheckpointSource, PredictPanel};

use backbone::{HUB_MODELS, Loading};
pub use error::AppError;

use crate::backend::BackendKind;
use crate::engine::{BackboneInfo, Engine, Replies, Reply, Request};

/// What the app was asked to open.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The backbone to open.
    pub backbone: BackboneSource,
    /// Where the model runs; `None` picks (see [`gpu::choose`]).
    pub backend: Option<BackendKind>,
    /// The clip to open.
    pub clip: ClipSource,
    /// The classifier checkpoint; `None` is the embedded demo.
    pub checkpoint: Option<CheckpointSource>,
    /// The maps' input size (short side) to start with; `None`: 224.
    pub size: Option<u32>,
    /// The flow the maps start with: `Some(MapFlow::Displacement)` shows the displacement
    /// flow's direction maps; `None` or vanilla, the vanilla flow's PCA.
    pub flow: Option<crate::maps::MapFlow>,
    /// In the browser, whether the CPU worker may use relaxed SIMD where the browser has it
    /// (`?relaxed-simd=off` keeps it to SIMD128); natively unused.
    pub relaxed_simd: bool,
}

enum State {
    Loading(Loading),
    Ready(Box<BackboneInfo>),
    Failed(AppError),
}

/// Where the model runs, as the engine describes it.
struct Compute {
    /// Until the engine has said, what it was asked.
    started: Option<Replies>,
    description: String,
    gpu: bool,
}

/// The amflow app.
pub struct AmflowApp {
    engine: Engine,
    compute: Compute,
    state: State,
    clip: ClipPanel,
    maps: MapsPanel,
    predict: PredictPanel,
    /// How many backbones have been loaded (tells a classifier which one it was built on).
    backbone_loads: u64,
    /// The backbone asked for, and the picker's text field.
    backbone: BackboneSource,
    backbone_text: String,
    /// What the page was last told: (marker, frames, fps).
    marker: (&'static str, usize, String),
    /// What the page was last told of the backbone, the classifier and the last pair.
    measures: Measures,
    /// Whether the text styles' glyphs are rasterised ([`glyphs::warm`], after the first frame).
    glyphs_warm: bool,
}

/// What [`App::mark_measures`] last told the page.
#[derive(Debug, Default, Clone, PartialEq)]
struct Measures {
    backbone: &'static str,
    classifier: &'static str,
    maps_ms: String,
    longest_task_ms: String,
    model_ms: String,
    live_rate: String,
    helper: &'static str,
    chosen: Option<(String, &'static str)>,
}

/// The engine for the app: natively a thread running the model on the GPU eframe draws with
/// (or the CPU, see [`gpu::choose`]); in the browser a Web Worker that picks its own device.
fn start_engine(
    cc: &eframe::CreationContext<'_>,
    backend: Option<BackendKind>,
    #[cfg_attr(not(target_arch = "wasm32"), allow(unused_variables))] relaxed_simd: bool,
) -> (Engine, Compute) {
    let ctx = cc.egui_ctx.clone();
    let repaint = move || ctx.request_repaint();
    #[cfg(not(target_arch = "wasm32"))]
    {
        let chosen = gpu::choose(cc.wgpu_render_state.as_ref(), backend);
        let engine = Engine::native(
            chosen.device,
            chosen.description.clone(),
            chosen.gpu,
            repaint,
        );
        let started = Some(engine.request(Request::Start));
        let compute = Compute {
            started,
            description: chosen.description,
            gpu: chosen.gpu,
        };
        (engine, compute)
    }
    #[cfg(target_arch = "wasm32")]
    {
        match Engine::worker(backend, relaxed_simd, repaint) {
            Ok(engine) => {
                let started = Some(engine.request(Request::Start));
                let compute = Compute {
                    started,
                    description: "starting the model worker…".into(),
                    gpu: false,
                };
                (engine, compute)
            }
            Err(e) => {
                web_sys::console::error_1(&format!("amflow: {e}").into());
                // Unreachable in practice: a page that cannot start a worker. Every request
                // below is answered with the reason by the engine's stand-in.
                (
                    Engine::failed(e.clone()),
                    Compute {
                        started: None,
                        description: e.to_string(),
                        gpu: false,
                    },
                )
            }
        }
    }
}

impl AmflowApp {
    /// Starts loading the backbone in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> Self {
        // In the browser widgets change state at once instead of animating over 1/12 s: each
        // animation frame is a frame drawn, and where the browser draws on the CPU every one
        // takes ~0.1 s of CPU from the model's workers (the click that asks for a pair drew 8–9
        // frames with animations, 6 without; BENCHMARKS.md).
        #[cfg(target_arch = "wasm32")]
        cc.egui_ctx
            .all_styles_mut(|style| style.animation_time = 0.0);
        let (engine, compute) = start_engine(cc, launch.backend, launch.relaxed_simd);
        let loading = Loading::start(&engine, launch.backbone.clone());
        let clip = ClipPanel::new(launch.clip.clone(), &cc.egui_ctx);
        Self {
            engine,
            compute,
            state: State::Loading(loading),
            clip,
            maps: MapsPanel::new()
                .with_size(launch.size)
                .with_flow(launch.flow),
            predict: PredictPanel::new(launch.checkpoint.clone().unwrap_or(CheckpointSource::Demo)),
            backbone_loads: 0,
            backbone_text: match &launch.backbone {
                BackboneSource::Embedded => String::new(),
                other => other.label(),
            },
            backbone: launch.backbone,
            marker: ("", 0, String::new()),
            measures: Measures::default(),
            glyphs_warm: false,
        }
    }

    /// Switches to another backbone: loads it and drops the maps of the old one.
    fn switch_backbone(&mut self, source: BackboneSource) {
        self.state = State::Loading(Loading::start(&self.engine, source.clone()));
        self.backbone = source;
        self.maps = MapsPanel::new();
    }

    /// The backbone picker: embedded, the Hugging Face models, a folder or URL.
    fn backbone_picker(&mut self, ui: &mut egui::Ui) {
        let mut chosen = None;
        egui::ComboBox::from_id_salt("backbone")
            .selected_text(match &self.backbone {
                BackboneSource::Embedded => "embedded ViT-S/14".to_string(),
                other => other.label(),
            })
            .width(280.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(
                        self.backbone == BackboneSource::Embedded,
                        "embedded ViT-S/14",
                    )
                    .clicked()
                {
                    chosen = Some(BackboneSource::Embedded);
                }
                for model in HUB_MODELS {
                    let source = BackboneSource::hub(model);
                    if ui
                        .selectable_label(self.backbone == source, model)
                        .clicked()
                    {
                        chosen = Some(source);
                    }
                }
            });
        let hint = if cfg!(target_arch = "wasm32") {
            "folder URL (config.json + model.safetensors)"
        } else {
            "folder or Hugging Face URL"
        };
        if let Some(text) = field::load_row(ui, &mut self.backbone_text, hint) {
            chosen = Some(if text.contains("://") {
                BackboneSource::Url(text)
            } else {
                BackboneSource::Dir(text.into())
            });
        }
        if let Some(source) = chosen {
            self.switch_backbone(source);
        }
    }

    /// Tells the page where the app is: `<body data-amflow>` is `loading`, `frames-ready` or
    /// `error`, and `data-amflow-frames` / `data-amflow-fps` say what the browser made of the
    /// clip, `data-amflow-compute` is `gpu` or `cpu`, and `data-amflow-maps-rect` is where the
    /// map grid is on the page, `x,y,w,h` in CSS pixels (for tests). A no-op natively.
    /// Marks the page `error` and puts `message` beside it: `data-amflow-error` and the
    /// browser console (the message is also in the app's own panel).
    fn mark_error(&mut self, message: &str) {
        #[cfg(target_arch = "wasm32")]
        if self.marker.0 != "error"
            && let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
        {
            web_sys::console::error_1(&format!("amflow: {message}").into());
            let _ = body.dataset().set("amflowError", message);
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = message;
        self.mark("error");
    }

    /// Tells the page how far the backbone is (`data-amflow-backbone`: `fetching` while its
    /// files download, `building` while its tensors are made, `ready`, `failed`) and the
    /// classifier (`data-amflow-classifier`: see [`PredictPanel::status`]), and what the
    /// last pair took: `data-amflow-maps-ms` (from the request to the maps on screen) and
    /// `data-amflow-longest-task-ms` (the longest main-thread task meanwhile, 0 when none
    /// reached the 50 ms the browser reports), `data-amflow-pair-model-ms` (the engine's
    /// own time for the pair) and `data-amflow-pair-helper` (1 when the CPU worker's helper ran
    /// one of its frames on another core, else 0), and the AM blocks ticked with what proposed
    /// them: `data-amflow-am-blocks` ("1,12") and `data-amflow-ranking` (`pair`, or `dataset` /
    /// `dataset-probe` for a dropped ranking). A no-op natively.
    fn mark_measures(&mut self) {
        let backbone = match &self.state {
            State::Loading(loading) if loading.fetching() => "fetching",
            State::Loading(_) => "building",
            State::Ready(_) => "ready",
            State::Failed(_) => "failed",
        };
        let (maps_ms, longest) = self
            .maps
            .timing
            .map_or((String::new(), String::new()), |t| {
                (
                    format!("{:.0}", t.maps_ms),
                    maps::longest_task_ms(t.window).map_or(String::new(), |l| format!("{l:.0}")),
                )
            });
        // The engine's own time for the pair (the model work, without the trip to and from it).
        let work = self.maps.model_work();
        let model_ms = work.map_or(String::new(), |w| format!("{:.0}", w.seconds * 1e3));
        let helper = match work {
            Some(w) if w.helper => "1",
            Some(_) => "0",
            None => "",
        };
        // Live: the maps per second reached, once two have come.
        let live_rate = if self.clip.is_live() {
            self.clip
                .maps_rate
                .map_or(String::new(), |r| format!("{r:.2}"))
        } else {
            String::new()
        };
        let measures = Measures {
            backbone,
            classifier: self.predict.status(),
            maps_ms,
            longest_task_ms: longest,
            model_ms,
            live_rate,
            helper,
            chosen: self.maps.chosen_marker(),
        };
        if self.measures == measures {
            return;
        }
        // The first frame drawn: when the page first showed the app, on `performance.now()`.
        #[cfg(target_arch = "wasm32")]
        if self.measures.backbone.is_empty()
            && let Some(body) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.body())
        {
            let _ = body
                .dataset()
                .set("amflowFirstFrameMs", &format!("{:.0}", maps::now_ms()));
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let dataset = body.dataset();
            let _ = dataset.set("amflowBackbone", measures.backbone);
            let _ = dataset.set("amflowClassifier", measures.classifier);
            if !measures.maps_ms.is_empty() {
                let _ = dataset.set("amflowMapsMs", &measures.maps_ms);
            }
            if !measures.longest_task_ms.is_empty() {
                let _ = dataset.set("amflowLongestTaskMs", &measures.longest_task_ms);
            }
            if !measures.model_ms.is_empty() {
                let _ = dataset.set("amflowPairModelMs", &measures.model_ms);
            }
            if !measures.live_rate.is_empty() {
                let _ = dataset.set("amflowLiveRate", &measures.live_rate);
            }
            if !measures.helper.is_empty() {
                let _ = dataset.set("amflowPairHelper", measures.helper);
            }
            if let Some((blocks, ranking)) = &measures.chosen {
                let _ = dataset.set("amflowAmBlocks", blocks);
                let _ = dataset.set("amflowRanking", ranking);
            }
        }
        self.measures = measures;
    }

    fn mark(&mut self, marker: &'static str) {
        let (frames, fps) = self
            .clip
            .info()
            .map_or((0, String::new()), |i| (i.frames, format!("{:.2}", i.fps)));
        let state = (marker, frames, fps);
        if self.marker == state {
            return;
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let dataset = body.dataset();
            let _ = dataset.set("amflowFrames", &state.1.to_string());
            let _ = dataset.set(
                "amflowCompute",
                if self.compute.gpu { "gpu" } else { "cpu" },
            );
            if let Some(r) = self.maps.grid_rect {
                let rect = format!("{},{},{},{}", r.left(), r.top(), r.width(), r.height());
                let _ = dataset.set("amflowMapsRect", &rect);
            }
            let _ = dataset.set("amflowFps", &state.2);
            let _ = dataset.set("amflow", marker);
        }
        self.marker = state;
    }
}

impl AmflowApp {
    /// The side panel: the backbone, the block scores and AM-block choice.
    fn side_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("backbone");
        self.backbone_picker(ui);
        match &self.state {
            State::Loading(loading) => loading.ui(ui),
            State::Failed(e) => {
                ui.colored_label(egui::Color32::RED, e.to_string());
            }
            State::Ready(loaded) => {
                let c = &loaded.config;
                ui.label(&loaded.name);
                ui.weak(format!(
                    "{} blocks, width {}, {} heads, patch {}, {:.1} M parameters (frozen); loaded in {:.2} s",
                    c.num_hidden_layers,
                    c.hidden_size,
                    c.num_attention_heads,
                    c.patch_size,
                    c.num_params() as f64 / 1e6,
                    loaded.seconds
                ));
            }
        }
        ui.separator();
        ui.heading("AM blocks");
        let name = match &self.state {
            State::Ready(loaded) => loaded.name.clone(),
            _ => String::new(),
        };
        self.maps.blocks_ui(ui, &name);
        ui.separator();
        ui.heading("predictions");
        if let State::Ready(loaded) = &self.state {
            self.predict.update(
                ui.ctx(),
                &self.engine,
                (&loaded.name, self.backbone_loads),
                &mut self.clip,
            );
        }
        if let Some(source) = self.predict.ui(ui) {
            self.predict = PredictPanel::new(source);
        }
    }
}

impl eframe::App for AmflowApp {
    /// The panels' colour: the canvas is cleared to it, and the panels themselves paint no
    /// background ([`unfilled`]), so each frame fills the window once instead of twice.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        // After the first frame is on screen, before any maps: the maps' text then finds its
        // glyphs ready.
        if !self.glyphs_warm && !self.measures.backbone.is_empty() {
            glyphs::warm(ui.ctx());
            self.glyphs_warm = true;
        }
        if let Some(rx) = &self.compute.started
            && let Ok(reply) = rx.try_recv()
        {
            match reply {
                Reply::Started { description, gpu } => {
                    self.compute.description = description;
                    self.compute.gpu = gpu;
                }
                Reply::Failed(e) => self.compute.description = e.to_string(),
                _ => {}
            }
            self.compute.started = None;
        }
        if let State::Loading(loading) = &mut self.state
            && let Some(result) = loading.poll()
        {
            self.state = match result {
                Ok(loaded) => {
                    self.backbone_loads += 1;
                    State::Ready(Box::new(loaded))
                }
                Err(e) => State::Failed(e.into()),
            };
        }
        // A dropped selection file (`.json`) is a dataset's block ranking, not a clip.
        if let Some(file) = ranking::dropped(ui.ctx()) {
            self.maps
                .read_ranking(background::run(ui.ctx(), ranking::read(file)));
        }
        // The pair's maps are asked for before the side panel asks for the classifier: the
        // engine works in order, and the maps are what the user waits for first.
        if matches!(self.state, State::Ready(_)) {
            self.maps.update(&self.engine, self.clip.current_pair());
            self.clip.maps_rate = self.maps.rate.per_second();
        }
        egui::Panel::top("top")
            .frame(unfilled(egui::Frame::side_top_panel(ui.style())))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    self.clip.open_controls(ui);
                    ui.heading("amflow — AM flow in image transformers");
                    ui.separator();
                    let colour = if self.compute.gpu {
                        egui::Color32::from_rgb(120, 200, 120)
                    } else {
                        egui::Color32::from_rgb(230, 180, 90)
                    };
                    ui.colored_label(colour, &self.compute.description);
                });
            });
        // The side panel takes at most 40% of a narrow window (800 px: the pair stays in view).
        let width = ui.available_width();
        egui::Panel::right("blocks")
            .frame(unfilled(egui::Frame::side_top_panel(ui.style())))
            .resizable(true)
            .default_size(330.0f32.min(width * 0.4))
            .max_size((width * 0.4).max(200.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_ui(ui));
            });
        egui::CentralPanel::default()
            .frame(unfilled(egui::Frame::central_panel(ui.style())))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.clip.ui(ui);
                    if matches!(self.state, State::Ready(_)) {
                        // A pair the clip's slider brought in this frame is asked for now.
                        self.maps.update(&self.engine, self.clip.current_pair());
                        ui.separator();
                        self.maps.set_classifier(self.predict.model());
                        self.maps.maps_ui(ui);
                    }
                });
            });
        let failure = match &self.state {
            State::Failed(e) => Some(e.to_string()),
            _ => None,
        }
        .or_else(|| self.clip.error.as_ref().map(ToString::to_string))
        .or_else(|| self.maps.error.as_ref().map(ToString::to_string))
        .or_else(|| self.predict.error.as_ref().map(ToString::to_string));
        // Live, the maps trail the newest pair: the latest maps on screen count.
        let maps_ready = if self.clip.is_live() {
            self.maps.any_shown()
        } else {
            self.clip
                .current_pair()
                .is_some_and(|(key, _)| self.maps.ready(key))
        };
        self.mark_measures();
        if let Some(message) = failure {
            self.mark_error(&message);
        } else if maps_ready {
            self.mark("maps-ready");
        } else if self.clip.pair_ready() {
            self.mark("frames-ready");
        } else {
            self.mark("loading");
        }
    }
}

/// `frame` without its background fill: the window's background is the canvas's clear colour
/// ([`eframe::App::clear_color`]), the panels' own colour. Where the browser draws the page on
/// the CPU (no GPU for the canvas: a headless browser, a blocklisted GPU) a fill over the
/// whole window is a large part of a frame's cost, and every frame drawn while a pair computes
/// takes that CPU time from the model's workers (BENCHMARKS.md).
fn unfilled(frame: egui::Frame) -> egui::Frame {
    frame.fill(egui::Color32::TRANSPARENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One frame of the app in a 1280×900 window, as egui lays it out (no painter): no shape
    /// fills a quarter of the window or more with a colour, so the window is filled only by
    /// the canvas's clear (each panel's background fill covered its whole area).
    #[test]
    fn a_frame_fills_no_large_area_over_the_clear() {
        let ctx = egui::Context::default();
        let cc = eframe::CreationContext::_new_kittest(ctx.clone());
        let launch = Launch {
            backend: Some(BackendKind::Cpu),
            ..Launch::default()
        };
        let mut app = AmflowApp::new(&cc, launch);
        let mut frame = eframe::Frame::_new_kittest();
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 900.0));
        let input = || egui::RawInput {
            screen_rect: Some(window),
            ..Default::default()
        };
        // The second pass is the one a user sees: the first sizes the panels.
        // No painter here: the textures the frames upload are dropped unapplied.
        let mut first = ctx.run_ui(input(), |ui| eframe::App::ui(&mut app, ui, &mut frame));
        first.textures_delta.clear();
        let mut output = ctx.run_ui(input(), |ui| eframe::App::ui(&mut app, ui, &mut frame));
        output.textures_delta.clear();
        let mut fills = Vec::new();
        for clipped in &output.shapes {
            for r in filled_rects(&clipped.shape) {
                let covered = r.intersect(clipped.clip_rect).intersect(window);
                if covered.is_positive() {
                    fills.push(covered.area());
                }
            }
        }
        assert!(
            fills.len() > 3,
            "the frame has {} filled rectangles: the app drew nothing to test",
            fills.len()
        );
        let largest = fills.iter().copied().fold(0.0f32, f32::max);
        assert!(
            largest < 0.25 * window.area(),
            "a filled rectangle of {largest} px² covers {:.0}% of the window",
            100.0 * largest / window.area()
        );
    }

    /// The rectangles `shape` fills with a colour, nested shapes included.
    fn filled_rects(shape: &egui::Shape) -> Vec<egui::Rect> {
        match shape {
            egui::Shape::Vec(shapes) => shapes.iter().flat_map(filled_rects).collect(),
            egui::Shape::Rect(r) if r.fill != egui::Color32::TRANSPARENT => vec![r.rect],
            _ => Vec::new(),
        }
    }
}

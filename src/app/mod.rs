//! The eframe app, the same on the desktop and in the browser.
//!
//! So far it loads the backbone (the embedded default unless another is given) and opens a clip
//! (the demo clip unless another is given), both off the UI thread, and shows the frame pair
//! `(t, t+k)` with a timeline; the per-block AM-flow maps, block ranking and predictions build
//! on it. In the browser the page's `<body data-amflow>` says where it is: `frames-ready` once
//! the pair is on screen, `error` (with the message on the page) when something failed.

pub mod clip;
mod export;
pub mod gpu;
pub mod maps;
#[cfg(target_arch = "wasm32")]
mod pick;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

use burn::tensor::Device;

pub use clip::{ClipPanel, ClipSource};
pub use maps::MapsPanel;

use crate::backend::BackendKind;
use crate::model::{BackboneError, Dinov2};

/// What the app was asked to open.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// A Hugging Face model folder; `None` is the embedded default.
    pub backbone_dir: Option<std::path::PathBuf>,
    /// Where the model runs; `None` picks (see [`gpu::choose`]).
    pub backend: Option<BackendKind>,
    /// The clip to open.
    pub clip: ClipSource,
}

/// A loaded backbone, summarised for display.
struct Loaded {
    name: String,
    model: Arc<Dinov2>,
    device: Device,
    seconds: f64,
}

enum State {
    Loading(Receiver<Result<Loaded, BackboneError>>),
    Ready(Box<Loaded>),
    Failed(String),
}

/// The amflow app.
pub struct AmflowApp {
    compute: gpu::Compute,
    state: State,
    clip: ClipPanel,
    maps: MapsPanel,
    /// What the page was last told: (marker, frames, fps).
    marker: (&'static str, usize, String),
}

fn load(launch: &Launch, device: Device) -> Result<Loaded, BackboneError> {
    let start = web_time::Instant::now();
    let (name, model) = match &launch.backbone_dir {
        None => (
            crate::embedded::NAME.to_string(),
            crate::embedded::backbone(&device)?,
        ),
        Some(dir) => (dir.display().to_string(), Dinov2::load_dir(dir, &device)?),
    };
    Ok(Loaded {
        name,
        model: Arc::new(model),
        device,
        seconds: start.elapsed().as_secs_f64(),
    })
}

impl AmflowApp {
    /// Starts loading the backbone in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, launch: Launch) -> Self {
        let (tx, rx) = channel();
        let ctx = cc.egui_ctx.clone();
        let job = launch.clone();
        let compute = gpu::choose(cc.wgpu_render_state.as_ref(), launch.backend);
        let device = compute.device.clone();
        let work = move || {
            // The receiver only disappears when the app closes; nothing is lost then.
            let _ = tx.send(load(&job, device));
            ctx.request_repaint();
        };
        #[cfg(not(target_arch = "wasm32"))]
        std::thread::spawn(work);
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_futures::spawn_local(async move { work() });
        let clip = ClipPanel::new(launch.clip.clone(), &cc.egui_ctx);
        Self {
            compute,
            state: State::Loading(rx),
            clip,
            maps: MapsPanel::new(),
            marker: ("", 0, String::new()),
        }
    }

    /// Tells the page where the app is: `<body data-amflow>` is `loading`, `frames-ready` or
    /// `error`, and `data-amflow-frames` / `data-amflow-fps` say what the browser made of the
    /// clip (for tests). A no-op natively.
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
        match &self.state {
            State::Loading(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("loading the backbone…");
                });
            }
            State::Failed(message) => {
                ui.colored_label(egui::Color32::RED, message);
            }
            State::Ready(loaded) => {
                let c = loaded.model.config();
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
    }
}

impl eframe::App for AmflowApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if let State::Loading(rx) = &self.state
            && let Ok(result) = rx.try_recv()
        {
            self.state = match result {
                Ok(loaded) => State::Ready(Box::new(loaded)),
                Err(e) => State::Failed(e.to_string()),
            };
        }
        egui::Panel::top("top").show(ui, |ui| {
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
        egui::Panel::right("blocks")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side_ui(ui));
            });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.clip.ui(ui);
                if let State::Ready(loaded) = &self.state {
                    ui.separator();
                    self.maps.update(
                        ui.ctx(),
                        &loaded.model,
                        &loaded.device,
                        self.clip.current_pair(),
                    );
                    self.maps.maps_ui(ui);
                }
            });
        });
        let failed = matches!(self.state, State::Failed(_))
            || self.clip.error.is_some()
            || self.maps.error.is_some();
        let maps_ready = self
            .clip
            .current_pair()
            .is_some_and(|(key, _)| self.maps.ready((key.0, key.1, key.2, self.maps.size)));
        if failed {
            self.mark("error");
        } else if maps_ready {
            self.mark("maps-ready");
        } else if self.clip.pair_ready() {
            self.mark("frames-ready");
        } else {
            self.mark("loading");
        }
    }
}

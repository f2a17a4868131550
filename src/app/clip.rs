//! The app's clip: opened and decoded off the UI thread (a thread natively, a future in the
//! browser), shown as the frame pair `(t, t+k)` with a timeline.

use std::sync::mpsc::{Receiver, channel};

use rand::SeedableRng;

use super::AppError;
use crate::video::{ClipError, ClipInfo, Frame};

/// Decoded frames arriving from the background.
pub type FramesReply = Receiver<Result<Vec<Frame>, ClipError>>;

/// Where a clip comes from.
#[derive(Debug, Clone, Default)]
pub enum ClipSource {
    /// A file dropped on the window or the page.
    Dropped(egui::DroppedFileHandle),
    /// A file picked in the browser: its name and bytes.
    Bytes(String, std::sync::Arc<Vec<u8>>),
    /// The embedded demo clip.
    #[default]
    Demo,
    /// A file on disk (native).
    Path(std::path::PathBuf),
    /// A URL the browser fetches (web).
    Url(String),
    /// A camera: a device name or `lavfi:EXPR` (desktop), a device id (browser), or the
    /// first camera.
    Camera(Option<String>),
    /// Frames recorded from a camera, at their rate.
    Recorded(String, std::sync::Arc<Vec<Frame>>, f64),
}

/// A clip the app can read frames from; lives on the UI thread.
enum Reader {
    #[cfg(not(target_arch = "wasm32"))]
    Native(std::sync::Arc<crate::video::Clip>),
    #[cfg(target_arch = "wasm32")]
    Memory(std::rc::Rc<crate::video::MemoryClip>),
    #[cfg(target_arch = "wasm32")]
    Web(std::rc::Rc<crate::video::web::WebVideo>),
}

impl Reader {
    fn info(&self) -> &ClipInfo {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Reader::Native(c) => c.info(),
            #[cfg(target_arch = "wasm32")]
            Reader::Memory(c) => c.info(),
            #[cfg(target_arch = "wasm32")]
            Reader::Web(c) => c.info(),
        }
    }

    /// Starts decoding `indices`; the answer arrives on the returned channel. A clip held in
    /// memory (the demo, a recorded camera clip: a few frames decoded from bytes at hand)
    /// answers at once, so the answer is there when asked for; files and the browser's video
    /// element answer from a thread or a task.
    fn request(
        &self,
        indices: Vec<usize>,
        ctx: egui::Context,
    ) -> Receiver<Result<Vec<Frame>, ClipError>> {
        let at_once = |frames| {
            let (tx, rx) = std::sync::mpsc::channel();
            let _ = tx.send(frames);
            rx
        };
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Reader::Native(clip) => match &**clip {
                crate::video::Clip::Memory(memory) => at_once(memory.frames(&indices)),
                _ => {
                    let clip = clip.clone();
                    super::background::run(&ctx, async move { clip.frames(&indices) })
                }
            },
            #[cfg(target_arch = "wasm32")]
            Reader::Memory(clip) => at_once(clip.frames(&indices)),
            #[cfg(target_arch = "wasm32")]
            Reader::Web(clip) => {
                let clip = clip.clone();
                super::background::run(&ctx, async move { clip.frames(&indices).await })
            }
        }
    }
}

/// Opens `source` in the background.
fn open(source: ClipSource, ctx: egui::Context) -> Receiver<Result<Reader, ClipError>> {
    #[cfg(not(target_arch = "wasm32"))]
    let work = async move {
        let clip = match source {
            ClipSource::Recorded(name, frames, fps) => {
                crate::video::MemoryClip::from_frames(name, &frames, fps)
                    .map(crate::video::Clip::Memory)
            }
            ClipSource::Camera(_) => Err(ClipError::Unsupported(
                "a camera is not a clip; it opens as the live source".into(),
            )),
            ClipSource::Dropped(file) => crate::video::Clip::open(file.path()),
            ClipSource::Demo => crate::video::demo_clip().map(crate::video::Clip::Memory),
            ClipSource::Path(path) => crate::video::Clip::open(path),
            ClipSource::Bytes(name, _) => Err(ClipError::Unsupported(format!(
                "{name}: the desktop app opens files by path"
            ))),
            ClipSource::Url(url) => Err(ClipError::Unsupported(format!(
                "{url}: the desktop app opens files, not URLs"
            ))),
        };
        clip.map(|c| Reader::Native(std::sync::Arc::new(c)))
    };
    #[cfg(target_arch = "wasm32")]
    let work = async move {
        match source {
            ClipSource::Dropped(file) => {
                let name = file.path().display().to_string();
                match file.bytes_async().await {
                    // The browser sniffs the format; any it plays will do.
                    Ok(bytes) => crate::video::web::WebVideo::from_bytes(&name, &bytes, "")
                        .await
                        .map(|v| Reader::Web(std::rc::Rc::new(v))),
                    Err(e) => Err(ClipError::Browser(format!("{name}: {e}"))),
                }
            }
            ClipSource::Demo => {
                crate::video::demo_clip().map(|c| Reader::Memory(std::rc::Rc::new(c)))
            }
            ClipSource::Recorded(name, frames, fps) => {
                crate::video::MemoryClip::from_frames(name, &frames, fps)
                    .map(|c| Reader::Memory(std::rc::Rc::new(c)))
            }
            ClipSource::Bytes(name, bytes) => {
                crate::video::web::WebVideo::from_bytes(&name, &bytes, "")
                    .await
                    .map(|v| Reader::Web(std::rc::Rc::new(v)))
            }
            ClipSource::Url(url) => crate::video::web::WebVideo::from_url(&url)
                .await
                .map(|v| Reader::Web(std::rc::Rc::new(v))),
            ClipSource::Camera(_) => Err(ClipError::Unsupported(
                "a camera is not a clip; it opens as the live source".into(),
            )),
            ClipSource::Path(path) => Err(ClipError::Browser(format!(
                "{}: the web app opens URLs and picked files, not paths",
                path.display()
            ))),
        }
    };
    super::background::run(&ctx, work)
}

/// The clip panel's state.
pub struct ClipPanel {
    opening: Option<Receiver<Result<Reader, ClipError>>>,
    reader: Option<Reader>,
    /// The pair shown is `(t, t + k)`.
    pub t: usize,
    /// The frame offset.
    pub k: usize,
    shown: Option<(usize, usize)>,
    pending: Option<(FramesReply, (usize, usize))>,
    textures: Option<[egui::TextureHandle; 2]>,
    /// The decoded pair on screen.
    pub frames: Option<[Frame; 2]>,
    /// The last error, shown in the panel.
    pub error: Option<AppError>,
    /// A file being picked in the browser.
    #[cfg(target_arch = "wasm32")]
    picking: Option<Receiver<super::pick::Picked>>,
    /// The browser's cameras, while they are listed, and once several are there to choose from.
    #[cfg(target_arch = "wasm32")]
    listing: Option<Receiver<Result<Vec<crate::video::web_camera::CameraDevice>, ClipError>>>,
    #[cfg(target_arch = "wasm32")]
    choosing: Option<(Vec<crate::video::web_camera::CameraDevice>, usize)>,
    /// Tells clips apart: a fresh number for every clip opened.
    pub generation: u64,
    /// The camera, once started, and while it starts.
    live: Option<super::live::Live>,
    opening_live: Option<Receiver<Result<super::live::Live, ClipError>>>,
    /// Maps per second reached (the app's maps panel tells), shown while live.
    pub maps_rate: Option<f64>,
    /// The desktop's "open a clip…" window: the folder shown and the path typed.
    #[cfg(not(target_arch = "wasm32"))]
    browse: Option<(std::path::PathBuf, String)>,
}

/// The next clip's [`ClipPanel::generation`].
static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ClipPanel {
    /// Starts opening `source`.
    pub fn new(source: ClipSource, ctx: &egui::Context) -> Self {
        let (opening, opening_live) = match source {
            ClipSource::Camera(device) => (None, Some(super::live::open(device, ctx))),
            other => (Some(open(other, ctx.clone())), None),
        };
        Self {
            opening,
            live: None,
            opening_live,
            maps_rate: None,
            reader: None,
            t: 0,
            k: 1,
            shown: None,
            pending: None,
            textures: None,
            frames: None,
            error: None,
            #[cfg(target_arch = "wasm32")]
            picking: None,
            #[cfg(target_arch = "wasm32")]
            listing: None,
            #[cfg(target_arch = "wasm32")]
            choosing: None,
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            #[cfg(not(target_arch = "wasm32"))]
            browse: None,
        }
    }

    /// Asks for `t` frames sampled as `amflow eval` samples a clip (the middles of `t` equal
    /// segments); `None` until the clip is open.
    pub fn request_segments(&self, t: usize, ctx: &egui::Context) -> Option<FramesReply> {
        let reader = self.reader.as_ref()?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let indices = crate::video::sampling::uniform_segments(
            reader.info().frames,
            t,
            crate::video::sampling::SegmentPick::Middle,
            &mut rng,
        );
        // A clip in memory answers at once, with no repaint of its own: the next frame takes it.
        ctx.request_repaint();
        Some(match indices {
            Ok(indices) => reader.request(indices, ctx.clone()),
            Err(e) => {
                let (tx, rx) = channel();
                let _ = tx.send(Err(e));
                rx
            }
        })
    }

    /// The pair on screen and its key `(generation, t, k, 0)`, once decoded.
    pub fn current_pair(&self) -> Option<(super::maps::PairKey, &[Frame; 2])> {
        let frames = self.frames.as_ref()?;
        self.pair_ready()
            .then_some(((self.generation, self.t, self.k, 0), frames))
    }

    /// Whether a camera is the source.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The clip's info once it is open.
    pub fn info(&self) -> Option<&ClipInfo> {
        self.reader.as_ref().map(Reader::info)
    }

    /// Whether the pair `(t, t+k)` is decoded and on screen.
    pub fn pair_ready(&self) -> bool {
        self.textures.is_some() && self.shown == Some((self.t, self.k))
    }

    /// Shows `frames` as the pair on screen, `(t, k)`.
    fn show_pair(&mut self, ctx: &egui::Context, frames: [Frame; 2], pair: (usize, usize)) {
        let load = |i: usize, f: &Frame| {
            let image =
                egui::ColorImage::from_rgb([f.width() as usize, f.height() as usize], f.as_raw());
            ctx.load_texture(format!("frame{i}"), image, egui::TextureOptions::LINEAR)
        };
        self.textures = Some([load(0, &frames[0]), load(1, &frames[1])]);
        self.frames = Some(frames);
        self.shown = Some(pair);
        self.error = None;
    }

    /// Takes the camera's newest frame into the pair on screen.
    fn poll_live(&mut self, ctx: &egui::Context) {
        if let Some(rx) = &self.opening_live
            && let Ok(result) = rx.try_recv()
        {
            self.opening_live = None;
            match result {
                Ok(live) => self.live = Some(live),
                Err(e) => self.error = Some(e.into()),
            }
        }
        let Some(live) = &mut self.live else { return };
        // The camera runs at its own rate; look again soon.
        ctx.request_repaint_after(web_time::Duration::from_millis(10));
        match live.poll(ctx.input(|i| i.time)) {
            Ok(true) => {
                let (count, k) = (live.count, self.k);
                if let Some(pair) = live.pair(k) {
                    self.t = count;
                    self.show_pair(ctx, pair, (count, k));
                }
            }
            Ok(false) => {}
            Err(e) => {
                self.error = Some(e.into());
                self.live = None;
            }
        }
    }

    /// The browser's "camera" button: the cameras are listed, the only one starts at once, and
    /// a choice is offered when there are several.
    #[cfg(target_arch = "wasm32")]
    fn camera_controls(&mut self, ui: &mut egui::Ui) {
        if ui.button("camera").clicked() {
            self.listing = Some(super::background::run(
                ui.ctx(),
                crate::video::web_camera::cameras(),
            ));
        }
        if let Some(rx) = &self.listing
            && let Ok(listed) = rx.try_recv()
        {
            self.listing = None;
            match listed {
                Ok(list) if list.len() > 1 => self.choosing = Some((list, 0)),
                Ok(_) => *self = Self::new(ClipSource::Camera(None), ui.ctx()),
                Err(e) => self.error = Some(e.into()),
            }
        }
        let mut start = None;
        let mut close = false;
        if let Some((list, chosen)) = &mut self.choosing {
            egui::Window::new("choose a camera")
                .collapsible(false)
                .show(ui.ctx(), |ui| {
                    for (i, device) in list.iter().enumerate() {
                        let label = if device.label.is_empty() {
                            format!("camera {}", i + 1)
                        } else {
                            device.label.clone()
                        };
                        ui.radio_value(chosen, i, label);
                    }
                    ui.horizontal(|ui| {
                        if ui.button("start").clicked() {
                            start = list.get(*chosen).map(|d| d.id.clone());
                        }
                        if ui.button("cancel").clicked() {
                            close = true;
                        }
                    });
                });
        }
        if close {
            self.choosing = None;
        }
        if let Some(id) = start {
            *self = Self::new(ClipSource::Camera(Some(id)), ui.ctx());
        }
    }

    /// The live controls: the camera's name and rates, pause, record.
    fn live_ui(&mut self, ui: &mut egui::Ui) {
        if self.opening_live.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("starting the camera…");
            });
        }
        let Some(live) = &mut self.live else { return };
        let rate = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.1}"));
        ui.label(format!(
            "live: {} — camera {} frames/s, maps {}/s",
            live.name(),
            rate(live.frames.per_second()),
            rate(self.maps_rate)
        ));
        let mut recorded = None;
        ui.horizontal(|ui| {
            let pause = if live.paused { "resume" } else { "pause" };
            if ui.button(pause).clicked() {
                live.paused = !live.paused;
            }
            ui.add(egui::Slider::new(&mut self.k, 1..=8).text("offset k"));
            match &live.recording {
                None => {
                    if ui.button("record").clicked() {
                        live.recording = Some(std::collections::VecDeque::new());
                    }
                }
                Some(frames) => {
                    let label = format!(
                        "stop and open the recording ({} frames, last {:.0} s kept)",
                        frames.len(),
                        super::live::RECORD_SECONDS
                    );
                    if ui.button(label).clicked() {
                        recorded = live.take_recording();
                    }
                }
            }
        });
        if let Some((frames, fps)) = recorded {
            let name = format!("recording of {}", live.name());
            *self = Self::new(
                ClipSource::Recorded(name, std::sync::Arc::new(frames), fps),
                ui.ctx(),
            );
        }
    }

    /// Polls the background work and asks for the current pair when it changed.
    fn poll(&mut self, ctx: &egui::Context) {
        self.poll_live(ctx);
        if let Some(rx) = &self.opening
            && let Ok(result) = rx.try_recv()
        {
            self.opening = None;
            match result {
                Ok(reader) => {
                    let frames = reader.info().frames;
                    self.t = self.t.min(frames.saturating_sub(2));
                    self.reader = Some(reader);
                }
                Err(e) => self.error = Some(e.into()),
            }
        }
        self.poll_pair(ctx);
    }

    /// Asks for the pair `(t, t+k)` when it is not the one shown or coming, and shows it once
    /// decoded: in the same call where the reader answers at once (a clip held in memory), so
    /// that a moved slider shows its pair, and the maps are asked for, in the frame that moved
    /// it.
    fn poll_pair(&mut self, ctx: &egui::Context) {
        if let Some(reader) = &self.reader {
            let frames = reader.info().frames;
            let wanted = (self.t, self.k);
            if self.pending.is_none() && self.shown != Some(wanted) && frames >= 2 {
                let u = (self.t + self.k).min(frames - 1);
                let rx = reader.request(vec![self.t, u], ctx.clone());
                self.pending = Some((rx, wanted));
            }
        }
        if let Some((rx, pair)) = &self.pending
            && let Ok(result) = rx.try_recv()
        {
            let pair = *pair;
            self.pending = None;
            match result {
                Ok(frames) if frames.len() == 2 => {
                    let [a, b]: [Frame; 2] = frames.try_into().unwrap_or_default();
                    self.show_pair(ctx, [a, b], pair);
                }
                Ok(frames) => {
                    self.error = Some(AppError::FrameCount {
                        asked: 2,
                        got: frames.len(),
                    })
                }
                Err(e) => self.error = Some(e.into()),
            }
        }
    }

    /// The "open a clip…" button: the browser's file picker, or on the desktop a small file
    /// browser (folders to walk, a path to type; a folder of frames opens as a clip).
    pub fn open_controls(&mut self, ui: &mut egui::Ui) {
        #[cfg(target_arch = "wasm32")]
        {
            if ui.button("open a clip…").clicked() {
                match super::pick::pick_file(ui.ctx().clone()) {
                    Ok(rx) => self.picking = Some(rx),
                    Err(e) => self.error = Some(e),
                }
            }
            if let Some(rx) = &self.picking
                && let Ok(picked) = rx.try_recv()
            {
                self.picking = None;
                match picked {
                    Ok((name, bytes)) => {
                        *self = Self::new(
                            ClipSource::Bytes(name, std::sync::Arc::new(bytes)),
                            ui.ctx(),
                        );
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            self.camera_controls(ui);
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            if ui.button("open a clip…").clicked() {
                let dir = std::env::current_dir().unwrap_or_default();
                let text = dir.display().to_string();
                self.browse = Some((dir, text));
            }
            let mut open = None;
            let mut close = false;
            if let Some((dir, text)) = &mut self.browse {
                let mut next = None;
                egui::Window::new("open a clip")
                    .collapsible(false)
                    .show(ui.ctx(), |ui| {
                        ui.horizontal(|ui| {
                            ui.add(egui::TextEdit::singleline(text).desired_width(360.0));
                            if ui.button("open").clicked() {
                                open = Some(std::path::PathBuf::from(text.trim()));
                            }
                            if ui.button("cancel").clicked() {
                                close = true;
                            }
                        });
                        ui.weak(
                        "a video, GIF/WebP, or a folder of frames; click a folder to look inside",
                    );
                        egui::ScrollArea::vertical()
                            .max_height(320.0)
                            .show(ui, |ui| {
                                if let Some(parent) = dir.parent()
                                    && ui.link("..").clicked()
                                {
                                    next = Some(parent.to_path_buf());
                                }
                                let mut entries: Vec<_> = std::fs::read_dir(&*dir)
                                    .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
                                    .unwrap_or_default();
                                entries.sort();
                                for path in entries {
                                    let name = path
                                        .file_name()
                                        .map(|n| n.to_string_lossy().into_owned())
                                        .unwrap_or_default();
                                    if path.is_dir() {
                                        if ui.link(format!("{name}/")).clicked() {
                                            next = Some(path);
                                        }
                                    } else if ui.selectable_label(false, name).clicked() {
                                        open = Some(path);
                                    }
                                }
                            });
                    });
                if let Some(next) = next {
                    *text = next.display().to_string();
                    *dir = next;
                }
            }
            if close {
                self.browse = None;
            }
            if let Some(path) = open {
                *self = Self::new(ClipSource::Path(path), ui.ctx());
            }
            // After "open a clip…", whose place the browser tests click.
            if ui.button("camera").clicked() {
                *self = Self::new(ClipSource::Camera(None), ui.ctx());
            }
        }
    }

    /// Draws the panel: clip facts, the timeline, the frame pair. A file dropped on the window
    /// replaces the clip.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let dropped = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .find(|f| !super::ranking::is_ranking(f))
                .cloned()
        });
        if let Some(file) = dropped {
            *self = Self::new(ClipSource::Dropped(file), ui.ctx());
        }
        self.poll(ui.ctx());
        ui.weak(
            "drop a video, an animated GIF/WebP or (natively) a folder of frames here to open it",
        );
        if self.opening.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("opening the clip…");
            });
        }
        self.live_ui(ui);
        if let Some(info) = self.info() {
            let (frames, fps, w, h, name) = (
                info.frames,
                info.fps,
                info.width,
                info.height,
                info.name.clone(),
            );
            let time = info.timestamps.get(self.t).copied().unwrap_or(0.0);
            ui.label(format!(
                "clip: {name} — {frames} frames, {fps:.2} fps, {w}×{h}"
            ));
            if frames >= 2 {
                ui.horizontal(|ui| {
                    ui.add(egui::Slider::new(&mut self.t, 0..=frames - 2).text("frame t"));
                    ui.add(egui::Slider::new(&mut self.k, 1..=8.min(frames - 1)).text("offset k"));
                    ui.label(format!("{time:.2} s"));
                });
                self.t = self.t.min(frames.saturating_sub(1 + self.k));
                self.poll_pair(ui.ctx());
            }
        }
        if let Some(error) = &self.error {
            ui.colored_label(egui::Color32::RED, error.to_string());
        }
        if let Some(textures) = &self.textures {
            // Both frames side by side within the panel's width (up to 320 px each), so that a
            // narrow window shrinks them rather than hiding the second under the side panel.
            let each =
                ((ui.available_width() - ui.spacing().item_spacing.x) / 2.0).clamp(60.0, 320.0);
            ui.horizontal(|ui| {
                for (texture, label) in textures.iter().zip(["t", "t+k"]) {
                    ui.vertical(|ui| {
                        let size = texture.size_vec2();
                        let scale = (each / size.x).min(1.0);
                        ui.image((texture.id(), size * scale));
                        ui.label(label);
                    });
                }
            });
        }
        if self.pending.is_some() {
            ui.horizontal(|ui| {
                super::busy::busy(ui);
                ui.label("decoding…");
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo clip (held in memory) shows a moved slider's pair in the same call that sees
    /// the slider moved, so the maps can be asked for in that frame. Broken once (the pair
    /// decoded in the background, as files are): not ready in that call; failed.
    #[test]
    fn a_pair_in_memory_is_shown_in_the_frame_that_asks_for_it() {
        let ctx = egui::Context::default();
        let mut panel = ClipPanel::new(ClipSource::Demo, &ctx);
        let start = std::time::Instant::now();
        while panel.reader.is_none() {
            assert!(start.elapsed().as_secs() < 60, "the demo clip did not open");
            std::thread::sleep(std::time::Duration::from_millis(5));
            panel.poll(&ctx);
        }
        panel.t = 5;
        panel.poll_pair(&ctx);
        assert!(panel.pair_ready(), "the pair (5, 6) is on screen at once");
        assert_eq!(panel.current_pair().map(|(key, _)| key.1), Some(5));
    }
}

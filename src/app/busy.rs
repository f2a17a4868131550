//! "Working on it" without drawing 60 frames a second. egui's spinner asks for a repaint every
//! frame while it shows; on a machine whose page is drawn by the CPU (no GPU for the canvas, as in
//! a headless browser on SwiftShader) that drawing takes a core from the model's workers for as
//! long as a pair computes. This indicator moves once a second instead; replies from the engine
//! repaint the page anyway. Measured on the CPU fallback in headless Chromium (BENCHMARKS.md):
//! four steps a second cost the pair about 15% against one.

use std::time::Duration;

/// Steps of the indicator per second: every step is a repaint of the whole page.
const STEPS_PER_SECOND: f64 = 1.0;

/// A small moving indicator, repainted [`STEPS_PER_SECOND`] times a second.
pub fn busy(ui: &mut egui::Ui) {
    let step = (ui.input(|i| i.time) * STEPS_PER_SECOND) as usize % 4;
    let dots = ["·  ", "·· ", "···", " ··"][step];
    ui.monospace(dots);
    ui.ctx()
        .request_repaint_after(Duration::from_secs_f64(1.0 / STEPS_PER_SECOND));
}

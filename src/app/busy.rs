//! "Working on it" without drawing 60 frames a second. egui's spinner asks for a repaint every
//! frame while it shows; on a machine whose page is drawn by the CPU (no GPU for the canvas, as in
//! a headless browser on SwiftShader) that drawing takes a core from the model's workers for as
//! long as a pair computes. This indicator stands still for its first [`STILL_FOR`] seconds, so
//! work that ends sooner (a pair on the CPU fallback takes about one) draws no frame for it at
//! all, then moves once a second; replies from the engine repaint the page anyway. Measured on
//! the CPU fallback in headless Chromium (BENCHMARKS.md): four steps a second cost the pair about
//! 15% against one, and each frame drawn while a pair computes about 75 ms of CPU.

use std::time::Duration;

/// Steps of the indicator per second once it moves: every step is a repaint of the whole page.
const STEPS_PER_SECOND: f64 = 1.0;

/// Seconds an indicator stands still after it appears.
const STILL_FOR: f64 = 2.0;

/// What the indicator shows, step by step.
const DOTS: [&str; 4] = ["·  ", "·· ", "···", " ··"];

/// A small indicator, still for [`STILL_FOR`] seconds after it appears (it appears when it was
/// not drawn in the pass before), then moving [`STEPS_PER_SECOND`] times a second; the page is
/// repainted only when it changes.
pub fn busy(ui: &mut egui::Ui) {
    let now = ui.input(|i| i.time);
    let pass = ui.ctx().cumulative_pass_nr();
    let id = ui.scope_id().with("amflow-busy");
    let since = ui.ctx().data_mut(|d| {
        let (last, since) = d.get_temp_mut_or(id, (pass, now));
        if *last + 1 < pass {
            *since = now;
        }
        *last = pass;
        *since
    });
    let (dots, next) = indicator(now - since);
    ui.monospace(dots);
    ui.ctx()
        .request_repaint_after(Duration::from_secs_f64(next));
}

/// The dots shown `elapsed` seconds after the indicator appeared, and the seconds until they
/// change.
fn indicator(elapsed: f64) -> (&'static str, f64) {
    let moving = elapsed - STILL_FOR;
    if moving < 0.0 {
        return (DOTS[0], -moving);
    }
    let steps = moving * STEPS_PER_SECOND;
    let step = (steps.floor() as usize + 1) % DOTS.len();
    (DOTS[step], (steps.floor() + 1.0 - steps) / STEPS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn still_at_first_then_a_step_a_second() {
        assert_eq!(indicator(0.0), (DOTS[0], 2.0));
        let (dots, next) = indicator(1.5);
        assert_eq!(dots, DOTS[0]);
        assert!((next - 0.5).abs() < 1e-9, "{next}");
        let (dots, next) = indicator(2.25);
        assert_eq!(dots, DOTS[1], "the first step at 2 s");
        assert!((next - 0.75).abs() < 1e-9, "{next}");
        assert_eq!(indicator(3.5).0, DOTS[2]);
        assert_eq!(indicator(4.5).0, DOTS[3]);
        assert_eq!(indicator(5.5).0, DOTS[0], "round again");
    }

    /// The repaint the indicator asks for, in passes of a bare egui context at the given times:
    /// shown continuously it counts from its first pass; left out for a pass, it starts again.
    #[test]
    fn the_page_is_repainted_when_the_dots_change_and_not_before() {
        let ctx = egui::Context::default();
        let pass = |time: f64, show: bool| {
            let input = egui::RawInput {
                time: Some(time),
                ..Default::default()
            };
            let mut output = ctx.run_ui(input, |ui| {
                if show {
                    busy(ui);
                }
            });
            // The font atlas egui made is not uploaded anywhere here.
            output.textures_delta.clear();
            output.viewport_output[&egui::ViewportId::ROOT].repaint_delay
        };
        // A widget's first pass asks for a second one (egui styles it from the pass before).
        pass(9.0, false);
        pass(10.0, true);
        let delay = pass(10.1, true);
        assert!((delay.as_secs_f64() - 1.9).abs() < 1e-3, "{delay:?}");
        let delay = pass(11.5, true);
        assert!((delay.as_secs_f64() - 0.5).abs() < 1e-3, "{delay:?}");
        let delay = pass(12.25, true);
        assert!((delay.as_secs_f64() - 0.75).abs() < 1e-3, "{delay:?}");
        pass(13.0, false);
        pass(20.0, true);
        let delay = pass(20.1, true);
        assert!(
            (delay.as_secs_f64() - 1.9).abs() < 1e-3,
            "shown again, still again: {delay:?}"
        );
    }
}

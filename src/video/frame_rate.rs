//! A clip's frame rate from the media times of the frames a browser shows.
//!
//! Browsers do not report a video's frame rate; they report the media time of each frame they
//! present (`requestVideoFrameCallback`). Playing the clip and taking the shortest step between
//! presented frames fails on a busy page, which drops frames: a 10 fps clip presented every
//! third frame reads as 3.33 fps. Seeking never drops: the frame shown at time `t` is the last
//! frame that starts at or before `t`, so looking at chosen times narrows two frames `a < b`
//! down to neighbours ([`confirm_step`]). [`measure`] does that from a few anchors, so that a
//! frame or two an encoder left out is not taken for the step, then times many steps at once,
//! so that timestamps rounded to the millisecond still tell 29.97 fps from 30.

use std::future::Future;

/// Common frame rates a measured rate is snapped to.
const COMMON_RATES: [f64; 15] = [
    6.0, 8.0, 10.0, 12.0, 12.5, 15.0, 23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0,
];

/// Media times closer than this (seconds) are the same frame.
const SAME_FRAME: f64 = 1e-4;

/// At most this many frames are looked up while confirming a step.
pub const MAX_PROBES: usize = 16;

/// `fps` snapped to the nearest common rate within 3 %.
pub fn snap(fps: f64) -> f64 {
    COMMON_RATES
        .iter()
        .copied()
        .min_by(|a, b| (a - fps).abs().total_cmp(&(b - fps).abs()))
        .filter(|r| (r - fps).abs() <= 0.03 * r)
        .unwrap_or(fps)
}

/// The frame rate of a clip `duration` seconds long. The frames shown at 0, ¼ and ½ of its
/// first two seconds (at most) are anchors; the shortest step from one of them to its next
/// frame ([`confirm_step`]) is one frame, to a millisecond or so. It is then sharpened by
/// looking at the middle of the frame `k` steps on, for `k` growing eightfold while it fits the
/// clip (8, 64, …): that frame starts `k` steps after the anchor, which gives the step `k`
/// times more precisely. The rate is snapped ([`snap`]). `None` when the anchors are all one
/// frame, or the browser does not tell.
pub async fn measure<F, Fut>(duration: f64, mut shown_at: F) -> Option<f64>
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Option<f64>>,
{
    let end = duration.min(2.0);
    let mut anchors = Vec::with_capacity(3);
    for t in [end / 2.0, end / 4.0, 0.0] {
        anchors.push(shown_at(t).await?);
    }
    anchors.sort_by(f64::total_cmp);
    anchors.dedup_by(|a, b| (*a - *b).abs() <= SAME_FRAME);
    // (step, the anchor it starts from)
    let mut best: Option<(f64, f64)> = None;
    for pair in anchors.windows(2) {
        let step = confirm_step(pair[0], pair[1], &mut shown_at).await;
        if step > 0.0 && best.is_none_or(|(s, _)| step < s) {
            best = Some((step, pair[0]));
        }
    }
    let (mut step, start) = best?;
    let mut k = 1.0_f64;
    loop {
        let next = (k * 8.0).min(((duration - start) / step - 1.0).floor());
        if next <= k {
            break;
        }
        let Some(shown) = shown_at(start + (next + 0.5) * step).await else {
            break;
        };
        if shown <= start {
            break;
        }
        step = (shown - start) / next;
        k = next;
    }
    Some(snap(1.0 / step))
}

/// The step from frame `a` to the next frame, starting from a later frame `b`:
/// `shown_at(t)` shows the clip at media time `t` and resolves to the media time of the frame
/// shown (`None` when the browser does not tell, which ends the search with the step found so
/// far). Each round looks halfway between `a` and `b`: a frame there is a nearer `b`; when there
/// is none, a look just before `b` either finds `a` (nothing between: done) or a frame in the
/// second half, the nearer `b`. At most [`MAX_PROBES`] looks.
pub async fn confirm_step<F, Fut>(a: f64, mut b: f64, mut shown_at: F) -> f64
where
    F: FnMut(f64) -> Fut,
    Fut: Future<Output = Option<f64>>,
{
    let mut probes = 0;
    // The frame shown at `t`, when it lies strictly between `a` and `b`; `Err` ends the search.
    let mut look = async |t: f64, b: f64| -> Result<Option<f64>, ()> {
        if probes == MAX_PROBES {
            return Err(());
        }
        probes += 1;
        let shown = shown_at(t).await.ok_or(())?;
        Ok((shown > a + SAME_FRAME && shown < b - SAME_FRAME).then_some(shown))
    };
    loop {
        if let Ok(Some(shown)) = look((a + b) / 2.0, b).await {
            b = shown;
            continue;
        }
        // Just before `b`: a quarter of the step, at most a millisecond.
        match look(b - ((b - a) / 4.0).min(1e-3), b).await {
            Ok(Some(shown)) => b = shown,
            Ok(None) | Err(()) => return b - a,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::future::{Ready, ready};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits are all ready.
    fn run<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("a probe was not ready"),
        }
    }

    /// A clip of `fps` frames per second: the media time of the frame shown at `t`.
    fn clip(fps: f64, probes: &Cell<usize>) -> impl FnMut(f64) -> Ready<Option<f64>> + '_ {
        move |t| {
            probes.set(probes.get() + 1);
            ready(Some((t * fps + 1e-9).floor() / fps))
        }
    }

    #[test]
    fn snaps_to_common_rates_only_when_close() {
        assert_eq!(snap(1.0 / 0.0334), 29.97);
        assert_eq!(snap(9.8), 10.0);
        assert_eq!(snap(7.0), 7.0);
    }

    #[test]
    fn two_frames_apart_are_narrowed_to_neighbours() {
        // 10 fps, frames three apart.
        let probes = Cell::new(0);
        let step = run(confirm_step(0.3, 0.6, clip(10.0, &probes)));
        assert!((step - 0.1).abs() < 1e-9, "{step}");
        assert_eq!(probes.get(), 3);
        assert_eq!(snap(1.0 / step), 10.0);
        // 30 fps with nine frames of ten dropped.
        let step = run(confirm_step(0.0, 1.0 / 3.0, clip(30.0, &probes)));
        assert!((step - 1.0 / 30.0).abs() < 1e-9, "{step}");
    }

    #[test]
    fn neighbours_are_confirmed_by_two_probes() {
        let probes = Cell::new(0);
        let step = run(confirm_step(1.0 / 30.0, 2.0 / 30.0, clip(30.0, &probes)));
        assert!((step - 1.0 / 30.0).abs() < 1e-9);
        assert_eq!(probes.get(), 2);
    }

    #[test]
    fn a_browser_that_does_not_tell_keeps_the_step_found() {
        let step = run(confirm_step(0.0, 0.5, |_| ready(None)));
        assert_eq!(step, 0.5);
        // An answer outside the interval does not narrow it either.
        let step = run(confirm_step(0.0, 0.5, |_| ready(Some(0.7))));
        assert_eq!(step, 0.5);
    }

    /// A clip whose frames start at `times` (sorted): the frame shown at `t`.
    fn frames(times: Vec<f64>) -> impl FnMut(f64) -> Ready<Option<f64>> {
        move |t| {
            let shown = times.iter().copied().take_while(|&s| s <= t + 1e-9).last();
            ready(Some(shown.unwrap_or(times[0])))
        }
    }

    /// Frame `k` at `k / fps`, rounded to the millisecond (as WebM stores it).
    fn webm(fps: f64, count: usize) -> Vec<f64> {
        (0..count)
            .map(|k| (k as f64 / fps * 1000.0).round() / 1000.0)
            .collect()
    }

    #[test]
    fn measures_common_rates_with_rounded_timestamps() {
        for fps in COMMON_RATES {
            let rate = run(measure(15.0, frames(webm(fps, (15.0 * fps) as usize))));
            assert_eq!(rate, Some(fps), "{fps} fps");
        }
        // A clip of three frames at 10 fps.
        assert_eq!(run(measure(0.3, frames(webm(10.0, 3)))), Some(10.0));
    }

    #[test]
    fn frames_left_out_by_the_encoder_are_not_taken_for_the_step() {
        // 29.97 fps where the encoder dropped frames 1 and 2 (a real VP9 encode of box.mp4).
        let mut times = webm(30000.0 / 1001.0, 450);
        times.drain(1..3);
        assert_eq!(run(measure(15.0, frames(times))), Some(29.97));
    }

    #[test]
    fn one_frame_or_a_silent_browser_gives_no_rate() {
        assert_eq!(run(measure(1.0, frames(vec![0.0]))), None);
        assert_eq!(run(measure(1.0, |_| ready(None))), None);
    }

    #[test]
    fn the_page_search_finds_common_rates_from_a_second_in() {
        // What the page does: the frame shown at 1 s and the first frame, then the search.
        for fps in [
            6.0, 10.0, 12.5, 23.976, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0,
        ] {
            let probes = Cell::new(0);
            let mut shown = clip(fps, &probes);
            let later = run(shown(1.0)).expect("a frame");
            let first = run(shown(0.0)).expect("a frame");
            let step = run(confirm_step(first, later, shown));
            assert_eq!(snap(1.0 / step), fps, "{fps} fps: step {step}");
            assert!(
                probes.get() <= MAX_PROBES,
                "{fps} fps: {} looks",
                probes.get()
            );
        }
    }

    #[test]
    fn probes_are_bounded() {
        // 1000 fps between frames 0 and 1000 s: the search stops after MAX_PROBES looks.
        let probes = Cell::new(0);
        let step = run(confirm_step(0.0, 1000.0, clip(1000.0, &probes)));
        assert_eq!(probes.get(), MAX_PROBES);
        assert!(step > 0.001 && step < 1000.0);
    }
}

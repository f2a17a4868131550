//! `amflow live`: a camera through ffmpeg, with ffmpeg's own test source standing in for it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::amflow;

/// ffmpeg's moving test pattern at a camera's rate.
const TEST_SOURCE: &str = "lavfi:testsrc2=size=160x120:rate=25";

#[test]
fn a_test_source_gives_live_maps_a_rate_and_reused_frames() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("live.png");
    let tiny = common::tiny_dir();
    let run = amflow(&[
        "live",
        "--camera",
        TEST_SOURCE,
        "--backbone",
        tiny.to_str().unwrap(),
        "--size",
        "56",
        "--seconds",
        "2",
        "--json",
        "-o",
        png.to_str().unwrap(),
    ]);
    let out = run.expect_ok("amflow live on a test source");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let updates = report["updates"].as_u64().unwrap();
    let rate = report["updates_per_second"].as_f64().unwrap();
    let fps = report["camera_fps"].as_f64().unwrap();
    assert!(updates >= 2, "{out}");
    assert!(rate > 0.5 && rate.is_finite(), "{out}");
    // -re holds the test source to its own rate, as a camera is: 25 frames/s, not thousands.
    assert!((10.0..40.0).contains(&fps), "camera rate {fps}: {out}");
    // Each update after the first ran one frame through the backbone and reused the other.
    assert_eq!(
        report["backbone_passes"].as_u64(),
        Some(updates + 1),
        "{out}"
    );
    assert_eq!(report["reused"].as_u64(), Some(updates - 1), "{out}");
    // The maps are a picture: the figure holds more than a handful of colours.
    let image = image::open(&png).unwrap().to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 50, "{} colours", colours.len());
}

#[test]
fn a_missing_camera_is_named_in_the_error() {
    let run = amflow(&[
        "live",
        "--camera",
        "/dev/video-amflow-missing",
        "--backbone",
        common::tiny_dir().to_str().unwrap(),
        "--seconds",
        "1",
    ]);
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("camera /dev/video-amflow-missing: no such camera"),
        "{}",
        run.text()
    );
}

#[test]
fn maps_over_a_range_write_a_figure_per_pair_and_run_each_frame_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.png");
    let tiny = common::tiny_dir();
    let args = |to: &str| {
        vec![
            "maps".to_string(),
            "--backbone".into(),
            tiny.to_str().unwrap().into(),
            "--size".into(),
            "56".into(),
            "--frame".into(),
            "2".into(),
            "--to".into(),
            to.into(),
            "-o".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let run = |to: &str| {
        let a = args(to);
        amflow(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let text = run("5").expect_ok("amflow maps --frame 2 --to 5");
    // Pairs (2,3) … (5,6): five frames, each through the backbone once.
    assert!(
        text.contains("4 pairs: 5 frames through the backbone, 3 reused"),
        "{text}"
    );
    for t in 2..=5 {
        let figure = dir.path().join(format!("f-t{t:04}.png"));
        assert!(image::open(&figure).is_ok(), "{}: {text}", figure.display());
    }
    assert!(!out.exists(), "a range writes numbered figures only");
    let refused = run("1");
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("--to 1 comes before --frame 2"),
        "{}",
        refused.text()
    );
}

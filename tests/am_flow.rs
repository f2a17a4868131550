//! AM flow against Hugging Face: every block's vanilla flow and attention column sums for the
//! reference pairs, through the library and through `amflow maps --pixels … --dump …`; and
//! the maps of a real clip marking what moves.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use amflow::analysis::{PairAnalysis, PairData};
use amflow::flow::{FlowKernel, Fused, clip_vanilla_flow};
use amflow::model::{Capture, Dinov2};
use amflow::video::Clip;
use burn::tensor::Device;
use common::{Npz, max_error, small_dir, tiny_dir, values};
use ndarray::Array4;

/// Checks flows of every block against `{prefix}vanilla_flow_{i}` and `{prefix}colsum_{i}`.
fn check(data: &PairData, npz: &mut Npz, prefix: &str, bound: f32) {
    for (i, (v, c)) in data.vanilla.iter().zip(&data.colsum).enumerate() {
        let (rv, shape) = npz.array(&format!("{prefix}vanilla_flow_{i}"));
        assert_eq!(shape, [data.heads, data.tokens]);
        let (rc, _) = npz.array(&format!("{prefix}colsum_{i}"));
        let (ev, ec) = (
            max_error(v, &rv, "vanilla flow"),
            max_error(c, &rc, "column sums"),
        );
        println!("block {}: vanilla flow {ev:e}, column sums {ec:e}", i + 1);
        assert!(
            ev <= bound && ec <= bound,
            "block {}: {ev} / {ec} > {bound}",
            i + 1
        );
    }
}

fn tiny_pair(device: &Device) {
    let model = Dinov2::load_dir(tiny_dir(), device).unwrap_or_else(|e| panic!("{e}"));
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    let pixels = npz.tensor::<4>("pair_pixel_values", device);
    let data = amflow::engine::block_on(PairData::compute(&model, pixels))
        .unwrap_or_else(|e| panic!("{e}"));
    check(&data, &mut npz, "pair_", 1e-4);
}

#[test]
fn tiny_pair_flow_matches_huggingface_on_cpu() {
    tiny_pair(&Device::flex());
}

#[test]
fn tiny_pair_flow_matches_huggingface_on_wgpu() {
    tiny_pair(&common::wgpu_device());
}

#[test]
fn real_pair_flow_matches_huggingface() {
    let device = Device::flex();
    let model = Dinov2::load_dir(small_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    let mut npz = Npz::open(small_dir().join("reference_vtest.npz"));
    let pixels = npz.tensor::<4>("pixel_values", &device);
    let data = amflow::engine::block_on(PairData::compute(&model, pixels))
        .unwrap_or_else(|e| panic!("{e}"));
    check(&data, &mut npz, "", 1e-3);
}

#[test]
fn batched_clip_flow_equals_pairwise_flow() {
    let device = Device::flex();
    let model = Dinov2::load_dir(tiny_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    let pixels = npz.tensor::<4>("pair_pixel_values", &device);
    // A 3-frame clip: t0, t1, t0.
    let clip = burn::tensor::Tensor::cat(vec![pixels.clone(), pixels.narrow(0, 0, 1)], 0);
    let out = model
        .forward_with(clip, Capture::logits())
        .unwrap_or_else(|e| panic!("{e}"));
    for logits in out.logits {
        let flows = clip_vanilla_flow(logits.clone()); // [3, H, N]
        // The batched flow runs the fused kernel; pairwise, the same kernel gives the same bits.
        let forward = Fused.vanilla_flow(
            logits.clone().narrow(0, 0, 1),
            logits.clone().narrow(0, 1, 1),
        );
        let back = Fused.vanilla_flow(logits.clone().narrow(0, 1, 1), logits.narrow(0, 2, 1));
        let [_, h, n] = flows.dims();
        let (got, _) = values(flows);
        assert_eq!(max_error(&got[..h * n], &values(forward).0, "forward"), 0.0);
        assert_eq!(
            max_error(&got[h * n..2 * h * n], &values(back).0, "back"),
            0.0
        );
        assert!(got[2 * h * n..].iter().all(|&v| v == 0.0));
    }
}

/// Runs the `amflow` binary, which must succeed; what it printed.
fn amflow(args: &[&str]) -> String {
    common::amflow(args).expect_ok(&format!("amflow {args:?}"))
}

/// Writes `name` of `npz` to `dir/pair.npy` and dumps it through the command line.
fn dump_through_cli(backbone: &Path, npz: &mut Npz, name: &str, dir: &Path) -> serde_json::Value {
    let (v, shape) = npz.array(name);
    let a = Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), v).unwrap();
    let npy = dir.join("pair.npy");
    ndarray_npy::write_npy(&npy, &a).unwrap();
    let json = dir.join("flow.json");
    let b = backbone.to_str().unwrap();
    amflow(&[
        "--backbone",
        b,
        "maps",
        "--pixels",
        npy.to_str().unwrap(),
        "--dump",
        json.to_str().unwrap(),
    ]);
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

fn flat(v: &serde_json::Value) -> Vec<f32> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        _ => panic!("not numbers: {v}"),
    }
}

fn check_dump(dump: &serde_json::Value, npz: &mut Npz, prefix: &str, bound: f32) {
    let blocks = dump["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty());
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b["block"], i + 1);
        let (rv, shape) = npz.array(&format!("{prefix}vanilla_flow_{i}"));
        assert_eq!(
            b["vanilla_flow"].as_array().unwrap().len(),
            shape[0],
            "[heads][tokens]"
        );
        assert_eq!(
            b["colsum"].as_array().unwrap().len(),
            2,
            "[2][heads][tokens]"
        );
        let (rc, _) = npz.array(&format!("{prefix}colsum_{i}"));
        let ev = max_error(&flat(&b["vanilla_flow"]), &rv, "dumped vanilla flow");
        let ec = max_error(&flat(&b["colsum"]), &rc, "dumped column sums");
        assert!(ev <= bound && ec <= bound, "block {}: {ev} / {ec}", i + 1);
    }
}

#[test]
fn command_line_dump_matches_huggingface() {
    let dir = tempfile::tempdir().unwrap();
    let mut npz = Npz::open(tiny_dir().join("reference_io.npz"));
    let dump = dump_through_cli(&tiny_dir(), &mut npz, "pair_pixel_values", dir.path());
    check_dump(&dump, &mut npz, "pair_", 1e-4);

    let mut npz = Npz::open(small_dir().join("reference_vtest.npz"));
    let dump = dump_through_cli(&small_dir(), &mut npz, "pixel_values", dir.path());
    assert_eq!(dump["blocks"].as_array().unwrap().len(), 12);
    check_dump(&dump, &mut npz, "", 1e-3);
}

#[test]
fn maps_of_walking_people_follow_the_people() {
    let device = Device::flex();
    let model = Dinov2::load_dir(small_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    let clip = Clip::open(common::shared().join("clips").join("vtest.avi"))
        .unwrap_or_else(|e| panic!("{e}"));
    let frames = clip.frames(&[100, 101]).unwrap_or_else(|e| panic!("{e}"));
    let analysis = amflow::engine::block_on(PairAnalysis::run(
        &model,
        [&frames[0], &frames[1]],
        224,
        &device,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((analysis.grid.rows, analysis.grid.cols), (16, 21));
    assert!(
        analysis.scores.iter().all(|s| s.correlation.is_finite()),
        "{:?}",
        analysis.scores
    );
    let best = analysis
        .scores
        .iter()
        .map(|s| s.correlation)
        .fold(f32::MIN, f32::max);
    let mean = analysis.scores.iter().map(|s| s.correlation).sum::<f32>() / 12.0;
    println!("correlation with pixel motion: best {best:.3}, mean {mean:.3}");
    // The flow is strong where people walk and weak on the static campus.
    assert!(best > 0.8 && mean > 0.6, "{:?}", analysis.scores);
}

#[test]
fn command_line_draws_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig5.png");
    let vtest = common::shared().join("clips").join("vtest.avi");
    let tiny = tiny_dir();
    let text = amflow(&[
        "--backbone",
        tiny.to_str().unwrap(),
        "maps",
        vtest.to_str().unwrap(),
        "--frame",
        "30",
        "--offset",
        "2",
        "--size",
        "56",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("frames 30 and 32"), "{text}");
    let img = image::open(&out).unwrap().to_rgb8();
    // Frames on top, two tiny-model blocks below: two rows of two 70×56 panels.
    assert_eq!(img.dimensions(), (6 + 4 * (70 + 6), 6 + 2 * (56 + 20 + 6)));
    // The embedded demo clip is the default.
    let text = amflow(&[
        "--backbone",
        tiny.to_str().unwrap(),
        "maps",
        "--size",
        "56",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("demo clip"), "{text}");
}

/// `--flow displacement --view direction`: the frames and the colours' key on top, a map per
/// block below; the direction view without a vector flow, and a dump of the displacement flow,
/// are refused with the reason.
#[test]
fn command_line_maps_the_displacement_flow() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig5.png");
    let tiny = tiny_dir();
    let text = amflow(&[
        "--backbone",
        tiny.to_str().unwrap(),
        "maps",
        "--size",
        "56",
        "--flow",
        "displacement",
        "--view",
        "direction",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("displacement flow"), "{text}");
    let img = image::open(&out).unwrap().to_rgb8();
    // The demo clip at 56 px high is 73×56, cut to whole patches: 70×56. Frames and key on
    // top, two tiny-model blocks below.
    assert_eq!(img.dimensions(), (6 + 4 * (70 + 6), 6 + 2 * (56 + 20 + 6)));
    // The key's centre (third panel, middle) is black, its right rim is coloured.
    let (x0, y0) = (6 + 2 * 76, 6);
    assert!(img.get_pixel(x0 + 35, y0 + 28).0.iter().all(|&v| v < 24));
    assert!(
        img.get_pixel(x0 + 35 + 22, y0 + 28)
            .0
            .iter()
            .any(|&v| v > 150)
    );
    for (args, why) in [
        (vec!["--view", "direction"], "give --flow displacement"),
        (
            vec!["--flow", "displacement", "--dump", "x.json"],
            "leave out --flow displacement",
        ),
    ] {
        let mut all = vec!["--backbone", tiny.to_str().unwrap(), "maps", "--size", "56"];
        all.extend(args);
        let run = common::amflow(&all);
        assert!(!run.ok, "{all:?} succeeded:\n{}", run.text());
        assert!(run.text().contains(why), "{}", run.text());
    }
}

#[test]
fn dumps_do_not_overwrite_on_bad_input() {
    // An earlier dump stays as it was when a later run fails: on a file that is not .npy, on
    // NaN pixels (whose flows would be written as JSON nulls), and on a size the backbone
    // cannot hold.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.json");
    let earlier = b"{\"an earlier dump\": true}";
    std::fs::write(&dump, earlier).unwrap();
    let bad = dir.path().join("bad.npy");
    std::fs::write(&bad, b"not numpy").unwrap();
    let nan = dir.path().join("nan.npy");
    let mut pixels = vec![0.0f32; 2 * 3 * 28 * 28];
    pixels[5] = f32::NAN;
    ndarray_npy::write_npy(
        &nan,
        &ndarray::Array4::from_shape_vec((2, 3, 28, 28), pixels).unwrap(),
    )
    .unwrap();
    let tiny = tiny_dir();
    let runs: [(Vec<&str>, &str); 3] = [
        (vec!["--pixels", bad.to_str().unwrap()], "not a .npy file"),
        (vec!["--pixels", nan.to_str().unwrap()], "value 5 is NaN"),
        (vec!["--size", "4000"], "attention maps need"),
    ];
    for (extra, expected) in runs {
        let mut args = vec!["--backbone", tiny.to_str().unwrap(), "maps"];
        args.extend(extra);
        args.extend(["--dump", dump.to_str().unwrap()]);
        let run = common::amflow(&args);
        assert!(!run.ok, "{args:?} succeeded:\n{}", run.text());
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(
            std::fs::read(&dump).unwrap(),
            earlier,
            "{args:?} touched the dump"
        );
    }
}

#[test]
fn option_values_out_of_range_are_refused_by_name() {
    for (args, expected) in [
        (&["maps", "--size", "1000000"][..], "--size"),
        (&["maps", "--size", "0"][..], "--size"),
        (&["maps", "--columns", "0"][..], "--columns"),
        (&["blocks", "--size", "99999"][..], "--size"),
        (&["train", "x", "--size", "99999"][..], "--size"),
        (&["blocks", "-k", "0"][..], "--offset"),
        (&["blocks", "--pairs", "0"][..], "--pairs"),
        (&["predict", "x", "--top", "0"][..], "--top"),
        (
            &["train", "x", "--aligner-heads", "0"][..],
            "--aligner-heads",
        ),
    ] {
        let run = common::amflow(args);
        assert!(!run.ok, "{args:?} succeeded");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

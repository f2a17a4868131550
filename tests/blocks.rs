//! `amflow blocks` over a clip, a dataset folder and a list file, with the selection file it
//! writes read back as training will read it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use amflow::maps::MapFlow;
use amflow::maps::probe;
use amflow::maps::selection::Selection;
use amflow::video::discover::find_clips;

/// Whether a run of `amflow` succeeded, and what it printed.
fn amflow(args: &[&str]) -> (bool, String) {
    let run = common::amflow(args);
    (run.ok, run.text())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A dataset: two classes holding the shared clips (linked), a frame folder, and a broken file.
fn dataset(root: &Path) {
    let clips = common::shared().join("clips");
    for (class, name) in [
        ("walking", "vtest.avi"),
        ("boxing", "box.mp4"),
        ("boxing", "bigbuckbunny.mp4"),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        std::os::unix::fs::symlink(clips.join(name), root.join(class).join(name)).unwrap();
    }
    let frames = root.join("walking").join("frames_0001");
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..6u8 {
        image::RgbImage::from_fn(64, 48, |x, _| {
            image::Rgb([(x as u8).wrapping_mul(4).wrapping_add(i * 10), 0, 0])
        })
        .save(frames.join(format!("img_{i:05}.png")))
        .unwrap();
    }
    std::fs::write(root.join("boxing").join("broken.mp4"), b"not a video").unwrap();
}

#[test]
fn finds_clips_at_any_depth_and_in_lists() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let clips = find_clips(dir.path()).unwrap();
    let names: Vec<String> = clips
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "boxing/bigbuckbunny.mp4",
            "boxing/box.mp4",
            "boxing/broken.mp4",
            "walking/frames_0001",
            "walking/vtest.avi"
        ]
    );
    let list = dir.path().join("train.txt");
    std::fs::write(
        &list,
        "walking/vtest.avi 0\n# a comment\nboxing/box.mp4 1\n",
    )
    .unwrap();
    assert_eq!(
        find_clips(&list).unwrap(),
        [
            dir.path().join("walking/vtest.avi"),
            dir.path().join("boxing/box.mp4")
        ]
    );
    assert!(find_clips(&dir.path().join("nowhere")).is_err());
}

#[test]
fn ranks_a_dataset_and_writes_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    dataset(dir.path());
    let out = dir.path().join("selection.json");
    let tiny = common::tiny_dir();
    let (ok, text) = amflow(&[
        "--backbone",
        s(&tiny),
        "blocks",
        s(dir.path()),
        "--size",
        "56",
        "--pairs",
        "2",
        "--top",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("skipped") && text.contains("broken.mp4"),
        "{text}"
    );
    assert!(text.contains("proposed AM blocks"), "{text}");
    let selection = Selection::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(selection.clips, 4);
    assert_eq!(selection.pairs, 8);
    assert_eq!(selection.blocks.len(), 1);
    assert_eq!(selection.scores.len(), 2, "the tiny model has two blocks");
    assert_eq!(selection.indices(2).unwrap().len(), 1);

    // --json prints the same selection.
    let (ok, text) = amflow(&[
        "--backbone",
        s(&tiny),
        "blocks",
        s(&common::shared().join("clips").join("box.mp4")),
        "--size",
        "56",
        "--pairs",
        "3",
        "--json",
    ]);
    assert!(ok, "{text}");
    let selection = Selection::from_json(&text).unwrap();
    assert_eq!(
        (selection.clips, selection.pairs, selection.blocks.len()),
        (1, 3, 2)
    );
}

#[test]
fn nothing_to_rank_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.mp4"), b"not a video").unwrap();
    let (ok, text) = amflow(&[
        "--backbone",
        s(&common::tiny_dir()),
        "blocks",
        s(dir.path()),
        "--size",
        "56",
    ]);
    assert!(!ok);
    assert!(
        text.contains("no clip could be scored") && text.contains("broken.mp4"),
        "{text}"
    );
}

/// `--labels`: the blocks are ranked by a cross-validated probe on a labelled set (`amflow
/// synth`'s layout), the selection carries every block's probe accuracy and proposes the best;
/// a set too small for the folds is refused with the reason.
#[test]
fn labelled_data_ranks_blocks_by_a_probe() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synth");
    let (ok, text) = amflow(&[
        "synth",
        s(&data),
        "--train",
        "4",
        "--test",
        "1",
        "--frames",
        "4",
        "--classes",
        "left,right,up",
    ]);
    assert!(ok, "{text}");
    let out = dir.path().join("selection.json");
    let tiny = common::tiny_dir();
    let (ok, text) = amflow(&[
        "--backbone",
        s(&tiny),
        "blocks",
        s(&data),
        "--labels",
        "--size",
        "56",
        "--pairs",
        "3",
        "--top",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("probe top-1 (4-fold, 3 classes, chance 33.3%)"),
        "{text}"
    );
    assert!(text.contains("proposed AM blocks (by the probe)"), "{text}");
    let selection = Selection::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // The training split only: 4 clips of each of the 3 classes, 3 pairs each.
    assert_eq!((selection.clips, selection.pairs), (12, 36));
    assert_eq!(selection.flow, MapFlow::Vanilla);
    let probe = selection
        .probe
        .clone()
        .expect("a labelled selection has probe scores");
    assert_eq!(
        probe.iter().map(|p| p.block).collect::<Vec<_>>(),
        [1, 2],
        "{probe:?}"
    );
    // Every accuracy is a share of the 12 clips.
    for p in &probe {
        let clips = p.accuracy * 12.0;
        assert!(
            p.accuracy.is_finite() && (clips - clips.round()).abs() < 1e-4,
            "{probe:?}"
        );
    }
    let best = if probe[1].accuracy > probe[0].accuracy {
        2
    } else {
        1
    };
    assert_eq!(selection.blocks, [best], "{probe:?}");

    // `--flow displacement` ranks the displacement flow (2 channels a head: a probe row is
    // twice as long, but every accuracy is still a share of the 12 clips) and records it.
    let (ok, text) = amflow(&[
        "--backbone",
        s(&tiny),
        "blocks",
        s(&data),
        "--labels",
        "--flow",
        "displacement",
        "--size",
        "56",
        "--pairs",
        "3",
        "--top",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("displacement flow"), "{text}");
    let selection = Selection::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(selection.flow, MapFlow::Displacement);
    assert_eq!((selection.clips, selection.pairs), (12, 36));
    let probe = selection.probe.clone().expect("probe scores");
    assert_eq!(probe.len(), 2, "{probe:?}");
    for p in &probe {
        let clips = p.accuracy * 12.0;
        assert!(
            p.accuracy.is_finite() && (clips - clips.round()).abs() < 1e-4,
            "{probe:?}"
        );
    }
    assert_eq!(selection.blocks, probe::propose(&probe, 1), "{probe:?}");
    for s in &selection.scores {
        assert!(s.score.is_finite(), "{:?}", selection.scores);
    }

    // Training takes the file's blocks, and says when it trains another flow than they were
    // ranked on.
    let train = |flow: &str| {
        let ckpt = dir.path().join(format!("{flow}.safetensors"));
        let (ok, text) = amflow(&[
            "--backbone",
            s(&tiny),
            "train",
            s(&data),
            "--blocks",
            s(&out),
            "--flow",
            flow,
            "--size",
            "56",
            "--frames",
            "4",
            "--epochs",
            "1",
            "--workers",
            "1",
            "--out",
            s(&ckpt),
        ]);
        assert!(ok, "{text}");
        assert!(
            text.contains(&format!("AM blocks {:?}", selection.blocks)),
            "{text}"
        );
        text
    };
    let warning = "were ranked on the displacement flow, and this run trains the vanilla flow";
    assert!(train("vanilla").contains(warning));
    assert!(!train("displacement").contains("were ranked on"));

    let (ok, text) = amflow(&[
        "--backbone",
        s(&tiny),
        "blocks",
        s(&data),
        "--labels",
        "--folds",
        "5",
        "--size",
        "56",
        "--pairs",
        "1",
    ]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("--labels: a probe needs at least 2 classes with at least 5 clips each"),
        "{text}"
    );
}

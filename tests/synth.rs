//! `amflow synth`: the dataset's layout, its determinism, and that amflow reads it back.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use amflow::video::Clip;

/// `amflow synth OUT` at a small size, with `extra` arguments: whether it succeeded, and what
/// it printed.
fn synth(out: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "synth",
        out.to_str().unwrap(),
        "--size",
        "56",
        "--frames",
        "4",
        "--train",
        "2",
        "--test",
        "1",
    ];
    args.extend(extra);
    let run = common::amflow(&args);
    (run.ok, run.text())
}

#[test]
fn writes_a_readable_deterministic_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let (ok, text) = synth(&a, &[]);
    assert!(ok, "{text}");
    let classes = std::fs::read_to_string(a.join("classes.txt")).unwrap();
    assert_eq!(classes.lines().count(), 9);
    let train = std::fs::read_to_string(a.join("train.txt")).unwrap();
    assert_eq!(train.lines().count(), 18);
    assert!(train.starts_with("train/left/0000 0\n"), "{train}");
    assert_eq!(
        std::fs::read_to_string(a.join("test.txt"))
            .unwrap()
            .lines()
            .count(),
        9
    );

    // Every clip is a frame folder amflow reads.
    let clip = Clip::open(a.join("train/rotate_cw/0001")).unwrap();
    assert_eq!((clip.info().frames, clip.info().width), (4, 56));
    assert_eq!(clip.frames(&[0, 3]).unwrap().len(), 2);

    // Same seed, same bytes; another seed, other bytes.
    let b = dir.path().join("b");
    assert!(synth(&b, &[]).0);
    let frame = "test/grow/0000/img_00003.jpg";
    assert_eq!(
        std::fs::read(a.join(frame)).unwrap(),
        std::fs::read(b.join(frame)).unwrap()
    );
    let c = dir.path().join("c");
    assert!(synth(&c, &["--seed", "7", "--pan"]).0);
    assert_ne!(
        std::fs::read(a.join(frame)).unwrap(),
        std::fs::read(c.join(frame)).unwrap()
    );

    // An existing folder is kept unless --force.
    let (ok, text) = synth(&a, &[]);
    assert!(!ok && text.contains("exists"), "{text}");
    assert!(synth(&a, &["--force", "--seed", "7", "--pan"]).0);
    assert_eq!(
        std::fs::read(a.join(frame)).unwrap(),
        std::fs::read(c.join(frame)).unwrap()
    );
    // No staging folders are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn absurd_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let run = common::amflow(&["synth", out.to_str().unwrap(), "--frames", "1"]);
    assert!(
        !run.ok && run.stderr.contains("--frames must be at least 2"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("x").exists());
}

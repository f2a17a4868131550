//! The classifier from the command line on a small synthetic set with the tiny backbone:
//! `amflow synth` → `train` (and `--resume`) → `eval --json` → `predict --json`, and the
//! checkpoint's failure modes.

mod common;

use std::path::Path;

use common::{Run, amflow};

/// Standard output of a run that must succeed.
fn ok(out: &Run) -> String {
    out.expect_ok("amflow");
    out.stdout.clone()
}

/// Standard error of a run that must fail with a message, not a panic.
fn failure(out: &Run) -> String {
    assert!(!out.ok, "expected a failure:\n{}", out.text());
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr.clone()
}

/// Every tensor of a safetensors file by name, as bytes (the header's key order is not fixed,
/// so files with the same tensors can differ byte for byte).
fn tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).expect("checkpoint");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    file.tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn train_eval_predict_and_bad_checkpoints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("synth");
    let tiny = common::tiny_dir();
    ok(&amflow(&[
        "synth",
        s(&data),
        "--train",
        "2",
        "--test",
        "1",
        "--frames",
        "4",
        "--size",
        "56",
    ]));
    let ckpt = dir.path().join("tiny.safetensors");
    // Trains on `data` into `out` with AM blocks `blocks`, with `extra` arguments after the
    // common ones.
    let train_blocks = |out: &Path, blocks: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            s(&data),
            "--backbone",
            s(&tiny),
            "--size",
            "56",
            "--frames",
            "4",
            "--blocks",
            blocks,
            "--batch-size",
            "6",
            "--workers",
            "1",
            "--out",
            s(out),
        ];
        args.extend_from_slice(extra);
        amflow(&args)
    };
    // The same with AM blocks 1 and 2.
    let train = |out: &Path, extra: &[&str]| train_blocks(out, "1,2", extra);
    let stdout = ok(&train(&ckpt, &["--epochs", "1"]));
    assert!(stdout.contains("trainable"), "{stdout}");
    assert!(stdout.contains("validation: top-1"), "{stdout}");
    assert!(ckpt.is_file());
    assert!(
        dir.path()
            .join("tiny.safetensors.train/checkpoint/model-1.bpk")
            .is_file()
    );
    // Resume continues from the saved weights: resumed at the epoch already reached, there is
    // nothing left to train, and the checkpoint written holds the first run's weights exactly.
    let first = tensors(&ckpt);
    let again = ok(&train(&ckpt, &["--epochs", "1", "--resume"]));
    assert!(!again.contains("epoch 1/1 train"), "{again}");
    assert!(
        again.contains("reach epoch 1, at or past --epochs 1: nothing left to train"),
        "{again}"
    );
    assert!(
        tensors(&ckpt) == first,
        "resuming at the last epoch changed the weights"
    );
    // One more epoch on top of the first: epoch 2 only, from epoch 1's weights, written with
    // `--keep last` (the default, `best`, may keep epoch 1's).
    let more = ok(&train(
        &ckpt,
        &["--epochs", "2", "--resume", "--keep", "last"],
    ));
    assert!(more.contains("epoch 2/2 train"), "{more}");
    assert!(!more.contains("epoch 1/2"), "{more}");
    assert!(
        tensors(&ckpt) != first,
        "the resumed epoch left the weights as they were"
    );
    assert!(
        dir.path()
            .join("tiny.safetensors.train/checkpoint/model-2.bpk")
            .is_file()
    );
    // `--keep best` writes the epoch of highest validation top-1 (the earliest of equals), read
    // from the validation logs burn-train wrote (`value,final` ends each epoch's file), and
    // `--keep last` writes epoch 2's again. So that the two differ whatever this run reached,
    // epoch 1's logged top-1 is raised above epoch 2's: then epoch 1 is the best.
    let second = tensors(&ckpt);
    let log = |epoch: usize| {
        dir.path().join(format!(
            "tiny.safetensors.train/valid/epoch-{epoch}/Accuracy.log"
        ))
    };
    let read_log = |epoch: usize| std::fs::read_to_string(log(epoch)).expect("validation log");
    let last_top1: f64 = read_log(2)
        .lines()
        .find_map(|l| l.strip_suffix(",final")?.parse().ok())
        .unwrap_or_else(|| panic!("no final value in epoch 2's log: {}", read_log(2)));
    let raised: String = read_log(1)
        .lines()
        .map(|l| match l.strip_suffix(",final") {
            Some(_) => format!("{},final\n", last_top1 + 1.0),
            None => format!("{l}\n"),
        })
        .collect();
    assert!(raised.contains(",final"), "no final value in epoch 1's log");
    std::fs::write(log(1), raised).expect("write the log");
    let logged = [last_top1 + 1.0, last_top1];
    // Resumed at epoch 2 with `keep` (empty: the default), the run writes epoch `epoch`'s
    // weights and says so; the last call leaves epoch 2's for what follows.
    let writes = |keep: &[&str], epoch: usize| {
        let said = ok(&train(
            &ckpt,
            &[&["--epochs", "2", "--resume"][..], keep].concat(),
        ));
        assert!(
            said.contains(&format!("the weights of epoch {epoch} of 2")),
            "{keep:?}, {logged:?}: {said}"
        );
        assert!(
            tensors(&ckpt) == *if epoch == 1 { &first } else { &second },
            "{keep:?} did not write epoch {epoch}'s weights ({logged:?})"
        );
    };
    writes(&["--keep", "best"], 1);
    writes(&["--keep", "last"], 2);
    writes(&[], 1);
    writes(&["--keep", "last"], 2);
    // A resume with other settings than the run's is refused, naming them.
    let err = failure(&train(&ckpt, &["--epochs", "3", "--resume", "--lr", "0.5"]));
    assert!(
        err.contains("other settings") && err.contains("lr: 0.005 then, 0.5 now"),
        "{err}"
    );
    // The same for the schedule: a constant run resumed as a cosine one.
    let err = failure(&train(
        &ckpt,
        &["--epochs", "3", "--resume", "--schedule", "cosine"],
    ));
    assert!(
        err.contains("cosine_over_epochs: null then, 3 now"),
        "{err}"
    );

    let eval = ok(&amflow(&[
        "eval",
        s(&data),
        "--checkpoint",
        s(&ckpt),
        "--backbone",
        s(&tiny),
        "--json",
    ]));
    let acc: serde_json::Value = serde_json::from_str(eval.trim()).expect("JSON");
    let top1 = acc["top1"].as_f64().expect("top1");
    let top5 = acc["top5"].as_f64().expect("top5");
    assert!((0.0..=1.0).contains(&top1) && top5 >= top1, "{acc}");
    assert_eq!(acc["clips"], 9);
    // The confusion matrix: a row per class in the checkpoint's order, each holding as many
    // clips as `synth` wrote for that class (one each), its diagonal the clips top-1 counted.
    let rows: Vec<Vec<u64>> = serde_json::from_value(acc["confusion"].clone()).expect("matrix");
    let classes = std::fs::read_to_string(data.join("classes.txt")).expect("classes.txt");
    let classes: Vec<&str> = classes.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), classes.len(), "{acc}");
    for (row, class) in rows.iter().zip(&classes) {
        assert_eq!(row.len(), classes.len(), "{acc}");
        let written = std::fs::read_dir(data.join("test").join(class))
            .expect("class folder")
            .count() as u64;
        assert_eq!(row.iter().sum::<u64>(), written, "{class}: {acc}");
    }
    let right: u64 = (0..rows.len()).map(|i| rows[i][i]).sum();
    assert_eq!(right as f64, (top1 * 9.0).round(), "{acc}");
    let three = ok(&amflow(&[
        "eval",
        s(&data),
        "--checkpoint",
        s(&ckpt),
        "--backbone",
        s(&tiny),
        "--json",
        "--three-crop",
    ]));
    assert!(three.contains("top5"));

    // The signed flow (beyond the paper) trains, is recorded in its checkpoint and evaluates.
    let signed = dir.path().join("signed.safetensors");
    ok(&train(&signed, &["--flow", "signed", "--epochs", "1"]));
    let described = ok(&amflow(&["checkpoint", s(&signed), "--json"]));
    let described: serde_json::Value = serde_json::from_str(described.trim()).expect("JSON");
    assert_eq!(described["config"]["flow"], "signed", "{described}");
    let eval = ok(&amflow(&[
        "eval",
        s(&data),
        "--checkpoint",
        s(&signed),
        "--backbone",
        s(&tiny),
        "--json",
    ]));
    let acc: serde_json::Value = serde_json::from_str(eval.trim()).expect("JSON");
    assert_eq!(acc["clips"], 9, "{acc}");

    // Mirrored and reversed clips under the classes they then show: said when training starts,
    // kept in the run's record (a resume without them is refused), unknown classes refused.
    let augmented = dir.path().join("augmented.safetensors");
    let mirror = ["--mirror", "left:right,rotate_cw:rotate_ccw"];
    let reverse = [
        "--reverse",
        "left:right,up:down,rotate_cw:rotate_ccw,grow:shrink",
    ];
    let stdout = ok(&train(
        &augmented,
        &[&["--epochs", "1"][..], &mirror, &reverse].concat(),
    ));
    assert!(
        stdout.contains("half of the training clips mirrored (classes swapped: left:right,rotate_cw:rotate_ccw), half played backwards"),
        "{stdout}"
    );
    let err = failure(&train(
        &augmented,
        &[&["--epochs", "2", "--resume"][..], &reverse].concat(),
    ));
    assert!(
        err.contains(r#"mirror: "left:right,rotate_cw:rotate_ccw" then, null now"#),
        "{err}"
    );
    let err = failure(&train(&augmented, &["--reverse", "left:sideways"]));
    assert!(
        err.contains(r#"--reverse: "sideways" is not one of the dataset's classes"#),
        "{err}"
    );

    // Adapters from block 2 only: block 1's output is computed once per frame and kept, so
    // the second epoch finds every frame (18 training and 9 validation clips of 4 frames); the
    // checkpoint says where its adapters start and evaluates from pixels.
    let late = dir.path().join("late.safetensors");
    let late_args = |extra: &[&str]| {
        let args = [&["--adapters-from", "2"][..], extra].concat();
        train_blocks(&late, "2", &args)
    };
    let stdout = ok(&late_args(&["--epochs", "2"]));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("frozen prefix: "))
        .unwrap_or_else(|| panic!("no cache line: {stdout}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .filter_map(|w| w.parse().ok())
        .collect();
    // [kept, (MiB is not whole), found again, computed]
    let (kept, found, computed) = (numbers[0], numbers[1], numbers[2]);
    assert!(
        kept > 0 && found >= 108 && computed <= 108 && !line.contains("past"),
        "{line}"
    );
    let described = ok(&amflow(&["checkpoint", s(&late)]));
    assert!(described.contains("adapters from block 2"), "{described}");
    let eval = ok(&amflow(&[
        "eval",
        s(&data),
        "--checkpoint",
        s(&late),
        "--backbone",
        s(&tiny),
        "--json",
    ]));
    let acc: serde_json::Value = serde_json::from_str(eval.trim()).expect("JSON");
    assert_eq!(acc["clips"], 9, "{acc}");
    let err = failure(&train(&late, &["--adapters-from", "2"]));
    assert!(
        err.contains("AM block 1 comes before the first block with adapters (2)"),
        "{err}"
    );

    let clip = data.join("test/left/0000");
    let predict = ok(&amflow(&[
        "predict",
        s(&clip),
        "--checkpoint",
        s(&ckpt),
        "--backbone",
        s(&tiny),
        "--json",
    ]));
    let rows: serde_json::Value = serde_json::from_str(predict.trim()).expect("JSON");
    let rows = rows.as_array().expect("a list");
    assert_eq!(rows.len(), 5);
    let total: f64 = rows.iter().filter_map(|r| r["probability"].as_f64()).sum();
    assert!(total > 0.0 && total <= 1.0 + 1e-5, "{predict}");

    // Float16: `checkpoint --half` writes a copy with half the weight bytes that predicts
    // what the float32 checkpoint predicts (to float16's rounding), and `train --half` resumed
    // with nothing left to train writes the same tensors.
    let half = dir.path().join("half.safetensors");
    let said = ok(&amflow(&[
        "checkpoint",
        s(&ckpt),
        "--half",
        "--out",
        s(&half),
    ]));
    assert!(
        said.contains("weights F32") && said.contains("float16"),
        "{said}"
    );
    let info: serde_json::Value =
        serde_json::from_str(ok(&amflow(&["checkpoint", s(&half), "--json"])).trim())
            .expect("JSON");
    assert_eq!(info["weights"], "F16", "{info}");
    assert_eq!(
        info["config"]["am_blocks"],
        serde_json::json!([1, 2]),
        "{info}"
    );
    let full_bytes: usize = tensors(&ckpt).values().map(Vec::len).sum();
    let half_bytes: usize = tensors(&half).values().map(Vec::len).sum();
    assert_eq!(
        2 * half_bytes,
        full_bytes,
        "the float16 copy's weights are not half the bytes"
    );
    let half_predict = ok(&amflow(&[
        "predict",
        s(&clip),
        "--checkpoint",
        s(&half),
        "--backbone",
        s(&tiny),
        "--json",
        "--top",
        "9",
    ]));
    let full_predict = ok(&amflow(&[
        "predict",
        s(&clip),
        "--checkpoint",
        s(&ckpt),
        "--backbone",
        s(&tiny),
        "--json",
        "--top",
        "9",
    ]));
    let by_class = |text: &str| -> std::collections::BTreeMap<String, f64> {
        let rows: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
        rows.as_array()
            .expect("a list")
            .iter()
            .map(|r| {
                let class = r["class"].as_str().expect("class").to_string();
                (class, r["probability"].as_f64().expect("probability"))
            })
            .collect()
    };
    let (h, f) = (by_class(&half_predict), by_class(&full_predict));
    assert_eq!(h.len(), 9);
    for (class, p) in &f {
        let q = h.get(class).copied().unwrap_or(f64::NAN);
        // Written so that NaN fails: the difference must be a number below the bound.
        assert!(
            (p - q).abs() <= 2e-3,
            "{class}: {p} in float32, {q} in float16"
        );
    }
    let full = dir.path().join("full.safetensors");
    std::fs::copy(&ckpt, &full).expect("copy");
    let again = ok(&train(
        &ckpt,
        &["--epochs", "2", "--resume", "--half", "--keep", "last"],
    ));
    assert!(!again.contains("epoch 2/2 train"), "{again}");
    assert!(
        tensors(&ckpt) == tensors(&half),
        "train --half wrote other float16 tensors than checkpoint --half"
    );
    // A weight float16 cannot hold is refused, not written as infinity.
    let bytes = std::fs::read(&full).expect("read");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).expect("header");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let mut weights: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    weights[0].3[..4].copy_from_slice(&1.0e6f32.to_le_bytes());
    let views = weights.iter().map(|(n, d, shape, bytes)| {
        let view = safetensors::tensor::TensorView::new(*d, shape.clone(), bytes).expect("view");
        (n.clone(), view)
    });
    let big = dir.path().join("big.safetensors");
    std::fs::write(
        &big,
        safetensors::serialize(views, meta.metadata().clone()).expect("serialize"),
    )
    .expect("write");
    let big_half = dir.path().join("big-half.safetensors");
    let err = failure(&amflow(&[
        "checkpoint",
        s(&big),
        "--half",
        "--out",
        s(&big_half),
    ]));
    assert!(
        err.contains(&weights[0].0) && err.contains("1000000") && err.contains("float16 cannot"),
        "{err}"
    );
    assert!(!big_half.exists(), "a refused copy was written");

    // The embedded ViT-S/14 is not the backbone this checkpoint was trained on.
    let err = failure(&amflow(&["predict", s(&clip), "--checkpoint", s(&ckpt)]));
    assert!(err.contains("was trained on"), "{err}");
    // Random bytes, a truncated checkpoint, a missing one.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!").expect("write");
    let err = failure(&amflow(&["predict", s(&clip), "--checkpoint", s(&junk)]));
    assert!(err.contains("not an amflow checkpoint"), "{err}");
    let bytes = std::fs::read(&ckpt).expect("read");
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = failure(&amflow(&[
        "predict",
        s(&clip),
        "--checkpoint",
        s(&cut),
        "--backbone",
        s(&tiny),
    ]));
    assert!(err.contains("cut.safetensors"), "{err}");
    let err = failure(&amflow(&[
        "predict",
        s(&clip),
        "--checkpoint",
        s(&dir.path().join("none.safetensors")),
    ]));
    assert!(err.contains("none.safetensors"), "{err}");
    // Bad --blocks.
    let err = failure(&amflow(&[
        "train",
        s(&data),
        "--backbone",
        s(&tiny),
        "--blocks",
        "3",
        "--out",
        s(&ckpt),
    ]));
    assert!(err.contains("block 3 does not exist"), "{err}");
}

/// The paper's Table 4 comparison in small, as CI can afford it: the two checkpoints shipped in
/// `assets/demo/` (displacement flow in blocks 6 and 12 at 112 px trained on `amflow synth s5big
/// --seed 5 --train 64`, and `--blocks none`, the frozen branch and adapters without AM flow or
/// temporal modules, trained on seed 0) are evaluated on synthetic clips of seed 7, which
/// neither saw. Direction, rotation and growth cannot be told from one frame, so the model
/// without AM flow stays near chance (1/9) while the AM-flow model must not.
/// How far ahead the AM-flow checkpoint must be. Measured when it was shipped (2026-12-04, on
/// the development machine, float16 and float32 files alike): 0.870 vs 0.111, a lead of 0.759
/// over 54 clips (one clip is 0.019). The bound leaves 0.11, six clips, for platform
/// differences in floating point (the earlier demos' bounds were 0.45 and 0.55 for leads of
/// 0.593 and 0.667).
const MARGIN: f64 = 0.65;

#[test]
fn am_flow_beats_the_model_without_it_on_unseen_clips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("unseen");
    ok(&amflow(&[
        "synth",
        s(&data),
        "--seed",
        "7",
        "--train",
        "0",
        "--test",
        "6",
    ]));
    let demo = common::root().join("assets/demo");
    let top1 = |checkpoint: &str| {
        let out = ok(&amflow(&[
            "eval",
            s(&data),
            "--checkpoint",
            s(&demo.join(checkpoint)),
            "--json",
        ]));
        let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}: {out}"));
        json["top1"]
            .as_f64()
            .unwrap_or_else(|| panic!("no top1 in {out}"))
    };
    let with_am = top1("synth-classifier.safetensors");
    let without = top1("synth-without-am.safetensors");
    println!("held-out top-1 on seed 7: AM flow {with_am:.3}, without {without:.3}");
    assert!(without < 0.2, "without AM flow: {without}");
    assert!(
        with_am > without + MARGIN,
        "AM flow {with_am} vs without {without}"
    );

    // Without --checkpoint, predict uses the embedded demo classifier: synth's nine classes.
    let out = ok(&amflow(&[
        "predict",
        s(&data.join("test/left/0000")),
        "--json",
    ]));
    let rows: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let rows = rows.as_array().expect("a list");
    assert_eq!(rows.len(), 5, "{out}");
    let names: Vec<_> = rows.iter().filter_map(|r| r["class"].as_str()).collect();
    assert!(
        names.len() == 5 && names.iter().all(|c| amflow::synth::CLASSES.contains(c)),
        "{out}"
    );
}

#[test]
fn unreadable_clips_are_skipped_and_counted_and_too_many_stop_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("synth");
    let tiny = common::tiny_dir();
    ok(&amflow(&[
        "synth",
        s(&data),
        "--train",
        "2",
        "--test",
        "1",
        "--frames",
        "4",
        "--size",
        "56",
    ]));
    // One training clip (of 18 training and 9 validation clips) with a frame that is not a JPEG.
    let broken = data.join("train").join("right").join("0001");
    std::fs::write(broken.join("img_00002.jpg"), b"not a jpeg").expect("write");
    let ckpt = dir.path().join("tiny.safetensors");
    let train = |share: &str| {
        amflow(&[
            "train",
            s(&data),
            "--backbone",
            s(&tiny),
            "--size",
            "56",
            "--frames",
            "4",
            "--blocks",
            "1,2",
            "--batch-size",
            "6",
            "--workers",
            "1",
            "--epochs",
            "1",
            "--max-bad-share",
            share,
            "--out",
            s(&ckpt),
        ])
    };
    // Past the share (none allowed): the run stops with the list, and writes no checkpoint.
    let err = failure(&train("0"));
    assert!(
        err.contains("1 of 27 clips could not be read") && err.contains("0001"),
        "{err}"
    );
    assert!(!ckpt.exists());
    // Within the share (5% of 27 is 1): skipped, counted, listed beside the logs.
    let run = train("0.05");
    let stdout = ok(&run);
    assert!(
        stdout.contains("unreadable clips skipped so far"),
        "{stdout}"
    );
    assert!(
        run.stderr.contains("1 unreadable clips were skipped") && run.stderr.contains("0001"),
        "{}",
        run.stderr
    );
    let listed = std::fs::read_to_string(
        dir.path()
            .join("tiny.safetensors.train/unreadable-clips.txt"),
    )
    .expect("the list beside the logs");
    assert!(
        listed.contains("right") && listed.contains("0001"),
        "{listed}"
    );
    assert!(ckpt.is_file());
    // Evaluation: a broken test clip is left out of the accuracy and counted in the JSON.
    let test_clip = data.join("test").join("up").join("0000");
    std::fs::write(test_clip.join("img_00001.jpg"), b"not a jpeg").expect("write");
    let eval = |share: &str| {
        amflow(&[
            "eval",
            s(&data),
            "--checkpoint",
            s(&ckpt),
            "--backbone",
            s(&tiny),
            "--json",
            "--max-bad-share",
            share,
        ])
    };
    let err = failure(&eval("0.05"));
    assert!(err.contains("1 of 9 clips could not be read"), "{err}");
    let acc: serde_json::Value = serde_json::from_str(ok(&eval("0.2")).trim()).expect("JSON");
    assert_eq!(acc["clips"].as_u64(), Some(8), "{acc}");
    assert_eq!(acc["skipped"].as_u64(), Some(1), "{acc}");
}

#[test]
fn devices_that_are_not_there_are_an_error_not_a_panic() {
    // No machine that runs the tests has 64 discrete GPUs (CI has none: lavapipe is a CPU).
    let err = failure(&amflow(&[
        "train",
        "nowhere",
        "--backend",
        "wgpu",
        "--devices",
        "64",
        "--out",
        "x.safetensors",
    ]));
    assert!(err.contains("cannot open discrete GPU"), "{err}");
    let err = failure(&amflow(&[
        "train",
        "nowhere",
        "--devices",
        "2",
        "--out",
        "x.safetensors",
    ]));
    assert!(err.contains("several devices need --backend wgpu"), "{err}");
}

#[test]
fn three_crops_of_a_wide_clip_average_the_three_single_crop_probabilities() {
    use amflow::classifier::config::FORMAT;
    use amflow::classifier::data::ClipBatcher;
    use amflow::classifier::train::clip_probabilities;
    use amflow::classifier::{AmClassifier, BackboneId, ClassifierConfig, FlowKind, TpmKind};
    use burn::tensor::{Device, Tensor};

    // A clip of 4 frames, 84×56: at input size 56 nothing is resized, and the three crops are
    // the 56×56 squares at x = 0, (84 − 56) / 2 = 14 and 84 − 56 = 28.
    let dir = tempfile::tempdir().expect("temp dir");
    let clip = dir.path().join("wide");
    std::fs::create_dir(&clip).expect("mkdir");
    let mut state = 12345u32;
    let frames: Vec<image::RgbImage> = (0..4)
        .map(|_| {
            image::RgbImage::from_fn(84, 56, |_, _| {
                let mut next = || {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                };
                image::Rgb([next(), next(), next()])
            })
        })
        .collect();
    for (t, f) in frames.iter().enumerate() {
        f.save(clip.join(format!("img_{:05}.png", t + 1)))
            .expect("save");
    }
    let device = Device::flex();
    let backbone = amflow::model::Dinov2::load_dir(common::tiny_dir(), &device)
        .unwrap_or_else(|e| panic!("{e}"));
    let config = ClassifierConfig {
        format: FORMAT.into(),
        backbone: BackboneId::of("tiny", &backbone),
        am_blocks: vec![1, 2],
        flow: FlowKind::Vanilla,
        tpm: TpmKind::Transformer,
        frames: 4,
        bottleneck: 8,
        size: 56,
        aligner_heads: 4,
        flow_norm: Default::default(),
        flow_input: true,
        pool_grid: 1,
        adapters_from: 1,
        classes: vec!["a".into(), "b".into(), "c".into()],
    };
    let model = AmClassifier::new(backbone, config, &device);

    // The library's three-crop path.
    let batcher = ClipBatcher::test(4, 56, true);
    let crops = batcher.load_checked(&clip).expect("the clip loads");
    assert_eq!(crops.len(), 3);
    let values: Vec<f32> = crops.iter().flat_map(|d| d.iter::<f32>()).collect();
    let pixels = Tensor::<5>::from_data(
        burn::tensor::TensorData::new(values, [3, 4, 3, 56, 56]),
        &device,
    );
    let three = clip_probabilities(&model, pixels, 3).expect("forward");
    let (three, _) = common::values(three);

    // Each crop cut by hand and classified alone, then the probabilities averaged.
    let single: Vec<Vec<f32>> = [0u32, 14, 28]
        .iter()
        .map(|&x| {
            let cut: Vec<image::RgbImage> = frames
                .iter()
                .map(|f| image::imageops::crop_imm(f, x, 0, 56, 56).to_image())
                .collect();
            let data = amflow::video::preprocess::normalise(&cut);
            let pixels = Tensor::<4>::from_data(data, &device).reshape([1, 4, 3, 56, 56]);
            common::values(clip_probabilities(&model, pixels, 1).expect("forward")).0
        })
        .collect();
    // The three crops see different pixels, so they must disagree somewhere.
    assert!(common::max_error(&single[0], &single[2], "left against right") > 1e-4);
    let mean: Vec<f32> = (0..3)
        .map(|c| single.iter().map(|p| p[c]).sum::<f32>() / 3.0)
        .collect();
    common::assert_close(&three, &mean, 1e-5, "three-crop probabilities");
}

#[test]
fn bench_times_the_checkpoint_it_is_given() {
    // The shipped ablation checkpoint (no AM blocks), not the embedded demo: its path names the
    // timed row, so the row shows which checkpoint ran.
    let checkpoint = common::root().join("assets/demo/synth-without-am.safetensors");
    let bench = |path: &str| {
        amflow(&[
            "bench",
            "--cases",
            "classifier",
            "--backends",
            "cpu",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--checkpoint",
            path,
            "--json",
        ])
    };
    let rows: serde_json::Value =
        serde_json::from_str(ok(&bench(s(&checkpoint))).trim()).expect("bench --json prints JSON");
    let rows = rows.as_array().expect("a list of timings");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0]["variant"]
            .as_str()
            .is_some_and(|v| v.ends_with("synth-without-am.safetensors")),
        "{rows:?}"
    );
    assert!(
        rows[0]["median_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{rows:?}"
    );
    // A checkpoint that is not there is named before any backbone loads.
    let err = failure(&bench("no-such.safetensors"));
    assert!(err.contains("no-such.safetensors"), "{err}");
}

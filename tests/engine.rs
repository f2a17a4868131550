//! The engine behind its message interface (the desktop's thread; the same service runs in the
//! web page's worker): every reply is what the library computes directly, and survives the
//! MessagePack encoding that carries it to and from the worker.

mod common;

use std::sync::mpsc::Receiver;
use std::time::Duration;

use amflow::analysis::PairAnalysis;
use amflow::engine::protocol::{Envelope, decode, encode};
use amflow::engine::{
    AnalysedPair, BackboneSource, CheckpointSource, Engine, EngineError, PairWork, Reply, Request,
    WireFrame,
};
use amflow::model::Dinov2;
use burn::tensor::Device;

/// Every reply to one request, up to and including its final one (which must be the last).
fn replies(rx: Receiver<Reply>) -> Vec<Reply> {
    let mut all = Vec::new();
    loop {
        let reply = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("no final reply: {e}"));
        let last = reply.is_final();
        all.push(reply);
        if last {
            break;
        }
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "a reply after the final one"
    );
    all
}

/// The final reply, after a trip through the encoding the web worker uses.
fn last_over_the_wire(rx: Receiver<Reply>) -> Reply {
    let reply = replies(rx).pop().unwrap_or_else(|| panic!("no reply"));
    let bytes = encode(&Envelope {
        id: 7,
        message: reply,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let back: Envelope<Reply> = decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.id, 7);
    back.message
}

/// A frame of `w × h` whose pixels depend on their position and on `seed`.
fn frame(w: u32, h: u32, seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 7 + y * 13 + seed * 29) % 256;
        image::Rgb([v as u8, (255 - v) as u8, ((x + seed) % 256) as u8])
    })
}

/// The library's analysis of `pair` at 28 px, as the engine computes it: the engine keeps each
/// frame's backbone pass for the next pairs, so its path is the cached run.
fn library_pair(backbone: &Dinov2, pair: &[image::RgbImage; 2], device: &Device) -> PairAnalysis {
    amflow::engine::block_on(PairAnalysis::run_cached(
        backbone,
        [&pair[0], &pair[1]],
        28,
        device,
        &mut amflow::flow::FrameCache::new(2),
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_engine_computes_what_the_library_computes() {
    let device = Device::flex();
    let engine = Engine::native(device.clone(), "CPU (test)".into(), false, || {});
    let started = last_over_the_wire(engine.request(Request::Start));
    assert!(
        matches!(&started, Reply::Started { description, gpu: false } if description == "CPU (test)")
    );

    // Nothing to analyse with before a backbone is loaded.
    let pair = [frame(60, 45, 0), frame(60, 45, 1)];
    let analyse = || Request::Analyse {
        frames: [(&pair[0]).into(), (&pair[1]).into()],
        size: 28,
    };
    match last_over_the_wire(engine.request(analyse())) {
        Reply::Analysed(Err(e)) => assert_eq!(e, EngineError::NoBackbone, "{e}"),
        other => panic!("expected an error, got {}", other.unexpected("an error")),
    }

    let dir = common::tiny_dir();
    match last_over_the_wire(
        engine.request(Request::LoadBackbone(BackboneSource::Dir(dir.clone()))),
    ) {
        Reply::BackboneLoaded(Ok(info)) => {
            assert_eq!(info.name, dir.display().to_string());
            assert_eq!(info.config.num_hidden_layers, 2);
        }
        other => panic!("{}", other.unexpected("a backbone")),
    }

    let (analysis, _) = match last_over_the_wire(engine.request(analyse())) {
        Reply::Analysed(Ok(pair)) => pair.into_analysis().unwrap_or_else(|e| panic!("{e}")),
        other => panic!("{}", other.unexpected("flows")),
    };
    let backbone = Dinov2::load_dir(&dir, &device).unwrap_or_else(|e| panic!("{e}"));
    let direct = library_pair(&backbone, &pair, &device);
    assert_eq!(analysis.grid, direct.grid);
    assert_eq!(analysis.frames, direct.frames);
    assert_eq!(analysis.scores, direct.scores);
    assert_eq!(analysis.blocks, direct.blocks);
    assert_eq!(analysis.data.vanilla.len(), 2);
    // The engine's path reads back asynchronously; the numbers are the same computation.
    for (a, b) in analysis.data.vanilla.iter().zip(&direct.data.vanilla) {
        common::assert_close(a, b, 1e-6, "vanilla flow through the engine");
    }

    // The displacement flow of the same pair, as the library computes it: a `[P, 2H]` flow per
    // block.
    let displace = Request::Displacement {
        frames: [(&pair[0]).into(), (&pair[1]).into()],
        size: 28,
    };
    let flows = match last_over_the_wire(engine.request(displace)) {
        Reply::Displacements(Ok(flows)) => flows,
        other => panic!("{}", other.unexpected("displacement flows")),
    };
    let direct = amflow::engine::block_on(amflow::analysis::PairDisplacement::run(
        &backbone,
        [&pair[0], &pair[1]],
        28,
        &device,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flows.len(), 2);
    for (a, b) in flows.iter().zip(&direct.blocks) {
        assert_eq!(a.channels, 2 * backbone.config().num_attention_heads);
        assert_eq!(a.patches(), direct.grid.rows * direct.grid.cols);
        common::assert_close(
            &a.values,
            &b.values,
            1e-6,
            "displacement flow through the engine",
        );
    }

    // The demo checkpoint belongs to the embedded ViT-S/14: refused on the tiny backbone, with
    // the reason.
    match last_over_the_wire(engine.request(Request::LoadClassifier(CheckpointSource::Demo))) {
        Reply::ClassifierLoaded(Err(e)) => assert!(
            matches!(&e, EngineError::Checkpoint(m) if m.contains("dinov2")),
            "{e}"
        ),
        other => panic!("{}", other.unexpected("a refusal")),
    }
    match last_over_the_wire(engine.request(Request::Classify { frames: Vec::new() })) {
        Reply::Classified(Err(e)) => assert_eq!(e, EngineError::NoClassifier, "{e}"),
        other => panic!("{}", other.unexpected("a refusal")),
    }
}

#[test]
fn frames_that_do_not_match_their_size_are_refused() {
    let bad = WireFrame {
        width: 4,
        height: 4,
        rgb: vec![0; 47],
    };
    assert!(bad.into_frame().is_err_and(|e| matches!(
        e,
        EngineError::Frame {
            width: 4,
            height: 4,
            ..
        }
    )));
    let good: WireFrame = (&frame(5, 3, 2)).into();
    assert_eq!(good.clone().into_frame().ok(), Some(frame(5, 3, 2)));
    // And across the wire, as bytes.
    let bytes = encode(&good).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        bytes.len() < 5 * 3 * 3 + 32,
        "frames travel as bytes, not numbers"
    );
    assert_eq!(decode::<WireFrame>(&bytes).ok(), Some(good));
}

#[test]
fn an_analysed_pair_unpacks_to_the_analysis_it_packs() {
    let device = Device::flex();
    let backbone = Dinov2::load_dir(common::tiny_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
    let pair = [frame(42, 28, 3), frame(42, 28, 4)];
    let direct = library_pair(&backbone, &pair, &device);
    let work = PairWork {
        seconds: 1.5,
        helper: true,
    };
    let (back, unpacked) = AnalysedPair::new(direct.clone(), work)
        .into_analysis()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unpacked, work);
    assert_eq!(back.frames, direct.frames);
    assert_eq!(back.data.vanilla, direct.data.vanilla);
    assert_eq!(back.data.colsum, direct.data.colsum);
    assert_eq!(back.scores, direct.scores);
}

/// The comparison every check here uses fails on NaN, which `f32::max` folds would let pass.
#[test]
#[should_panic(expected = "non-finite")]
fn the_comparison_fails_on_nan() {
    common::assert_close(&[0.0, f32::NAN], &[0.0, 0.0], 1.0, "a NaN");
}

/// The same comparison behind the parity tests' tensor helper: an infinite value fails.
#[test]
#[should_panic(expected = "non-finite")]
fn the_tensor_comparison_fails_on_infinity() {
    let device = burn::tensor::Device::flex();
    let t = burn::tensor::Tensor::<1>::from_data([1.0f32, f32::INFINITY], &device);
    common::max_abs_diff(t, &(vec![1.0, 0.0], vec![2]));
}

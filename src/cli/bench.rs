//! `amflow bench`: timings of the work the app and the command line do, each beside the
//! reference it is compared with, measured in the same run.
//!
//! Every case runs `--warmup` times untimed (shader compilation, autotuning, allocation), then
//! `--runs` times; each run ends with a device sync so GPU work is inside the time. Medians
//! are reported.

use super::CliError;
use std::path::PathBuf;

use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use crate::backend::BackendKind;
use crate::flow::{FlowKernel, Fused, TensorOps, pair_flows_with};
use crate::model::Dinov2;

/// Arguments of `amflow bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which cases: `kernel` (the fused AM-flow kernel vs tensor ops), `pair` (backbone + all
    /// block flows for one frame pair), `stream` (consecutive pairs of the demo clip, each frame
    /// through the backbone once, vs every pair from scratch), `classifier` (the demo classifier
    /// on one clip), or `all`.
    #[arg(long, default_value = "all")]
    pub cases: Cases,
    /// Backends to run on, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "cpu,wgpu")]
    pub backends: Vec<BackendKind>,
    /// Frame side in pixels (a multiple of the patch size) of the kernel, pair and stream
    /// cases; the classifier runs at its checkpoint's own input size.
    #[arg(long, default_value_t = 224, value_parser = super::common::size_parser::<usize>())]
    pub size: usize,
    /// Timed runs per case.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// The classifier case's checkpoint (default: the embedded demo checkpoint).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Which benchmark cases run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cases {
    /// The fused AM-flow kernel vs its tensor-op reference.
    Kernel,
    /// Backbone forward + all-block AM flow for one frame pair.
    Pair,
    /// Consecutive pairs of the demo clip: each new pair with the previous frame's backbone
    /// pass reused, vs the same pairs from scratch.
    Stream,
    /// The embedded demo classifier (displacement flow in blocks 6 and 12, temporal modules) on
    /// one clip of its 8 frames.
    Classifier,
    /// All of them.
    All,
}

/// One timed case.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// What ran.
    pub case: String,
    /// How: the implementation under test or the reference.
    pub variant: String,
    /// Where.
    pub backend: String,
    /// Median over the timed runs, milliseconds.
    pub median_ms: f64,
    /// Fastest run, milliseconds.
    pub min_ms: f64,
    /// Timed runs.
    pub runs: usize,
    /// The reference's median divided by this one's (how many times faster), for cases that
    /// have a reference in the same run.
    pub speedup: Option<f64>,
}

/// Runs `amflow bench`.
pub fn run(args: &BenchArgs, backbone: Option<&PathBuf>) -> Result<(), CliError> {
    if args.runs == 0 {
        return Err(CliError::NoRuns);
    }
    // The classifier's checkpoint is read once, before any device is opened: a missing file is
    // reported before minutes of other cases.
    let checkpoint = match args.cases {
        Cases::Classifier | Cases::All => {
            Some(super::common::checkpoint_bytes(args.checkpoint.as_deref())?)
        }
        _ => None,
    };
    let mut timings = Vec::new();
    for &backend in &args.backends {
        let device = backend.open()?;
        if matches!(args.cases, Cases::Kernel | Cases::All) {
            timings.extend(kernel_cases(args, backend, &device)?);
        }
        if args.cases == Cases::Kernel {
            continue;
        }
        // One backbone per device, for every case that runs it.
        let (name, model) = super::common::load_backbone(backbone, &device)?;
        if !args.json {
            println!("backbone: {name}");
        }
        if matches!(args.cases, Cases::Pair | Cases::All) {
            timings.extend(pair_cases(args, &model, backend, &device)?);
        }
        if matches!(args.cases, Cases::Stream | Cases::All) {
            timings.extend(stream_cases(args, &model, backend, &device)?);
        }
        if let Some(checkpoint) = &checkpoint {
            timings.push(classifier_case(
                args,
                checkpoint,
                (&name, &model),
                backend,
                &device,
            )?);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&timings).unwrap_or_default()
        );
    } else {
        print_table(&timings);
    }
    Ok(())
}

fn sync(device: &Device, backend: BackendKind) -> Result<(), CliError> {
    device.sync().map_err(|e| CliError::DeviceFailed {
        backend,
        message: format!("{e:?}"),
    })
}

/// Where and how long: the median and minimum, in milliseconds, of `runs` calls of `f` after
/// `warmup` untimed ones.
fn time(
    args: &BenchArgs,
    device: &Device,
    backend: BackendKind,
    case: &str,
    variant: &str,
    mut f: impl FnMut() -> Result<(), CliError>,
) -> Result<Timing, CliError> {
    for _ in 0..args.warmup {
        f()?;
        sync(device, backend)?;
    }
    let mut ms = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let start = web_time::Instant::now();
        f()?;
        sync(device, backend)?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok(Timing {
        case: case.to_string(),
        variant: variant.to_string(),
        backend: backend.to_string(),
        median_ms: ms[ms.len() / 2],
        min_ms: ms[0],
        runs: args.runs,
        speedup: None,
    })
}

/// Pairs a case under test with its reference: the reference first, speed-ups filled in.
fn with_reference(mut reference: Timing, mut subject: Timing) -> [Timing; 2] {
    subject.speedup = Some(reference.median_ms / subject.median_ms);
    reference.speedup = Some(1.0);
    [reference, subject]
}

/// dinov2-small's attention at `size`: 12 blocks of `[1, 6, N, N]` logits per frame.
fn kernel_cases(
    args: &BenchArgs,
    backend: BackendKind,
    device: &Device,
) -> Result<Vec<Timing>, CliError> {
    const BLOCKS: usize = 12;
    const HEADS: usize = 6;
    let n = (args.size / 14).pow(2) + 1;
    let logits: Vec<(Tensor<4>, Tensor<4>)> = (0..BLOCKS)
        .map(|_| {
            let shape = [1, HEADS, n, n];
            (
                Tensor::random(shape, Distribution::Normal(0.0, 3.0), device),
                Tensor::random(shape, Distribution::Normal(0.0, 3.0), device),
            )
        })
        .collect();
    let case = format!("vanilla AM flow, {BLOCKS} blocks × [1, {HEADS}, {n}, {n}]");
    let run = |kernel: &dyn FlowKernel, variant: &str| {
        time(args, device, backend, &case, variant, || {
            for (a, b) in &logits {
                let _ = kernel.vanilla_flow(a.clone(), b.clone());
            }
            Ok(())
        })
    };
    let reference = run(&TensorOps, "tensor ops (reference)")?;
    let fused = run(&Fused, fused_variant(backend))?;
    Ok(with_reference(reference, fused).to_vec())
}

/// What [`Fused`] runs on `backend`.
fn fused_variant(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Wgpu => "fused WGSL kernel",
        BackendKind::Cpu => "fused SIMD kernel",
    }
}

/// The embedded backbone (or `--backbone`) on a frame pair, every block's flow.
fn pair_cases(
    args: &BenchArgs,
    model: &Dinov2,
    backend: BackendKind,
    device: &Device,
) -> Result<Vec<Timing>, CliError> {
    let pixels = Tensor::<4>::random(
        [2, 3, args.size, args.size],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    model.check_input(pixels.dims())?;
    let case = format!("backbone + all-block AM flow, pair at {0}×{0}", args.size);
    let run = |kernel: &dyn FlowKernel, variant: &str| {
        time(args, device, backend, &case, variant, || {
            pair_flows_with(model, pixels.clone(), kernel)?;
            Ok(())
        })
    };
    let reference = run(&TensorOps, "tensor-op flow")?;
    let fused = run(&Fused, "fused-kernel flow")?;
    Ok(with_reference(reference, fused).to_vec())
}

/// Consecutive pairs `(t, t+1)` of the embedded demo clip, short side at `--size`, one pair per
/// timed call and a new `t` each call: the whole pair analysis the app runs (preprocessing,
/// backbone, every block's flow and column sums read back, patch flows and scores), from
/// scratch (both frames through the backbone, batched, as [`PairAnalysis::run`]) beside a
/// stream that keeps each frame's backbone pass for the next pair
/// ([`PairAnalysis::run_cached`], two frames kept). The stream's first call computes both of
/// its frames (it is a warm-up call unless `--warmup 0`); past the clip's 40 frames `t` starts
/// again at 0, which costs the stream one extra pass there.
fn stream_cases(
    args: &BenchArgs,
    model: &Dinov2,
    backend: BackendKind,
    device: &Device,
) -> Result<Vec<Timing>, CliError> {
    use crate::analysis::PairAnalysis;
    use crate::engine::block_on;
    use crate::flow::FrameCache;

    let clip = crate::video::demo_clip()?;
    let count = clip.info().frames.min(args.warmup + args.runs + 1);
    let frames = clip.frames(&(0..count).collect::<Vec<_>>())?;
    if frames.len() < 2 {
        return Err(CliError::Config(
            "the demo clip has fewer than 2 frames".into(),
        ));
    }
    let size = args.size as u32;
    let pairs = frames.len() - 1;
    let case = format!("consecutive pairs of the demo clip, short side {size}");
    let mut t = 0;
    let reference = time(
        args,
        device,
        backend,
        &case,
        "each pair from scratch",
        || {
            let pair = [&frames[t % pairs], &frames[t % pairs + 1]];
            t += 1;
            block_on(PairAnalysis::run(model, pair, size, device))?;
            Ok(())
        },
    )?;
    let mut t = 0;
    let mut cache = FrameCache::new(2);
    let stream = time(args, device, backend, &case, "frames reused", || {
        let pair = [&frames[t % pairs], &frames[t % pairs + 1]];
        t += 1;
        block_on(PairAnalysis::run_cached(
            model, pair, size, device, &mut cache,
        ))?;
        Ok(())
    })?;
    Ok(with_reference(reference, stream).to_vec())
}

/// A checkpoint (`--checkpoint`, or the embedded demo's) around the backbone, forward on one
/// clip `[1, T, 3, S, S]` (`T` and `S` the checkpoint's frames and input size, what `predict`
/// feeds it): backbone on every frame, AM flow and adapters in the AM blocks, temporal modules,
/// class logits.
fn classifier_case(
    args: &BenchArgs,
    (bytes, label): &(Vec<u8>, String),
    (name, model): (&str, &Dinov2),
    backend: BackendKind,
    device: &Device,
) -> Result<Timing, CliError> {
    let classifier = crate::classifier::AmClassifier::from_checkpoint_bytes(
        bytes.clone(),
        label,
        model.clone(),
        name,
        device,
    )?;
    let (frames, size) = (classifier.config().frames, classifier.config().size);
    let clip = Tensor::<5>::random(
        [1, frames, 3, size, size],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    let case = format!("classifier, one clip of {frames} frames at {size}×{size}");
    time(args, device, backend, &case, label, || {
        classifier.forward(clip.clone())?;
        Ok(())
    })
}

fn print_table(timings: &[Timing]) {
    println!(
        "{:<48} {:<24} {:<7} {:>10} {:>10} {:>5} {:>8}",
        "case", "variant", "backend", "median ms", "min ms", "runs", "speed-up"
    );
    for t in timings {
        println!(
            "{:<48} {:<24} {:<7} {:>10.2} {:>10.2} {:>5} {:>8}",
            t.case,
            t.variant,
            t.backend,
            t.median_ms,
            t.min_ms,
            t.runs,
            t.speedup.map(|s| format!("{s:.2}×")).unwrap_or_default()
        );
    }
}

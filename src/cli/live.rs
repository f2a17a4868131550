//! `amflow live`: AM-flow maps of a camera, the newest frame against the one `k` frames before
//! it, for a while; reports the rate reached and writes the last maps.
//!
//! Each frame goes through the backbone once ([`crate::flow::FrameCache`] keeps the last `k + 1`
//! frames' attention), so an update costs one backbone pass. When the model is slower than the
//! camera, the frames in between are dropped (the camera keeps only its newest), and the pair is
//! the newest frame and the `k`-th frame analysed before it.

use std::collections::VecDeque;
use std::path::PathBuf;

use serde::Serialize;

use super::CliError;
use super::common::{load_backbone, write_png};
use crate::analysis::PairAnalysis;
use crate::backend::BackendKind;
use crate::engine::block_on;
use crate::flow::FrameCache;
use crate::maps::{BasisKind, View};
use crate::video::Frame;
use crate::video::camera::{Camera, CameraSource};
use crate::video::ffmpeg::Ffmpeg;

/// Arguments of `amflow live`.
#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// The camera: a device (`/dev/video1` with v4l2, `0` with avfoundation, `video=NAME` with
    /// dshow), or `lavfi:EXPR` for one of ffmpeg's test sources
    /// (`lavfi:testsrc2=size=320x240:rate=25`). The system's first camera by default.
    #[arg(long)]
    pub camera: Option<String>,
    /// Short side of the backbone's input in pixels.
    #[arg(long, default_value_t = 112, value_parser = super::common::size_parser::<u32>())]
    pub size: u32,
    /// The pair is the newest frame and the one `k` analysed frames before it.
    #[arg(long, short = 'k', default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16))]
    pub offset: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Where the last pair's Figure-5 maps (PNG) go.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print the measurement as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a live run measured.
#[derive(Debug, Serialize)]
pub struct LiveReport {
    /// The camera.
    pub camera: String,
    /// The backbone.
    pub backbone: String,
    /// Where the model ran.
    pub backend: String,
    /// Short side of the input.
    pub size: u32,
    /// Seconds from the first frame to the last update.
    pub seconds: f64,
    /// Pairs analysed (maps updated).
    pub updates: u64,
    /// Updates per second.
    pub updates_per_second: f64,
    /// Frames the camera delivered per second.
    pub camera_fps: f64,
    /// Frames run through the backbone, and frames taken from the cache.
    pub backbone_passes: u64,
    /// Frames reused from the cache.
    pub reused: u64,
}

/// Runs `amflow live`.
pub fn run(
    args: &LiveArgs,
    backbone: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        return Err(CliError::Config(
            "--seconds must be a positive number".into(),
        ));
    }
    let device = backend.open()?;
    let (name, model) = load_backbone(backbone, &device)?;
    let source = CameraSource::parse(args.camera.as_deref());
    let camera = Camera::open(source, &Ffmpeg::from_path())?;
    let mut cache = FrameCache::new(args.offset + 1);
    // The last k + 1 frames analysed, oldest first.
    let mut recent: VecDeque<Frame> = VecDeque::with_capacity(args.offset + 1);
    let mut last: Option<PairAnalysis> = None;
    let mut updates = 0u64;
    let start = web_time::Instant::now();
    let arrived_at_start = camera.arrived();
    while start.elapsed().as_secs_f64() < args.seconds {
        let frame = camera.next_frame()?;
        if recent.len() == args.offset + 1 {
            recent.pop_front();
        }
        recent.push_back(frame);
        if recent.len() < args.offset + 1 {
            continue;
        }
        let pair = [&recent[0], &recent[args.offset]];
        let analysis = block_on(PairAnalysis::run_cached(
            &model, pair, args.size, &device, &mut cache,
        ))?;
        updates += 1;
        last = Some(analysis);
    }
    let seconds = start.elapsed().as_secs_f64();
    let arrived = camera.arrived().saturating_sub(arrived_at_start);
    let (reused, passes) = cache.counts();
    let report = LiveReport {
        camera: camera.source().name(),
        backbone: name,
        backend: backend.to_string(),
        size: args.size,
        seconds,
        updates,
        updates_per_second: updates as f64 / seconds,
        camera_fps: arrived as f64 / seconds,
        backbone_passes: passes,
        reused,
    };
    drop(camera);
    if let (Some(out), Some(analysis)) = (&args.out, &last) {
        let labels = ["frame t".to_string(), format!("frame t+{}", args.offset)];
        write_png(
            out,
            &analysis.figure(View::Pca, BasisKind::PerBlock, labels, 4),
        )?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "{}: {} updates in {:.1} s = {:.1} maps/s at short side {} ({} on {}; camera {:.1} frames/s; {} backbone passes, {} frames reused)",
            report.camera,
            report.updates,
            report.seconds,
            report.updates_per_second,
            report.size,
            report.backbone,
            report.backend,
            report.camera_fps,
            report.backbone_passes,
            report.reused
        );
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

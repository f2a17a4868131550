//! The command line: `amflow` with no subcommand opens the app.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::backend::BackendKind;

pub use error::CliError;

pub mod bench;
pub mod blocks;
pub mod checkpoint;
pub mod common;
pub mod error;
pub mod info;
pub mod live;
pub mod maps;
pub mod progress;
pub mod synth;
pub mod train;

/// AM flow: motion read out of the attention maps of a frozen DINOv2.
#[derive(Debug, Parser)]
#[command(name = "amflow", version, about)]
pub struct Cli {
    /// What to do; without one, the app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A Hugging Face DINOv2 folder (config.json + model.safetensors) for the app; the embedded
    /// dinov2-small by default.
    #[arg(long, global = true)]
    pub backbone: Option<PathBuf>,
    /// A clip for the app to open (the embedded demo clip by default).
    #[arg(long)]
    pub clip: Option<PathBuf>,
    /// Opens the app on a camera instead of a clip: a device (`/dev/video1`, `0`,
    /// `video=NAME`), `lavfi:EXPR` for an ffmpeg test source, or without a value the system's
    /// first camera.
    #[arg(long, num_args = 0..=1, default_missing_value = "", conflicts_with = "clip")]
    pub camera: Option<String>,
    /// The app's input size for the maps (short side in pixels; 224 by default).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(14..=448))]
    pub size: Option<u32>,
    /// The flow the app's maps start with (`displacement`: its direction maps).
    #[arg(long, value_enum)]
    pub flow: Option<crate::maps::MapFlow>,
    /// A classifier checkpoint for the app's predictions (the embedded demo by default).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Where the model runs: cpu or wgpu. Commands default to cpu; the app to the GPU it draws
    /// with, unless that is a software adapter.
    #[arg(long, global = true)]
    pub backend: Option<BackendKind>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a backbone, describe it, and time a forward pass.
    Info(info::InfoArgs),
    /// Figure-5 AM-flow maps of a frame pair (PNG), and a JSON dump of every block's flow.
    Maps(maps::MapsArgs),
    /// Live AM-flow maps of a camera (or an ffmpeg test source): the rate reached, the last maps.
    Live(live::LiveArgs),
    /// Rank the blocks over a clip or a dataset and propose the AM blocks.
    Blocks(blocks::BlocksArgs),
    /// Time the fused AM-flow kernel and the pair maps, each beside its reference.
    Bench(bench::BenchArgs),
    /// Train the AM-flow classifier (adapters, AM flow, temporal modules) on a dataset.
    Train(train::TrainArgs),
    /// Top-1 / top-5 accuracy of a checkpoint on a dataset.
    Eval(train::EvalArgs),
    /// The top classes of one clip.
    Predict(train::PredictArgs),
    /// What a classifier checkpoint holds; `--half` writes a float16 copy.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Write the synthetic motion dataset (classes one frame cannot tell apart).
    Synth(synth::SynthArgs),
}

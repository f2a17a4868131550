//! The command line's one error type: every library error a subcommand can meet, passed through
//! unchanged, and the few failures that only the command line knows (its options and outputs).
//! `main` prints it as `error: {message}`.

use std::path::PathBuf;

use crate::analysis::AnalysisError;
use crate::backend::{BackendKind, DeviceError};
use crate::classifier::CheckpointError;
use crate::classifier::augment::AugmentError;
use crate::classifier::config::{BlocksError, ConfigError};
use crate::classifier::data::DataError;
use crate::classifier::train::TrainError;
use crate::durable::WriteError;
use crate::maps::probe::ProbeError;
use crate::model::{BackboneError, InputError};
use crate::video::ClipError;

/// Why a subcommand stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The device asked for could not be opened.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The backbone did not load.
    #[error(transparent)]
    Backbone(#[from] BackboneError),
    /// The requested input does not fit the backbone.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A clip could not be read or sampled.
    #[error(transparent)]
    Clip(#[from] ClipError),
    /// The frames did not go through the backbone.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// An output could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A checkpoint could not be written or used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Bad `--blocks`.
    #[error(transparent)]
    Blocks(#[from] BlocksError),
    /// Bad `--mirror` or `--reverse`.
    #[error(transparent)]
    Augment(#[from] AugmentError),
    /// The options make a classifier that cannot work.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// Training or evaluation ended without a result.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The labelled clips could not be probed.
    #[error("--labels: {0}")]
    Probe(#[from] ProbeError),
    /// The device failed while running.
    #[error("the {backend} device failed: {message}")]
    DeviceFailed {
        /// Which backend.
        backend: BackendKind,
        /// What it said.
        message: String,
    },
    /// A result could not be read back from the device.
    #[error("reading the result back from the device failed: {0}")]
    Readback(String),
    /// A setting that cannot work.
    #[error("{0}")]
    Config(String),
    /// `--runs 0`: nothing to time.
    #[error("--runs must be at least 1")]
    NoRuns,
    /// A block's flow holds NaN or infinite values (nothing is written).
    #[error("block {block}'s flow holds NaN or infinite values; nothing was written")]
    NotFinite {
        /// 1-based.
        block: usize,
    },
    /// The `--pixels` file is not what it should be.
    #[error("{path}: {problem}")]
    Pixels {
        /// The .npy file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// No clip of the dataset could be scored.
    #[error("{path}: no clip could be scored ({skipped} skipped); the first problem: {first}")]
    NothingScored {
        /// The dataset.
        path: PathBuf,
        /// Clips skipped.
        skipped: usize,
        /// The first error met.
        first: String,
    },
    /// OUT is already there.
    #[error("{0} exists; choose another folder or pass --force to replace it")]
    Exists(PathBuf),
    /// Sizes that make no dataset.
    #[error("{0}")]
    Sizes(String),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--resume` with other settings than the run it continues.
    #[error("--resume: the run in {} was started with other settings ({what}); resume with the same settings, or train afresh without --resume", record.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    ResumeMismatch {
        /// The run's record.
        record: PathBuf,
        /// What differs.
        what: String,
    },
    /// `--resume` without an earlier run.
    #[error("--resume: no per-epoch checkpoint in {0}; train without --resume first")]
    NothingToResume(PathBuf),
}

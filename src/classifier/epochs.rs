//! Which epoch of a run to keep: the per-epoch validation top-1 as burn-train logged it in the
//! run's folder, the checkpoints kept for it, and the weights of a chosen epoch.
//!
//! A run's validation accuracy can swing from one epoch to the next (on the synthetic motions,
//! the two senses of a turn trade places), so `train --keep best` writes the epoch with the
//! highest validation top-1 instead of the last one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::train::checkpoint::{
    Checkpoint, ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::logger::{FileMetricLogger, MetricLogger};
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{AccuracyMetric, LossMetric, Metric, NumericEntry};

/// Which epoch's weights a run writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EpochPick {
    /// The last epoch trained.
    Last,
    /// The epoch with the highest validation top-1; of equals, the earliest (`train`'s
    /// default: on small sets validation moves by several points from epoch to epoch).
    #[default]
    Best,
}

/// Why a chosen epoch's weights could not be had.
#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    /// The run's folder holds no validation accuracy to choose by.
    #[error("{0} holds no validation accuracy of any epoch to choose the best by")]
    NoValidation(PathBuf),
    /// The chosen epoch's checkpoint is not in the run's folder (deleted, or from a run that
    /// did not keep it).
    #[error(
        "epoch {epoch} has the best validation top-1, but its checkpoint {path} cannot be read ({reason})"
    )]
    Missing {
        /// The chosen epoch.
        epoch: usize,
        /// Its model checkpoint.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// The checkpoints a run keeps: the last two epochs (for `--resume`), the epoch of lowest
/// validation loss (burn-train's default) and the epoch of highest validation top-1 (for
/// `--keep best`).
pub(crate) fn checkpointing() -> ComposedCheckpointingStrategy {
    ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(2))
        .add(MetricCheckpointingStrategy::new(
            &LossMetric::new(),
            Aggregate::Mean,
            Direction::Lowest,
            Split::Valid,
        ))
        .add(MetricCheckpointingStrategy::new(
            &AccuracyMetric::new(),
            Aggregate::Mean,
            Direction::Highest,
            Split::Valid,
        ))
        .build()
}

/// Validation top-1 of each epoch logged in the run's folder `artifacts`, in percent, from
/// epoch 1 up to the first epoch without a log: `[v₁, v₂, …]`. An epoch's value is the one
/// burn-train logged at its end, or, without it, the clip-weighted mean of its batches.
pub fn validation_accuracy(artifacts: &Path) -> Vec<f64> {
    let mut logger = FileMetricLogger::new(artifacts);
    let name = AccuracyMetric::new().name();
    let mut values = Vec::new();
    for epoch in 1.. {
        let entries = match logger.read_numeric(&name, epoch, &Split::Valid) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => break,
        };
        let end = entries.iter().rev().find_map(|e| match e {
            NumericEntry::Final(v) => Some(*v),
            _ => None,
        });
        let mean = || {
            let (sum, count) = entries.iter().fold((0.0, 0usize), |(s, n), e| match e {
                NumericEntry::Value(v) => (s + v, n + 1),
                NumericEntry::Aggregated {
                    aggregated_value,
                    count,
                } => (s + aggregated_value * *count as f64, n + count),
                NumericEntry::Final(_) => (s, n),
            });
            (count > 0).then(|| sum / count as f64)
        };
        match end.or_else(mean) {
            Some(v) if v.is_finite() => values.push(v),
            _ => break,
        }
    }
    values
}

/// The epoch (from 1) of the highest value among the first `epochs`, the earliest of equals;
/// `None` when there is none.
pub fn best_epoch(values: &[f64], epochs: usize) -> Option<usize> {
    values
        .iter()
        .take(epochs)
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i + 1, v)),
        })
        .map(|(i, _)| i)
}

/// The model checkpoint burn-train wrote for `epoch` in the run's folder:
/// `artifacts/checkpoint/model-{epoch}.bpk`.
pub fn model_checkpoint(artifacts: &Path, epoch: usize) -> PathBuf {
    artifacts
        .join("checkpoint")
        .join(format!("model-{epoch}.bpk"))
}

/// The last epoch with a model checkpoint in the run's folder (the names
/// [`model_checkpoint`] gives).
pub fn last_checkpoint_epoch(artifacts: &Path) -> Option<usize> {
    std::fs::read_dir(artifacts.join("checkpoint"))
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("model-")?
                .strip_suffix(".bpk")?
                .parse::<usize>()
                .ok()
        })
        .max()
}

/// `model` with the weights of `epoch` of the run in `artifacts`.
pub(crate) fn load_epoch<M: Module>(
    model: M,
    artifacts: &Path,
    epoch: usize,
) -> Result<M, EpochError> {
    let path = model_checkpoint(artifacts, epoch);
    let missing = |reason: String| EpochError::Missing {
        epoch,
        path: path.clone(),
        reason,
    };
    let record =
        <ModuleRecord as Checkpoint>::load(path.clone()).map_err(|e| missing(e.to_string()))?;
    model
        .try_load_record(record)
        .map_err(|e| missing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_epoch_is_the_earliest_of_the_highest_within_the_run() {
        assert_eq!(best_epoch(&[50.0, 80.0, 70.0, 80.0], 4), Some(2));
        assert_eq!(best_epoch(&[50.0, 60.0, 90.0], 2), Some(2));
        assert_eq!(best_epoch(&[10.0], 3), Some(1));
        assert_eq!(best_epoch(&[], 3), None);
    }

    /// Logs written the way burn-train writes them (per batch `value,count`, then
    /// `value,final`) are read back per epoch, and an epoch without a log ends the list.
    #[test]
    fn validation_accuracy_reads_each_epochs_final_value() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |epoch: usize, text: &str| {
            let d = dir.path().join(format!("valid/epoch-{epoch}"));
            std::fs::create_dir_all(&d).expect("dir");
            std::fs::write(d.join("Accuracy.log"), text).expect("log");
        };
        write(1, "100,8\n25,8\n62.5,final\n");
        write(2, "100,8\n75,8\n87.5,final\n");
        write(4, "100,8\n100,8\n100,final\n");
        assert_eq!(validation_accuracy(dir.path()), vec![62.5, 87.5]);
    }
}

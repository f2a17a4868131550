//! What `amflow train` shows while it runs: an indicatif bar per split (clips done, rate, time
//! left, the running loss and accuracy), and one line per finished split with the epoch's
//! metrics, e.g.
//!
//! ```text
//! epoch 3/10 train  loss 1.412  accuracy 47.2%   (288 clips, 1m 21s)
//! epoch 3/10 valid  loss 1.305  accuracy 52.8%   (72 clips, 9s)
//! ```
//!
//! It replaces burn-train's plain renderer, which prints a debug line per batch.

use std::collections::HashMap;
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Running mean of one metric over the current split: `Σ value·count / Σ count`, or the
/// learner's final value once it reports one.
#[derive(Debug, Default, Clone, Copy)]
struct Running {
    sum: f64,
    count: usize,
    last: Option<f64>,
    fixed: Option<f64>,
}

impl Running {
    fn add(&mut self, entry: &NumericEntry) {
        match entry {
            NumericEntry::Value(v) => {
                self.sum += v;
                self.count += 1;
                self.last = Some(*v);
            }
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => {
                self.sum += aggregated_value * *count as f64;
                self.count += count;
                self.last = Some(*aggregated_value);
            }
            NumericEntry::Final(v) => self.fixed = Some(*v),
        }
    }

    fn value(&self) -> Option<f64> {
        self.fixed.or_else(|| {
            (self.count > 0)
                .then(|| self.sum / self.count as f64)
                .or(self.last)
        })
    }
}

/// The terminal renderer of `amflow train` and of burn-train's evaluations.
pub struct TrainProgress {
    names: HashMap<MetricId, String>,
    /// Metric name → running value, for the split in progress.
    metrics: Vec<(String, Running)>,
    bar: Option<ProgressBar>,
    split: String,
    epoch: usize,
    epochs: usize,
    started: Instant,
    items: usize,
    /// The run's unreadable clips, counted on each split's line.
    bad: crate::classifier::data::BadClips,
}

impl Default for TrainProgress {
    fn default() -> Self {
        Self::new(crate::classifier::data::BadClips::default())
    }
}

impl TrainProgress {
    /// A renderer with nothing shown yet, reporting the unreadable clips in `bad`.
    pub fn new(bad: crate::classifier::data::BadClips) -> Self {
        Self {
            bad,
            names: HashMap::new(),
            metrics: Vec::new(),
            bar: None,
            split: String::new(),
            epoch: 1,
            epochs: 0,
            started: Instant::now(),
            items: 0,
        }
    }

    fn record(&mut self, state: MetricState) {
        let MetricState::Numeric(entry, Some(value)) = state else {
            return;
        };
        let name = self
            .names
            .get(&entry.metric_id)
            .cloned()
            .unwrap_or_else(|| "metric".to_string());
        match self.metrics.iter_mut().find(|(n, _)| *n == name) {
            Some((_, running)) => running.add(&value),
            None => {
                let mut running = Running::default();
                running.add(&value);
                self.metrics.push((name, running));
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_message(self.summary());
        }
    }

    /// `loss 1.412  accuracy 47.2%`.
    fn summary(&self) -> String {
        self.metrics
            .iter()
            .filter_map(|(name, running)| {
                let v = running.value()?;
                let name = name.to_lowercase();
                Some(if name.contains("accuracy") {
                    format!("{name} {v:.1}%")
                } else {
                    format!("{name} {v:.3}")
                })
            })
            .collect::<Vec<_>>()
            .join("  ")
    }

    fn open_bar(&mut self, label: String, total: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} clips {elapsed}<{eta}  {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label);
        self.bar = Some(bar);
        self.metrics.clear();
        self.started = Instant::now();
        self.items = total;
    }

    fn close_bar(&mut self, label: &str) {
        let skipped = match self.bad.len() {
            0 => String::new(),
            n => format!(", {n} unreadable clips skipped so far"),
        };
        let line = format!(
            "{label}  {}   ({} clips, {}{skipped})",
            self.summary(),
            self.items,
            indicatif::HumanDuration(self.started.elapsed())
        );
        match self.bar.take() {
            // A hidden bar (output is not a terminal) prints nothing, so print directly.
            Some(bar) if !bar.is_hidden() => {
                bar.finish_and_clear();
                bar.println(line);
            }
            _ => println!("{line}"),
        }
    }

    fn epoch_label(&self) -> String {
        format!("epoch {}/{} {:<5}", self.epoch, self.epochs, self.split)
    }
}

impl MetricsRendererTraining for TrainProgress {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }

    /// Prints the learner's summary table (every metric's best epoch).
    fn on_train_end(
        &mut self,
        summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(summary) = summary {
            println!("{summary}");
        }
        Ok(())
    }
}

impl MetricsRendererEvaluation for TrainProgress {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }

    fn on_test_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        Ok(())
    }
}

impl TrainingProgressLogger for TrainProgress {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_string();
        let label = self.epoch_label();
        self.open_bar(label, total_items);
    }

    fn update_split(&mut self, items_processed: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(items_processed as u64);
        }
    }

    fn end_split(&mut self) {
        let label = self.epoch_label();
        self.close_bar(&label);
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// burn-train logs an "Iteration" event per batch; the bar already shows those.
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for TrainProgress {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, name: &str, total_items: usize) {
        self.split = name.to_string();
        self.open_bar(format!("test {name}"), total_items);
    }

    fn update_test_progress(&mut self, items_processed: usize) {
        self.update_split(items_processed);
    }

    fn end_test(&mut self) {
        let label = format!("test {}", self.split);
        self.close_bar(&label);
    }

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for TrainProgress {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_means_weigh_batches_by_their_size() {
        let mut r = Running::default();
        r.add(&NumericEntry::Aggregated {
            aggregated_value: 1.0,
            count: 3,
        });
        r.add(&NumericEntry::Aggregated {
            aggregated_value: 0.0,
            count: 1,
        });
        assert_eq!(r.value(), Some(0.75));
        r.add(&NumericEntry::Final(0.5));
        assert_eq!(r.value(), Some(0.5));
    }
}

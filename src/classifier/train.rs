//! Training with burn-train's learner (AdamW, cross-entropy on the averaged logits, the frozen
//! backbone's parameters untouched), and top-1/top-5 evaluation.

use std::path::PathBuf;
use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamWConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use burn::train::Interrupter;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};

use super::augment::Augment;
use super::data::{BadClipPolicy, BadClips, ClipBatch, ClipBatcher, ClipDataset, bad_clip_limit};
use super::epochs::{EpochError, EpochPick, best_epoch, load_epoch, validation_accuracy};
use super::model::AmClassifier;
use super::prefix::PrefixCache;

impl AmClassifier {
    /// Loss and logits of a batch. Inputs come from [`ClipBatcher`] at the configured size, so
    /// the backbone accepts them. Were one refused, the batch's `stop` ends the run with the
    /// error (burn's steps cannot return one): this step's zero logits are never reported, since
    /// [`train`] then returns the error instead of a model.
    fn classification(&self, batch: ClipBatch) -> ClassificationOutput {
        let [b, ..] = batch.clips.dims();
        let device = batch.clips.device();
        let logits = match batch.prefix {
            Some(tokens) => self.forward_tokens(tokens, b),
            None => self.forward(batch.clips),
        };
        let logits = logits.unwrap_or_else(|e| {
            batch
                .stop
                .stop(Some(&format!("the model failed on a batch: {e}")));
            Tensor::zeros([b, self.config.classes.len()], &device)
        });
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), batch.labels.clone());
        ClassificationOutput::new(loss, logits, batch.labels)
    }
}

impl TrainStep for AmClassifier {
    type Input = ClipBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClipBatch) -> TrainOutput<ClassificationOutput> {
        let output = self.classification(batch);
        TrainOutput::new(self, output.loss.backward(), output)
    }
}

impl InferenceStep for AmClassifier {
    type Input = ClipBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClipBatch) -> ClassificationOutput {
        self.classification(batch)
    }
}

impl AmClassifier {
    /// One line: backbone, AM blocks, kinds, sizes, parameter counts.
    pub fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "AM-flow classifier on {}: AM blocks {:?} ({:?} flow, {:?} TPM), adapters beside blocks {} to {}, {} frames, bottleneck {}, {} classes; {}",
            c.backbone.name,
            c.am_blocks,
            c.flow,
            c.tpm,
            c.adapters_from,
            c.backbone.num_hidden_layers,
            c.frames,
            c.bottleneck,
            c.classes.len(),
            self.param_counts()
        )
    }
}

/// How the learning rate moves over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LrSchedule {
    /// `lr` at every step.
    #[default]
    Constant,
    /// Cosine annealing from `lr` to 0 over the run's steps: `lr_i = lr · (1 + cos(π i / I)) / 2`
    /// at step `i` of `I = epochs · ⌈clips / batch⌉`.
    Cosine,
}

impl LrSchedule {
    /// The scheduler for `steps` steps in all from `lr`.
    fn scheduler(
        self,
        lr: f64,
        steps: usize,
    ) -> Result<burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler, TrainError> {
        match self {
            LrSchedule::Constant => Ok(lr.into()),
            LrSchedule::Cosine => {
                burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig::new(
                    lr,
                    steps.max(1),
                )
                .init()
                .map_err(TrainError::Schedule)
            }
        }
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Epochs in all (a resumed run continues up to this).
    pub epochs: usize,
    /// Clips per batch.
    pub batch_size: usize,
    /// AdamW learning rate (the schedule's start).
    pub learning_rate: f64,
    /// How the learning rate moves over the run.
    pub schedule: LrSchedule,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// Data-loading threads.
    pub workers: usize,
    /// Shuffling and frame-sampling seed.
    pub seed: u64,
    /// Where burn-train keeps its per-epoch checkpoints and logs.
    pub artifacts: PathBuf,
    /// Continue from this epoch's checkpoint in `artifacts`.
    pub resume_from: Option<usize>,
    /// Devices to train on (several: burn's multi-device training).
    pub devices: Vec<Device>,
    /// The largest share of unreadable clips the run accepts (skipped and counted).
    pub max_bad_share: f64,
    /// Mirrored and reversed training clips under the labels they then show.
    pub augment: Augment,
    /// The frozen prefix kept per frame (a model with `adapters_from` above 1), shared by the
    /// training and validation batchers; the caller reads its statistics after the run.
    pub prefix: Option<Arc<PrefixCache>>,
    /// Which epoch's weights [`train`] hands back.
    pub keep: EpochPick,
}

/// A finished run: the weights of the epoch kept, which epoch that is, and its validation
/// top-1 as logged during the run.
pub struct Trained {
    /// The classifier with the kept epoch's weights.
    pub model: AmClassifier,
    /// The epoch kept (from 1).
    pub epoch: usize,
    /// The last epoch trained.
    pub last: usize,
    /// Validation top-1 of the kept epoch in percent, when the run logged it.
    pub valid_top1: Option<f64>,
}

/// Why training or evaluation ended without a result.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// More clips could not be read than the run accepts.
    #[error(
        "{count} of {total} clips could not be read, more than --max-bad-share allows ({limit}); fix or remove them:\n{list}"
    )]
    TooManyBadClips {
        /// Unreadable clips.
        count: usize,
        /// Clips in the data.
        total: usize,
        /// The most accepted.
        limit: usize,
        /// `path: reason` lines.
        list: String,
    },
    /// The run was stopped (the model failed on a batch, or a device was lost).
    #[error("training stopped: {0}")]
    Stopped(String),
    /// The model refused an input.
    #[error(transparent)]
    Input(#[from] crate::model::InputError),
    /// The device could not hand the results back.
    #[error("reading results back from the device failed: {0}")]
    Readback(String),
    /// The learning-rate schedule refused its settings.
    #[error("learning-rate schedule: {0}")]
    Schedule(String),
    /// The epoch to keep could not be chosen or loaded.
    #[error(transparent)]
    Epoch(#[from] EpochError),
    /// Training diverged: the trained weights hold NaN or infinity (nothing is written).
    #[error(
        "training diverged: {0} trained weights are NaN or infinite; nothing was written (try a lower --lr)"
    )]
    Diverged(usize),
}

/// How many of the trainable weights are NaN or infinite.
pub(crate) fn non_finite_weights(trainable: &super::model::Trainable) -> usize {
    let mut count = NonFinite(0);
    trainable.visit(&mut count);
    count.0
}

/// Counts the non-finite values of a module's float parameters.
struct NonFinite(usize);

impl burn::module::ModuleVisitor for NonFinite {
    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        let t = param.val();
        let bad = t.clone().is_nan().int().sum() + t.is_inf().int().sum();
        self.0 += bad.into_scalar::<i64>().max(0) as usize;
    }
}

/// Trains `model` on `train`, validating on `valid` after each epoch; returns the weights of
/// the epoch `options.keep` names (the last, or the best by validation top-1). Unreadable
/// clips are skipped and counted in `bad` (see [`BadClipPolicy`]); more than
/// `options.max_bad_share` of the clips, or a failed step, end the run with an error. Progress
/// and metrics go to `renderer` (the command line's is a terminal display); the library
/// itself prints nothing.
pub fn train(
    model: AmClassifier,
    train: ClipDataset,
    valid: ClipDataset,
    options: &TrainOptions,
    bad: &BadClips,
    renderer: Box<dyn burn::train::renderer::MetricsRenderer>,
) -> Result<Trained, TrainError> {
    let c = model.config().clone();
    let device = options
        .devices
        .first()
        .cloned()
        .unwrap_or_else(|| model.devices().first().cloned().unwrap_or_default());
    let total = train.items.len() + valid.items.len();
    // Steps per epoch as the loader batches the training clips.
    let steps = options.epochs * train.items.len().div_ceil(options.batch_size.max(1));
    let scheduler = options.schedule.scheduler(options.learning_rate, steps)?;
    let limit = bad_clip_limit(options.max_bad_share, total);
    let stop = Interrupter::new();
    let policy = |data: &ClipDataset| BadClipPolicy {
        bad: bad.clone(),
        limit,
        stop: stop.clone(),
        items: data.items.clone().into(),
    };
    let mut train_batcher = ClipBatcher::train(c.frames, c.size, options.seed)
        .with_policy(policy(&train))
        .with_augment(options.augment.clone());
    let mut valid_batcher = ClipBatcher::test(c.frames, c.size, false).with_policy(policy(&valid));
    if let Some(cache) = &options.prefix {
        train_batcher = train_batcher.with_prefix(cache.clone());
        valid_batcher = valid_batcher.with_prefix(cache.clone());
    }
    let loader_train = DataLoaderBuilder::new(train_batcher)
        .batch_size(options.batch_size)
        .shuffle(options.seed)
        .num_workers(options.workers)
        .set_device(device.clone())
        .build(train);
    let loader_valid = DataLoaderBuilder::new(valid_batcher)
        .batch_size(options.batch_size)
        .num_workers(options.workers)
        .set_device(device.clone())
        .build(valid);
    let mut training = SupervisedTraining::new(&options.artifacts, loader_train, loader_valid)
        .metric_train_numeric(AccuracyMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_default_checkpointers()
        .with_checkpointing_strategy(super::epochs::checkpointing())
        .num_epochs(options.epochs)
        .renderer(renderer)
        .summary()
        .with_interrupter(stop);
    if let Some(epoch) = options.resume_from {
        training = training.checkpoint(epoch);
    }
    if options.devices.len() > 1 {
        training = training.with_training_strategy(
            burn::train::ExecutionStrategy::multi(
                options.devices.clone(),
                burn::train::MultiDeviceOptim::OptimMainDevice,
            )
            .into(),
        );
    }
    let optimizer = AdamWConfig::new()
        .with_weight_decay(options.weight_decay)
        .init();
    let result = training.launch(Learner::new(model, optimizer, scheduler));
    if bad.len() > limit {
        return Err(TrainError::TooManyBadClips {
            count: bad.len(),
            total,
            limit,
            list: bad.report(),
        });
    }
    if let Some(error) = result.error {
        return Err(TrainError::Stopped(error.to_string()));
    }
    if let Some(interruption) = result.interrupted {
        return Err(TrainError::Stopped(
            interruption.reason.unwrap_or_else(|| "interrupted".into()),
        ));
    }
    // A resume at or past `epochs` trains nothing and hands back the checkpoint it resumed.
    let last = options.epochs.max(options.resume_from.unwrap_or(0));
    let accuracy = validation_accuracy(&options.artifacts);
    let epoch = match options.keep {
        EpochPick::Last => last,
        EpochPick::Best => best_epoch(&accuracy, last)
            .ok_or_else(|| EpochError::NoValidation(options.artifacts.clone()))?,
    };
    let model = if epoch == last {
        result.model
    } else {
        load_epoch(result.model, &options.artifacts, epoch)?
    };
    let bad = non_finite_weights(&model.trainable);
    if bad > 0 {
        return Err(TrainError::Diverged(bad));
    }
    Ok(Trained {
        model,
        epoch,
        last,
        valid_top1: epoch.checked_sub(1).and_then(|i| accuracy.get(i)).copied(),
    })
}

/// Top-1 and top-5 accuracy over a dataset, and which classes the clips were taken for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Accuracy {
    /// Fraction of clips whose best class is right.
    pub top1: f64,
    /// Fraction whose right class is among the best five.
    pub top5: f64,
    /// Clips evaluated.
    pub clips: usize,
    /// Clips that could not be read, left out of the accuracy.
    pub skipped: usize,
    /// `confusion[true][predicted]`: clips of each class (rows, the checkpoint's class order)
    /// by the class they were given (columns). A clip whose right class ties for the best
    /// counts as right, as in `top1`, so the diagonal sums to `top1 · clips`.
    pub confusion: Vec<Vec<usize>>,
}

impl Accuracy {
    /// Top-1 within each class (the diagonal over the row sums); `None` for a class with no
    /// clips.
    pub fn per_class(&self) -> Vec<Option<f64>> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let n: usize = row.iter().sum();
                (n > 0).then(|| row[i] as f64 / n as f64)
            })
            .collect()
    }
}

/// The class a clip is given from its probabilities `row` when its right class is `label`: the
/// right one when nothing beats it (a tie counts as right), else the first of the highest.
/// Top-1 counts a clip right when this is its class.
fn predicted(row: &[f32], label: usize) -> usize {
    row.iter()
        .enumerate()
        .fold(
            (label, row[label]),
            |best, (i, &p)| if p > best.1 { (i, p) } else { best },
        )
        .0
}

/// Class probabilities `[B, C]` of clips `[B·crops, T, 3, S, S]`, averaged over each clip's
/// crops.
pub fn clip_probabilities(
    model: &AmClassifier,
    clips: Tensor<5>,
    crops: usize,
) -> Result<Tensor<2>, crate::model::InputError> {
    let logits = model.forward(clips)?; // [B·crops, C]
    let [bc, classes] = logits.dims();
    Ok(softmax(logits, 1)
        .reshape([bc / crops.max(1), crops.max(1), classes])
        .mean_dim(1)
        .reshape([bc / crops.max(1), classes]))
}

/// Evaluates `model` on `data` with `batcher` (test sampling), reporting progress per batch.
/// A clip that cannot be read is skipped and counted in `bad` (the accuracy is over the clips
/// read); more than `max_bad_share` of them is an error, as is a failed forward pass or
/// read-back.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    model: &AmClassifier,
    data: &ClipDataset,
    batcher: &ClipBatcher,
    batch_size: usize,
    device: &Device,
    max_bad_share: f64,
    bad: &BadClips,
    mut progress: impl FnMut(usize),
) -> Result<Accuracy, TrainError> {
    let mut top1 = 0usize;
    let mut top5 = 0usize;
    let mut clips = 0usize;
    let classes = model.config().classes.len();
    let mut confusion = vec![vec![0usize; classes]; classes];
    let limit = bad_clip_limit(max_bad_share, data.items.len());
    for chunk in data.items.chunks(batch_size.max(1)) {
        let mut values = Vec::new();
        let mut readable = Vec::new();
        for item in chunk {
            match batcher.load_checked(&item.path) {
                Ok(crops) => {
                    values.extend(crops.iter().flat_map(|d| d.iter::<f32>()));
                    readable.push(item);
                }
                Err(reason) => {
                    bad.record(&item.path, reason);
                }
            }
        }
        progress(chunk.len());
        if bad.len() > limit {
            return Err(TrainError::TooManyBadClips {
                count: bad.len(),
                total: data.items.len(),
                limit,
                list: bad.report(),
            });
        }
        if readable.is_empty() {
            continue;
        }
        let crops = batcher.crops();
        let [t, s] = [batcher.frames(), batcher.size()];
        let pixels = Tensor::<5>::from_data(
            burn::tensor::TensorData::new(values, [readable.len() * crops, t, 3, s, s]),
            device,
        );
        let probs = clip_probabilities(model, pixels, crops)?;
        let [b, width] = probs.dims();
        let values = probs
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Readback(format!("{e:?}")))?;
        for (row, item) in values.chunks(width).zip(readable).take(b) {
            let right = row[item.label];
            let better = row.iter().filter(|&&p| p > right).count();
            let given = predicted(row, item.label);
            top1 += usize::from(given == item.label);
            top5 += usize::from(better < 5);
            clips += 1;
            if let Some(cell) = confusion.get_mut(item.label).and_then(|r| r.get_mut(given)) {
                *cell += 1;
            }
        }
    }
    let n = clips.max(1) as f64;
    Ok(Accuracy {
        top1: top1 as f64 / n,
        top5: top5 as f64 / n,
        clips,
        skipped: bad.len(),
        confusion,
    })
}

#[cfg(test)]
mod tests {
    use super::{Accuracy, LrSchedule, predicted};

    #[test]
    fn a_clip_is_given_its_best_class_and_a_tie_with_the_right_one_counts_as_right() {
        assert_eq!(predicted(&[0.1, 0.7, 0.2], 0), 1);
        assert_eq!(predicted(&[0.1, 0.7, 0.2], 1), 1);
        // Ties: with the right class, right (as top-1 counts it); between two wrong ones, the
        // first.
        assert_eq!(predicted(&[0.4, 0.4, 0.2], 1), 1);
        assert_eq!(predicted(&[0.2, 0.4, 0.4], 0), 1);
        // NaN beats nothing and is never given.
        assert_eq!(predicted(&[f32::NAN, 0.3, 0.6], 1), 2);
    }

    #[test]
    fn per_class_accuracy_is_the_diagonal_over_each_row() {
        let a = Accuracy {
            top1: 0.5,
            top5: 1.0,
            clips: 6,
            skipped: 0,
            confusion: vec![vec![2, 1, 0], vec![2, 1, 0], vec![0, 0, 0]],
        };
        assert_eq!(a.per_class(), vec![Some(2.0 / 3.0), Some(1.0 / 3.0), None]);
    }

    #[test]
    fn cosine_schedule_falls_from_lr_to_zero_over_the_run_and_constant_stays() {
        // lr · (1 + cos(π i / 4)) / 2 for i = 0..4, by hand: 1, 0.853553, 0.5, 0.146447, 0.
        let expected = [1e-3, 0.853_553e-3, 0.5e-3, 0.146_447e-3, 0.0];
        let mut cosine = LrSchedule::Cosine
            .scheduler(1e-3, 4)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut constant = LrSchedule::Constant
            .scheduler(1e-3, 4)
            .unwrap_or_else(|e| panic!("{e}"));
        for (i, want) in expected.into_iter().enumerate() {
            let got = cosine.step().base();
            assert!(
                (got - want).abs() <= 1e-9,
                "step {i}: cosine lr {got}, expected {want}"
            );
            let flat = constant.step().base();
            assert!(flat == 1e-3, "step {i}: constant lr {flat}");
        }
    }

    #[test]
    fn a_schedule_refuses_a_learning_rate_it_cannot_use() {
        assert!(LrSchedule::Cosine.scheduler(0.0, 4).is_err());
        assert!(LrSchedule::Cosine.scheduler(2.0, 4).is_err());
    }
}

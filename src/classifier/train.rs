//! Training with burn-train's learner (AdamW, cross-entropy on the averaged logits, the frozen
//! backbone's parameters untouched), and top-1/top-5 evaluation.

use std::path::{Path, PathBuf};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamWConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};

use super::data::{ClipBatch, ClipBatcher, ClipDataset};
use super::model::AmClassifier;
use super::progress::TrainProgress;

impl AmClassifier {
    /// Loss and logits of a batch. Inputs come from [`ClipBatcher`] at the configured size, so
    /// the backbone accepts them; were one refused, its logits are zeros and the error is
    /// reported.
    fn classification(&self, batch: ClipBatch) -> ClassificationOutput {
        let [b, ..] = batch.clips.dims();
        let device = batch.clips.device();
        let logits = self.forward(batch.clips).unwrap_or_else(|e| {
            eprintln!("error: {e}");
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
            "AM-flow classifier on {}: AM blocks {:?} ({:?} flow, {:?} TPM), {} frames, bottleneck {}, {} classes; {}",
            c.backbone.name,
            c.am_blocks,
            c.flow,
            c.tpm,
            c.frames,
            c.bottleneck,
            c.classes.len(),
            self.param_counts()
        )
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Epochs in all (a resumed run continues up to this).
    pub epochs: usize,
    /// Clips per batch.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
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
}

/// The last epoch with a model checkpoint in `artifacts/checkpoint/`.
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

/// Trains `model` on `train`, validating on `valid` after each epoch; returns the trained
/// model.
pub fn train(
    model: AmClassifier,
    train: ClipDataset,
    valid: ClipDataset,
    options: &TrainOptions,
) -> AmClassifier {
    let c = model.config().clone();
    let device = options
        .devices
        .first()
        .cloned()
        .unwrap_or_else(|| model.devices().first().cloned().unwrap_or_default());
    let loader_train = DataLoaderBuilder::new(ClipBatcher::train(c.frames, c.size, options.seed))
        .batch_size(options.batch_size)
        .shuffle(options.seed)
        .num_workers(options.workers)
        .set_device(device.clone())
        .build(train);
    let loader_valid = DataLoaderBuilder::new(ClipBatcher::test(c.frames, c.size, false))
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
        .num_epochs(options.epochs)
        .renderer(Box::new(TrainProgress::new()))
        .summary();
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
    let result = training.launch(Learner::new(model, optimizer, options.learning_rate));
    result.model
}

/// Top-1 and top-5 accuracy over a dataset.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Accuracy {
    /// Fraction of clips whose best class is right.
    pub top1: f64,
    /// Fraction whose right class is among the best five.
    pub top5: f64,
    /// Clips evaluated.
    pub clips: usize,
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
pub fn evaluate(
    model: &AmClassifier,
    data: &ClipDataset,
    batcher: &ClipBatcher,
    batch_size: usize,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<Accuracy, crate::model::InputError> {
    let mut top1 = 0usize;
    let mut top5 = 0usize;
    for chunk in data.items.chunks(batch_size.max(1)) {
        let batch = batcher.batch(chunk.to_vec(), device);
        let probs = clip_probabilities(model, batch.clips, batcher.crops())?;
        let [b, classes] = probs.dims();
        let values = probs.into_data().try_to_vec::<f32>().unwrap_or_default();
        for (row, item) in values.chunks(classes).zip(chunk).take(b) {
            let right = row[item.label];
            let better = row.iter().filter(|&&p| p > right).count();
            top1 += usize::from(better == 0);
            top5 += usize::from(better < 5);
        }
        progress(chunk.len());
    }
    let n = data.items.len().max(1) as f64;
    Ok(Accuracy {
        top1: top1 as f64 / n,
        top5: top5 as f64 / n,
        clips: data.items.len(),
    })
}

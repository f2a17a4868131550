//! `amflow train`, `amflow eval` and `amflow predict`: the AM-flow classifier from the command
//! line.

use super::CliError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::common::load_backbone;
use crate::backend::BackendKind;
use crate::classifier::augment::{Augment, class_swaps};
use crate::classifier::checkpoint::read_config;
use crate::classifier::config::{BackboneId, FORMAT, default_bottleneck};
use crate::classifier::data::{BadClips, ClipBatcher, ClipDataset, DataError, Split};
use crate::classifier::epochs::{EpochPick, last_checkpoint_epoch};
use crate::classifier::prefix::PrefixCache;
use crate::classifier::train::{
    Accuracy, LrSchedule, TrainError, TrainOptions, clip_probabilities, evaluate, train,
};
use crate::classifier::{
    AmClassifier, CheckpointError, ClassifierConfig, FlowKind, FlowNorm, TpmKind, read_blocks,
};
use crate::video::ClipError;

/// Arguments of `amflow train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training data: a folder per class, a root with `train/` and `test/` (as `amflow synth`
    /// writes), or a `path label` list file.
    pub data: PathBuf,
    /// Validation data (by default the root's `test/` or `val/`, or `test.txt` beside a
    /// `train.txt`, else the training data).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// AM blocks, 1-based ("1,12"), `none` (no AM flow), or a selection file from
    /// `amflow blocks`. Default: the first and the last block.
    #[arg(long)]
    pub blocks: Option<String>,
    /// AM flow kind.
    #[arg(long, value_enum, default_value = "vanilla")]
    pub flow: FlowKind,
    /// How the flow is scaled beside the block's tokens in the adapters' input (`raw` is how
    /// checkpoints before this option were trained).
    #[arg(long, value_enum, default_value = "tokens")]
    pub flow_norm: FlowNorm,
    /// The paper's "w/o AM flow" ablation: the same AM blocks and temporal modules, with the
    /// flow left out of the adapters' input (`--blocks none` removes the temporal modules too).
    #[arg(long)]
    pub no_flow_input: bool,
    /// The temporal modules read each frame's adapter bottleneck averaged over G×G cells of the
    /// patch grid (1: over all tokens, as checkpoints before this option were trained).
    #[arg(long, default_value_t = 2, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=8))]
    pub pool_grid: usize,
    /// The first block (1-based) with adapters; the blocks before it are the frozen backbone
    /// alone, computed once per frame and kept in memory (`--prefix-cache-mb`) instead of
    /// every epoch. Default 1: an adapter beside every block, as in the paper. At most the
    /// first AM block.
    #[arg(long, default_value_t = 1)]
    pub adapters_from: usize,
    /// Memory for the frozen prefix of the training and validation frames (with
    /// `--adapters-from` above 1), in MiB; frames past it are computed every time.
    #[arg(long, default_value_t = 2048)]
    pub prefix_cache_mb: usize,
    /// Temporal processing module.
    #[arg(long, value_enum, default_value = "transformer")]
    pub tpm: TpmKind,
    /// Frames per clip.
    #[arg(long, default_value_t = 8)]
    pub frames: usize,
    /// Input side in pixels (a multiple of the patch size).
    #[arg(long, default_value_t = 224, value_parser = super::common::size_parser::<usize>())]
    pub size: usize,
    /// Adapter bottleneck width (default: a quarter of the backbone width, at least 32).
    #[arg(long)]
    pub bottleneck: Option<usize>,
    /// Heads of the aligning encoders (the largest divisor of the width up to this).
    #[arg(long, default_value_t = 12, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub aligner_heads: usize,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Clips per batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// AdamW learning rate (5e-3: the tiny backbone at the other defaults learns the synthetic
    /// motions best there of 1e-3 and 5e-3, README).
    #[arg(long, default_value_t = 5e-3)]
    pub lr: f64,
    /// How the learning rate moves: `constant`, or `cosine` (from `--lr` down to 0 over
    /// `--epochs`; a resumed run keeps its place on the curve, and a resume that changes the
    /// schedule or a cosine run's `--epochs` is refused).
    #[arg(long, value_enum, default_value = "constant")]
    pub schedule: LrSchedule,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.05)]
    pub weight_decay: f32,
    /// Data-loading threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Seed of initialisation, shuffling and frame sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// GPUs to train on with `--backend wgpu` (burn's multi-device training).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// The largest share of clips that may be unreadable: each is skipped and counted (and
    /// listed at the end); past this share the run stops with the list.
    #[arg(long, default_value_t = 0.05, value_parser = share_parser)]
    pub max_bad_share: f64,
    /// Mirror half of the training clips left–right (drawn afresh each time a clip is loaded),
    /// swapping the labels of the class pairs named (`left:right,rotate_cw:rotate_ccw`, which
    /// is right for `amflow synth`'s classes); `--mirror` alone changes no class. Classes not
    /// named keep their label.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "PAIRS")]
    pub mirror: Option<String>,
    /// Play half of the training clips backwards, swapping the labels of the class pairs named
    /// (`left:right,up:down,rotate_cw:rotate_ccw,grow:shrink` for `amflow synth`'s classes).
    /// Classes not named keep their label: only for datasets where each class played backwards
    /// is itself or its named partner.
    #[arg(long, value_name = "PAIRS")]
    pub reverse: Option<String>,
    /// Which epoch's weights to write: `best`, the epoch with the highest validation top-1 (the
    /// earliest of equals), or `last`. Runs keep both epochs' checkpoints in `<out>.train/`, so a
    /// finished run can be written again with the other (`--resume --keep last`).
    #[arg(long, value_enum, default_value = "best")]
    pub keep: EpochPick,
    /// Write the checkpoint's weights in float16 (half the bytes; they load as float32).
    #[arg(long)]
    pub half: bool,
    /// Continue from the last per-epoch checkpoint of an interrupted run with the same `--out`.
    #[arg(long)]
    pub resume: bool,
    /// The checkpoint to write (safetensors); per-epoch checkpoints and logs go to
    /// `<out>.train/`.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// Arguments of `amflow eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Test data: a folder per class, a root with `test/`, or a `path label` list file.
    pub data: PathBuf,
    /// The checkpoint `amflow train` wrote; without it, the embedded demo classifier (the
    /// displacement flow in blocks 6 and 12 of the embedded ViT-S/14 at 112 px, trained on
    /// `amflow synth`'s classes).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Three spatial crops per clip, probabilities averaged.
    #[arg(long)]
    pub three_crop: bool,
    /// Clips per batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// The largest share of clips that may be unreadable: each is skipped and counted (and
    /// listed at the end); past this share the run stops with the list.
    #[arg(long, default_value_t = 0.05, value_parser = share_parser)]
    pub max_bad_share: f64,
    /// Print `{"top1": …, "top5": …, "clips": …, "skipped": …}`.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `amflow predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A clip: video, frame folder, animated GIF/WebP.
    pub clip: PathBuf,
    /// The checkpoint `amflow train` wrote; without it, the embedded demo classifier (the
    /// displacement flow in blocks 6 and 12 of the embedded ViT-S/14 at 112 px, trained on
    /// `amflow synth`'s classes).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Classes to show.
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub top: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--max-bad-share`: a number from 0 to 1.
fn share_parser(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a share from 0 to 1 (0.05 is 5%), found \"{text}\""
        )),
    }
}

/// Prints the unreadable clips, if any, and writes them beside the run's logs.
fn report_bad_clips(bad: &BadClips, logs: Option<&Path>) -> Result<(), CliError> {
    if bad.is_empty() {
        return Ok(());
    }
    eprintln!(
        "warning: {} unreadable clips were skipped:\n{}",
        bad.len(),
        bad.report()
    );
    if let Some(dir) = logs {
        let path = dir.join("unreadable-clips.txt");
        crate::durable::write_atomic(&path, format!("{}\n", bad.report()).as_bytes())
            .map_err(|e| CliError::Config(e.to_string()))?;
        eprintln!("(listed in {})", path.display());
    }
    Ok(())
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{{bar:30}} {{pos}}/{{len}} {what}  {{elapsed}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The validation set for `amflow train`.
fn validation_data(args: &TrainArgs) -> Result<ClipDataset, DataError> {
    if let Some(val) = &args.val {
        return ClipDataset::open(val, Split::Test);
    }
    if args.data.is_file() {
        let sibling = ["test.txt", "val.txt"]
            .iter()
            .map(|n| args.data.with_file_name(n))
            .find(|p| p.is_file() && *p != args.data);
        return ClipDataset::open(sibling.as_deref().unwrap_or(&args.data), Split::Test);
    }
    ClipDataset::open(&args.data, Split::Test)
}

/// Runs `amflow train`.
pub fn run_train(
    args: &TrainArgs,
    backbone: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let devices = backend.open_many(args.devices)?;
    // The model lives on the autodiff flavour of the main device; burn-train runs the steps.
    let device = devices[0].clone().autodiff();
    let (name, model) = load_backbone(backbone, &device)?;
    let layers = model.config().num_hidden_layers;
    if args.flow_norm == FlowNorm::Centred && args.flow != FlowKind::Displacement {
        eprintln!(
            "warning: --flow-norm centred leaves the {} flow at its own scale (the column sums vary by \
             about 1% around 1): it is meant for --flow displacement; --flow-norm tokens scales it",
            args.flow.name()
        );
    }
    let am_blocks = match &args.blocks {
        Some(b) => {
            let arg = read_blocks(b, layers)?;
            if let Some(line) = arg.flow_mismatch(args.flow) {
                eprintln!("warning: {line}");
            }
            arg.blocks
        }
        None => {
            let mut v = vec![1, layers];
            v.dedup();
            v
        }
    };
    let train_data = ClipDataset::open(&args.data, Split::Train)?;
    let valid_data = validation_data(args)?.relabel(&train_data.classes, &args.data)?;
    let width = model.config().hidden_size;
    let config = ClassifierConfig {
        format: FORMAT.to_string(),
        backbone: BackboneId::of(&name, &model),
        am_blocks,
        flow: args.flow,
        tpm: args.tpm,
        frames: args.frames,
        bottleneck: args.bottleneck.unwrap_or(default_bottleneck(width)),
        size: args.size,
        aligner_heads: crate::flow::AligningEncoderConfig::for_width(width, args.aligner_heads)
            .heads,
        flow_norm: args.flow_norm,
        flow_input: !args.no_flow_input,
        pool_grid: args.pool_grid,
        adapters_from: args.adapters_from,
        classes: train_data.classes.clone(),
    };
    config.validate()?;
    let swaps = |option, spec: &Option<String>| {
        spec.as_deref()
            .map(|spec| class_swaps(option, spec, &train_data.classes))
            .transpose()
    };
    let augment = Augment {
        mirror: swaps("mirror", &args.mirror)?,
        reverse: swaps("reverse", &args.reverse)?,
    };
    if args.batch_size == 0 || args.epochs == 0 {
        return Err(CliError::Config(
            "--batch-size and --epochs must be at least 1".into(),
        ));
    }
    let artifacts = train_dir(&args.out);
    let run = RunRecord {
        config: config.clone(),
        data: args.data.clone(),
        val: args.val.clone(),
        batch_size: args.batch_size,
        lr: args.lr,
        cosine_over_epochs: (args.schedule == LrSchedule::Cosine).then_some(args.epochs),
        weight_decay: args.weight_decay,
        seed: args.seed,
        mirror: args.mirror.clone(),
        reverse: args.reverse.clone(),
    };
    let record = artifacts.join("run.json");
    let resume_from = if args.resume {
        let epoch = last_checkpoint_epoch(&artifacts)
            .ok_or_else(|| CliError::NothingToResume(artifacts.clone()))?;
        run.check_resume(&record)?;
        if epoch >= args.epochs {
            println!(
                "the run's checkpoints reach epoch {epoch}, at or past --epochs {}: nothing left to train",
                args.epochs
            );
        }
        Some(epoch)
    } else {
        std::fs::create_dir_all(&artifacts).map_err(|source| CheckpointError::Io {
            path: artifacts.display().to_string(),
            source,
        })?;
        let json = serde_json::to_vec_pretty(&run).map_err(|e| CliError::Config(e.to_string()))?;
        crate::durable::write_atomic(&record, &json)
            .map_err(|e| CliError::Config(e.to_string()))?;
        None
    };
    burn::tensor::Device::seed(&device, args.seed);
    let first_adapted = config.first_adapted();
    let prefix = (first_adapted > 0 && args.prefix_cache_mb > 0).then(|| {
        Arc::new(PrefixCache::new(
            &model,
            first_adapted,
            args.prefix_cache_mb.saturating_mul(1 << 20),
        ))
    });
    let classifier = AmClassifier::new(model, config, &device);
    println!("{}", classifier.describe());
    println!(
        "data: {} training clips, {} validation clips, classes: {}",
        train_data.items.len(),
        valid_data.items.len(),
        train_data.classes.join(", ")
    );
    if let Some(line) = describe_augment(args) {
        println!("{line}");
    }
    let options = TrainOptions {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        schedule: args.schedule,
        weight_decay: args.weight_decay,
        workers: args.workers,
        seed: args.seed,
        artifacts,
        resume_from,
        devices,
        max_bad_share: args.max_bad_share,
        augment,
        prefix: prefix.clone(),
        keep: args.keep,
    };
    let bad = BadClips::default();
    let trained = train(
        classifier,
        train_data,
        valid_data.clone(),
        &options,
        &bad,
        Box::new(super::progress::TrainProgress::new(bad.clone())),
    );
    report_bad_clips(&bad, Some(&options.artifacts))?;
    if let Some(cache) = &prefix {
        println!("{}", cache.stats());
        if let Some(reason) = cache.first_failure() {
            eprintln!(
                "warning: batches went without their frozen prefix (computed in the model instead): {reason}"
            );
        }
    }
    let kept = trained?;
    let trained = kept.model;
    trained.save(&args.out, args.half)?;
    let top1 = kept
        .valid_top1
        .map(|v| format!(", validation top-1 {v:.1}% then"))
        .unwrap_or_default();
    println!(
        "wrote {}: the weights of epoch {} of {}{top1}",
        args.out.display(),
        kept.epoch,
        kept.last
    );
    let batcher = ClipBatcher::test(trained.config().frames, trained.config().size, false);
    let bar = progress(valid_data.items.len(), "clips");
    let accuracy = evaluate(
        &trained,
        &valid_data,
        &batcher,
        args.batch_size,
        &device,
        args.max_bad_share,
        // The validation clips counted afresh: the share is of this set alone.
        &BadClips::default(),
        |n| bar.inc(n as u64),
    )?;
    bar.finish_and_clear();
    print_accuracy(&accuracy, "validation");
    Ok(())
}

/// What a run was started with (`<out>.train/run.json`): a `--resume` must ask for the same,
/// since the per-epoch checkpoints only fit the model and the optimiser they were made by. Only
/// `--epochs` (how far to go; not for a cosine schedule, which anneals over them), `--workers`
/// and the device may change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct RunRecord {
    config: ClassifierConfig,
    data: PathBuf,
    val: Option<PathBuf>,
    batch_size: usize,
    lr: f64,
    /// The epochs a cosine schedule anneals over (`--schedule cosine`); absent for a constant
    /// rate, as in records written before the option. A resume must keep it: the curve, and so
    /// the rate at the resumed step, depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cosine_over_epochs: Option<usize>,
    weight_decay: f32,
    seed: u64,
    /// `--mirror` and `--reverse` as given; absent when off, as in records written before them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mirror: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reverse: Option<String>,
}

impl RunRecord {
    /// Refuses a resume whose settings differ from the run's record, naming what differs.
    fn check_resume(&self, record: &Path) -> Result<(), CliError> {
        let mismatch = |what: String| CliError::ResumeMismatch {
            record: record.to_path_buf(),
            what,
        };
        let text = std::fs::read(record)
            .map_err(|e| mismatch(format!("the run's record cannot be read ({e})")))?;
        let earlier: RunRecord = serde_json::from_slice(&text)
            .map_err(|e| mismatch(format!("the run's record is not readable ({e})")))?;
        let now = serde_json::to_value(self).unwrap_or_default();
        let then = serde_json::to_value(&earlier).unwrap_or_default();
        // Every key of either side: a setting left out when off (a constant rate, no
        // augmentation) differs from the same setting on.
        let differs: Vec<String> = match (now.as_object(), then.as_object()) {
            (Some(now), Some(then)) => now
                .keys()
                .chain(then.keys().filter(|k| !now.contains_key(*k)))
                .filter(|k| now.get(*k) != then.get(*k))
                .map(|k| {
                    let value =
                        |side: &serde_json::Map<_, _>| side.get(k).cloned().unwrap_or_default();
                    format!("{k}: {} then, {} now", value(then), value(now))
                })
                .collect(),
            _ => vec!["the record".into()],
        };
        if differs.is_empty() {
            Ok(())
        } else {
            Err(mismatch(differs.join("; ")))
        }
    }
}

/// The line `train` prints about `--mirror` and `--reverse`, when either is on.
fn describe_augment(args: &TrainArgs) -> Option<String> {
    let part = |what: &str, spec: &Option<String>| {
        spec.as_deref().map(|s| match s.trim() {
            "" => format!("{what} (no class changes)"),
            pairs => format!("{what} (classes swapped: {pairs})"),
        })
    };
    let parts: Vec<String> = [
        part("mirrored", &args.mirror),
        part("played backwards", &args.reverse),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "augmentation: half of the training clips {}",
            parts.join(", half ")
        )
    })
}

/// `<out>.train/` beside the checkpoint.
fn train_dir(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".train");
    out.with_file_name(name)
}

fn print_accuracy(a: &Accuracy, what: &str) {
    let skipped = match a.skipped {
        0 => String::new(),
        n => format!(", {n} unreadable skipped"),
    };
    println!(
        "{what}: top-1 {:.1}%  top-5 {:.1}%  ({} clips{skipped})",
        100.0 * a.top1,
        100.0 * a.top5,
        a.clips
    );
}

/// The checkpoint (`--checkpoint`, or the embedded demo classifier) and its backbone
/// (`--backbone` or the embedded one).
fn load_classifier(
    checkpoint: Option<&Path>,
    backbone: Option<&PathBuf>,
    device: &burn::tensor::Device,
) -> Result<AmClassifier, CliError> {
    let (bytes, label) = super::common::checkpoint_bytes(checkpoint)?;
    // Read the configuration first: a bad checkpoint is reported before loading any backbone.
    read_config(&bytes, &label)?;
    let (name, model) = load_backbone(backbone, device)?;
    Ok(AmClassifier::from_checkpoint_bytes(
        bytes, &label, model, &name, device,
    )?)
}

/// Runs `amflow eval`.
pub fn run_eval(
    args: &EvalArgs,
    backbone: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let device = backend.open()?;
    let model = load_classifier(args.checkpoint.as_deref(), backbone, &device)?;
    let c = model.config();
    let data = ClipDataset::open(&args.data, Split::Test)?.relabel(&c.classes, &args.data)?;
    let batcher = ClipBatcher::test(c.frames, c.size, args.three_crop);
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        progress(data.items.len(), "clips")
    };
    let bad = BadClips::default();
    let accuracy = evaluate(
        &model,
        &data,
        &batcher,
        args.batch_size,
        &device,
        args.max_bad_share,
        &bad,
        |n| bar.inc(n as u64),
    );
    bar.finish_and_clear();
    report_bad_clips(&bad, None)?;
    let accuracy = accuracy?;
    if args.json {
        println!("{}", serde_json::to_string(&accuracy).unwrap_or_default());
    } else {
        print_accuracy(&accuracy, &args.data.display().to_string());
        print_confusion(&accuracy, &model.config().classes);
    }
    Ok(())
}

/// Each class's top-1 and the confusion matrix: a row per true class, a column per class given.
fn print_confusion(a: &Accuracy, classes: &[String]) {
    let width = classes
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("per class (rows: the clips' class; columns: the class given):");
    let heads: String = (0..classes.len())
        .map(|j| format!("{:>4}", j + 1))
        .collect();
    println!("  {:>2} {:<width$} {:>6} {heads}", "", "class", "top-1");
    for (i, (class, share)) in classes.iter().zip(a.per_class()).enumerate() {
        let share = share.map_or("–".to_string(), |v| format!("{:.0}%", 100.0 * v));
        let cells: String = a.confusion[i]
            .iter()
            .enumerate()
            .map(|(j, &n)| match n {
                0 if j != i => format!("{:>4}", "."),
                n => format!("{n:>4}"),
            })
            .collect();
        println!("  {:>2} {class:<width$} {share:>6} {cells}", i + 1);
    }
}

/// Runs `amflow predict`.
pub fn run_predict(
    args: &PredictArgs,
    backbone: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let device = backend.open()?;
    let model = load_classifier(args.checkpoint.as_deref(), backbone, &device)?;
    let c = model.config().clone();
    // The test-time sampling and preprocessing `eval` uses: middle frames, centre crop.
    let crops = ClipBatcher::test(c.frames, c.size, false).load(&args.clip)?;
    let pixels = crops
        .into_iter()
        .next()
        .ok_or(ClipError::NothingToPreprocess("predict"))?; // [T, 3, S, S]
    let pixels = burn::tensor::Tensor::<4>::from_data(pixels, &device).unsqueeze::<5>();
    let probs = clip_probabilities(&model, pixels, 1)?;
    let values = probs
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| TrainError::Readback(format!("{e:?}")))?;
    let mut ranked: Vec<(usize, f32)> = values.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(args.top.max(1));
    if args.json {
        let rows: Vec<_> = ranked
            .iter()
            .map(|&(i, p)| serde_json::json!({"class": c.classes[i], "probability": p}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for (i, p) in ranked {
            let bar = "█".repeat((p * 30.0).round() as usize);
            println!("{:>6.1}%  {:<20} {bar}", 100.0 * p, c.classes[i]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use crate::classifier::epochs::EpochPick;

    /// `amflow train DATA --out OUT` with `extra` before `--out`, parsed as the command line is.
    fn parse(extra: &[&str]) -> super::TrainArgs {
        let args = [
            &["amflow", "train", "data"][..],
            extra,
            &["--out", "m.safetensors"],
        ]
        .concat();
        match Cli::try_parse_from(args).expect("parses").command {
            Some(Command::Train(args)) => args,
            other => panic!("not train: {other:?}"),
        }
    }

    #[test]
    fn train_writes_the_best_epoch_unless_told_otherwise() {
        assert_eq!(parse(&[]).keep, EpochPick::Best);
        assert_eq!(parse(&["--keep", "last"]).keep, EpochPick::Last);
        assert_eq!(
            parse(&[]).bottleneck,
            None,
            "the width decides the bottleneck"
        );
    }
}

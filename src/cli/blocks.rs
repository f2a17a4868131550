//! `amflow blocks`: ranks the blocks of the backbone by how well their AM flow marks what
//! moves, over a clip or a whole dataset, and proposes the AM blocks (see
//! [`crate::maps::ranking`] for the score). With `--labels` the dataset's classes rank them
//! instead: a linear probe per block on its pooled flow, cross-validated over the clips
//! ([`crate::maps::probe`]). `--flow displacement` scores the displacement flow
//! ([`crate::flow::displacement`]) instead of the vanilla one: its vectors' lengths against the
//! pixels' motion, and the vectors themselves for the probe.

use super::CliError;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::common::{load_backbone, write_atomic};
use super::maps::join;
use crate::analysis::{PairAnalysis, PairDisplacement};
use crate::backend::BackendKind;
use crate::classifier::data::{ClipDataset, Split};
use crate::maps::probe::{self, ProbeScore};
use crate::maps::ranking::BlockScore;
use crate::maps::ranking::Ranking;
use crate::maps::selection::{FORMAT, Selection};
use crate::maps::{Grid, MapFlow, PatchFlow};
use crate::video::discover::find_clips;
use crate::video::sampling::{SegmentPick, uniform_segments};
use crate::video::{Clip, ClipError};

/// Arguments of `amflow blocks`.
#[derive(Debug, clap::Args)]
pub struct BlocksArgs {
    /// A clip (video, frame folder, GIF/WebP), a dataset folder (clips at any depth, e.g. one
    /// folder per class), or a list file of `path label` lines (mmaction2 style).
    pub path: PathBuf,
    /// Frame pairs per clip, spread evenly over it.
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub pairs: usize,
    /// Pairs are (t, t + offset).
    #[arg(long, short = 'k', default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub offset: usize,
    /// Short side of the backbone's input.
    #[arg(long, default_value_t = 224, value_parser = super::common::size_parser::<u32>())]
    pub size: u32,
    /// The AM flow to rank the blocks by: `vanilla` (the paper's) or `displacement` (the flow
    /// `amflow train --flow displacement` feeds the adapters).
    #[arg(long, value_enum, default_value_t = MapFlow::Vanilla)]
    pub flow: MapFlow,
    /// How many blocks to propose.
    #[arg(long, default_value_t = 2, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub top: usize,
    /// At most this many clips of a dataset, spread over it.
    #[arg(long, default_value_t = 50)]
    pub max_clips: usize,
    /// PATH is labelled (a folder per class, a root with `train/` as `amflow synth` writes, or a
    /// `path label` list): rank the blocks by how well a linear probe reads the class from each
    /// block's flow (cross-validated top-1), and propose the best.
    #[arg(long)]
    pub labels: bool,
    /// With `--labels`: clips per class, spread over each class.
    #[arg(long, default_value_t = 8, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    pub per_class: usize,
    /// With `--labels`: cross-validation folds (each class needs at least this many clips).
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..))]
    pub folds: usize,
    /// With `--labels`: the probe reads each pair's flow averaged over G×G cells of the patch
    /// grid.
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub probe_grid: usize,
    /// Print the selection as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the selection file (JSON) that training reads.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// `n` items spread evenly over `items`.
fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    (0..n)
        .map(|i| items[(2 * i + 1) * items.len() / (2 * n)].clone())
        .collect()
}

/// Scores the pairs of one clip into `ranking`; returns every block's probe features for the
/// clip (`[blocks][pairs · G · G · heads]`, the pairs in time order, always `--pairs` of them).
fn score_clip(
    clip: &Clip,
    args: &BlocksArgs,
    backbone: &crate::model::Dinov2,
    device: &burn::tensor::Device,
    ranking: &mut Ranking,
) -> Result<Vec<Vec<f32>>, CliError> {
    let frames = clip.info().frames;
    if frames <= args.offset {
        return Err(ClipError::Sampling(format!(
            "{}: {frames} frames, too short for pairs {} frames apart",
            clip.info().name,
            args.offset
        ))
        .into());
    }
    let mut rng = StdRng::seed_from_u64(0);
    let starts = uniform_segments(
        frames - args.offset,
        args.pairs,
        SegmentPick::Middle,
        &mut rng,
    )?;
    let mut starts_unique = starts.clone();
    starts_unique.dedup();
    let wanted: Vec<usize> = starts_unique
        .iter()
        .flat_map(|&t| [t, t + args.offset])
        .collect();
    let decoded = clip.frames(&wanted)?;
    let mut pooled: Vec<Vec<Vec<f32>>> = Vec::with_capacity(starts_unique.len());
    for pair in decoded.chunks_exact(2) {
        let (grid, blocks, scores) = pair_flows(args, backbone, [&pair[0], &pair[1]], device)?;
        ranking.add(&scores);
        if args.labels {
            pooled.push(
                blocks
                    .iter()
                    .map(|flow| match args.flow {
                        MapFlow::Vanilla => probe::pooled_flow(flow, grid, args.probe_grid),
                        MapFlow::Displacement => probe::cell_means(flow, grid, args.probe_grid),
                    })
                    .collect(),
            );
        }
    }
    if !args.labels {
        return Ok(Vec::new());
    }
    // A short clip repeats a start: its pair's features stand in each place it was sampled.
    let blocks = pooled.first().map_or(0, Vec::len);
    Ok((0..blocks)
        .map(|b| {
            starts
                .iter()
                .filter_map(|t| starts_unique.iter().position(|u| u == t))
                .flat_map(|i| pooled[i][b].iter().copied())
                .collect()
        })
        .collect())
}

/// One pair's patch grid, every block's flow of the kind `--flow` names at the patch tokens,
/// and every block's score on it.
fn pair_flows(
    args: &BlocksArgs,
    backbone: &crate::model::Dinov2,
    pair: [&crate::video::Frame; 2],
    device: &burn::tensor::Device,
) -> Result<(Grid, Vec<PatchFlow>, Vec<BlockScore>), CliError> {
    Ok(match args.flow {
        MapFlow::Vanilla => {
            let a = crate::engine::block_on(PairAnalysis::run(backbone, pair, args.size, device))?;
            (a.grid, a.blocks, a.scores)
        }
        MapFlow::Displacement => {
            let d =
                crate::engine::block_on(PairDisplacement::run(backbone, pair, args.size, device))?;
            (d.grid, d.blocks, d.scores)
        }
    })
}

/// `per_class` clips of each class, spread over the class: `(path, label)`.
fn labelled_clips(data: &ClipDataset, per_class: usize) -> Vec<(PathBuf, usize)> {
    (0..data.classes.len())
        .flat_map(|label| {
            let paths: Vec<PathBuf> = data
                .items
                .iter()
                .filter(|item| item.label == label)
                .map(|item| item.path.clone())
                .collect();
            spread(&paths, per_class)
                .into_iter()
                .map(move |p| (p, label))
        })
        .collect()
}

/// Runs `amflow blocks`.
pub fn run(
    args: &BlocksArgs,
    backbone_dir: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let device = backend.open()?;
    let (all, clips, classes): (Vec<PathBuf>, Vec<(PathBuf, usize)>, usize) = if args.labels {
        let data = ClipDataset::open(&args.path, Split::Train)?;
        let clips = labelled_clips(&data, args.per_class);
        let all = data.items.into_iter().map(|item| item.path).collect();
        (all, clips, data.classes.len())
    } else {
        let all = find_clips(&args.path)?;
        let clips = spread(&all, args.max_clips.max(1))
            .into_iter()
            .map(|p| (p, 0))
            .collect();
        (all, clips, 0)
    };
    let (name, backbone) = load_backbone(backbone_dir, &device)?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(clips.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} clips  {elapsed}  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut ranking = Ranking::default();
    let (mut scored, mut skipped, mut first_error) = (0usize, 0usize, None);
    // Probe rows: `features[block][clip]`, and the clips' labels.
    let (mut features, mut labels): (Vec<Vec<Vec<f32>>>, Vec<usize>) = (Vec::new(), Vec::new());
    for (path, label) in &clips {
        bar.set_message(path.display().to_string());
        let result = Clip::open(path)
            .map_err(CliError::from)
            .and_then(|clip| score_clip(&clip, args, &backbone, &device, &mut ranking));
        match result {
            Ok(rows) => {
                scored += 1;
                if args.labels {
                    features.resize_with(rows.len(), Vec::new);
                    for (block, row) in features.iter_mut().zip(rows) {
                        block.push(row);
                    }
                    labels.push(*label);
                }
            }
            Err(e) => {
                bar.suspend(|| eprintln!("skipped: {e}"));
                skipped += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if scored == 0 {
        return Err(CliError::NothingScored {
            path: args.path.clone(),
            skipped,
            first: first_error.unwrap_or_else(|| "no clips found".into()),
        });
    }
    let probe = if args.labels {
        let mut scores = Vec::with_capacity(features.len());
        for (b, rows) in features.iter().enumerate() {
            scores.push(ProbeScore {
                block: b + 1,
                accuracy: probe::cross_validated_accuracy(rows, &labels, classes, args.folds)?,
            });
        }
        Some(scores)
    } else {
        None
    };
    let selection = Selection {
        format: FORMAT.into(),
        backbone: name.clone(),
        blocks: match &probe {
            Some(scores) => probe::propose(scores, args.top),
            None => ranking.proposed(args.top),
        },
        offset: args.offset,
        pairs: ranking.pairs(),
        clips: scored,
        flow: args.flow,
        scores: ranking.means(),
        probe,
    };
    if args.json {
        println!("{}", selection.to_json());
    } else {
        println!(
            "{} pairs from {scored} clips ({} found{}), backbone {name}, {} flow, on {backend}",
            selection.pairs,
            all.len(),
            if skipped > 0 {
                format!(", {skipped} skipped")
            } else {
                String::new()
            },
            args.flow
        );
        let probe = selection.probe.as_deref().unwrap_or_default();
        if probe.is_empty() {
            println!("block   score  correlation  concentration");
        } else {
            println!(
                "block   score  correlation  concentration  probe top-1 ({}-fold, {} classes, chance {:.1}%)",
                args.folds,
                classes,
                100.0 / classes.max(1) as f32
            );
        }
        for s in &selection.scores {
            let mark = if selection.blocks.contains(&s.block) {
                "*"
            } else {
                " "
            };
            let (probe_text, strength) = match probe.iter().find(|p| p.block == s.block) {
                Some(p) => (format!("  {:>6.1}%     ", 100.0 * p.accuracy), p.accuracy),
                None => (String::new(), s.score),
            };
            let bar = "█".repeat((strength.max(0.0) * 30.0).round() as usize);
            println!(
                "{mark}{:>4}  {:+.3}       {:+.3}          {:.3}{probe_text}  {bar}",
                s.block, s.score, s.correlation, s.concentration
            );
        }
        println!(
            "proposed AM blocks{}: {}  (AM/{}({}))",
            if probe.is_empty() {
                ""
            } else {
                " (by the probe)"
            },
            join(&selection.blocks),
            selection.blocks.len(),
            join(&selection.blocks)
        );
    }
    if let Some(out) = &args.out {
        write_atomic(out, selection.to_json().as_bytes())?;
        if !args.json {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

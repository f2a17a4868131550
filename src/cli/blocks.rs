//! `amflow blocks`: ranks the blocks of the backbone by how well their AM flow marks what
//! moves, over a clip or a whole dataset, and proposes the AM blocks (see
//! [`crate::maps::ranking`] for the score).

use super::CliError;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::common::{load_backbone, write_atomic};
use super::maps::join;
use crate::analysis::PairAnalysis;
use crate::backend::BackendKind;
use crate::maps::ranking::Ranking;
use crate::maps::selection::{FORMAT, Selection};
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
    /// How many blocks to propose.
    #[arg(long, default_value_t = 2, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub top: usize,
    /// At most this many clips of a dataset, spread over it.
    #[arg(long, default_value_t = 50)]
    pub max_clips: usize,
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

/// Scores the pairs of one clip into `ranking`; returns how many pairs it added.
fn score_clip(
    clip: &Clip,
    args: &BlocksArgs,
    backbone: &crate::model::Dinov2,
    device: &burn::tensor::Device,
    ranking: &mut Ranking,
) -> Result<usize, CliError> {
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
    for pair in decoded.chunks_exact(2) {
        let analysis = crate::engine::block_on(PairAnalysis::run(
            backbone,
            [&pair[0], &pair[1]],
            args.size,
            device,
        ))?;
        ranking.add(&analysis.scores);
    }
    Ok(starts_unique.len())
}

/// Runs `amflow blocks`.
pub fn run(
    args: &BlocksArgs,
    backbone_dir: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let device = backend.open()?;
    let all = find_clips(&args.path)?;
    let clips = spread(&all, args.max_clips.max(1));
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
    for path in &clips {
        bar.set_message(path.display().to_string());
        let result = Clip::open(path)
            .map_err(CliError::from)
            .and_then(|clip| score_clip(&clip, args, &backbone, &device, &mut ranking));
        match result {
            Ok(_) => scored += 1,
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
    let selection = Selection {
        format: FORMAT.into(),
        backbone: name.clone(),
        blocks: ranking.proposed(args.top),
        offset: args.offset,
        pairs: ranking.pairs(),
        clips: scored,
        scores: ranking.means(),
    };
    if args.json {
        println!("{}", selection.to_json());
    } else {
        println!(
            "{} pairs from {scored} clips ({} found{}), backbone {name}, on {backend}",
            selection.pairs,
            all.len(),
            if skipped > 0 {
                format!(", {skipped} skipped")
            } else {
                String::new()
            }
        );
        println!("block   score  correlation  concentration");
        for s in &selection.scores {
            let bar = "█".repeat((s.score.max(0.0) * 30.0).round() as usize);
            let mark = if selection.blocks.contains(&s.block) {
                "*"
            } else {
                " "
            };
            println!(
                "{mark}{:>4}  {:+.3}       {:+.3}          {:.3}  {bar}",
                s.block, s.score, s.correlation, s.concentration
            );
        }
        println!(
            "proposed AM blocks: {}  (AM/{}({}))",
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

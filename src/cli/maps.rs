//! `amflow maps`: the Figure-5 grid of a frame pair (both frames, then every block's AM-flow
//! map with its number and score), and a JSON dump of every block's flow for exact comparison
//! with other implementations. `--flow displacement` maps the displacement flow instead
//! (`--view direction`: where each patch's content moved, as colour).

use super::CliError;
use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use super::common::{WriteError, load_backbone, open_clip, write_atomic, write_png};
use crate::analysis::{PairAnalysis, PairData, PairDisplacement};
use crate::backend::BackendKind;
use crate::flow::FrameCache;
use crate::maps::ranking::propose;
use crate::maps::{BasisKind, MapFlow, View};
use crate::video::sampling::pair;
use crate::video::{Clip, demo_clip};

/// Arguments of `amflow maps`.
#[derive(Debug, clap::Args)]
pub struct MapsArgs {
    /// A video file, a folder of frames, an animated GIF/WebP, or two images (frame t, frame
    /// t+1); the embedded demo clip (people walking, vtest.avi) when left out.
    #[arg(num_args = 0..=2)]
    pub clip: Vec<PathBuf>,
    /// The first frame of the pair, 0-based.
    #[arg(long, short = 't', default_value_t = 0)]
    pub frame: usize,
    /// Every pair from `--frame` to this first frame (one figure each, numbered `OUT-tNNNN.png`),
    /// each frame through the backbone once.
    #[arg(long)]
    pub to: Option<usize>,
    /// The pair is (t, t + offset).
    #[arg(long, short = 'k', default_value_t = 1)]
    pub offset: usize,
    /// Short side of the backbone's input in pixels (the long side keeps the aspect, cut to
    /// whole patches).
    #[arg(long, default_value_t = 224, value_parser = super::common::size_parser::<u32>())]
    pub size: u32,
    /// Where the Figure-5 grid (PNG) goes.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// The AM flow to map: `vanilla` (the paper's) or `displacement` (where each patch's content
    /// came from, a vector per head).
    #[arg(long, value_enum, default_value_t = MapFlow::Vanilla)]
    pub flow: MapFlow,
    /// What the maps show.
    #[arg(long, value_enum, default_value = "pca")]
    pub view: ViewArg,
    /// One PCA basis per block (as the paper) or one shared by all blocks.
    #[arg(long, value_enum, default_value = "block")]
    pub basis: BasisArg,
    /// Maps per row of the grid.
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub columns: usize,
    /// Normalised pixels of a pair, float32 `[2, 3, H, W]` in a .npy file, instead of a clip.
    #[arg(long, conflicts_with = "clip")]
    pub pixels: Option<PathBuf>,
    /// Writes every block's vanilla flow and column sums (all tokens, CLS first) as JSON.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

/// `--view`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ViewArg {
    /// Top three principal components as RGB.
    Pca,
    /// Per-patch flow magnitude as a heat map.
    Magnitude,
    /// Which way each patch's content moved, as a hue, and how far, as brightness (the heads'
    /// mean vector; `--flow displacement` only).
    Direction,
}

/// `--basis`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BasisArg {
    /// One basis per block.
    Block,
    /// One basis for all blocks.
    Shared,
}

/// One block in the dump.
#[derive(Serialize)]
struct DumpBlock {
    block: usize,
    vanilla_flow: Vec<Vec<f32>>,
    colsum: Vec<Vec<Vec<f32>>>,
}

#[derive(Serialize)]
struct Dump {
    backbone: String,
    heads: usize,
    tokens: usize,
    blocks: Vec<DumpBlock>,
}

fn dump(path: &Path, backbone: &str, data: &PairData) -> Result<(), CliError> {
    // JSON has no NaN: serde_json would write each as `null`, a dump that reads as numbers
    // missing rather than a model that failed.
    for (i, (v, c)) in data.vanilla.iter().zip(&data.colsum).enumerate() {
        if v.iter().chain(c).any(|x| !x.is_finite()) {
            return Err(CliError::NotFinite { block: i + 1 });
        }
    }
    let (h, n) = (data.heads, data.tokens);
    let rows = |v: &[f32]| v.chunks(n.max(1)).map(<[f32]>::to_vec).collect::<Vec<_>>();
    let blocks = data
        .vanilla
        .iter()
        .zip(&data.colsum)
        .enumerate()
        .map(|(i, (v, c))| DumpBlock {
            block: i + 1,
            vanilla_flow: rows(v),
            colsum: c.chunks((h * n).max(1)).map(rows).collect(),
        })
        .collect();
    let dump = Dump {
        backbone: backbone.to_string(),
        heads: h,
        tokens: n,
        blocks,
    };
    let json = serde_json::to_vec(&dump).map_err(|e| WriteError {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(path, &json)?;
    println!(
        "wrote {} ({} blocks, {h} heads, {n} tokens)",
        path.display(),
        data.vanilla.len()
    );
    Ok(())
}

/// Reads float32 `[2, 3, H, W]` pixels from a .npy file.
fn read_pixels(path: &Path) -> Result<(Vec<f32>, [usize; 4]), CliError> {
    let problem = |problem: String| CliError::Pixels {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| problem(format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(problem(
            "the array is in Fortran order; save it C-contiguous".into(),
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let [2, 3, h, w] = shape[..] else {
        return Err(problem(format!("shape {shape:?}, expected [2, 3, H, W]")));
    };
    let values = npy
        .into_vec::<f32>()
        .map_err(|e| problem(format!("not float32 values: {e}")))?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(problem(format!(
            "value {i} is {}: the pixels must be finite",
            values[i]
        )));
    }
    Ok((values, [2, 3, h, w]))
}

/// Runs `amflow maps`.
pub fn run(
    args: &MapsArgs,
    backbone_dir: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    if args.flow == MapFlow::Displacement && (args.pixels.is_some() || args.dump.is_some()) {
        return Err(CliError::Config(
            "--pixels and --dump read the vanilla flow and column sums; leave out --flow displacement"
                .into(),
        ));
    }
    if matches!(args.view, ViewArg::Direction) && args.flow != MapFlow::Displacement {
        return Err(CliError::Config(
            "--view direction colours a vector flow's directions: give --flow displacement".into(),
        ));
    }
    let device = backend.open()?;
    if let Some(path) = &args.pixels {
        let (values, shape) = read_pixels(path)?;
        let (name, backbone) = load_backbone(backbone_dir, &device)?;
        let pixels = Tensor::<4>::from_data(TensorData::new(values, shape), &device);
        let data = crate::engine::block_on(PairData::compute(&backbone, pixels))?;
        if let Some(out) = &args.dump {
            dump(out, &name, &data)?;
        } else {
            println!(
                "{} blocks computed; give --dump OUT.json to write them",
                data.vanilla.len()
            );
        }
        return Ok(());
    }
    let clip = if args.clip.is_empty() {
        Clip::Memory(demo_clip()?)
    } else {
        open_clip(&args.clip)?
    };
    let info = clip.info();
    let last = args.to.unwrap_or(args.frame);
    if last < args.frame {
        return Err(CliError::Config(format!(
            "--to {last} comes before --frame {}",
            args.frame
        )));
    }
    // Every pair of the range must exist before any work starts.
    pair(info.frames, last, args.offset)?;
    let (name, backbone) = load_backbone(backbone_dir, &device)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("fig5.png"));
    let range = last > args.frame;
    // Consecutive pairs of a range share frames: each frame goes through the backbone once.
    let mut cache = FrameCache::new(args.offset + 1);
    for t in args.frame..=last {
        let [t, u] = pair(info.frames, t, args.offset)?;
        let frames = clip.frames(&[t, u])?;
        let view = match args.view {
            ViewArg::Pca => View::Pca,
            ViewArg::Magnitude => View::Magnitude,
            ViewArg::Direction => View::Direction,
        };
        let basis = match args.basis {
            BasisArg::Block => BasisKind::PerBlock,
            BasisArg::Shared => BasisKind::Shared,
        };
        let labels = [
            format!("frame t = {t}"),
            format!("frame t+{} = {u}", args.offset),
        ];
        let start = web_time::Instant::now();
        let (seen, scores, elapsed, figure) = match args.flow {
            MapFlow::Vanilla => {
                let analysis = crate::engine::block_on(PairAnalysis::run_cached(
                    &backbone,
                    [&frames[0], &frames[1]],
                    args.size,
                    &device,
                    &mut cache,
                ))?;
                let elapsed = start.elapsed();
                if let Some(dump_path) = &args.dump {
                    let path = if range {
                        numbered(dump_path, t)
                    } else {
                        dump_path.clone()
                    };
                    dump(&path, &name, &analysis.data)?;
                }
                let figure = analysis.figure(view, basis, labels, args.columns);
                (
                    analysis.frames[0].dimensions(),
                    analysis.scores,
                    elapsed,
                    figure,
                )
            }
            MapFlow::Displacement => {
                let pair = [&frames[0], &frames[1]];
                // A range keeps each frame's pass for the next pair; a single pair is faster
                // as one pass of both frames together (BENCHMARKS.md).
                let pair = if range {
                    crate::engine::block_on(PairDisplacement::run_cached(
                        &backbone, pair, args.size, &device, &mut cache,
                    ))?
                } else {
                    crate::engine::block_on(PairDisplacement::run(
                        &backbone, pair, args.size, &device,
                    ))?
                };
                let elapsed = start.elapsed();
                let figure = pair.figure(view, basis, labels, args.columns);
                (pair.frames[0].dimensions(), pair.scores, elapsed, figure)
            }
        };
        println!(
            "{}: frames {t} and {u} ({:.2} s and {:.2} s) at {}×{}, {} blocks of {name}, {} flow, in {:.2} s on {backend}",
            info.name,
            info.timestamps[t],
            info.timestamps[u],
            seen.0,
            seen.1,
            scores.len(),
            args.flow,
            elapsed.as_secs_f64()
        );
        for s in &scores {
            println!(
                "  block {:>2}  score {:+.3}  (correlation with pixel motion {:+.3}, concentration {:.3})",
                s.block, s.score, s.correlation, s.concentration
            );
        }
        let best = propose(&scores, 2);
        println!("proposed AM blocks for this pair: {}", join(&best));
        let path = if range {
            numbered(&out, t)
        } else {
            out.clone()
        };
        write_png(&path, &figure)?;
        println!(
            "wrote {} ({}×{})",
            path.display(),
            figure.width(),
            figure.height()
        );
    }
    if range {
        let (reused, passes) = cache.counts();
        println!(
            "{} pairs: {passes} frames through the backbone, {reused} reused",
            last - args.frame + 1
        );
    }
    Ok(())
}

/// `fig5.png` for pair `t` of a range: `fig5-t0012.png`.
fn numbered(path: &Path, t: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-t{t:04}.{}", ext.to_string_lossy()),
        None => format!("{stem}-t{t:04}"),
    };
    path.with_file_name(name)
}

/// `1,12`.
pub fn join(blocks: &[usize]) -> String {
    blocks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

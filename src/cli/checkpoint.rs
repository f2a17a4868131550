//! `amflow checkpoint`: what a classifier checkpoint holds, and its float16 copy.

use std::path::PathBuf;

use super::CliError;
use crate::classifier::CheckpointError;
use crate::classifier::checkpoint::{read_config, to_half, weight_dtype};

/// Arguments of `amflow checkpoint`.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// A checkpoint `amflow train` wrote.
    pub checkpoint: PathBuf,
    /// Write a copy with the weights in float16 (half the bytes; loads as float32) to `--out`.
    #[arg(long, requires = "out")]
    pub half: bool,
    /// Where `--half` writes its copy (written atomically; an existing file is replaced).
    #[arg(long, short = 'o', requires = "half")]
    pub out: Option<PathBuf>,
    /// Print the configuration as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `amflow checkpoint`.
pub fn run(args: &CheckpointArgs) -> Result<(), CliError> {
    let label = args.checkpoint.display().to_string();
    let bytes = std::fs::read(&args.checkpoint).map_err(|source| CheckpointError::Io {
        path: label.clone(),
        source,
    })?;
    let config = read_config(&bytes, &label)?;
    let dtype = weight_dtype(&bytes, &label)?;
    if args.json {
        let json = serde_json::json!({"config": config, "weights": dtype, "bytes": bytes.len()});
        println!("{json}");
    } else {
        println!(
            "{label}: {} bytes, weights {dtype}; trained on {}; AM blocks {:?} ({:?} flow, {:?} TPM), {} frames at {} px, pool grid {}, flow input {}, adapters from block {}; classes: {}",
            bytes.len(),
            config.backbone.name,
            config.am_blocks,
            config.flow,
            config.tpm,
            config.frames,
            config.size,
            config.pool_grid,
            if config.flow_input { "yes" } else { "no" },
            config.adapters_from,
            config.classes.join(", ")
        );
    }
    if let (true, Some(out)) = (args.half, &args.out) {
        let half = to_half(&bytes, &label)?;
        crate::durable::write_atomic(out, &half).map_err(|e| CheckpointError::Io {
            path: out.display().to_string(),
            source: e.source,
        })?;
        if !args.json {
            println!("wrote {} ({} bytes, float16)", out.display(), half.len());
        }
    }
    Ok(())
}

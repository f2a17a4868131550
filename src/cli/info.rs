//! `amflow info`: load a backbone, print what it is, and time one forward pass.

use super::CliError;
use std::path::PathBuf;

use burn::tensor::Tensor;

use crate::backend::BackendKind;
use crate::model::Capture;

/// Arguments of `amflow info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Input side in pixels for the timed forward pass (a multiple of the patch size).
    #[arg(long, default_value_t = 224, value_parser = super::common::size_parser::<usize>())]
    pub size: usize,
    /// Images in the batch.
    #[arg(long, default_value_t = 2)]
    pub batch: usize,
}

/// Runs `amflow info`.
pub fn run(
    args: &InfoArgs,
    backbone: Option<&PathBuf>,
    backend: BackendKind,
) -> Result<(), CliError> {
    let device = backend.open()?;
    let start = web_time::Instant::now();
    let (name, model) = super::common::load_backbone(backbone, &device)?;
    let c = model.config();
    println!("backbone   {name}");
    println!(
        "size       {} blocks, width {}, {} heads of {}, MLP {}, patch {}, {} registers",
        c.num_hidden_layers,
        c.hidden_size,
        c.num_attention_heads,
        c.head_dim(),
        c.mlp_hidden(),
        c.patch_size,
        c.num_register_tokens
    );
    println!("parameters {} (frozen)", c.num_params());
    println!("backend    {backend}");
    println!("loaded in  {:.2} s", start.elapsed().as_secs_f64());

    let pixels = Tensor::<4>::zeros([args.batch, c.num_channels, args.size, args.size], &device);
    model.check_input(pixels.dims())?;
    let grid = args.size / c.patch_size;
    for run in ["first", "second"] {
        let start = web_time::Instant::now();
        let out = model.forward_with(pixels.clone(), Capture::logits())?;
        let sum: f32 = out
            .pooler
            .sum()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| CliError::Readback(format!("{e:?}")))?
            .first()
            .copied()
            .unwrap_or(f32::NAN);
        println!(
            "forward    {} × {}×{} ({}×{} patches, {} tokens): {:.3} s ({run} run; pooler sum {sum:.4})",
            args.batch,
            args.size,
            args.size,
            grid,
            grid,
            c.tokens(grid * grid),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

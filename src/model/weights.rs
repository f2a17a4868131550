//! Hugging Face `model.safetensors` → our DINOv2 modules.
//!
//! The checkpoint's own names are the source of truth. The table, with `{i}` a 0-based block:
//!
//! | Hugging Face name                                        | ours                              |
//! | -------------------------------------------------------- | --------------------------------- |
//! | `embeddings.cls_token` `[1, 1, D]`                       | `embeddings.cls`                  |
//! | `embeddings.register_tokens` `[1, R, D]` (registers only)| `embeddings.registers`            |
//! | `embeddings.position_embeddings` `[1, 1 + G², D]`        | `embeddings.position`             |
//! | `embeddings.patch_embeddings.projection.weight` `[D, C, p, p]` | `embeddings.patch.proj` (as `[C·p·p, D]`) |
//! | `embeddings.patch_embeddings.projection.bias` `[D]`      | `embeddings.patch.proj.bias`      |
//! | `encoder.layer.{i}.norm1.{weight,bias}` `[D]`            | `blocks[i].norm1.{gamma,beta}`    |
//! | `encoder.layer.{i}.attention.attention.{query,key,value}.{weight,bias}` | `blocks[i].attn.{query,key,value}` |
//! | `encoder.layer.{i}.attention.output.dense.{weight,bias}` | `blocks[i].attn.out`              |
//! | `encoder.layer.{i}.layer_scale1.lambda1` `[D]`           | `blocks[i].ls1`                   |
//! | `encoder.layer.{i}.norm2.{weight,bias}`                  | `blocks[i].norm2`                 |
//! | `encoder.layer.{i}.mlp.fc1.{weight,bias}` `[M, D]`       | `blocks[i].ffn` (`Mlp::fc1`)      |
//! | `encoder.layer.{i}.mlp.fc2.{weight,bias}` `[D, M]`       | `blocks[i].ffn` (`Mlp::fc2`)      |
//! | `encoder.layer.{i}.mlp.weights_in.{weight,bias}` `[2M, D]` (SwiGLU) | `blocks[i].ffn` (`SwiGlu::w_in`) |
//! | `encoder.layer.{i}.mlp.weights_out.{weight,bias}` `[D, M]` (SwiGLU) | `blocks[i].ffn` (`SwiGlu::w_out`) |
//! | `encoder.layer.{i}.layer_scale2.lambda1` `[D]`           | `blocks[i].ls2`                   |
//! | `layernorm.{weight,bias}` `[D]`                          | `layernorm`                       |
//!
//! PyTorch's `nn.Linear` stores `[out, in]`; burn's `Linear` multiplies by `[in, out]`, so linear
//! weights are transposed on load. `embeddings.mask_token` is not used. Checkpoints saved from a
//! task model (`Dinov2ForImageClassification`) prefix every name with `dinov2.`; the prefix is
//! recognised. F16 and BF16 tensors are widened to f32.
//!
//! Every tensor's shape is checked against the one `config.json` implies before anything is
//! built, so a wrong file is an error naming the tensor, never a panic inside a layer.

use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use super::config::{Activation, Dinov2Config};
use super::dinov2::{Attention, Block, Dinov2, Embeddings, Ffn, Mlp, PatchEmbed, SwiGlu};
use super::error::{BackboneError, WeightsProblem};

/// The tensors of one safetensors file, read through Hugging Face names.
pub struct Checkpoint<'a> {
    tensors: SafeTensors<'a>,
    prefix: &'static str,
}

impl<'a> Checkpoint<'a> {
    /// Parses and validates the container (header, offsets within the buffer).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WeightsProblem> {
        let tensors = SafeTensors::deserialize(bytes).map_err(WeightsProblem::Container)?;
        let prefixed = tensors
            .names()
            .iter()
            .any(|n| n.starts_with("dinov2.embeddings."));
        let prefix = if prefixed { "dinov2." } else { "" };
        Ok(Self { tensors, prefix })
    }

    /// The tensor `name` widened to f32, after checking that its shape is `expected`.
    pub fn read(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, WeightsProblem> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .tensors
            .tensor(&full)
            .map_err(|_| WeightsProblem::Missing(full.clone()))?;
        if view.shape() != expected {
            return Err(WeightsProblem::Shape {
                name: full,
                found: view.shape().to_vec(),
                expected: expected.to_vec(),
            });
        }
        let bytes = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => widen::f32_le(bytes),
            Dtype::F16 => widen::f16_le(bytes),
            Dtype::BF16 => widen::bf16_le(bytes),
            other => {
                return Err(WeightsProblem::Dtype {
                    name: full,
                    dtype: format!("{other:?}"),
                });
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(WeightsProblem::NotFinite(full));
        }
        Ok(values)
    }

    /// A tensor of rank `D` on `device`.
    fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, WeightsProblem> {
        let values = self.read(name, &shape)?;
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// The tensor `name` of shape `shape` viewed as a matrix `[shape[0], rest]` and transposed
    /// on the host into a contiguous `[rest, shape[0]]` tensor. (A `transpose()` of the tensor
    /// would be a strided view, and the CPU backend copies such a view into a contiguous matrix
    /// at every product it enters: for ViT-S at 112 px that copying took more time than the
    /// products.)
    fn transposed(
        &self,
        name: &str,
        shape: &[usize],
        device: &Device,
    ) -> Result<Tensor<2>, WeightsProblem> {
        let values = self.read(name, shape)?;
        let rows = shape.first().copied().unwrap_or(1);
        let cols = shape.iter().skip(1).product::<usize>();
        let mut t = vec![0f32; values.len()];
        for (r, row) in values.chunks_exact(cols.max(1)).enumerate() {
            for (c, v) in row.iter().enumerate() {
                t[c * rows + r] = *v;
            }
        }
        Ok(Tensor::from_data(TensorData::new(t, [cols, rows]), device))
    }

    fn param<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Param<Tensor<D>>, WeightsProblem> {
        Ok(Param::from_tensor(self.tensor(name, shape, device)?))
    }

    /// A PyTorch `nn.Linear` (`{name}.weight` `[out, in]`, `{name}.bias` `[out]`) as a burn
    /// `Linear` (`[in, out]`).
    fn linear(
        &self,
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Result<Linear, WeightsProblem> {
        let weight = self.transposed(&format!("{name}.weight"), &[d_out, d_in], device)?;
        let bias = if bias {
            Some(self.param(&format!("{name}.bias"), [d_out], device)?)
        } else {
            None
        };
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    fn layer_norm(
        &self,
        name: &str,
        d: usize,
        eps: f64,
        device: &Device,
    ) -> Result<LayerNorm, WeightsProblem> {
        let mut norm = LayerNormConfig::new(d).with_epsilon(eps).init(device);
        norm.gamma = self.param(&format!("{name}.weight"), [d], device)?;
        norm.beta = Some(self.param(&format!("{name}.bias"), [d], device)?);
        Ok(norm)
    }
}

/// Builds the backbone from a checkpoint, checking every tensor against `config` (already
/// validated, which resolved its `activation`).
pub fn load_dinov2(
    config: &Dinov2Config,
    activation: Activation,
    ckpt: &Checkpoint<'_>,
    device: &Device,
) -> Result<Dinov2, WeightsProblem> {
    let embeddings = load_embeddings(config, ckpt, device)?;
    let blocks = (0..config.num_hidden_layers)
        .map(|i| load_block(config, activation, ckpt, i, device))
        .collect::<Result<Vec<_>, _>>()?;
    assemble(config, embeddings, blocks, ckpt, device)
}

/// The backbone from its loaded parts and the final layer norm (`layernorm.*`).
fn assemble(
    config: &Dinov2Config,
    embeddings: Embeddings,
    blocks: Vec<Block>,
    ckpt: &Checkpoint<'_>,
    device: &Device,
) -> Result<Dinov2, WeightsProblem> {
    let layernorm = ckpt.layer_norm(
        "layernorm",
        config.hidden_size,
        config.layer_norm_eps,
        device,
    )?;
    Ok(Dinov2::from_parts(
        config.clone(),
        embeddings,
        blocks,
        layernorm,
    ))
}

/// Patch embedding, CLS and register tokens, position embeddings (`embeddings.*`).
fn load_embeddings(
    config: &Dinov2Config,
    ckpt: &Checkpoint<'_>,
    device: &Device,
) -> Result<Embeddings, WeightsProblem> {
    let d = config.hidden_size;
    let c = config.num_channels;
    let p = config.patch_size;
    let g = config.pretrained_grid();
    // [D, C, p, p] read as [D, C·p·p] (the same bytes) and transposed to [C·p·p, D].
    let proj_weight = ckpt.transposed(
        "embeddings.patch_embeddings.projection.weight",
        &[d, c, p, p],
        device,
    )?;
    let patch = PatchEmbed {
        // [D, C, p, p] → [D, C·p·p] → [C·p·p, D]: a patch flattened channel-major, then row,
        // then column, times this matrix is the stride-p convolution.
        proj: Linear {
            weight: Param::from_tensor(proj_weight),
            bias: Some(ckpt.param("embeddings.patch_embeddings.projection.bias", [d], device)?),
        },
        patch_size: p,
        channels: c,
    };
    let registers = match config.num_register_tokens {
        0 => None,
        r => Some(ckpt.param("embeddings.register_tokens", [1, r, d], device)?),
    };
    Ok(Embeddings {
        cls: ckpt.param("embeddings.cls_token", [1, 1, d], device)?,
        registers,
        position: ckpt.param("embeddings.position_embeddings", [1, 1 + g * g, d], device)?,
        patch,
        grid: g,
    })
}

/// Transformer block `i` (`encoder.layer.{i}.*`).
fn load_block(
    config: &Dinov2Config,
    activation: Activation,
    ckpt: &Checkpoint<'_>,
    i: usize,
    device: &Device,
) -> Result<Block, WeightsProblem> {
    let d = config.hidden_size;
    let m = config.mlp_hidden();
    let eps = config.layer_norm_eps;
    let name = |s: &str| format!("encoder.layer.{i}.{s}");
    let attn = Attention {
        query: ckpt.linear(
            &name("attention.attention.query"),
            d,
            d,
            config.qkv_bias,
            device,
        )?,
        key: ckpt.linear(
            &name("attention.attention.key"),
            d,
            d,
            config.qkv_bias,
            device,
        )?,
        value: ckpt.linear(
            &name("attention.attention.value"),
            d,
            d,
            config.qkv_bias,
            device,
        )?,
        out: ckpt.linear(&name("attention.output.dense"), d, d, true, device)?,
        heads: config.num_attention_heads,
    };
    let ffn = if config.use_swiglu_ffn {
        Ffn::SwiGlu(SwiGlu {
            w_in: ckpt.linear(&name("mlp.weights_in"), d, 2 * m, true, device)?,
            w_out: ckpt.linear(&name("mlp.weights_out"), m, d, true, device)?,
        })
    } else {
        Ffn::Mlp(Mlp {
            fc1: ckpt.linear(&name("mlp.fc1"), d, m, true, device)?,
            fc2: ckpt.linear(&name("mlp.fc2"), m, d, true, device)?,
            activation,
        })
    };
    Ok(Block {
        norm1: ckpt.layer_norm(&name("norm1"), d, eps, device)?,
        attn,
        ls1: ckpt.param(&name("layer_scale1.lambda1"), [d], device)?,
        norm2: ckpt.layer_norm(&name("norm2"), d, eps, device)?,
        ffn,
        ls2: ckpt.param(&name("layer_scale2.lambda1"), [d], device)?,
    })
}

/// Little-endian safetensors bytes to f32, in bulk: one copy (`bytemuck`) and, for half
/// precision, `half`'s slice conversion (SIMD where the CPU has it). Element-by-element
/// `from_le_bytes` loops were the slowest part of loading ViT-S (most of a second in the
/// development build), which also blocked the web page. The page's workers read the frames'
/// signals they hand each other with the same functions (`engine::helper`).
pub(crate) mod widen {
    use half::slice::HalfFloatSliceExt;

    /// `bytes` holds whole little-endian f32 values (safetensors checks the length).
    pub fn f32_le(bytes: &[u8]) -> Vec<f32> {
        let mut out: Vec<f32> = bytemuck::pod_collect_to_vec(bytes);
        if cfg!(target_endian = "big") {
            out.iter_mut()
                .for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
        }
        out
    }

    pub fn f16_le(bytes: &[u8]) -> Vec<f32> {
        let mut halves: Vec<half::f16> = bytemuck::pod_collect_to_vec(bytes);
        if cfg!(target_endian = "big") {
            halves
                .iter_mut()
                .for_each(|v| *v = half::f16::from_bits(u16::from_le(v.to_bits())));
        }
        halves.to_f32_vec()
    }

    pub fn bf16_le(bytes: &[u8]) -> Vec<f32> {
        let mut halves: Vec<half::bf16> = bytemuck::pod_collect_to_vec(bytes);
        if cfg!(target_endian = "big") {
            halves
                .iter_mut()
                .for_each(|v| *v = half::bf16::from_bits(u16::from_le(v.to_bits())));
        }
        halves.to_f32_vec()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn widening_matches_from_le_bytes() {
            let values = [0.0f32, -1.5, 3.25e-3, 65504.0, -7.0e-8];
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(super::f32_le(&bytes), values);
            let halves: Vec<u8> = values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect();
            let expected: Vec<f32> = values
                .iter()
                .map(|v| half::f16::from_f32(*v).to_f32())
                .collect();
            assert_eq!(super::f16_le(&halves), expected);
            let brains: Vec<u8> = values
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect();
            let expected: Vec<f32> = values
                .iter()
                .map(|v| half::bf16::from_f32(*v).to_f32())
                .collect();
            assert_eq!(super::bf16_le(&brains), expected);
        }
    }
}

/// Loading: the checkpoint's files into a [`Dinov2`] (here rather than beside the modules, so
/// that the modules never reach for their loader).
impl Dinov2 {
    /// Loads `config.json` text and `model.safetensors` bytes; `source` names where they came
    /// from in error messages (a folder, a URL, "embedded").
    pub fn from_bytes(
        config_json: &str,
        weights: &[u8],
        source: &str,
        device: &Device,
    ) -> Result<Self, BackboneError> {
        let parts = Parts::parse(config_json, weights, source)?;
        load_dinov2(&parts.config, parts.activation, &parts.ckpt, device)
            .map_err(|problem| parts.weights_error(problem))
    }

    /// Loads a Hugging Face model folder holding `config.json` and `model.safetensors`.
    ///
    /// The configuration is read and validated first, so a bad `config.json` is reported
    /// without reading the weights.
    pub fn load_dir(dir: impl AsRef<Path>, device: &Device) -> Result<Self, BackboneError> {
        let dir = dir.as_ref();
        let read_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| BackboneError::Io { path, source }
        };
        let config_path = dir.join("config.json");
        let config_json = std::fs::read_to_string(&config_path).map_err(read_err(&config_path))?;
        Dinov2Config::from_json(&config_json).map_err(|problem| BackboneError::Config {
            path: config_path.display().to_string(),
            problem,
        })?;
        let weights_path = dir.join("model.safetensors");
        let weights = std::fs::read(&weights_path).map_err(read_err(&weights_path))?;
        Self::from_bytes(&config_json, &weights, &dir.display().to_string(), device)
    }
}

/// A backbone's configuration and checkpoint, parsed and checked, before any tensor is made.
struct Parts<'a> {
    config: Dinov2Config,
    activation: Activation,
    ckpt: Checkpoint<'a>,
    weights_path: String,
}

impl<'a> Parts<'a> {
    fn parse(config_json: &str, weights: &'a [u8], source: &str) -> Result<Self, BackboneError> {
        let config_path = format!("{source}/config.json");
        let weights_path = format!("{source}/model.safetensors");
        let config =
            Dinov2Config::from_json(config_json).map_err(|problem| BackboneError::Config {
                path: config_path.clone(),
                problem,
            })?;
        let activation = config
            .activation()
            .map_err(|problem| BackboneError::Config {
                path: config_path,
                problem,
            })?;
        let ckpt = Checkpoint::parse(weights).map_err(|problem| BackboneError::Weights {
            path: weights_path.clone(),
            problem,
        })?;
        Ok(Self {
            config,
            activation,
            ckpt,
            weights_path,
        })
    }

    fn weights_error(&self, problem: WeightsProblem) -> BackboneError {
        BackboneError::Weights {
            path: self.weights_path.clone(),
            problem,
        }
    }
}

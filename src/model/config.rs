//! The backbone's configuration, read from a Hugging Face `config.json`.
//!
//! Field names and defaults follow `transformers.Dinov2Config` (and
//! `Dinov2WithRegistersConfig` for `num_register_tokens`), so any DINOv2 checkpoint's own
//! `config.json` reads as it is. Every size the model uses comes from here, never from a
//! constant. Hugging Face ignores `intermediate_size` for DINOv2: the MLP width is
//! `hidden_size * mlp_ratio` (and, for the SwiGLU MLP of ViT-g, `(⌊2/3 · width⌋ + 7) / 8 · 8`).
//!
//! [`Dinov2Config::validate`] rejects configurations no real checkpoint has (a width of 10⁹,
//! heads that do not divide the width, ...) before anything is allocated.

use serde::{Deserialize, Serialize};

use super::error::ConfigProblem;

/// Limits on sizes, far above DINOv2-giant (width 1536, 40 blocks, 24 heads, 37×37 grid), that
/// keep a corrupt or hostile `config.json` from making the loader allocate gigabytes.
pub mod limits {
    /// Largest accepted `hidden_size`.
    pub const MAX_HIDDEN: usize = 8192;
    /// Largest accepted `num_hidden_layers`.
    pub const MAX_LAYERS: usize = 128;
    /// Largest accepted `num_attention_heads`.
    pub const MAX_HEADS: usize = 256;
    /// Largest accepted `mlp_ratio`.
    pub const MAX_MLP_RATIO: f64 = 16.0;
    /// Largest accepted `image_size` (pretraining resolution) in pixels.
    pub const MAX_IMAGE: usize = 4096;
    /// Largest accepted `patch_size` in pixels.
    pub const MAX_PATCH: usize = 64;
    /// Largest accepted `num_register_tokens`.
    pub const MAX_REGISTERS: usize = 64;
    /// Largest accepted `num_channels`.
    pub const MAX_CHANNELS: usize = 16;
}

/// A DINOv2 configuration as Hugging Face writes it (`config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dinov2Config {
    /// `dinov2` or `dinov2_with_registers`; absent in some hand-written configs.
    pub model_type: Option<String>,
    /// Model width `D`.
    pub hidden_size: usize,
    /// Number of transformer blocks `L`.
    pub num_hidden_layers: usize,
    /// Attention heads `H` per block; `D / H` is the head width.
    pub num_attention_heads: usize,
    /// MLP width as a multiple of `D`.
    pub mlp_ratio: f64,
    /// The MLP's activation (`gelu` is the exact erf form).
    pub hidden_act: String,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
    /// Pretraining resolution: the position embeddings cover `(image_size / patch_size)²` patches.
    pub image_size: usize,
    /// Side of a square patch in pixels.
    pub patch_size: usize,
    /// Input channels (3 for RGB).
    pub num_channels: usize,
    /// Whether query, key and value projections have a bias.
    pub qkv_bias: bool,
    /// SwiGLU MLP (ViT-g) instead of fc1 → GELU → fc2.
    pub use_swiglu_ffn: bool,
    /// Register tokens between CLS and the patches (`Dinov2WithRegisters`).
    pub num_register_tokens: usize,
}

impl Default for Dinov2Config {
    /// `transformers.Dinov2Config()`'s defaults.
    fn default() -> Self {
        Self {
            model_type: None,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            mlp_ratio: 4.0,
            hidden_act: "gelu".into(),
            layer_norm_eps: 1e-6,
            image_size: 224,
            patch_size: 14,
            num_channels: 3,
            qkv_bias: true,
            use_swiglu_ffn: false,
            num_register_tokens: 0,
        }
    }
}

/// The MLP activations Hugging Face's `ACT2FN` names that DINOv2 checkpoints use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x · Φ(x)` with the exact normal CDF (`gelu`).
    Gelu,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    /// `max(x, 0)`.
    Relu,
    /// `x · σ(x)` (`silu`, `swish`).
    Silu,
}

impl Dinov2Config {
    /// Parses `config.json` text and validates it.
    pub fn from_json(text: &str) -> Result<Self, ConfigProblem> {
        let mut json = serde_json::Deserializer::from_str(text);
        let config: Self = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let field = e.path().to_string();
            ConfigProblem::Json {
                field,
                source: e.into_inner(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that the sizes describe a model that can exist, before anything is allocated.
    pub fn validate(&self) -> Result<(), ConfigProblem> {
        use limits::*;
        if let Some(kind) = &self.model_type
            && kind != "dinov2"
            && kind != "dinov2_with_registers"
        {
            return Err(ConfigProblem::NotDinov2(kind.clone()));
        }
        let check = |name: &'static str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(ConfigProblem::OutOfRange {
                    name,
                    value: value as f64,
                    max: max as f64,
                })
            } else {
                Ok(())
            }
        };
        check("hidden_size", self.hidden_size, MAX_HIDDEN)?;
        check("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS)?;
        check("num_attention_heads", self.num_attention_heads, MAX_HEADS)?;
        check("image_size", self.image_size, MAX_IMAGE)?;
        check("patch_size", self.patch_size, MAX_PATCH)?;
        check("num_channels", self.num_channels, MAX_CHANNELS)?;
        if self.num_register_tokens > MAX_REGISTERS {
            return Err(ConfigProblem::OutOfRange {
                name: "num_register_tokens",
                value: self.num_register_tokens as f64,
                max: MAX_REGISTERS as f64,
            });
        }
        if !(self.mlp_ratio > 0.0 && self.mlp_ratio <= MAX_MLP_RATIO) {
            return Err(ConfigProblem::OutOfRange {
                name: "mlp_ratio",
                value: self.mlp_ratio,
                max: MAX_MLP_RATIO,
            });
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps < 1.0) {
            return Err(ConfigProblem::BadEpsilon(self.layer_norm_eps));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(ConfigProblem::HeadsDoNotDivide {
                hidden_size: self.hidden_size,
                heads: self.num_attention_heads,
            });
        }
        if self.image_size < self.patch_size {
            return Err(ConfigProblem::ImageSmallerThanPatch {
                image_size: self.image_size,
                patch_size: self.patch_size,
            });
        }
        self.activation()?;
        Ok(())
    }

    /// The MLP activation named by `hidden_act`.
    pub fn activation(&self) -> Result<Activation, ConfigProblem> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            "silu" | "swish" => Ok(Activation::Silu),
            other => Err(ConfigProblem::UnknownActivation(other.to_string())),
        }
    }

    /// Width of one attention head, `D / H`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Side of the pretraining patch grid the position embeddings cover (37 for 518 / 14).
    pub fn pretrained_grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Hidden width of the MLP: `int(D · mlp_ratio)`, and for SwiGLU the Hugging Face rounding
    /// `(int(width · 2 / 3) + 7) // 8 * 8` (the width of each of the two gated halves).
    pub fn mlp_hidden(&self) -> usize {
        let width = (self.hidden_size as f64 * self.mlp_ratio) as usize;
        if self.use_swiglu_ffn {
            (width * 2 / 3).div_ceil(8) * 8
        } else {
            width
        }
    }

    /// Tokens per image for an input grid of `patches` patches: CLS, registers, patches.
    pub fn tokens(&self, patches: usize) -> usize {
        1 + self.num_register_tokens + patches
    }

    /// Number of parameters the configuration implies (used to reject a checkpoint before
    /// loading it, and to report sizes).
    pub fn num_params(&self) -> usize {
        let d = self.hidden_size;
        let p = self.patch_size;
        let grid = self.pretrained_grid();
        let h = self.mlp_hidden();
        let qkv_bias = if self.qkv_bias { 3 * d } else { 0 };
        let mlp = if self.use_swiglu_ffn {
            (d * 2 * h + 2 * h) + (h * d + d)
        } else {
            (d * h + h) + (h * d + d)
        };
        let block = 2 * 2 * d // norms
            + 3 * d * d + qkv_bias // q, k, v
            + d * d + d // output projection
            + 2 * d // layer scales
            + mlp;
        let embeddings = d // cls
            + self.num_register_tokens * d
            + (grid * grid + 1) * d // position embeddings
            + d * self.num_channels * p * p + d; // patch projection
        embeddings + self.num_hidden_layers * block + 2 * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_huggingface_defaults() {
        let c = Dinov2Config::from_json("{}").unwrap();
        assert_eq!(
            (c.hidden_size, c.num_hidden_layers, c.num_attention_heads),
            (768, 12, 12)
        );
        assert_eq!(c.head_dim(), 64);
        assert_eq!(c.mlp_hidden(), 3072);
    }

    #[test]
    fn swiglu_width_matches_huggingface_rounding() {
        // ViT-g/14: 1536 · 4 = 6144 → int(6144 · 2 / 3) = 4096 → 4096.
        let c = Dinov2Config {
            hidden_size: 1536,
            num_attention_heads: 24,
            use_swiglu_ffn: true,
            ..Default::default()
        };
        assert_eq!(c.mlp_hidden(), 4096);
    }

    #[test]
    fn dinov2_small_has_22m_parameters() {
        let c = Dinov2Config {
            hidden_size: 384,
            num_attention_heads: 6,
            image_size: 518,
            ..Default::default()
        };
        // 22,056,576 in model.safetensors, of which 384 are the unused mask token.
        assert_eq!(c.num_params(), 22_056_576 - 384);
    }
}

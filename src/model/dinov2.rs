//! The frozen DINOv2 ViT backbone, numerically the same as Hugging Face's `Dinov2Model`, with
//! every block's attention logits exposed.
//!
//! For pixels `x ∈ ℝ^{B×C×H×W}` (normalised; `H`, `W` multiples of the patch size `p`):
//!
//! ```text
//! z₀ = [cls ‖ registers ‖ patches(x) · W_p + b_p] + pos      pos bicubically resampled to the
//!                                                            (H/p)×(W/p) grid; registers get
//!                                                            no position embedding
//! for block i:  h  = LN₁(z)
//!               X_A = Q Kᵀ / √d_head,  Q = h W_q, K = h W_k  (the attention logits, [B,H,N,N])
//!               z' = z + λ₁ ⊙ (softmax(X_A) V) W_o
//!               z  = z' + λ₂ ⊙ MLP(LN₂(z'))                  MLP = fc2(act(fc1)) or SwiGLU
//! last_hidden_state = LN(z_L),  pooler = last_hidden_state[:, 0]
//! ```
//!
//! `N = 1 + R + (H/p)(W/p)` tokens, CLS first, then `R` registers, then patches row by row.
//! The attention path computes the logits explicitly (no fused attention), since AM flow reads
//! them. The backbone is frozen: its parameters never require gradients, yet gradients flow
//! through it to its inputs and to whatever is added beside it.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::activation::{gelu_approximate, relu, silu};
use burn::tensor::{Tensor, TensorData};

use super::config::{Activation, Dinov2Config};
use super::error::InputError;
use super::interpolate::bicubic_matrix;
use crate::cpu::gelu::gelu;
use crate::cpu::softmax::softmax_last;

/// Non-overlapping `p×p` patches projected to the model width: the stride-`p` convolution of
/// Hugging Face's `Dinov2PatchEmbeddings`, written as one matrix product.
#[derive(Module, Debug)]
pub(crate) struct PatchEmbed {
    /// `[C·p·p, D]`.
    pub proj: Linear,
    pub patch_size: usize,
    pub channels: usize,
}

impl PatchEmbed {
    /// `[B, C, H, W]` → `[B, (H/p)·(W/p), D]`, patches in row-major order.
    fn forward(&self, pixels: Tensor<4>) -> Tensor<3> {
        let [b, c, h, w] = pixels.dims();
        let p = self.patch_size;
        let (gh, gw) = (h / p, w / p);
        let patches = pixels
            .reshape([b, c, gh, p, gw, p]) // [B, C, gh, p, gw, p]
            .permute([0, 2, 4, 1, 3, 5]) // [B, gh, gw, C, p, p]
            .reshape([b, gh * gw, c * p * p]); // [B, P, C·p·p]
        self.proj.forward(patches) // [B, P, D]
    }
}

/// CLS token, register tokens, patch embedding and the position embeddings.
#[derive(Module, Debug)]
pub(crate) struct Embeddings {
    /// `[1, 1, D]`.
    pub cls: Param<Tensor<3>>,
    /// `[1, R, D]` for `Dinov2WithRegisters`.
    pub registers: Option<Param<Tensor<3>>>,
    /// `[1, 1 + G², D]`: CLS position, then the `G×G` pretraining grid.
    pub position: Param<Tensor<3>>,
    pub patch: PatchEmbed,
    /// `G`, the side of the pretraining grid.
    pub grid: usize,
}

impl Embeddings {
    /// Position embeddings for a `gh×gw` grid: `[1, 1 + gh·gw, D]`.
    fn position_for(&self, gh: usize, gw: usize) -> Tensor<3> {
        let position = self.position.val(); // [1, 1 + G², D]
        let g = self.grid;
        if gh == g && gw == g {
            return position;
        }
        let [_, _, d] = position.dims();
        let device = position.device();
        let cls = position.clone().slice([0..1, 0..1, 0..d]); // [1, 1, D]
        let grid = position
            .slice([0..1, 1..1 + g * g, 0..d])
            .reshape([g, g * d]); // [G, G·D]
        let w_h = Tensor::<2>::from_data(TensorData::new(bicubic_matrix(g, gh), [gh, g]), &device);
        let w_w = Tensor::<2>::from_data(TensorData::new(bicubic_matrix(g, gw), [gw, g]), &device);
        let rows = w_h.matmul(grid).reshape([gh, g, d]); // [gh, G, D]
        let cols = rows.swap_dims(0, 1).reshape([g, gh * d]); // [G, gh·D]
        let resampled = w_w
            .matmul(cols) // [gw, gh·D]
            .reshape([gw, gh, d])
            .swap_dims(0, 1) // [gh, gw, D]
            .reshape([1, gh * gw, d]);
        Tensor::cat(vec![cls, resampled], 1) // [1, 1 + gh·gw, D]
    }

    /// `[B, C, H, W]` → `[B, N, D]` with `N = 1 + R + (H/p)(W/p)`.
    fn forward(&self, pixels: Tensor<4>) -> Tensor<3> {
        let [b, _, h, w] = pixels.dims();
        let p = self.patch.patch_size;
        let patches = self.patch.forward(pixels); // [B, P, D]
        let [_, _, d] = patches.dims();
        let cls = self.cls.val().expand([b, 1, d]); // [B, 1, D]
        let tokens = Tensor::cat(vec![cls, patches], 1) + self.position_for(h / p, w / p);
        match &self.registers {
            None => tokens,
            Some(registers) => {
                let [_, r, _] = registers.dims();
                let [_, n, _] = tokens.dims();
                Tensor::cat(
                    vec![
                        tokens.clone().slice([0..b, 0..1, 0..d]),
                        registers.val().expand([b, r, d]),
                        tokens.slice([0..b, 1..n, 0..d]),
                    ],
                    1,
                )
            }
        }
    }
}

/// Multi-head self-attention that keeps its logits.
#[derive(Module, Debug)]
pub struct Attention {
    pub(crate) query: Linear,
    pub(crate) key: Linear,
    pub(crate) value: Linear,
    pub(crate) out: Linear,
    pub(crate) heads: usize,
}

/// What one attention layer computed.
#[derive(Debug, Clone)]
pub struct AttentionOutput {
    /// Attention output after the output projection, `[B, N, D]`.
    pub out: Tensor<3>,
    /// `X_A = Q Kᵀ / √d_head`, `[B, H, N, N]`.
    pub logits: Tensor<4>,
    /// `softmax(X_A)` over keys, `[B, H, N, N]`.
    pub probs: Tensor<4>,
    /// The queries `Q` split into heads, `[B, H, N, d_head]`.
    pub query: Tensor<4>,
    /// The keys `K` split into heads, `[B, H, N, d_head]`.
    pub key: Tensor<4>,
}

impl Attention {
    /// `[B, N, D]` → `[B, N, H, d]` → `[B, H, N, d]`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, n, d] = x.dims();
        x.reshape([b, n, self.heads, d / self.heads])
            .swap_dims(1, 2)
    }

    /// Self-attention of the normalised tokens `h` `[B, N, D]`.
    pub fn forward(&self, h: Tensor<3>) -> AttentionOutput {
        let [b, n, d] = h.dims();
        let head_dim = d / self.heads;
        let q = self.split_heads(self.query.forward(h.clone())); // [B, H, N, d]
        let k = self.split_heads(self.key.forward(h.clone())); // [B, H, N, d]
        let v = self.split_heads(self.value.forward(h)); // [B, H, N, d]
        let logits = q.clone().matmul(k.clone().swap_dims(2, 3)) / (head_dim as f64).sqrt(); // [B, H, N, N]
        let probs = softmax_last(logits.clone()); // [B, H, N, N]
        let context = probs
            .clone()
            .matmul(v) // [B, H, N, d]
            .swap_dims(1, 2) // [B, N, H, d]
            .reshape([b, n, d]);
        AttentionOutput {
            out: self.out.forward(context),
            logits,
            probs,
            query: q,
            key: k,
        }
    }
}

/// fc1 → activation → fc2.
#[derive(Module, Debug)]
pub(crate) struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    #[module(skip)]
    pub activation: Activation,
}

/// `weights_out(silu(x₁) ⊙ x₂)` with `[x₁ ‖ x₂] = weights_in(x)` (ViT-g).
#[derive(Module, Debug)]
pub(crate) struct SwiGlu {
    pub w_in: Linear,
    pub w_out: Linear,
}

/// The block's feed-forward part.
#[derive(Module, Debug)]
pub(crate) enum Ffn {
    Mlp(Mlp),
    SwiGlu(SwiGlu),
}

impl Ffn {
    pub(crate) fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Ffn::Mlp(mlp) => {
                let hidden = mlp.fc1.forward(x); // [B, N, M]
                let hidden = match mlp.activation {
                    Activation::Gelu => gelu(hidden),
                    Activation::GeluTanh => gelu_approximate(hidden),
                    Activation::Relu => relu(hidden),
                    Activation::Silu => silu(hidden),
                };
                mlp.fc2.forward(hidden) // [B, N, D]
            }
            Ffn::SwiGlu(swiglu) => {
                let hidden = swiglu.w_in.forward(x); // [B, N, 2M]
                let [b, n, m2] = hidden.dims();
                let m = m2 / 2;
                let x1 = hidden.clone().slice([0..b, 0..n, 0..m]);
                let x2 = hidden.slice([0..b, 0..n, m..m2]);
                swiglu.w_out.forward(silu(x1) * x2) // [B, N, D]
            }
        }
    }
}

/// One transformer block.
#[derive(Module, Debug)]
pub struct Block {
    pub(crate) norm1: LayerNorm,
    pub(crate) attn: Attention,
    /// Layer scale λ₁ `[D]`.
    pub(crate) ls1: Param<Tensor<1>>,
    pub(crate) norm2: LayerNorm,
    pub(crate) ffn: Ffn,
    /// Layer scale λ₂ `[D]`.
    pub(crate) ls2: Param<Tensor<1>>,
}

/// What one block computed.
#[derive(Debug, Clone)]
pub struct BlockOutput {
    /// Tokens leaving the block, `[B, N, D]`.
    pub tokens: Tensor<3>,
    /// The block's attention logits `Q Kᵀ / √d_head`, `[B, H, N, N]`.
    pub logits: Tensor<4>,
    /// The block's attention probabilities, `[B, H, N, N]`.
    pub probs: Tensor<4>,
    /// The block's queries split into heads, `[B, H, N, d_head]`.
    pub query: Tensor<4>,
    /// The block's keys split into heads, `[B, H, N, d_head]`.
    pub key: Tensor<4>,
}

/// Layer scale `λ ⊙ x` over the channels.
pub(crate) fn scale(x: Tensor<3>, lambda: &Param<Tensor<1>>) -> Tensor<3> {
    x * lambda.val().unsqueeze::<3>() // [B, N, D] ⊙ [1, 1, D]
}

impl Block {
    /// `[B, N, D]` → `[B, N, D]`, keeping the attention logits, probabilities, queries and keys.
    pub fn forward(&self, z: Tensor<3>) -> BlockOutput {
        let attention = self.attn.forward(self.norm1.forward(z.clone()));
        let z = z + scale(attention.out, &self.ls1);
        let z = z.clone() + scale(self.ffn.forward(self.norm2.forward(z)), &self.ls2);
        BlockOutput {
            tokens: z,
            logits: attention.logits,
            probs: attention.probs,
            query: attention.query,
            key: attention.key,
        }
    }
}

/// Which intermediate results [`Dinov2::forward_with`] keeps (each costs memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capture {
    /// Tokens entering every block and leaving the last (`L + 1` tensors `[B, N, D]`).
    pub hidden_states: bool,
    /// Every block's attention logits (`L` tensors `[B, H, N, N]`).
    pub logits: bool,
    /// Every block's attention probabilities (`L` tensors `[B, H, N, N]`).
    pub probs: bool,
    /// Every block's queries and keys split into heads (`L` tensors `[B, H, N, d_head]` each):
    /// what the displacement flow reads across frames.
    pub queries_keys: bool,
}

impl Capture {
    /// Keep everything.
    pub fn all() -> Self {
        Self {
            hidden_states: true,
            logits: true,
            probs: true,
            queries_keys: true,
        }
    }

    /// Keep the attention logits only: what AM flow needs.
    pub fn logits() -> Self {
        Self {
            logits: true,
            ..Self::default()
        }
    }
}

/// The most memory one block's attention logits may take (`B·H·N²` float32): 4 GiB. A ViT-S/14
/// pair needs 3 MiB at 224×224 and 50 MiB at 448×448, and reaches the limit near 1350×1350;
/// past it an input is refused before it is allocated, rather than left to abort the process.
pub const MAX_ATTENTION_BYTES: u128 = 4 << 30;

/// Outputs of a forward pass; the vectors are empty unless [`Capture`] asked for them.
#[derive(Debug, Clone)]
pub struct Dinov2Output {
    /// `LN(z_L)`, `[B, N, D]`.
    pub last_hidden_state: Tensor<3>,
    /// The CLS token of `last_hidden_state`, `[B, D]`.
    pub pooler: Tensor<2>,
    /// Hidden state entering block `i` at index `i`; after the last block (before the final
    /// layer norm) at index `L`.
    pub hidden_states: Vec<Tensor<3>>,
    /// Attention logits of block `i`.
    pub logits: Vec<Tensor<4>>,
    /// Attention probabilities of block `i`.
    pub probs: Vec<Tensor<4>>,
    /// Queries of block `i`, `[B, H, N, d_head]`.
    pub query: Vec<Tensor<4>>,
    /// Keys of block `i`, `[B, H, N, d_head]`.
    pub key: Vec<Tensor<4>>,
}

/// The DINOv2 backbone.
#[derive(Module, Debug)]
pub struct Dinov2 {
    #[module(skip)]
    config: Dinov2Config,
    pub(crate) embeddings: Embeddings,
    pub(crate) blocks: Vec<Block>,
    pub(crate) layernorm: LayerNorm,
}

impl Dinov2 {
    pub(crate) fn from_parts(
        config: Dinov2Config,
        embeddings: Embeddings,
        blocks: Vec<Block>,
        layernorm: LayerNorm,
    ) -> Self {
        // Frozen: nothing here is ever trained, but gradients still flow through.
        Self {
            config,
            embeddings,
            blocks,
            layernorm,
        }
        .no_grad()
    }

    /// The configuration the backbone was built from.
    pub fn config(&self) -> &Dinov2Config {
        &self.config
    }

    /// The transformer blocks, in order (block `i` is shown to users as `i + 1`).
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Checks a `[B, C, H, W]` pixel batch against the backbone, before anything of that size
    /// is allocated: shape, patch multiples, and the memory of one block's attention logits
    /// (`B·H·N²` float32, `N = 1 + registers + (H/p)(W/p)`) against [`MAX_ATTENTION_BYTES`].
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), InputError> {
        let [b, c, h, w] = dims;
        let p = self.config.patch_size;
        if b == 0 || h == 0 || w == 0 {
            return Err(InputError::Empty {
                batch: b,
                height: h,
                width: w,
            });
        }
        if c != self.config.num_channels {
            return Err(InputError::Channels {
                found: c,
                expected: self.config.num_channels,
            });
        }
        if !h.is_multiple_of(p) {
            return Err(InputError::NotMultipleOfPatch {
                side: "height",
                value: h,
                patch: p,
            });
        }
        if !w.is_multiple_of(p) {
            return Err(InputError::NotMultipleOfPatch {
                side: "width",
                value: w,
                patch: p,
            });
        }
        let tokens = 1 + self.config.num_register_tokens + (h / p) * (w / p);
        let bytes =
            b as u128 * self.config.num_attention_heads as u128 * (tokens as u128).pow(2) * 4;
        if bytes > MAX_ATTENTION_BYTES {
            return Err(InputError::TooLarge {
                height: h,
                width: w,
                tokens,
                bytes,
                limit: MAX_ATTENTION_BYTES,
            });
        }
        Ok(())
    }

    /// Tokens entering block 0: `[B, C, H, W]` → `[B, N, D]`.
    pub fn embed(&self, pixels: Tensor<4>) -> Result<Tensor<3>, InputError> {
        self.check_input(pixels.dims())?;
        Ok(self.embeddings.forward(pixels))
    }

    /// The final layer norm: `[B, N, D]` → `[B, N, D]`.
    pub fn final_norm(&self, tokens: Tensor<3>) -> Tensor<3> {
        self.layernorm.forward(tokens)
    }

    /// Full forward pass keeping hidden states, logits and probabilities.
    pub fn forward(&self, pixels: Tensor<4>) -> Result<Dinov2Output, InputError> {
        self.forward_with(pixels, Capture::all())
    }

    /// The blocks on the tokens `z` entering block 0 `[B, N, D]`, each block's output handed to
    /// `each(i, out)` as soon as block `i` is done, before block `i + 1` runs (its tokens go on
    /// to the next block); the tokens leaving the last block, `[B, N, D]`.
    pub fn forward_blocks(
        &self,
        mut z: Tensor<3>,
        mut each: impl FnMut(usize, BlockOutput),
    ) -> Tensor<3> {
        for (i, block) in self.blocks.iter().enumerate() {
            let out = block.forward(z);
            z = out.tokens.clone();
            each(i, out);
        }
        z
    }

    /// Forward pass keeping what `capture` asks for.
    pub fn forward_with(
        &self,
        pixels: Tensor<4>,
        capture: Capture,
    ) -> Result<Dinov2Output, InputError> {
        let z = self.embed(pixels)?; // [B, N, D]
        let mut hidden_states = Vec::new();
        if capture.hidden_states {
            hidden_states.push(z.clone());
        }
        let mut logits = Vec::new();
        let mut probs = Vec::new();
        let (mut query, mut key) = (Vec::new(), Vec::new());
        let z = self.forward_blocks(z, |_, out| {
            if capture.hidden_states {
                hidden_states.push(out.tokens);
            }
            if capture.logits {
                logits.push(out.logits);
            }
            if capture.probs {
                probs.push(out.probs);
            }
            if capture.queries_keys {
                query.push(out.query);
                key.push(out.key);
            }
        });
        let last_hidden_state = self.final_norm(z); // [B, N, D]
        let [b, _, d] = last_hidden_state.dims();
        let pooler = last_hidden_state
            .clone()
            .slice([0..b, 0..1, 0..d])
            .reshape([b, d]);
        Ok(Dinov2Output {
            last_hidden_state,
            pooler,
            hidden_states,
            logits,
            probs,
            query,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::test_support::{tensor, values};

    fn linear(weight: Vec<f32>, d_in: usize, d_out: usize, device: &Device) -> Linear {
        let weight = Tensor::<2>::from_data(TensorData::new(weight, [d_in, d_out]), device);
        Linear {
            weight: Param::from_tensor(weight),
            bias: None,
        }
    }

    #[test]
    fn swiglu_is_silu_of_the_first_half_times_the_second() {
        let device = Device::flex();
        // D = 2, M = 2. weights_in maps x = [1, 2] to [x₀, x₁, 2x₀, −x₁] = [1, 2, 2, −2];
        // weights_out is the identity.
        let w_in = linear(vec![1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0, -1.0], 2, 4, &device);
        let w_out = linear(vec![1.0, 0.0, 0.0, 1.0], 2, 2, &device);
        let ffn = Ffn::SwiGlu(SwiGlu { w_in, w_out });
        let out = values(ffn.forward(tensor(vec![1.0, 2.0], [1, 1, 2])));
        let silu = |v: f32| v / (1.0 + (-v).exp());
        let expected = [silu(1.0) * 2.0, silu(2.0) * -2.0];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{out:?} vs {expected:?}");
        }
    }
}

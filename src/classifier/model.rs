//! The AM-flow classifier (SPEC §3): the frozen backbone with a scaled parallel adapter beside
//! every attention and MLP, AM flow into the attention adapters of the AM blocks, a temporal
//! module on each AM adapter's bottleneck, and the frozen branch's linear head.
//!
//! For a clip batch `[B, T, 3, S, S]`, in every block, on the `B·T` frames at once:
//!
//! ```text
//! h  = LN₁(x)
//! E₁ = ReLU(W_down1 · [h ‖ flow])   in AM blocks;   ReLU(W_down1 · h) elsewhere
//! x' = x + λ₁ ⊙ Attn(h) + s₁ · (E₁ W_up1)
//! h₂ = LN₂(x')
//! E₂ = ReLU(W_down2 · h₂)
//! x''= x' + λ₂ ⊙ MLP(h₂) + s₂ · (E₂ W_up2)
//! ```
//!
//! In AM block `i`, `E₁` and `E₂` are averaged over tokens to `[B, T, r]` and each goes through
//! its own temporal module to class logits. The frozen branch classifies the last frame's final
//! CLS token. The output is the mean of all `2·|AM| + 1` logits.
//!
//! With `adapters_from = K > 1` the blocks before `K` carry no adapters: they are the frozen
//! backbone, `x ↦ x + λ₁ ⊙ Attn(LN₁ x)` then the MLP, and their output (the *frozen prefix*,
//! `[B·T, N, D]`) depends on each frame alone, so [`AmClassifier::forward_tokens`] can start
//! from it when it was computed once and kept.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Device, Tensor};

use super::adapter::Adapter;
use super::config::{ClassifierConfig, FlowKind, FlowNorm};
use super::tpm::TemporalModule;
use crate::flow::{AligningEncoder, AligningEncoderConfig, FlowKernel, Fused};
use crate::flow::{broadcast_heads, column_sums, displacement_flow, signed_flow};
use crate::model::dinov2::{AttentionOutput, scale};
use crate::model::{Dinov2, InputError};

/// The trainable parts: everything a checkpoint holds.
#[derive(Module, Debug)]
pub struct Trainable {
    /// Beside attention, one per block from the first adapted one (`adapters_from`) to the
    /// last; input width `2D` in AM blocks, `D` elsewhere.
    pub(crate) attn_adapters: Vec<Adapter>,
    /// Beside the MLP, one per block from the first adapted one.
    pub(crate) mlp_adapters: Vec<Adapter>,
    /// One aligning encoder per AM block (aligned flow only).
    pub(crate) aligners: Vec<AligningEncoder>,
    /// Two per AM block, in block order: attention adapter's, then MLP adapter's.
    pub(crate) tpms: Vec<TemporalModule>,
    /// The frozen branch's classifier: last frame's CLS `[D]` → `[C]`.
    pub(crate) head: Linear,
}

/// Parameter counts by component, as the paper's tables list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamCounts {
    /// The frozen backbone.
    pub backbone: usize,
    /// Adapters (with their AM-flow input columns) and the frozen branch's head.
    pub adapters: usize,
    /// Aligning encoders.
    pub aligners: usize,
    /// Temporal modules.
    pub tpms: usize,
}

impl ParamCounts {
    /// Trainable parameters.
    pub fn trainable(&self) -> usize {
        self.adapters + self.aligners + self.tpms
    }
}

impl std::fmt::Display for ParamCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = |n: usize| n as f64 / 1e6;
        write!(
            f,
            "backbone {:.3} M (frozen) · adapters + AM-flow layers + head {:.3} M · aligning encoders {:.3} M · TPMs {:.3} M · trainable {:.3} M",
            m(self.backbone),
            m(self.adapters),
            m(self.aligners),
            m(self.tpms),
            m(self.trainable())
        )
    }
}

/// Backbone + trainable parts.
#[derive(Module, Debug)]
pub struct AmClassifier {
    pub(crate) backbone: Dinov2,
    pub(crate) trainable: Trainable,
    #[module(skip)]
    pub(crate) config: ClassifierConfig,
}

impl Trainable {
    /// Fresh trainable parts for `config` (already validated).
    pub fn new(config: &ClassifierConfig, device: &Device) -> Self {
        let d = config.backbone.hidden_size;
        let r = config.bottleneck;
        let c = config.classes.len();
        let am = config.am_indices();
        let layers = config.backbone.num_hidden_layers;
        let first = config.first_adapted();
        let attn_adapters = (first..layers)
            .map(|i| {
                let flow_in = am.contains(&i) && config.flow_into_adapters();
                let d_in = if flow_in { 2 * d } else { d };
                Adapter::new(d_in, r, d, device)
            })
            .collect();
        let mlp_adapters = (first..layers)
            .map(|_| Adapter::new(d, r, d, device))
            .collect();
        let aligners = match config.flow {
            FlowKind::Aligned if config.flow_input => am
                .iter()
                .map(|_| AligningEncoderConfig::for_width(d, config.aligner_heads).init(device))
                .collect(),
            FlowKind::Aligned | FlowKind::Vanilla | FlowKind::Signed | FlowKind::Displacement => {
                Vec::new()
            }
        };
        let tpms = am
            .iter()
            .flat_map(|_| [0, 1])
            .map(|_| TemporalModule::new(config.tpm, config.frames, config.tpm_width(), c, device))
            .collect();
        Self {
            attn_adapters,
            mlp_adapters,
            aligners,
            tpms,
            head: LinearConfig::new(d, c).init(device),
        }
    }
}

/// `(f − mean_N f) / sqrt(var_N f + 1e-12)` over the tokens of each frame, per channel, for
/// `[B·T, N, D]`; each clip's last frame (zeros: no next frame) stays zeros.
fn standardise_tokens(flow: Tensor<3>, b: usize, t: usize) -> Tensor<3> {
    let [bt, n, d] = flow.dims();
    let mean = flow.clone().mean_dim(1); // [B·T, 1, D]
    let centred = flow - mean;
    // sqrt(var + ε), not sqrt(var) + ε: a channel without variation (each clip's last frame is
    // all zeros) must not put sqrt's infinite slope at 0 into the gradient.
    let std = (centred.clone().powi_scalar(2).mean_dim(1) + 1e-12).sqrt(); // [B·T, 1, D]
    let z = centred / std;
    // Each clip's last frame has no next frame: keep it zero.
    let keep = Tensor::<3>::ones([b, t, 1], &z.device());
    let keep = Tensor::cat(
        vec![
            keep.narrow(1, 0, t - 1),
            Tensor::zeros([b, 1, 1], &z.device()),
        ],
        1,
    )
    .reshape([bt, 1, 1]);
    (z * keep).reshape([bt, n, d])
}

/// `f − mean_N f` over the tokens of each frame, per channel, for `[B·T, N, D]`. Each clip's
/// last frame (zeros: no next frame) stays zeros, its mean being 0.
fn centre_tokens(flow: Tensor<3>) -> Tensor<3> {
    let mean = flow.clone().mean_dim(1); // [B·T, 1, D]
    flow - mean
}

/// A function of consecutive frames of each clip, zeros for the last frame: `x` `[B·T, …]`
/// viewed as `[B, T, …]`; `f(x[:, :T−1], x[:, 1:])` `[B, T−1, …']`; result `[B·T, …']`.
/// Needs `T ≥ 2`.
fn per_pair<const D: usize, const E: usize>(
    x: Tensor<D>,
    b: usize,
    t: usize,
    f: impl Fn(Tensor<E>, Tensor<E>) -> Tensor<E>,
) -> Tensor<D> {
    let dims = x.dims();
    let device = x.device();
    let mut clip_dims = [0usize; E];
    clip_dims[0] = b;
    clip_dims[1] = t;
    clip_dims[2..].copy_from_slice(&dims[1..]);
    let clips: Tensor<E> = x.reshape(clip_dims); // [B, T, …]
    let current = clips.clone().narrow(1, 0, t - 1); // [B, T−1, …]
    let next = clips.narrow(1, 1, t - 1); // [B, T−1, …]
    let flows = f(current, next); // [B, T−1, …']
    let mut zero_dims = flows.dims();
    zero_dims[1] = 1;
    let mut out_dims = [0usize; D];
    out_dims[0] = b * t;
    out_dims[1..].copy_from_slice(&zero_dims[2..]);
    Tensor::cat(vec![flows, Tensor::zeros(zero_dims, &device)], 1).reshape(out_dims)
}

impl AmClassifier {
    /// A classifier around `backbone` with fresh trainable parts.
    pub fn new(backbone: Dinov2, config: ClassifierConfig, device: &Device) -> Self {
        let trainable = Trainable::new(&config, device);
        Self {
            backbone,
            trainable,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// Parameter counts by component.
    pub fn param_counts(&self) -> ParamCounts {
        let t = &self.trainable;
        let adapters = t
            .attn_adapters
            .iter()
            .chain(&t.mlp_adapters)
            .map(Module::num_params)
            .sum::<usize>()
            + t.head.num_params();
        ParamCounts {
            backbone: self.backbone.num_params(),
            adapters,
            aligners: t.aligners.iter().map(Module::num_params).sum(),
            tpms: t.tpms.iter().map(Module::num_params).sum(),
        }
    }

    /// AM flow of the `am_slot`-th AM block from its attention (logits and probabilities
    /// `[B·T, H, N, N]`, queries and keys `[B·T, H, N, d_head]`): `[B·T, N, D]`, zeros for each
    /// clip's last frame.
    fn flow(
        &self,
        am_slot: usize,
        attention: &AttentionOutput,
        b: usize,
        t: usize,
        d: usize,
    ) -> Tensor<3> {
        let [_, h, n, _] = attention.logits.dims();
        if t < 2 {
            // One frame: no motion to see.
            return Tensor::zeros([b * t, n, d], &attention.logits.device());
        }
        let flow = match self.config.flow {
            FlowKind::Vanilla => {
                let flow = per_pair::<4, 5>(attention.logits.clone(), b, t, |cur, next| {
                    let [bb, tt, hh, nn, _] = cur.dims();
                    Fused
                        .vanilla_flow(
                            cur.reshape([bb * tt, hh, nn, nn]),
                            next.reshape([bb * tt, hh, nn, nn]),
                        ) // [B(T−1), H, N]
                        .reshape([bb, tt, hh, nn, 1])
                }); // [B·T, H, N, 1]
                broadcast_heads(flow.reshape([b * t, h, n]), d / h) // [B·T, N, D]
            }
            FlowKind::Signed => {
                let flow = per_pair::<4, 5>(attention.logits.clone(), b, t, |cur, next| {
                    let [bb, tt, hh, nn, _] = cur.dims();
                    signed_flow(
                        cur.reshape([bb * tt, hh, nn, nn]),
                        next.reshape([bb * tt, hh, nn, nn]),
                    ) // [B(T−1), 2H, N]
                    .reshape([bb, tt, 2 * hh, nn, 1])
                }); // [B·T, 2H, N, 1]
                // Each of the 2H channels over d_head/2 of the width (validated to divide it).
                broadcast_heads(flow.reshape([b * t, 2 * h, n]), d / (2 * h)) // [B·T, N, D]
            }
            FlowKind::Displacement => {
                let (prefix, cols) = self.config.token_grid();
                // Each frame's queries beside its keys, [B·T, H, N, 2·d_head].
                let qkq = Tensor::cat(vec![attention.query.clone(), attention.key.clone()], 3);
                let head = qkq.dims()[3] / 2;
                let flow = per_pair::<4, 5>(qkq, b, t, |cur, next| {
                    let [bb, tt, hh, nn, _] = cur.dims();
                    let flat = |x: Tensor<5>| x.reshape([bb * tt, hh, nn, 2 * head]);
                    let (cur, next) = (flat(cur), flat(next));
                    displacement_flow(
                        cur.clone().narrow(3, 0, head),
                        cur.narrow(3, head, head),
                        next.narrow(3, 0, head),
                        prefix,
                        cols,
                    ) // [B(T−1), 2H, N]
                    .reshape([bb, tt, 2 * hh, nn, 1])
                }); // [B·T, 2H, N, 1]
                // Each head's v_x and v_y over d_head/2 of the width (validated to divide it).
                broadcast_heads(flow.reshape([b * t, 2 * h, n]), d / (2 * h)) // [B·T, N, D]
            }
            FlowKind::Aligned => {
                let s = broadcast_heads(column_sums(attention.probs.clone()), d / h); // [B·T, N, D]
                let z = self.trainable.aligners[am_slot].forward(s); // [B·T, N, D]
                per_pair::<3, 4>(z, b, t, |cur, next| (cur - next).abs())
            }
        }; // [B·T, N, D]
        match self.config.flow_norm {
            FlowNorm::Raw => flow,
            FlowNorm::Tokens => standardise_tokens(flow, b, t),
            FlowNorm::Centred => centre_tokens(flow),
        }
    }

    /// A frame's bottleneck `[B·T, N, r]` → `[B·T, G²·r]`: the mean over all tokens (`G = 1`)
    /// or over each of `G × G` cells of the patch grid, cells in row-major order.
    fn pool(&self, e: Tensor<3>) -> Tensor<2> {
        let [bt, _, r] = e.dims();
        let g = self.config.pool_grid;
        if g <= 1 {
            return e.mean_dim(1).reshape([bt, r]);
        }
        let (prefix, side) = self.config.token_grid();
        let patches = e
            .narrow(1, prefix, side * side)
            .reshape([bt, side, side, r])
            .permute([0, 3, 1, 2]); // [B·T, r, side, side]
        adaptive_avg_pool2d(patches, [g, g]) // [B·T, r, G, G]
            .permute([0, 2, 3, 1]) // [B·T, G, G, r]
            .reshape([bt, g * g * r])
    }

    /// Aligned AM flow of a frame pair in AM block `block` (0-based) from that block's
    /// attention column sums `[2, H, N]` (frame t, frame t+k): `|Z(t) − Z(t+k)|` `[N, D]`,
    /// with this checkpoint's aligning encoder. `None` when the block is not an AM block or the
    /// checkpoint uses vanilla flow.
    pub fn aligned_pair_flow(&self, block: usize, colsum: Tensor<3>) -> Option<Tensor<2>> {
        if self.config.flow != FlowKind::Aligned {
            return None;
        }
        let slot = self.config.am_indices().iter().position(|&a| a == block)?;
        let aligner = self.trainable.aligners.get(slot)?;
        let [_, h, n] = colsum.dims();
        let d = self.config.backbone.hidden_size;
        let z = aligner.forward(broadcast_heads(colsum, d / h.max(1))); // [2, N, D]
        let flow = (z.clone().narrow(0, 0, 1) - z.narrow(0, 1, 1)).abs(); // [1, N, D]
        Some(flow.reshape([n, d]))
    }

    /// Class logits of a clip batch `[B, T, 3, S, S]` (normalised pixels, `S` the checkpoint's
    /// input size): `[B, C]`.
    pub fn forward(&self, clips: Tensor<5>) -> Result<Tensor<2>, InputError> {
        let [b, t, c, hh, ww] = clips.dims();
        self.check_frames(t)?;
        let size = self.config.size;
        if (hh, ww) != (size, size) {
            return Err(InputError::Size {
                height: hh,
                width: ww,
                size,
            });
        }
        let tokens = frozen_prefix(
            &self.backbone,
            self.config.first_adapted(),
            clips.reshape([b * t, c, hh, ww]),
        )?; // [B·T, N, D]
        self.forward_tokens(tokens, b)
    }

    /// Class logits `[B, C]` from the frozen prefix of `B` clips' frames, `[B·T, N, D]` (clip
    /// after clip, frames in order): what [`frozen_prefix`] gives for this checkpoint's
    /// backbone and `adapters_from`.
    pub fn forward_tokens(&self, tokens: Tensor<3>, b: usize) -> Result<Tensor<2>, InputError> {
        let [bt, n, d] = tokens.dims();
        let t = bt / b.max(1);
        self.check_frames(t)?;
        let (prefix, side) = self.config.token_grid();
        let expected = prefix + side * side;
        if b * t != bt || n != expected || d != self.config.backbone.hidden_size {
            return Err(InputError::Tokens {
                found: [bt, n, d],
                clips: b,
                frames: self.config.frames,
                tokens: expected,
                width: self.config.backbone.hidden_size,
            });
        }
        let mut pass = Pass {
            z: tokens,
            logits: Vec::with_capacity(2 * self.config.am_indices().len() + 1),
            next: self.config.first_adapted(),
            b,
            t,
            n,
            d,
        };
        while pass.next < self.backbone.blocks().len() {
            pass = self.step(pass);
        }
        Ok(self.finish(pass))
    }

    /// `t` frames per clip, as configured.
    fn check_frames(&self, t: usize) -> Result<(), InputError> {
        if t != self.config.frames {
            return Err(InputError::Frames {
                found: t,
                expected: self.config.frames,
            });
        }
        Ok(())
    }

    /// Runs block `pass.next`: attention (with AM flow into its adapter in an AM block), the
    /// MLP with its adapter, and in an AM block the two temporal modules' logits.
    fn step(&self, pass: Pass) -> Pass {
        let Pass {
            z,
            mut logits,
            next: i,
            b,
            t,
            n,
            d,
        } = pass;
        let block = &self.backbone.blocks()[i];
        let tr = &self.trainable;
        // Adapter index of this block (the caller starts at the first adapted block).
        let a = i - self.config.first_adapted();
        let am_slot = self.config.am_indices().iter().position(|&a| a == i);
        let h = block.norm1.forward(z.clone()); // [B·T, N, D]
        let attention = block.attn.forward(h.clone());
        let adapter_in = match am_slot {
            Some(slot) if self.config.flow_input => {
                let flow = self.flow(slot, &attention, b, t, d);
                Tensor::cat(vec![h, flow], 2) // [B·T, N, 2D]
            }
            _ => h,
        };
        let (attn_add, e1) = tr.attn_adapters[a].forward(adapter_in);
        let z1 = z + scale(attention.out, &block.ls1) + attn_add; // [B·T, N, D]
        let h2 = block.norm2.forward(z1.clone());
        let (mlp_add, e2) = tr.mlp_adapters[a].forward(h2.clone());
        let z = z1 + scale(block.ffn.forward(h2), &block.ls2) + mlp_add;
        if let Some(slot) = am_slot {
            for (k, e) in [e1, e2].into_iter().enumerate() {
                let w = self.config.tpm_width();
                let sequence = self.pool(e).reshape([b, t, w]); // [B, T, G²·r]
                logits.push(tr.tpms[2 * slot + k].forward(sequence)); // [B, C]
            }
        }
        Pass {
            z,
            logits,
            next: i + 1,
            b,
            t,
            n,
            d,
        }
    }

    /// The head on the last frame's CLS token, averaged with the temporal modules' logits.
    fn finish(&self, pass: Pass) -> Tensor<2> {
        let Pass {
            z,
            mut logits,
            b,
            t,
            n,
            d,
            ..
        } = pass;
        let last = self.backbone.final_norm(z).reshape([b, t, n, d]); // [B, T, N, D]
        let cls = last.narrow(1, t - 1, 1).narrow(2, 0, 1).reshape([b, d]); // [B, D]
        logits.push(self.trainable.head.forward(cls));
        let count = logits.len();
        Tensor::stack::<3>(logits, 0)
            .sum_dim(0)
            .reshape([b, self.config.classes.len()])
            / count as f64
    }
}

/// The frozen prefix of `frames` `[F, 3, S, S]` (normalised pixels): the embedded tokens after
/// the first `blocks` blocks of the backbone alone, `[F, N, D]`; each frame's own, whatever
/// clip or batch it comes in.
pub fn frozen_prefix(
    backbone: &Dinov2,
    blocks: usize,
    frames: Tensor<4>,
) -> Result<Tensor<3>, InputError> {
    let z = backbone.embed(frames)?; // [F, N, D]
    Ok(backbone.blocks()[..blocks]
        .iter()
        .fold(z, |z, block| block.forward(z).tokens))
}

/// A forward pass between blocks: the tokens after `next` blocks and the temporal modules'
/// logits so far, for clips of `B` × `T` frames of `N` tokens of width `D`.
struct Pass {
    z: Tensor<3>,
    logits: Vec<Tensor<2>>,
    next: usize,
    b: usize,
    t: usize,
    n: usize,
    d: usize,
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::*;
    use crate::classifier::config::{BackboneId, FORMAT, TpmKind};
    use crate::test_support::values;

    fn tiny(device: &Device) -> Dinov2 {
        let dir = crate::test_support::tiny_dinov2_dir();
        Dinov2::load_dir(dir, device).unwrap_or_else(|e| panic!("{e}"))
    }

    fn config(
        backbone: &Dinov2,
        am_blocks: Vec<usize>,
        flow: FlowKind,
        tpm: TpmKind,
    ) -> ClassifierConfig {
        ClassifierConfig {
            format: FORMAT.into(),
            backbone: BackboneId::of("tiny", backbone),
            am_blocks,
            flow,
            tpm,
            frames: 3,
            bottleneck: 8,
            size: 56,
            aligner_heads: 4,
            flow_norm: Default::default(),
            flow_input: true,
            pool_grid: 1,
            adapters_from: 1,
            classes: vec!["a".into(), "b".into(), "c".into()],
        }
    }

    #[test]
    fn aligned_pair_flow_is_the_encoders_difference_of_column_sums() {
        // What the app's aligned maps show: |Z(t) − Z(t+1)| of the block's column sums, the
        // same value the classifier feeds its AM adapter; vanilla checkpoints and non-AM
        // blocks have none.
        let device = Device::flex();
        let backbone = tiny(&device);
        let pixels = Tensor::<4>::random([2, 3, 28, 42], Distribution::Normal(0.0, 1.0), &device);
        let out = backbone
            .forward_with(pixels, crate::model::Capture::logits())
            .unwrap_or_else(|e| panic!("{e}"));
        let colsum = |b: usize| {
            crate::flow::column_sums(burn::tensor::activation::softmax(out.logits[b].clone(), 3))
        };
        // 1-based: block 2 is index 1.
        let c = config(&backbone, vec![2], FlowKind::Aligned, TpmKind::Tcn);
        let model = AmClassifier::new(backbone.clone(), c, &device);
        let flow = model
            .aligned_pair_flow(1, colsum(1))
            .unwrap_or_else(|| panic!("block 1 is an AM block"));
        let [n, d] = flow.dims();
        let h = out.logits[1].dims()[1];
        let s = broadcast_heads(colsum(1), d / h);
        let z = model.trainable.aligners[0].forward(s);
        let expected = (z.clone().narrow(0, 0, 1) - z.narrow(0, 1, 1))
            .abs()
            .reshape([n, d]);
        let (a, b) = (values(flow), values(expected));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
        assert!(
            a.iter().any(|v| *v > 0.0),
            "different frames give some flow"
        );
        assert!(model.aligned_pair_flow(0, colsum(0)).is_none());
        let vanilla = AmClassifier::new(
            backbone.clone(),
            config(&backbone, vec![2], FlowKind::Vanilla, TpmKind::Tcn),
            &device,
        );
        assert!(vanilla.aligned_pair_flow(1, colsum(1)).is_none());
    }

    #[test]
    fn untrained_adapters_leave_the_backbone_exact() {
        // Without AM blocks the output is the frozen branch alone: the head on the last frame's
        // CLS; zero up-projections must leave that CLS exactly the backbone's pooler output.
        let device = Device::flex();
        let backbone = tiny(&device);
        let cfg = config(&backbone, vec![], FlowKind::Vanilla, TpmKind::Transformer);
        let model = AmClassifier::new(backbone, cfg, &device);
        let clips = Tensor::<5>::random([2, 3, 3, 56, 56], Distribution::Normal(0.0, 1.0), &device);
        let logits = model
            .forward(clips.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let last = clips.narrow(1, 2, 1).reshape([2, 3, 56, 56]);
        let pooler = model
            .backbone
            .forward(last)
            .unwrap_or_else(|e| panic!("{e}"))
            .pooler;
        let expected = model.trainable.head.forward(pooler);
        let diff = crate::test_support::max_error(
            &values(logits),
            &values(expected),
            "logits against the head on the pooler",
        );
        assert!(diff < 1e-5, "max abs difference {diff}");
    }

    #[test]
    fn adapters_from_a_later_block_start_from_the_frozen_prefix() {
        // Adapters from block 2 of 2 (AM block 2): block 1 is the backbone alone, so the logits
        // from pixels equal those from block 1's output computed apart, and only block 2 has
        // adapters, the attention one reading the flow beside the tokens.
        let device = Device::flex().autodiff();
        let backbone = tiny(&device);
        let mut cfg = config(&backbone, vec![2], FlowKind::Vanilla, TpmKind::Transformer);
        cfg.adapters_from = 2;
        cfg.validate().unwrap_or_else(|e| panic!("{e}"));
        let model = AmClassifier::new(backbone.clone(), cfg.clone(), &device);
        assert_eq!(model.trainable.attn_adapters.len(), 1);
        assert_eq!(model.trainable.mlp_adapters.len(), 1);
        let every = AmClassifier::new(
            backbone.clone(),
            ClassifierConfig {
                adapters_from: 1,
                ..cfg.clone()
            },
            &device,
        );
        let adapter = |m: &AmClassifier| m.trainable.mlp_adapters[0].num_params();
        assert_eq!(
            every.param_counts().adapters - model.param_counts().adapters,
            2 * adapter(&model),
            "block 1's two adapters left out"
        );
        let clips = Tensor::<5>::random([2, 3, 3, 56, 56], Distribution::Normal(0.0, 1.0), &device);
        let frames = clips.clone().reshape([6, 3, 56, 56]);
        let block1 = backbone.blocks()[0]
            .forward(backbone.embed(frames).unwrap_or_else(|e| panic!("{e}")))
            .tokens;
        let from_pixels = model.forward(clips).unwrap_or_else(|e| panic!("{e}"));
        let from_tokens = model
            .forward_tokens(block1.clone(), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        let diff = crate::test_support::max_error(
            &values(from_pixels),
            &values(from_tokens.clone()),
            "logits from pixels against from block 1's tokens",
        );
        assert!(diff < 1e-5, "max abs difference {diff}");
        let grads = from_tokens.powi_scalar(2).sum().backward();
        let down = model.trainable.attn_adapters[0].down.weight.val();
        assert_eq!(down.dims(), [64, 8], "block 2's adapter reads [h ‖ flow]");
        let g = down.grad(&grads).map(values).unwrap_or_default();
        assert!(g.iter().any(|v| *v != 0.0), "no gradient");
        // Tokens of another shape are refused: another clip count, another token count (frames
        // at 70 pixels, 5×5 patches, where the checkpoint takes 56), and frames of another size.
        assert!(matches!(
            model.forward_tokens(block1, 3),
            Err(InputError::Frames { .. } | InputError::Tokens { .. })
        ));
        let wide = Tensor::<5>::random([2, 3, 3, 70, 70], Distribution::Normal(0.0, 1.0), &device);
        let wide_block1 = backbone.blocks()[0]
            .forward(
                backbone
                    .embed(wide.clone().reshape([6, 3, 70, 70]))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .tokens;
        assert!(matches!(
            model.forward_tokens(wide_block1, 2),
            Err(InputError::Tokens { tokens: 17, .. })
        ));
        assert!(matches!(
            model.forward(wide),
            Err(InputError::Size {
                height: 70,
                width: 70,
                size: 56
            })
        ));
        // An AM block before the first adapted one has no adapter to feed: refused.
        let early = ClassifierConfig {
            am_blocks: vec![1, 2],
            ..cfg
        };
        assert_eq!(
            early.validate(),
            Err(crate::classifier::ConfigError::AmBeforeAdapters { block: 1, from: 2 })
        );
    }

    #[test]
    fn clips_of_another_length_are_refused_with_the_lengths() {
        let device = Device::flex();
        let backbone = tiny(&device);
        let cfg = config(
            &backbone,
            vec![1, 2],
            FlowKind::Vanilla,
            TpmKind::Transformer,
        );
        let model = AmClassifier::new(backbone, cfg, &device);
        for t in [2, 5] {
            let clips = Tensor::<5>::zeros([1, t, 3, 56, 56], &device);
            match model.forward(clips) {
                Err(InputError::Frames { found, expected }) => {
                    assert_eq!((found, expected), (t, 3))
                }
                other => panic!("{t} frames: {:?}", other.map(|l| l.dims())),
            }
        }
    }

    #[test]
    fn every_flow_and_tpm_kind_gives_logits_and_gradients() {
        let device = Device::flex().autodiff();
        for flow in [
            FlowKind::Vanilla,
            FlowKind::Aligned,
            FlowKind::Signed,
            FlowKind::Displacement,
        ] {
            for tpm in [TpmKind::Transformer, TpmKind::Tcn, TpmKind::Lstm] {
                let backbone = tiny(&device);
                let cfg = config(&backbone, vec![1, 2], flow, tpm);
                let model = AmClassifier::new(backbone, cfg, &device);
                let counts = model.param_counts();
                assert_eq!(counts.aligners > 0, flow == FlowKind::Aligned);
                assert!(counts.tpms > 0 && counts.adapters > 0);
                let clips =
                    Tensor::<5>::random([2, 3, 3, 56, 56], Distribution::Normal(0.0, 1.0), &device);
                let logits = model.forward(clips).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(logits.dims(), [2, 3]);
                let grads = logits.powi_scalar(2).sum().backward();
                // The first AM block's down projection sees the flow columns; it gets a gradient.
                let down = model.trainable.attn_adapters[0].down.weight.val();
                assert_eq!(down.dims(), [64, 8]);
                let g = down.grad(&grads).map(values).unwrap_or_default();
                assert!(g.iter().any(|v| *v != 0.0), "{flow:?}/{tpm:?}: no gradient");
                // The backbone is frozen: none of its weights gets one.
                let q = model.backbone.blocks()[0].attn.query.weight.val();
                assert!(
                    q.grad(&grads).is_none(),
                    "{flow:?}/{tpm:?}: backbone got a gradient"
                );
            }
        }
    }

    #[test]
    fn flow_options_shape_the_model() {
        let device = Device::flex().autodiff();
        let clips =
            || Tensor::<5>::random([2, 3, 3, 56, 56], Distribution::Normal(0.0, 1.0), &device);
        // AM blocks 1 and 2, aligned flow, transformer TPMs: the two variants below change one
        // option each.
        let aligned = || {
            let backbone = tiny(&device);
            let cfg = config(
                &backbone,
                vec![1, 2],
                FlowKind::Aligned,
                TpmKind::Transformer,
            );
            (backbone, cfg)
        };
        // Standardised flow and a 2×2 pooling grid: the temporal modules read 4 cells of r = 8.
        let (backbone, mut cfg) = aligned();
        cfg.flow_norm = FlowNorm::Tokens;
        cfg.pool_grid = 2;
        assert_eq!(cfg.tpm_width(), 32);
        let model = AmClassifier::new(backbone, cfg, &device);
        let logits = model.forward(clips()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(logits.dims(), [2, 3]);
        let grads = logits.powi_scalar(2).sum().backward();
        let down = model.trainable.attn_adapters[0].down.weight.val();
        assert_eq!(down.dims(), [64, 8], "[h ‖ flow] in");
        let g = down.grad(&grads).map(values).unwrap_or_default();
        // Rows 32.. multiply the flow: they learn from it.
        assert!(
            g[32 * 8..].iter().any(|v| *v != 0.0),
            "no gradient through the flow"
        );
        // The ablation: the same AM blocks and temporal modules, no flow (and no aligners).
        let (backbone, mut cfg) = aligned();
        cfg.flow_input = false;
        let model = AmClassifier::new(backbone, cfg, &device);
        let counts = model.param_counts();
        assert_eq!(counts.aligners, 0);
        assert!(counts.tpms > 0);
        assert_eq!(
            model.trainable.attn_adapters[0].down.weight.val().dims(),
            [32, 8]
        );
        assert_eq!(model.forward(clips()).map(|l| l.dims()).ok(), Some([2, 3]));
    }

    #[test]
    fn standardised_flow_is_zero_mean_unit_deviation_over_tokens_and_zero_on_last_frames() {
        let device = Device::flex();
        // One clip of 2 frames, 3 tokens, 1 channel: frame 0 holds 1, 2, 3; frame 1 (the last)
        // whatever it holds becomes 0. (1, 2, 3) standardised: ±1/sqrt(2/3) = ±1.2247.
        let flow = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(vec![1.0f32, 2.0, 3.0, 5.0, 7.0, 9.0], [2, 3, 1]),
            &device,
        );
        let got = values(standardise_tokens(flow, 1, 2));
        let expected = [-1.224_744_9, 0.0, 1.224_744_9, 0.0, 0.0, 0.0];
        let err = crate::test_support::max_error(&got, &expected, "standardised flow");
        assert!(err < 1e-5, "{got:?}");
    }

    #[test]
    fn centred_flow_takes_out_a_uniform_drift_and_keeps_lengths() {
        let device = Device::flex();
        // Three frames of 3 tokens, 1 channel (a head's v_x, patches per frame). Frame 0: the
        // camera pans by 2 at every token and the object at token 2 moves 3 more: (2, 2, 5),
        // mean 3 → (−1, −1, 2). Frame 1: a still object under the same pan, (2, 2, 2) → 0
        // everywhere (standardising would divide 0 by √1e-12 here; any noise would be scaled to
        // unit spread). Frame 2, a clip's last (zeros), stays zeros.
        let flow = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(
                vec![2.0f32, 2.0, 5.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0],
                [3, 3, 1],
            ),
            &device,
        );
        let got = values(centre_tokens(flow));
        let expected = [-1.0, -1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let err = crate::test_support::max_error(&got, &expected, "centred flow");
        assert!(err < 1e-6, "{got:?}");
    }

    #[test]
    fn standardised_flow_has_finite_gradients_where_a_frame_has_no_flow() {
        let device = Device::flex().autodiff();
        // The last frame of each clip is all zeros: sqrt at 0 must not reach the gradient.
        let moving = Tensor::<4>::random([2, 1, 5, 3], Distribution::Normal(1.0, 0.1), &device)
            .require_grad();
        let still = Tensor::<4>::zeros([2, 1, 5, 3], &device).require_grad();
        let flow = Tensor::cat(vec![moving.clone(), still.clone()], 1).reshape([4, 5, 3]);
        let grads = standardise_tokens(flow, 2, 2)
            .powi_scalar(2)
            .sum()
            .backward();
        let mut g = moving.grad(&grads).map(values).unwrap_or_default();
        g.extend(still.grad(&grads).map(values).unwrap_or_default());
        assert_eq!(g.len(), 60);
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    }

    #[test]
    fn diverged_weights_are_counted() {
        let device = Device::flex();
        let backbone = tiny(&device);
        let cfg = config(&backbone, vec![1], FlowKind::Vanilla, TpmKind::Lstm);
        let mut model = AmClassifier::new(backbone, cfg, &device);
        assert_eq!(
            crate::classifier::train::non_finite_weights(&model.trainable),
            0
        );
        let w = model.trainable.head.weight.val();
        let nan = w.clone().mul_scalar(f32::NAN);
        model.trainable.head.weight = burn::module::Param::from_tensor(nan);
        let [d, c] = w.dims();
        assert_eq!(
            crate::classifier::train::non_finite_weights(&model.trainable),
            d * c
        );
    }
}

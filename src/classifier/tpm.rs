//! Temporal processing modules: a sequence of per-frame adapter bottlenecks `[B, T, r]` (each
//! frame's `E` averaged over tokens) to class logits `[B, C]`.
//!
//! - transformer: `x + p_t` (learned time positions) → one encoder layer → mean over time → linear;
//! - TCN: `x + ReLU(conv₂(ReLU(conv₁(x))))`, kernel 3, dilations 1 and 2, same length →
//!   mean over time → linear;
//! - LSTM: hidden size `r`, the last step's hidden state → linear.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Initializer, Linear, LinearConfig, Lstm, LstmConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::config::TpmKind;

/// Transformer-encoder TPM.
#[derive(Module, Debug)]
pub struct TransformerTpm {
    /// Learned time positions `[T, r]`.
    pub(crate) positions: Param<Tensor<2>>,
    pub(crate) encoder: TransformerEncoder,
    pub(crate) head: Linear,
}

/// Dilated-convolution TPM.
#[derive(Module, Debug)]
pub struct TcnTpm {
    pub(crate) conv1: Conv1d,
    pub(crate) conv2: Conv1d,
    pub(crate) head: Linear,
}

/// LSTM TPM.
#[derive(Module, Debug)]
pub struct LstmTpm {
    pub(crate) lstm: Lstm,
    pub(crate) head: Linear,
}

/// One temporal processing module.
// Two per AM block: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TemporalModule {
    /// [`TransformerTpm`].
    Transformer(TransformerTpm),
    /// [`TcnTpm`].
    Tcn(TcnTpm),
    /// [`LstmTpm`].
    Lstm(LstmTpm),
}

/// The largest of 4, 2, 1 heads that divides `r`.
fn heads_for(r: usize) -> usize {
    [4, 2, 1]
        .into_iter()
        .find(|h| r.is_multiple_of(*h))
        .unwrap_or(1)
}

impl TemporalModule {
    /// A fresh module of `kind` for `frames` steps of width `r`, to `classes` logits.
    pub fn new(kind: TpmKind, frames: usize, r: usize, classes: usize, device: &Device) -> Self {
        let head = LinearConfig::new(r, classes).init(device);
        match kind {
            TpmKind::Transformer => Self::Transformer(TransformerTpm {
                positions: Param::from_tensor(
                    Initializer::Normal {
                        mean: 0.0,
                        std: 0.02,
                    }
                    .init([frames, r], device)
                    .val(),
                ),
                encoder: TransformerEncoderConfig::new(r, 2 * r, heads_for(r), 1)
                    .with_dropout(0.0)
                    .with_norm_first(true)
                    .init(device),
                head,
            }),
            TpmKind::Tcn => {
                let conv = |dilation| {
                    Conv1dConfig::new(r, r, 3)
                        .with_dilation(dilation)
                        .with_padding(PaddingConfig1d::Explicit(dilation, dilation))
                        .init(device)
                };
                Self::Tcn(TcnTpm {
                    conv1: conv(1),
                    conv2: conv(2),
                    head,
                })
            }
            TpmKind::Lstm => Self::Lstm(LstmTpm {
                lstm: LstmConfig::new(r, r, true).init(device),
                head,
            }),
        }
    }

    /// `[B, T, r]` → `[B, C]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, r] = x.dims();
        match self {
            Self::Transformer(m) => {
                let x = x + m.positions.val().unsqueeze::<3>(); // [B, T, r]
                let y = m.encoder.forward(TransformerEncoderInput::new(x)); // [B, T, r]
                m.head.forward(y.mean_dim(1).reshape([b, r]))
            }
            Self::Tcn(m) => {
                let xc = x.swap_dims(1, 2); // [B, r, T]
                let y = relu(m.conv2.forward(relu(m.conv1.forward(xc.clone())))); // [B, r, T]
                let y = (xc + y).mean_dim(2).reshape([b, r]); // [B, r]
                m.head.forward(y)
            }
            Self::Lstm(m) => {
                let (hidden, _) = m.lstm.forward(x, None); // [B, T, r]
                let last = hidden.narrow(1, t - 1, 1).reshape([b, r]); // [B, r]
                m.head.forward(last)
            }
        }
    }
}

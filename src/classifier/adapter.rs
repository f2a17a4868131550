//! Scaled parallel adapters (He et al. 2022), one beside each block's attention and one beside
//! its MLP:
//!
//! ```text
//! E   = ReLU(u · W_down + b_down)        u = h (or [h ‖ flow] in AM blocks), [B, N, d_in] → [B, N, r]
//! out = s · (E · W_up + b_up)            [B, N, r] → [B, N, D]
//! ```
//!
//! `W_up`, `b_up` start at zero, so an untrained adapter adds nothing and the model is exactly
//! the backbone; `s` is a learnable scalar starting at 1.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// One scaled parallel adapter.
#[derive(Module, Debug)]
pub struct Adapter {
    /// `[d_in, r]`.
    pub(crate) down: Linear,
    /// `[r, D]`, zero-initialised.
    pub(crate) up: Linear,
    /// `s`, `[1]`.
    pub(crate) scale: Param<Tensor<1>>,
}

impl Adapter {
    /// An adapter from `d_in` channels through a bottleneck of `r` to `d_out`.
    pub fn new(d_in: usize, r: usize, d_out: usize, device: &Device) -> Self {
        Self {
            down: LinearConfig::new(d_in, r).init(device),
            up: LinearConfig::new(r, d_out)
                .with_initializer(Initializer::Zeros)
                .init(device),
            scale: Param::from_tensor(Tensor::ones([1], device)),
        }
    }

    /// `(s · up(E), E)` for input `u` `[B, N, d_in]`: the residual addition `[B, N, D]` and the
    /// bottleneck `E` `[B, N, r]` the temporal modules read.
    pub fn forward(&self, u: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let e = relu(self.down.forward(u)); // [B, N, r]
        let out = self.up.forward(e.clone()) * self.scale.val().unsqueeze::<3>(); // [B, N, D]
        (out, e)
    }
}

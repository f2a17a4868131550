//! Vectorised CPU kernels for the element-wise work that burn's CPU backend (`flex`) does one
//! scalar libm call at a time: the exact GELU ([`gelu`]), the softmax over the last axis
//! ([`softmax`]) and vanilla AM flow fused into one pass ([`flow`]).
//!
//! Each kernel works on the flex tensor's own buffer ([`CpuTensor`]): in place when nothing else
//! holds it, read without a copy otherwise (`TensorData` would copy the buffer twice). Anything
//! that is not a float32 flex tensor outside autodiff (wgpu, a tensor that needs gradients for
//! training, another dtype) goes to burn's own operation, so these are drop-in replacements. The
//! SIMD width is picked at run time (`pulp`: AVX2+FMA on x86-64, NEON on aarch64, scalar
//! elsewhere). BENCHMARKS.md has the profile that led here and the numbers.
//!
//! Without the `cpu` feature (the web page's WebGPU worker, which carries no flex) nothing is a
//! CPU tensor: [`CpuTensor`] has no values and every kernel hands its input to burn.

pub mod exp;
pub mod flow;
pub mod gelu;
pub mod softmax;

#[cfg(feature = "cpu")]
use burn::backend::flex::{FlexTensor, Layout};
#[cfg(feature = "cpu")]
use burn::backend::{BackendTensor, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind};
#[cfg(feature = "cpu")]
use burn::tensor::{Bytes, DType};
use burn::tensor::{Shape, Tensor};

/// What [`CpuTensor::take`] found.
pub enum Taken<const D: usize> {
    /// A float32 CPU tensor outside autodiff: the kernels run.
    Cpu(CpuTensor),
    /// Anything else, handed back untouched for burn's own operation (boxed: a burn tensor is
    /// several hundred bytes).
    Other(Box<Tensor<D>>),
}

/// A float32 flex tensor taken out of a burn [`Tensor`], to be put back with [`CpuTensor::wrap`].
#[cfg(feature = "cpu")]
pub struct CpuTensor {
    tensor: FlexTensor,
    autodiff: DispatchAutodiffContext,
}

#[cfg(feature = "cpu")]
impl CpuTensor {
    /// The flex primitive of `x` when it is a float32 CPU tensor outside autodiff; `x` back
    /// otherwise.
    pub fn take<const D: usize>(x: Tensor<D>) -> Taken<D> {
        if x.device().is_autodiff() || x.dtype() != DType::F32 {
            return Taken::Other(Box::new(x));
        }
        let dispatch = x.into_dispatch();
        match dispatch.kind {
            DispatchTensorKind::Flex(BackendTensor::Float(tensor)) => {
                let tensor = if tensor.layout().contiguous_offsets().is_some() {
                    tensor
                } else {
                    tensor.to_contiguous()
                };
                Taken::Cpu(Self {
                    tensor,
                    autodiff: dispatch.autodiff,
                })
            }
            kind => Taken::Other(Box::new(Tensor::from_dispatch(DispatchTensor {
                kind,
                autodiff: dispatch.autodiff,
            }))),
        }
    }

    pub fn shape(&self) -> &Shape {
        self.tensor.layout().shape()
    }

    /// The values in row-major order, without a copy.
    pub fn values(&self) -> &[f32] {
        self.tensor.as_slice::<f32>().unwrap_or_default()
    }

    /// `f` applied to the values in place: on the tensor's own buffer when nothing else holds
    /// it, on a copy otherwise.
    pub fn map_in_place(mut self, f: impl FnOnce(&mut [f32])) -> Self {
        let range = self.tensor.layout().contiguous_offsets();
        match (range, self.tensor.try_storage_mut::<f32>()) {
            (Some((start, end)), Some(storage)) => {
                f(&mut storage[start..end]);
                self
            }
            _ => {
                let mut values = self.values().to_vec();
                f(&mut values);
                let shape = self.shape().clone();
                self.with_values(values, shape)
            }
        }
    }

    /// A new tensor of `values` in `shape` on the same device and autodiff context.
    pub fn with_values(self, values: Vec<f32>, shape: Shape) -> Self {
        Self {
            tensor: FlexTensor::new(
                Bytes::from_elems(values),
                Layout::contiguous(shape),
                DType::F32,
            ),
            autodiff: self.autodiff,
        }
    }

    /// Back into a burn tensor.
    pub fn wrap<const D: usize>(self) -> Tensor<D> {
        Tensor::from_dispatch(DispatchTensor {
            kind: DispatchTensorKind::Flex(BackendTensor::Float(self.tensor)),
            autodiff: self.autodiff,
        })
    }
}

/// Without the CPU backend there are no CPU tensors: this type has no values.
#[cfg(not(feature = "cpu"))]
pub enum CpuTensor {}

#[cfg(not(feature = "cpu"))]
impl CpuTensor {
    /// Always `x` back: this build has no CPU backend.
    pub fn take<const D: usize>(x: Tensor<D>) -> Taken<D> {
        Taken::Other(Box::new(x))
    }

    pub fn shape(&self) -> &Shape {
        match *self {}
    }

    pub fn values(&self) -> &[f32] {
        match *self {}
    }

    pub fn map_in_place(self, _: impl FnOnce(&mut [f32])) -> Self {
        match self {}
    }

    pub fn with_values(self, _: Vec<f32>, _: Shape) -> Self {
        match self {}
    }

    pub fn wrap<const D: usize>(self) -> Tensor<D> {
        match self {}
    }
}

//! Helpers shared by the integration tests: the shared reference material, `.npz` arrays, and
//! comparisons.
#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzReader;

// The library's unit tests and these share one comparison ([`max_error`]).
#[path = "../../src/test_support.rs"]
mod test_support;
pub use test_support::max_error;

/// The checkout being tested, read when the test runs (cargo sets it for `cargo test`), not when
/// it was compiled: a test binary reused from a target directory shared by several checkouts
/// must not look in the checkout that built it.
pub fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// `../shared` beside the repository: models, clips and references.
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

/// The tiny random DINOv2 with exact Hugging Face outputs.
pub fn tiny_dir() -> PathBuf {
    test_support::tiny_dinov2_dir()
}

/// The real DINOv2 ViT-S/14 (float32) with a two-frame reference.
pub fn small_dir() -> PathBuf {
    shared().join("models").join("dinov2-small")
}

/// An `.npz` file of float32 arrays.
pub struct Npz(NpzReader<File>);

impl Npz {
    pub fn open(path: PathBuf) -> Self {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self(NpzReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// The array `name` as (values in row-major order, shape).
    pub fn array(&mut self, name: &str) -> (Vec<f32>, Vec<usize>) {
        let a: ArrayD<f32> = self
            .0
            .by_name::<_, IxDyn>(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let shape = a.shape().to_vec();
        (a.as_standard_layout().iter().copied().collect(), shape)
    }

    /// The array `name` as a rank-`D` tensor on `device`.
    pub fn tensor<const D: usize>(&mut self, name: &str, device: &Device) -> Tensor<D> {
        let (values, shape) = self.array(name);
        assert_eq!(shape.len(), D, "{name} has rank {}", shape.len());
        Tensor::from_data(TensorData::new(values, shape), device)
    }
}

/// Values and shape of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> (Vec<f32>, Vec<usize>) {
    let shape = t.dims().to_vec();
    let data = t.into_data();
    (data.try_to_vec::<f32>().expect("f32 tensor"), shape)
}

/// Largest absolute difference between a tensor and a reference array of the same shape;
/// panics on any NaN or infinity on either side (see [`max_error`]).
pub fn max_abs_diff<const D: usize>(t: Tensor<D>, reference: &(Vec<f32>, Vec<usize>)) -> f32 {
    let (got, shape) = values(t);
    assert_eq!(shape, reference.1, "shape");
    max_error(&got, &reference.0, "tensor against its reference")
}

/// Asserts that `got` and `expected` differ by at most `tol` anywhere ([`max_error`]: NaN and
/// infinity fail); the message names `what`, the worst index and values.
pub fn assert_close(got: &[f32], expected: &[f32], tol: f32, what: &str) {
    let d = max_error(got, expected, what);
    if d > tol {
        let i = got
            .iter()
            .zip(expected)
            .position(|(a, b)| (a - b).abs() == d)
            .unwrap_or(0);
        panic!(
            "{what}: |{} - {}| = {d} at {i} exceeds {tol}",
            got[i], expected[i]
        );
    }
}

/// The wgpu device the GPU tests run on. In CI that is lavapipe, Mesa's software Vulkan.
pub fn wgpu_device() -> Device {
    amflow::backend::BackendKind::Wgpu.device()
}

/// What a run of the `amflow` binary printed, and whether it succeeded.
pub struct Run {
    /// Exit status 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Both streams, output first.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Both streams, after asserting that the run succeeded (the failure shows them).
    pub fn expect_ok(&self, what: &str) -> String {
        assert!(self.ok, "{what} failed:\n{}", self.text());
        self.text()
    }
}

/// Runs the `amflow` binary that cargo built for these tests.
pub fn amflow(args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amflow"))
        .args(args)
        .output()
        .expect("the amflow binary runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

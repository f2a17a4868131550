//! What the unit tests share: where the reference material lies, and the one comparison of
//! numbers (the integration tests include this file too, `tests/common`).

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};

/// The tiny random DINOv2 in `../shared/models`, found from the checkout being tested, read when
/// the test runs (cargo sets `CARGO_MANIFEST_DIR` for `cargo test`) rather than when it was
/// compiled, so that a test binary reused from a target directory shared by several checkouts
/// does not look in the checkout that built it.
pub fn tiny_dinov2_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("../shared/models/tiny-dinov2")
}

/// The one comparison every check of numbers uses: the largest `|got − expected|`, after
/// asserting that the lengths agree and that neither side holds NaN or infinity. A NaN compares
/// as neither near nor far, so a fold with `f32::max` would pass an all-NaN model; here it fails,
/// naming `what`, the index and both values.
pub fn max_error(got: &[f32], expected: &[f32], what: &str) -> f32 {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    let mut worst = 0f32;
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!(
            a.is_finite() && b.is_finite(),
            "{what}: non-finite value at {i}: {a} vs {b}"
        );
        worst = worst.max((a - b).abs());
    }
    worst
}

/// A tensor on the CPU device from `values` in row-major order and its `shape`.
pub fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), &Device::flex())
}

/// A tensor's values in row-major order, read back as `f32`.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap_or_else(|e| panic!("read-back failed: {e:?}"))
}

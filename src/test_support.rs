//! What the unit tests share: where the reference material lies.

use std::path::PathBuf;

/// The tiny random DINOv2 in `../shared/models`, found from the checkout being tested, read when
/// the test runs (cargo sets `CARGO_MANIFEST_DIR` for `cargo test`) rather than when it was
/// compiled, so that a test binary reused from a target directory shared by several checkouts
/// does not look in the checkout that built it.
pub fn tiny_dinov2_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("../shared/models/tiny-dinov2")
}

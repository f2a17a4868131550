//! The demo clip the app opens with: 4 s of `vtest.avi` (people walking past a fixed camera,
//! OpenCV's sample video), 40 JPEG frames at 10 fps, 384×288, compiled in. See
//! `assets/demo-clip/SOURCE.md`.

use super::{ClipError, MemoryClip};

/// Frames per second of the demo clip (the source's own rate).
pub const DEMO_FPS: f64 = 10.0;

macro_rules! frames {
    ($($n:literal),* $(,)?) => {
        [$(include_bytes!(concat!("../../assets/demo-clip/", $n, ".jpg")).as_slice()),*]
    };
}

static FRAMES: [&[u8]; 40] = frames!(
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    "32", "33", "34", "35", "36", "37", "38", "39",
);

/// The embedded demo clip.
pub fn demo_clip() -> Result<MemoryClip, ClipError> {
    let encoded = FRAMES.iter().map(|f| f.to_vec()).collect();
    MemoryClip::new("demo clip (vtest.avi, 10–14 s)", encoded, DEMO_FPS)
}

//! From flows to pictures and numbers: PCA-to-RGB and magnitude maps (the paper's Figure 5),
//! block ranking, and the Figure-5 grid image.

pub mod figure;
pub mod pca;
pub mod probe;
pub mod ranking;
pub mod selection;

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use pca::{Basis, Rows, min_max};

/// One block's flow at the patch tokens: `values[p * channels + c]`, patches in row-major grid
/// order (CLS and registers dropped).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PatchFlow {
    /// Row-major `[patches, channels]`.
    #[serde(with = "crate::wire_floats")]
    pub values: Vec<f32>,
    /// Channels per patch: heads for vanilla flow, `D` for aligned.
    pub channels: usize,
}

/// The patch grid of a frame: `rows × cols` patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Patches down.
    pub rows: usize,
    /// Patches across.
    pub cols: usize,
}

impl Grid {
    /// Number of patches.
    pub fn patches(&self) -> usize {
        self.rows * self.cols
    }
}

impl PatchFlow {
    /// The patch tokens of a per-head flow `[H, N]` (channel-major, as the model computes it),
    /// skipping the first `prefix` tokens (CLS and registers).
    pub fn from_heads(flow: &[f32], heads: usize, prefix: usize) -> Self {
        let n = flow.len() / heads.max(1);
        let patches = n.saturating_sub(prefix);
        let mut values = vec![0f32; patches * heads];
        for h in 0..heads {
            for p in 0..patches {
                values[p * heads + h] = flow[h * n + prefix + p];
            }
        }
        Self {
            values,
            channels: heads,
        }
    }

    /// The patch tokens of a per-channel flow `[N, D]` (token-major, as aligned flow is),
    /// skipping the first `prefix` tokens.
    pub fn from_tokens(flow: &[f32], channels: usize, prefix: usize) -> Self {
        Self {
            values: flow.get(prefix * channels..).unwrap_or_default().to_vec(),
            channels,
        }
    }

    /// Number of patches.
    pub fn patches(&self) -> usize {
        self.values.len().checked_div(self.channels).unwrap_or(0)
    }

    /// A vector flow's lengths: channels `c` and `c + C/2` are the x and y parts of one vector
    /// (the displacement flow's `v_x` and `v_y` of a head), `[P, C]` → `[P, C/2]` with
    /// `sqrt(x² + y²)`.
    pub fn vector_lengths(&self) -> PatchFlow {
        let half = self.channels / 2;
        let values = self
            .values
            .chunks_exact(self.channels.max(1))
            .flat_map(|row| (0..half).map(move |h| row[h].hypot(row[half + h])))
            .collect();
        PatchFlow {
            values,
            channels: half,
        }
    }

    /// The heads' mean vector of each patch of a vector flow `[P, 2H]` (channels `h` and
    /// `H + h` are head `h`'s `x` and `y`): `[P]` of `(x, y)`; empty when the channel count is
    /// odd (not a vector flow).
    pub fn mean_vectors(&self) -> Vec<(f32, f32)> {
        let half = self.channels / 2;
        if half == 0 || !self.channels.is_multiple_of(2) {
            return Vec::new();
        }
        self.values
            .chunks_exact(self.channels)
            .map(|row| {
                let (x, y) = row.split_at(half);
                (
                    x.iter().sum::<f32>() / half as f32,
                    y.iter().sum::<f32>() / half as f32,
                )
            })
            .collect()
    }

    fn rows(&self) -> Rows<'_> {
        Rows {
            values: &self.values,
            channels: self.channels,
        }
    }

    /// Per-patch L2 norm over the channels.
    pub fn magnitude(&self) -> Vec<f32> {
        self.values
            .chunks_exact(self.channels.max(1))
            .map(|c| c.iter().map(|v| v * v).sum::<f32>().sqrt())
            .collect()
    }
}

/// The AM flow that maps and block rankings read (`amflow maps --flow`, `amflow blocks
/// --flow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum MapFlow {
    /// The vanilla flow `[H, N]` (the paper's).
    #[default]
    Vanilla,
    /// The displacement flow `[2H, N]` (`amflow train --flow displacement`).
    Displacement,
}

impl std::fmt::Display for MapFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MapFlow::Vanilla => "vanilla",
            MapFlow::Displacement => "displacement",
        })
    }
}

/// What the maps show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The top three principal components as RGB.
    #[default]
    Pca,
    /// The per-patch L2 norm as a heat map (inferno).
    Magnitude,
    /// A vector flow's direction (the displacement flow, `[P, 2H]`: every head's `x`, then every
    /// head's `y`): the heads' mean vector of each patch, its angle as a hue on the cyclic
    /// sinebow and its length as brightness ([`direction_colour`]). A flow with an odd number
    /// of channels is not a vector flow and shows black.
    Direction,
}

/// Which PCA basis (and min–max range) colours a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BasisKind {
    /// One basis per block, as in the paper.
    #[default]
    PerBlock,
    /// One basis for all blocks: colours mean the same thing in every map.
    Shared,
}

/// The colour of a vector `(x, y)` (screen axes, `y` down) whose length is `length` of the
/// largest, `0..=1`: the sinebow at `atan2(y, x) / 2π` (rightwards `t = 0`, downwards `t = ¼`,
/// leftwards `½`, upwards `¾`: a clockwise turn on screen runs through the colours in order),
/// scaled by `length`, so still patches are black.
pub fn direction_colour(x: f32, y: f32, length: f32) -> [u8; 3] {
    let t = f64::from(y.atan2(x)) / std::f64::consts::TAU;
    if !t.is_finite() || length.is_nan() {
        return [0, 0, 0];
    }
    let c = colorous::SINEBOW.eval_continuous(t.rem_euclid(1.0));
    let k = length.clamp(0.0, 1.0);
    [c.r, c.g, c.b].map(|v| (f32::from(v) * k + 0.5) as u8)
}

/// The key to [`View::Direction`]: a disc `side` pixels across on the figures' background,
/// each point coloured as the vector from the centre to it, the rim as the longest.
pub fn direction_key(side: u32) -> RgbImage {
    let r = side as f32 / 2.0;
    RgbImage::from_fn(side, side, |px, py| {
        let (x, y) = ((px as f32 + 0.5 - r) / r, (py as f32 + 0.5 - r) / r);
        let length = x.hypot(y);
        if length > 1.0 {
            figure::BACKGROUND
        } else {
            Rgb(direction_colour(x, y, length))
        }
    })
}

/// Colours every block's patches: `[block][patch]` RGB. Deterministic.
pub fn colour_blocks(blocks: &[PatchFlow], view: View, basis: BasisKind) -> Vec<Vec<[u8; 3]>> {
    match view {
        View::Pca => {
            let mut projected: Vec<Vec<[f32; 3]>> = match basis {
                BasisKind::PerBlock => blocks
                    .iter()
                    .map(|b| {
                        let mut p = vec![Basis::fit(&[b.rows()]).project(b.rows())];
                        min_max(&mut p);
                        p.into_iter().next().unwrap_or_default()
                    })
                    .collect(),
                BasisKind::Shared => {
                    let rows: Vec<Rows<'_>> = blocks.iter().map(PatchFlow::rows).collect();
                    let shared = Basis::fit(&rows);
                    let mut p: Vec<_> = rows.iter().map(|r| shared.project(*r)).collect();
                    min_max(&mut p);
                    p
                }
            };
            projected
                .iter_mut()
                .map(|b| {
                    b.iter()
                        .map(|c| c.map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8))
                        .collect()
                })
                .collect()
        }
        View::Magnitude => {
            let mags: Vec<Vec<f32>> = blocks.iter().map(PatchFlow::magnitude).collect();
            let range = |m: &[f32]| {
                m.iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    })
            };
            let all = range(&mags.concat());
            mags.iter()
                .map(|m| {
                    let (lo, hi) = if basis == BasisKind::Shared {
                        all
                    } else {
                        range(m)
                    };
                    m.iter()
                        .map(|&v| {
                            let x = if hi - lo > 1e-12 {
                                (v - lo) / (hi - lo)
                            } else {
                                0.0
                            };
                            let c = colorous::INFERNO.eval_continuous(f64::from(x));
                            [c.r, c.g, c.b]
                        })
                        .collect()
                })
                .collect()
        }
        View::Direction => {
            let vectors: Vec<Vec<(f32, f32)>> =
                blocks.iter().map(PatchFlow::mean_vectors).collect();
            let longest = |v: &[(f32, f32)]| v.iter().fold(0f32, |m, &(x, y)| m.max(x.hypot(y)));
            let all = vectors.iter().map(|v| longest(v)).fold(0f32, f32::max);
            vectors
                .iter()
                .zip(blocks)
                .map(|(v, block)| {
                    if v.is_empty() {
                        return vec![[0, 0, 0]; block.patches()];
                    }
                    let top = if basis == BasisKind::Shared {
                        all
                    } else {
                        longest(v)
                    };
                    v.iter()
                        .map(|&(x, y)| {
                            let length = if top > 1e-12 { x.hypot(y) / top } else { 0.0 };
                            direction_colour(x, y, length)
                        })
                        .collect()
                })
                .collect()
        }
    }
}

/// A patch colouring drawn at `width × height`, each patch a block of pixels (nearest): pixel
/// `(x, y)` takes patch `(⌊y·rows/height⌋, ⌊x·cols/width⌋)`. Row by row, each row's patch
/// columns looked up once (the app draws twelve of these when a pair's maps arrive).
pub fn render(colours: &[[u8; 3]], grid: Grid, width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    let patch_col: Vec<usize> = (0..w)
        .map(|x| (x * grid.cols / w.max(1)).min(grid.cols.saturating_sub(1)))
        .collect();
    let mut out = RgbImage::new(width, height);
    for (y, row) in out.chunks_exact_mut(3 * w.max(1)).enumerate() {
        let patch_row = (y * grid.rows / h.max(1)).min(grid.rows.saturating_sub(1));
        for (pixel, col) in row.chunks_exact_mut(3).zip(&patch_col) {
            let c = colours
                .get(patch_row * grid.cols + col)
                .copied()
                .unwrap_or([0, 0, 0]);
            pixel.copy_from_slice(&c);
        }
    }
    out
}

/// `map` laid over `frame` with opacity `alpha` (0 = frame only, 1 = map only): each channel
/// `f·(1 − α) + m·α`, rounded half up; where `map` does not cover `frame`, the frame.
pub fn blend(frame: &RgbImage, map: &RgbImage, alpha: f32) -> RgbImage {
    let a = alpha.clamp(0.0, 1.0);
    // Both terms are ≥ 0, so `+ 0.5` then truncation rounds (without a call to libm's roundf,
    // which `f32::round` is on WebAssembly); `as u8` saturates at 255.
    let mix = |f: u8, m: u8| (f32::from(f) * (1.0 - a) + f32::from(m) * a + 0.5) as u8;
    if frame.dimensions() == map.dimensions() {
        let mut out = frame.clone();
        for (o, m) in out.iter_mut().zip(map.iter()) {
            *o = mix(*o, *m);
        }
        return out;
    }
    RgbImage::from_fn(frame.width(), frame.height(), |x, y| {
        let f = frame.get_pixel(x, y).0;
        let m = map.get_pixel_checked(x, y).map_or(f, |p| p.0);
        Rgb([0, 1, 2].map(|c| mix(f[c], m[c])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_mixes_by_opacity_and_keeps_the_frame_where_the_map_ends() {
        let frame = RgbImage::from_raw(2, 1, vec![10, 0, 255, 200, 100, 0]).expect("2×1");
        let map = RgbImage::from_raw(2, 1, vec![21, 255, 0, 0, 0, 0]).expect("2×1");
        assert_eq!(blend(&frame, &map, 0.0).into_raw(), frame.as_raw().clone());
        assert_eq!(blend(&frame, &map, 1.0).into_raw(), map.as_raw().clone());
        // 10·0.5 + 21·0.5 = 15.5 → 16; 0 + 127.5 → 128; 127.5 → 128; 100, 50, 0.
        assert_eq!(
            blend(&frame, &map, 0.5).into_raw(),
            [16, 128, 128, 100, 50, 0]
        );
        // Out of range opacity is clamped.
        assert_eq!(blend(&frame, &map, 7.0).into_raw(), map.as_raw().clone());
        // A map one pixel wide covers only the first pixel.
        let narrow = RgbImage::from_raw(1, 1, vec![0, 0, 0]).expect("1×1");
        assert_eq!(
            blend(&frame, &narrow, 1.0).into_raw(),
            [0, 0, 0, 200, 100, 0]
        );
    }

    #[test]
    fn head_major_flows_become_patch_rows() {
        // 2 heads, CLS + 3 patches.
        let flow = [9.0, 1.0, 2.0, 3.0, 9.0, 4.0, 5.0, 6.0];
        let p = PatchFlow::from_heads(&flow, 2, 1);
        assert_eq!(p.values, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(p.patches(), 3);
        let m = p.magnitude();
        assert!((m[0] - 17f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn colours_are_deterministic_and_span_the_range() {
        let values: Vec<f32> = (0..4 * 6).map(|i| ((i * 7 % 11) as f32).sin()).collect();
        let b = PatchFlow {
            values,
            channels: 4,
        };
        let blocks = [b.clone(), b];
        let a = colour_blocks(&blocks, View::Pca, BasisKind::PerBlock);
        assert_eq!(a, colour_blocks(&blocks, View::Pca, BasisKind::PerBlock));
        assert_eq!(a[0], a[1]);
        assert!(a[0].iter().any(|c| c[0] == 0) && a[0].iter().any(|c| c[0] == 255));
        let s = colour_blocks(&blocks, View::Pca, BasisKind::Shared);
        assert_eq!(
            s[0], a[0],
            "identical blocks: shared basis = per-block basis"
        );
        let m = colour_blocks(&blocks, View::Magnitude, BasisKind::PerBlock);
        assert_eq!(m[0].len(), 6);
    }

    #[test]
    fn directions_are_hues_and_lengths_are_brightness() {
        let at = |t: f64| {
            let c = colorous::SINEBOW.eval_continuous(t);
            [c.r, c.g, c.b]
        };
        assert_eq!(direction_colour(1.0, 0.0, 1.0), at(0.0), "right");
        assert_eq!(direction_colour(0.0, 2.0, 1.0), at(0.25), "down (y down)");
        assert_eq!(direction_colour(-3.0, 0.0, 1.0), at(0.5), "left");
        assert_eq!(direction_colour(0.0, -1.0, 1.0), at(0.75), "up");
        assert_ne!(at(0.25), at(0.75), "down and up differ");
        assert_eq!(
            direction_colour(1.0, 0.0, 0.0),
            [0, 0, 0],
            "no length: black"
        );
        assert_eq!(direction_colour(f32::NAN, 0.0, 1.0), [0, 0, 0]);
        let half = direction_colour(1.0, 0.0, 0.5);
        for (h, f) in half.iter().zip(at(0.0)) {
            assert!(
                (f32::from(*h) - f32::from(f) / 2.0).abs() <= 0.5,
                "{half:?}"
            );
        }
        // The key: the rim's right end is rightwards at full length, the centre nearly black.
        let key = direction_key(41);
        let right = key.get_pixel(40, 20).0;
        let want = direction_colour(1.0, 0.0, 20.0 / 20.5);
        assert_eq!(right, want);
        assert!(key.get_pixel(20, 20).0.iter().all(|&v| v < 16));
    }

    #[test]
    fn the_direction_view_colours_the_heads_mean_vector() {
        // 2 heads, 3 patches: moving right (both heads), still, moving up at half the length
        // (the heads' mean of (0, −1) and (0, 0)). Channels: x of heads 0, 1, then y of both.
        let flow = PatchFlow {
            values: vec![
                1.0, 1.0, 0.0, 0.0, //
                0.0, 0.0, 0.0, 0.0, //
                0.0, 0.0, -1.0, 0.0,
            ],
            channels: 4,
        };
        assert_eq!(flow.mean_vectors(), [(1.0, 0.0), (0.0, 0.0), (0.0, -0.5)]);
        let c = &colour_blocks(
            std::slice::from_ref(&flow),
            View::Direction,
            BasisKind::PerBlock,
        )[0];
        assert_eq!(c[0], direction_colour(1.0, 0.0, 1.0));
        assert_eq!(c[1], [0, 0, 0]);
        assert_eq!(c[2], direction_colour(0.0, -1.0, 0.5));
        // A flow with an odd channel count is no vector flow: black, one colour per patch.
        let odd = PatchFlow {
            values: vec![1.0; 6],
            channels: 3,
        };
        assert_eq!(
            colour_blocks(&[odd], View::Direction, BasisKind::Shared)[0],
            [[0, 0, 0]; 2]
        );
    }

    #[test]
    fn render_matches_the_per_pixel_formula_at_uneven_sizes() {
        let grid = Grid { rows: 3, cols: 5 };
        let colours: Vec<[u8; 3]> = (0..15u8).map(|i| [i, 2 * i, 255 - i]).collect();
        for (w, h) in [(17u32, 11u32), (5, 3), (4, 2), (1, 1), (40, 7)] {
            let img = render(&colours, grid, w, h);
            for y in 0..h {
                for x in 0..w {
                    let col = ((x * 5 / w) as usize).min(4);
                    let row = ((y * 3 / h) as usize).min(2);
                    assert_eq!(
                        img.get_pixel(x, y).0,
                        colours[row * 5 + col],
                        "{w}×{h} at {x},{y}"
                    );
                }
            }
        }
    }

    #[test]
    fn render_upsamples_nearest() {
        let grid = Grid { rows: 1, cols: 2 };
        let img = render(&[[255, 0, 0], [0, 0, 255]], grid, 4, 2);
        assert_eq!(img.get_pixel(1, 1).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(2, 0).0, [0, 0, 255]);
    }
}

//! Displacement flow (beyond the paper): where each token's content came from, as a vector.
//!
//! AM flow sums attention over the queries, `Σ_i softmax_j(…)`: per key token, how much attention
//! it gained or lost between two frames, not where that attention came from. A square turning
//! clockwise and one turning counter-clockwise gain attention at mirror-image places a fraction
//! of a patch apart, so the sense of a turn is nearly lost. This flow keeps the correspondence:
//! frame `t+1`'s queries read frame `t`'s keys, and the centre of that attention over the patch
//! grid, against the centre of the same query position's attention within frame `t`, is a vector
//! per token. For one block and head `h`, with `p_j = (column, row)` the position of patch `j` in
//! patches and the keys `j` over the patch tokens only (CLS and registers have no place):
//!
//! ```text
//! C[h,i,·] = softmax_j( q_i(t+1) · k_j(t) / √d_head )    token i of frame t+1 against frame t
//! S[h,i,·] = softmax_j( q_i(t)   · k_j(t) / √d_head )    token i of frame t against frame t
//! v[h,i]   = Σ_j (S − C)[h,i,j] · p_j                     [H, N, 2], patches per frame
//! flow     = [v_x of every head ‖ v_y of every head]      [2H, N]
//! ```
//!
//! When the attention finds a token's own content, `C`'s centre lies where token `i`'s content of
//! frame `t+1` was in frame `t`, `p_i − u` for a motion `u`, and `S`'s at `p_i`: `v ≈ u`, the
//! motion itself, in patches per frame. A still pair gives `v = 0` exactly; swapping the frames
//! does not simply negate `v` (the queries of the other frame are read), but a motion and its
//! mirror image give mirrored vectors. Every query, CLS included, gets a vector.

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};

use crate::model::{Capture, Dinov2, InputError};

/// Displacement flow of pairs of frames from one block's queries and keys `[B, H, N, d_head]`
/// (frame `t`'s queries and keys, frame `t+1`'s queries) → `[B, 2H, N]`, every head's `v_x`
/// first, then every head's `v_y`. The tokens are `prefix` tokens without a place (CLS,
/// registers) followed by the patches in row-major order, `cols` to a row.
pub fn displacement_flow(
    query_t: Tensor<4>,
    key_t: Tensor<4>,
    query_t1: Tensor<4>,
    prefix: usize,
    cols: usize,
) -> Tensor<3> {
    let [b, h, n, d] = query_t.dims();
    let patches = n.saturating_sub(prefix);
    let device = query_t.device();
    if patches == 0 || cols == 0 {
        return Tensor::zeros([b, 2 * h, n], &device);
    }
    let keys = key_t.narrow(2, prefix, patches).swap_dims(2, 3); // [B, H, d, P]
    let root = (d as f64).sqrt();
    let within = softmax(query_t.matmul(keys.clone()) / root, 3); // S [B, H, N, P]
    let across = softmax(query_t1.matmul(keys) / root, 3); // C [B, H, N, P]
    let places: Vec<f32> = (0..patches)
        .flat_map(|j| [(j % cols) as f32, (j / cols) as f32])
        .collect();
    let places = Tensor::<2>::from_data(TensorData::new(places, [patches, 2]), &device)
        .reshape([1, 1, patches, 2])
        .expand([b, h, patches, 2]); // p [B, H, P, 2]
    (within - across)
        .matmul(places) // v [B, H, N, 2]
        .permute([0, 3, 1, 2]) // [B, 2, H, N]
        .reshape([b, 2 * h, n])
}

/// One frame's queries and keys in every block, `[1, H, N, d_head]` each, at the block's index.
#[derive(Debug, Clone)]
pub struct QueriesKeys {
    /// Queries of block `i`.
    pub query: Vec<Tensor<4>>,
    /// Keys of block `i`.
    pub key: Vec<Tensor<4>>,
}

/// Runs the backbone once on `pixels` `[2, 3, H, W]` (frame t, frame t+1) and returns every
/// block's displacement flow of the pair, `[2H, N]` (every head's `v_x`, then every head's
/// `v_y`; the tokens as the backbone orders them, CLS and registers first).
pub fn pair_displacements(
    backbone: &Dinov2,
    pixels: Tensor<4>,
) -> Result<Vec<Tensor<2>>, InputError> {
    super::check_pair(&pixels)?;
    let config = backbone.config();
    let prefix = 1 + config.num_register_tokens;
    let cols = pixels.dims()[3] / config.patch_size.max(1);
    let capture = Capture {
        queries_keys: true,
        ..Capture::default()
    };
    let out = backbone.forward_with(pixels, capture)?; // queries and keys [2, H, N, d]
    let frame = |i: usize| QueriesKeys {
        query: out
            .query
            .iter()
            .map(|q| q.clone().narrow(0, i, 1))
            .collect(),
        key: out.key.iter().map(|k| k.clone().narrow(0, i, 1)).collect(),
    };
    Ok(displacements_between(&frame(0), &frame(1), prefix, cols))
}

/// The pair `(a, b)`'s displacement flow in every block from each frame's queries and keys,
/// `[2H, N]` (every head's `v_x`, then every head's `v_y`): `b`'s queries against `a`'s keys.
/// What [`pair_displacements`] makes of one pass of both frames and [`super::stream`] of two
/// kept frames. `prefix` tokens without a place come first, then the patches in row-major
/// order, `cols` to a row.
pub fn displacements_between(
    a: &QueriesKeys,
    b: &QueriesKeys,
    prefix: usize,
    cols: usize,
) -> Vec<Tensor<2>> {
    a.query
        .iter()
        .zip(&a.key)
        .zip(&b.query)
        .map(|((query_t, key_t), query_t1)| {
            let [_, h, n, _] = query_t.dims();
            displacement_flow(
                query_t.clone(),
                key_t.clone(),
                query_t1.clone(),
                prefix,
                cols,
            )
            .reshape([2 * h, n])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{max_error, tensor, values};

    fn close(got: &[f32], want: &[f32], tolerance: f32) {
        let error = max_error(got, want, "displacement flow");
        assert!(error < tolerance, "{got:?} != {want:?}");
    }

    #[test]
    fn hand_computed_two_patch_case() {
        // One head, no prefix, two patches in a row (places x = 0 and 1), d_head = 1, so the
        // logits are q_i · k_j. k = [0, ln 3]. Query 0 of frame t is 0 (S row [1/2, 1/2]);
        // of frame t+1 it is 1 (C row [1/4, 3/4]): v_x = (1/2 − 1/4)·0 + (1/2 − 3/4)·1 = −1/4.
        // Query 1 is 1 in both frames: v = 0. Every v_y is 0 (one row).
        let k = tensor(vec![0.0, 3f32.ln()], [1, 1, 2, 1]);
        let q_t = tensor(vec![0.0, 1.0], [1, 1, 2, 1]);
        let q_t1 = tensor(vec![1.0, 1.0], [1, 1, 2, 1]);
        let flow = values(displacement_flow(q_t, k, q_t1, 0, 2));
        close(&flow, &[-0.25, 0.0, 0.0, 0.0], 1e-6);
    }

    /// One head on a 4×4 grid whose queries and keys are each patch's own content, a sharp
    /// one-hot code, so that attention finds a token's content where it is. `content(t, x, y)`
    /// names the content at a place in frame `t`.
    fn moved(content: impl Fn(usize, usize, usize) -> usize) -> Vec<f32> {
        let (side, codes, sharp) = (4usize, 16usize, 12f32);
        let tokens = |t: usize| {
            // A prefix token (CLS) first, all zeros: its attention is uniform in both frames.
            let mut v = vec![0f32; (1 + side * side) * codes];
            for y in 0..side {
                for x in 0..side {
                    v[(1 + y * side + x) * codes + content(t, x, y)] = sharp;
                }
            }
            tensor(v, [1, 1, 1 + side * side, codes])
        };
        values(displacement_flow(tokens(0), tokens(0), tokens(1), 1, side))
    }

    #[test]
    fn a_content_moving_right_gives_a_vector_to_the_right() {
        // Every patch's content moves one patch to the right (wrapping around): in the middle
        // columns the vector is (1, 0) and the CLS token's is 0.
        let flow = moved(|t, x, y| y * 4 + (x + 4 - t) % 4);
        let (vx, vy) = flow.split_at(17);
        assert!(
            vx[0].abs() < 1e-4 && vy[0].abs() < 1e-4,
            "CLS: {vx:?} {vy:?}"
        );
        for y in 0..4 {
            for x in 1..4 {
                let i = 1 + y * 4 + x;
                close(&[vx[i], vy[i]], &[1.0, 0.0], 1e-3);
            }
        }
        // Column 0 found its content at column 3 (the wrap): the vector points left, −3.
        close(&[vx[1], vy[1]], &[-3.0, 0.0], 1e-3);
    }

    #[test]
    fn turning_the_other_way_mirrors_the_vectors() {
        // The 2×2 block in the middle of the grid turns by a quarter, clockwise on screen (y
        // grows downwards: (1,1) → (2,1) → (2,2) → (1,2) → (1,1)), or counter-clockwise.
        let ring = [(1usize, 1usize), (2, 1), (2, 2), (1, 2)];
        let turn = |sense: isize| {
            move |t: usize, x: usize, y: usize| match ring.iter().position(|&p| p == (x, y)) {
                // At t = 1 the content at ring place k came from place k − sense.
                Some(k) if t == 1 => {
                    let (fx, fy) = ring[(k as isize - sense).rem_euclid(4) as usize];
                    fy * 4 + fx
                }
                _ => y * 4 + x,
            }
        };
        let cw = moved(turn(1));
        let ccw = moved(turn(-1));
        // Clockwise: (1,1)'s content went right to (2,1), so at (2,1) v = (1, 0); at (2,2) it came
        // from (2,1) above, v = (0, 1). Counter-clockwise: at (2,1) it came from (2,2), v = (0, −1).
        let at = |flow: &[f32], x: usize, y: usize| [flow[1 + y * 4 + x], flow[18 + y * 4 + x]];
        close(&at(&cw, 2, 1), &[1.0, 0.0], 1e-3);
        close(&at(&cw, 2, 2), &[0.0, 1.0], 1e-3);
        close(&at(&ccw, 2, 1), &[0.0, -1.0], 1e-3);
        // Around the ring the two senses' vectors sum to opposite circulations.
        let circulation = |flow: &[f32]| {
            ring.iter()
                .map(|&(x, y)| {
                    let [vx, vy] = at(flow, x, y);
                    // r × v about the grid's centre (1.5, 1.5), positive clockwise on screen.
                    (x as f32 - 1.5) * vy - (y as f32 - 1.5) * vx
                })
                .sum::<f32>()
        };
        assert!(circulation(&cw) > 1.9, "{}", circulation(&cw));
        assert!(circulation(&ccw) < -1.9, "{}", circulation(&ccw));
        // Outside the ring nothing moved.
        close(&at(&cw, 0, 0), &[0.0, 0.0], 1e-3);
    }

    #[test]
    fn a_still_pair_gives_no_vectors() {
        let flow = moved(|_, x, y| y * 4 + x);
        close(&flow, &[0.0; 34], 1e-6);
    }

    /// The circulation `Σ (r × v)` of the head-mean vectors about the object's centre, over the
    /// patches within its radius, summed over a clip's pairs (positive clockwise on screen, y
    /// down), for each block: `[L]`. The centre and radius come from the renderer's poses.
    fn circulation(backbone: &crate::model::Dinov2, spec: &crate::synth::ClipSpec) -> Vec<f32> {
        use burn::tensor::Device;
        let (frames, patch, side) = (8usize, 14f32, 8usize);
        let device = Device::flex();
        let images: Vec<_> = (0..frames).map(|t| spec.frame(t)).collect();
        let pixels = Tensor::<4>::from_data(crate::video::preprocess::normalise(&images), &device);
        let capture = crate::model::Capture {
            hidden_states: true,
            ..Default::default()
        };
        let out = backbone
            .forward_with(pixels, capture)
            .unwrap_or_else(|e| panic!("{e}"));
        let pairs = frames - 1;
        backbone
            .blocks()
            .iter()
            .zip(&out.hidden_states)
            .map(|(block, z)| {
                let a = block.attn.forward(block.norm1.forward(z.clone()));
                let [_, h, n, _] = a.query.dims();
                let flow = values(displacement_flow(
                    a.query.clone().narrow(0, 0, pairs),
                    a.key.narrow(0, 0, pairs),
                    a.query.narrow(0, 1, pairs),
                    1,
                    side,
                )); // [T−1, 2H, N]
                let mut sum = 0f32;
                for t in 0..pairs {
                    let (cx, cy, half, _) = spec.pose(t);
                    let (cx, cy, r) = (cx / patch - 0.5, cy / patch - 0.5, half / patch + 0.5);
                    for j in 0..side * side {
                        let (rx, ry) = ((j % side) as f32 - cx, (j / side) as f32 - cy);
                        if rx * rx + ry * ry > r * r {
                            continue;
                        }
                        let at = |c: usize| flow[(t * 2 * h + c) * n + 1 + j];
                        let vx = (0..h).map(at).sum::<f32>() / h as f32;
                        let vy = (0..h).map(|c| at(h + c)).sum::<f32>() / h as f32;
                        sum += rx * vy - ry * vx;
                    }
                }
                sum
            })
            .collect()
    }

    #[test]
    fn vit_s_middle_blocks_tell_the_sense_of_a_turn() {
        // ViT-S/14 at 112 px (8×8 patches) on seed 7's held-out turning clips, 6 of each sense:
        // in blocks 5 and 6 every clockwise clip circulates clockwise and every counter-clockwise
        // one the other way (measured 2026-12-04: the smallest |circulation| there was 0.59).
        use crate::synth::{CLASSES, ClipSpec, Split, SynthConfig};
        let backbone = crate::embedded::backbone(&burn::tensor::Device::flex())
            .unwrap_or_else(|e| panic!("{e}"));
        let config = SynthConfig {
            seed: 7,
            ..SynthConfig::default()
        };
        for (name, sense) in [("rotate_cw", 1f32), ("rotate_ccw", -1f32)] {
            let class = CLASSES
                .iter()
                .position(|&c| c == name)
                .unwrap_or_else(|| panic!("no class {name}"));
            for index in 0..6 {
                let spec = ClipSpec::new(&config, Split::Test, class, index);
                let by_block = circulation(&backbone, &spec);
                for block in [5, 6] {
                    let c = by_block[block - 1];
                    assert!(c * sense > 0.0, "{name} clip {index}, block {block}: {c}");
                }
            }
        }
    }
}

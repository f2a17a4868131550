//! The frozen prefix of training frames, computed once and kept (`train --adapters-from K`).
//!
//! Before the first adapted block the classifier is the frozen backbone alone, so the tokens
//! entering block `K` are a function of one frame's pixels: `P(frame) = blocks₁..K−1(embed(frame))`,
//! `[N, D]`. Training sees every clip once per epoch, so without a cache it computes the same
//! `P` every epoch. The cache keys each frame by the SHA-256 of its preprocessed pixels (after
//! cropping and any mirroring), so a frame is found again whatever clip, frame sampling,
//! reversal or batch brings it, and two different frames never share an entry. Memory is
//! bounded before it is taken: once `budget` bytes are held, further frames are computed every
//! time and counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use sha2::{Digest, Sha256};

use super::model::frozen_prefix;
use crate::model::{Dinov2, InputError};

/// Why the prefix of a batch could not be given.
#[derive(Debug, thiserror::Error)]
pub enum PrefixError {
    /// The backbone refused the frames.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The computed tokens could not be read back.
    #[error("the frozen prefix could not be read back: {0}")]
    ReadBack(String),
}

/// How the cache fared, for the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// Frames held.
    pub kept: usize,
    /// Bytes held.
    pub bytes: usize,
    /// Frames found in the cache.
    pub hits: u64,
    /// Frames computed (misses).
    pub computed: u64,
    /// Frames computed that the budget left out.
    pub over_budget: u64,
    /// Batches given without their prefix ([`PrefixCache::tokens_or_note`]).
    pub failed: u64,
}

impl std::fmt::Display for PrefixStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "frozen prefix: {} frames kept ({:.1} MiB), {} found again, {} computed",
            self.kept,
            self.bytes as f64 / (1 << 20) as f64,
            self.hits,
            self.computed
        )?;
        if self.failed > 0 {
            write!(f, ", {} batches without it", self.failed)?;
        }
        if self.over_budget > 0 {
            write!(
                f,
                ", {} of them past the memory budget (computed every time)",
                self.over_budget
            )?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    frames: HashMap<[u8; 32], Arc<[f32]>>,
    stats: PrefixStats,
    /// Why the first batch went without its prefix.
    first_failure: Option<String>,
}

/// The frozen prefix of the first `blocks` blocks of a backbone, per frame, within a budget.
/// Shared by the training and validation batchers (and burn's loader workers).
pub struct PrefixCache {
    /// The backbone on the plain (non-autodiff) device: the prefix needs no gradients.
    backbone: Dinov2,
    /// That device.
    device: Device,
    blocks: usize,
    budget: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for PrefixCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixCache")
            .field("blocks", &self.blocks)
            .field("budget", &self.budget)
            .field("stats", &self.stats())
            .finish()
    }
}

impl PrefixCache {
    /// A cache of the first `blocks` blocks of `backbone` (moved off autodiff), holding at most
    /// `budget` bytes of tokens.
    pub fn new(backbone: &Dinov2, blocks: usize, budget: usize) -> Self {
        let backbone = backbone.valid();
        let device = backbone.devices().first().cloned().unwrap_or_default();
        Self {
            backbone,
            device,
            blocks,
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// Statistics so far.
    pub fn stats(&self) -> PrefixStats {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
    }

    /// Why the first batch went without its prefix, if one did.
    pub fn first_failure(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_failure
            .clone()
    }

    /// [`PrefixCache::tokens`], or `None` with the failure counted (and the first one's
    /// reason kept): the batch then goes without its prefix and the model computes it.
    pub fn tokens_or_note(
        &self,
        pixels: &[f32],
        frames: usize,
        size: usize,
        device: &Device,
    ) -> Option<Tensor<3>> {
        match self.tokens(pixels, frames, size, device) {
            Ok(tokens) => Some(tokens),
            Err(e) => {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.stats.failed += 1;
                state.first_failure.get_or_insert_with(|| e.to_string());
                None
            }
        }
    }

    /// The frozen prefix `[F, N, D]` of `frames` frames whose normalised pixels `[F, 3, S, S]`
    /// are `pixels` (row-major), on `device`: kept frames from the cache, the others computed
    /// together (and kept while the budget allows).
    pub fn tokens(
        &self,
        pixels: &[f32],
        frames: usize,
        size: usize,
        device: &Device,
    ) -> Result<Tensor<3>, PrefixError> {
        let per_frame = 3 * size * size;
        if frames == 0 || pixels.len() != frames * per_frame {
            return Err(InputError::Empty {
                batch: frames,
                height: size,
                width: size,
            }
            .into());
        }
        let keys: Vec<[u8; 32]> = pixels
            .chunks_exact(per_frame)
            .map(|frame| Sha256::digest(bytemuck::cast_slice::<f32, u8>(frame)).into())
            .collect();
        let mut found: Vec<Option<Arc<[f32]>>> = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            keys.iter().map(|k| state.frames.get(k).cloned()).collect()
        };
        let missing: Vec<usize> = (0..frames).filter(|&i| found[i].is_none()).collect();
        if !missing.is_empty() {
            let mut values = Vec::with_capacity(missing.len() * per_frame);
            for &i in &missing {
                values.extend_from_slice(&pixels[i * per_frame..(i + 1) * per_frame]);
            }
            let batch = Tensor::<4>::from_data(
                TensorData::new(values, [missing.len(), 3, size, size]),
                &self.device,
            );
            let computed = frozen_prefix(&self.backbone, self.blocks, batch)?; // [M, N, D]
            let [m, n, d] = computed.dims();
            let data = computed
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| PrefixError::ReadBack(format!("{e:?}")))?;
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            for (j, &i) in missing.iter().enumerate().take(m) {
                let tokens: Arc<[f32]> = data[j * n * d..(j + 1) * n * d].into();
                let bytes = tokens.len() * size_of::<f32>();
                state.stats.computed += 1;
                if state.stats.bytes + bytes <= self.budget {
                    if state.frames.insert(keys[i], tokens.clone()).is_none() {
                        state.stats.bytes += bytes;
                        state.stats.kept += 1;
                    }
                } else {
                    state.stats.over_budget += 1;
                }
                found[i] = Some(tokens);
            }
            state.stats.hits += (frames - missing.len()) as u64;
        } else {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.stats.hits += frames as u64;
        }
        let width = found
            .first()
            .and_then(|f| f.as_ref())
            .map_or(0, |f| f.len());
        let d = self.backbone.config().hidden_size;
        let mut out = Vec::with_capacity(frames * width);
        for tokens in found.iter().flatten() {
            out.extend_from_slice(tokens);
        }
        Ok(Tensor::from_data(
            TensorData::new(out, [frames, width / d.max(1), d]),
            device,
        ))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;
    use crate::test_support::{max_error, tiny_dinov2_dir, values};

    #[test]
    fn kept_frames_are_the_prefix_of_each_frame_found_by_content() {
        let device = Device::flex();
        let backbone =
            Dinov2::load_dir(tiny_dinov2_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
        let layers = backbone.blocks().len();
        let blocks = layers.min(2);
        let s = 28;
        let frames = Tensor::<4>::random([3, 3, s, s], Distribution::Normal(0.0, 1.0), &device);
        let pixels = values(frames.clone());
        // The reference: the prefix of each frame on its own, through the backbone's blocks.
        let reference: Vec<Tensor<3>> = (0..3)
            .map(|i| {
                let mut z = backbone
                    .embed(frames.clone().narrow(0, i, 1))
                    .unwrap_or_else(|e| panic!("{e}"));
                for block in &backbone.blocks()[..blocks] {
                    z = block.forward(z).tokens;
                }
                z
            })
            .collect();
        let per = 3 * s * s;
        let cache = PrefixCache::new(&backbone, blocks, usize::MAX);
        // Frames 0 and 1, then 2, 1, 0 (reversed order, one new frame).
        let first = cache
            .tokens(&pixels[..2 * per], 2, s, &device)
            .unwrap_or_else(|e| panic!("{e}"));
        let reversed: Vec<f32> = [2, 1, 0]
            .iter()
            .flat_map(|&i| pixels[i * per..(i + 1) * per].iter().copied())
            .collect();
        let second = cache
            .tokens(&reversed, 3, s, &device)
            .unwrap_or_else(|e| panic!("{e}"));
        for (got, want) in [
            (first.clone().narrow(0, 0, 1), &reference[0]),
            (first.narrow(0, 1, 1), &reference[1]),
            (second.clone().narrow(0, 0, 1), &reference[2]),
            (second.clone().narrow(0, 1, 1), &reference[1]),
            (second.narrow(0, 2, 1), &reference[0]),
        ] {
            let err = max_error(&values(got), &values(want.clone()), "cached prefix");
            assert!(err < 1e-5, "max error {err}");
        }
        let stats = cache.stats();
        assert_eq!((stats.kept, stats.computed, stats.hits), (3, 3, 2));
        assert_eq!(stats.over_budget, 0);
    }

    #[test]
    fn frames_past_the_budget_are_computed_and_counted_not_kept() {
        let device = Device::flex();
        let backbone =
            Dinov2::load_dir(tiny_dinov2_dir(), &device).unwrap_or_else(|e| panic!("{e}"));
        let s = 28;
        let pixels = values(Tensor::<4>::random(
            [2, 3, s, s],
            Distribution::Normal(0.0, 1.0),
            &device,
        ));
        let cache = PrefixCache::new(&backbone, 1, 0);
        let once = cache
            .tokens(&pixels, 2, s, &device)
            .unwrap_or_else(|e| panic!("{e}"));
        let again = cache
            .tokens(&pixels, 2, s, &device)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(max_error(&values(once), &values(again), "prefix computed twice") < 1e-6);
        let stats = cache.stats();
        assert_eq!((stats.kept, stats.bytes, stats.hits), (0, 0, 0));
        assert_eq!((stats.computed, stats.over_budget), (4, 4));
    }
}

//! Each frame through the backbone once. A pair's AM flow needs only what each of its two frames
//! gives on its own, per block:
//!
//! ```text
//! X(t)        attention logits           [1, H, N, N]       (the vanilla flow reads both frames')
//! colsum(t)   Σ_i softmax_j X(t)[h,i,j]  [1, H, N]          (the aligned flow's input)
//! q(t), k(t)  queries and keys           [1, H, N, d_head]  (the displacement flow reads
//!                                                            q(t), k(t) and q(t+1))
//! ```
//!
//! so consecutive pairs `(t, t+1), (t+1, t+2), …` share a frame each: [`FrameSignals`] keeps one
//! frame's signals on the device, [`flows_between`] and [`super::displacements_between`] make a pair's
//! flows from two of them, and [`FrameCache`] keeps the last few frames' signals by a key (a
//! frame's index in a stream, or a hash of its pixels), so a new pair costs one backbone pass
//! instead of two, for either flow.
//!
//! Memory per kept frame: `L·H·N²·4` bytes of logits and `2·L·H·N·d_head·4` of queries and keys
//! (ViT-S/14 at 224: 12·6·257²·4 ≈ 19 MB and 12·2·6·257·64·4 ≈ 9.5 MB).

use std::collections::VecDeque;

use burn::tensor::Tensor;

use super::displacement::QueriesKeys;
use super::{FlowKernel, PairFlows, column_sums};
use crate::model::{BlockOutput, Capture, Dinov2, InputError};

/// One frame's attention signals, every block, on the device.
#[derive(Debug, Clone)]
pub struct FrameSignals {
    /// Attention logits of block `i` at index `i`, `[1, H, N, N]`.
    pub logits: Vec<Tensor<4>>,
    /// Column sums of block `i`, `[1, H, N]`.
    pub colsum: Vec<Tensor<3>>,
    /// Every block's queries and keys, for the displacement flow; `None` where the frame's pass
    /// ran elsewhere and only the rest came back (the web page's helper worker sends the logits
    /// and column sums alone), to be filled by [`FrameCache::queries_keys_or_compute`].
    pub queries_keys: Option<QueriesKeys>,
}

/// Runs the backbone on one frame's normalised `pixels` `[1, 3, H, W]` and keeps what its pairs
/// need. Each block's probabilities `[1, H, N, N]` are summed into its column sums as soon as the
/// block is done and dropped, so a frame holds one block's probabilities at a time instead of
/// every block's (~32 MB for ViT-S/14 at 224×294).
pub fn frame_signals(backbone: &Dinov2, pixels: Tensor<4>) -> Result<FrameSignals, InputError> {
    let blocks = backbone.blocks.len();
    let mut signals = FrameSignals {
        logits: Vec::with_capacity(blocks),
        colsum: Vec::with_capacity(blocks),
        queries_keys: Some(QueriesKeys {
            query: Vec::with_capacity(blocks),
            key: Vec::with_capacity(blocks),
        }),
    };
    each_block(backbone, pixels, |_, out| {
        signals.logits.push(out.logits);
        signals.colsum.push(column_sums(out.probs));
        if let Some(qk) = &mut signals.queries_keys {
            qk.query.push(out.query);
            qk.key.push(out.key);
        }
    })?;
    Ok(signals)
}

/// Runs the backbone on one frame's normalised `pixels` `[1, 3, H, W]`, handing each block's
/// attention logits `[1, H, N, N]` and column sums `[1, H, N]` to `each(i, logits, colsum)` as
/// soon as block `i` is done, before block `i + 1` runs, and keeping nothing: what the web page's
/// helper worker sends on while it computes the next block. The same values as
/// [`frame_signals`]'s `logits[i]` and `colsum[i]`.
pub fn frame_signals_each(
    backbone: &Dinov2,
    pixels: Tensor<4>,
    mut each: impl FnMut(usize, Tensor<4>, Tensor<3>),
) -> Result<(), InputError> {
    each_block(backbone, pixels, |i, out| {
        each(i, out.logits, column_sums(out.probs))
    })
}

/// The backbone on one frame's `pixels` `[1, 3, H, W]`, each block's output handed to `each`
/// as soon as the block is done ([`Dinov2::forward_blocks`]); another batch size is refused.
fn each_block(
    backbone: &Dinov2,
    pixels: Tensor<4>,
    each: impl FnMut(usize, BlockOutput),
) -> Result<(), InputError> {
    let z = backbone.embed(one_frame(pixels)?)?; // [1, N, D]
    backbone.forward_blocks(z, each);
    Ok(())
}

/// Runs the backbone on one frame's normalised `pixels` `[1, 3, H, W]` and keeps every block's
/// queries and keys alone: for a frame whose other signals are kept already.
pub fn frame_queries_keys(backbone: &Dinov2, pixels: Tensor<4>) -> Result<QueriesKeys, InputError> {
    let capture = Capture {
        queries_keys: true,
        ..Capture::default()
    };
    let out = backbone.forward_with(one_frame(pixels)?, capture)?;
    Ok(QueriesKeys {
        query: out.query,
        key: out.key,
    })
}

/// `pixels` `[1, 3, H, W]` as they are; another batch size is refused.
fn one_frame(pixels: Tensor<4>) -> Result<Tensor<4>, InputError> {
    match pixels.dims()[0] {
        1 => Ok(pixels),
        found => Err(InputError::Batch { found, expected: 1 }),
    }
}

/// The pair `(a, b)`'s flows: every block's vanilla flow from `a` to `b` `[H, N]` and both
/// frames' column sums `[2, H, N]`, as [`super::pair_flows`] computes them from the pair's
/// pixels.
pub fn flows_between(kernel: &dyn FlowKernel, a: &FrameSignals, b: &FrameSignals) -> PairFlows {
    let vanilla = a
        .logits
        .iter()
        .zip(&b.logits)
        .map(|(x, y)| {
            let [_, h, n, _] = x.dims();
            kernel.vanilla_flow(x.clone(), y.clone()).reshape([h, n])
        })
        .collect();
    let colsum = a
        .colsum
        .iter()
        .zip(&b.colsum)
        .map(|(x, y)| Tensor::cat(vec![x.clone(), y.clone()], 0))
        .collect();
    PairFlows { vanilla, colsum }
}

/// The signals of the last `capacity` frames asked for, by key; the oldest is dropped first.
#[derive(Debug)]
pub struct FrameCache {
    capacity: usize,
    /// Oldest first.
    entries: VecDeque<(u64, FrameSignals)>,
    /// Frames found here instead of computed, and frames computed.
    reused: u64,
    computed: u64,
}

impl FrameCache {
    /// A cache of at most `capacity` frames (2 serves consecutive pairs; `k + 1` serves pairs
    /// `k` frames apart).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: VecDeque::with_capacity(capacity),
            reused: 0,
            computed: 0,
        }
    }

    /// The signals kept under `key`, or those `compute` makes, kept under `key` from now on.
    pub fn get_or_compute<E>(
        &mut self,
        key: u64,
        compute: impl FnOnce() -> Result<FrameSignals, E>,
    ) -> Result<FrameSignals, E> {
        if let Some(i) = self.entries.iter().position(|(k, _)| *k == key) {
            self.reused += 1;
            // Move it to the newest place: it is still in use.
            let entry = self.entries.remove(i).map(|(_, s)| s);
            if let Some(signals) = entry {
                self.insert(key, signals.clone());
                return Ok(signals);
            }
        }
        let signals = compute()?;
        self.computed += 1;
        self.insert(key, signals.clone());
        Ok(signals)
    }

    /// The queries and keys of the frame under `key`: kept ones, or those of a pass made now.
    /// A frame kept without them ([`FrameSignals::queries_keys`] `None`) gets them from
    /// `queries_keys`, a frame not kept at all its whole signals from `signals` (kept from now
    /// on, as [`FrameCache::get_or_compute`] keeps them); either counts as computed.
    pub fn queries_keys_or_compute<E>(
        &mut self,
        key: u64,
        signals: impl FnOnce() -> Result<FrameSignals, E>,
        queries_keys: impl FnOnce() -> Result<QueriesKeys, E>,
    ) -> Result<QueriesKeys, E> {
        let kept = self.entries.iter().position(|(k, _)| *k == key);
        let (mut entry, fresh) = match kept.and_then(|i| self.entries.remove(i)) {
            Some((_, entry)) => (entry, false),
            None => (signals()?, true),
        };
        if fresh {
            self.computed += 1;
        }
        let qk = match entry.queries_keys.clone() {
            Some(qk) => {
                if !fresh {
                    self.reused += 1;
                }
                qk
            }
            None => match queries_keys() {
                Ok(qk) => {
                    self.computed += 1;
                    entry.queries_keys = Some(qk.clone());
                    qk
                }
                Err(e) => {
                    // Kept as it was, newest: still in use.
                    self.insert(key, entry);
                    return Err(e);
                }
            },
        };
        self.insert(key, entry);
        Ok(qk)
    }

    /// Whether the signals under `key` are kept.
    pub fn contains(&self, key: u64) -> bool {
        self.entries.iter().any(|(k, _)| *k == key)
    }

    /// Keeps `signals`, computed elsewhere, under `key`, counted as computed.
    pub fn insert_computed(&mut self, key: u64, signals: FrameSignals) {
        self.computed += 1;
        self.entries.retain(|(k, _)| *k != key);
        self.insert(key, signals);
    }

    fn insert(&mut self, key: u64, signals: FrameSignals) {
        if self.capacity == 0 {
            return;
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((key, signals));
    }

    /// `(reused, computed)`: frames taken from the cache and frames run through the backbone.
    pub fn counts(&self) -> (u64, u64) {
        (self.reused, self.computed)
    }
}

/// A key for a frame as the backbone sees it (after resizing and cropping): a hash of its size
/// and bytes. Two frames with the same key have the same pixels (up to a 64-bit collision).
pub fn frame_key(frame: &crate::video::Frame) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    frame.dimensions().hash(&mut hasher);
    frame.as_raw().hash(&mut hasher);
    hasher.finish()
}

//! A pair's two backbone passes on two cores in the browser. WebAssembly without shared memory
//! runs one thread per worker, so the page's CPU worker starts a helper: a second worker of its
//! own module, holding the same backbone. For a pair with neither frame cached, the worker sends
//! the second frame to the helper ([`Request::Signals`]) and runs the first itself; the helper
//! sends each block's signals back the moment the block is done ([`Reply::SignalsBlock`]), then
//! the count ([`Reply::Signals`]), and the flow is made from the two frames' signals as for any
//! pair ([`crate::flow::flows_between`]).
//!
//! ```text
//! worker:  frame t   → backbone ─────────────────────→ signals ┐
//! helper:  frame t+1 → block 0 → block 1 → … → block L−1       │
//!                      ↳ sent    ↳ sent       ↳ sent ──────────┴→ flows_between → maps
//! ```
//!
//! The signals of a ViT-S/14 frame at the page's 224×294 are `L·H·N²·4 ≈ 32 MB` of logits; a
//! block's buffers are copied once out of the helper's memory, transferred, and copied once into
//! the worker's ([`Reply::take_bulk`]). Sent block by block, all but the last block's are in the
//! worker's queue before the helper's pass ends, instead of the whole frame being packed,
//! posted and unpacked after it.

use burn::tensor::{Device, Tensor, TensorData};

use super::EngineError;
use super::protocol::WireBlock;
use crate::flow::FrameSignals;

/// Block `block`'s logits `[1, H, N, N]` and column sums `[1, H, N]` read back, as they travel.
/// Synchronous: the helper runs on the CPU backend, whose tensors are on the host already.
pub fn to_wire_block(
    block: usize,
    logits: Tensor<4>,
    colsum: Tensor<3>,
) -> Result<WireBlock, EngineError> {
    let [_, heads, tokens, _] = logits.dims();
    Ok(WireBlock {
        block,
        heads,
        tokens,
        logits: host_floats(logits)?,
        colsum: host_floats(colsum)?,
    })
}

/// `t`'s values, its buffer taken as it is where the backend can hand it over.
fn host_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, EngineError> {
    t.try_into_data()
        .map_err(|e| EngineError::Model(format!("{e:?}")))?
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| EngineError::Model(format!("{e:?}")))
}

/// The frame's signals made of the `count` blocks the helper said it sent, as tensors on
/// `device`; an error when a block is missing or repeated, or its values do not fill its shape.
pub fn from_wire(
    mut blocks: Vec<WireBlock>,
    count: usize,
    device: &Device,
) -> Result<FrameSignals, EngineError> {
    blocks.sort_by_key(|b| b.block);
    let indices: Vec<usize> = blocks.iter().map(|b| b.block).collect();
    if count == 0 || indices != (0..count).collect::<Vec<_>>() {
        return Err(EngineError::Model(format!(
            "a frame's signals of {count} blocks arrived as blocks {indices:?}"
        )));
    }
    let (heads, tokens) = (blocks[0].heads, blocks[0].tokens);
    let mut logits = Vec::with_capacity(count);
    let mut colsum = Vec::with_capacity(count);
    for b in blocks {
        if (b.heads, b.tokens) != (heads, tokens) || heads * tokens == 0 {
            return Err(EngineError::Model(format!(
                "block {} of a frame's signals has {} heads and {} tokens, block 0 {heads} and \
                 {tokens}",
                b.block, b.heads, b.tokens
            )));
        }
        logits.push(block_tensor(b.logits, [1, heads, tokens, tokens], device)?);
        colsum.push(block_tensor(b.colsum, [1, heads, tokens], device)?);
    }
    Ok(FrameSignals {
        logits,
        colsum,
        queries_keys: None,
    })
}

/// One block's `values` as a tensor of `shape`, the vector kept as it is.
fn block_tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>, EngineError> {
    let expected = shape.iter().product::<usize>();
    if values.len() != expected {
        return Err(EngineError::Model(format!(
            "a block's signals of shape {shape:?} cannot be made of {} values (expected \
             {expected})",
            values.len()
        )));
    }
    Ok(Tensor::from_data(TensorData::new(values, shape), device))
}

#[cfg(all(target_arch = "wasm32", feature = "cpu"))]
pub use web::Helper;

/// The helper itself, on the page's CPU worker only (built with `cpu`).
#[cfg(all(target_arch = "wasm32", feature = "cpu"))]
mod web {
    use burn::tensor::Device;
    use wasm_bindgen::JsCast;
    use web_sys::DedicatedWorkerGlobalScope;

    use super::super::protocol::{BackboneSource, Reply, Request, WireFrame};
    use super::super::{Engine, EngineError};
    use crate::flow::FrameSignals;
    use crate::video::Frame;

    /// The name the helper runs under (shown by the browser's tools), by which a worker knows
    /// it is one and starts no helper of its own.
    const NAME: &str = "amflow-helper";

    /// The helper worker, as its parent sees it.
    pub struct Helper {
        engine: Engine,
    }

    impl Helper {
        /// Whether this worker is itself a helper.
        pub fn is_helper() -> bool {
            js_sys::global()
                .dyn_into::<DedicatedWorkerGlobalScope>()
                .is_ok_and(|scope| scope.name() == NAME)
        }

        /// Starts a helper: this worker's own script in a second worker.
        pub fn start() -> Result<Self, EngineError> {
            let scope = js_sys::global()
                .dyn_into::<DedicatedWorkerGlobalScope>()
                .map_err(|_| EngineError::Engine("a helper is started from a worker".into()))?;
            let script = scope.location().href();
            Ok(Self {
                engine: Engine::worker_at(&script, NAME)?,
            })
        }

        /// Has the helper load `source` (after this worker has: its files are then in the
        /// page's cache). A failure is reported on the console; the pairs then run here.
        pub fn load_backbone(&self, source: BackboneSource) {
            self.engine
                .request_with(Request::LoadBackbone(source), |reply| match reply {
                    Reply::BackboneLoaded(Err(e)) | Reply::Failed(e) => {
                        web_sys::console::warn_1(
                            &format!("amflow: the helper worker has no backbone ({e}); pairs run on one core").into(),
                        );
                    }
                    _ => {}
                });
        }

        /// Sends `frame` (as the backbone takes it) to the helper now; the future is its
        /// signals on `device`, or `None` (reported on the console) when the helper failed.
        /// The helper's blocks wait in this worker's queue while it runs its own frame.
        pub fn signals(
            &self,
            frame: &Frame,
            device: &Device,
        ) -> impl Future<Output = Option<FrameSignals>> + use<> {
            let (tx, rx) = async_channel::unbounded();
            self.engine.request_with(
                Request::Signals {
                    frame: WireFrame::from(frame),
                },
                move |reply| {
                    let _ = tx.try_send(reply);
                },
            );
            let device = device.clone();
            async move {
                let mut blocks = Vec::new();
                let result = loop {
                    match rx.recv().await {
                        Ok(Reply::SignalsBlock(block)) => blocks.push(block),
                        Ok(Reply::Signals(Ok(count))) => {
                            break super::from_wire(std::mem::take(&mut blocks), count, &device);
                        }
                        Ok(other) => break Err(other.unexpected("Signals")),
                        Err(_) => {
                            break Err(EngineError::Engine("the helper worker is gone".into()));
                        }
                    }
                };
                result
                    .inspect_err(|e| {
                        web_sys::console::warn_1(
                            &format!("amflow: the helper worker failed ({e}); the frame runs here")
                                .into(),
                        );
                    })
                    .ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::PairAnalysis;
    use crate::engine::block_on;
    use crate::engine::protocol::{Envelope, Reply, decode, encode};
    use crate::flow::{FrameCache, frame_signals_each};
    use crate::model::Dinov2;
    use crate::test_support::{max_error, tiny_dinov2_dir};
    use crate::video::Frame;

    /// `reply` as it crosses between the page's workers: its bulk floats taken out, the rest
    /// through MessagePack, the floats put back.
    fn across(reply: Reply) -> Reply {
        let mut reply = reply;
        let bulk = reply.take_bulk();
        let bytes = encode(&Envelope {
            id: 7,
            message: reply,
        })
        .expect("encoded");
        let mut back: Envelope<Reply> = decode(&bytes).expect("decoded");
        back.message
            .put_bulk(bulk)
            .expect("the floats fit the reply");
        back.message
    }

    /// The split the page's CPU worker makes: the second frame's blocks computed "elsewhere"
    /// (here: on this thread, each through the wire as the helper sends it) give the same pair
    /// as the pair computed whole, and the elsewhere pass is the one used.
    #[test]
    fn a_pair_split_over_the_wire_matches_the_pair_computed_whole() {
        let device = Device::flex();
        let backbone = Dinov2::load_dir(tiny_dinov2_dir(), &device).expect("tiny backbone");
        let frames = crate::video::demo_clip()
            .expect("demo clip")
            .frames(&[0, 3])
            .expect("frames");
        let pair = [&frames[0], &frames[1]];
        let whole = block_on(PairAnalysis::run(&backbone, pair, 56, &device)).expect("pair");
        let mut cache = FrameCache::new(2);
        let mut sent = None;
        let elsewhere = |frame: &Frame| {
            sent = Some(frame.clone());
            let pixels = Tensor::<4>::from_data(
                crate::video::preprocess::normalise(std::slice::from_ref(frame)),
                &device,
            );
            let mut replies = Vec::new();
            frame_signals_each(&backbone, pixels, |i, logits, colsum| {
                let wire = to_wire_block(i, logits, colsum).expect("to the wire");
                replies.push(across(Reply::SignalsBlock(wire)));
            })
            .expect("signals");
            assert!(
                replies.iter().all(|r| !r.is_final()),
                "a block does not end the request"
            );
            let blocks: Vec<WireBlock> = replies
                .into_iter()
                .map(|r| match r {
                    Reply::SignalsBlock(b) => b,
                    other => panic!("{other:?} came back as a block"),
                })
                .collect();
            let count = blocks.len();
            let back = from_wire(blocks, count, &device).expect("from the wire");
            Some(std::future::ready(Some(back)))
        };
        let split = block_on(PairAnalysis::run_cached_with(
            &backbone, pair, 56, &device, &mut cache, elsewhere,
        ))
        .expect("split pair");
        assert_eq!(
            sent.as_ref(),
            Some(&whole.frames[1]),
            "the second frame as the backbone takes it went elsewhere"
        );
        assert_eq!(
            cache.counts(),
            (2, 2),
            "(reused, computed): both passes made once"
        );
        for (what, got, expected) in [
            ("vanilla", &split.data.vanilla, &whole.data.vanilla),
            ("colsum", &split.data.colsum, &whole.data.colsum),
        ] {
            assert_eq!(got.len(), expected.len());
            for (block, (g, e)) in got.iter().zip(expected).enumerate() {
                let err = max_error(g, e, &format!("block {block} {what}"));
                assert!(err < 1e-5, "block {block} {what}: {err}");
            }
        }
    }

    fn block(i: usize, heads: usize, tokens: usize) -> WireBlock {
        WireBlock {
            block: i,
            heads,
            tokens,
            logits: (0..heads * tokens * tokens).map(|v| v as f32).collect(),
            colsum: vec![1.5; heads * tokens],
        }
    }

    /// A block's floats cross beside the message and come back bit for bit; a reply given the
    /// wrong number of buffers is refused.
    #[test]
    fn a_block_crosses_with_its_floats_beside_the_message() {
        let sent = block(3, 2, 3);
        match across(Reply::SignalsBlock(sent.clone())) {
            Reply::SignalsBlock(got) => assert_eq!(got, sent),
            other => panic!("{other:?}"),
        }
        let mut reply = Reply::SignalsBlock(sent);
        let bulk = reply.take_bulk();
        assert_eq!(bulk.len(), 2);
        match &reply {
            Reply::SignalsBlock(b) => assert!(b.logits.is_empty() && b.colsum.is_empty()),
            other => panic!("{other:?}"),
        }
        assert!(reply.put_bulk(bulk[..1].to_vec()).is_err());
        assert!(Reply::Fetched.put_bulk(bulk).is_err());
        assert!(Reply::Fetched.take_bulk().is_empty());
    }

    /// Blocks out of order are put in order; a missing, repeated or torn block, or blocks of
    /// different shapes, are refused.
    #[test]
    fn a_frame_is_made_of_every_block_once() {
        let device = Device::flex();
        let good = || vec![block(1, 1, 2), block(0, 1, 2)];
        let signals = from_wire(good(), 2, &device).expect("two blocks out of order");
        assert_eq!(signals.logits.len(), 2);
        let first = signals.logits[0]
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(first, vec![0.0, 1.0, 2.0, 3.0], "block 0 first");
        assert!(from_wire(good(), 3, &device).is_err(), "a block missing");
        assert!(from_wire(good(), 0, &device).is_err(), "no blocks");
        let repeated = vec![block(0, 1, 2), block(0, 1, 2)];
        assert!(from_wire(repeated, 2, &device).is_err(), "block 0 twice");
        let mut torn = good();
        torn[0].logits.pop();
        assert!(from_wire(torn, 2, &device).is_err(), "torn logits");
        let mut short = good();
        short[1].colsum.truncate(1);
        assert!(from_wire(short, 2, &device).is_err(), "torn column sums");
        let mixed = vec![block(0, 1, 2), block(1, 2, 2)];
        assert!(
            from_wire(mixed, 2, &device).is_err(),
            "blocks of different shapes"
        );
    }
}

//! A pair's two backbone passes on two cores in the browser. WebAssembly without shared memory
//! runs one thread per worker, so the page's CPU worker starts a helper: a second worker of its
//! own module, holding the same backbone. For a pair with neither frame cached, the worker sends
//! the second frame to the helper ([`Request::Signals`]), runs the first itself, and takes the
//! helper's [`FrameSignals`] back as bytes ([`WireSignals`]); the flow is made from the two as
//! for any pair ([`crate::flow::flows_between`]).
//!
//! ```text
//! worker:  frame t   → backbone → signals ┐
//! helper:  frame t+1 → backbone → signals ┴→ flows_between → maps
//! ```
//!
//! The signals of a ViT-S/14 frame at 224 are `L·H·N²·4 ≈ 19 MB` of logits; their buffer is
//! transferred between the workers, not copied by the browser.

use burn::tensor::{DType, Device, Tensor, TensorData};
use serde_bytes::ByteBuf;

use super::EngineError;
use super::protocol::WireSignals;
use crate::analysis::read_back_data;
use crate::flow::FrameSignals;
use crate::model::weights::widen::f32_le;

/// `signals` read back and packed: each block's logits `[H, N, N]` and column sums `[H, N]` as
/// float32 little-endian bytes, one buffer per block, each written in one copy from what the
/// backend hands back.
pub async fn to_wire(signals: FrameSignals) -> Result<WireSignals, EngineError> {
    // The queries and keys stay: the displacement flow asks for them when it is shown.
    let FrameSignals { logits, colsum, .. } = signals;
    let [_, heads, tokens, _] = logits.first().map_or([0; 4], |t| t.dims());
    if logits.is_empty() || colsum.len() != logits.len() {
        return Err(EngineError::Model(format!(
            "{} blocks of logits and {} of column sums",
            logits.len(),
            colsum.len()
        )));
    }
    Ok(WireSignals {
        heads,
        tokens,
        logits: le_buffers(logits).await?,
        colsum: le_buffers(colsum).await?,
    })
}

/// Each tensor's values as float32 little-endian bytes.
async fn le_buffers<const D: usize>(tensors: Vec<Tensor<D>>) -> Result<Vec<ByteBuf>, EngineError> {
    let mut buffers = Vec::with_capacity(tensors.len());
    for t in tensors {
        let data = read_back_data(t).await.map_err(EngineError::model)?;
        let bytes = if cfg!(target_endian = "little") {
            data.as_bytes().to_vec()
        } else {
            let values = data
                .try_into_vec::<f32>()
                .map_err(|e| EngineError::Model(format!("{e:?}")))?;
            crate::wire_floats::to_bytes(&values)
        };
        buffers.push(ByteBuf::from(bytes));
    }
    Ok(buffers)
}

/// The signals `wire` carries, as tensors on `device`; an error when a block's bytes do not
/// fill its shape.
pub fn from_wire(wire: WireSignals, device: &Device) -> Result<FrameSignals, EngineError> {
    let WireSignals {
        heads,
        tokens,
        logits,
        colsum,
    } = wire;
    if logits.is_empty() || logits.len() != colsum.len() || heads * tokens == 0 {
        return Err(EngineError::Model(format!(
            "a frame's signals of {} blocks of logits, {} of column sums, {heads} heads and \
             {tokens} tokens",
            logits.len(),
            colsum.len()
        )));
    }
    let logits = logits
        .into_iter()
        .map(|b| block_tensor(b, [1, heads, tokens, tokens], device))
        .collect::<Result<_, _>>()?;
    let colsum = colsum
        .into_iter()
        .map(|b| block_tensor(b, [1, heads, tokens], device))
        .collect::<Result<_, _>>()?;
    Ok(FrameSignals {
        logits,
        colsum,
        queries_keys: None,
    })
}

/// One block's float32 little-endian `bytes` as a tensor of `shape`, the bytes kept as they
/// are where the machine is little-endian.
fn block_tensor<const D: usize>(
    bytes: ByteBuf,
    shape: [usize; D],
    device: &Device,
) -> Result<Tensor<D>, EngineError> {
    let expected = shape.iter().product::<usize>() * 4;
    if bytes.len() != expected {
        return Err(EngineError::Model(format!(
            "a block's signals of shape {shape:?} cannot be made of {} bytes (expected {expected})",
            bytes.len()
        )));
    }
    let data = if cfg!(target_endian = "little") {
        TensorData::from_bytes_vec(bytes.into_vec(), shape, DType::F32)
    } else {
        TensorData::new(f32_le(&bytes), shape)
    };
    Ok(Tensor::from_data(data, device))
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
        pub fn signals(
            &self,
            frame: &Frame,
            device: &Device,
        ) -> impl Future<Output = Option<FrameSignals>> + use<> {
            let (tx, rx) = async_channel::bounded(1);
            self.engine.request_with(
                Request::Signals {
                    frame: WireFrame::from(frame),
                },
                move |reply| {
                    if reply.is_final() {
                        let _ = tx.try_send(reply);
                    }
                },
            );
            let device = device.clone();
            async move {
                let result = match rx.recv().await {
                    Ok(Reply::Signals(Ok(wire))) => super::from_wire(wire, &device),
                    Ok(other) => Err(other.unexpected("Signals")),
                    Err(_) => Err(EngineError::Engine("the helper worker is gone".into())),
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
    use crate::engine::protocol::Reply;
    use crate::flow::{FrameCache, frame_signals};
    use crate::model::Dinov2;
    use crate::test_support::{max_error, tiny_dinov2_dir};
    use crate::video::Frame;

    /// The split the page's CPU worker makes: the second frame's signals computed "elsewhere"
    /// (here: on this thread, then through the wire's bytes) give the same pair as the pair
    /// computed whole, and the elsewhere pass is the one used.
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
            let signals = frame_signals(&backbone, pixels).expect("signals");
            let wire = block_on(to_wire(signals)).expect("to the wire");
            // Through MessagePack as between the page's workers.
            let bytes =
                crate::engine::protocol::encode(&Reply::Signals(Ok(wire))).expect("encoded");
            let Ok(Reply::Signals(Ok(wire))) = crate::engine::protocol::decode(&bytes) else {
                panic!("the signals did not decode as signals");
            };
            let back = from_wire(wire, &device).expect("from the wire");
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

    /// Bytes that do not fill the shape they claim are refused.
    #[test]
    fn torn_signals_are_refused() {
        let device = Device::flex();
        let block = |bytes: usize| ByteBuf::from(vec![0; bytes]);
        let wire = WireSignals {
            heads: 1,
            tokens: 2,
            logits: vec![block(4 * 4), block(4 * 4)],
            colsum: vec![block(2 * 4), block(2 * 4)],
        };
        assert!(from_wire(wire.clone(), &device).is_ok());
        let mut torn = wire.clone();
        torn.logits[1].pop();
        assert!(from_wire(torn, &device).is_err());
        let mut short = wire.clone();
        short.colsum[0].truncate(4);
        assert!(from_wire(short, &device).is_err());
        let mut missing = wire;
        missing.colsum.pop();
        assert!(from_wire(missing, &device).is_err());
    }
}

//! The engine's side of the interface: the loaded models, and what each [`Request`] does with
//! them. The same code runs on the desktop engine's thread and in the page's worker.

use std::sync::Arc;

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::EngineError;
use super::load;
use super::protocol::{
    AnalysedPair, BackboneInfo, BackboneSource, CheckpointSource, ClassifierInfo, PairWork, Reply,
    Request, WireFrame,
};
use crate::analysis::{PairAnalysis, PairData, PairDisplacement, read_back};
use crate::classifier::AmClassifier;
use crate::flow::{FrameCache, frame_signals_each};
use crate::maps::PatchFlow;
use crate::model::Dinov2;
use crate::video::Frame;
use crate::video::preprocess::{Crop, Preprocess};

/// Classes reported by [`Request::Classify`].
const TOP: usize = 5;

/// The models and the device they run on.
pub struct Service {
    /// The device, opened before the service is made (natively with the UI's GPU, in the
    /// browser by the worker before it listens).
    device: Device,
    /// How the device is described to the user.
    description: String,
    /// Whether the device is a GPU.
    gpu: bool,
    /// The backbone and its name.
    backbone: Option<(Arc<Dinov2>, String)>,
    classifier: Option<Arc<AmClassifier>>,
    /// The last frames' backbone passes, reused by the next pairs that hold them (stepping
    /// through a clip's consecutive pairs, or a live stream); emptied with a new backbone.
    frames: Option<FrameCache>,
    /// The page's CPU worker's helper, which runs the second frame of a fresh pair on another
    /// core ([`super::helper`]); started with the first backbone. Not in the WebGPU worker,
    /// built without `cpu`: the GPU runs both frames, and the helper's side of the protocol (the
    /// replies decoded, the requests encoded) would only add to its module.
    #[cfg(all(target_arch = "wasm32", feature = "cpu"))]
    helper: Option<super::helper::Helper>,
}

/// Frames kept by the service: consecutive pairs need 2; 4 also serves stepping back and
/// offsets up to 3.
const KEPT_FRAMES: usize = 4;

impl Service {
    /// A service on `device` (natively: chosen together with the UI's GPU), described as
    /// `description`.
    pub fn new(device: Device, description: String, gpu: bool) -> Self {
        Self {
            device,
            description,
            gpu,
            backbone: None,
            classifier: None,
            frames: None,
            #[cfg(all(target_arch = "wasm32", feature = "cpu"))]
            helper: None,
        }
    }

    /// Carries out `request`, telling `emit` what happens: any progress, then one final reply.
    pub async fn handle(&mut self, request: Request, emit: &mut dyn FnMut(Reply)) {
        let reply = match request {
            Request::Start => Reply::Started {
                description: self.description.clone(),
                gpu: self.gpu,
            },
            Request::LoadBackbone(source) => {
                Reply::BackboneLoaded(self.load_backbone(source, emit).await)
            }
            Request::Analyse { frames, size } => Reply::Analysed(self.analyse(frames, size).await),
            Request::LoadClassifier(source) => {
                Reply::ClassifierLoaded(self.load_classifier(source).await)
            }
            Request::Classify { frames } => Reply::Classified(self.classify(frames).await),
            Request::Aligned { data } => Reply::AlignedFlows(self.aligned(data).await),
            Request::Displacement { frames, size } => {
                Reply::Displacements(self.displacement(frames, size).await)
            }
            Request::Signals { frame } => Reply::Signals(self.signals(frame, emit)),
        };
        emit(reply);
    }

    fn backbone(&self) -> Result<(Arc<Dinov2>, String), EngineError> {
        self.backbone.clone().ok_or(EngineError::NoBackbone)
    }

    async fn load_backbone(
        &mut self,
        source: BackboneSource,
        emit: &mut dyn FnMut(Reply),
    ) -> Result<BackboneInfo, EngineError> {
        let start = web_time::Instant::now();
        let device = self.device.clone();
        // A classifier belongs to the backbone it was loaded on.
        self.classifier = None;
        self.backbone = None;
        self.frames = None;
        let model = load::backbone(&source, &device, emit).await?;
        let name = source.label();
        let info = BackboneInfo {
            name: name.clone(),
            config: model.config().clone(),
            seconds: start.elapsed().as_secs_f64(),
        };
        self.backbone = Some((Arc::new(model), name));
        #[cfg(all(target_arch = "wasm32", feature = "cpu"))]
        self.start_helper(source);
        Ok(info)
    }

    /// On the page's CPU worker (not a helper itself), the helper with the same backbone.
    #[cfg(all(target_arch = "wasm32", feature = "cpu"))]
    fn start_helper(&mut self, source: BackboneSource) {
        use super::helper::Helper;
        if self.gpu || Helper::is_helper() {
            return;
        }
        if self.helper.is_none() {
            match Helper::start() {
                Ok(helper) => self.helper = Some(helper),
                Err(e) => {
                    web_sys::console::warn_1(
                        &format!("amflow: no helper worker ({e}); pairs run on one core").into(),
                    );
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper {
            helper.load_backbone(source);
        }
    }

    /// One frame's signals, the frame as the backbone takes it: what a helper does. Each block
    /// goes to `emit` the moment it is done ([`Reply::SignalsBlock`]); the result is the number
    /// of blocks sent.
    fn signals(&self, frame: WireFrame, emit: &mut dyn FnMut(Reply)) -> Result<usize, EngineError> {
        let (backbone, _) = self.backbone()?;
        let frame = frame.into_frame()?;
        let pixels = Tensor::<4>::from_data(
            crate::video::preprocess::normalise(std::slice::from_ref(&frame)),
            &self.device,
        ); // [1, 3, H, W]
        let mut sent = 0;
        let mut failed = None;
        frame_signals_each(&backbone, pixels, |block, logits, colsum| {
            if failed.is_some() {
                return;
            }
            match super::helper::to_wire_block(block, logits, colsum) {
                Ok(wire) => {
                    emit(Reply::SignalsBlock(wire));
                    sent += 1;
                }
                Err(e) => failed = Some(e),
            }
        })
        .map_err(EngineError::model)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Every block's displacement flow of a pair, read back in one piece. Its frames' passes
    /// are shared with [`Request::Analyse`] through the kept frames: a pair just analysed needs
    /// no backbone pass, the next consecutive pair one.
    async fn displacement(
        &mut self,
        frames: [WireFrame; 2],
        size: u32,
    ) -> Result<Vec<PatchFlow>, EngineError> {
        let (backbone, _) = self.backbone()?;
        let device = self.device.clone();
        let [a, b] = frames;
        let (a, b) = (a.into_frame()?, b.into_frame()?);
        let cache = self
            .frames
            .get_or_insert_with(|| FrameCache::new(KEPT_FRAMES));
        let pair = PairDisplacement::run_cached(&backbone, [&a, &b], size, &device, cache)
            .await
            .map_err(EngineError::model)?;
        Ok(pair.blocks)
    }

    async fn analyse(
        &mut self,
        frames: [WireFrame; 2],
        size: u32,
    ) -> Result<AnalysedPair, EngineError> {
        let start = web_time::Instant::now();
        let (backbone, _) = self.backbone()?;
        let device = self.device.clone();
        let [a, b] = frames;
        let (a, b) = (a.into_frame()?, b.into_frame()?);
        let cache = self
            .frames
            .get_or_insert_with(|| FrameCache::new(KEPT_FRAMES));
        // The page's CPU worker sends the second frame to its helper; natively the backend's
        // own threads use the cores.
        let helper = std::cell::Cell::new(false);
        #[cfg(all(target_arch = "wasm32", feature = "cpu"))]
        let elsewhere = |frame: &Frame| {
            let pending = self.helper.as_ref().map(|h| h.signals(frame, &device));
            helper.set(pending.is_some());
            pending
        };
        #[cfg(not(all(target_arch = "wasm32", feature = "cpu")))]
        let elsewhere = |_: &Frame| None::<std::future::Ready<Option<crate::flow::FrameSignals>>>;
        let analysis =
            PairAnalysis::run_cached_with(&backbone, [&a, &b], size, &device, cache, elsewhere)
                .await
                .map_err(EngineError::model)?;
        let work = PairWork {
            seconds: start.elapsed().as_secs_f64(),
            helper: helper.get(),
        };
        Ok(AnalysedPair::new(analysis, work))
    }

    async fn load_classifier(
        &mut self,
        source: CheckpointSource,
    ) -> Result<ClassifierInfo, EngineError> {
        let (backbone, name) = self.backbone()?;
        let device = self.device.clone();
        self.classifier = None;
        let bytes = load::checkpoint(&source).await?;
        let model = AmClassifier::from_checkpoint_bytes(
            bytes,
            &source.label(),
            (*backbone).clone(),
            &name,
            &device,
        )
        .map_err(|e| EngineError::Checkpoint(e.to_string()))?;
        let info = ClassifierInfo {
            source,
            config: model.config().clone(),
        };
        self.classifier = Some(Arc::new(model));
        Ok(info)
    }

    fn classifier(&self) -> Result<Arc<AmClassifier>, EngineError> {
        self.classifier.clone().ok_or(EngineError::NoClassifier)
    }

    /// Top-5 classes of `frames` (sampled by the UI as `amflow eval` samples them): short side
    /// resized to the checkpoint's size, centre crop.
    async fn classify(&self, frames: Vec<WireFrame>) -> Result<Vec<(String, f32)>, EngineError> {
        let model = self.classifier()?;
        let device = self.device.clone();
        let frames: Vec<Frame> = frames
            .into_iter()
            .map(WireFrame::into_frame)
            .collect::<Result<_, _>>()?;
        let c = model.config();
        let prep = Preprocess {
            size: c.size as u32,
            crop: Crop::Centre,
        };
        let clip = prep
            .tensors(&frames, &device)
            .map_err(EngineError::model)?
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Model("no frames to classify".into()))?; // [T, 3, S, S]
        let logits = model
            .forward(clip.unsqueeze::<5>())
            .map_err(EngineError::model)?; // [1, C]
        let probs = softmax(logits, 1).reshape([c.classes.len()]);
        let values = read_back(probs).await.map_err(EngineError::model)?;
        let mut ranked: Vec<(String, f32)> = c.classes.iter().cloned().zip(values).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(TOP);
        Ok(ranked)
    }

    /// The classifier's aligning encoders on the column sums of a pair, for its AM blocks; one
    /// read-back brings every block's `[N, D]` flow.
    async fn aligned(&self, data: PairData) -> Result<Vec<(usize, PatchFlow)>, EngineError> {
        let classifier = self.classifier()?;
        let device = self.device.clone();
        let (h, n) = (data.heads, data.tokens);
        let d = classifier.config().backbone.hidden_size;
        let prefix = 1 + classifier.config().backbone.num_register_tokens;
        let mut blocks = Vec::new();
        let mut flows = Vec::new();
        for block in classifier.config().am_indices() {
            let Some(colsum) = data.colsum.get(block) else {
                continue;
            };
            let colsum =
                Tensor::<3>::from_data(TensorData::new(colsum.clone(), [2, h, n]), &device);
            if let Some(flow) = classifier.aligned_pair_flow(block, colsum) {
                blocks.push(block);
                flows.push(flow.reshape([n * d]));
            }
        }
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let values = read_back(Tensor::cat(flows, 0))
            .await
            .map_err(EngineError::model)?;
        Ok(blocks
            .into_iter()
            .zip(values.chunks(n * d))
            .map(|(block, v)| (block, PatchFlow::from_tokens(v, d, prefix)))
            .collect())
    }
}

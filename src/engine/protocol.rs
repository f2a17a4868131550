//! What the UI asks the engine and what comes back. The same values travel over a channel to
//! the engine's thread natively and, encoded as MessagePack ([`encode`], [`decode`]), over
//! `postMessage` to the page's Web Worker, each in an [`Envelope`] with the request's number.
//!
//! A request gets any number of [`Reply::Progress`] / [`Reply::Fetched`] (and, from a helper,
//! [`Reply::SignalsBlock`]) and then exactly one final reply ([`Reply::is_final`]). A reply's
//! bulk floats ([`Reply::take_bulk`]) cross `postMessage` beside its MessagePack bytes.

use super::EngineError;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::analysis::{PairAnalysis, PairData};
use crate::classifier::ClassifierConfig;
use crate::maps::PatchFlow;
use crate::maps::ranking::BlockScore;
use crate::model::Dinov2Config;
use crate::video::Frame;

/// Where a backbone comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackboneSource {
    /// The default ViT-S/14: compiled in natively, shipped beside the web page.
    #[default]
    Embedded,
    /// A folder with `config.json` and `model.safetensors` (native).
    Dir(PathBuf),
    /// A folder URL holding `config.json` and `model.safetensors`.
    Url(String),
}

impl BackboneSource {
    /// `org/name` → its `resolve/main/` URL.
    pub fn hub(model: &str) -> Self {
        Self::Url(format!("https://huggingface.co/{model}/resolve/main/"))
    }

    /// How the source is shown.
    pub fn label(&self) -> String {
        match self {
            Self::Embedded => crate::embedded::NAME.to_string(),
            Self::Dir(dir) => dir.display().to_string(),
            Self::Url(url) => url.clone(),
        }
    }
}

/// Where a classifier checkpoint comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointSource {
    /// The demo checkpoint (trained on `amflow synth`): compiled in natively, shipped beside
    /// the web page.
    Demo,
    /// A file (native).
    Path(PathBuf),
    /// A URL (browser).
    Url(String),
}

impl CheckpointSource {
    /// How the source is shown.
    pub fn label(&self) -> String {
        match self {
            Self::Demo => "demo (synthetic motion, 9 classes)".into(),
            Self::Path(p) => p.display().to_string(),
            Self::Url(u) => u.clone(),
        }
    }
}

/// A frame as it travels: its size and RGB bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `[H, W, 3]` bytes.
    #[serde(with = "serde_bytes")]
    pub rgb: Vec<u8>,
}

impl From<&Frame> for WireFrame {
    fn from(frame: &Frame) -> Self {
        Self {
            width: frame.width(),
            height: frame.height(),
            rgb: frame.as_raw().clone(),
        }
    }
}

impl WireFrame {
    /// The frame, or why the bytes do not make one.
    pub fn into_frame(self) -> Result<Frame, EngineError> {
        let (width, height, bytes) = (self.width, self.height, self.rgb.len());
        Frame::from_raw(width, height, self.rgb).ok_or(EngineError::Frame {
            width,
            height,
            bytes,
        })
    }
}

/// A request to the engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Says where the model runs. The device is opened before the first request: natively
    /// with the UI's GPU, in the browser by the worker the page started (see
    /// [`super::Engine::worker`]).
    Start,
    /// Loads a backbone (replacing the one loaded, and dropping the classifier).
    LoadBackbone(BackboneSource),
    /// Every block's AM flow for frames `t` and `t+k`, short side resized to `size`.
    Analyse {
        /// The pair.
        frames: [WireFrame; 2],
        /// Short side of the backbone's input.
        size: u32,
    },
    /// Loads a classifier checkpoint around the backbone loaded.
    LoadClassifier(CheckpointSource),
    /// The top-5 classes of the loaded classifier on `T` frames of a clip.
    Classify {
        /// The clip's frames, as many as the checkpoint takes.
        frames: Vec<WireFrame>,
    },
    /// The loaded classifier's aligned flow of a pair from its column sums.
    Aligned {
        /// The pair's flows (only the column sums are read).
        data: PairData,
    },
    /// Every block's displacement flow ([`crate::flow::displacement`]) for a pair, the frames
    /// as [`Request::Analyse`] takes them.
    Displacement {
        /// The pair.
        frames: [WireFrame; 2],
        /// Short side of the backbone's input.
        size: u32,
    },
    /// One frame's attention signals from the loaded backbone: what a CPU worker asks of its
    /// helper, so that a pair's two backbone passes run on two cores.
    Signals {
        /// The frame exactly as the backbone takes it (resized and cropped to whole patches).
        frame: WireFrame,
    },
}

/// One block of a frame's attention signals as it travels ([`crate::flow::FrameSignals`]'s
/// block `block`, read back): the helper sends each block the moment it is done. Between the
/// page's workers the two float buffers cross `postMessage` as transferred buffers beside the
/// encoded message ([`Reply::take_bulk`]), not inside it: a ViT-S/14 block at the page's 224×294
/// is ~2.7 MB of logits, a frame ~32 MB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireBlock {
    /// The block's index.
    pub block: usize,
    /// Heads.
    pub heads: usize,
    /// Tokens (CLS, registers, patches).
    pub tokens: usize,
    /// Attention logits `[H, N, N]`.
    #[serde(with = "crate::wire_floats")]
    pub logits: Vec<f32>,
    /// Column sums `[H, N]`.
    #[serde(with = "crate::wire_floats")]
    pub colsum: Vec<f32>,
}

/// What the engine says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// Where the model runs.
    Started {
        /// E.g. "GPU: the browser's adapter (BrowserWebGpu), in a worker".
        description: String,
        /// Whether it is a GPU.
        gpu: bool,
    },
    /// Bytes of the current download done and expected.
    Progress {
        /// Bytes done.
        done: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
    },
    /// Every file of a load has arrived; the model is being built.
    Fetched,
    /// A backbone is loaded.
    BackboneLoaded(Result<BackboneInfo, EngineError>),
    /// A pair is analysed.
    Analysed(Result<AnalysedPair, EngineError>),
    /// A classifier is loaded.
    ClassifierLoaded(Result<ClassifierInfo, EngineError>),
    /// The top-5 classes with their probabilities, best first.
    Classified(Result<Vec<(String, f32)>, EngineError>),
    /// The aligned flow of each AM block, `(block index, flow)`.
    AlignedFlows(Result<Vec<(usize, PatchFlow)>, EngineError>),
    /// Every block's displacement flow at the patch tokens, `[P, 2H]`.
    Displacements(Result<Vec<PatchFlow>, EngineError>),
    /// One block of a frame's attention signals, sent as soon as the block is done (not final).
    SignalsBlock(WireBlock),
    /// A frame's attention signals are all sent: the number of blocks.
    Signals(Result<usize, EngineError>),
    /// The request could not be carried out at all (the engine is gone, or a message could not
    /// be encoded).
    Failed(EngineError),
}

impl Reply {
    /// Whether this ends its request.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Self::Progress { .. } | Self::Fetched | Self::SignalsBlock(_)
        )
    }

    /// Takes out the large float buffers this reply carries (a signals block's logits and column
    /// sums), leaving empty ones in their place: between the page's workers they travel as
    /// transferred buffers beside the encoded reply, copied once on each side, instead of
    /// through MessagePack. [`Reply::put_bulk`] puts them back.
    pub fn take_bulk(&mut self) -> Vec<Vec<f32>> {
        match self {
            Self::SignalsBlock(block) => vec![
                std::mem::take(&mut block.logits),
                std::mem::take(&mut block.colsum),
            ],
            _ => Vec::new(),
        }
    }

    /// Puts back the buffers [`Reply::take_bulk`] took; an error when their count is not what
    /// this reply carries.
    pub fn put_bulk(&mut self, bulk: Vec<Vec<f32>>) -> Result<(), EngineError> {
        let expected = match self {
            Self::SignalsBlock(_) => 2,
            _ => 0,
        };
        if bulk.len() != expected {
            return Err(EngineError::Engine(format!(
                "a message from the engine came with {} buffers beside it, not {expected}",
                bulk.len()
            )));
        }
        if let Self::SignalsBlock(block) = self {
            let [logits, colsum]: [Vec<f32>; 2] = bulk.try_into().unwrap_or_default();
            block.logits = logits;
            block.colsum = colsum;
        }
        Ok(())
    }

    /// What to tell the user when this came where `expected` was awaited: the engine's own
    /// failure as it is, any other reply named (a fault of the app's, not of the input).
    pub fn unexpected(self, expected: &str) -> EngineError {
        let name = match self {
            Self::Failed(message) => return message,
            Self::Started { .. } => "Started",
            Self::Progress { .. } => "Progress",
            Self::Fetched => "Fetched",
            Self::BackboneLoaded(_) => "BackboneLoaded",
            Self::Analysed(_) => "Analysed",
            Self::ClassifierLoaded(_) => "ClassifierLoaded",
            Self::Classified(_) => "Classified",
            Self::AlignedFlows(_) => "AlignedFlows",
            Self::Displacements(_) => "Displacements",
            Self::SignalsBlock(_) => "SignalsBlock",
            Self::Signals(_) => "Signals",
        };
        EngineError::Unexpected {
            got: name.to_string(),
            expected: expected.to_string(),
        }
    }
}

/// A loaded backbone, as the UI sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackboneInfo {
    /// How it is named.
    pub name: String,
    /// Its configuration.
    pub config: Dinov2Config,
    /// Seconds to fetch and build it.
    pub seconds: f64,
}

/// A loaded classifier, as the UI sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// Where it came from.
    pub source: CheckpointSource,
    /// What it says about itself.
    pub config: ClassifierConfig,
}

/// A pair through the backbone: [`PairAnalysis`] as it travels, and the seconds of model work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnalysedPair {
    /// The two frames as the backbone saw them.
    pub frames: [WireFrame; 2],
    /// Patches down and across.
    pub grid: (usize, usize),
    /// Every block's flows.
    pub data: PairData,
    /// Every block's patch flow.
    pub blocks: Vec<PatchFlow>,
    /// Every block's score.
    pub scores: Vec<BlockScore>,
    /// The engine's own work on it.
    pub work: PairWork,
}

/// The engine's own work on a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairWork {
    /// Seconds from the request's arrival to the flows read back.
    pub seconds: f64,
    /// Whether the second frame's backbone pass ran in the page's CPU worker's helper, on
    /// another core ([`super::helper`]).
    pub helper: bool,
}

impl AnalysedPair {
    /// Packs an analysis.
    pub fn new(analysis: PairAnalysis, work: PairWork) -> Self {
        let PairAnalysis {
            frames,
            grid,
            data,
            blocks,
            scores,
        } = analysis;
        Self {
            frames: [(&frames[0]).into(), (&frames[1]).into()],
            grid: (grid.rows, grid.cols),
            data,
            blocks,
            scores,
            work,
        }
    }

    /// Unpacks it: the analysis and the work it took.
    pub fn into_analysis(self) -> Result<(PairAnalysis, PairWork), EngineError> {
        let [a, b] = self.frames;
        Ok((
            PairAnalysis {
                frames: [a.into_frame()?, b.into_frame()?],
                grid: crate::maps::Grid {
                    rows: self.grid.0,
                    cols: self.grid.1,
                },
                data: self.data,
                blocks: self.blocks,
                scores: self.scores,
            },
            self.work,
        ))
    }
}

/// A request or a reply with the number of the request it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The request's number.
    pub id: u64,
    /// The message.
    pub message: T,
}

/// MessagePack bytes of `value` (what crosses `postMessage`).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, EngineError> {
    rmp_serde::to_vec(value)
        .map_err(|e| EngineError::Engine(format!("encoding a message for the engine: {e}")))
}

/// The value `bytes` encode.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, EngineError> {
    rmp_serde::from_slice(bytes)
        .map_err(|e| EngineError::Engine(format!("decoding a message from the engine: {e}")))
}

//! Why a request to the engine failed. It crosses the worker's `postMessage` as MessagePack, so
//! the library's errors (which hold I/O errors and device handles) travel as their messages,
//! sorted by what failed; the app shows them as they are.

use serde::{Deserialize, Serialize};

/// A request the engine could not carry out.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum EngineError {
    /// A request that needs the backbone came before one loaded.
    #[error("no backbone is loaded")]
    NoBackbone,
    /// A request that needs the classifier came before one loaded.
    #[error("no classifier is loaded")]
    NoClassifier,
    /// A frame's bytes do not fill its size.
    #[error("a {width}×{height} frame cannot be made of {bytes} bytes")]
    Frame {
        /// Pixels across.
        width: u32,
        /// Pixels down.
        height: u32,
        /// Bytes sent (3 per pixel expected).
        bytes: usize,
    },
    /// A source this build cannot read (a folder in the browser, a checkpoint URL natively).
    #[error("{0}")]
    Unsupported(String),
    /// A model file could not be fetched, read from the hub cache or downloaded into it.
    #[error("{0}")]
    Download(String),
    /// The backbone's files do not make a backbone.
    #[error("{0}")]
    Backbone(String),
    /// The checkpoint does not make a classifier around the loaded backbone.
    #[error("{0}")]
    Checkpoint(String),
    /// The model failed on the frames (input size, device, read-back).
    #[error("{0}")]
    Model(String),
    /// The engine itself is unreachable: its thread or worker is gone, or a message could not
    /// be encoded or decoded.
    #[error("{0}")]
    Engine(String),
    /// The engine answered with another reply than the one awaited (a fault of the app's).
    #[error("the engine answered {got} where {expected} was awaited")]
    Unexpected {
        /// The reply that came.
        got: String,
        /// What was awaited.
        expected: String,
    },
}

impl EngineError {
    /// [`Self::Model`] from any error's message.
    pub fn model(e: impl std::fmt::Display) -> Self {
        Self::Model(e.to_string())
    }

    /// [`Self::Download`] from any error's message.
    pub fn download(e: impl std::fmt::Display) -> Self {
        Self::Download(e.to_string())
    }
}

//! What the app's panels show when something failed: the engine's errors, the clip reader's,
//! and the few that only the app meets. Each panel keeps its last one; the page puts the first
//! of them in `data-amflow-error`.

use std::sync::Arc;

use crate::engine::EngineError;
use crate::video::ClipError;

/// A failure shown to the user.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The engine could not carry out a request.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A clip could not be opened or its frames decoded.
    #[error(transparent)]
    Clip(Arc<ClipError>),
    /// The decoder gave another number of frames than asked for.
    #[error("the decoder returned {got} frames where {asked} were asked for")]
    FrameCount {
        /// Frames asked for.
        asked: usize,
        /// Frames returned.
        got: usize,
    },
    /// The browser refused something the app asked of it (the file picker, a download).
    #[error("{0}")]
    Browser(String),
}

impl From<ClipError> for AppError {
    fn from(e: ClipError) -> Self {
        Self::Clip(Arc::new(e))
    }
}

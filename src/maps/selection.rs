//! The block selection file `amflow blocks` writes and training reads:
//!
//! ```json
//! {"format": "amflow-selection/1", "backbone": "…", "blocks": [1, 12], "offset": 1,
//!  "pairs": 40, "clips": 10, "flow": "vanilla", "scores": [{"block": 1, "score": 0.41, …}, …]}
//! ```
//!
//! `blocks` are 1-based, as users and the paper number them. `flow` is the AM flow the blocks
//! were scored on (`vanilla`, or `displacement` from `amflow blocks --flow displacement`). A selection ranked on a labelled
//! dataset (`amflow blocks DATA --labels`) also carries `"probe": [{"block": 1, "accuracy":
//! 0.42}, …]`, and its `blocks` are then the probe's best.

use serde::{Deserialize, Serialize};

use super::MapFlow;
use super::probe::ProbeScore;
use super::ranking::BlockScore;

/// The `format` value of selection files this version writes and reads.
pub const FORMAT: &str = "amflow-selection/1";

/// Proposed AM blocks and the scores behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Always [`FORMAT`].
    pub format: String,
    /// The backbone the blocks were ranked on.
    pub backbone: String,
    /// The AM blocks, 1-based, ascending.
    pub blocks: Vec<usize>,
    /// The frame offset `k` of the pairs.
    pub offset: usize,
    /// Frame pairs scored.
    pub pairs: usize,
    /// Clips scored.
    pub clips: usize,
    /// The flow the blocks were scored on (files written before it was recorded: vanilla).
    #[serde(default)]
    pub flow: MapFlow,
    /// Mean score of every block.
    pub scores: Vec<BlockScore>,
    /// Every block's cross-validated probe accuracy, when the clips were labelled
    /// ([`super::probe`]); `blocks` then follows it rather than `scores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Vec<ProbeScore>>,
}

/// Why a selection file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// Not JSON of the right shape.
    #[error("not an amflow selection file: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format or version.
    #[error("selection format is \"{0}\", expected \"{FORMAT}\"")]
    Format(String),
    /// A block number of 0 or past the backbone.
    #[error(
        "block {block} is not a block of a {blocks}-block backbone (blocks are numbered 1 to {blocks})"
    )]
    Block {
        /// The bad number.
        block: usize,
        /// Blocks of the backbone.
        blocks: usize,
    },
}

impl Selection {
    /// Reads a selection from JSON text.
    pub fn from_json(text: &str) -> Result<Self, SelectionError> {
        let s: Selection = serde_json::from_str(text)?;
        if s.format != FORMAT {
            return Err(SelectionError::Format(s.format));
        }
        Ok(s)
    }

    /// The blocks, checked against a backbone of `blocks` blocks, 0-based.
    pub fn indices(&self, blocks: usize) -> Result<Vec<usize>, SelectionError> {
        self.blocks
            .iter()
            .map(|&b| {
                if b == 0 || b > blocks {
                    Err(SelectionError::Block { block: b, blocks })
                } else {
                    Ok(b - 1)
                }
            })
            .collect()
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let s = Selection {
            format: FORMAT.into(),
            backbone: "tiny".into(),
            blocks: vec![1, 2],
            offset: 1,
            pairs: 3,
            clips: 1,
            flow: MapFlow::Vanilla,
            scores: vec![],
            probe: None,
        };
        assert!(!s.to_json().contains("probe"), "{}", s.to_json());
        let labelled = Selection {
            probe: Some(vec![ProbeScore {
                block: 2,
                accuracy: 0.5,
            }]),
            ..s.clone()
        };
        assert_eq!(Selection::from_json(&labelled.to_json()).unwrap(), labelled);
        let back = Selection::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.indices(2).unwrap(), [0, 1]);
        assert!(back.indices(1).unwrap_err().to_string().contains("block 2"));
        let other = s.to_json().replace(FORMAT, "amflow-selection/9");
        assert!(Selection::from_json(&other).is_err());
        assert!(Selection::from_json("{").is_err());
        // A file from before the flow was recorded ranked the vanilla flow.
        let old = s.to_json().replace("\"flow\": \"vanilla\",", "");
        assert!(!old.contains("\"flow\""), "{old}");
        assert_eq!(Selection::from_json(&old).unwrap(), s);
        let displacement = Selection {
            flow: MapFlow::Displacement,
            ..s.clone()
        };
        assert!(
            displacement
                .to_json()
                .contains("\"flow\": \"displacement\"")
        );
        assert_eq!(
            Selection::from_json(&displacement.to_json()).unwrap(),
            displacement
        );
    }
}

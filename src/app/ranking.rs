//! A dataset's block ranking in the AM-blocks panel: a selection file from `amflow blocks DATA`
//! dropped on the window. The panel's own scores come from the one pair on screen; a dataset
//! ranks its blocks over many clips, and when its clips are labelled (`--labels`) by how well a
//! probe reads the classes from each block's flow, which is the ranking to pick AM blocks by.
//! With one loaded, the panel shows its numbers beside the pair's and proposes its blocks.

use crate::maps::probe::ProbeScore;
use crate::maps::ranking::{BlockScore, propose};
use crate::maps::selection::{Selection, SelectionError};

/// A loaded dataset ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRanking {
    /// The file's name, as the user dropped it.
    pub name: String,
    /// Its contents.
    pub selection: Selection,
}

/// Why a dropped ranking was not used.
#[derive(Debug, thiserror::Error)]
pub enum RankingError {
    /// Not UTF-8.
    #[error("{0}: not a text file")]
    Text(String),
    /// Not a selection file.
    #[error("{name}: {source}")]
    Selection {
        /// The file.
        name: String,
        /// What is wrong.
        source: SelectionError,
    },
    /// Ranked on a backbone with another number of blocks.
    #[error(
        "{name} ranks {theirs} blocks of {backbone}; the backbone on screen has {ours}, so it is not used"
    )]
    Blocks {
        /// The file.
        name: String,
        /// The backbone it was ranked on.
        backbone: String,
        /// Its blocks.
        theirs: usize,
        /// The loaded backbone's blocks.
        ours: usize,
    },
}

impl DatasetRanking {
    /// Reads a selection file's bytes.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, RankingError> {
        let text = std::str::from_utf8(bytes).map_err(|_| RankingError::Text(name.into()))?;
        let selection = Selection::from_json(text).map_err(|source| RankingError::Selection {
            name: name.into(),
            source,
        })?;
        Ok(Self {
            name: name.into(),
            selection,
        })
    }

    /// Checks that it ranks the `blocks` blocks of the backbone on screen.
    pub fn check(&self, blocks: usize) -> Result<(), RankingError> {
        let theirs = self.selection.scores.len();
        let proposal_fits = self.selection.indices(blocks).is_ok();
        if theirs != blocks || !proposal_fits {
            return Err(RankingError::Blocks {
                name: self.name.clone(),
                backbone: self.selection.backbone.clone(),
                theirs,
                ours: blocks,
            });
        }
        Ok(())
    }

    /// Whether the clips were labelled (the ranking is the probe's).
    pub fn labelled(&self) -> bool {
        self.selection.probe.is_some()
    }

    /// The dataset's number for `block` (1-based): the probe's top-1 when labelled, else the
    /// block's mean score over the dataset, as text for the panel.
    pub fn column(&self, block: usize) -> Option<String> {
        match &self.selection.probe {
            Some(probe) => probe
                .iter()
                .find(|p: &&ProbeScore| p.block == block)
                .map(|p| format!("{:>5.1}%", 100.0 * p.accuracy)),
            None => self
                .selection
                .scores
                .iter()
                .find(|s| s.block == block)
                .map(|s| format!("{:+.3}", s.score)),
        }
    }

    /// One line saying what the ranking is.
    pub fn describe(&self) -> String {
        let s = &self.selection;
        if self.labelled() {
            format!(
                "dataset ranking {}: a probe's top-1 on each block's {} flow over {} labelled clips; proposes {:?}",
                self.name, s.flow, s.clips, s.blocks
            )
        } else {
            format!(
                "dataset ranking {}: mean scores of the {} flow over {} pairs of {} clips; proposes {:?}",
                self.name, s.flow, s.pairs, s.clips, s.blocks
            )
        }
    }
}

/// Whether a dropped file is a ranking (a `.json` selection file) rather than a clip.
pub fn is_ranking(file: &egui::DroppedFileHandle) -> bool {
    file.path()
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// A dropped ranking's name and bytes, or why they could not be read.
pub type Dropped = (String, Result<Vec<u8>, String>);

/// The first ranking dropped on the window this frame.
pub fn dropped(ctx: &egui::Context) -> Option<egui::DroppedFileHandle> {
    ctx.input(|i| i.raw.dropped_files.iter().find(|f| is_ranking(f)).cloned())
}

/// Reads a dropped file (the browser reads files only asynchronously).
pub async fn read(file: egui::DroppedFileHandle) -> Dropped {
    let name = file.path().display().to_string();
    #[cfg(target_arch = "wasm32")]
    let bytes = file.bytes_async().await;
    #[cfg(not(target_arch = "wasm32"))]
    let bytes = file.bytes();
    (name, bytes)
}

/// The proposed AM blocks (1-based): the dataset's when one is loaded, else the `k` best of the
/// pair's scores.
pub fn proposal(scores: &[BlockScore], dataset: Option<&DatasetRanking>, k: usize) -> Vec<usize> {
    match dataset {
        Some(d) => d.selection.blocks.clone(),
        None => propose(scores, k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::MapFlow;
    use crate::maps::selection::FORMAT;

    fn score(block: usize, score: f32) -> BlockScore {
        BlockScore {
            block,
            score,
            correlation: score,
            concentration: 0.0,
        }
    }

    fn selection(probe: Option<Vec<ProbeScore>>, blocks: Vec<usize>) -> Selection {
        Selection {
            format: FORMAT.into(),
            backbone: "tiny".into(),
            blocks,
            offset: 1,
            pairs: 8,
            clips: 4,
            flow: MapFlow::Vanilla,
            scores: vec![score(1, 0.9), score(2, 0.1), score(3, 0.5)],
            probe,
        }
    }

    #[test]
    fn a_labelled_ranking_proposes_the_probes_blocks_and_shows_its_accuracy() {
        let probe = vec![
            ProbeScore {
                block: 1,
                accuracy: 0.25,
            },
            ProbeScore {
                block: 2,
                accuracy: 0.75,
            },
            ProbeScore {
                block: 3,
                accuracy: 0.5,
            },
        ];
        let file = selection(Some(probe), vec![2, 3]).to_json();
        let ranking = DatasetRanking::from_bytes("r.json", file.as_bytes()).unwrap();
        ranking.check(3).unwrap();
        assert!(ranking.labelled());
        assert_eq!(ranking.column(2).as_deref(), Some(" 75.0%"));
        // The pair on screen would propose blocks 1 and 3; the dataset's probe says 2 and 3.
        let pair = [score(1, 0.8), score(2, 0.0), score(3, 0.7)];
        assert_eq!(proposal(&pair, None, 2), [1, 3]);
        assert_eq!(proposal(&pair, Some(&ranking), 2), [2, 3]);
        assert!(
            ranking.describe().contains("each block's vanilla flow"),
            "{}",
            ranking.describe()
        );
        // A ranking of the displacement flow says so.
        let mut displacement = selection(None, vec![1, 3]);
        displacement.flow = MapFlow::Displacement;
        let ranking =
            DatasetRanking::from_bytes("d.json", displacement.to_json().as_bytes()).unwrap();
        assert!(
            ranking.describe().contains("the displacement flow"),
            "{}",
            ranking.describe()
        );
    }

    #[test]
    fn an_unlabelled_ranking_shows_its_mean_scores() {
        let file = selection(None, vec![1, 3]).to_json();
        let ranking = DatasetRanking::from_bytes("r.json", file.as_bytes()).unwrap();
        assert!(!ranking.labelled());
        assert_eq!(ranking.column(3).as_deref(), Some("+0.500"));
        assert!(ranking.describe().contains("8 pairs of 4 clips"));
    }

    #[test]
    fn rankings_that_do_not_fit_are_refused() {
        let file = selection(None, vec![1, 3]).to_json();
        let ranking = DatasetRanking::from_bytes("r.json", file.as_bytes()).unwrap();
        let err = ranking.check(12).unwrap_err().to_string();
        assert!(
            err.contains("ranks 3 blocks of tiny") && err.contains("has 12"),
            "{err}"
        );
        assert!(matches!(
            DatasetRanking::from_bytes("x.json", b"{\"format\": 1}"),
            Err(RankingError::Selection { .. })
        ));
        assert!(matches!(
            DatasetRanking::from_bytes("x.json", &[0xff, 0xfe]),
            Err(RankingError::Text(_))
        ));
    }
}

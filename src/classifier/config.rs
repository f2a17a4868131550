//! The classifier's configuration: what a checkpoint says about itself.

use serde::{Deserialize, Serialize};

use crate::maps::MapFlow;
use crate::maps::selection::Selection;
#[cfg(feature = "model")]
use crate::model::Dinov2;

/// The format tag written into every checkpoint.
pub const FORMAT: &str = "amflow-classifier/1";

/// Which AM flow feeds the attention adapters of the AM blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    /// `Σ_i softmax_j |X(t) − X(t+1)|` (eq. 2–3): fixed cameras.
    Vanilla,
    /// `|Z(t) − Z(t+1)|` through an aligning encoder (eq. 4–5): moving cameras.
    Aligned,
    /// `Σ_i softmax_j(±(X(t+1) − X(t)))`, rise and fall kept apart (beyond the paper,
    /// `src/flow/signed.rs`): the vanilla flow without the absolute value that makes a motion
    /// and its reverse look the same. Fixed cameras.
    Signed,
    /// `Σ_j (S − C)[h,i,j] p_j`, where each token's content came from as a vector in patches
    /// (beyond the paper, `src/flow/displacement.rs`): frame t+1's queries against frame t's
    /// keys, which keeps the correspondence that the column sums drop. Fixed cameras.
    Displacement,
}

impl FlowKind {
    /// `--flow`'s spelling.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Vanilla => "vanilla",
            FlowKind::Aligned => "aligned",
            FlowKind::Signed => "signed",
            FlowKind::Displacement => "displacement",
        }
    }

    /// Channels per head of the flow: 2 for the signed (rise, fall) and the displacement
    /// (x, y) flows, else 1.
    pub fn channels_per_head(self) -> usize {
        match self {
            FlowKind::Signed | FlowKind::Displacement => 2,
            FlowKind::Vanilla | FlowKind::Aligned => 1,
        }
    }
}

/// How the AM flow is scaled before it joins the block's normalised tokens in an adapter's
/// input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FlowNorm {
    /// As computed. The vanilla flow of a pair is `1 ± ε` at every token (each row's softmax
    /// sums to 1, so the `N` rows give a mean column sum of 1): beside LayerNorm-scaled tokens
    /// its motion signal is `ε`, 0.01 for the tiny random backbone.
    #[default]
    Raw,
    /// Standardised over the tokens of each frame, per channel: `(f − mean_N f) / sqrt(var_N f + 1e-12)`,
    /// so that where the motion is, not how large the flow happens to be, reaches the adapter.
    Tokens,
    /// Centred over the tokens of each frame, per channel, and not scaled: `f − mean_N f`. For
    /// the displacement flow (vectors in patches per frame) it takes out the frame's mean vector,
    /// which a panning camera adds to every token, and keeps the lengths: a still object under a
    /// panning camera stays near zero instead of being scaled up to unit spread as `tokens` does.
    /// The column-sum flows keep their `ε` scale here, so it is meant for `--flow displacement`.
    Centred,
}

/// The temporal processing module over each AM adapter's bottleneck sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TpmKind {
    /// One transformer-encoder layer with learned time positions.
    Transformer,
    /// Two dilated 1-D convolutions (dilation 1 and 2) with a residual.
    Tcn,
    /// An LSTM; its last hidden state is classified.
    Lstm,
}

/// What the checkpoint was trained on top of; a backbone that differs cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackboneId {
    /// Where it came from (a folder, "embedded dinov2-small").
    pub name: String,
    /// Width `D`.
    pub hidden_size: usize,
    /// Blocks `L`.
    pub num_hidden_layers: usize,
    /// Heads `H`.
    pub num_attention_heads: usize,
    /// Patch side.
    pub patch_size: usize,
    /// Register tokens.
    pub num_register_tokens: usize,
}

impl BackboneId {
    /// The identity of a loaded backbone.
    #[cfg(feature = "model")]
    pub fn of(name: &str, backbone: &Dinov2) -> Self {
        let c = backbone.config();
        Self {
            name: name.to_string(),
            hidden_size: c.hidden_size,
            num_hidden_layers: c.num_hidden_layers,
            num_attention_heads: c.num_attention_heads,
            patch_size: c.patch_size,
            num_register_tokens: c.num_register_tokens,
        }
    }

    /// Whether `other` has the same shape (names may differ: the same weights can live in
    /// different folders).
    pub fn same_shape(&self, other: &Self) -> bool {
        Self {
            name: String::new(),
            ..self.clone()
        } == Self {
            name: String::new(),
            ..other.clone()
        }
    }
}

/// Everything needed to rebuild a trained classifier around its backbone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// [`FORMAT`].
    pub format: String,
    /// The backbone it was trained with.
    pub backbone: BackboneId,
    /// AM blocks, 1-based as users see them; empty: no AM flow ("w/o AM flow").
    pub am_blocks: Vec<usize>,
    /// Vanilla or aligned flow.
    pub flow: FlowKind,
    /// Temporal module kind.
    pub tpm: TpmKind,
    /// Frames per clip `T`.
    pub frames: usize,
    /// Adapter bottleneck width `r`.
    pub bottleneck: usize,
    /// Input side in pixels (short-side resize and square crop).
    pub size: usize,
    /// Heads of each aligning encoder.
    pub aligner_heads: usize,
    /// How the flow is scaled in the adapters' input (checkpoints from before this option:
    /// raw).
    #[serde(default)]
    pub flow_norm: FlowNorm,
    /// Whether the AM blocks' attention adapters see the flow. `false` is the paper's "w/o AM
    /// flow" ablation: the same AM blocks and temporal modules, the flow left out of the
    /// adapters' input.
    #[serde(default = "yes")]
    pub flow_input: bool,
    /// The temporal modules read each frame's bottleneck averaged over `G × G` cells of the
    /// patch grid, concatenated (`G² · r` wide); 1 is the mean over all tokens (checkpoints from
    /// before this option: 1).
    #[serde(default = "one")]
    pub pool_grid: usize,
    /// The first block (1-based) with adapters beside its attention and MLP; the blocks before
    /// it run as the frozen backbone alone, so their output is a function of each frame alone
    /// and training computes it once per frame (checkpoints from before this option: 1, an
    /// adapter beside every block as in the paper).
    #[serde(default = "one")]
    pub adapters_from: usize,
    /// Class names, index = class id.
    pub classes: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The narrowest adapter bottleneck `train` gives by default.
pub const MIN_DEFAULT_BOTTLENECK: usize = 32;

/// The adapter bottleneck `train` gives a backbone of width `d` by default: `max(d / 4, 32)`.
/// A quarter of the width (ViT-S/14: 96) as in the paper's adapters, but never below 32: the
/// tiny random DINOv2's quarter, 8, gave its temporal modules `G² · 8 = 32` numbers a frame and
/// trained worse over ten seeds than 32 did (README, "A wider bottleneck, and the best epoch
/// written").
pub fn default_bottleneck(width: usize) -> usize {
    (width / 4).max(MIN_DEFAULT_BOTTLENECK)
}

fn one() -> usize {
    1
}

impl ClassifierConfig {
    /// The adapters of the AM blocks read `[h ‖ flow]`.
    pub fn flow_into_adapters(&self) -> bool {
        self.flow_input && !self.am_blocks.is_empty()
    }

    /// How a frame's tokens lie: `(prefix, side)`, the tokens without a place (CLS and
    /// registers) before `side × side` patches in row-major order (square inputs of `size`).
    pub fn token_grid(&self) -> (usize, usize) {
        (
            1 + self.backbone.num_register_tokens,
            self.size / self.backbone.patch_size,
        )
    }

    /// Width of each temporal module's input: `G² · r`.
    pub fn tpm_width(&self) -> usize {
        self.pool_grid * self.pool_grid * self.bottleneck
    }

    /// 0-based index of the first block with adapters; the blocks before it are the frozen
    /// prefix.
    pub fn first_adapted(&self) -> usize {
        self.adapters_from.saturating_sub(1)
    }

    /// 0-based indices of the AM blocks.
    pub fn am_indices(&self) -> Vec<usize> {
        self.am_blocks.iter().map(|b| b - 1).collect()
    }

    /// Checks the configuration against itself and the backbone's block count.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.format != FORMAT {
            return Err(ConfigError::Format(self.format.clone()));
        }
        let layers = self.backbone.num_hidden_layers;
        if let Some(&block) = self.am_blocks.iter().find(|&&b| b == 0 || b > layers) {
            return Err(ConfigError::Block { block, layers });
        }
        if self.adapters_from == 0 || self.adapters_from > layers {
            return Err(ConfigError::AdaptersFrom {
                from: self.adapters_from,
                layers,
            });
        }
        if let Some(&block) = self.am_blocks.iter().find(|&&b| b < self.adapters_from) {
            return Err(ConfigError::AmBeforeAdapters {
                block,
                from: self.adapters_from,
            });
        }
        if self.classes.len() < 2 {
            return Err(ConfigError::Classes(self.classes.len()));
        }
        if self.frames == 0 || self.frames > 256 {
            return Err(ConfigError::Frames(self.frames));
        }
        if self.frames < 2 && !self.am_blocks.is_empty() {
            return Err(ConfigError::OneFrame);
        }
        if self.bottleneck == 0 || self.bottleneck > 4096 {
            return Err(ConfigError::Bottleneck(self.bottleneck));
        }
        let patch = self.backbone.patch_size;
        if self.size == 0 || self.size > 1024 || patch == 0 || !self.size.is_multiple_of(patch) {
            return Err(ConfigError::Size {
                size: self.size,
                patch,
            });
        }
        let side = self.size / patch;
        if self.pool_grid == 0 || self.pool_grid > side || self.pool_grid > 8 {
            return Err(ConfigError::PoolGrid {
                grid: self.pool_grid,
                side,
            });
        }
        if self.aligner_heads == 0 || !self.backbone.hidden_size.is_multiple_of(self.aligner_heads)
        {
            return Err(ConfigError::AlignerHeads {
                heads: self.aligner_heads,
                width: self.backbone.hidden_size,
            });
        }
        let heads = self.backbone.num_attention_heads;
        let channels = self.flow.channels_per_head();
        if heads == 0 || !self.backbone.hidden_size.is_multiple_of(channels * heads) {
            return Err(ConfigError::FlowWidth {
                flow: self.flow,
                channels,
                heads,
                width: self.backbone.hidden_size,
            });
        }
        Ok(())
    }
}

/// A classifier configuration that cannot work (from a checkpoint or from `amflow train`'s
/// options).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not this format.
    #[error("format is \"{0}\", expected \"{FORMAT}\"")]
    Format(String),
    /// An AM block outside the backbone.
    #[error("AM block {block} is not a block of a {layers}-block backbone (1 to {layers})")]
    Block {
        /// 1-based.
        block: usize,
        /// Blocks of the backbone.
        layers: usize,
    },
    /// A first adapted block outside the backbone.
    #[error("--adapters-from {from} is not a block of a {layers}-block backbone (1 to {layers})")]
    AdaptersFrom {
        /// 1-based.
        from: usize,
        /// Blocks of the backbone.
        layers: usize,
    },
    /// An AM block without adapters: its flow enters its attention adapter.
    #[error(
        "AM block {block} comes before the first block with adapters ({from}): the flow enters an AM block's adapter, so --adapters-from must be at most the first AM block"
    )]
    AmBeforeAdapters {
        /// 1-based AM block.
        block: usize,
        /// 1-based first adapted block.
        from: usize,
    },
    /// Fewer than two classes.
    #[error("{0} classes; a classifier needs at least 2")]
    Classes(usize),
    /// Frames per clip out of range.
    #[error("{0} frames per clip (1 to 256)")]
    Frames(usize),
    /// AM blocks on one-frame clips.
    #[error("1 frame per clip: AM flow compares consecutive frames, so AM blocks need at least 2")]
    OneFrame,
    /// Bottleneck out of range.
    #[error("bottleneck {0} (1 to 4096)")]
    Bottleneck(usize),
    /// Input size not a multiple of the patch.
    #[error("input size {size} is not a positive multiple of the patch size {patch} up to 1024")]
    Size {
        /// Pixels.
        size: usize,
        /// Patch side.
        patch: usize,
    },
    /// A pooling grid finer than the patch grid (or over 8).
    #[error(
        "a {grid}×{grid} pooling grid does not fit a {side}×{side} patch grid (1 to min(8, {side}))"
    )]
    PoolGrid {
        /// `G` asked for.
        grid: usize,
        /// Patches per side.
        side: usize,
    },
    /// Aligning-encoder heads that do not divide the width.
    #[error("{heads} aligning-encoder heads do not divide the width {width}")]
    AlignerHeads {
        /// Heads asked for.
        heads: usize,
        /// Backbone width.
        width: usize,
    },
    /// A flow's channels (`H`, or `2H` for the signed and displacement flows) do not divide the
    /// width.
    #[error(
        "{flow:?} flow has {channels} channel(s) per head, {channels} × {heads}, which do not divide the width {width}"
    )]
    FlowWidth {
        /// The flow.
        flow: FlowKind,
        /// Its channels per head.
        channels: usize,
        /// Attention heads.
        heads: usize,
        /// Backbone width.
        width: usize,
    },
}

/// A `--blocks` value that is neither a list, `none`, nor a readable selection file.
#[derive(Debug, thiserror::Error)]
pub enum BlocksError {
    /// Not a list of numbers.
    #[error(
        "--blocks \"{0}\": expected 1-based block numbers (\"1,12\"), \"none\", or a selection file from `amflow blocks`"
    )]
    Parse(String),
    /// A number outside the backbone.
    #[error("--blocks: block {block} does not exist; the backbone has blocks 1 to {layers}")]
    Range {
        /// The block asked for.
        block: usize,
        /// How many there are.
        layers: usize,
    },
    /// The selection file is bad.
    #[error("--blocks {path}: {problem}")]
    Selection {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// What `--blocks` named: the AM blocks, and the flow they were ranked on when they came from a
/// selection file of `amflow blocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocksArg {
    /// 1-based, sorted, unique.
    pub blocks: Vec<usize>,
    /// The flow a selection file ranked the blocks on; `None` for a list or `none`.
    pub ranked_on: Option<MapFlow>,
}

impl BlocksArg {
    /// A line for the user when the blocks were ranked on another flow than the one to train:
    /// `amflow blocks` ranks the vanilla flow (which stands for the other column-sum flows,
    /// aligned and signed) or the displacement flow, and the two put different blocks first
    /// (README, "The ranking, for the displacement flow").
    pub fn flow_mismatch(&self, flow: FlowKind) -> Option<String> {
        let ranked = self.ranked_on?;
        let trained = match flow {
            FlowKind::Displacement => MapFlow::Displacement,
            FlowKind::Vanilla | FlowKind::Aligned | FlowKind::Signed => MapFlow::Vanilla,
        };
        (ranked != trained).then(|| {
            format!(
                "blocks {:?} were ranked on the {ranked} flow, and this run trains the {} flow: \
                 rank them with `amflow blocks --flow {trained}` for blocks that suit it",
                self.blocks,
                flow.name()
            )
        })
    }
}

/// The AM blocks (1-based, sorted, unique) from `--blocks`: `"1,12"`, `"none"`, or the path of a
/// selection file written by `amflow blocks`.
pub fn parse_blocks(value: &str, layers: usize) -> Result<Vec<usize>, BlocksError> {
    read_blocks(value, layers).map(|arg| arg.blocks)
}

/// [`parse_blocks`], keeping the flow a selection file ranked the blocks on.
pub fn read_blocks(value: &str, layers: usize) -> Result<BlocksArg, BlocksError> {
    let value = value.trim();
    let mut ranked_on = None;
    let mut blocks = if value.eq_ignore_ascii_case("none") {
        Vec::new()
    } else if value
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c.is_whitespace())
    {
        value
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|_| BlocksError::Parse(value.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        let path = std::path::Path::new(value);
        if !path.is_file() {
            return Err(BlocksError::Parse(value.to_string()));
        }
        let err = |problem: String| BlocksError::Selection {
            path: value.to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let selection = Selection::from_json(&text).map_err(|e| err(e.to_string()))?;
        ranked_on = Some(selection.flow);
        selection
            .indices(layers)
            .map_err(|e| err(e.to_string()))?
            .into_iter()
            .map(|i| i + 1)
            .collect()
    };
    if let Some(&block) = blocks.iter().find(|&&b| b == 0 || b > layers) {
        return Err(BlocksError::Range { block, layers });
    }
    blocks.sort_unstable();
    blocks.dedup();
    Ok(BlocksArg { blocks, ranked_on })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bottleneck_is_a_quarter_of_the_width_and_at_least_32() {
        // ViT-S/14 (384), ViT-B/14 (768), the tiny DINOv2 (32), a width of 128 (32 either way).
        assert_eq!(default_bottleneck(384), 96);
        assert_eq!(default_bottleneck(768), 192);
        assert_eq!(default_bottleneck(32), 32);
        assert_eq!(default_bottleneck(128), 32);
        assert_eq!(default_bottleneck(132), 33);
    }

    #[test]
    fn blocks_from_lists_and_none() {
        assert_eq!(parse_blocks("1,12", 12).ok(), Some(vec![1, 12]));
        assert_eq!(parse_blocks(" 12, 1 ,1", 12).ok(), Some(vec![1, 12]));
        assert_eq!(parse_blocks("none", 12).ok(), Some(vec![]));
        assert!(matches!(
            parse_blocks("13", 12),
            Err(BlocksError::Range { block: 13, .. })
        ));
        assert!(matches!(
            parse_blocks("0", 12),
            Err(BlocksError::Range { block: 0, .. })
        ));
        assert!(matches!(
            parse_blocks("first,last", 12),
            Err(BlocksError::Parse(_))
        ));
    }

    /// A selection file says which flow it ranked, and training another flow is pointed out:
    /// the column-sum flows (vanilla, aligned, signed) against a displacement ranking and the
    /// displacement flow against a vanilla one; lists and `none` name no flow.
    #[test]
    fn blocks_from_a_selection_file_keep_the_flow_they_were_ranked_on() {
        use crate::maps::selection::{FORMAT as SELECTION, Selection};
        let dir = tempfile::tempdir().unwrap();
        let file = |flow: MapFlow| {
            let path = dir.path().join(format!("{flow}.json"));
            let selection = Selection {
                format: SELECTION.into(),
                backbone: "tiny".into(),
                blocks: vec![2, 1],
                offset: 1,
                pairs: 4,
                clips: 2,
                flow,
                scores: Vec::new(),
                probe: None,
            };
            std::fs::write(&path, selection.to_json()).unwrap();
            path.to_str().unwrap().to_string()
        };
        let displacement = read_blocks(&file(MapFlow::Displacement), 2).unwrap();
        assert_eq!(displacement.blocks, [1, 2]);
        assert_eq!(displacement.ranked_on, Some(MapFlow::Displacement));
        assert_eq!(displacement.flow_mismatch(FlowKind::Displacement), None);
        for flow in [FlowKind::Vanilla, FlowKind::Aligned, FlowKind::Signed] {
            let line = displacement.flow_mismatch(flow).unwrap();
            assert!(line.contains("ranked on the displacement flow"), "{line}");
            assert!(line.contains("amflow blocks --flow vanilla"), "{line}");
        }
        let vanilla = read_blocks(&file(MapFlow::Vanilla), 2).unwrap();
        assert_eq!(vanilla.ranked_on, Some(MapFlow::Vanilla));
        for flow in [FlowKind::Vanilla, FlowKind::Aligned, FlowKind::Signed] {
            assert_eq!(vanilla.flow_mismatch(flow), None, "{flow:?}");
        }
        let line = vanilla.flow_mismatch(FlowKind::Displacement).unwrap();
        assert!(
            line.contains("ranked on the vanilla flow, and this run trains the displacement flow"),
            "{line}"
        );
        for list in ["1,2", "none"] {
            let arg = read_blocks(list, 2).unwrap();
            assert_eq!(arg.ranked_on, None);
            assert_eq!(arg.flow_mismatch(FlowKind::Displacement), None);
        }
    }

    /// A backbone of `width`, `layers` blocks and `heads` heads (patch 14, no registers).
    fn backbone(name: &str, width: usize, layers: usize, heads: usize) -> BackboneId {
        BackboneId {
            name: name.into(),
            hidden_size: width,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            patch_size: 14,
            num_register_tokens: 0,
        }
    }

    /// A valid configuration on `backbone` without AM blocks: vanilla flow, transformer
    /// temporal modules, 4 frames at 56 px, bottleneck 8, one aligning-encoder head per
    /// attention head, adapters beside every block, two classes; tests change what they test.
    fn sample(backbone: BackboneId) -> ClassifierConfig {
        ClassifierConfig {
            format: FORMAT.into(),
            aligner_heads: backbone.num_attention_heads,
            backbone,
            am_blocks: Vec::new(),
            flow: FlowKind::Vanilla,
            tpm: TpmKind::Transformer,
            frames: 4,
            bottleneck: 8,
            size: 56,
            flow_norm: Default::default(),
            flow_input: true,
            pool_grid: 1,
            adapters_from: 1,
            classes: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn one_frame_clips_are_refused_where_am_flow_needs_pairs() {
        let config = |frames, am_blocks| ClassifierConfig {
            frames,
            am_blocks,
            ..sample(backbone("tiny", 32, 2, 2))
        };
        let err = config(1, vec![1])
            .validate()
            .expect_err("one frame, AM flow");
        assert_eq!(err, ConfigError::OneFrame);
        assert!(config(1, vec![]).validate().is_ok());
        assert!(config(2, vec![1]).validate().is_ok());
    }

    #[test]
    fn adapters_start_inside_the_backbone_and_no_later_than_the_first_am_block() {
        let config = |adapters_from, am_blocks| ClassifierConfig {
            adapters_from,
            am_blocks,
            ..sample(backbone("tiny", 32, 4, 2))
        };
        assert!(config(3, vec![3, 4]).validate().is_ok());
        assert!(config(4, vec![]).validate().is_ok());
        assert_eq!(
            config(4, vec![3, 4]).validate(),
            Err(ConfigError::AmBeforeAdapters { block: 3, from: 4 })
        );
        for from in [0, 5] {
            assert_eq!(
                config(from, vec![4]).validate(),
                Err(ConfigError::AdaptersFrom { from, layers: 4 })
            );
        }
        // A checkpoint written before the option reads as adapters beside every block.
        let mut json = serde_json::to_value(config(3, vec![3])).unwrap_or_default();
        json.as_object_mut().map(|o| o.remove("adapters_from"));
        let old: ClassifierConfig = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.adapters_from, 1);
    }

    #[test]
    fn two_channel_flows_need_two_channels_per_head_to_divide_the_width() {
        // 3 heads in a width of 33: 33 / 3 is whole, 33 / 6 is not.
        let config = |flow| ClassifierConfig {
            flow,
            am_blocks: vec![1],
            ..sample(backbone("odd", 33, 2, 3))
        };
        assert!(config(FlowKind::Vanilla).validate().is_ok());
        for flow in [FlowKind::Signed, FlowKind::Displacement] {
            assert_eq!(
                config(flow).validate(),
                Err(ConfigError::FlowWidth {
                    flow,
                    channels: 2,
                    heads: 3,
                    width: 33
                })
            );
        }
    }
}

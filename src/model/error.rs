//! Typed errors of backbone loading and inference. Every message names the file and the problem.

use thiserror::Error;

/// What is wrong with a `config.json`.
#[derive(Debug, Error)]
pub enum ConfigProblem {
    /// The text is not JSON, or a field has the wrong type.
    #[error("not a valid DINOv2 config.json: {}{source}", field_prefix(field))]
    Json {
        /// The field that failed to parse (`.` when the text is not JSON at all).
        field: String,
        /// The parser's message.
        #[source]
        source: serde_json::Error,
    },
    /// `model_type` names another architecture.
    #[error("model_type is \"{0}\", expected \"dinov2\" or \"dinov2_with_registers\"")]
    NotDinov2(String),
    /// A size is zero or absurdly large.
    #[error("{name} = {value} is out of range (1 to {max})")]
    OutOfRange {
        /// The config field.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The largest accepted value.
        max: f64,
    },
    /// `hidden_size` is not a multiple of `num_attention_heads`.
    #[error("num_attention_heads = {heads} does not divide hidden_size = {hidden_size}")]
    HeadsDoNotDivide {
        /// Model width.
        hidden_size: usize,
        /// Number of heads.
        heads: usize,
    },
    /// The pretraining image is smaller than one patch.
    #[error("image_size = {image_size} is smaller than patch_size = {patch_size}")]
    ImageSmallerThanPatch {
        /// Pretraining resolution.
        image_size: usize,
        /// Patch side.
        patch_size: usize,
    },
    /// `layer_norm_eps` is not a small positive number.
    #[error("layer_norm_eps = {0} must be in (0, 1)")]
    BadEpsilon(f64),
    /// `hidden_act` is not one DINOv2 uses.
    #[error("hidden_act \"{0}\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu, silu)")]
    UnknownActivation(String),
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() || field == "." {
        String::new()
    } else {
        format!("{field}: ")
    }
}

/// What is wrong with a weights file.
#[cfg(feature = "model")]
#[derive(Debug, Error)]
pub enum WeightsProblem {
    /// The safetensors container itself is broken (truncated, random bytes, offsets past the end).
    #[error("not a valid safetensors file: {0}")]
    Container(#[source] safetensors::SafeTensorError),
    /// A tensor the configuration needs is absent.
    #[error("tensor `{0}` is missing")]
    Missing(String),
    /// A tensor has another shape than the configuration implies.
    #[error("tensor `{name}` has shape {found:?}, but config.json implies {expected:?}")]
    Shape {
        /// Hugging Face name of the tensor.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the configuration implies.
        expected: Vec<usize>,
    },
    /// A tensor is stored in a type that is not a float the loader widens to f32.
    #[error("tensor `{name}` has dtype {dtype}, expected F32, F16 or BF16")]
    Dtype {
        /// Hugging Face name of the tensor.
        name: String,
        /// The stored dtype.
        dtype: String,
    },
    /// A tensor holds NaN or infinity.
    #[error("tensor `{0}` holds NaN or infinite values")]
    NotFinite(String),
}

/// Any failure to get a backbone: reading, parsing, validating.
#[cfg(feature = "model")]
#[derive(Debug, Error)]
pub enum BackboneError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not a usable DINOv2 configuration.
    #[error("{path}: {problem}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        problem: ConfigProblem,
    },
    /// `model.safetensors` does not hold the weights the configuration needs.
    #[error("{path}: {problem}")]
    Weights {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        problem: WeightsProblem,
    },
    /// The default backbone was asked for from a program built without it (the `embedded`
    /// feature off).
    #[error(
        "this amflow was built without the `embedded` feature, so it has no compiled-in backbone: name one with --backbone DIR"
    )]
    NotEmbedded,
}

/// An input the backbone cannot run on.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    /// The pixel tensor has the wrong number of channels.
    #[error("the input has {found} channels, the backbone expects {expected}")]
    Channels {
        /// Channels given.
        found: usize,
        /// Channels of the backbone.
        expected: usize,
    },
    /// A side of the image is not a multiple of the patch size.
    #[error("image {side} {value} is not a multiple of patch size {patch}")]
    NotMultipleOfPatch {
        /// `height` or `width`.
        side: &'static str,
        /// The side in pixels.
        value: usize,
        /// Patch size.
        patch: usize,
    },
    /// A computation needs a batch of another size (a frame pair needs 2).
    #[error("the input batch holds {found} images, {expected} expected")]
    Batch {
        /// Images given.
        found: usize,
        /// Images needed.
        expected: usize,
    },
    /// The input would need more memory than the backbone allows itself: one block's attention
    /// logits, `B·H·N²` float32 values, past the backbone's limit (`MAX_ATTENTION_BYTES`).
    #[error(
        "{height}×{width} pixels make {tokens} tokens per image, whose attention maps need {} MiB per block (at most {} MiB): choose a smaller input size",
        bytes >> 20, limit >> 20
    )]
    TooLarge {
        /// Height in pixels.
        height: usize,
        /// Width in pixels.
        width: usize,
        /// Tokens per image.
        tokens: usize,
        /// Bytes of one block's attention logits.
        bytes: u128,
        /// The most allowed.
        limit: u128,
    },
    /// A clip of another length than the classifier was built for (its temporal modules and
    /// their position embeddings are per frame).
    #[error("the clips hold {found} frames, the classifier takes {expected}")]
    Frames {
        /// Frames given.
        found: usize,
        /// Frames of the classifier.
        expected: usize,
    },
    /// Frozen-prefix tokens that are not `B` clips of the classifier's frames, tokens and width.
    #[error(
        "frozen-prefix tokens of shape {found:?} are not {clips} clips × {frames} frames of {tokens} tokens of width {width}"
    )]
    Tokens {
        /// `[B·T, N, D]` given.
        found: [usize; 3],
        /// Clips `B` said.
        clips: usize,
        /// Frames of the classifier.
        frames: usize,
        /// Tokens per frame at the classifier's input size.
        tokens: usize,
        /// Width of the classifier's backbone.
        width: usize,
    },
    /// Frames of another size than the classifier was trained at (its pooling grid and the
    /// temporal modules' inputs are laid out for that size's patch grid).
    #[error(
        "the clips' frames are {height}×{width} pixels; the classifier takes {size}×{size}: resize them to its input size"
    )]
    Size {
        /// Height in pixels.
        height: usize,
        /// Width in pixels.
        width: usize,
        /// The classifier's input side.
        size: usize,
    },
    /// The batch is empty or the image has no pixels.
    #[error("the input batch is empty ({batch} images of {height}×{width})")]
    Empty {
        /// Images in the batch.
        batch: usize,
        /// Height in pixels.
        height: usize,
        /// Width in pixels.
        width: usize,
    },
}

//! Labelled clips for training and evaluation, and the batcher that samples and preprocesses
//! them (SPEC §3): `T` uniform segments, a random frame in each for training and the middle one
//! for testing; short side resized to the input size, a centre crop (or three crops),
//! ImageNet normalisation.
//!
//! A dataset is a folder with one sub-folder per class (clips at any depth below it: videos,
//! frame folders, animations), a root holding `train/` and `test/` (or `val/`) such folders, or
//! an mmaction2 list file of `path label` lines, paths relative to the file, labels 0-based,
//! class names from a `classes.txt` beside it when there is one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::Interrupter;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::augment::Augment;
use super::prefix::PrefixCache;
use crate::video::discover::find_clips;
use crate::video::preprocess::{Crop, Preprocess};
use crate::video::sampling::{SegmentPick, uniform_segments};
use crate::video::{Clip, ClipError};

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Listing or reading failed.
    #[error(transparent)]
    Clip(#[from] ClipError),
    /// An item past the end of the dataset was asked for.
    #[error("clip {index} of a dataset of {len}")]
    Index {
        /// Asked for.
        index: usize,
        /// Clips in the dataset.
        len: usize,
    },
    /// A list line that is not `path label`.
    #[error("{path}:{line}: expected `path label` with a 0-based integer label, found \"{text}\"")]
    ListLine {
        /// The list file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// Nothing to learn from.
    #[error("{path}: {problem}")]
    Empty {
        /// The dataset.
        path: PathBuf,
        /// What is missing.
        problem: String,
    },
    /// A class the checkpoint does not know.
    #[error("{path}: class \"{class}\" is not one of the checkpoint's classes ({known})")]
    UnknownClass {
        /// The dataset.
        path: PathBuf,
        /// The class.
        class: String,
        /// Those it knows.
        known: String,
    },
}

/// One labelled clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipItem {
    /// The clip (video, frame folder, animation).
    pub path: PathBuf,
    /// Class index.
    pub label: usize,
}

/// Labelled clips and the class names.
#[derive(Debug, Clone)]
pub struct ClipDataset {
    /// The clips.
    pub items: Vec<ClipItem>,
    /// Class names, index = label.
    pub classes: Vec<String>,
}

impl Dataset<ClipItem> for ClipDataset {
    fn get(&self, index: usize) -> Result<ClipItem, DatasetError> {
        self.items.get(index).cloned().ok_or_else(|| {
            DatasetError::new(DataError::Index {
                index,
                len: self.items.len(),
            })
        })
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// Which split of a root with `train/` and `test/` to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train/` (or the folder itself when it has no splits).
    Train,
    /// `test/` or `val/` (or the folder itself when it has no splits).
    Test,
}

fn read_classes_txt(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("classes.txt")).ok()?;
    let classes: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    (!classes.is_empty()).then_some(classes)
}

impl ClipDataset {
    /// Opens `path` (a class-folder dataset, a root with splits, or a list file) for `split`.
    pub fn open(path: &Path, split: Split) -> Result<Self, DataError> {
        if path.is_file() {
            return Self::from_list(path);
        }
        let split_dir = match split {
            Split::Train => ["train"].as_slice(),
            Split::Test => ["test", "val"].as_slice(),
        }
        .iter()
        .map(|s| path.join(s))
        .find(|p| p.is_dir());
        let root_classes = read_classes_txt(path);
        match split_dir {
            Some(dir) => Self::from_class_folders(&dir, root_classes),
            None => Self::from_class_folders(path, root_classes),
        }
    }

    /// One sub-folder per class; classes in `classes.txt` order when given, else sorted.
    pub fn from_class_folders(dir: &Path, classes: Option<Vec<String>>) -> Result<Self, DataError> {
        let entries =
            std::fs::read_dir(dir).map_err(|source| DataError::Clip(ClipError::io(dir, source)))?;
        let mut folders: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let classes = classes.unwrap_or_else(|| folders.clone());
        let mut items = Vec::new();
        for folder in &folders {
            let Some(label) = classes.iter().position(|c| c == folder) else {
                return Err(DataError::UnknownClass {
                    path: dir.to_path_buf(),
                    class: folder.clone(),
                    known: classes.join(", "),
                });
            };
            for clip in find_clips(&dir.join(folder))? {
                items.push(ClipItem { path: clip, label });
            }
        }
        if classes.len() < 2 || items.is_empty() {
            return Err(DataError::Empty {
                path: dir.to_path_buf(),
                problem: format!(
                    "found {} classes and {} clips; expected one sub-folder of clips per class (at least 2)",
                    classes.len(),
                    items.len()
                ),
            });
        }
        Ok(Self { items, classes })
    }

    /// An mmaction2 list file.
    pub fn from_list(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| ClipError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut items = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || DataError::ListLine {
                path: path.to_path_buf(),
                line: n + 1,
                text: line.to_string(),
            };
            let mut parts = line.split_whitespace();
            let (Some(clip), Some(label)) = (parts.next(), parts.last()) else {
                return Err(bad());
            };
            let label: usize = label.parse().map_err(|_| bad())?;
            items.push(ClipItem {
                path: base.join(clip),
                label,
            });
        }
        let count = items.iter().map(|i| i.label + 1).max().unwrap_or(0);
        let classes = read_classes_txt(base)
            .filter(|c| c.len() >= count)
            .unwrap_or_else(|| (0..count).map(|i| i.to_string()).collect());
        if classes.len() < 2 || items.is_empty() {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                problem: format!("{} clips of {} classes", items.len(), classes.len()),
            });
        }
        Ok(Self { items, classes })
    }

    /// Relabels the clips for a classifier that knows `classes` (by name).
    pub fn relabel(mut self, classes: &[String], path: &Path) -> Result<Self, DataError> {
        for item in &mut self.items {
            let name = &self.classes[item.label];
            item.label =
                classes
                    .iter()
                    .position(|c| c == name)
                    .ok_or_else(|| DataError::UnknownClass {
                        path: path.to_path_buf(),
                        class: name.clone(),
                        known: classes.join(", "),
                    })?;
        }
        self.classes = classes.to_vec();
        Ok(self)
    }
}

/// Clips `[B, T, 3, S, S]` (or `[B·3, …]` with three crops, crops of a clip adjacent) and
/// their labels `[B]`.
#[derive(Clone)]
pub struct ClipBatch {
    /// Normalised pixels.
    pub clips: Tensor<5>,
    /// The frozen prefix of every frame of `clips`, `[B·T, N, D]`, when the batcher keeps one
    /// ([`ClipBatcher::with_prefix`]); the model then starts from it.
    pub prefix: Option<Tensor<3>>,
    /// Class indices.
    pub labels: Tensor<1, Int>,
    /// What stops the run when the model fails on this batch (the batcher's policy's, in
    /// training; one nobody watches otherwise).
    pub stop: Interrupter,
}

impl std::fmt::Debug for ClipBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipBatch")
            .field("clips", &self.clips.dims())
            .field("prefix", &self.prefix.as_ref().map(Tensor::dims))
            .field("labels", &self.labels.dims())
            .finish()
    }
}

/// The clips that could not be read, each with why (the first reason seen), shared by every copy
/// of a batcher (burn's data loader clones it into its workers) and by whoever reports them.
#[derive(Debug, Clone, Default)]
pub struct BadClips(Arc<Mutex<BTreeMap<PathBuf, String>>>);

impl BadClips {
    /// Notes `path` as unreadable; returns how many distinct clips are now.
    pub fn record(&self, path: &Path, reason: String) -> usize {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(path.to_path_buf()).or_insert(reason);
        map.len()
    }

    /// Whether `path` is already known to be unreadable.
    pub fn contains(&self, path: &Path) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(path)
    }

    /// Every unreadable clip and why, in path order.
    pub fn list(&self) -> Vec<(PathBuf, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(p, r)| (p.clone(), r.clone()))
            .collect()
    }

    /// How many distinct clips could not be read.
    pub fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether every clip so far was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The list as the user reads it: one `path: reason` per line.
    pub fn report(&self) -> String {
        self.list()
            .iter()
            .map(|(p, r)| format!("  {}: {r}", p.display()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The most unreadable clips a run accepts: `share` of `total` (rounded down).
pub fn bad_clip_limit(share: f64, total: usize) -> usize {
    (share.clamp(0.0, 1.0) * total as f64).floor() as usize
}

/// How a training batcher deals with unreadable clips: each is skipped and counted in `bad`, its
/// place in the batch taken by the next readable clip of `items` (with that clip's own label),
/// and past `limit` distinct unreadable clips `stop` ends the run.
#[derive(Clone)]
pub struct BadClipPolicy {
    /// The unreadable clips so far.
    pub bad: BadClips,
    /// The most accepted.
    pub limit: usize,
    /// Ends the run.
    pub stop: Interrupter,
    /// The dataset, for the clips that take a skipped clip's place.
    pub items: Arc<[ClipItem]>,
}

/// Samples and preprocesses clips into batches.
pub struct ClipBatcher {
    frames: usize,
    preprocess: Preprocess,
    pick: SegmentPick,
    seed: u64,
    counter: AtomicU64,
    policy: Option<BadClipPolicy>,
    augment: Augment,
    prefix: Option<Arc<PrefixCache>>,
}

impl ClipBatcher {
    /// Random frames in the segments (training).
    pub fn train(frames: usize, size: usize, seed: u64) -> Self {
        Self::new(frames, size, SegmentPick::Random, Crop::Centre, seed)
    }

    /// Middle frames, centre or three crops (testing).
    pub fn test(frames: usize, size: usize, three_crop: bool) -> Self {
        let crop = if three_crop {
            Crop::Three
        } else {
            Crop::Centre
        };
        Self::new(frames, size, SegmentPick::Middle, crop, 0)
    }

    fn new(frames: usize, size: usize, pick: SegmentPick, crop: Crop, seed: u64) -> Self {
        Self {
            frames,
            preprocess: Preprocess {
                size: size as u32,
                crop,
            },
            pick,
            seed,
            counter: AtomicU64::new(0),
            policy: None,
            augment: Augment::default(),
            prefix: None,
        }
    }

    /// The batcher with a policy for unreadable clips (training and validation inside the
    /// learner); without one, [`Batcher::batch`] skips them, keeps no count and never stops.
    pub fn with_policy(mut self, policy: BadClipPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The batcher with label-aware augmentation ([`Augment`]: mirrored or reversed clips
    /// under the class they then show), for training.
    pub fn with_augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }

    /// The batcher giving each batch the frozen prefix of its frames from `cache` as well
    /// (`train --adapters-from`). A batch whose prefix cannot be given goes without it, counted
    /// in the cache's statistics with the first reason, and the model computes the prefix
    /// itself (failing the run if the frames are what is wrong).
    pub fn with_prefix(mut self, cache: Arc<PrefixCache>) -> Self {
        self.prefix = Some(cache);
        self
    }

    /// Frames per clip.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Side of the (square) crops in pixels.
    pub fn size(&self) -> usize {
        self.preprocess.size as usize
    }

    /// Crops per clip.
    pub fn crops(&self) -> usize {
        if self.preprocess.crop == Crop::Three {
            3
        } else {
            1
        }
    }

    /// The generator of the batcher's next random draw: one counter for all draws, so that
    /// each clip load (frame sampling) and each augmentation gets a generator of its own from
    /// `seed`.
    fn next_rng(&self, seed: u64) -> StdRng {
        let draw = self.counter.fetch_add(1, Ordering::Relaxed);
        StdRng::seed_from_u64(seed ^ draw.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// One clip's crops as `[T, 3, S, S]` values each.
    pub fn load(&self, path: &Path) -> Result<Vec<TensorData>, ClipError> {
        let clip = Clip::open(path)?;
        let mut rng = self.next_rng(self.seed);
        let indices = uniform_segments(clip.info().frames, self.frames, self.pick, &mut rng)?;
        let frames = clip.frames(&indices)?;
        Ok(self
            .preprocess
            .crops(&frames)
            .iter()
            .map(|crop| crate::video::preprocess::normalise(crop))
            .collect())
    }
}

impl ClipBatcher {
    /// [`ClipBatcher::load`], with the crops checked against the batch's shape: the values of
    /// every crop, or why the clip cannot be used.
    pub fn load_checked(&self, path: &Path) -> Result<Vec<TensorData>, String> {
        let s = self.preprocess.size as usize;
        let per_crop = self.frames * 3 * s * s;
        let data = self.load(path).map_err(|e| e.to_string())?;
        if data.len() != self.crops() || data.iter().any(|d| d.num_elements() != per_crop) {
            return Err(format!(
                "{}: frames of another size than {s}×{s} after preprocessing",
                path.display()
            ));
        }
        Ok(data)
    }

    /// After `item` failed: the next readable clip of the dataset (its values and label), each
    /// unreadable one on the way counted; `None` after a few tries or without a policy.
    fn replacement(&self, item: &ClipItem) -> Option<(Vec<TensorData>, usize)> {
        let policy = self.policy.as_ref()?;
        let n = policy.items.len();
        let start = policy.items.iter().position(|i| i.path == item.path)?;
        (1..n)
            .map(|k| &policy.items[(start + k) % n])
            .filter(|other| !policy.bad.contains(&other.path))
            .take(8)
            .find_map(|other| match self.load_checked(&other.path) {
                Ok(data) => Some((data, other.label)),
                Err(reason) => {
                    self.note_bad(&other.path, reason);
                    None
                }
            })
    }

    /// Counts an unreadable clip, and stops the run once there are more than the policy allows.
    fn note_bad(&self, path: &Path, reason: String) {
        let Some(policy) = &self.policy else {
            return;
        };
        let count = policy.bad.record(path, reason);
        if count > policy.limit {
            policy.stop.stop(Some(&format!(
                "{count} clips could not be read, more than the {} allowed (--max-bad-share)",
                policy.limit
            )));
        }
    }
}

impl Batcher<ClipItem, ClipBatch> for ClipBatcher {
    /// A clip that cannot be read is skipped: counted in the policy's [`BadClips`] and replaced
    /// by the next readable clip of the dataset, under that clip's label (never stood in for by
    /// made-up frames). Without a policy it is left out of the batch.
    fn batch(&self, items: Vec<ClipItem>, device: &Device) -> ClipBatch {
        let s = self.preprocess.size as usize;
        let t = self.frames;
        let crops = self.crops();
        let mut values = Vec::with_capacity(items.len() * crops * t * 3 * s * s);
        let mut labels = Vec::with_capacity(items.len());
        for item in &items {
            let loaded = match self.load_checked(&item.path) {
                Ok(data) => Some((data, item.label)),
                Err(reason) => {
                    self.note_bad(&item.path, reason);
                    self.replacement(item)
                }
            };
            if let Some((data, mut label)) = loaded {
                let start = values.len();
                for d in data {
                    values.extend(d.iter::<f32>());
                }
                if self.augment.is_on() {
                    // A stream apart from the frame sampling's (`!seed`).
                    let mut rng = self.next_rng(!self.seed);
                    label = self
                        .augment
                        .apply(&mut values[start..], t, s, label, &mut rng);
                }
                labels.push(label as i64);
            }
        }
        let b = labels.len();
        // A batch with no readable clip has no frames to look up.
        let prefix = self
            .prefix
            .as_ref()
            .filter(|_| b > 0)
            .and_then(|cache| cache.tokens_or_note(&values, b * crops * t, s, device));
        ClipBatch {
            clips: Tensor::from_data(TensorData::new(values, [b * crops, t, 3, s, s]), device),
            prefix,
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
            stop: self
                .policy
                .as_ref()
                .map_or_else(Interrupter::new, |p| p.stop.clone()),
        }
    }
}

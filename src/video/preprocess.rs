//! Frames to backbone input, the same natively and on the web: resize the short side, crop,
//! normalise with ImageNet's mean and std, stack to `[T, 3, H, W]`.
//!
//! Choices, following torchvision's `Resize(224)` + `CenterCrop(224)` on PIL images:
//! - resizing is bilinear with a kernel widened when shrinking (PIL's antialiased bilinear,
//!   `image`'s `Triangle` filter), to `⌊long·size/short⌋` on the long side;
//! - the centre crop starts at `round((side − size)/2)`;
//! - three crops (mmaction2's `ThreeCrop`) take the start, middle and end of the long side.

#[cfg(feature = "model")]
use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::{self, FilterType};

#[cfg(feature = "model")]
use super::ClipError;
use super::Frame;

/// ImageNet channel means (RGB), on pixels scaled to [0, 1].
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Which part of the resized frame goes to the backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crop {
    /// One `size × size` crop from the centre.
    Centre,
    /// Three `size × size` crops: start, middle and end of the long side.
    Three,
    /// As much of the frame as fits whole patches: the short side is `size`, the long side is
    /// centre-cropped to a multiple of `patch` (a 4:3 clip at 224 gives 224×294). For maps, where
    /// the whole frame matters.
    Full {
        /// The backbone's patch side.
        patch: u32,
    },
}

/// Resize + crop + normalise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preprocess {
    /// The short side after resizing, and the crop side.
    pub size: u32,
    /// The crop.
    pub crop: Crop,
}

impl Default for Preprocess {
    /// 224, centre crop: the backbone's default input.
    fn default() -> Self {
        Self {
            size: 224,
            crop: Crop::Centre,
        }
    }
}

/// A crop rectangle: left, top, width, height.
pub type CropBox = (u32, u32, u32, u32);

impl Preprocess {
    /// The size a `width × height` frame is resized to: short side `size`.
    pub fn resized_size(&self, width: u32, height: u32) -> (u32, u32) {
        let short = width.min(height).max(1);
        let long_of = |side: u32| {
            let long = (u64::from(side) * u64::from(self.size)) / u64::from(short);
            long.clamp(1, u64::from(u32::MAX)) as u32
        };
        if width <= height {
            (self.size, long_of(height))
        } else {
            (long_of(width), self.size)
        }
    }

    /// The crop rectangles within a resized frame of `width × height`.
    pub fn crop_boxes(&self, width: u32, height: u32) -> Vec<CropBox> {
        let s = self.size.min(width).min(height);
        let centre = |side: u32, crop: u32| ((f64::from(side - crop)) / 2.0).round() as u32;
        match self.crop {
            Crop::Centre => vec![(centre(width, s), centre(height, s), s, s)],
            Crop::Three if width >= height => [0, (width - s) / 2, width - s]
                .iter()
                .map(|&x| (x, centre(height, s), s, s))
                .collect(),
            Crop::Three => [0, (height - s) / 2, height - s]
                .iter()
                .map(|&y| (centre(width, s), y, s, s))
                .collect(),
            Crop::Full { patch } => {
                let patch = patch.max(1);
                let (w, h) = (
                    (width / patch).max(1) * patch,
                    (height / patch).max(1) * patch,
                );
                let (w, h) = (w.min(width), h.min(height));
                vec![(centre(width, w), centre(height, h), w, h)]
            }
        }
    }

    /// The preprocessed frames as images (one list per crop), before normalisation: what the
    /// backbone sees, for display.
    pub fn crops(&self, frames: &[Frame]) -> Vec<Vec<Frame>> {
        let resized: Vec<Frame> = frames
            .iter()
            .map(|f| {
                let (w, h) = self.resized_size(f.width(), f.height());
                if (w, h) == f.dimensions() {
                    f.clone()
                } else {
                    imageops::resize(f, w, h, FilterType::Triangle)
                }
            })
            .collect();
        let Some(first) = resized.first() else {
            return Vec::new();
        };
        self.crop_boxes(first.width(), first.height())
            .into_iter()
            .map(|(x, y, w, h)| {
                resized
                    .iter()
                    .map(|f| imageops::crop_imm(f, x, y, w, h).to_image())
                    .collect()
            })
            .collect()
    }

    /// Normalised input tensors `[T, 3, H, W]`, one per crop. The frames must share one size.
    #[cfg(feature = "model")]
    pub fn tensors(&self, frames: &[Frame], device: &Device) -> Result<Vec<Tensor<4>>, ClipError> {
        if let Some(first) = frames.first()
            && let Some(odd) = frames.iter().find(|f| f.dimensions() != first.dimensions())
        {
            return Err(ClipError::MixedSizes {
                first: first.dimensions(),
                other: odd.dimensions(),
            });
        }
        if frames.is_empty() {
            return Err(ClipError::NothingToPreprocess("preprocessing"));
        }
        Ok(self
            .crops(frames)
            .iter()
            .map(|crop| Tensor::from_data(normalise(crop), device))
            .collect())
    }
}

#[cfg(feature = "model")]
/// Frames of one size as ImageNet-normalised `[T, 3, H, W]` data:
/// `x[t, c, y, x] = (pixel[c] / 255 − mean[c]) / std[c]`.
pub fn normalise(frames: &[Frame]) -> TensorData {
    let (w, h) = frames.first().map_or((0, 0), |f| f.dimensions());
    let plane = (w * h) as usize;
    let mut values = vec![0.0f32; frames.len() * 3 * plane];
    for (t, frame) in frames.iter().enumerate() {
        for (p, pixel) in frame.pixels().enumerate() {
            for c in 0..3 {
                let v = f32::from(pixel[c]) / 255.0;
                values[(t * 3 + c) * plane + p] = (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
            }
        }
    }
    TensorData::new(values, [frames.len(), 3, h as usize, w as usize])
}

#[cfg(all(test, feature = "model"))]
mod tests {
    use super::*;

    #[test]
    fn torchvision_sizes_and_crops() {
        let p = Preprocess::default();
        // 768×576 (vtest.avi): short side 576 → 224, long ⌊768·224/576⌋ = 298.
        assert_eq!(p.resized_size(768, 576), (298, 224));
        assert_eq!(p.resized_size(480, 640), (224, 298));
        // CenterCrop: left = round((298 − 224)/2) = 37.
        assert_eq!(p.crop_boxes(298, 224), vec![(37, 0, 224, 224)]);
        let three = Preprocess {
            crop: Crop::Three,
            ..p
        };
        assert_eq!(
            three.crop_boxes(298, 224),
            vec![(0, 0, 224, 224), (37, 0, 224, 224), (74, 0, 224, 224)]
        );
        let full = Preprocess {
            crop: Crop::Full { patch: 14 },
            ..p
        };
        // 298 → 21 patches = 294, centred at 2.
        assert_eq!(full.crop_boxes(298, 224), vec![(2, 0, 294, 224)]);
    }

    #[test]
    fn normalisation_is_imagenet() {
        let frame = Frame::from_pixel(2, 1, image::Rgb([255, 0, 128]));
        let data = normalise(&[frame]);
        assert_eq!(data.shape().to_vec(), vec![1, 3, 1, 2]);
        let v: Vec<f32> = data.try_to_vec().unwrap();
        let expect = [
            (1.0 - 0.485) / 0.229,
            (0.0 - 0.456) / 0.224,
            (128.0 / 255.0 - 0.406) / 0.225,
        ];
        for c in 0..3 {
            assert!((v[c * 2] - expect[c]).abs() < 1e-6);
            assert!((v[c * 2 + 1] - expect[c]).abs() < 1e-6);
        }
    }
}

//! Clips in, frames out: every clip in ../shared/clips through ffmpeg, the demo clip, frame
//! folders and animations through `image`, and bad input of every kind giving a clear error.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use amflow::video::ffmpeg::{Access, Ffmpeg, VideoFile};
use amflow::video::preprocess::{Crop, Preprocess};
use amflow::video::sampling::{SegmentPick, pair, uniform_segments};
use amflow::video::{Clip, ClipError, Frame, decode_image, demo_clip};
use burn::tensor::Device;
use image::codecs::gif::GifEncoder;
use image::{Delay, Rgb, RgbImage, Rgba, RgbaImage};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn clip_path(name: &str) -> PathBuf {
    common::shared().join("clips").join(name)
}

fn mean_abs_diff(a: &Frame, b: &Frame) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// The shared clips.
const CLIPS: [&str; 3] = ["vtest.avi", "box.mp4", "bigbuckbunny.mp4"];

/// (frames, fps, decoded size) of a clip from ffprobe itself, counting the frames it decodes
/// (`-count_frames`), independently of amflow's reading; the decoded size is the stored one with
/// the short side brought down to amflow's 480 (ffmpeg::DEFAULT_MAX_SHORT_SIDE), by its rule:
/// each side × 480 / short side, rounded.
fn ffprobe_facts(path: &Path) -> (usize, f64, (u32, u32)) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames,width,height,avg_frame_rate",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_default();
    let fields: Vec<&str> = line.split(',').collect();
    let [w, h, rate, frames] = fields[..] else {
        panic!("ffprobe said {line:?} for {}", path.display());
    };
    let number = |v: &str| {
        v.parse::<f64>()
            .unwrap_or_else(|e| panic!("ffprobe said {line:?}: {e}"))
    };
    let (w, h) = (number(w) as u32, number(h) as u32);
    let (num, den) = rate.split_once('/').unwrap_or((rate, "1"));
    let fps = number(num) / number(den);
    let short = w.min(h);
    let size = if short > 480 {
        let scale = |side: u32| (f64::from(side) * 480.0 / f64::from(short)).round() as u32;
        (scale(w), scale(h))
    } else {
        (w, h)
    };
    (number(frames) as usize, fps, size)
}

#[test]
fn shared_clips_open_with_their_sizes_and_rates() {
    for name in CLIPS {
        let (frames, fps, size) = ffprobe_facts(&clip_path(name));
        let clip = Clip::open(clip_path(name)).unwrap_or_else(|e| panic!("{e}"));
        let info = clip.info();
        println!(
            "{name}: {} frames at {:.3} fps, {}×{}",
            info.frames, info.fps, info.width, info.height
        );
        assert_eq!(info.frames, frames, "{name}");
        assert!((info.fps - fps).abs() < 0.01, "{name}: {}", info.fps);
        assert_eq!((info.width, info.height), size, "{name}");
        assert_eq!(info.timestamps.len(), frames);
        assert_eq!(info.timestamps[0], 0.0);
        assert!(info.timestamps.windows(2).all(|w| w[0] <= w[1]));
        // The last frame is about one clip length in.
        let nominal = (frames - 1) as f64 / fps;
        assert!(
            (info.timestamps[frames - 1] - nominal).abs() < 0.1,
            "{name}"
        );
    }
}

#[test]
fn seeking_and_selecting_give_the_same_frames() {
    let ffmpeg = Ffmpeg::from_path();
    for name in CLIPS {
        let video = VideoFile::open(&clip_path(name), &ffmpeg).unwrap_or_else(|e| panic!("{e}"));
        let frames = video.info().frames;
        for wanted in [vec![1, 2], vec![37, 40], vec![frames - 2, frames - 1]] {
            let seek = video
                .read(&wanted, Access::Seek)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(seek.len(), wanted.len());
            for (&n, got) in wanted.iter().zip(&seek) {
                // Frame n by seeking is frame n by selecting (the scaler may round a few values
                // differently), and is told apart from its neighbours n − 1 and n + 1: a seek
                // one frame off would pass the first check on a still camera, not the second.
                let around: Vec<usize> = [n - 1, n, n + 1]
                    .into_iter()
                    .filter(|&i| i < frames)
                    .collect();
                let select = video
                    .read(&around, Access::Select)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let d: Vec<f64> = select.iter().map(|f| mean_abs_diff(got, f)).collect();
                let same = d[1];
                let nearest_other = d
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != 1)
                    .map(|(_, &x)| x)
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    same < 0.5,
                    "{name}, frame {n}: seek and select differ by {same}"
                );
                assert!(
                    same < 0.5 * nearest_other,
                    "{name}, frame {n}: as close to a neighbour ({nearest_other}) as to itself ({same})"
                );
            }
        }
        // Neighbouring frames of a moving clip do differ, so the check above means something.
        let two = video
            .read(&[0, 30], Access::Select)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            mean_abs_diff(&two[0], &two[1]) > 0.5,
            "{name}: frames 0 and 30 look the same"
        );
    }
}

#[test]
fn uniform_segments_from_a_long_clip() {
    let clip = Clip::open(clip_path("vtest.avi")).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = StdRng::seed_from_u64(1);
    let idx = uniform_segments(clip.info().frames, 8, SegmentPick::Middle, &mut rng).unwrap();
    assert_eq!(idx, [49, 149, 248, 347, 447, 546, 645, 745]);
    // Asked in any order, with a repeat: returned in that order.
    let asked = [idx[3], idx[0], idx[3]];
    let frames = clip.frames(&asked).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0], frames[2]);
    let alone = clip.frames(&[idx[0]]).unwrap_or_else(|e| panic!("{e}"));
    assert!(mean_abs_diff(&alone[0], &frames[1]) < 0.5);

    let tensors = Preprocess::default()
        .tensors(&frames, &Device::flex())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].dims(), [3, 3, 224, 224]);
    let three = Preprocess {
        crop: Crop::Three,
        ..Preprocess::default()
    };
    let tensors = three
        .tensors(&frames, &Device::flex())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tensors.len(), 3);
}

#[test]
fn demo_clip_needs_no_external_program() {
    let clip = demo_clip().unwrap_or_else(|e| panic!("{e}"));
    let info = clip.info();
    assert_eq!((info.frames, info.width, info.height), (40, 384, 288));
    assert_eq!(info.fps, 10.0);
    let [t, u] = pair(info.frames, 20, 1).unwrap();
    let frames = clip.frames(&[t, u]).unwrap_or_else(|e| panic!("{e}"));
    // People walk: consecutive frames differ a little, not a lot (fixed camera).
    let d = mean_abs_diff(&frames[0], &frames[1]);
    assert!(d > 0.2 && d < 10.0, "{d}");
    let full = Preprocess {
        crop: Crop::Full { patch: 14 },
        ..Preprocess::default()
    };
    let x = full
        .tensors(&frames, &Device::flex())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(x[0].dims(), [2, 3, 224, 294]);
}

fn solid(w: u32, h: u32, c: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb(c))
}

#[test]
fn frame_folders_read_in_natural_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=12u8 {
        let name = format!("img_{i}.{}", if i % 2 == 0 { "png" } else { "jpg" });
        solid(32, 24, [i * 20, 0, 0])
            .save(dir.path().join(name))
            .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();
    let clip = Clip::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clip.info().frames, 12);
    assert_eq!(clip.info().fps, 30.0);
    let frames = clip.frames(&[9, 1]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames[0].get_pixel(5, 5)[0], 200); // img_10.png
    assert_eq!(frames[1].get_pixel(5, 5)[0], 40); // img_2.png

    // A frame of another size is an error naming the file.
    solid(16, 16, [0, 0, 0])
        .save(dir.path().join("img_13.png"))
        .unwrap();
    let clip = Clip::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let err = clip.frames(&[12]).unwrap_err().to_string();
    assert!(
        err.contains("img_13.png") && err.contains("(16, 16)"),
        "{err}"
    );
}

#[test]
fn animated_gif_frames_and_delays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moving.gif");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = GifEncoder::new(file);
        let colours = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]];
        let frames = colours.map(|c| {
            image::Frame::from_parts(
                RgbaImage::from_pixel(20, 10, Rgba(c)),
                0,
                0,
                Delay::from_numer_denom_ms(200, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    let clip = Clip::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let info = clip.info();
    assert_eq!((info.frames, info.width, info.height), (3, 20, 10));
    assert!((info.fps - 5.0).abs() < 1e-9);
    assert_eq!(info.timestamps, [0.0, 0.2, 0.4]);
    let frames = clip.frames(&[2, 0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames[0].get_pixel(3, 3), &Rgb([0, 0, 255]));
    assert_eq!(frames[1].get_pixel(3, 3), &Rgb([255, 0, 0]));
}

#[test]
fn animated_webp_through_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moving.webp");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=5:duration=1",
        ])
        .args(["-c:v", "libwebp_anim", "-lossless", "1", "-loop", "0"])
        .arg(&path)
        .status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "ffmpeg could not make a WebP animation"
    );
    let clip = Clip::open(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((clip.info().frames, clip.info().width), (5, 64));
    assert!((clip.info().fps - 5.0).abs() < 0.01);
    let frames = clip.frames(&[0, 4]).unwrap_or_else(|e| panic!("{e}"));
    assert!(mean_abs_diff(&frames[0], &frames[1]) > 1.0);
}

// ---- bad input ----

fn open_err(path: &Path) -> String {
    let err = Clip::open(path).expect_err("should not open").to_string();
    println!("{}: {err}", path.display());
    err
}

#[test]
fn empty_text_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::File::create(&empty).unwrap();
    assert!(open_err(&empty).contains("the file is empty"));

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "these are not the frames you are looking for\n").unwrap();
    let err = open_err(&text);
    assert!(
        err.contains("notes.mp4") && err.contains("not a video"),
        "{err}"
    );

    let missing = dir.path().join("nowhere.mp4");
    assert!(open_err(&missing).contains("no such file or folder"));

    let folder = dir.path().join("no-frames");
    std::fs::create_dir(&folder).unwrap();
    assert!(open_err(&folder).contains("no PNG or JPEG files"));

    let still = dir.path().join("still.png");
    solid(8, 8, [1, 2, 3]).save(&still).unwrap();
    assert!(open_err(&still).contains("single image is not a clip"));
}

#[test]
fn truncated_video_ends_early_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("box-truncated.mp4");
    let bytes = std::fs::read(clip_path("box.mp4")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 6]).unwrap();
    // What decodes is a shorter clip: as many frames as ffprobe decodes from the cut file, the
    // last of them readable, and a frame past them a clear error naming the file.
    let clip = Clip::open(&truncated).unwrap_or_else(|e| panic!("{e}"));
    let frames = clip.info().frames;
    let (decodable, _, _) = ffprobe_facts(&truncated);
    assert_eq!(frames, decodable);
    assert!(frames > 2 && frames < 455, "{frames}");
    assert!(matches!(clip.frames(&[frames - 2, frames - 1]), Ok(f) if f.len() == 2));
    let err = clip
        .frames(&[frames])
        .map(|f| f.len())
        .unwrap_err()
        .to_string();
    assert!(err.contains("box-truncated.mp4"), "{err}");
    // Cut inside the header: nothing to read.
    let stub = dir.path().join("stub.mp4");
    std::fs::write(&stub, &bytes[..64]).unwrap();
    assert!(open_err(&stub).contains("stub.mp4"));
}

#[test]
fn one_frame_clips_and_frames_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=red:size=64x48:rate=25",
        ])
        .args(["-frames:v", "1", "-pix_fmt", "yuv420p"])
        .arg(&one)
        .status();
    assert!(made.is_ok_and(|s| s.success()));
    let clip = Clip::open(&one).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clip.info().frames, 1);
    let frame = clip.frames(&[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frame[0].dimensions(), (64, 48));
    let err = pair(clip.info().frames, 0, 1).unwrap_err().to_string();
    assert!(err.contains("needs two frames"), "{err}");
    let err = clip.frames(&[0, 1]).unwrap_err().to_string();
    assert!(
        err.contains("frame 1 asked for") && err.contains("has 1 frames"),
        "{err}"
    );
    let err = Clip::open(clip_path("vtest.avi"))
        .and_then(|c| c.frames(&[795]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClipError::FrameOutOfRange {
                index: 795,
                frames: 795,
                ..
            }
        ),
        "{err}"
    );
}

/// A PNG with only a signature and an IHDR chunk claiming `width × height`.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32fast::hash(&ihdr).to_be_bytes());
    // An empty image-data chunk (zlib of nothing) and the end chunk.
    for (kind, data) in [
        (&b"IDAT"[..], &b"\x78\x9c\x03\x00\x00\x00\x00\x01"[..]),
        (b"IEND", b""),
    ] {
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32fast::hash(&chunk).to_be_bytes());
    }
    png
}

#[test]
fn empty_and_huge_image_headers_are_refused_from_the_header() {
    // Refused on the header's size, before any pixel buffer: a 20000×20000 PNG of a few bytes
    // would otherwise ask for 1.2 GB.
    let err = decode_image(&png_header(0, 0), "zero.png")
        .unwrap_err()
        .to_string();
    println!("{err}");
    assert!(err.contains("zero.png"), "{err}");
    let err = decode_image(&png_header(20000, 20000), "huge.png").unwrap_err();
    println!("{err}");
    assert!(
        matches!(
            err,
            ClipError::TooLarge {
                width: 20000,
                height: 20000,
                ..
            }
        ),
        "{err}"
    );

    // The same through a folder of frames and through two images.
    let dir = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(dir.path().join("0001.png")).unwrap();
    f.write_all(&png_header(20000, 20000)).unwrap();
    assert!(open_err(dir.path()).contains("too large"));
    let a = dir.path().join("0001.png");
    let err = Clip::from_images(&[a.clone(), a], 10.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn a_missing_ffmpeg_says_how_to_install_it() {
    let ffmpeg = Ffmpeg {
        ffmpeg: PathBuf::from("/nonexistent/ffmpeg"),
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
    };
    let err = VideoFile::open(&clip_path("box.mp4"), &ffmpeg).unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(matches!(err, ClipError::FfmpegMissing { .. }));
    assert!(
        msg.contains("apt install ffmpeg") && msg.contains("box.mp4"),
        "{msg}"
    );
}

#[test]
fn webm_vp9_without_a_frame_count_in_its_header() {
    // tests/data/vtest-2s.webm: 2 s of vtest.avi as VP9 at 320×240, the kind of file
    // Something-Something ships; WebM headers carry no frame count.
    let path = common::root().join("tests/data/vtest-2s.webm");
    let clip = Clip::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let info = clip.info();
    assert_eq!((info.frames, info.width, info.height), (20, 320, 240));
    assert!((info.fps - 10.0).abs() < 1e-6);
    let frames = clip.frames(&[0, 19]).unwrap_or_else(|e| panic!("{e}"));
    assert!(mean_abs_diff(&frames[0], &frames[1]) > 0.5);
}

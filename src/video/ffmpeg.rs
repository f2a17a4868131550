//! Video files through the system's `ffmpeg` and `ffprobe` (run through `ffmpeg-sidecar`, which
//! never downloads anything here): MP4/H.264, WebM/VP9, AV1, AVI, ... whatever the installed
//! ffmpeg decodes.
//!
//! Opening a file runs `ffprobe` twice: once for the size and the frame rate, once to list the
//! timestamps of the frames the decoder actually produces. That second pass decodes the stream
//! (keeping nothing; about 2000 frames/s for SD video on one core), and it is what makes frame
//! indices exact: real files are not always at a constant rate and may hold packets that do not
//! decode (box.mp4's second and third), so neither `i / fps` nor the container's frame count
//! names the `i`-th picture reliably, while the decoded list does. Frames are read by index,
//! two ways, which agree (tested):
//!
//! - **seek** (frames close together, such as a pair `(t, t+k)`): ffmpeg seeks to half way
//!   between the first wanted frame's timestamp and its predecessor's, and decodes
//!   `last − first + 1` frames;
//! - **select** (frames spread over the clip, such as T uniform segments): ffmpeg decodes the
//!   stream and passes only the selected frame numbers (`select='eq(n,i)+…'`) through.
//!
//! Either way only the frames asked for cross the pipe, so a long clip never sits in memory.
//! Frames larger than `max_short_side` are scaled down by ffmpeg (area filter) on the way out.

use std::path::{Path, PathBuf};
use std::process::Command;

use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};
use serde::Deserialize;

use super::image_io::check_size;
use super::{ClipError, ClipInfo, Frame};

/// The short side frames are scaled down to by default: enough for the app's display and far
/// more than the backbone's 224.
pub const DEFAULT_MAX_SHORT_SIDE: u32 = 480;

/// Frames at most this far apart are read by seeking; farther ones by selecting.
const SEEK_SPAN: usize = 48;

/// Where the `ffmpeg` and `ffprobe` programs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ffmpeg {
    /// The `ffmpeg` program.
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program.
    pub ffprobe: PathBuf,
}

impl Ffmpeg {
    /// The programs beside amflow's executable if there, else on `PATH`.
    pub fn from_path() -> Self {
        Self {
            ffmpeg: ffmpeg_sidecar::paths::ffmpeg_path(),
            ffprobe: ffmpeg_sidecar::ffprobe::ffprobe_path(),
        }
    }
}

/// How frames are pulled out of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Seek before the first frame wanted, decode through the last.
    Seek,
    /// Decode from the start, keep the selected frame numbers.
    Select,
}

/// A video file read through ffmpeg.
#[derive(Debug, Clone)]
pub struct VideoFile {
    info: ClipInfo,
    path: PathBuf,
    ffmpeg: Ffmpeg,
    /// Output size when ffmpeg scales frames down.
    scale: Option<(u32, u32)>,
    /// The first frame's time on ffmpeg's seek clock (0 unless other streams start earlier).
    seek_origin: f64,
}

impl VideoFile {
    /// Opens `path`, scaling frames down to a short side of [`DEFAULT_MAX_SHORT_SIDE`].
    pub fn open(path: &Path, ffmpeg: &Ffmpeg) -> Result<Self, ClipError> {
        Self::open_with(path, ffmpeg, Some(DEFAULT_MAX_SHORT_SIDE))
    }

    /// Opens `path`; frames whose short side exceeds `max_short_side` are scaled down to it.
    pub fn open_with(
        path: &Path,
        ffmpeg: &Ffmpeg,
        max_short_side: Option<u32>,
    ) -> Result<Self, ClipError> {
        let meta = std::fs::metadata(path).map_err(|source| ClipError::io(path, source))?;
        if meta.len() == 0 {
            return Err(ClipError::EmptyFile(path.to_path_buf()));
        }
        let probe = Probe::run(path, ffmpeg)?;
        let name = path.display().to_string();
        check_size(&name, probe.width, probe.height)?;
        let scale = max_short_side.and_then(|m| scaled_size(probe.width, probe.height, m));
        let (width, height) = scale.unwrap_or((probe.width, probe.height));
        let info = ClipInfo {
            name,
            frames: probe.timestamps.len(),
            fps: probe.fps,
            width,
            height,
            timestamps: probe.timestamps,
        };
        let seek_origin = probe.seek_origin;
        Ok(Self {
            info,
            path: path.to_path_buf(),
            ffmpeg: ffmpeg.clone(),
            scale,
            seek_origin,
        })
    }

    /// What is known of the clip.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Decodes the frames at `wanted` (ascending, no repeats), choosing seek or select.
    pub(crate) fn frames_sorted(&self, wanted: &[usize]) -> Result<Vec<Frame>, ClipError> {
        let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) else {
            return Ok(Vec::new());
        };
        let access = if last - first <= SEEK_SPAN {
            Access::Seek
        } else {
            Access::Select
        };
        self.read(wanted, access)
    }

    /// Decodes the frames at `wanted` (ascending, no repeats) the given way.
    pub fn read(&self, wanted: &[usize], access: Access) -> Result<Vec<Frame>, ClipError> {
        self.info.check_indices(wanted)?;
        let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) else {
            return Ok(Vec::new());
        };
        let mut command = FfmpegCommand::new_with_path(&self.ffmpeg.ffmpeg);
        command.hide_banner().arg("-nostdin");
        let mut filters = Vec::new();
        // Output frame k is source frame offset + k (seek) or wanted[k] (select).
        let offset = match access {
            Access::Seek => {
                // Frames sharing a timestamp cannot be told apart by seeking: start at the
                // first of the run that holds `first`.
                let ts = &self.info.timestamps;
                let mut start = first;
                while start > 0 && ts[start - 1] >= ts[start] {
                    start -= 1;
                }
                if start > 0 {
                    // ffmpeg's input seek is accurate (it decodes from the key frame before
                    // and drops what comes earlier) and counts from the container's start.
                    let t = self.seek_origin + 0.5 * (ts[start - 1] + ts[start]);
                    command.seek(format!("{t:.6}"));
                }
                start
            }
            Access::Select => {
                let terms: Vec<String> = wanted.iter().map(|i| format!("eq(n\\,{i})")).collect();
                filters.push(format!("select='{}'", terms.join("+")));
                0
            }
        };
        if let Some((w, h)) = self.scale {
            filters.push(format!("scale={w}:{h}:flags=area"));
        }
        command.input(&self.path);
        if !filters.is_empty() {
            command.filter(filters.join(","));
        }
        let count = match access {
            Access::Seek => last - offset + 1,
            Access::Select => wanted.len(),
        };
        command
            .args(["-an", "-sn", "-dn", "-fps_mode", "passthrough"])
            .frames(u32::try_from(count).unwrap_or(u32::MAX))
            .rawvideo();
        let mut child = command
            .spawn()
            .map_err(|e| self.missing(&self.ffmpeg.ffmpeg, &e))?;
        let events = child.iter().map_err(|e| ClipError::NotAVideo {
            path: self.path.clone(),
            message: e.to_string(),
        })?;

        let mut out = Vec::with_capacity(wanted.len());
        let mut errors = Vec::new();
        let mut next = wanted.iter().copied().peekable();
        let mut produced = 0usize;
        for event in events {
            match event {
                FfmpegEvent::OutputFrame(frame) => {
                    let index = match access {
                        Access::Seek => offset + produced,
                        Access::Select => wanted.get(produced).copied().unwrap_or(usize::MAX),
                    };
                    produced += 1;
                    if next.peek() == Some(&index) {
                        next.next();
                        let name = format!("{}, frame {index}", self.info.name);
                        let image = Frame::from_raw(frame.width, frame.height, frame.data)
                            .ok_or_else(|| ClipError::NotAVideo {
                                path: self.path.clone(),
                                message: format!("{name}: ffmpeg sent a frame of the wrong size"),
                            })?;
                        out.push(image);
                    }
                }
                FfmpegEvent::Error(e) | FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, e) => {
                    errors.push(e)
                }
                _ => {}
            }
        }
        let _ = child.wait();
        match next.next() {
            None => Ok(out),
            Some(_) if out.is_empty() && !errors.is_empty() => Err(ClipError::NotAVideo {
                path: self.path.clone(),
                message: last_lines(&errors),
            }),
            Some(wanted) => Err(ClipError::EndedEarly {
                clip: self.info.name.clone(),
                decoded: if access == Access::Seek {
                    offset + produced
                } else {
                    out.len()
                },
                wanted,
            }),
        }
    }

    fn missing(&self, program: &Path, e: &std::io::Error) -> ClipError {
        ClipError::FfmpegMissing {
            path: self.path.clone(),
            program: program.to_path_buf(),
            reason: e.to_string(),
        }
    }
}

/// The size a `width`×`height` frame is scaled to so that its short side is `max_short_side`;
/// `None` when it is already that small.
fn scaled_size(width: u32, height: u32, max_short_side: u32) -> Option<(u32, u32)> {
    let short = width.min(height);
    if short <= max_short_side {
        return None;
    }
    let scale = |side: u32| {
        ((f64::from(side) * f64::from(max_short_side) / f64::from(short)).round() as u32).max(1)
    };
    Some((scale(width), scale(height)))
}

/// The last few distinct lines of ffmpeg's complaints.
fn last_lines(lines: &[String]) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in lines.iter().rev().map(|l| l.trim()) {
        if !line.is_empty() && !kept.contains(&line) {
            kept.push(line);
        }
        if kept.len() == 3 {
            break;
        }
    }
    kept.reverse();
    kept.join("; ")
}

/// What `ffprobe` says of the first video stream.
#[derive(Debug)]
struct Probe {
    width: u32,
    height: u32,
    fps: f64,
    /// Presentation times of the frames, ascending, from the first frame's.
    timestamps: Vec<f64>,
    /// Where the first frame is on ffmpeg's seek clock, which starts at the container's start.
    seek_origin: f64,
}

#[derive(Deserialize)]
struct ProbeJson {
    #[serde(default)]
    streams: Vec<StreamJson>,
    format: Option<FormatJson>,
}

#[derive(Deserialize)]
struct FormatJson {
    start_time: Option<String>,
}

#[derive(Deserialize)]
struct StreamJson {
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
}

impl Probe {
    fn run(path: &Path, ffmpeg: &Ffmpeg) -> Result<Self, ClipError> {
        let entries = "stream=width,height,avg_frame_rate,r_frame_rate:format=start_time";
        let output = Self::ffprobe(path, ffmpeg, &["-of", "json", "-show_entries", entries])?;
        let json: ProbeJson =
            serde_json::from_slice(&output).map_err(|e| ClipError::NotAVideo {
                path: path.to_path_buf(),
                message: format!("ffprobe's answer could not be read: {e}"),
            })?;
        let stream = json
            .streams
            .into_iter()
            .next()
            .ok_or_else(|| ClipError::NoVideoStream(path.to_path_buf()))?;
        let not_a_video = |message: &str| ClipError::NotAVideo {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        let (Some(width), Some(height)) = (stream.width, stream.height) else {
            return Err(not_a_video("the video stream has no frame size"));
        };
        let fps = rate(stream.avg_frame_rate.as_deref())
            .or_else(|| rate(stream.r_frame_rate.as_deref()))
            .ok_or_else(|| not_a_video("the video stream has no frame rate"))?;
        let mut timestamps = Self::frame_times(path, ffmpeg)?;
        let Some(&first) = timestamps.first() else {
            return Err(ClipError::NoFrames(path.display().to_string()));
        };
        timestamps.iter_mut().for_each(|t| *t -= first);
        let container_start = number(json.format.and_then(|f| f.start_time).as_deref());
        Ok(Self {
            width,
            height,
            fps,
            timestamps,
            seek_origin: first - container_start.unwrap_or(first),
        })
    }

    /// The decoded frames' presentation times, sorted.
    fn frame_times(path: &Path, ffmpeg: &Ffmpeg) -> Result<Vec<f64>, ClipError> {
        let args = [
            "-of",
            "csv=p=0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
        ];
        let output = Self::ffprobe(path, ffmpeg, &args)?;
        let mut times: Vec<f64> = String::from_utf8_lossy(&output)
            .lines()
            .filter_map(|line| number(Some(line.trim_end_matches(','))))
            .collect();
        times.sort_by(f64::total_cmp);
        Ok(times)
    }

    /// Runs ffprobe on the first video stream and returns what it printed.
    fn ffprobe(path: &Path, ffmpeg: &Ffmpeg, args: &[&str]) -> Result<Vec<u8>, ClipError> {
        let output = Command::new(&ffmpeg.ffprobe)
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(args)
            .arg(path)
            .output()
            .map_err(|e| ClipError::FfmpegMissing {
                path: path.to_path_buf(),
                program: ffmpeg.ffprobe.clone(),
                reason: e.to_string(),
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            let lines: Vec<String> = stderr.lines().map(str::to_string).collect();
            let message = last_lines(&lines);
            return Err(ClipError::NotAVideo {
                path: path.to_path_buf(),
                message: if message.is_empty() {
                    format!("ffprobe exited with {}", output.status)
                } else {
                    message
                },
            });
        }
        Ok(output.stdout)
    }
}

/// A decimal number as ffprobe prints it (`"79.500000"`), `None` for `"N/A"` or absent.
fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A rate as ffprobe prints it (`"30000/1001"`), `None` for `"0/0"` or absent.
fn rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = text?.split_once('/')?;
    let (num, den) = (
        num.trim().parse::<f64>().ok()?,
        den.trim().parse::<f64>().ok()?,
    );
    let fps = num / den;
    (fps.is_finite() && fps > 0.0 && fps < 10_000.0).then_some(fps)
}

#[cfg(test)]
mod tests {
    use super::{rate, scaled_size};

    #[test]
    fn rates_and_sizes() {
        assert_eq!(rate(Some("10/1")), Some(10.0));
        assert!((rate(Some("30000/1001")).unwrap_or(0.0) - 29.97).abs() < 1e-2);
        assert_eq!(rate(Some("0/0")), None);
        assert_eq!(scaled_size(1280, 720, 480), Some((853, 480)));
        assert_eq!(scaled_size(576, 768, 480), Some((480, 640)));
        assert_eq!(scaled_size(640, 480, 480), None);
    }
}

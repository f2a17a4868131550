//! Which burn backend runs the model: the GPU through wgpu (Vulkan, Metal, DX12, WebGPU), or
//! the CPU through burn's pure-Rust `flex` backend.

use std::fmt;
use std::str::FromStr;

#[cfg(all(feature = "model", not(target_arch = "wasm32")))]
use burn::tensor::{Device, DeviceKind};

/// A backend a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum BackendKind {
    /// burn's `flex` CPU backend (multi-threaded, SIMD).
    #[default]
    Cpu,
    /// burn's wgpu backend on the best adapter wgpu finds.
    Wgpu,
}

/// A device the command line was asked for and could not open.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {what}: {reason} (the CPU backend, --backend cpu, needs no GPU)")]
pub struct DeviceError {
    /// The device asked for.
    pub what: String,
    /// Why it could not be opened.
    pub reason: String,
}

#[cfg(feature = "model")]
impl BackendKind {
    /// [`BackendKind::device`], opened now, so that a machine without the GPU asked for gets
    /// an error naming it instead of a panic at the first tensor. The CPU always opens.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(self) -> Result<Device, DeviceError> {
        match self {
            BackendKind::Cpu => Ok(Device::flex()),
            BackendKind::Wgpu => open_wgpu(
                DeviceKind::DefaultDevice,
                "a GPU through wgpu (--backend wgpu)",
            ),
        }
    }

    /// `count` devices for multi-device training: the CPU alone (`count` must be 1 there) or
    /// the first `count` discrete GPUs, each opened now.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_many(self, count: usize) -> Result<Vec<Device>, DeviceError> {
        match (self, count) {
            (_, 0) => Err(DeviceError {
                what: "0 devices".into(),
                reason: "--devices must be at least 1".into(),
            }),
            (_, 1) => Ok(vec![self.open()?]),
            (BackendKind::Cpu, n) => Err(DeviceError {
                what: format!("{n} CPU devices"),
                reason: "several devices need --backend wgpu".into(),
            }),
            (BackendKind::Wgpu, n) => (0..n)
                .map(|i| {
                    open_wgpu(
                        DeviceKind::DiscreteGpu(i),
                        &format!("discrete GPU {i} of the {n} asked for (--devices {n})"),
                    )
                })
                .collect(),
        }
    }

    /// The burn device for this backend (natively, where both backends are built).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn device(self) -> Device {
        match self {
            BackendKind::Cpu => Device::flex(),
            BackendKind::Wgpu => Device::wgpu(DeviceKind::DefaultDevice),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
        })
    }
}

/// A backend name that is neither `cpu` nor `wgpu`.
#[derive(Debug, thiserror::Error)]
#[error("unknown backend \"{0}\": expected cpu or wgpu")]
pub struct UnknownBackend(String);

impl FromStr for BackendKind {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(BackendKind::Cpu),
            "wgpu" | "gpu" => Ok(BackendKind::Wgpu),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

/// Opens a wgpu device of `kind`; `what` names it in the error.
#[cfg(all(feature = "model", not(target_arch = "wasm32")))]
fn open_wgpu(kind: DeviceKind, what: &str) -> Result<Device, DeviceError> {
    Device::wgpu_options()
        .device_kind(kind)
        .init()
        .map_err(|e| DeviceError {
            what: what.to_string(),
            reason: e.to_string(),
        })
}

//! Which burn backend runs the model: the GPU through wgpu (Vulkan, Metal, DX12, WebGPU), or
//! the CPU through burn's pure-Rust `flex` backend.

use std::fmt;
use std::str::FromStr;

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

impl BackendKind {
    /// The burn device for this backend.
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

//! The desktop app's GPU: the device eframe draws with and where its engine runs the model (the
//! same device, shared with burn's wgpu backend: Vulkan/Metal/DX12), or the CPU. The web page
//! draws with WebGL2 (`crate::app::canvas`) and its worker picks its own device
//! (`crate::engine`), since a WebGPU device belongs to one thread.

use burn::tensor::Device;
use eframe::egui_wgpu::{self, wgpu};

use crate::backend::BackendKind;

/// The device the model runs on, and how to describe it to the user.
#[derive(Debug, Clone)]
pub struct Compute {
    /// The burn device.
    pub device: Device,
    /// E.g. "GPU: NVIDIA H100 (Vulkan), shared with the UI" or "CPU (burn flex) — no GPU device".
    pub description: String,
    /// Whether the model runs on the GPU.
    pub gpu: bool,
}

/// eframe's wgpu settings: ask the adapter for everything it offers (as burn's own device
/// request does), so that burn's kernels get the limits they need on the shared device.
pub fn wgpu_configuration() -> egui_wgpu::WgpuConfiguration {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    setup.device_descriptor = std::sync::Arc::new(|adapter: &wgpu::Adapter| {
        // An OpenGL adapter (no Vulkan, Metal or DX12): the UI draws with it, burn cannot.
        if adapter.get_info().backend == wgpu::Backend::Gl {
            return wgpu::DeviceDescriptor {
                label: Some("amflow (OpenGL)"),
                required_limits: wgpu::Limits::downlevel_webgl2_defaults()
                    .using_resolution(adapter.limits()),
                ..Default::default()
            };
        }
        wgpu::DeviceDescriptor {
            label: Some("amflow"),
            required_features: adapter
                .features()
                .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            ..Default::default()
        }
    });
    egui_wgpu::WgpuConfiguration {
        wgpu_setup: egui_wgpu::WgpuSetup::CreateNew(setup),
        ..Default::default()
    }
}

/// Picks the device: `asked` when given (`wgpu` shares eframe's device), otherwise the shared
/// GPU when it is a real one, else the CPU.
pub fn choose(render: Option<&egui_wgpu::RenderState>, asked: Option<BackendKind>) -> Compute {
    let cpu = |why: &str| Compute {
        device: BackendKind::Cpu.device(),
        description: format!("CPU (burn flex){why}"),
        gpu: false,
    };
    if asked == Some(BackendKind::Cpu) {
        return cpu("");
    }
    let Some(render) = render else {
        return cpu(" — no GPU device");
    };
    let info = render.adapter.get_info();
    if info.backend == wgpu::Backend::Gl {
        return cpu(" — the GPU adapter is OpenGL, which the model's kernels cannot use");
    }
    let software = info.device_type == wgpu::DeviceType::Cpu;
    if asked.is_none() && software {
        return cpu(&format!(
            " — the GPU adapter is a software one ({}); --backend wgpu uses it anyway",
            info.name
        ));
    }
    let setup = burn::tensor::wgpu::WgpuSetup {
        instance: render.instance.clone(),
        adapter: render.adapter.clone(),
        device: render.device.clone(),
        queue: render.queue.clone(),
        backend: info.backend,
    };
    match Device::wgpu_options().setup(setup).init() {
        Ok(device) => Compute {
            device,
            description: format!(
                "GPU: {} ({:?}{}), shared with the UI",
                if info.name.is_empty() {
                    "the browser's adapter"
                } else {
                    &info.name
                },
                info.backend,
                if software { ", software" } else { "" }
            ),
            gpu: true,
        },
        Err(e) => cpu(&format!(" — the GPU could not be shared: {e}")),
    }
}

//! Adapter choice: hardware first, software last, and a description of the chosen one for reports.

use crate::{Error, Result};

/// What `davinci info` says about an adapter.
#[derive(Clone, Debug)]
pub struct AdapterDescription {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A CPU implementation such as Mesa's lavapipe or llvmpipe.
    pub software: bool,
}

impl AdapterDescription {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        AdapterDescription {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: match info.device_type {
                wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                wgpu::DeviceType::VirtualGpu => "virtual GPU",
                wgpu::DeviceType::Cpu => "CPU (software)",
                wgpu::DeviceType::Other => "other",
            }
            .to_string(),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

/// Lower is preferred.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// Picks the adapter to use; `DAVINCI_ADAPTER` narrows the choice by name.
pub(super) fn choose() -> Result<(wgpu::Adapter, AdapterDescription)> {
    // Vulkan, Metal and DX12 unless WGPU_BACKEND asks for another (wgpu's own environment handling):
    // GL's compute support differs from driver to driver, so it is used only when asked for. CI checks
    // bit-identity on GL over Mesa's llvmpipe (tests/gl_backend.rs); other GL drivers are untested.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    let instance = wgpu::Instance::new(desc.with_env());
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        return Err(Error::NoAdapter(match std::env::var("WGPU_BACKEND") {
            Ok(b) => format!(
                "no adapter was found on WGPU_BACKEND={b} (wgpu takes vulkan, metal, dx12 or gl; unset it \
                 for the default Vulkan, Metal or DX12)"
            ),
            Err(_) => "no Vulkan, Metal or DX12 adapter was found".to_string(),
        }));
    }
    if let Ok(want) = std::env::var("DAVINCI_ADAPTER") {
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        adapters.retain(|a| {
            a.get_info()
                .name
                .to_lowercase()
                .contains(&want.to_lowercase())
        });
        if adapters.is_empty() {
            return Err(Error::NoAdapter(format!(
                "DAVINCI_ADAPTER={want} matches none of: {}",
                names.join(", ")
            )));
        }
    }
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    let adapter = adapters.swap_remove(0);
    let description = AdapterDescription::of(&adapter.get_info());
    Ok((adapter, description))
}

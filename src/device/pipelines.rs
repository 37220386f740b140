//! The pipeline cache: each (kernel, override constants) pair is compiled once per device. Shader modules
//! are cached per kernel (per value of its `// @fold` constant, whose modules differ), so variants of one
//! kernel share the parsed WGSL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::kernel_table::KernelId;

type Key = (KernelId, Vec<(&'static str, u64)>);
/// A module: the kernel and the bits of its `// @fold` constant's value (0 without one).
type ModuleKey = (KernelId, u64);

pub(super) struct PipelineCache {
    device: wgpu::Device,
    modules: Mutex<HashMap<ModuleKey, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Key, Arc<wgpu::ComputePipeline>>>,
}

/// The bits of the value `constants` give the kernel's `// @fold` override (0 where it has none).
fn fold_bits(kernel: KernelId, constants: &[(&'static str, f64)]) -> u64 {
    kernel
        .fold_override()
        .and_then(|name| constants.iter().find(|c| c.0 == name))
        .map_or(0, |c| c.1.to_bits())
}

impl PipelineCache {
    pub(super) fn new(device: wgpu::Device) -> Self {
        PipelineCache {
            device,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
        }
    }

    pub(super) fn get(
        &self,
        kernel: KernelId,
        constants: &[(&'static str, f64)],
    ) -> Arc<wgpu::ComputePipeline> {
        // f64 is not hashable; its bits are, and equal constants have equal bits.
        let key: Key = (
            kernel,
            constants.iter().map(|&(n, v)| (n, v.to_bits())).collect(),
        );
        if let Some(p) = self
            .pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return p.clone();
        }
        let module = self
            .modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((kernel, fold_bits(kernel, constants)))
            .or_insert_with(|| {
                let desc = wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.name()),
                    source: wgpu::ShaderSource::Wgsl(kernel.source_for(constants).into()),
                };
                if kernel.bounds_proven() {
                    // SAFETY: the kernel's shader is marked `@bounds-proven`: its launcher proves every
                    // index it forms in bounds (for `cube_matmul_sg`, see below).
                    unsafe {
                        self.device.create_shader_module_trusted(
                            desc,
                            wgpu::ShaderRuntimeChecks::unchecked(),
                        )
                    }
                } else {
                    self.device.create_shader_module(desc)
                }
            })
            .clone();
        let pipeline = Arc::new(self.device.create_compute_pipeline(
            &wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name()),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    // Every shader writes its workgroup memory before reading it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            },
        ));
        self.pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, pipeline.clone());
        pipeline
    }
}

// Kernels compiled without wgpu's bounds checks on buffer accesses (`// @bounds-proven` in the shader).
// Only `cube_matmul_sg`: it clamps every
// row and column it reads into the operands (`min(m, M - 1)`, `min(n, N - 8)` or, for a transposed B,
// `min(n, N - 1)`), reads K only up to the
// last whole word (K is a multiple of 8), and guards every store with `m < M` and `n < N`; its launcher
// (`kernels::cube_matmul`) binds buffers that hold the whole operands and result and uses it only where
// its alignment preconditions hold. The checks would cost a clamp per load in its inner loop.

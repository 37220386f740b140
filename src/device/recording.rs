//! Recorded GPU work not yet submitted: the opaque type the launchers (`src/kernels/`) record into, so that
//! nothing above the device layer names a wgpu type. A [`Recording`] holds one command encoder; a
//! [`Dispatch`] is one grid of a kernel with its uniforms and buffers. The bind group follows the kernel
//! table: the uniforms (when the kernel has a uniform binding) at 0, then the buffers in order.

use super::{GpuBuffer, GpuContext};
use crate::kernel_table::{BindingKind, KernelId};
use crate::{Error, Result};

/// GPU work being recorded; submitted with [`GpuContext::submit`] or read back with
/// [`GpuContext::read_back`].
pub struct Recording {
    pub(super) encoder: wgpu::CommandEncoder,
    /// The most workgroups per grid dimension that launchers may ask for: the adapter's limit, or less
    /// (see `GpuExecutor::with_max_workgroups`).
    max_workgroups: u32,
    /// Buffers only this recording's commands use (a launcher's temporaries): held until its commands are
    /// queued, so that the pool cannot hand them to another op, on another thread, before these run.
    temporaries: Vec<GpuBuffer>,
}

/// One grid of workgroups of a kernel.
pub struct Dispatch<'a> {
    /// The kernel's uniform struct as bytes (empty for a kernel without uniforms).
    pub params: &'a [u8],
    /// The storage buffers, in binding order after the uniforms.
    pub buffers: &'a [&'a GpuBuffer],
    /// Workgroups along x, y and z.
    pub groups: [u32; 3],
}

impl GpuContext {
    /// A new, empty recording.
    pub(crate) fn record(&self) -> Recording {
        Recording {
            encoder: self.device().create_command_encoder(&Default::default()),
            max_workgroups: self.max_workgroups_per_dimension(),
            temporaries: Vec::new(),
        }
    }
}

impl Recording {
    /// The same recording with launchers held to at most `n` workgroups per grid dimension (never more
    /// than the adapter allows), so that multi-dispatch launches can be tested with small tensors.
    pub(crate) fn limit_workgroups(mut self, n: Option<u32>) -> Self {
        if let Some(n) = n {
            self.max_workgroups = n.clamp(1, self.max_workgroups);
        }
        self
    }

    /// The most workgroups a launcher may ask for along one grid dimension.
    pub(crate) fn max_workgroups(&self) -> u32 {
        self.max_workgroups
    }

    /// Splits a workgroup count over x and y so that neither exceeds the per-dimension limit.
    pub(crate) fn grid_2d(&self, groups: u32) -> (u32, u32) {
        let max = self.max_workgroups.max(1);
        if groups <= max {
            (groups.max(1), 1)
        } else {
            (max, groups.div_ceil(max))
        }
    }

    /// Records `dispatches` of `kernel` (built with the override `constants`, which must be one of the
    /// kernel's declared variants) in one compute pass, in order.
    pub(crate) fn dispatch(
        &mut self,
        ctx: &GpuContext,
        kernel: KernelId,
        constants: &[(&'static str, f64)],
        dispatches: &[Dispatch<'_>],
    ) -> Result<()> {
        if !kernel.is_declared_variant(constants) {
            return Err(Error::Program(format!(
                "{}: override constants {constants:?} are not among the shader's @variants",
                kernel.name()
            )));
        }
        let layout = kernel.bindings();
        let uniform = layout.first() == Some(&BindingKind::Uniform);
        let pipeline = ctx.pipeline(kernel, constants);
        let mut groups = Vec::with_capacity(dispatches.len());
        for d in dispatches {
            if d.buffers.len() + usize::from(uniform) != layout.len() {
                return Err(Error::Program(format!(
                    "{}: {} buffers bound, the shader declares {} bindings",
                    kernel.name(),
                    d.buffers.len(),
                    layout.len()
                )));
            }
            let params = uniform.then(|| ctx.uniform(d.params));
            let mut entries: Vec<wgpu::BindingResource<'_>> = Vec::new();
            if let Some(p) = &params {
                entries.push(p.as_entire_binding());
            }
            entries.extend(d.buffers.iter().map(|b| b.binding(kernel.chunk_bytes())));
            let bind = ctx.bind_group(&pipeline, entries);
            groups.push((bind, d.groups));
        }
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.name()),
                timestamp_writes: None,
            });
        pass.set_pipeline(&pipeline);
        for (bind, [x, y, z]) in &groups {
            if [x, y, z].contains(&&0) {
                continue;
            }
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(*x, *y, *z);
        }
        Ok(())
    }

    /// Keeps `buffer` (a temporary the recorded commands use) until the recording is queued.
    pub(crate) fn keep(&mut self, buffer: GpuBuffer) {
        self.temporaries.push(buffer);
    }

    /// The encoder, and the temporaries to release once its commands are queued.
    pub(super) fn into_parts(self) -> (wgpu::CommandEncoder, Vec<GpuBuffer>) {
        (self.encoder, self.temporaries)
    }

    /// Records a copy of the first `bytes` of `src` into `dst` (a reshape: the bits unchanged).
    pub(crate) fn copy(&mut self, src: &GpuBuffer, dst: &GpuBuffer, bytes: u64) {
        self.encoder
            .copy_buffer_to_buffer(src.raw(), 0, dst.raw(), 0, bytes);
    }
}

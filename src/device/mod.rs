//! The device layer: the only place that speaks wgpu (`kernels/` records through its [`Recording`]). It chooses an adapter (hardware
//! first, software last), opens a device with the adapter's own limits, keeps a buffer pool and a pipeline
//! cache for the device's lifetime, reads results back, and probes the adapter's f32 arithmetic at start-up.
//!
//! wgpu reports validation and out-of-memory errors asynchronously and, by default, panics on those nobody
//! captured; here every such error is captured and turned into an [`Error`] value instead.

mod adapter;
pub mod peak;
mod pipelines;
mod pool;
pub mod probe;
mod readback;
mod recording;
mod staging;
pub(crate) mod transfer;

use std::sync::{Arc, Mutex};

pub use adapter::AdapterDescription;
pub(crate) use pool::GpuBuffer;
pub use probe::NumericsProbe;
pub(crate) use recording::{Dispatch, Recording};

use crate::kernel_table::KernelId;
use crate::{Error, Result};

/// An open GPU device with its caches. Cheap to share behind an `Arc`.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    description: AdapterDescription,
    limits: wgpu::Limits,
    pool: pool::BufferPool,
    staging: staging::StagingPool,
    pipelines: pipelines::PipelineCache,
    /// Set by wgpu's callbacks when the device reports an error nobody captured.
    fault: Arc<Mutex<Option<String>>>,
    /// Set by wgpu's callback when the device is lost (its reason and message).
    lost: Arc<Mutex<Option<String>>>,
    probe: NumericsProbe,
    /// The smallest subgroup the device may run, if it has subgroup operations.
    subgroup_min: Option<u32>,
    /// Recorded work not yet submitted (see [`GpuContext::submit`]).
    pending: Mutex<Vec<wgpu::CommandBuffer>>,
    /// Storage buffers can be mapped for reading, and results are read back from them in place: on a
    /// software adapter (lavapipe, WARP), whose "device memory" is the host's own, a staging copy is one
    /// more pass over memory with nothing to cross (a 64 MiB result's copy is ~7 ms here). Not on
    /// integrated or discrete GPUs: there wgpu warns that mappable storage may be slower to run from.
    maps_storage: bool,
}

impl GpuContext {
    /// Opens the best adapter: discrete GPU, then integrated, then virtual, then software. The environment
    /// variable `DAVINCI_ADAPTER` (a case-insensitive part of the adapter's name) picks another one.
    pub fn new() -> Result<Self> {
        let (adapter, description) = adapter::choose()?;
        let limits = adapter.limits();
        let subgroup_min = adapter
            .features()
            .contains(wgpu::Features::SUBGROUP)
            .then(|| adapter.get_info().subgroup_min_size);
        let maps_storage = description.software
            && adapter
                .features()
                .contains(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS);
        let mut features = adapter.features() & wgpu::Features::SUBGROUP;
        if maps_storage {
            features |= wgpu::Features::MAPPABLE_PRIMARY_BUFFERS;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("davinci"),
            // Subgroup operations where the adapter has them (`cube_matmul_sg` shares operands through
            // them), and mappable storage on software adapters (see `maps_storage`).
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| {
            Error::NoAdapter(format!("{} would not open a device: {e}", description.name))
        })?;

        let fault = Arc::new(Mutex::new(None));
        let lost = Arc::new(Mutex::new(None));
        let on_lost = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *on_lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        let uncaptured = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            *uncaptured.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }));

        let mut ctx = GpuContext {
            pool: pool::BufferPool::new(device.clone(), maps_storage),
            staging: staging::StagingPool::new(device.clone()),
            pipelines: pipelines::PipelineCache::new(device.clone()),
            device,
            queue,
            description,
            limits,
            fault,
            lost,
            probe: NumericsProbe::default(),
            subgroup_min,
            pending: Mutex::new(Vec::new()),
            maps_storage,
        };
        ctx.probe = probe::run(&ctx)?;
        Ok(ctx)
    }

    /// What the adapter is.
    pub fn description(&self) -> &AdapterDescription {
        &self.description
    }

    /// The device's limits (the adapter's own, requested in full).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The adapter's limit of workgroups per grid dimension.
    pub fn max_workgroups_per_dimension(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    /// The smallest subgroup size the device may use, where it has subgroup operations (`None` without).
    pub fn subgroup_min_size(&self) -> Option<u32> {
        self.subgroup_min
    }

    /// What the start-up probe found out about this adapter's f32 arithmetic.
    pub fn probe(&self) -> &NumericsProbe {
        &self.probe
    }

    /// The most bytes one storage binding may span (also bounded by the largest buffer).
    pub fn max_binding_bytes(&self) -> u64 {
        // Whole chunks of the widest `@chunk-bytes`, so that a buffer at the limit binds them too.
        let limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        limit - limit % pool::CHUNK_BYTES
    }

    fn device(&self) -> &wgpu::Device {
        &self.device
    }

    fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// A storage buffer of at least `bytes` bytes from the pool (returned to it on drop).
    pub(crate) fn storage(&self, bytes: u64) -> Result<GpuBuffer> {
        self.pool.take(bytes, self.max_binding_bytes())
    }

    /// A storage buffer holding `data` (a multiple of 4 bytes).
    pub(crate) fn upload(&self, data: &[u8]) -> Result<GpuBuffer> {
        let buf = self.storage(data.len() as u64)?;
        let len = buf.len();
        if transfer::upload_in_place(self, &buf, data)? {
            return Ok(buf);
        }
        // Through a pooled staging buffer and a copy recorded behind the pending work, so that the copy
        // keeps its place in the queue's order (the buffer may be one that pending work still reads: the
        // pool hands out buffers as soon as they drop).
        let up = self.staging.take(staging::Way::Up, len);
        // On a lost device this fails; `checked` then reports the loss rather than this symptom.
        transfer::write_mapped(&up, len, data)
            .map_err(|e| Error::Device(format!("writing an upload: {e}")))?;
        up.unmap();
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(&up, 0, buf.raw(), 0, len);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(encoder.finish());
        self.staging.recorded_up(up);
        Ok(buf)
    }

    /// Queues recorded work. It is submitted with the next readback (or before the next upload), so that a
    /// program's ops go to the device in one submission rather than one each; the queue keeps their order.
    pub(crate) fn submit(&self, recording: Recording) {
        let (encoder, temporaries) = recording.into_parts();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(encoder.finish());
        // Queued behind the commands that use them: whoever takes them from the pool next comes after.
        drop(temporaries);
    }

    /// Submits the queued work with `last` after it, in one submission; returns its index.
    fn submit_all(&self, last: wgpu::CommandBuffer) -> wgpu::SubmissionIndex {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let index = self.queue.submit(pending.drain(..).chain([last]));
        self.staging.submitted();
        index
    }

    /// A small uniform buffer holding `data`.
    fn uniform(&self, data: &[u8]) -> wgpu::Buffer {
        // As wgpu's `create_buffer_init`, which panics when the device is lost meanwhile: here the mapping's
        // error is dropped, the buffer is then invalid, and the run's error scope reports the loss.
        let size = (data.len() as u64)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
            .max(4);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size,
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: true,
        });
        if let Ok(mut view) = buffer.get_mapped_range_mut(..) {
            view.slice(..data.len()).copy_from_slice(data);
            drop(view);
            buffer.unmap();
        }
        buffer
    }

    /// The compute pipeline of a kernel with the given override constants, built once per device.
    fn pipeline(
        &self,
        kernel: KernelId,
        constants: &[(&'static str, f64)],
    ) -> Arc<wgpu::ComputePipeline> {
        self.pipelines.get(kernel, constants)
    }

    /// A bind group over `resources`, bound at 0, 1, 2... in order.
    fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        resources: Vec<wgpu::BindingResource<'_>>,
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = resources
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Reads back several buffers (their first `bytes` bytes each, rounded up to whole words) in one
    /// submission; `decode(i, words)` turns source i's words into the caller's value while they are mapped.
    pub(crate) fn read_back<T>(
        &self,
        recording: Recording,
        sources: &[(&GpuBuffer, u64)],
        decode: impl FnMut(usize, &[u32]) -> T,
    ) -> Result<Vec<T>> {
        let (encoder, temporaries) = recording.into_parts();
        let decoded = readback::read_back(self, encoder, sources, decode);
        drop(temporaries);
        decoded
    }

    /// Runs `f` with wgpu's errors captured, and turns any error, or a device lost meanwhile, into an [`Error`].
    pub(crate) fn checked<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check_fault(what)?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        // A lost device fails everything after it (validation included): report the cause, not the symptom.
        // wgpu reports a loss through its callback on a poll, so poll once before deciding.
        if validation.is_some() || oom.is_some() || result.is_err() {
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
        self.check_lost(what)?;
        if let Some(e) = oom {
            return Err(Error::OutOfMemory(format!("{what}: {e}")));
        }
        if let Some(e) = validation {
            return Err(Error::Device(format!("{what}: {e}")));
        }
        self.check_fault(what)?;
        result
    }

    /// Destroys the device now: every later use of this context fails with [`Error::DeviceLost`]. For
    /// releasing the GPU early, and for testing how a run handles a lost device.
    pub fn destroy(&self) {
        // Marked first, so that a run on another thread that meets the symptoms (invalid buffers) of the
        // destruction already sees its cause.
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| "destroyed".to_string());
        self.device.destroy();
    }

    /// Whether the device has been lost.
    pub fn is_lost(&self) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn check_lost(&self, what: &str) -> Result<()> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(msg) => Err(Error::DeviceLost(format!("{what} ({msg})"))),
            None => Ok(()),
        }
    }

    /// A lost device first (its cause), then an error nobody captured.
    fn check_fault(&self, what: &str) -> Result<()> {
        self.check_lost(what)?;
        match self
            .fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(msg) => Err(Error::Device(format!("{what}: {msg}"))),
            None => Ok(()),
        }
    }
}

impl GpuBuffer {
    /// The buffer bound over its used size rounded up to whole `chunk` bytes (a kernel's `@chunk-bytes`):
    /// the pooled allocation may be larger than a binding allows, and the pool leaves room for the chunks.
    fn binding(&self, chunk: u64) -> wgpu::BindingResource<'_> {
        let size = self.len().next_multiple_of(chunk).min(self.raw().size());
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.raw(),
            offset: 0,
            size: wgpu::BufferSize::new(size),
        })
    }
}

//! A pool of storage buffers, reused across ops and runs so that a hot loop allocates nothing. Sizes are
//! rounded up to a class (powers of two from 32 bytes up to 1 MiB, then whole MiB: every class holds
//! whole chunks of [`CHUNK_BYTES`]) and a few buffers of each class are kept; a [`GpuBuffer`] goes back
//! to the pool when dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{Error, Result};

/// Every buffer's size is a multiple of this, the widest chunk a kernel binds in (`@chunk-bytes`).
pub(super) const CHUNK_BYTES: u64 = 32;

/// Buffers kept per size class; more are freed.
const KEEP_PER_CLASS: usize = 4;
const MIB: u64 = 1 << 20;

struct Shared {
    device: wgpu::Device,
    /// Buffers are also mappable, for reading and writing (`GpuContext::maps_storage`).
    mappable: bool,
    free: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
}

pub(super) struct BufferPool {
    shared: Arc<Shared>,
}

/// A pooled storage buffer; `len` bytes of it are in use (and bound).
pub struct GpuBuffer {
    buffer: Option<wgpu::Buffer>,
    len: u64,
    class: u64,
    pool: Arc<Shared>,
}

pub(super) fn class_of(bytes: u64) -> u64 {
    let bytes = bytes.max(CHUNK_BYTES);
    if bytes <= MIB {
        bytes.next_power_of_two()
    } else {
        bytes.div_ceil(MIB) * MIB
    }
}

impl BufferPool {
    pub(super) fn new(device: wgpu::Device, mappable: bool) -> Self {
        BufferPool {
            shared: Arc::new(Shared {
                device,
                mappable,
                free: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A buffer of at least `bytes` (rounded up to 4), refused if it exceeds one binding.
    pub(super) fn take(&self, bytes: u64, max_binding: u64) -> Result<GpuBuffer> {
        let len = bytes.max(4).div_ceil(4) * 4;
        if len > max_binding {
            return Err(Error::TooLargeForBinding {
                op: "upload",
                tensor: "a buffer".to_string(),
                bytes: len,
                limit: max_binding,
                hint: "the op should have been split before reaching the device layer",
            });
        }
        // The class may exceed the limit near it; then allocate whole chunks (the limit is a multiple of
        // them: `GpuContext::max_binding_bytes`).
        let class = if class_of(len) <= max_binding {
            class_of(len)
        } else {
            len.next_multiple_of(CHUNK_BYTES)
        };
        let reused = self
            .shared
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&class)
            .and_then(Vec::pop);
        let buffer = reused.unwrap_or_else(|| {
            self.shared.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("davinci storage"),
                size: class,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC
                    | if self.shared.mappable {
                        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::MAP_WRITE
                    } else {
                        wgpu::BufferUsages::empty()
                    },
                mapped_at_creation: false,
            })
        });
        Ok(GpuBuffer {
            buffer: Some(buffer),
            len,
            class,
            pool: self.shared.clone(),
        })
    }
}

impl GpuBuffer {
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("present until drop")
    }

    /// Bytes in use.
    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            let mut free = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
            let list = free.entry(self.class).or_default();
            if list.len() < KEEP_PER_CLASS {
                list.push(buffer);
            }
        }
    }
}

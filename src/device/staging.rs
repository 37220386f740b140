//! Staging buffers, the host-visible halves of uploads and readbacks, kept for reuse. A fresh staging
//! buffer per transfer (what `Queue::write_buffer` and a new `MAP_READ` buffer per readback do) costs a
//! new host allocation each time: on a software adapter, where "device memory" is host memory, the page
//! faults and zeroing of that allocation took longer than the shader itself (a 64 MiB relu spent most of its
//! 180 ms there). Here a buffer goes back to the pool after use, still mapped for the next writer (uploads)
//! or unmapped and idle (readbacks), up to [`KEEP_BYTES`] in all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use super::pool::class_of;

/// The most bytes of staging buffers kept between transfers (assumption: a bound that keeps a few
/// transfers' worth of large tensors without holding on to a run's peak forever); more are freed.
const KEEP_BYTES: u64 = 512 << 20;

/// Which way a staging buffer carries bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Way {
    /// `MAP_WRITE | COPY_SRC`, kept mapped: the host writes, then a copy moves the bytes to the device.
    Up,
    /// `MAP_READ | COPY_DST`, kept unmapped: a copy fills it, then the host maps and reads it.
    Down,
}

/// An upload buffer whose re-mapping was requested after the submission that reads it.
struct Remapping {
    buffer: wgpu::Buffer,
    /// [`PENDING`], [`MAPPED`] or [`FAILED`], set by the mapping's callback.
    state: Arc<AtomicU8>,
}

const PENDING: u8 = 0;
const MAPPED: u8 = 1;
const FAILED: u8 = 2;

#[derive(Default)]
struct Free {
    /// Idle buffers by way and size (each buffer's size is its size class).
    ready: HashMap<(Way, u64), Vec<wgpu::Buffer>>,
    kept: u64,
    /// Upload buffers recorded into pending work: re-mapped once that work is submitted.
    in_flight: Vec<wgpu::Buffer>,
    /// Counted against [`KEEP_BYTES`] with `kept`.
    remapping: Vec<Remapping>,
}

impl Free {
    fn held(&self) -> u64 {
        self.kept + self.remapping.iter().map(|r| r.buffer.size()).sum::<u64>()
    }
}

pub(super) struct StagingPool {
    device: wgpu::Device,
    free: Mutex<Free>,
}

impl StagingPool {
    pub(super) fn new(device: wgpu::Device) -> Self {
        StagingPool {
            device,
            free: Mutex::new(Free::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Free> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buffer of at least `bytes` (a multiple of 4; its size is the size class): for `Way::Up` mapped
    /// and ready to write, for `Way::Down` idle and unmapped.
    pub(super) fn take(&self, way: Way, bytes: u64) -> wgpu::Buffer {
        let class = class_of(bytes);
        if let Some(buffer) = self.reuse(way, class) {
            return buffer;
        }
        if way == Way::Up {
            // Callbacks of finished mappings run on a poll: one that does not wait.
            let _ = self.device.poll(wgpu::PollType::Poll);
            if let Some(buffer) = self.reuse(way, class) {
                return buffer;
            }
        }
        let usage = match way {
            Way::Up => wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
            Way::Down => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        };
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(match way {
                Way::Up => "davinci upload",
                Way::Down => "davinci readback",
            }),
            size: class,
            usage,
            mapped_at_creation: way == Way::Up,
        })
    }

    fn reuse(&self, way: Way, class: u64) -> Option<wgpu::Buffer> {
        let mut free = self.lock();
        if way == Way::Up {
            collect_remapped(&mut free);
        }
        let buffer = free.ready.get_mut(&(way, class)).and_then(Vec::pop)?;
        free.kept -= class;
        Some(buffer)
    }

    /// A readback buffer, unmapped again, back to the pool.
    pub(super) fn give_back_down(&self, buffer: wgpu::Buffer) {
        keep(&mut self.lock(), Way::Down, buffer);
    }

    /// An upload buffer whose copy has been recorded into pending work: it is re-mapped for the next
    /// writer once that work is submitted ([`StagingPool::submitted`]).
    pub(super) fn recorded_up(&self, buffer: wgpu::Buffer) {
        self.lock().in_flight.push(buffer);
    }

    /// Called after every submission: the upload buffers it reads are asked to map again, which wgpu
    /// completes once the GPU is done with them.
    pub(super) fn submitted(&self) {
        let mut free = self.lock();
        let in_flight = std::mem::take(&mut free.in_flight);
        for buffer in in_flight {
            if free.held() + buffer.size() > KEEP_BYTES {
                continue; // freed once the submission is done with it
            }
            let state = Arc::new(AtomicU8::new(PENDING));
            let flag = state.clone();
            buffer.slice(..).map_async(wgpu::MapMode::Write, move |r| {
                flag.store(if r.is_ok() { MAPPED } else { FAILED }, Ordering::Release)
            });
            free.remapping.push(Remapping { buffer, state });
        }
    }
}

/// Moves the upload buffers whose mapping completed (on an earlier poll) to the ready lists.
fn collect_remapped(free: &mut Free) {
    let remapping = std::mem::take(&mut free.remapping);
    for r in remapping {
        match r.state.load(Ordering::Acquire) {
            PENDING => free.remapping.push(r),
            // A failed mapping (a lost device) is dropped; the run reports the loss.
            MAPPED => keep(free, Way::Up, r.buffer),
            _ => {}
        }
    }
}

/// Keeps `buffer` for reuse unless that would exceed [`KEEP_BYTES`] (then it is freed on drop).
fn keep(free: &mut Free, way: Way, buffer: wgpu::Buffer) {
    let class = buffer.size();
    if free.held() + class <= KEEP_BYTES {
        free.kept += class;
        free.ready.entry((way, class)).or_default().push(buffer);
    }
}

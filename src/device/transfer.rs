//! The host's half of uploads and readbacks: copying a tensor's bytes into a mapped buffer and out of
//! one, shared out over the host's threads. The buffer is a pooled staging buffer, or on a software
//! adapter (`GpuContext::maps_storage`) the storage buffer itself: [`upload_in_place`] here, and the
//! in-place readback in `readback.rs`.
//!
//! Why threads for a copy: a readback writes a fresh host tensor, and the first write to each of its pages
//! takes a page fault and the kernel's zeroing of that page. Measured on the 2-core development box, copying
//! 64 MiB into a fresh vector took 30-35 ms on one thread (about 2 GB/s, most of it faults) and 17-22 ms on
//! two; the CPU executor writes its results over all threads, so a one-thread readback was most of what a
//! memory-bound op cost on a software adapter beyond the shader itself. Uploads copy into pooled (already
//! faulted) staging memory and gain less, but still about the ratio of the threads.
//!
//! Little-endian hosts (every host wgpu runs on in practice) store a tensor's elements exactly as its GPU
//! buffer packs them (`kernels::device_bytes`: element 2i of a bf16 tensor in the low half of word i), so
//! both directions are plain byte copies; other hosts keep the element-by-element packing.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::{GpuBuffer, GpuContext};
use crate::tensor::{DType, TensorData};
use crate::{Error, Result};

/// Below this many bytes per thread a copy stays on one thread: spawning one costs tens of microseconds,
/// about what a thread copies of already faulted memory in that time (assumption: the order of magnitude
/// measured here, not a tuned figure).
const MIN_BYTES_PER_THREAD: usize = 1 << 20;

/// How many parts to cut a copy of `bytes` into, each a multiple of `align` bytes long (the last may be
/// shorter); `(parts, bytes per part)`.
fn parts(bytes: usize, align: usize) -> (usize, usize) {
    let threads = crate::reference::lanes::threads();
    let parts = (bytes / MIN_BYTES_PER_THREAD).clamp(1, threads.max(1));
    let align = align.max(1);
    let per = bytes.div_ceil(parts).next_multiple_of(align).max(align);
    (bytes.div_ceil(per).max(1), per)
}

/// Copies `src` into `dst` (the same length), over the host's threads for large copies. Not
/// `reference::lanes::par_fill`: that one splits from 16 K elements, which for bytes would spawn threads
/// for the many small readbacks of a training loop, where a copy costs less than the spawn.
fn par_copy(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len());
    let (n, per) = parts(dst.len(), 64);
    if n == 1 {
        dst.copy_from_slice(src);
        return;
    }
    thread::scope(|s| {
        for (d, c) in dst.chunks_mut(per).zip(src.chunks(per)) {
            s.spawn(move || d.copy_from_slice(c));
        }
    });
}

/// Writes `data` into the first `len` bytes of `buffer` (mapped for writing, `len` a multiple of 4 and at
/// least `data.len()`), zeros after it. Large writes are cut into parts mapped separately, each written
/// by its own thread: a mapped range's writer cannot be split across threads, but disjoint ranges can be.
pub(super) fn write_mapped(
    buffer: &wgpu::Buffer,
    len: u64,
    data: &[u8],
) -> Result<(), wgpu::MapRangeError> {
    // Mapped ranges start at multiples of wgpu::MAP_ALIGNMENT (8) and have sizes of multiples of 4.
    let (n, per) = parts(len as usize, wgpu::MAP_ALIGNMENT as usize);
    let mut views = Vec::with_capacity(n);
    for i in 0..n {
        let start = (i * per) as u64;
        let end = (start + per as u64).min(len);
        views.push((
            start as usize,
            buffer.slice(start..end).get_mapped_range_mut()?,
        ));
    }
    let fill = |start: usize, view: &mut wgpu::BufferViewMut| {
        let end = start + view.len();
        let have = data.len().clamp(start, end);
        let (mut head, mut tail) = view.slice(..).split_at(have - start);
        head.copy_from_slice(&data[start..have]);
        tail.fill(0);
    };
    if n == 1 {
        for (start, mut view) in views {
            fill(start, &mut view);
        }
        return Ok(());
    }
    thread::scope(|s| {
        for (start, mut view) in views {
            s.spawn(move || fill(start, &mut view));
        }
    });
    Ok(())
}

/// On a software adapter (`GpuContext::maps_storage`), writes an upload straight into its storage buffer
/// `buf` and says so (`true`); else (`false`) the caller goes through staging. Only while no recorded work
/// waits to be submitted: `buf` may be one that such work still reads (the pool hands buffers out as soon
/// as they drop), and a write now would reach that work before its time, where a staging copy queued
/// behind it keeps the order. Work already submitted is waited for by the mapping itself. This saves the
/// staging copy, one more pass over memory on an adapter whose device memory is host memory.
pub(super) fn upload_in_place(ctx: &GpuContext, buf: &GpuBuffer, data: &[u8]) -> Result<bool> {
    let idle = ctx
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty();
    if !ctx.maps_storage || !idle {
        return Ok(false);
    }
    let len = buf.len();
    let (tx, rx) = mpsc::channel();
    buf.raw()
        .slice(..len)
        .map_async(wgpu::MapMode::Write, move |r| {
            let _ = tx.send(r);
        });
    // The mapping's callback runs on whichever thread's poll finds it ready, which may be another one
    // sharing the device: wait for the callback itself, polling meanwhile. Falling back to staging while
    // the mapping is still under way would leave the buffer mapped under later work. The first poll does
    // not block: a buffer no submitted work uses (the usual case) maps at once, and waiting for the whole
    // queue would hold this upload behind another thread's unrelated work.
    let mut poll = wgpu::PollType::Poll;
    let mapped = loop {
        ctx.device()
            .poll(poll)
            .map_err(|e| Error::Device(format!("waiting for the GPU before an upload: {e}")))?;
        poll = wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        };
        match rx.recv_timeout(Duration::from_millis(2)) {
            Ok(r) => break r.is_ok(),
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // The callback was dropped uncalled: nothing is mapped.
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
        }
    };
    if !mapped {
        // Not mapped (a lost device reports itself through `checked`): the staging path.
        return Ok(false);
    }
    let written = write_mapped(buf.raw(), len, data);
    buf.raw().unmap();
    written.map_err(|e| Error::Device(format!("writing an upload: {e}")))?;
    Ok(true)
}

/// A tensor's elements as the host stores them: on a little-endian host, the words of its GPU buffer.
pub(crate) fn le_bytes(data: &TensorData) -> &[u8] {
    match data {
        TensorData::Bf16(v) => bytemuck::cast_slice(v),
        TensorData::F32(v) => bytemuck::cast_slice(v),
        TensorData::F16(v) => bytemuck::cast_slice(v),
        TensorData::F8E4M3(v) | TensorData::F8E5M2(v) => v,
        TensorData::I8(v) => bytemuck::cast_slice(v),
        TensorData::I32(v) => bytemuck::cast_slice(v),
    }
}

/// The elements of `dtype` whose host bytes are `bytes` (the inverse of [`le_bytes`]), copied over the
/// host's threads into a zeroed allocation (fresh pages, faulted by whichever thread writes them).
pub(crate) fn tensor_data(dtype: DType, bytes: &[u8]) -> TensorData {
    fn fill<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
        let mut v: Vec<T> = bytemuck::zeroed_vec(bytes.len() / std::mem::size_of::<T>());
        par_copy(bytemuck::cast_slice_mut(&mut v), bytes);
        v
    }
    match dtype {
        DType::Bf16 => TensorData::Bf16(fill(bytes)),
        DType::F32 => TensorData::F32(fill(bytes)),
        DType::F16 => TensorData::F16(fill(bytes)),
        DType::F8E4M3 => TensorData::F8E4M3(fill(bytes)),
        DType::F8E5M2 => TensorData::F8E5M2(fill(bytes)),
        DType::I8 => TensorData::I8(fill(bytes)),
        DType::I32 => TensorData::I32(fill(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_copy_in_aligned_pieces() {
        for bytes in [0usize, 4, 1000, 1 << 20, (3 << 20) + 12, 64 << 20] {
            let (n, per) = parts(bytes, 8);
            assert!(n >= 1 && per % 8 == 0, "{bytes}: {n} x {per}");
            assert!(
                n * per >= bytes && (n - 1) * per < bytes.max(1),
                "{bytes}: {n} x {per}"
            );
        }
    }

    #[test]
    fn par_copy_copies_every_byte() {
        let src: Vec<u8> = (0..(5 << 20) + 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut dst = vec![0u8; src.len()];
        par_copy(&mut dst, &src);
        assert!(dst == src);
    }
}

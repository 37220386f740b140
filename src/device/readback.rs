//! Reading results back: one copy per buffer into a pooled staging buffer (on a software adapter, none:
//! the storage buffer itself is mapped), one submission, and a wait for that submission only (not for the
//! whole device), then each result decoded straight from the mapping over the host's threads
//! (`transfer::tensor_data`; no intermediate byte vector: on a software adapter every extra pass over a
//! large tensor shows).

use std::sync::mpsc;

use super::staging::Way;
use super::{GpuBuffer, GpuContext};
use crate::{Error, Result};

pub(super) fn read_back<T>(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    sources: &[(&GpuBuffer, u64)],
    mut decode: impl FnMut(usize, &[u32]) -> T,
) -> Result<Vec<T>> {
    // Where storage buffers can be mapped (a software adapter: `GpuContext::maps_storage`), results are
    // read where the shaders wrote them, without a copy into staging memory; a buffer that holds two
    // results cannot be mapped twice, so such a set goes through staging.
    let distinct = sources
        .iter()
        .enumerate()
        .all(|(i, (a, _))| sources[..i].iter().all(|(b, _)| b.raw() != a.raw()));
    let in_place = ctx.maps_storage && distinct;
    let staging: Vec<(Mapped<'_>, u64)> = sources
        .iter()
        .map(|&(src, bytes)| {
            let size = bytes.max(4).div_ceil(4) * 4;
            if in_place {
                return (Mapped::Storage(src.raw()), size);
            }
            let dst = ctx.staging.take(Way::Down, size);
            encoder.copy_buffer_to_buffer(src.raw(), 0, &dst, 0, size);
            (Mapped::Staging(dst), size)
        })
        .collect();
    // The program's queued ops and the copies, in one submission.
    let index = ctx.submit_all(encoder.finish());

    let (tx, rx) = mpsc::channel();
    for (i, (s, size)) in staging.iter().enumerate() {
        let tx = tx.clone();
        s.slice(..*size).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send((i, r));
        });
    }
    drop(tx);
    ctx.device()
        .poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: None,
        })
        .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
    // Every mapping is waited for, so that none stays mapped on an error: a storage buffer goes back to
    // the pool, and one left mapped would fail whatever work used it next.
    let mut mapped = vec![false; staging.len()];
    let mut failure = None;
    for _ in 0..staging.len() {
        match rx.recv() {
            Ok((i, Ok(()))) => mapped[i] = true,
            Ok((i, Err(e))) => {
                failure.get_or_insert(Error::Device(format!("reading back result {i}: {e}")));
            }
            Err(_) => {
                failure.get_or_insert(Error::Device(
                    "the GPU never finished mapping a result".to_string(),
                ));
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(staging.len());
    for (i, (s, size)) in staging.into_iter().enumerate() {
        if !mapped[i] {
            continue;
        }
        let decoded = s
            .slice(..size)
            .get_mapped_range()
            .map_err(|e| Error::Device(format!("mapping a result: {e}")))
            .map(|view| {
                // Mappings are aligned far beyond 4 bytes (wgpu::MAP_ALIGNMENT); copy only if one is not.
                match bytemuck::try_cast_slice::<u8, u32>(&view) {
                    Ok(words) => decode(i, words),
                    Err(_) => decode(i, &bytemuck::pod_collect_to_vec::<u8, u32>(&view)),
                }
            });
        s.unmap();
        if let Mapped::Staging(s) = s {
            ctx.staging.give_back_down(s);
        }
        match decoded {
            Ok(d) => out.push(d),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(out)
}

/// The buffer a result is mapped from.
enum Mapped<'a> {
    /// The storage buffer the shaders wrote.
    Storage(&'a wgpu::Buffer),
    /// A pooled staging buffer the result was copied into.
    Staging(wgpu::Buffer),
}

impl std::ops::Deref for Mapped<'_> {
    type Target = wgpu::Buffer;

    fn deref(&self) -> &wgpu::Buffer {
        match self {
            Mapped::Storage(b) => b,
            Mapped::Staging(b) => b,
        }
    }
}

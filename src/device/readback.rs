//! Reading results back: one copy per buffer into a pooled staging buffer, one submission, and a wait for
//! that submission only (not for the whole device), then each result decoded straight from the mapping
//! (no intermediate byte vector: on a software adapter every extra pass over a large tensor shows).

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
    let staging: Vec<(wgpu::Buffer, u64)> = sources
        .iter()
        .map(|&(src, bytes)| {
            let size = bytes.max(4).div_ceil(4) * 4;
            let dst = ctx.staging.take(Way::Down, size);
            encoder.copy_buffer_to_buffer(src.raw(), 0, &dst, 0, size);
            (dst, size)
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
    for _ in 0..staging.len() {
        match rx.recv() {
            Ok((_, Ok(()))) => {}
            Ok((i, Err(e))) => return Err(Error::Device(format!("reading back result {i}: {e}"))),
            Err(_) => {
                return Err(Error::Device(
                    "the GPU never finished mapping a result".to_string(),
                ));
            }
        }
    }
    let mut out = Vec::with_capacity(staging.len());
    for (i, (s, size)) in staging.into_iter().enumerate() {
        let decoded = {
            let view = s
                .slice(..size)
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapping a result: {e}")))?;
            // Mappings are aligned far beyond 4 bytes (wgpu::MAP_ALIGNMENT); copy only if one is not.
            match bytemuck::try_cast_slice::<u8, u32>(&view) {
                Ok(words) => decode(i, words),
                Err(_) => decode(i, &bytemuck::pod_collect_to_vec::<u8, u32>(&view)),
            }
        };
        s.unmap();
        ctx.staging.give_back_down(s);
        out.push(decoded);
    }
    Ok(out)
}

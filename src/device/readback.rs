//! Reading results back: one staging copy per buffer, one submission, and a wait for that submission only
//! (not for the whole device), then the bytes.

use std::sync::mpsc;

use super::{GpuBuffer, GpuContext};
use crate::{Error, Result};

pub(super) fn read_back(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    sources: &[(&GpuBuffer, u64)],
) -> Result<Vec<Vec<u8>>> {
    let staging: Vec<(wgpu::Buffer, u64)> = sources
        .iter()
        .map(|&(src, bytes)| {
            let size = bytes.max(4).div_ceil(4) * 4;
            let dst = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("davinci readback"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            encoder.copy_buffer_to_buffer(src.raw(), 0, &dst, 0, size);
            (dst, bytes)
        })
        .collect();
    // The program's queued ops and the copies, in one submission.
    let index = ctx.submit_all(encoder.finish());

    let (tx, rx) = mpsc::channel();
    for (i, (buf, _)) in staging.iter().enumerate() {
        let tx = tx.clone();
        buf.slice(..).map_async(wgpu::MapMode::Read, move |r| {
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
    staging
        .iter()
        .map(|(buf, bytes)| {
            let view = buf
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapping a result: {e}")))?;
            let out = view[..*bytes as usize].to_vec();
            drop(view);
            buf.unmap();
            Ok(out)
        })
        .collect()
}

//! The adapter's f32 FMA rate, measured with a microbenchmark shader (`shaders/probe_peak.wgsl`): the limit
//! against which `davinci info --peak` and the `cube_matmul` bench show every GPU speed figure.
//!
//! The shader's work grows until one run takes long enough to time from the host (submission and the wait
//! for it included); the best of a few runs at that size is the figure. On an adapter that splits `fma`
//! into a multiply and an add (lavapipe), that is what its FMA rate is.

use std::time::{Duration, Instant};

use bytemuck::{Pod, Zeroable};

use super::Dispatch;
use super::GpuContext;
use crate::kernel_table::{KernelId, overrides};
use crate::{Error, Result};

/// Uniforms of `probe_peak.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    iters: u32,
    seed: u32,
    _pad: [u32; 2],
}

/// Invocations per workgroup (the shader's one declared variant) and workgroups per run: enough to fill
/// any GPU.
const WG: u32 = overrides::PROBE_PEAK_WG[0];
const GROUPS: u32 = 2048;
/// A run at least this long is timed; shorter ones are dominated by submission and waiting.
const LONG_ENOUGH: Duration = Duration::from_millis(40);

/// The adapter's f32 FMA rate in GFLOP/s (an fma counts as 2 FLOPs).
pub fn fma_gflops(ctx: &GpuContext) -> Result<f64> {
    ctx.checked("measuring the f32 FMA rate", || {
        let invocations = WG * GROUPS;
        let out = ctx.storage(u64::from(invocations) * 4)?;
        let run = |iters: u32| -> Result<Duration> {
            let params = Params {
                iters,
                seed: 0.999_f32.to_bits(),
                _pad: [0; 2],
            };
            let mut rec = ctx.record();
            let dispatch = Dispatch {
                params: bytemuck::bytes_of(&params),
                buffers: &[&out],
                groups: [GROUPS, 1, 1],
            };
            rec.dispatch(
                ctx,
                KernelId::ProbePeak,
                &[("WG", f64::from(WG))],
                &[dispatch],
            )?;
            let start = Instant::now();
            let index = ctx.queue().submit([rec.encoder.finish()]);
            ctx.device()
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(index),
                    timeout: None,
                })
                .map_err(|e| Error::Device(format!("waiting for the FMA probe: {e}")))?;
            Ok(start.elapsed())
        };
        // The first run builds the pipeline's machine code (on lavapipe, at the first dispatch).
        run(1)?;
        let mut iters = 64u32;
        let mut took = run(iters)?;
        while took < LONG_ENOUGH && iters < (1 << 24) {
            iters *= 4;
            took = run(iters)?;
        }
        for _ in 0..2 {
            took = took.min(run(iters)?);
        }
        let flops = f64::from(invocations) * f64::from(iters) * 64.0;
        Ok(flops / took.as_secs_f64() / 1e9)
    })
}

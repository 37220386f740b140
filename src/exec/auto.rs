//! What `--executor auto` (and [`super::select`] with [`super::ExecutorChoice::Auto`]) runs on, chosen by
//! measured speed rather than by name.
//!
//! A hardware adapter runs the GPU executor: a real GPU outruns the host's cores at the Cube's work, so it
//! is not measured. A software rasterizer (lavapipe, llvmpipe) runs the shaders on the very cores the CPU
//! twin uses, and the twin is usually the faster of the two there; so once per process both run one small
//! `cube_matmul` (256 cube, tree16, after a warm-up that also builds the pipeline) and the faster serves.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::{CpuExecutor, Executor, GpuExecutor};
use crate::device::GpuContext;
use crate::program::MatmulOptions;
use crate::tensor::random::gen_bf16;

/// The choice and why.
#[derive(Clone, Debug)]
pub struct AutoChoice {
    /// Whether the GPU executor serves (else the CPU twin).
    pub gpu: bool,
    /// One sentence for `davinci info` and notices.
    pub reason: String,
}

/// Side of the calibration matmul.
const CALIBRATION_N: usize = 256;

/// The choice for this context's adapter, measured once per process.
pub fn choose(ctx: &Arc<GpuContext>) -> AutoChoice {
    static CHOICE: OnceLock<AutoChoice> = OnceLock::new();
    CHOICE.get_or_init(|| measure(ctx)).clone()
}

fn measure(ctx: &Arc<GpuContext>) -> AutoChoice {
    let d = ctx.description();
    if !d.software {
        return AutoChoice {
            gpu: true,
            reason: format!(
                "{} is a hardware adapter ({}): the GPU executor",
                d.name, d.device_type
            ),
        };
    }
    let gpu = GpuExecutor::new(ctx.clone());
    let n = CALIBRATION_N;
    let (a, b) = (gen_bf16(1, [n, n], 1.0), gen_bf16(2, [n, n], 1.0));
    let time = |exec: &dyn Executor| -> crate::Result<f64> {
        crate::matmul(exec, &a, &b, MatmulOptions::default())?;
        let mut best = f64::INFINITY;
        for _ in 0..2 {
            let t = Instant::now();
            crate::matmul(exec, &a, &b, MatmulOptions::default())?;
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(best)
    };
    let cpu_ms = time(&CpuExecutor).unwrap_or(f64::INFINITY);
    match time(&gpu) {
        Err(e) => AutoChoice {
            gpu: false,
            reason: format!(
                "{} is a software rasterizer and failed a calibration matmul ({e}): the CPU twin",
                d.name
            ),
        },
        Ok(gpu_ms) => {
            let faster = gpu_ms < cpu_ms;
            let (winner, w_ms, loser, l_ms) = if faster {
                ("its shaders", gpu_ms, "the CPU twin", cpu_ms)
            } else {
                ("the CPU twin", cpu_ms, "its shaders", gpu_ms)
            };
            AutoChoice {
                gpu: faster,
                reason: format!(
                    "{} is a software rasterizer running on the host's cores; on a {n}^3 cube_matmul \
                     {winner} took {w_ms:.2} ms and {loser} {l_ms:.2} ms, so {}",
                    d.name,
                    if faster {
                        "the GPU executor serves"
                    } else {
                        "the CPU twin serves (the same bits)"
                    }
                ),
            }
        }
    }
}

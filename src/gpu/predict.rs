//! A recorded [`Program`] timed on a GPU, op by op as one stream launches them: each matmul as a GEMM
//! ([`super::gemm`]) in the GPU dtype that stands for its Cube format (bf16, fp16, fp8 and int8 as
//! themselves; HF32 as tf32, the GPU's reduced-mantissa f32; the Cube's fp32 mode as FP32 on the CUDA
//! cores); every other kernel (the Vector unit's ops, casts, data movement, rotary embedding) as a
//! memory-bound kernel that reads its inputs and writes its result through HBM; reshapes (views) take no
//! time. The Vector unit's arithmetic is not timed on the GPU: at a few FLOPs per element it stays under
//! the memory time on every preset (assumption, no CUDA-core throughput figure needed).

use super::gemm::{self, GemmEstimate, GemmProblem, GpuBound};
use super::{GpuDtype, GpuSpec};
use crate::Result;
use crate::program::{CubeFormat, Op, Program};
use crate::sched::ops::is_kernel;
use crate::units::{Bytes, Flops, Joules, Nanos};

/// One op on the GPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GpuOpPrediction {
    pub index: usize,
    pub kernel: &'static str,
    /// Launch included; zero for a view.
    pub time: Nanos,
    pub flops: Flops,
    pub hbm_bytes: Bytes,
    pub bound: GpuBound,
    /// The GEMM's tiling, for a matmul.
    pub gemm: Option<GemmEstimate>,
}

/// A program on a GPU: its ops one after another.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GpuPrediction {
    pub gpu: String,
    pub ops: Vec<GpuOpPrediction>,
    pub total: Nanos,
    pub flops: Flops,
    pub hbm_bytes: Bytes,
    /// The bound that holds the most time, summed over the ops.
    pub bound: GpuBound,
    pub energy: Joules,
}

/// The GPU dtype a Cube format runs as.
pub fn gpu_dtype(f: CubeFormat) -> GpuDtype {
    match f {
        CubeFormat::Bf16 => GpuDtype::Bf16,
        CubeFormat::Fp16 => GpuDtype::Fp16,
        CubeFormat::Fp8E4M3 | CubeFormat::Fp8E5M2 => GpuDtype::Fp8,
        CubeFormat::Int8 => GpuDtype::Int8,
        CubeFormat::Hf32 => GpuDtype::Tf32,
        CubeFormat::Fp32 => GpuDtype::Fp32,
    }
}

/// Predicts `program` on `gpu`; `dtype` overrides the dtype of every matmul (as `--dtype` does).
pub fn predict(program: &Program, gpu: &GpuSpec, dtype: Option<GpuDtype>) -> Result<GpuPrediction> {
    gpu.validate()?;
    let mut ops = Vec::new();
    let bytes_of = |id| -> Result<f64> {
        let d = program.desc(id)?;
        Ok(d.shape.numel() as f64 * d.dtype.size() as f64)
    };
    for (index, op) in program.ops().iter().enumerate() {
        let kernel = op.kernel_name();
        let p = match op {
            _ if !is_kernel(op) => GpuOpPrediction {
                index,
                kernel,
                time: Nanos::ZERO,
                flops: Flops(0.0),
                hbm_bytes: Bytes(0.0),
                bound: GpuBound::Launch,
                gemm: None,
            },
            Op::CubeMatmul(m) => {
                let g = &m.geometry;
                let out = program.desc(m.out)?;
                let problem = GemmProblem {
                    batch: g.batch,
                    m: g.m,
                    k: g.k,
                    n: g.n,
                    dtype: dtype.unwrap_or(gpu_dtype(g.format)),
                    out_bytes: out.dtype.size() as f64,
                };
                let e = gemm::estimate(gpu, &problem)?;
                GpuOpPrediction {
                    index,
                    kernel,
                    time: e.time,
                    flops: e.flops,
                    hbm_bytes: e.hbm_bytes,
                    bound: e.bound,
                    gemm: Some(e),
                }
            }
            _ => {
                let mut bytes = bytes_of(op.out())?;
                for id in op.inputs() {
                    bytes += bytes_of(id)?;
                }
                let body = Bytes(bytes) / gpu.hbm_achievable();
                let launch = gpu.launch_overhead();
                GpuOpPrediction {
                    index,
                    kernel,
                    time: launch + body,
                    flops: Flops(0.0),
                    hbm_bytes: Bytes(bytes),
                    bound: if launch.0 >= body.0 {
                        GpuBound::Launch
                    } else {
                        GpuBound::Hbm
                    },
                    gemm: None,
                }
            }
        };
        ops.push(p);
    }
    let total = ops.iter().fold(Nanos::ZERO, |t, o| t + o.time);
    let mut by_bound: Vec<(GpuBound, f64)> = Vec::new();
    for o in ops.iter().filter(|o| o.time.0 > 0.0) {
        match by_bound.iter_mut().find(|(b, _)| *b == o.bound) {
            Some((_, t)) => *t += o.time.0,
            None => by_bound.push((o.bound, o.time.0)),
        }
    }
    let bound = by_bound
        .iter()
        .fold(None::<(GpuBound, f64)>, |best, &(b, t)| match best {
            Some((_, bt)) if bt >= t => best,
            _ => Some((b, t)),
        })
        .map_or(GpuBound::Launch, |(b, _)| b);
    Ok(GpuPrediction {
        gpu: gpu.name.clone(),
        flops: Flops(ops.iter().map(|o| o.flops.0).sum()),
        hbm_bytes: Bytes(ops.iter().map(|o| o.hbm_bytes.0).sum()),
        ops,
        total,
        bound,
        energy: gpu.power() * total,
    })
}

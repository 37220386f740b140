//! A GPU GEMM as CUTLASS-style kernels run it: the output in CTA tiles of `BM x BN`, one thread block per
//! SM at a time, each looping over K in `BK`-deep stages that TMA loads into shared memory (the
//! operands' staging, the role L1 plays on a DaVinci core) while the tensor cores accumulate in registers
//! (the role of L0C). Tiles run in waves over the SMs (`perf::Waves`): a problem of 133 tiles on 132 SMs
//! takes two waves, the second almost empty.
//!
//! Per tile: the first stage is loaded before the tensor cores start, then the K loop runs at the SM's
//! tensor rate (the loads of later stages overlap it), then the accumulators are written out. Loads and
//! stores of the SMs busy at once share the HBM's bandwidth. The kernel is not persistent, so a tile's
//! fill and write-out do not overlap another tile's loop (assumption: the simplest CUTLASS schedule;
//! warp-specialised persistent kernels hide part of both). Over the whole GEMM, HBM must also carry each
//! wave's operand panels (a wave's tiles cover a near-square block of the output and share the rows of A
//! and the columns of B they read through L2) and the result: the GEMM takes the longer of the tiles'
//! time and that traffic, plus the launch. The tile is the fastest candidate that fits shared memory.

use super::{GpuDtype, GpuSpec};
use crate::perf::{Waves, power_derate};
use crate::units::{Bytes, Flops, Nanos};
use crate::{Error, Result};

/// `batch` independent `[m, k] x [k, n]` products in `dtype`, results of `out_bytes` per element.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct GemmProblem {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub dtype: GpuDtype,
    pub out_bytes: f64,
}

impl GemmProblem {
    pub fn flops(&self) -> Flops {
        Flops(2.0 * self.batch as f64 * self.m as f64 * self.k as f64 * self.n as f64)
    }
}

/// One CTA tile: the output block of one thread block and its shared-memory stages.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CtaTile {
    pub bm: usize,
    pub bn: usize,
    pub bk: usize,
    /// Operand stages in shared memory (2 to 4).
    pub stages: usize,
}

/// What binds a GPU kernel's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum GpuBound {
    Launch,
    TensorCores,
    /// FP32 arithmetic on the CUDA cores.
    CudaCores,
    Hbm,
}

impl GpuBound {
    pub fn name(self) -> &'static str {
        match self {
            GpuBound::Launch => "launch overhead",
            GpuBound::TensorCores => "tensor cores",
            GpuBound::CudaCores => "cuda cores",
            GpuBound::Hbm => "hbm",
        }
    }
}

/// The GEMM's predicted time and how it was reached.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GemmEstimate {
    pub tile: CtaTile,
    pub waves: Waves,
    /// Launch included.
    pub time: Nanos,
    pub launch: Nanos,
    /// One tile: first-stage fill, K loop, write-out.
    pub tile_time: Nanos,
    /// Waves x tile time.
    pub compute: Nanos,
    /// HBM traffic at the achievable bandwidth.
    pub memory: Nanos,
    pub hbm_bytes: Bytes,
    pub flops: Flops,
    pub bound: GpuBound,
}

/// The largest CTA tile considered (assumption: 128 x 256, the largest tile of CUTLASS's Hopper and
/// Blackwell GEMM configurations, whose f32 accumulators fill a thread block's registers).
const MAX_TILE_ELEMS: usize = 128 * 256;
/// Bytes of K per stage row (assumption: 128 bytes, the TMA swizzle width CUTLASS's kernels use).
const STAGE_ROW_BYTES: f64 = 128.0;
/// Stages beyond this add nothing once loads overlap the loop (assumption: CUTLASS's usual 2-4).
const MAX_STAGES: usize = 4;

/// The fastest tiling of `p` on `gpu`.
pub fn estimate(gpu: &GpuSpec, p: &GemmProblem) -> Result<GemmEstimate> {
    gpu.validate()?;
    if p.batch == 0 || p.m == 0 || p.k == 0 || p.n == 0 {
        return Err(Error::shape(
            "gemm",
            format!(
                "an empty product ({} x [{}, {}] x [{}, {}]): every size must be at least 1",
                p.batch, p.m, p.k, p.k, p.n
            ),
        ));
    }
    let mut best: Option<GemmEstimate> = None;
    for bm in [64, 128, 256] {
        for bn in [64, 128, 256] {
            if bm * bn > MAX_TILE_ELEMS {
                continue;
            }
            let Some(e) = evaluate(gpu, p, bm, bn)? else {
                continue;
            };
            if best.as_ref().is_none_or(|b| e.time.0 < b.time.0) {
                best = Some(e);
            }
        }
    }
    best.ok_or_else(|| {
        Error::Invalid(format!(
            "{}: no CTA tile fits {} KiB of shared memory per SM with two stages",
            gpu.name, gpu.smem_kib_per_sm.value
        ))
    })
}

/// `p` in `bm x bn` tiles, or `None` if two stages of them do not fit shared memory.
fn evaluate(gpu: &GpuSpec, p: &GemmProblem, bm: usize, bn: usize) -> Result<Option<GemmEstimate>> {
    let bytes = p.dtype.bytes();
    let bk = (STAGE_ROW_BYTES / bytes) as usize;
    let stage_bytes = (bm + bn) as f64 * bk as f64 * bytes;
    let stages = ((gpu.smem_per_sm().0 / stage_bytes) as usize).min(MAX_STAGES);
    if stages < 2 {
        return Ok(None);
    }
    let (tm, tn) = (p.m.div_ceil(bm), p.n.div_ceil(bn));
    let tiles = p.batch * tm * tn;
    let sms = gpu.sms();
    let waves = Waves::of(tiles, sms);
    let rate = gpu.sm_rate(p.dtype)?
        * power_derate(gpu.tensor_sustained_fraction.value, waves.units_used, sms);
    // An edge tile computes its whole block (padding), and K runs in whole stages.
    let k_pad = p.k.div_ceil(bk) * bk;
    let mma = Flops(2.0 * bm as f64 * bn as f64 * k_pad as f64) / rate;
    // Each busy SM's share of the HBM when they all stream at once.
    let share = gpu.hbm_achievable() * (1.0 / waves.concurrency.max(1.0));
    let fill = Bytes(stage_bytes) / share;
    let write_out = Bytes(bm as f64 * bn as f64 * p.out_bytes) / share;
    let tile_time = fill + mma + write_out;
    let compute = tile_time * waves.waves as f64;
    let hbm_bytes = traffic(gpu, p, bm, bn, &waves);
    let memory = hbm_bytes / gpu.hbm_achievable();
    let launch = gpu.launch_overhead();
    let body = Nanos(compute.0.max(memory.0));
    let bound = if launch.0 >= body.0 {
        GpuBound::Launch
    } else if memory.0 > compute.0 {
        GpuBound::Hbm
    } else if p.dtype == GpuDtype::Fp32 {
        GpuBound::CudaCores
    } else {
        GpuBound::TensorCores
    };
    Ok(Some(GemmEstimate {
        tile: CtaTile { bm, bn, bk, stages },
        waves,
        time: launch + body,
        launch,
        tile_time,
        compute,
        memory,
        hbm_bytes,
        flops: p.flops(),
        bound,
    }))
}

/// HBM bytes of the GEMM: the result once, and the operands: once each where one batch entry's A and B
/// fit in L2, else each wave's panels (the rows of A and columns of B its near-square block of tiles
/// reads, shared through L2 by that wave's tiles).
fn traffic(gpu: &GpuSpec, p: &GemmProblem, bm: usize, bn: usize, waves: &Waves) -> Bytes {
    let bytes = p.dtype.bytes();
    let (m, k, n) = (p.m as f64, p.k as f64, p.n as f64);
    let batch = p.batch as f64;
    let unique = batch * (m + n) * k * bytes;
    let out = batch * m * n * p.out_bytes;
    if (m + n) * k * bytes <= gpu.l2_capacity().0 {
        return Bytes(unique + out);
    }
    let (tm, tn) = (p.m.div_ceil(bm) as f64, p.n.div_ceil(bn) as f64);
    let per_wave = waves.concurrency;
    let rows = per_wave.sqrt().ceil().min(tm).max(1.0);
    let cols = (per_wave / rows).ceil().min(tn).max(1.0);
    let panels = waves.waves as f64 * (rows * bm as f64 + cols * bn as f64) * k * bytes;
    Bytes(panels.max(unique) + out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::presets::h100_sxm;

    fn bf16(m: usize, k: usize, n: usize) -> GemmProblem {
        GemmProblem {
            batch: 1,
            m,
            k,
            n,
            dtype: GpuDtype::Bf16,
            out_bytes: 2.0,
        }
    }

    #[test]
    fn a_large_gemm_is_tensor_bound_below_the_sustained_peak() {
        let g = h100_sxm();
        let e = estimate(&g, &bf16(8192, 8192, 8192)).unwrap();
        let eff = e.flops.0 / (e.time.0 * 1e-9) / g.peak(GpuDtype::Bf16).unwrap().0;
        assert_eq!(e.bound, GpuBound::TensorCores);
        assert!(
            eff < g.tensor_sustained_fraction.value && eff > 0.5,
            "{eff}"
        );
    }

    #[test]
    fn an_empty_product_is_refused() {
        let e = estimate(&h100_sxm(), &bf16(0, 8, 8))
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
    }
}

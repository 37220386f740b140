//! A fused attention kernel (FlashAttention) on a GPU, for the cluster model: its two products in CTA
//! tiles ([`super::gemm`]), batched over the heads, in one launch. The score matrix stays in registers
//! and shared memory (the first product writes nothing to HBM), and a causal mask skips the blocks above
//! the diagonal (the keys a query sees, on average). The softmax's exponentials on the SMs' special
//! function units are not timed (assumption: FlashAttention-style kernels overlap them with the tensor
//! cores' work; no SFU throughput figure in the references).

use super::gemm::{GemmProblem, estimate};
use super::{GpuDtype, GpuSpec};
use crate::Result;
use crate::sched::flash::FlashProblem;
use crate::units::Nanos;

/// The kernel's time on `gpu` in bf16.
pub fn time(gpu: &GpuSpec, a: &FlashProblem) -> Result<Nanos> {
    // Keys each query sees: all of them, or under a causal mask about skv - sq/2 (the last sq of skv).
    let keys = if a.causal {
        (a.skv - a.sq / 2).max(1)
    } else {
        a.skv
    };
    let scores = GemmProblem {
        batch: a.heads,
        m: a.sq,
        k: a.d,
        n: keys,
        dtype: GpuDtype::Bf16,
        out_bytes: 0.0,
    };
    let context = GemmProblem {
        batch: a.heads,
        m: a.sq,
        k: keys,
        n: a.dv,
        dtype: GpuDtype::Bf16,
        out_bytes: 2.0,
    };
    let (s, c) = (estimate(gpu, &scores)?, estimate(gpu, &context)?);
    // One launch for the fused kernel.
    Ok(s.time + c.time - s.launch)
}

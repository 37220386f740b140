//! The start-up probe: one tiny shader run that tells how this adapter treats f32 subnormals and
//! multiply-adds. Bit-identity with the CPU twins is promised only for results that never pass through a
//! subnormal where the adapter flushes them; `davinci info` reports what was found.

use super::Dispatch;
use super::GpuContext;
use crate::Result;
use crate::kernel_table::KernelId;

/// What the probe found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NumericsProbe {
    /// A product whose exact value is subnormal is kept (not flushed to zero).
    pub subnormal_results_kept: bool,
    /// A subnormal operand is kept (not read as zero).
    pub subnormal_inputs_kept: bool,
    /// WGSL `fma` rounds once. Vulkan allows it to round twice (lavapipe does); the shaders therefore rely
    /// on no fma, and this is reported for information.
    pub fma_fused: bool,
    /// The compiler contracted a plain `a * b + c` into a fused operation; the shaders keep every product
    /// opaque so that this cannot happen to them, and this is reported for information.
    pub mul_add_contracted: bool,
}

impl NumericsProbe {
    /// Whether every result, subnormals included, can be bit-identical to the CPU twin.
    pub fn ieee_subnormals(&self) -> bool {
        self.subnormal_results_kept && self.subnormal_inputs_kept
    }
}

/// Operands: see `shaders/probe_numerics.wgsl`.
fn operands() -> [f32; 8] {
    let eps = f32::EPSILON; // 2^-23
    [
        f32::MIN_POSITIVE,
        0.5,
        f32::from_bits(1),
        0.0,
        1.0 + eps,
        1.0 - eps,
        -1.0,
        0.0,
    ]
}

pub(super) fn run(ctx: &GpuContext) -> Result<NumericsProbe> {
    ctx.checked("running the start-up numerics probe", || {
        let input = ctx.upload(bytemuck::cast_slice(&operands()))?;
        let output = ctx.storage(16)?;
        let mut rec = ctx.record();
        let dispatch = Dispatch {
            params: &[],
            buffers: &[&input, &output],
            groups: [1, 1, 1],
        };
        rec.dispatch(ctx, KernelId::ProbeNumerics, &[], &[dispatch])?;
        let out = ctx
            .read_back(rec, &[(&output, 16)], |_, words| words.to_vec())?
            .remove(0);
        let fused = (-(2f32.powi(-46))).to_bits();
        Ok(NumericsProbe {
            subnormal_results_kept: out[0] == 0x0040_0000,
            subnormal_inputs_kept: out[1] == 1,
            fma_fused: out[2] == fused,
            mul_add_contracted: out[3] == fused,
        })
    })
}

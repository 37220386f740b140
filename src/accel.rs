//! The accelerator a cluster is built from, in neutral terms: an Ascend chip ([`ChipSpec`], timed by
//! [`crate::sched`]) or an NVIDIA GPU ([`GpuSpec`], timed by [`crate::gpu`]). The cluster model asks it
//! only what both can answer: its dies, peak, HBM, power, and the time of a kernel.

use crate::chip::{ChipSpec, Sourced};
use crate::gpu::GpuSpec;
use crate::program::Program;
use crate::sched::flash::FlashProblem;
use crate::units::{Bytes, BytesPerSec, FlopsPerSec, Nanos};
use crate::{Error, Result};

/// An Ascend chip or an NVIDIA GPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
// Both variants are large tables of sourced numbers, held once per cluster or timer: boxing would buy
// nothing.
#[allow(clippy::large_enum_variant)]
pub enum Accelerator {
    Ascend(ChipSpec),
    Gpu(GpuSpec),
}

impl From<ChipSpec> for Accelerator {
    fn from(c: ChipSpec) -> Self {
        Accelerator::Ascend(c)
    }
}

impl From<GpuSpec> for Accelerator {
    fn from(g: GpuSpec) -> Self {
        Accelerator::Gpu(g)
    }
}

impl Accelerator {
    /// A GPU preset by name, else an Ascend preset or chip file.
    pub fn resolve(name: &str) -> Result<Accelerator> {
        match GpuSpec::preset(name) {
            Some(g) => Ok(g.into()),
            None => Ok(ChipSpec::resolve(name)?.into()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Accelerator::Ascend(c) => &c.name,
            Accelerator::Gpu(g) => &g.name,
        }
    }

    /// The Ascend chip, for what only the Ascend model times (a per-core timeline, training demos).
    pub fn ascend(&self) -> Result<&ChipSpec> {
        match self {
            Accelerator::Ascend(c) => Ok(c),
            Accelerator::Gpu(g) => Err(Error::Invalid(format!(
                "{} is an NVIDIA GPU; this is modelled for Ascend chips only",
                g.name
            ))),
        }
    }

    /// Dies a plan may treat as devices of their own (a GPU is one device, whatever its packaging).
    pub fn dies(&self) -> usize {
        match self {
            Accelerator::Ascend(c) => c.dies(),
            Accelerator::Gpu(_) => 1,
        }
    }

    /// Dense bf16 peak of the package.
    pub fn peak_bf16(&self) -> FlopsPerSec {
        match self {
            Accelerator::Ascend(c) => c.peak_bf16(),
            Accelerator::Gpu(g) => g
                .peak(crate::gpu::GpuDtype::Bf16)
                .unwrap_or(FlopsPerSec::ZERO),
        }
    }

    pub fn hbm_capacity(&self) -> Bytes {
        match self {
            Accelerator::Ascend(c) => c.hbm_capacity(),
            Accelerator::Gpu(g) => g.hbm_capacity(),
        }
    }

    /// HBM of one die (of the whole GPU).
    pub fn hbm_capacity_per_die(&self) -> Bytes {
        Bytes(self.hbm_capacity().0 / self.dies() as f64)
    }

    pub fn hbm_bw(&self) -> BytesPerSec {
        match self {
            Accelerator::Ascend(c) => c.hbm_bw(),
            Accelerator::Gpu(g) => g.hbm_bw(),
        }
    }

    pub fn power_w(&self) -> &Sourced {
        match self {
            Accelerator::Ascend(c) => &c.power_w,
            Accelerator::Gpu(g) => &g.power_w,
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            Accelerator::Ascend(c) => c.validate(),
            Accelerator::Gpu(g) => g.validate(),
        }
    }

    /// The time of `program`'s ops, one after another.
    pub fn time_program(&self, program: &Program) -> Result<Nanos> {
        match self {
            Accelerator::Ascend(c) => Ok(crate::sched::predict(program, c)?.total),
            Accelerator::Gpu(g) => Ok(crate::gpu::predict::predict(program, g, None)?.total),
        }
    }

    /// The time of one fused attention kernel.
    pub fn time_attention(&self, a: &FlashProblem) -> Result<Nanos> {
        match self {
            Accelerator::Ascend(c) => Ok(crate::sched::flash::predict_flash(c, a)?.time),
            Accelerator::Gpu(g) => crate::gpu::attention::time(g, a),
        }
    }
}

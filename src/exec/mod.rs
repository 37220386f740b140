//! Executors: the GPU executor (wgpu + shaders) and the CPU executor (the reference twins) run the same
//! [`Program`] and, where the numerics contract promises it, give the same bits.

pub mod auto;
pub mod chain_plan;
mod cpu;
mod cpu_chain;
mod cpu_elementwise;
pub mod cpu_peak;
mod cpu_vector;
mod gpu;
pub mod host_profile;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use chain_plan::{ChainPlan, FusionLimits};
pub use cpu::CpuExecutor;
pub use gpu::{FUSION_MIN_ELEMENTS, GpuExecutor};
pub use host_profile::{HostProfile, ProfiledCpu};

use crate::device::GpuContext;
use crate::program::Program;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Something that runs a [`Program`] to values.
pub trait Executor {
    /// `"gpu"` or `"cpu"`.
    fn name(&self) -> &'static str;

    /// Runs the program on `inputs` (in the order the program declared them) and returns its outputs (in the
    /// order it marked them).
    fn run(&self, program: &Program, inputs: &[&Tensor]) -> Result<Vec<Tensor>>;
}

/// The `--executor` choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecutorChoice {
    /// The faster of the two by measurement (see [`auto`]): a hardware GPU, the CPU twin where the only
    /// adapter is a slower software rasterizer or none opens (and say so).
    #[default]
    Auto,
    Gpu,
    Cpu,
    /// Both, to compare their bits.
    Both,
}

impl FromStr for ExecutorChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            "both" => Ok(Self::Both),
            _ => Err(Error::Invalid(format!(
                "unknown executor '{s}': expected auto, gpu, cpu or both"
            ))),
        }
    }
}

impl fmt::Display for ExecutorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
            Self::Both => "both",
        })
    }
}

/// The executors a choice resolves to, and a notice for the user when `auto` fell back to the CPU.
pub struct Selected {
    pub executors: Vec<Box<dyn Executor>>,
    pub notice: Option<String>,
    /// The GPU context, when one was opened (for reports), even where `auto` chose the CPU twin.
    pub gpu: Option<Arc<GpuContext>>,
    /// For `auto` with an adapter: which executor it chose and why.
    pub auto: Option<auto::AutoChoice>,
}

/// Resolves `--executor`. `gpu` and `both` fail when no adapter opens; `auto` falls back to the CPU.
pub fn select(choice: ExecutorChoice) -> Result<Selected> {
    let gpu = match choice {
        ExecutorChoice::Cpu => None,
        _ => match GpuContext::new() {
            Ok(ctx) => Some(Arc::new(ctx)),
            Err(e) if choice == ExecutorChoice::Auto => {
                return Ok(Selected {
                    executors: vec![Box::new(CpuExecutor)],
                    notice: Some(format!("{e}\nrunning on the CPU executor instead")),
                    gpu: None,
                    auto: None,
                });
            }
            Err(e) => return Err(e),
        },
    };
    let auto = match (&gpu, choice) {
        (Some(ctx), ExecutorChoice::Auto) => Some(auto::choose(ctx)),
        _ => None,
    };
    let use_gpu = auto.as_ref().is_none_or(|c| c.gpu);
    let mut executors: Vec<Box<dyn Executor>> = Vec::new();
    if let (Some(ctx), true) = (&gpu, use_gpu) {
        executors.push(Box::new(GpuExecutor::new(ctx.clone())));
    }
    if !use_gpu || matches!(choice, ExecutorChoice::Cpu | ExecutorChoice::Both) {
        executors.push(Box::new(CpuExecutor));
    }
    let notice = auto
        .as_ref()
        .filter(|c| !c.gpu)
        .map(|c| format!("executor auto: {}", c.reason));
    Ok(Selected {
        executors,
        notice,
        gpu,
        auto,
    })
}

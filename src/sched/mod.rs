//! The timing model: how long a recorded [`Program`] would take on an Ascend chip, and why.
//!
//! [`predict`] walks the program's ops in order (each a kernel launch, one after another), tiles each
//! matmul ([`tiling`], [`matmul`]) or spreads each vector op over the vector cores ([`vector`]), and
//! reports per op and for the whole program: time, achieved TFLOPS and HBM bandwidth, utilisation of the
//! Cube, the Vector units and HBM, the binding resource, energy, and the plan chosen. The per-core
//! timeline ([`timeline`]) exports as a Chrome / Perfetto trace ([`trace`]). The model is pure and
//! deterministic: the same program and chip always give the same prediction. A fused attention kernel,
//! which the program has no op for, is timed on its own by [`flash`] (the cluster model uses it).

pub mod flash;
pub mod launch;
pub mod matmul;
mod matmul_traffic;
pub mod ops;
pub mod search;
pub mod tiling;
pub mod timeline;
pub mod trace;
pub mod vector;
pub mod vector_ops;

use crate::Result;
use crate::chip::ChipSpec;
use crate::program::Program;
use crate::units::{Bytes, BytesPerSec, Flops, FlopsPerSec, Joules, Nanos};

pub use launch::LaunchMode;
pub use matmul::MatmulEstimate;
pub use tiling::{BlockOrder, MatmulTiling};
pub use timeline::{CoreId, CoreKind, Event, Lane, Timeline};
pub use vector::{VecClass, VectorEstimate, VectorWork};

/// What can bind an op's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Resource {
    /// The fixed cost of launching a kernel.
    Launch,
    /// The device waiting for a framework's host to dispatch the next op ([`LaunchMode::Framework`]).
    Host,
    Cube,
    Vector,
    Hbm,
    L2,
    DieLink,
    /// An AI core's GM -> L1 port (or a vector core's GM -> UB port).
    Mte2,
    Mte1,
    FixPipe,
    Mte3,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Launch => "launch overhead",
            Resource::Host => "host dispatch",
            Resource::Cube => "cube",
            Resource::Vector => "vector",
            Resource::Hbm => "hbm",
            Resource::L2 => "l2",
            Resource::DieLink => "die link",
            Resource::Mte2 => "mte2",
            Resource::Mte1 => "mte1",
            Resource::FixPipe => "fixpipe",
            Resource::Mte3 => "mte3",
        }
    }
}

/// The plan the scheduler chose for an op.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum Plan {
    Matmul(Box<MatmulEstimate>),
    Vector(VectorWork, VectorEstimate),
}

/// The prediction for one op.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OpPrediction {
    /// Position in the program.
    pub index: usize,
    pub kernel: &'static str,
    /// Name of the tensor the op produces.
    pub output: String,
    /// When the kernel is launched, from the program's start.
    pub start: Nanos,
    /// Launch overhead included.
    pub time: Nanos,
    pub launch: Nanos,
    pub flops: Flops,
    /// Bytes moved to or from HBM (reads, including other dies' reads over the link, and writes).
    pub hbm_bytes: Bytes,
    pub l2_bytes: Bytes,
    pub link_bytes: Bytes,
    /// Busy time of each resource on its busiest core or die, launch overhead as its own entry.
    pub resources: Vec<(Resource, Nanos)>,
    /// The resource with the longest busy time.
    pub bound: Resource,
    /// Cube FLOPs / (peak x time).
    pub cube_util: f64,
    /// Vector-lane time over all vector cores / (vector cores x time).
    pub vector_util: f64,
    /// HBM bytes / (package HBM bandwidth x time).
    pub hbm_util: f64,
    pub energy: Joules,
    pub cores_used: usize,
    pub plan: Plan,
}

impl OpPrediction {
    /// FLOPs per second over the op's time (zero for an op that takes no time).
    pub fn achieved(&self) -> FlopsPerSec {
        if self.time.0 > 0.0 {
            self.flops / self.time
        } else {
            FlopsPerSec::ZERO
        }
    }

    /// HBM bytes per second over the op's time (zero for an op that takes no time).
    pub fn hbm_bw(&self) -> BytesPerSec {
        if self.time.0 > 0.0 {
            self.hbm_bytes / self.time
        } else {
            BytesPerSec::ZERO
        }
    }
}

/// The prediction for a whole program: its ops run one after another.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Prediction {
    pub chip: ChipSpec,
    pub ops: Vec<OpPrediction>,
    pub total: Nanos,
    pub flops: Flops,
    pub hbm_bytes: Bytes,
    pub cube_util: f64,
    pub vector_util: f64,
    pub hbm_util: f64,
    /// The resource whose busy time, summed over the ops, is largest (`host dispatch` when the device
    /// spent longer waiting for a framework's host than on any resource).
    pub bound: Resource,
    /// Who launched the kernels, and how long the device waited for the host's dispatch in all.
    pub launch: LaunchMode,
    pub host_wait: Nanos,
    pub energy: Joules,
    pub timeline: Timeline,
}

impl Prediction {
    /// FLOPs per second over the program's time (zero for a program that takes no time).
    pub fn achieved(&self) -> FlopsPerSec {
        if self.total.0 > 0.0 {
            self.flops / self.total
        } else {
            FlopsPerSec::ZERO
        }
    }

    /// HBM bytes per second over the program's time (zero for a program that takes no time).
    pub fn hbm_bw(&self) -> BytesPerSec {
        if self.total.0 > 0.0 {
            self.hbm_bytes / self.total
        } else {
            BytesPerSec::ZERO
        }
    }

    /// The timeline as Chrome trace events (Perfetto, chrome://tracing).
    pub fn trace_json(&self) -> serde_json::Value {
        trace::chrome_trace(self)
    }
}

/// Predicts `program` on `chip` (validated first), its kernels launched from the device's queue.
pub fn predict(program: &Program, chip: &ChipSpec) -> Result<Prediction> {
    predict_launched(program, chip, LaunchMode::Device)
}

/// Predicts `program` on `chip` with its kernels launched as `mode` says ([`launch`]).
pub fn predict_launched(
    program: &Program,
    chip: &ChipSpec,
    mode: LaunchMode,
) -> Result<Prediction> {
    chip.validate()?;
    let mut timeline = Timeline {
        dies: chip.dies(),
        ..Timeline::default()
    };
    let mut preds = Vec::new();
    let mut clock = Nanos::ZERO;
    // When the host has dispatched every op so far (framework launches only).
    let (mut host, mut host_wait) = (Nanos::ZERO, Nanos::ZERO);
    let dispatch = Nanos(chip.framework_dispatch_us.value * 1e3);
    for (index, op) in program.ops().iter().enumerate() {
        if mode == LaunchMode::Framework && ops::is_kernel(op) {
            host += dispatch;
            if host.0 > clock.0 {
                host_wait += host - clock;
                clock = host;
            }
        }
        let p = ops::predict_op(program, chip, index, op, clock, &mut timeline)?;
        clock += p.time;
        preds.push(p);
    }
    let total = clock;
    let flops: Flops = preds.iter().map(|p| p.flops).sum();
    let hbm_bytes: Bytes = preds.iter().map(|p| p.hbm_bytes).sum();
    let frac = |x: f64| if total.0 > 0.0 { x / total.0 } else { 0.0 };
    let cube_util = frac(preds.iter().map(|p| p.cube_util * p.time.0).sum());
    let vector_util = frac(preds.iter().map(|p| p.vector_util * p.time.0).sum());
    let hbm_util = frac(preds.iter().map(|p| p.hbm_util * p.time.0).sum());
    let mut sums: Vec<(Resource, Nanos)> = Vec::new();
    for p in &preds {
        for &(r, t) in &p.resources {
            match sums.iter_mut().find(|(s, _)| *s == r) {
                Some((_, acc)) => *acc += t,
                None => sums.push((r, t)),
            }
        }
    }
    if host_wait.0 > 0.0 {
        sums.push((Resource::Host, host_wait));
    }
    let bound = binding(&sums);
    Ok(Prediction {
        launch: mode,
        host_wait,
        energy: chip.power() * total,
        chip: chip.clone(),
        ops: preds,
        total,
        flops,
        hbm_bytes,
        cube_util,
        vector_util,
        hbm_util,
        bound,
        timeline,
    })
}

/// The resource with the longest busy time; the first listed wins a tie.
pub fn binding(resources: &[(Resource, Nanos)]) -> Resource {
    resources
        .iter()
        .fold(None::<(Resource, Nanos)>, |best, &(r, t)| match best {
            Some((_, bt)) if bt.0 >= t.0 => best,
            _ => Some((r, t)),
        })
        .map_or(Resource::Launch, |(r, _)| r)
}

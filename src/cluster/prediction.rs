//! What a step prediction holds: the time of each layer, the roles (ranks doing the same work, one of
//! them timed), the step's totals, and the kernel timers shared by many predictions.

use super::collectives::Cost;
use super::memory::Memory;
use super::plan::{Plan, Workload};
use super::topology::{ClusterSpec, RankUnit};
use super::work::Timer;
use crate::units::{Bytes, Joules, Nanos, Watts};
use crate::{Error, Result};

/// The time of one layer (or the head) for one micro-batch on a rank.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerTime {
    pub compute: Nanos,
    /// The backward pass's compute: each kernel's forward time times its backward factor
    /// ([`super::kernel::Kernel::backward_factor`]).
    pub bwd_compute: Nanos,
    pub comm: Nanos,
    pub flops: f64,
    /// Activation bytes kept for the backward pass.
    pub saved: f64,
    /// Each step: its label, its time, and for a collective its cost.
    pub steps: Vec<(&'static str, Nanos, Option<Cost>)>,
}

/// A set of ranks that do the same work.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Role {
    pub name: String,
    /// The pipeline stages with this work.
    pub stages: Vec<usize>,
    /// Ranks in the role.
    pub devices: usize,
    pub dense_layers: usize,
    pub moe_layers: usize,
    pub embed: bool,
    pub head: bool,
    pub fwd_compute: Nanos,
    pub fwd_comm: Nanos,
    pub bwd_compute: Nanos,
    pub bwd_comm: Nanos,
    pub recompute: Nanos,
    /// Pipeline sends for one micro-batch (forward and backward).
    pub p2p: Nanos,
    pub per_micro_batch: Nanos,
    pub dp_sync: Nanos,
    pub dp_exposed: Nanos,
    pub optimizer: Nanos,
    /// Matmul FLOPs one rank of the role does in the step.
    pub flops: f64,
    pub memory: Memory,
}

/// The prediction for one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StepPrediction {
    pub model: String,
    pub cluster: String,
    pub chip: String,
    pub plan: Plan,
    pub workload: Workload,
    pub unit: RankUnit,
    pub micro_batches: usize,
    pub micro_batch_seqs: usize,
    pub roles: Vec<Role>,
    /// Layer times of the representative micro-batch: dense layer, MoE layer, head.
    pub dense: Option<LayerTime>,
    pub moe: Option<LayerTime>,
    pub head: Option<LayerTime>,
    pub step: Nanos,
    pub compute: Nanos,
    pub comm: Nanos,
    pub bubble: Nanos,
    /// Index of the role that sets the pipeline's pace.
    pub critical: usize,
    pub tokens: usize,
    pub tokens_per_s: f64,
    pub tokens_per_s_per_chip: f64,
    pub model_flops: f64,
    pub mfu: f64,
    pub chips: usize,
    pub hbm_per_chip: Bytes,
    pub fits: bool,
    pub warnings: Vec<String>,
    pub power: Watts,
    pub energy_per_token: Joules,
    pub kernels_timed: usize,
}

/// Kernel timers for each kind of rank of one cluster, shared by many predictions (a sweep).
#[derive(Default)]
pub struct Timers {
    chip: Option<Timer>,
    die: Option<Timer>,
}

impl Timers {
    pub(super) fn get(&mut self, cluster: &ClusterSpec, unit: RankUnit) -> Result<&mut Timer> {
        let chip = cluster.rank_chip(unit);
        let slot = match unit {
            RankUnit::Chip => &mut self.chip,
            RankUnit::Die => &mut self.die,
        };
        if slot.as_ref().is_none_or(|t| t.chip != chip) {
            *slot = Some(Timer::new(chip)?);
        }
        slot.as_mut().ok_or_else(|| Error::Invalid("timer".into()))
    }

    /// Distinct kernels predicted so far.
    pub fn predicted(&self) -> usize {
        self.chip.as_ref().map_or(0, |t| t.predicted) + self.die.as_ref().map_or(0, |t| t.predicted)
    }
}

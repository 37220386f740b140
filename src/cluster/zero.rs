//! What weight sharding and gradient accumulation add to each micro-batch of a training step, and the
//! step's end: the data-parallel gradient all-reduce and the optimizer update ([`step_end`]).
//!
//! **ZeRO stage 3** (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
//! Parameter Models", section 7.2.2): each data-parallel rank holds `1 / dp` of the weights, so every
//! layer's weights are all-gathered before its forward pass and again before its backward pass, and its
//! gradients are reduce-scattered after the backward pass: three times the weights' bytes per
//! micro-batch, where plain data parallelism all-reduces the gradients once per step. That reduce-scatter
//! replaces the step's gradient all-reduce. Frameworks fetch the next layer's weights while the current
//! layer computes (DeepSpeed's `overlap_comm` and `stage3_prefetch_bucket_size`), so a layer's collectives
//! cost time only where they outlast its compute, plus the first gather of each pass and the last
//! reduce-scatter, which have nothing to hide behind. With recompute the forward pass, and its gathers,
//! run again. Expert weights are gathered over their own replicas (`dp * tp / ep` ranks).
//!
//! **ZeRO stage 2** (the same paper, section 5.2): a rank keeps only its shard of the gradients, so each
//! micro-batch's gradients are reduce-scattered during its backward pass (exposed where they outlast a
//! layer, as above), and the step ends with an all-gather of the updated bf16 weights, after the optimizer
//! and so not hidden. Stages 0 and 1 (Megatron's distributed optimizer) keep whole gradients and reduce
//! them once per step.
//!
//! **Gradient accumulation as its own pass** (`Plan::grad_add`, Megatron's
//! `--no-gradient-accumulation-fusion`): without the fused weight-gradient kernel that accumulates into
//! the fp32 main gradient in its epilogue, each micro-batch's bf16 weight gradient is added into the fp32
//! main gradient (Megatron keeps main gradients in fp32 for bf16 training) by a Vector-unit pass over
//! every parameter the rank holds: [`super::kernel::Kernel::GradAdd`], timed by the chip model like any
//! other kernel. Under ZeRO stage 2 or 3 the rank accumulates only its `1 / dp` share.

use super::collectives::{self, Group};
use super::kernel::{Kernel, Timer};
use super::plan::Plan;
use super::prediction::LayerTime;
use crate::Result;
use crate::units::{Bytes, BytesPerSec, Nanos};

/// Bytes of HBM traffic per parameter in a fused AdamW update.
pub const ADAM_BYTES_PER_PARAM: f64 = 28.0;

/// Bytes per weight gathered and per gradient reduced (bf16).
const BYTES: f64 = 2.0;

/// One kind of layer on a rank: how many, the weights each holds, and its compute in each pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerShare {
    pub count: f64,
    /// Weights replicated over the data-parallel group, and expert weights over the experts' replicas.
    pub dense_params: f64,
    pub expert_params: f64,
    pub fwd: Nanos,
    pub bwd: Nanos,
}

/// ZeRO's collectives per micro-batch (stages 2 and 3): what is exposed in each pass, and their whole
/// time.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PerMicroBatch {
    pub fwd_exposed: Nanos,
    pub bwd_exposed: Nanos,
    pub total: Nanos,
}

/// ZeRO stage `stage` over `dp` (the weights' replicas) and `edp` (the expert weights' replicas): stage 3
/// gathers weights and reduce-scatters gradients with each micro-batch, stage 2 only reduce-scatters,
/// lower stages do neither.
pub fn per_micro_batch(stage: u8, dp: &Group, edp: &Group, layers: &[LayerShare]) -> PerMicroBatch {
    let mut z = PerMicroBatch::default();
    if stage < 2 {
        return z;
    }
    let (mut first_gather, mut last_scatter) = (Nanos::ZERO, Nanos::ZERO);
    for l in layers
        .iter()
        .filter(|l| l.count > 0.0 && l.dense_params + l.expert_params > 0.0)
    {
        let (d, e) = (
            Bytes(l.dense_params * BYTES),
            Bytes(l.expert_params * BYTES),
        );
        let gather = if stage >= 3 {
            collectives::all_gather(dp, d).time + collectives::all_gather(edp, e).time
        } else {
            Nanos::ZERO
        };
        let scatter =
            collectives::reduce_scatter(dp, d).time + collectives::reduce_scatter(edp, e).time;
        z.fwd_exposed += (gather - l.fwd).max(Nanos::ZERO) * l.count;
        z.bwd_exposed += (gather + scatter - l.bwd).max(Nanos::ZERO) * l.count;
        z.total += (gather * 2.0 + scatter) * l.count;
        first_gather = first_gather.max(gather);
        last_scatter = last_scatter.max(scatter);
    }
    // Nothing hides the first gather of the forward pass or the last reduce-scatter of the backward.
    z.fwd_exposed += first_gather;
    z.bwd_exposed += last_scatter;
    z
}

/// The end of a training step on a role: the data-parallel gradient all-reduce and the part of it that the
/// last micro-batch's backward pass (`window`) cannot hide (at least one layer's share); under ZeRO-2 the
/// all-gather of the updated weights instead, all of it exposed; under ZeRO-3 nothing (its collectives
/// came with each micro-batch). Then the AdamW update of the rank's `(dense,
/// expert)` parameters (under ZeRO, its share of them) at `hbm_bw`. Returns `(sync, exposed, optimizer)`.
pub fn step_end(
    plan: &Plan,
    (dp, edp): (&Group, &Group),
    (dense, expert): (f64, f64),
    layers: usize,
    window: Nanos,
    hbm_bw: BytesPerSec,
) -> (Nanos, Nanos, Nanos) {
    let (d, e) = (Bytes(dense * BYTES), Bytes(expert * BYTES));
    let (sync, exposed) = match plan.zero {
        3 => (Nanos::ZERO, Nanos::ZERO),
        2 => {
            let t = collectives::all_gather(dp, d).time + collectives::all_gather(edp, e).time;
            (t, t)
        }
        _ => {
            let t = collectives::best_all_reduce(dp, d).time
                + collectives::best_all_reduce(edp, e).time;
            let floor = if layers > 0 { t / layers as f64 } else { t };
            (t, (t - window).max(floor))
        }
    };
    let upd = |p: f64, r: usize| {
        if plan.zero >= 1 {
            p / r.max(1) as f64
        } else {
            p
        }
    };
    let updated = upd(dense, plan.dp) + upd(expert, plan.dp * plan.tp / plan.ep.max(1));
    let optimizer = Bytes(updated * ADAM_BYTES_PER_PARAM) / hbm_bw;
    (sync, exposed, optimizer)
}

/// A role's layers as ZeRO-3 sees them: `counts` of dense and MoE layers and whether it holds the head
/// (1 or 0); the weights of a dense layer, of a MoE layer (replicated, expert) and of the embedding and
/// head together (`ends`, gathered under the head's compute); each kind's times.
pub fn role_shares(
    (dense, moe, head): (f64, f64, f64),
    (dense_params, moe_params, expert_params, ends): (f64, f64, f64, f64),
    [dl, ml, hl]: [&LayerTime; 3],
) -> [LayerShare; 3] {
    [
        LayerShare {
            count: dense,
            dense_params,
            expert_params: 0.0,
            fwd: dl.compute,
            bwd: dl.bwd_compute,
        },
        LayerShare {
            count: moe,
            dense_params: moe_params,
            expert_params,
            fwd: ml.compute,
            bwd: ml.bwd_compute,
        },
        LayerShare {
            count: 1.0,
            dense_params: ends,
            expert_params: 0.0,
            fwd: hl.compute * head,
            bwd: hl.bwd_compute * head,
        },
    ]
}

/// One micro-batch's gradient accumulation pass over the rank's `(dense, expert)` parameters (`hidden`
/// wide), on the timer's chip; under ZeRO stage 2 or 3, over the rank's share of them.
pub fn grad_add(
    timer: &mut Timer,
    plan: &Plan,
    (dense, expert): (f64, f64),
    hidden: usize,
) -> Result<Nanos> {
    let share = |p: f64, r: usize| {
        if plan.zero >= 2 {
            p / r.max(1) as f64
        } else {
            p
        }
    };
    let params = share(dense, plan.dp) + share(expert, plan.dp * plan.tp / plan.ep.max(1));
    if params <= 0.0 {
        return Ok(Nanos::ZERO);
    }
    let cols = hidden.max(1);
    let rows = (params / cols as f64).ceil().max(1.0) as usize;
    timer.time(&Kernel::GradAdd { rows, cols })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::topology::{Link, Tier};
    use crate::units::BytesPerSec;

    fn link() -> Link {
        Link {
            tier: Tier::Node,
            bw: BytesPerSec(392e9),
            peer_bw: BytesPerSec(56e9),
            latency: Nanos(1e3),
            direct: true,
            in_network: false,
        }
    }

    #[test]
    fn gathers_hide_behind_long_layers_and_show_past_short_ones() {
        let dp = Group::flat(8, link());
        let edp = Group::flat(1, link());
        let layer = |fwd_ms: f64| LayerShare {
            count: 10.0,
            dense_params: 2e8,
            expert_params: 0.0,
            fwd: Nanos(fwd_ms * 1e6),
            bwd: Nanos(2.0 * fwd_ms * 1e6),
        };
        let gather = collectives::all_gather(&dp, Bytes(4e8)).time;
        let scatter = collectives::reduce_scatter(&dp, Bytes(4e8)).time;
        // Layers far longer than their collectives: only the first gather and the last reduce-scatter.
        let long = per_micro_batch(3, &dp, &edp, &[layer(1e3)]);
        assert_eq!(long.fwd_exposed, gather);
        assert_eq!(long.bwd_exposed, scatter);
        assert!((long.total.0 - 10.0 * (2.0 * gather.0 + scatter.0)).abs() < 1.0);
        // Layers with no compute: every collective shows.
        let none = per_micro_batch(3, &dp, &edp, &[layer(0.0)]);
        assert!((none.fwd_exposed.0 - 11.0 * gather.0).abs() < 1.0);
        assert!((none.bwd_exposed.0 - (10.0 * (gather.0 + scatter.0) + scatter.0)).abs() < 1.0);
        // Stage 2 gathers nothing; it reduce-scatters as stage 3 does. Stage 1 does neither per micro-batch.
        let two = per_micro_batch(2, &dp, &edp, &[layer(0.0)]);
        assert_eq!(two.fwd_exposed, Nanos::ZERO);
        assert!((two.bwd_exposed.0 - 11.0 * scatter.0).abs() < 1.0);
        assert_eq!(
            per_micro_batch(1, &dp, &edp, &[layer(0.0)]),
            PerMicroBatch::default()
        );
        // One data-parallel rank: nothing to gather.
        let alone = per_micro_batch(3, &Group::flat(1, link()), &edp, &[layer(0.0)]);
        assert_eq!(alone, PerMicroBatch::default());
    }
}

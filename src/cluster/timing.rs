//! The pieces of a step prediction: timing a layer's steps (kernels with the chip model, collectives with
//! their cost models over the plan's groups), the layers of each pipeline stage, and the model's FLOPs.

use super::collectives::{self, Collective, Group};
use super::models::{Arch, ModelSpec};
use super::moe_kernel::{self, MoeMode};
use super::plan::Workload;
use super::prediction::LayerTime;
use super::work::{self, GroupKind, LayerKind, Shard, Step, Timer};
use crate::Result;
use crate::units::{Bytes, Nanos};

/// The groups a rank's collectives run over.
pub struct Groups {
    pub tp: Group,
    pub ep: Group,
    pub dp: Group,
    pub edp: Group,
    pub pp: Group,
}

pub fn time_steps(
    steps: &[Step],
    timer: &mut Timer,
    g: &Groups,
    model: &ModelSpec,
    s: &Shard,
) -> Result<LayerTime> {
    let saved = work::saved_bytes(model, s, steps);
    let mut lt = LayerTime {
        compute: Nanos::ZERO,
        bwd_compute: Nanos::ZERO,
        comm: Nanos::ZERO,
        flops: 0.0,
        saved,
        steps: Vec::with_capacity(steps.len()),
    };
    for st in steps {
        match st {
            Step::Compute { label, kernel } => {
                let t = timer.time(kernel)?;
                lt.compute += t;
                lt.bwd_compute += t * kernel.backward_factor();
                lt.flops += kernel.flops();
                lt.steps.push((label, t, None));
            }
            Step::Comm {
                label,
                kind,
                group,
                bytes,
                moe,
            } => {
                let grp = match group {
                    GroupKind::Tp => &g.tp,
                    GroupKind::Ep => &g.ep,
                    GroupKind::Dp => &g.dp,
                    GroupKind::Pp => &g.pp,
                };
                let c = match (kind, moe) {
                    (Collective::Dispatch | Collective::Combine, Some(tr)) => {
                        moe_cost(*kind, grp, tr, &timer.chip, s.decode)
                    }
                    (Collective::AllGather, _) => collectives::all_gather(grp, Bytes(*bytes)),
                    (Collective::ReduceScatter, _) => {
                        collectives::reduce_scatter(grp, Bytes(*bytes))
                    }
                    (Collective::AllToAll, _) => collectives::all_to_all(grp, Bytes(*bytes)),
                    _ => collectives::best_all_reduce(grp, Bytes(*bytes)),
                };
                lt.comm += c.time;
                lt.steps.push((label, c.time, Some(c)));
            }
        }
    }
    Ok(lt)
}

/// A MoE exchange on the rank's chip: DeepEP-Ascend's kernels on an Ascend chip ([`moe_kernel`]:
/// low-latency in decode, normal otherwise); on a GPU, the all-to-all-v cost model (DeepEP's NVIDIA
/// kernels are not modelled as kernels).
pub fn moe_cost(
    kind: Collective,
    g: &Group,
    tr: &collectives::MoeTraffic,
    chip: &crate::accel::Accelerator,
    decode: bool,
) -> collectives::Cost {
    match chip {
        crate::accel::Accelerator::Ascend(c) => {
            moe_kernel::moe_kernel_cost(kind, MoeMode::for_step(decode), g, tr, c).0
        }
        crate::accel::Accelerator::Gpu(_) => collectives::moe_exchange(kind, g, tr),
    }
}

/// The layers of each pipeline stage: (dense, moe, embedding, head).
pub fn stage_layers(model: &ModelSpec, pp: usize, train: bool) -> Vec<(usize, usize, bool, bool)> {
    (0..pp)
        .map(|i| {
            let (lo, hi) = (i * model.layers / pp, (i + 1) * model.layers / pp);
            let moe = (lo..hi).filter(|&l| model.is_moe_layer(l)).count();
            let head = i == pp - 1 && (model.arch == Arch::Decoder || train);
            (hi - lo - moe, moe, i == 0, head)
        })
        .collect()
}

/// Model FLOPs of a step: the unsharded model's matmuls on the whole batch (no recompute, no work
/// replicated by the plan); training counts the backward pass as twice the forward.
pub fn model_flops(model: &ModelSpec, w: &Workload, decode: bool, head: bool) -> f64 {
    let (q, ctx) = w.lengths();
    let full = Shard {
        tp: 1,
        ep: 1,
        seqs: w.batch(),
        q,
        ctx,
        decode,
        expert_load: 1.0,
        sp: false,
    };
    let (n_dense, n_moe) = model.layer_counts();
    let mut fwd = 0.0;
    if n_dense > 0 {
        fwd += n_dense as f64 * work::flops(&work::layer_steps(model, LayerKind::Dense, &full));
    }
    if n_moe > 0 {
        fwd += n_moe as f64 * work::flops(&work::layer_steps(model, LayerKind::Moe, &full));
    }
    if head {
        fwd += work::flops(&work::head_steps(model, &full, w.is_train()));
    }
    fwd * if w.is_train() { 3.0 } else { 1.0 }
}

//! One step on the cluster, by counting devices: the ranks of a plan fall into a few roles (the pipeline
//! stages that hold different layers; every tensor-, data- and expert-parallel rank of a stage does the same
//! work under balanced routing), one representative of each role is timed with the chip model, and the rest
//! are counted.
//!
//! Per micro-batch a role runs its layers' kernels ([`super::work`]) and collectives one after another
//! (communication is not overlapped with compute, an upper bound on exposed time). Training adds the backward
//! pass, kernel by kernel its forward time times [`super::kernel::Kernel::backward_factor`] (twice for a
//! matmul, which computes the gradients of its input and of its weight: Narayanan et al. 2021; 2.5 times for
//! the fused attention), the same collectives again, and with recompute one more forward. Pipeline: with `m`
//! micro-batches and per-micro-batch stage times `t_i`, the step takes `sum_i t_i + (m - 1) max_i t_i` (fill
//! and drain through every stage once, then the slowest stage sets the pace; the bubble is what exceeds
//! `m max_i t_i`). ZeRO-3's weight gathers, ZeRO-2's and 3's gradient reduce-scatters and, with `grad_add`,
//! the accumulation pass come with every micro-batch ([`super::zero`]). Then the step's end: the
//! data-parallel gradient all-reduce, overlapped with the last micro-batch's backward pass except for at
//! least one layer's share (under ZeRO-2 the updated weights' all-gather instead, not hidden; under ZeRO-3
//! nothing), and the optimizer: a fused AdamW reading and writing 28 bytes per parameter it updates (bf16
//! gradient in, fp32 master, m and v in and out, bf16 weight out), bound by HBM bandwidth.

use super::collectives;
use super::memory::{self, Holdings};
use super::models::{Arch, ModelSpec};
use super::plan::{Plan, Workload};
pub use super::prediction::{LayerTime, Role, StepPrediction, Timers};
use super::timing::{Groups, model_flops, stage_layers, time_steps};
use super::topology::ClusterSpec;
use super::work::{self, LayerKind, Shard};
use super::zero;
use crate::Result;
use crate::units::{Bytes, Joules, Nanos};

pub use super::zero::ADAM_BYTES_PER_PARAM;

/// Predicts one step (a fresh set of kernel timers).
pub fn predict_step(
    model: &ModelSpec,
    cluster: &ClusterSpec,
    plan: &Plan,
    w: &Workload,
) -> Result<StepPrediction> {
    predict_step_with(&mut Timers::default(), model, cluster, plan, w)
}

/// Predicts one step, reusing `timers` (which must belong to this cluster's chip; they reset if not).
pub fn predict_step_with(
    timers: &mut Timers,
    model: &ModelSpec,
    cluster: &ClusterSpec,
    plan: &Plan,
    w: &Workload,
) -> Result<StepPrediction> {
    model.validate()?;
    cluster.validate()?;
    let unit = plan.check(model, cluster)?;
    w.check(model, plan)?;
    let train = w.is_train();
    let (_, m, mbs) = w.micro(plan);
    let (q, ctx) = w.lengths();
    let s = Shard {
        tp: plan.tp,
        ep: plan.ep,
        seqs: mbs,
        q,
        ctx,
        decode: matches!(w, Workload::Decode { .. }),
        expert_load: model.expert_load(plan.ep)?,
        sp: plan.sp,
    };
    let g = Groups {
        tp: cluster.group(unit, plan.tp, 1),
        ep: cluster.group(unit, plan.ep, 1),
        dp: cluster.group(unit, plan.dp, plan.tp),
        edp: cluster.group(unit, plan.dp * plan.tp / plan.ep, plan.ep),
        pp: cluster.group(unit, 2, plan.dp * plan.tp),
    };
    let chip = cluster.rank_chip(unit);
    let timer = timers.get(cluster, unit)?;
    let mut stages = stage_layers(model, plan.pp, train);
    // The MTP head (DeepSeek-V3: one more transformer block) runs once per draft on the last stage
    // (assumption: timed as one more layer of the model's last kind on the step's shard, so a little above
    // its real cost, which sees one token per sequence).
    if let Some(last) = stages.last_mut() {
        let k = w.mtp_layers();
        if model.is_moe_layer(model.layers.saturating_sub(1)) {
            last.1 += k;
        } else {
            last.0 += k;
        }
    }
    let any = |f: fn(&(usize, usize, bool, bool)) -> bool| stages.iter().any(f);
    let dense = if any(|s| s.0 > 0) {
        Some(time_steps(
            &work::layer_steps(model, LayerKind::Dense, &s),
            timer,
            &g,
            model,
            &s,
        )?)
    } else {
        None
    };
    let moe = if any(|s| s.1 > 0) {
        Some(time_steps(
            &work::layer_steps(model, LayerKind::Moe, &s),
            timer,
            &g,
            model,
            &s,
        )?)
    } else {
        None
    };
    let head = if any(|s| s.3) {
        Some(time_steps(
            &work::head_steps(model, &s, train),
            timer,
            &g,
            model,
            &s,
        )?)
    } else {
        None
    };
    let saved = |lt: &Option<LayerTime>| lt.as_ref().map_or(0.0, |l| l.saved);
    let zero = LayerTime {
        compute: Nanos::ZERO,
        bwd_compute: Nanos::ZERO,
        comm: Nanos::ZERO,
        flops: 0.0,
        saved: 0.0,
        steps: vec![],
    };
    let (dl, ml, hl) = (
        dense.as_ref().unwrap_or(&zero),
        moe.as_ref().unwrap_or(&zero),
        head.as_ref().unwrap_or(&zero),
    );

    // Group the stages into roles.
    let mut keys: Vec<(usize, usize, bool, bool)> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, k) in stages.iter().enumerate() {
        match keys.iter().position(|x| x == k) {
            Some(r) => members[r].push(i),
            None => {
                keys.push(*k);
                members.push(vec![i]);
            }
        }
    }
    let act_bytes = (s.tokens() * model.hidden) as f64 * work::ACT_BYTES;
    let p2p = collectives::send_recv(&g.pp.link, Bytes(act_bytes)).time;
    let (dparams, _) = memory::layer_params(model, LayerKind::Dense, plan.tp, plan.ep);
    let (mdparams, meparams) = memory::layer_params(model, LayerKind::Moe, plan.tp, plan.ep);
    let embed_params = (model.vocab.div_ceil(plan.tp) * model.hidden) as f64;
    let cap = chip.hbm_capacity_per_die();
    let dies_per_rank = chip.dies();
    let mut roles = Vec::with_capacity(keys.len());
    for (key, stages_of) in keys.iter().zip(&members) {
        let &(nd, nm, embed, has_head) = key;
        let (ndf, nmf) = (nd as f64, nm as f64);
        let h = if has_head { 1.0 } else { 0.0 };
        let layers = nd + nm;
        let mut dense_params = dparams * ndf + mdparams * nmf;
        if embed {
            dense_params += embed_params;
        }
        if has_head && !(model.tied_embeddings && embed) {
            dense_params += embed_params;
        }
        let expert_params = meparams * nmf;
        let sharded = if train && plan.zero >= 2 {
            // The embedding and head weights, gathered under the head's compute.
            let ends = dense_params - dparams * ndf - mdparams * nmf;
            let shares = zero::role_shares(
                (ndf, nmf, h),
                (dparams, mdparams, meparams, ends),
                [dl, ml, hl],
            );
            zero::per_micro_batch(plan.zero, &g.dp, &g.edp, &shares)
        } else {
            zero::PerMicroBatch::default()
        };
        let accumulate = if train && plan.grad_add {
            zero::grad_add(timer, plan, (dense_params, expert_params), model.hidden)?
        } else {
            Nanos::ZERO
        };
        let fwd_compute = dl.compute * ndf + ml.compute * nmf + hl.compute * h;
        let layer_comm = dl.comm * ndf + ml.comm * nmf + hl.comm * h;
        let fwd_comm = layer_comm + sharded.fwd_exposed;
        let fwd_flops = dl.flops * ndf + ml.flops * nmf + hl.flops * h;
        let first = stages_of[0];
        let has_next = stages_of.iter().any(|&i| i + 1 < plan.pp);
        let has_prev = stages_of.iter().any(|&i| i > 0);
        let (bwd_compute, bwd_comm, recompute) = if train {
            (
                dl.bwd_compute * ndf + ml.bwd_compute * nmf + hl.bwd_compute * h + accumulate,
                layer_comm + sharded.bwd_exposed,
                if plan.recompute {
                    fwd_compute + fwd_comm
                } else {
                    Nanos::ZERO
                },
            )
        } else {
            (Nanos::ZERO, Nanos::ZERO, Nanos::ZERO)
        };
        let mut p2p_t = Nanos::ZERO;
        if has_next {
            p2p_t += p2p;
        }
        if train && has_prev {
            p2p_t += p2p;
        }
        let per_mb = fwd_compute + fwd_comm + bwd_compute + bwd_comm + recompute + p2p_t;
        let mult = if train {
            3.0 + if plan.recompute { 1.0 } else { 0.0 }
        } else {
            1.0
        };
        let (dp_sync, dp_exposed, optimizer) = if train {
            let params = (dense_params, expert_params);
            let window = bwd_compute + bwd_comm;
            zero::step_end(plan, (&g.dp, &g.edp), params, layers, window, chip.hbm_bw())
        } else {
            (Nanos::ZERO, Nanos::ZERO, Nanos::ZERO)
        };
        let (activations, kv_cache) = if train {
            let in_flight = m.min(plan.pp - first) as f64;
            let per_mb = if plan.recompute {
                layers as f64 * act_bytes
            } else {
                saved(&dense) * ndf + saved(&moe) * nmf + saved(&head) * h
            };
            let extra = if plan.recompute {
                saved(&dense).max(saved(&moe))
            } else {
                0.0
            };
            (per_mb * in_flight + extra, 0.0)
        } else {
            let working = saved(&dense).max(saved(&moe)).max(saved(&head) * h);
            let kv = if model.arch == Arch::Decoder {
                let local = w.batch().div_ceil(plan.dp) as f64;
                local * ctx as f64 * memory::kv_bytes_per_token(model, plan.tp) * layers as f64
            } else {
                0.0
            };
            (working, kv)
        };
        let holdings = Holdings {
            dense_params,
            dense_replicas: plan.dp,
            expert_params,
            expert_replicas: plan.dp * plan.tp / plan.ep,
            activations,
            kv_cache,
            train,
            zero: plan.zero,
            weight_bytes: model.quant.weight_bytes(),
        };
        let memory = holdings.memory(dies_per_rank, cap);
        let mut parts = vec![format!(
            "{} layer{}",
            layers,
            if layers == 1 { "" } else { "s" }
        )];
        if nm > 0 {
            parts[0] = if nd > 0 {
                format!("{layers} layers ({nd} dense, {nm} moe)")
            } else {
                format!("{nm} moe layer{}", if nm == 1 { "" } else { "s" })
            };
        }
        if embed {
            parts.push("embedding".into());
        }
        if has_head {
            parts.push("head".into());
        }
        let name = if plan.pp == 1 {
            format!("all ranks: {}", parts.join(", "))
        } else if stages_of.len() == 1 {
            format!("stage {first}: {}", parts.join(", "))
        } else {
            format!(
                "stages {}-{}: {} each",
                first,
                stages_of[stages_of.len() - 1],
                parts.join(", ")
            )
        };
        roles.push(Role {
            name,
            stages: stages_of.clone(),
            devices: stages_of.len() * plan.dp * plan.tp,
            dense_layers: nd,
            moe_layers: nm,
            embed,
            head: has_head,
            fwd_compute,
            fwd_comm,
            bwd_compute,
            bwd_comm,
            recompute,
            p2p: p2p_t,
            per_micro_batch: per_mb,
            dp_sync,
            dp_exposed,
            optimizer,
            flops: fwd_flops * mult * m as f64,
            memory,
        });
    }

    // The pipeline: every stage once (fill and drain), then the slowest stage for the other micro-batches.
    let stage_time = |i: usize| {
        roles
            .iter()
            .find(|r| r.stages.contains(&i))
            .map_or(Nanos::ZERO, |r| r.per_micro_batch)
    };
    let fill: Nanos = (0..plan.pp).map(stage_time).sum();
    let critical = (0..roles.len()).fold(0, |b, i| {
        if roles[i].per_micro_batch.0 > roles[b].per_micro_batch.0 {
            i
        } else {
            b
        }
    });
    let cr = &roles[critical];
    let mf = m as f64;
    let pipe = fill + cr.per_micro_batch * (mf - 1.0);
    let bubble = (pipe - cr.per_micro_batch * mf).max(Nanos::ZERO);
    let tail = (0..roles.len()).fold(0, |b, i| {
        let t = |r: &Role| r.dp_exposed + r.optimizer;
        if t(&roles[i]).0 > t(&roles[b]).0 {
            i
        } else {
            b
        }
    });
    let step = pipe + roles[tail].dp_exposed + roles[tail].optimizer;
    let compute = (cr.fwd_compute + cr.bwd_compute + cr.recompute) * mf + roles[tail].optimizer;
    let comm = (cr.fwd_comm + cr.bwd_comm + cr.p2p) * mf + roles[tail].dp_exposed;

    let model_flops = model_flops(model, w, s.decode, stages.iter().any(|s| s.3));
    let chips = cluster.chips();
    let secs = step.secs();
    let tokens = w.tokens();
    let tokens_per_s = if secs > 0.0 {
        w.output_tokens() / secs
    } else {
        0.0
    };
    let peak = chips as f64 * cluster.chip.peak_bf16().0;
    let mfu = if secs > 0.0 {
        model_flops / (secs * peak)
    } else {
        0.0
    };
    let power = cluster.power();
    let rpc = cluster.ranks_per_chip(unit) as f64;
    let hbm_per_chip = Bytes(roles.iter().map(|r| r.memory.total.0).fold(0.0, f64::max) * rpc);
    let mut warnings = Vec::new();
    for r in &roles {
        if !r.memory.fits {
            warnings.push(format!(
                "does not fit: {} needs {:.1} GB per die, more than the {:.1} GB of HBM a die has",
                r.name,
                r.memory.per_die.0 / 1e9,
                r.memory.capacity_per_die.0 / 1e9
            ));
        }
    }
    Ok(StepPrediction {
        model: model.name.clone(),
        cluster: cluster.name.clone(),
        chip: chip.name().to_string(),
        plan: *plan,
        workload: *w,
        unit,
        micro_batches: m,
        micro_batch_seqs: mbs,
        fits: warnings.is_empty(),
        roles,
        dense,
        moe,
        head,
        step,
        compute,
        comm,
        bubble,
        critical,
        tokens,
        tokens_per_s,
        tokens_per_s_per_chip: tokens_per_s / chips as f64,
        model_flops,
        mfu,
        chips,
        hbm_per_chip,
        warnings,
        power,
        energy_per_token: if tokens > 0 {
            Joules(power.0 * secs / w.output_tokens())
        } else {
            Joules(0.0)
        },
        kernels_timed: timers.predicted(),
    })
}

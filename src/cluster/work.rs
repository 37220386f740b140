//! The work of one rank for one micro-batch, layer by layer: the kernels it runs (matmuls with their
//! shapes, norms, softmaxes, activations, rotary embeddings) and the collectives between them. Only shapes
//! are needed. Each kernel is timed by recording it into a one-op [`Program`] and predicting that with
//! [`crate::sched::predict`] on the rank's chip; the ops of a program run one after another, so a layer's
//! time is the sum of its kernels'. [`Timer`] caches the time of each distinct kernel shape, so a 61-layer
//! model (or a sweep over a thousand plans) predicts only a few dozen distinct kernels.
//!
//! Layers as recorded (t tokens on the rank, `hl = heads / tp` local heads):
//! With sequence parallelism (`Shard::sp`) the norms run on the rank's `t / tp` tokens, and each
//! tensor-parallel block gathers its input (all-gather) and reduce-scatters its output instead of the
//! all-reduce; a MoE layer's token split then comes from that reduce-scatter, so its closing all-gather
//! is the next block's.
//! - MHA / GQA: norm, fused q|k|v projection, rotary embedding (decoders), one fused attention
//!   ([`crate::sched::flash`]: the scores stay on chip; causal in a decoder's prefill and training, the
//!   group's heads batched over one token in decode), o projection, tensor-parallel all-reduce.
//! - MLA (DeepSeek-V2/V3): norm, q down-projection (`q_lora`, replicated on every tp rank), norm, q
//!   up-projection; kv down-projection to the latent (`kv_lora + rope`, replicated), norm, kv up-projection;
//!   rotary; a fused causal attention over `nope + rope`; o projection. Decode uses the absorbed form (DeepSeek-V2
//!   paper, section 2.1.2): queries are mapped into the latent space, scores and context are taken against the
//!   cached latent (`kv_lora + rope` per token, shared by all heads), then mapped back per head.
//! - Dense FFN: norm, gate|up (SwiGLU) or up (GELU), activation, gating product, down, all-reduce.
//! - MoE FFN: norm; the tp group splits its tokens; router and softmax; dispatch (FP8, 1 byte per element,
//!   as DeepSeek-V3's report says); local experts as batched matmuls over `ceil(ep * tokens * top_k /
//!   experts)` tokens each (balanced routing assumed, as DeepSeek-V3's auxiliary-loss-free balancing aims
//!   for); combine (bf16); the shared experts on the rank's tokens; the weighted sum; an all-gather over tp.
//!
//! The absorbed MLA decode computes its scores in full (`q_len x ctx`) with matmuls and a softmax.

use super::collectives::{Collective, MoeTraffic};
pub use super::kernel::{Kernel, Timer};
pub use super::layer_ops::{ACT_BYTES, GroupKind, Shard, Step};
use super::layer_ops::{linear, mm, op, tp_block_in, tp_block_out};
use super::models::ModelSpec;

/// Bytes per element of a MoE dispatch (FP8, DeepSeek-V3 report section 3.3) and combine (bf16).
pub const DISPATCH_BYTES: f64 = 1.0;
pub const COMBINE_BYTES: f64 = 2.0;

/// Which kind of layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    Dense,
    Moe,
}

/// The steps of one layer's forward pass on a rank.
pub fn layer_steps(m: &ModelSpec, kind: LayerKind, s: &Shard) -> Vec<Step> {
    let mut v = Vec::with_capacity(24);
    super::work_attn::attention(m, s, &mut v);
    match (kind, m.moe) {
        (LayerKind::Moe, Some(moe)) => moe_ffn(m, moe, s, &mut v),
        _ => dense_ffn(m, s, &mut v),
    }
    v
}

fn mlp(m: &ModelSpec, label: (&'static str, &'static str), t: usize, f: usize, v: &mut Vec<Step>) {
    let h = m.hidden;
    if m.gated {
        v.extend(linear(m, label.0, (1, t), h, 2 * f));
        v.push(op("act", Kernel::Act { rows: t, cols: f }));
        v.push(op("gate * up", Kernel::Mul { rows: t, cols: f }));
    } else {
        v.extend(linear(m, label.0, (1, t), h, f));
        v.push(op("act", Kernel::Act { rows: t, cols: f }));
    }
    v.extend(linear(m, label.1, (1, t), f, h));
}

fn dense_ffn(m: &ModelSpec, s: &Shard, v: &mut Vec<Step>) {
    let t = s.tokens();
    v.push(op(
        "ffn norm",
        Kernel::Norm {
            rows: s.norm_rows(),
            cols: m.hidden,
        },
    ));
    v.extend(tp_block_in("tp all-gather (ffn in)", s, m.hidden));
    mlp(m, ("gate|up", "down"), t, m.ffn / s.tp, v);
    v.extend(tp_block_out(
        ("tp all-reduce (ffn)", "tp reduce-scatter (ffn)"),
        s,
        m.hidden,
    ));
}

/// Tokens each expert on a rank processes: the expert group's routed assignments spread evenly.
pub fn tokens_per_expert(moe: &super::models::Moe, routed: usize, ep: usize) -> usize {
    (ep * routed * moe.top_k).div_ceil(moe.experts).max(1)
}

fn moe_ffn(m: &ModelSpec, moe: super::models::Moe, s: &Shard, v: &mut Vec<Step>) {
    let (h, t) = (m.hidden, s.tokens());
    let tr = t.div_ceil(s.tp);
    let el = moe.experts.div_ceil(s.ep);
    // The busiest rank's experts take `expert_load` times the mean, and it receives as much more.
    let load = s.expert_load.max(1.0);
    let me = (tokens_per_expert(&moe, tr, s.ep) as f64 * load).ceil() as usize;
    let traffic = |b: f64| MoeTraffic {
        tokens: (tr as f64 * load).ceil() as usize,
        hidden: h,
        top_k: moe.top_k,
        experts: moe.experts,
        ep: s.ep,
        bytes_per_elem: b,
    };
    v.push(op(
        "ffn norm",
        Kernel::Norm {
            rows: s.norm_rows(),
            cols: h,
        },
    ));
    v.push(mm("router", 1, tr, h, moe.experts, true));
    v.push(op(
        "router softmax",
        Kernel::Softmax {
            rows: tr,
            cols: moe.experts,
        },
    ));
    if s.ep > 1 {
        let tr = traffic(DISPATCH_BYTES);
        v.push(Step::Comm {
            label: "moe dispatch",
            kind: Collective::Dispatch,
            group: GroupKind::Ep,
            bytes: tr.bytes().0,
            moe: Some(tr),
        });
    }
    let fe = moe.expert_ffn;
    let n_up = if m.gated { 2 * fe } else { fe };
    v.extend(linear(m, "experts gate|up", (el, me), h, n_up));
    v.push(op(
        "experts act",
        Kernel::Act {
            rows: el * me,
            cols: fe,
        },
    ));
    if m.gated {
        v.push(op(
            "experts gate * up",
            Kernel::Mul {
                rows: el * me,
                cols: fe,
            },
        ));
    }
    v.extend(linear(m, "experts down", (el, me), fe, h));
    if s.ep > 1 {
        let tr = traffic(COMBINE_BYTES);
        v.push(Step::Comm {
            label: "moe combine",
            kind: Collective::Combine,
            group: GroupKind::Ep,
            bytes: tr.bytes().0,
            moe: Some(tr),
        });
    }
    if moe.shared > 0 {
        mlp(m, ("shared gate|up", "shared down"), tr, moe.shared * fe, v);
    }
    v.push(op(
        "weighted sum",
        Kernel::Mul {
            rows: tr * moe.top_k,
            cols: h,
        },
    ));
    // Under sequence parallelism the next block's all-gather brings the tokens back together.
    if s.tp > 1 && !s.seq_split() {
        v.push(Step::Comm {
            label: "tp all-gather (moe)",
            kind: Collective::AllGather,
            group: GroupKind::Tp,
            bytes: t as f64 * h as f64 * ACT_BYTES,
            moe: None,
        });
    }
}

/// The output head on the last stage: final norm, logits over `vocab / tp`, and for training the loss
/// (a softmax over the local vocabulary, and an all-reduce of its row maxima and sums).
pub fn head_steps(m: &ModelSpec, s: &Shard, train: bool) -> Vec<Step> {
    let t = s.tokens();
    let mut v = vec![op(
        "final norm",
        Kernel::Norm {
            rows: s.norm_rows(),
            cols: m.hidden,
        },
    )];
    v.extend(tp_block_in("tp all-gather (head in)", s, m.hidden));
    v.push(mm("lm head", 1, t, m.hidden, m.vocab.div_ceil(s.tp), true));
    if train {
        v.push(op(
            "loss softmax",
            Kernel::Softmax {
                rows: t,
                cols: m.vocab.div_ceil(s.tp),
            },
        ));
        if s.tp > 1 {
            v.push(Step::Comm {
                label: "tp all-reduce (loss)",
                kind: Collective::AllReduce,
                group: GroupKind::Tp,
                bytes: t as f64 * 8.0,
                moe: None,
            });
        }
    }
    v
}

/// Matmul FLOPs of a list of steps.
pub fn flops(steps: &[Step]) -> f64 {
    steps
        .iter()
        .map(|s| match s {
            Step::Compute { kernel, .. } => kernel.flops(),
            _ => 0.0,
        })
        .sum()
}

/// Bytes a layer's forward pass keeps for the backward pass: every kernel's result, plus the layer's input.
/// Under sequence parallelism every `[tokens, hidden]` activation outside the tensor-parallel blocks (the
/// input, the norms' results, the blocks' reduce-scattered outputs) is the rank's `1 / tp` share of the
/// tokens (the norms are already recorded on that share); the gathered inputs of the blocks are not kept
/// (Korthikanti et al. 2022, section 4.2.2: the backward pass gathers them again, overlapped with the
/// weight gradients' matmuls).
pub fn saved_bytes(m: &ModelSpec, s: &Shard, steps: &[Step]) -> f64 {
    let (t, h) = (s.tokens() as f64, m.hidden as f64);
    let share = if s.seq_split() {
        1.0 / s.tp as f64
    } else {
        1.0
    };
    let outs: f64 = steps
        .iter()
        .map(|st| match st {
            Step::Compute {
                kernel: Kernel::Matmul {
                    batch, m: rows, n, ..
                },
                ..
            } if (batch * rows) as f64 == t && *n == m.hidden => t * h * share,
            Step::Compute { kernel, .. } => kernel.out_elems(),
            _ => 0.0,
        })
        .sum();
    (outs + t * h * share) * ACT_BYTES
}

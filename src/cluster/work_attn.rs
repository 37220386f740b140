//! The attention block of a layer's forward pass on a rank ([`super::work`] records the rest): MHA / GQA
//! or MLA, as the module docs of [`super::work`] describe, with its tensor-parallel collectives.

use super::kernel::Kernel;
use super::layer_ops::{Shard, Step, linear, mm, op, tp_block_in, tp_block_out};
use super::models::{Arch, Attn, ModelSpec};
use crate::sched::flash::FlashProblem;

pub(super) fn attention(m: &ModelSpec, s: &Shard, v: &mut Vec<Step>) {
    let (h, t, tp) = (m.hidden, s.tokens(), s.tp);
    let hl = m.heads / tp;
    let rope = m.arch == Arch::Decoder;
    v.push(op(
        "attn norm",
        Kernel::Norm {
            rows: s.norm_rows(),
            cols: h,
        },
    ));
    v.extend(tp_block_in("tp all-gather (attn in)", s, h));
    match m.attn {
        Attn::Mha {
            kv_heads,
            head_dim: d,
        } => {
            let kvl = if kv_heads % tp == 0 { kv_heads / tp } else { 1 };
            let group = hl / kvl;
            v.extend(linear(m, "qkv proj", (1, t), h, (hl + 2 * kvl) * d));
            if rope {
                v.push(op(
                    "rope",
                    Kernel::Rope {
                        tokens: t,
                        heads: hl + kvl,
                        dim: d,
                    },
                ));
            }
            // One fused attention. A decode step's queries are the group's heads over one token (they share
            // K and V, as IFA batches them); prefill and training are causal in a decoder.
            let a = if s.decode {
                FlashProblem {
                    heads: s.seqs * kvl,
                    sq: group * s.q,
                    skv: s.ctx,
                    d,
                    dv: d,
                    causal: false,
                }
            } else {
                FlashProblem {
                    heads: s.seqs * hl,
                    sq: s.q,
                    skv: s.ctx,
                    d,
                    dv: d,
                    causal: rope,
                }
            };
            v.push(op("attention", Kernel::Attention(a)));
            v.extend(linear(m, "o proj", (1, t), hl * d, h));
        }
        Attn::Mla {
            q_lora,
            kv_lora,
            rope: r,
            nope,
            v: vd,
        } => {
            v.extend(linear(m, "q down", (1, t), h, q_lora));
            v.push(op(
                "q norm",
                Kernel::Norm {
                    rows: t,
                    cols: q_lora,
                },
            ));
            v.extend(linear(m, "q up", (1, t), q_lora, hl * (nope + r)));
            v.extend(linear(m, "kv down", (1, t), h, kv_lora + r));
            v.push(op(
                "kv norm",
                Kernel::Norm {
                    rows: t,
                    cols: kv_lora,
                },
            ));
            v.push(op(
                "rope",
                Kernel::Rope {
                    tokens: t,
                    heads: hl + 1,
                    dim: r,
                },
            ));
            if s.decode {
                v.push(mm("q absorb", hl, t, nope, kv_lora, false));
                v.push(mm("q c^T", s.seqs, hl * s.q, kv_lora + r, s.ctx, false));
                v.push(op(
                    "softmax",
                    Kernel::Softmax {
                        rows: s.seqs * hl * s.q,
                        cols: s.ctx,
                    },
                ));
                v.push(mm("p c", s.seqs, hl * s.q, s.ctx, kv_lora, false));
                v.push(mm("v absorb", hl, t, kv_lora, vd, false));
            } else {
                v.extend(linear(m, "kv up", (1, t), kv_lora, hl * (nope + vd)));
                let a = FlashProblem {
                    heads: s.seqs * hl,
                    sq: s.q,
                    skv: s.ctx,
                    d: nope + r,
                    dv: vd,
                    causal: true,
                };
                v.push(op("attention", Kernel::Attention(a)));
            }
            v.extend(linear(m, "o proj", (1, t), hl * vd, h));
        }
    }
    v.extend(tp_block_out(
        ("tp all-reduce (attn)", "tp reduce-scatter (attn)"),
        s,
        h,
    ));
}

//! HBM use of one rank, and whether it fits.
//!
//! Training (mixed precision, as in the ZeRO paper, Rajbhandari et al. 2020): bf16 weights (2 bytes per
//! parameter), bf16 gradients (2), and fp32 master weights, Adam first and second moments (12); ZeRO stage 1
//! shards the 12 bytes over the parameter's replicas, stage 2 the gradients too, stage 3 the weights too.
//! Dense parameters are replicated over the `dp` ranks of a tensor-parallel shard; expert parameters over
//! `dp * tp / ep` ranks. Activations: every kernel result a layer's forward pass produces is kept for the
//! backward pass (see [`super::work::saved_bytes`]), times the micro-batches in flight on the stage (1F1B:
//! `min(micro-batches, pp - stage)`); with recompute only each layer's input is kept, plus one layer's full set
//! while it is recomputed. Inference: weights, the KV cache, and one layer's activations.
//!
//! A rank's bytes are spread evenly over its dies; a plan is flagged when one die would need more than its
//! HBM (64 GiB per die on a 910C).

use super::models::{Attn, ModelSpec};
use super::work::{ACT_BYTES, LayerKind};
use crate::units::Bytes;

/// Bytes per parameter: bf16 weights, bf16 gradients, fp32 master + Adam m + v.
pub const WEIGHT_BYTES: f64 = 2.0;
pub const GRAD_BYTES: f64 = 2.0;
pub const OPTIMIZER_BYTES: f64 = 12.0;

/// HBM use of one rank.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Memory {
    pub weights: Bytes,
    pub grads: Bytes,
    pub optimizer: Bytes,
    pub activations: Bytes,
    pub kv_cache: Bytes,
    pub total: Bytes,
    /// Total over the rank's dies.
    pub per_die: Bytes,
    pub capacity_per_die: Bytes,
    pub fits: bool,
}

/// What a rank holds, in parameters and activation bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Holdings {
    /// Dense (non-expert) parameters on the rank and how many ranks hold the same ones.
    pub dense_params: f64,
    pub dense_replicas: usize,
    pub expert_params: f64,
    pub expert_replicas: usize,
    pub activations: f64,
    pub kv_cache: f64,
    pub train: bool,
    pub zero: u8,
    /// Bytes per weight: 2 for bf16, 1 for W8A8 serving (`quant::Quant::weight_bytes`).
    pub weight_bytes: f64,
}

impl Holdings {
    pub fn memory(&self, dies_per_rank: usize, capacity_per_die: Bytes) -> Memory {
        let shard = |stage: u8, p: f64, r: usize| {
            if self.zero >= stage {
                p / r.max(1) as f64
            } else {
                p
            }
        };
        let both = |stage: u8| {
            shard(stage, self.dense_params, self.dense_replicas)
                + shard(stage, self.expert_params, self.expert_replicas)
        };
        let (grads, optimizer) = if self.train {
            (both(2) * GRAD_BYTES, both(1) * OPTIMIZER_BYTES)
        } else {
            (0.0, 0.0)
        };
        let weights = (if self.train {
            both(3)
        } else {
            self.dense_params + self.expert_params
        }) * self.weight_bytes;
        let total = weights + grads + optimizer + self.activations + self.kv_cache;
        let per_die = total / dies_per_rank.max(1) as f64;
        Memory {
            weights: Bytes(weights),
            grads: Bytes(grads),
            optimizer: Bytes(optimizer),
            activations: Bytes(self.activations),
            kv_cache: Bytes(self.kv_cache),
            total: Bytes(total),
            per_die: Bytes(per_die),
            capacity_per_die,
            fits: per_die <= capacity_per_die.0,
        }
    }
}

/// Parameters of one layer held by a rank: (replicated over the data-parallel group, expert parameters
/// replicated over `dp * tp / ep` ranks).
pub fn layer_params(m: &ModelSpec, kind: LayerKind, tp: usize, ep: usize) -> (f64, f64) {
    let h = m.hidden as f64;
    let attn = m.attn_params_per_rank(tp);
    match (kind, m.moe) {
        (LayerKind::Moe, Some(moe)) => {
            let dense =
                attn + moe.shared as f64 * m.mlp_params(moe.expert_ffn) + h * moe.experts as f64;
            let experts = moe.experts.div_ceil(ep) as f64 * m.mlp_params(moe.expert_ffn);
            (dense, experts)
        }
        _ => (attn + m.mlp_params(m.ffn) / tp as f64, 0.0),
    }
}

/// KV-cache bytes per token per layer on a rank (MLA caches the latent, the same on every tp rank).
pub fn kv_bytes_per_token(m: &ModelSpec, tp: usize) -> f64 {
    match m.attn {
        Attn::Mha { kv_heads, head_dim } => {
            let kvl = if kv_heads % tp == 0 { kv_heads / tp } else { 1 };
            2.0 * (kvl * head_dim) as f64 * ACT_BYTES
        }
        Attn::Mla { kv_lora, rope, .. } => (kv_lora + rope) as f64 * ACT_BYTES,
    }
}

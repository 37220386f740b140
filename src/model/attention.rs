//! Multi-head attention as Cube and Vector ops: q, k, v projections, optional rotary embedding, heads split
//! by permutes, `softmax(q k^T * scale + mask) v` as two batched `cube_matmul`s around a softmax (the scale
//! fused into the first matmul's epilogue), heads merged, and the output projection with the residual fused.
//!
//! Grouped-query attention: with `kv_heads < heads`, each group of `heads / kv_heads` query heads shares one
//! key/value head. The query heads of a group are stacked along the rows of one batched matmul, so keys and
//! values are never copied.

use super::{Graph, Linear};
use crate::program::{Activation, BinaryFn, Epilogue, MatmulOptions, TensorId};
use crate::tensor::DType;
use crate::{Error, Result};

/// The mask added to the attention scores.
#[derive(Clone, Copy, Debug)]
pub enum AttentionMask {
    None,
    /// An additive tensor that broadcasts to `[batch, heads, seq, seq]` (e.g. `[batch, 1, 1, seq]` padding).
    Additive(TensorId),
    /// An additive causal mask `[seq, seq]` (-inf above the diagonal) plus, optionally, padding.
    Causal(TensorId),
}

/// The layer's weights and shape.
#[derive(Clone, Copy, Debug)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Rotary tables `(cos, sin)` of `[seq, head_dim / 2]`, if the model uses them.
    pub rope: Option<(TensorId, TensorId)>,
}

impl Attention {
    /// Attention over `x` (`[batch * seq, hidden]`, rows grouped by sequence) with `residual` added after
    /// the output projection. Taps `q`, `k`, `v`, `scores`, `probs`, `context` under `{tap}`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        g: &mut Graph,
        x: TensorId,
        batch: usize,
        seq: usize,
        mask: AttentionMask,
        residual: Option<TensorId>,
        dt: DType,
        tap: &str,
    ) -> Result<(TensorId, TensorId)> {
        let (h, hk, d) = (self.heads, self.kv_heads, self.head_dim);
        if hk == 0 || h % hk != 0 {
            return Err(Error::Invalid(format!(
                "attention: {h} query heads cannot be shared by {hk} key/value heads; heads must be a multiple"
            )));
        }
        let group = h / hk;
        let q = self.q.forward(g, x, Activation::None, None, dt)?;
        let k = self.k.forward(g, x, Activation::None, None, dt)?;
        let v = self.v.forward(g, x, Activation::None, None, dt)?;
        for (name, t) in [("q", q), ("k", k), ("v", v)] {
            g.tap(format!("{tap}{name}"), t)?;
        }
        // [B*T, n*D] -> [B, T, n, D] (-> rotary) -> [B, n, T, D] -> [B*n/…, rows, D].
        let heads_first = |g: &mut Graph, t: TensorId, n: usize| -> Result<TensorId> {
            let mut t = g.program.reshape(t, [batch, seq, n, d])?;
            if let Some((cos, sin)) = self.rope {
                t = g.program.rope(t, cos, sin, dt)?;
            }
            g.program.permute(t, &[0, 2, 1, 3])
        };
        let qh = heads_first(g, q, h)?;
        let qh = g.program.reshape(qh, [batch * hk, group * seq, d])?;
        let kh = heads_first(g, k, hk)?;
        let kh = g.program.reshape(kh, [batch * hk, seq, d])?;
        let vh = g.program.reshape(v, [batch, seq, hk, d])?;
        let vh = g.program.permute(vh, &[0, 2, 1, 3])?;
        let vh = g.program.reshape(vh, [batch * hk, seq, d])?;

        let scale = 1.0 / (d as f64).sqrt();
        let opts = MatmulOptions {
            trans_b: true,
            dtype_out: dt,
            ..MatmulOptions::default()
        };
        let e = Epilogue {
            scale: Some(scale as f32),
            ..Epilogue::default()
        };
        let scores = g.program.cube_matmul_fused(qh, kh, opts, e)?;
        let mut scores = g.program.reshape(scores, [batch, h, seq, seq])?;
        match mask {
            AttentionMask::None => {}
            AttentionMask::Additive(m) | AttentionMask::Causal(m) => {
                scores = g.program.binary(BinaryFn::Add, scores, m, dt)?;
            }
        }
        g.tap(format!("{tap}scores"), scores)?;
        let probs = g.program.softmax(scores, None, dt)?;
        g.tap(format!("{tap}probs"), probs)?;
        let probs = g.program.reshape(probs, [batch * hk, group * seq, seq])?;
        let opts = MatmulOptions {
            dtype_out: dt,
            ..MatmulOptions::default()
        };
        let ctx = g.program.cube_matmul(probs, vh, opts)?;
        let ctx = g.program.reshape(ctx, [batch, h, seq, d])?;
        let ctx = g.program.permute(ctx, &[0, 2, 1, 3])?;
        let ctx = g.program.reshape(ctx, [batch * seq, h * d])?;
        g.tap(format!("{tap}context"), ctx)?;
        let out = self.o.forward(g, ctx, Activation::None, residual, dt)?;
        Ok((out, ctx))
    }
}

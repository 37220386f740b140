//! `--execute`: the tensor-parallel shards of an encoder layer really run on the host, one after another,
//! and their all-reduce is a real reduction, checked against the unsharded layer.
//!
//! Megatron's split (Shoeybi et al. 2019): q, k, v and the FFN's up projection are split by output
//! features (column-parallel: each shard owns `heads / tp` whole heads and `ffn / tp` hidden units), the
//! attention output and FFN down projections by input features (row-parallel). Each shard's attention block
//! and FFN block is its own [`Program`](crate::Program) on the executor; the shards' partial outputs are
//! summed in f32 on the host in rank order (the all-reduce), then the bias, the residual and the LayerNorm
//! run once, as every rank would run them on the reduced tensor. The sum of partial products is taken in a
//! different order than the unsharded matmul's, so the result is not bit-identical: it is checked with the
//! golden bound (relative Frobenius error at most 1e-4 in f32).

use super::super::model::{Attention, AttentionMask, BertModel, Graph, Linear};
use crate::exec::Executor;
use crate::program::{Activation, BinaryFn, UnaryFn};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// The golden bound for an f32 layer against a reference (relative Frobenius error).
pub const F32_BOUND: f64 = 1e-4;

/// What a tensor-parallel run found.
#[derive(Clone, Debug)]
pub struct TpCheck {
    pub tp: usize,
    /// The unsharded layer's output and the sharded one's.
    pub reference: Tensor,
    pub sharded: Tensor,
    /// `|sharded - reference| / |reference|` (Frobenius).
    pub rel_frobenius: f64,
    pub max_abs_diff: f64,
    /// Programs run on the executor (shards of two blocks, plus the replicated tails).
    pub programs: usize,
    /// Bytes each rank contributes to one all-reduce (f32).
    pub all_reduce_bytes: usize,
    pub all_reduces: usize,
}

/// Relative Frobenius error of `got` against `want`.
pub fn rel_frobenius(got: &[f32], want: &[f32]) -> f64 {
    let (mut d, mut n) = (0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(want) {
        d += (*g as f64 - *w as f64).powi(2);
        n += (*w as f64).powi(2);
    }
    if n == 0.0 { d.sqrt() } else { (d / n).sqrt() }
}

/// Rows `lo..hi` of a `[rows, cols]` matrix (a torch weight's output features).
fn rows(t: &Tensor, lo: usize, hi: usize) -> Result<Tensor> {
    let cols = t.shape().dims().get(1).copied().unwrap_or(1);
    let v = t.to_f32_vec();
    Tensor::from_f32(
        crate::tensor::Shape::new(if t.shape().rank() == 1 {
            vec![hi - lo]
        } else {
            vec![hi - lo, cols]
        }),
        v[lo * cols..hi * cols].to_vec(),
    )
}

/// Columns `lo..hi` of a `[rows, cols]` matrix (a torch weight's input features).
fn cols(t: &Tensor, lo: usize, hi: usize) -> Result<Tensor> {
    let d = t.shape().dims();
    let (r, c) = (d[0], d[1]);
    let v = t.to_f32_vec();
    let out = (0..r)
        .flat_map(|i| v[i * c + lo..i * c + hi].iter().copied())
        .collect();
    Tensor::from_f32([r, hi - lo], out)
}

/// Runs `g` and returns its one output.
fn run1(g: &Graph, exec: &dyn Executor) -> Result<Tensor> {
    g.run(exec)?
        .pop()
        .map(|(_, t)| t)
        .ok_or_else(|| Error::Program("a shard program returned nothing".into()))
}

/// The all-reduce: partial outputs summed elementwise in f32, rank 0 first.
fn all_reduce(parts: &[Tensor]) -> Result<Tensor> {
    let mut acc = parts[0].to_f32_vec();
    for p in &parts[1..] {
        for (a, b) in acc.iter_mut().zip(p.to_f32_vec()) {
            *a += b;
        }
    }
    Tensor::from_f32(parts[0].shape().clone(), acc)
}

/// `LN(reduced + bias + residual)`, run once on the reduced tensor.
fn tail(
    reduced: Tensor,
    bias: Tensor,
    residual: Tensor,
    gamma: Tensor,
    beta: Tensor,
    eps: f32,
    exec: &dyn Executor,
) -> Result<Tensor> {
    let dt = DType::F32;
    let mut g = Graph::new();
    let (x, b, r) = (
        g.constant("reduced", reduced),
        g.constant("bias", bias),
        g.constant("residual", residual),
    );
    let (ga, be) = (g.constant("gamma", gamma), g.constant("beta", beta));
    let y = g.program.binary(BinaryFn::Add, x, b, dt)?;
    let y = g.program.binary(BinaryFn::Add, y, r, dt)?;
    let out = g.program.layernorm(y, Some(ga), Some(be), eps, dt)?;
    g.output("out", out)?;
    run1(&g, exec)
}

/// Runs encoder layer `layer` of `model` (f32) on `hidden` (`[batch * seq, hidden]`) with the additive
/// `mask` (`[batch, 1, 1, seq]`) unsharded and as `tp` tensor-parallel shards, and compares them.
#[allow(clippy::too_many_arguments)]
pub fn tensor_parallel_bert_layer(
    model: &BertModel,
    layer: usize,
    hidden: &Tensor,
    mask: &Tensor,
    batch: usize,
    seq: usize,
    tp: usize,
    exec: &dyn Executor,
) -> Result<TpCheck> {
    let c = &model.config;
    let dt = DType::F32;
    if model.dtype != dt {
        return Err(Error::Invalid(
            "--execute checks tensor parallelism in f32; open the model in f32".into(),
        ));
    }
    if tp == 0 || c.heads % tp != 0 || c.intermediate % tp != 0 {
        return Err(Error::Invalid(format!(
            "tensor parallel {tp} must divide the {} heads and the FFN width {}",
            c.heads, c.intermediate
        )));
    }
    let reference = run1(
        &model.layer(layer, hidden.clone(), mask.clone(), batch, seq, false)?,
        exec,
    )?;
    let (hd, f, heads) = (c.hidden, c.intermediate, c.heads);
    let w = |s: &str, shape: &[usize]| {
        model
            .weights
            .get(&format!("encoder.layer.{layer}.{s}"), dt, Some(shape))
    };
    let (wq, wk, wv, wo) = (
        w("attention.self.query.weight", &[hd, hd])?,
        w("attention.self.key.weight", &[hd, hd])?,
        w("attention.self.value.weight", &[hd, hd])?,
        w("attention.output.dense.weight", &[hd, hd])?,
    );
    let (bq, bk, bv, bo) = (
        w("attention.self.query.bias", &[hd])?,
        w("attention.self.key.bias", &[hd])?,
        w("attention.self.value.bias", &[hd])?,
        w("attention.output.dense.bias", &[hd])?,
    );
    let (wup, bup, wdown, bdown) = (
        w("intermediate.dense.weight", &[f, hd])?,
        w("intermediate.dense.bias", &[f])?,
        w("output.dense.weight", &[hd, f])?,
        w("output.dense.bias", &[hd])?,
    );
    let ln = |s: &str| -> Result<(Tensor, Tensor)> {
        Ok((
            w(&format!("{s}.weight"), &[hd])?,
            w(&format!("{s}.bias"), &[hd])?,
        ))
    };
    let (g1, b1) = ln("attention.output.LayerNorm")?;
    let (g2, b2) = ln("output.LayerNorm")?;

    // Attention: heads / tp whole heads per shard, o row-parallel without its bias.
    let (hs, d) = (hd / tp, hd / heads);
    let mut parts = Vec::with_capacity(tp);
    for r in 0..tp {
        let (lo, hi) = (r * hs, (r + 1) * hs);
        let mut g = Graph::new();
        let x = g.constant("hidden", hidden.clone());
        let m = g.constant("mask", mask.clone());
        let att = Attention {
            q: Linear::from_tensors(&mut g, "q", rows(&wq, lo, hi)?, Some(rows(&bq, lo, hi)?)),
            k: Linear::from_tensors(&mut g, "k", rows(&wk, lo, hi)?, Some(rows(&bk, lo, hi)?)),
            v: Linear::from_tensors(&mut g, "v", rows(&wv, lo, hi)?, Some(rows(&bv, lo, hi)?)),
            o: Linear::from_tensors(&mut g, "o", cols(&wo, lo, hi)?, None),
            heads: heads / tp,
            kv_heads: heads / tp,
            head_dim: d,
            rope: None,
        };
        let (out, _) = att.forward(
            &mut g,
            x,
            batch,
            seq,
            AttentionMask::Additive(m),
            None,
            dt,
            "",
        )?;
        g.output("partial", out)?;
        parts.push(run1(&g, exec)?);
    }
    let a = tail(all_reduce(&parts)?, bo, hidden.clone(), g1, b1, c.eps, exec)?;

    // FFN: up column-parallel with GELU, down row-parallel without its bias.
    let fs = f / tp;
    let mut parts = Vec::with_capacity(tp);
    for r in 0..tp {
        let (lo, hi) = (r * fs, (r + 1) * fs);
        let mut g = Graph::new();
        let x = g.constant("attn_ln", a.clone());
        let up = Linear::from_tensors(&mut g, "up", rows(&wup, lo, hi)?, Some(rows(&bup, lo, hi)?));
        let down = Linear::from_tensors(&mut g, "down", cols(&wdown, lo, hi)?, None);
        let pre = up.forward(&mut g, x, Activation::None, None, dt)?;
        let act = g.program.unary(UnaryFn::Gelu, pre, dt)?;
        let out = down.forward(&mut g, act, Activation::None, None, dt)?;
        g.output("partial", out)?;
        parts.push(run1(&g, exec)?);
    }
    let sharded = tail(all_reduce(&parts)?, bdown, a, g2, b2, c.eps, exec)?;

    let (got, want) = (sharded.to_f32_vec(), reference.to_f32_vec());
    let max_abs_diff = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (*g as f64 - *w as f64).abs())
        .fold(0.0, f64::max);
    Ok(TpCheck {
        tp,
        rel_frobenius: rel_frobenius(&got, &want),
        max_abs_diff,
        programs: 2 * tp + 3,
        all_reduce_bytes: batch * seq * hd * 4,
        all_reduces: 2,
        reference,
        sharded,
    })
}

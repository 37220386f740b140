//! `--execute`: the tensor-parallel shards of an encoder layer really run on the host, one after another,
//! and their all-reduce is a real reduction, checked against the unsharded layer.
//!
//! The shards are the encoder layer's own blocks (`model::bert_layer`, Megatron's split): each shard's
//! attention block and FFN block is its own [`Program`](crate::Program) on the executor; the shards'
//! partial outputs are summed in f32 on the host in rank order (the all-reduce), then the bias, the
//! residual and the LayerNorm run once, as every rank would run them on the reduced tensor. The sum of partial products is taken in a
//! different order than the unsharded matmul's, so the result is not bit-identical: it is checked with the
//! golden bound (relative Frobenius error at most 1e-4 in f32).

use crate::exec::Executor;
use crate::model::bert_layer::{Block, Shard};
use crate::model::{BertModel, Graph};
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
    model.check_tensor_parallel(tp)?;
    let reference = run1(
        &model.layer(layer, hidden.clone(), mask.clone(), batch, seq, false)?,
        exec,
    )?;
    // One block at a time: every shard's partial sum, the all-reduce, then the replicated tail.
    let block = |which: Block, input: &Tensor, residual: Tensor| -> Result<Tensor> {
        let mut parts = Vec::with_capacity(tp);
        for rank in 0..tp {
            let shard = Shard { rank, of: tp };
            let g = model.shard(layer, which, input.clone(), mask, batch, seq, shard)?;
            parts.push(run1(&g, exec)?);
        }
        run1(
            &model.shard_tail(layer, which, all_reduce(&parts)?, residual)?,
            exec,
        )
    };
    let a = block(Block::Attention, hidden, hidden.clone())?;
    let sharded = block(Block::Ffn, &a, a.clone())?;

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
        all_reduce_bytes: batch * seq * c.hidden * 4,
        all_reduces: 2,
        reference,
        sharded,
    })
}

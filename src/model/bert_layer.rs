//! The BERT encoder layer, wired once: `attn_ln = LN(dense(attention(x)) + x)`,
//! `out = LN(W2 gelu(W1 attn_ln + b1) + b2 + attn_ln)`, built from two blocks (attention with its output
//! projection; the FFN) that also serve as tensor-parallel shards.
//!
//! Megatron's split (Shoeybi et al. 2019): q, k, v and the FFN's up projection are split by output
//! features (column-parallel: shard `r` of `tp` owns `heads / tp` whole heads and `ffn / tp` hidden units),
//! the attention output and FFN down projections by input features (row-parallel, without their bias).
//! The shards' partial outputs are summed (the all-reduce, by the caller), then [`BertModel::shard_tail`]
//! adds the bias and the residual and runs the LayerNorm once, as every rank would on the reduced tensor.

use super::layers::Split;
use super::{Attention, AttentionMask, BertModel, Graph, Linear, Norm};
use crate::program::{Activation, BinaryFn, TensorId, UnaryFn};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Which tensor-parallel part of a layer to build: shard `rank` of `of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub rank: usize,
    pub of: usize,
}

impl Shard {
    /// This shard's part `lo..hi` of `n` features.
    fn range(self, n: usize) -> (usize, usize) {
        let part = n / self.of;
        (self.rank * part, (self.rank + 1) * part)
    }
}

/// The part of `n` features a projection of the block holds: all of them for the whole layer (`None`),
/// else the shard's, as `kind` (`Split::Outputs` for the column-parallel projections, `Split::Inputs` for
/// the row-parallel ones; a shard of 1 too, so that its row-parallel half still leaves the bias out).
fn part(shard: Option<Shard>, n: usize, kind: fn(usize, usize) -> Split) -> Split {
    shard.map_or(Split::Whole, |s| {
        let (lo, hi) = s.range(n);
        kind(lo, hi)
    })
}

/// The two halves of a layer, for [`BertModel::shard_tail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Attention,
    Ffn,
}

impl BertModel {
    fn name(&self, i: usize, s: &str) -> String {
        format!("encoder.layer.{i}.{s}")
    }

    /// Refuses a tensor-parallel degree that does not divide the heads and the FFN width.
    pub fn check_tensor_parallel(&self, tp: usize) -> Result<()> {
        let c = &self.config;
        if tp == 0 || c.heads % tp != 0 || c.intermediate % tp != 0 {
            return Err(Error::Invalid(format!(
                "tensor parallel {tp} must divide the {} heads and the FFN width {}",
                c.heads, c.intermediate
            )));
        }
        Ok(())
    }

    /// Attention and its output projection on `x` (the whole layer's adds the projection's bias; a
    /// shard's is a partial sum without it).
    #[allow(clippy::too_many_arguments)]
    fn attention_block(
        &self,
        g: &mut Graph,
        i: usize,
        x: TensorId,
        m: TensorId,
        batch: usize,
        seq: usize,
        shard: Option<Shard>,
    ) -> Result<TensorId> {
        let (c, dt, w) = (&self.config, self.dtype, &self.weights);
        let hd = c.hidden;
        let qkv = |g: &mut Graph, s: &str| {
            let n = self.name(i, s);
            Linear::load_split(g, w, &n, hd, hd, true, dt, part(shard, hd, Split::Outputs))
        };
        let (q, k, v) = (
            qkv(g, "attention.self.query")?,
            qkv(g, "attention.self.key")?,
            qkv(g, "attention.self.value")?,
        );
        let o_name = self.name(i, "attention.output.dense");
        let o = Linear::load_split(
            g,
            w,
            &o_name,
            hd,
            hd,
            true,
            dt,
            part(shard, hd, Split::Inputs),
        )?;
        let att = Attention {
            q,
            k,
            v,
            o,
            heads: c.heads / shard.map_or(1, |s| s.of),
            kv_heads: c.heads / shard.map_or(1, |s| s.of),
            head_dim: hd / c.heads,
            rope: None,
        };
        let mask = AttentionMask::Additive(m);
        let (dense, _) = att.forward(g, x, batch, seq, mask, None, dt, "")?;
        Ok(dense)
    }

    /// The FFN's up projection, GELU and down projection on `a` (a shard's down projection is a partial
    /// sum without its bias).
    fn ffn_block(
        &self,
        g: &mut Graph,
        i: usize,
        a: TensorId,
        shard: Option<Shard>,
    ) -> Result<TensorId> {
        let (c, dt, w) = (&self.config, self.dtype, &self.weights);
        let (hd, f) = (c.hidden, c.intermediate);
        let up_name = self.name(i, "intermediate.dense");
        let up = Linear::load_split(
            g,
            w,
            &up_name,
            hd,
            f,
            true,
            dt,
            part(shard, f, Split::Outputs),
        )?;
        let down_name = self.name(i, "output.dense");
        let down = Linear::load_split(
            g,
            w,
            &down_name,
            f,
            hd,
            true,
            dt,
            part(shard, f, Split::Inputs),
        )?;
        // HF's BertIntermediate applies GELU as its own module; kept separate so each result rounds as torch's.
        let pre = up.forward(g, a, Activation::None, None, dt)?;
        g.tap("ffn_pre_gelu", pre)?;
        let act = g.program.unary(UnaryFn::Gelu, pre, dt)?;
        g.tap("ffn_gelu", act)?;
        down.forward(g, act, Activation::None, None, dt)
    }

    /// Encoder layer `i` on `hidden` (`[batch * seq, hidden]`) with the additive mask `[batch, 1, 1, seq]`.
    pub fn layer(
        &self,
        i: usize,
        hidden: Tensor,
        mask: Tensor,
        batch: usize,
        seq: usize,
        taps: bool,
    ) -> Result<Graph> {
        self.layer_in(i, hidden, mask, (batch, seq), taps, None)
    }

    /// [`Self::layer`] with its linear layers in `format` (`model::formats`; `None`: the model's dtype).
    pub fn layer_in(
        &self,
        i: usize,
        hidden: Tensor,
        mask: Tensor,
        (batch, seq): (usize, usize),
        taps: bool,
        format: Option<super::formats::LinearFormat>,
    ) -> Result<Graph> {
        let (c, dt, w) = (&self.config, self.dtype, &self.weights);
        let hd = c.hidden;
        let mut g = Graph {
            keep_taps: taps,
            linear_format: format,
            ..Graph::new()
        };
        let x = g.constant("hidden", hidden);
        let m = g.constant("mask", mask);
        let dense = self.attention_block(&mut g, i, x, m, batch, seq, None)?;
        g.tap("attn_dense", dense)?;
        let r = g.program.binary(BinaryFn::Add, dense, x, dt)?;
        let ln1_name = self.name(i, "attention.output.LayerNorm");
        let ln1 = Norm::layernorm(&mut g, w, &ln1_name, hd, c.eps, dt)?;
        let a = ln1.forward(&mut g, r, dt)?;
        g.tap("attn_ln", a)?;
        let o = self.ffn_block(&mut g, i, a, None)?;
        g.tap("ffn_out_dense", o)?;
        let r = g.program.binary(BinaryFn::Add, o, a, dt)?;
        let ln2 = Norm::layernorm(&mut g, w, &self.name(i, "output.LayerNorm"), hd, c.eps, dt)?;
        let out = ln2.forward(&mut g, r, dt)?;
        g.output("out", out)?;
        Ok(g)
    }

    /// Shard `shard` of block `block` of layer `i`: its partial output (`partial`), to be summed over the
    /// shards. The attention block reads `input` as the layer's hidden state with the additive `mask`; the
    /// FFN block reads it as the attention half's result (`mask` unused).
    #[allow(clippy::too_many_arguments)]
    pub fn shard(
        &self,
        i: usize,
        block: Block,
        input: Tensor,
        mask: &Tensor,
        batch: usize,
        seq: usize,
        shard: Shard,
    ) -> Result<Graph> {
        self.check_tensor_parallel(shard.of)?;
        if shard.rank >= shard.of {
            return Err(Error::Invalid(format!(
                "shard {} of {} does not exist; ranks count from 0",
                shard.rank, shard.of
            )));
        }
        let mut g = Graph::new();
        let x = g.constant("input", input);
        let out = match block {
            Block::Attention => {
                let m = g.constant("mask", mask.clone());
                self.attention_block(&mut g, i, x, m, batch, seq, Some(shard))?
            }
            Block::Ffn => self.ffn_block(&mut g, i, x, Some(shard))?,
        };
        g.output("partial", out)?;
        Ok(g)
    }

    /// `LN(reduced + bias + residual)` of block `block` of layer `i`, on the all-reduced shards' sum.
    pub fn shard_tail(
        &self,
        i: usize,
        block: Block,
        reduced: Tensor,
        residual: Tensor,
    ) -> Result<Graph> {
        let (c, dt, w) = (&self.config, self.dtype, &self.weights);
        let (proj, ln) = match block {
            Block::Attention => ("attention.output.dense", "attention.output.LayerNorm"),
            Block::Ffn => ("output.dense", "output.LayerNorm"),
        };
        let mut g = Graph::new();
        let x = g.constant("reduced", reduced);
        let r = g.constant("residual", residual);
        let b = g.constant(
            "bias",
            w.get(
                &self.name(i, &format!("{proj}.bias")),
                dt,
                Some(&[c.hidden]),
            )?,
        );
        let norm = Norm::layernorm(&mut g, w, &self.name(i, ln), c.hidden, c.eps, dt)?;
        let y = g.program.binary(BinaryFn::Add, x, b, dt)?;
        let y = g.program.binary(BinaryFn::Add, y, r, dt)?;
        let out = norm.forward(&mut g, y, dt)?;
        g.output("out", out)?;
        Ok(g)
    }
}

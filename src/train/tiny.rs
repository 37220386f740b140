//! The demo's model and task: a small LLaMA-style decoder (token embedding, pre-norm layers with RMSNorm,
//! rotary causal attention and a SwiGLU MLP, a final RMSNorm and an untied output head), built from
//! `model/` layers over a [`Tape`]'s parameters, learning to copy a random token sequence.
//!
//! Copy task: a sequence is `x_0 .. x_{n-1}, SEP, x_0 .. x_{n-2}` (length `2n`, tokens `x_i` in
//! `1..vocab`, `SEP = 0`); at positions `n .. 2n-1` the model predicts `x_0 .. x_{n-1}`. A model that has
//! not learned anything scores `ln(vocab - 1)`; one that attends `n` positions back scores near zero.

use super::{Params, Tape, cross_entropy};
use crate::model::{Attention, AttentionMask, Linear, Mlp, Norm, causal_mask, rope_tables};
use crate::program::{Activation, TensorId};
use crate::tensor::random::{gen_bf16, splitmix64};
use crate::tensor::{Shape, Tensor};
use crate::{Error, Result};

/// The decoder's sizes and the task's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TinyConfig {
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    /// Tokens to copy (`n`); a sequence is `2n` long.
    pub copy_len: usize,
    /// Sequences per step.
    pub batch: usize,
    pub eps: f32,
    pub rope_theta: f64,
}

impl Default for TinyConfig {
    /// 2 layers, hidden 128, 4 heads sharing 2 key/value heads, FFN 256, vocabulary 16; 4 sequences of
    /// 16 tokens per step.
    fn default() -> Self {
        TinyConfig {
            vocab: 16,
            hidden: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            ffn: 256,
            copy_len: 8,
            batch: 4,
            eps: 1e-5,
            rope_theta: 10_000.0,
        }
    }
}

impl TinyConfig {
    pub fn seq(&self) -> usize {
        2 * self.copy_len
    }

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Parameter names and shapes, in order.
    pub fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, f, kv) = (self.hidden, self.ffn, self.kv_heads * self.head_dim());
        let mut v = vec![("embed".to_string(), vec![self.vocab, h])];
        for l in 0..self.layers {
            let s = |n: &str, d: Vec<usize>| (format!("l{l}.{n}"), d);
            v.extend([
                s("attn_norm", vec![h]),
                s("q", vec![h, h]),
                s("k", vec![kv, h]),
                s("v", vec![kv, h]),
                s("o", vec![h, h]),
                s("mlp_norm", vec![h]),
                s("gate", vec![f, h]),
                s("up", vec![f, h]),
                s("down", vec![h, f]),
            ]);
        }
        v.push(("final_norm".to_string(), vec![h]));
        v.push(("lm_head".to_string(), vec![self.vocab, h]));
        v
    }

    /// Seeded parameters: norms 1, embedding uniform in [-1, 1), projections uniform in
    /// `[-1/sqrt(in), 1/sqrt(in))` (torch's Linear range).
    pub fn init(&self, seed: u64) -> Result<Params> {
        if self.heads == 0 || self.hidden % self.heads != 0 || self.head_dim() % 2 != 0 {
            return Err(Error::Invalid(format!(
                "tiny decoder: hidden {} must split into {} heads of an even width",
                self.hidden, self.heads
            )));
        }
        if self.kv_heads == 0
            || self.heads % self.kv_heads != 0
            || self.vocab < 2
            || self.copy_len == 0
        {
            return Err(Error::Invalid(format!(
                "tiny decoder: unusable sizes {self:?}"
            )));
        }
        let mut p = Params::new();
        for (i, (name, shape)) in self.shapes().into_iter().enumerate() {
            let t = if shape.len() == 1 {
                Tensor::from_f32(Shape::new(shape.clone()), vec![1.0; shape[0]])?
            } else {
                let scale = if name == "embed" {
                    1.0
                } else {
                    1.0 / (shape[1] as f32).sqrt()
                };
                gen_bf16(seed.wrapping_add(i as u64), Shape::new(shape), scale)
            };
            p.add(name, t)?;
        }
        Ok(p)
    }

    /// One batch of the copy task: the input tokens (`batch * 2n`) and the targets (`batch * n`), a pure
    /// function of `(seed, step)`.
    pub fn batch_at(&self, seed: u64, step: u64) -> (Vec<u32>, Vec<u32>) {
        let n = self.copy_len;
        let (mut tokens, mut targets) = (Vec::new(), Vec::new());
        for b in 0..self.batch {
            let x: Vec<u32> = (0..n)
                .map(|i| {
                    let r = splitmix64(
                        seed ^ 0xc0de,
                        (step * self.batch as u64 + b as u64) * n as u64 + i as u64,
                    );
                    1 + (r % (self.vocab as u64 - 1)) as u32
                })
                .collect();
            tokens.extend_from_slice(&x);
            tokens.push(0);
            tokens.extend_from_slice(&x[..n - 1]);
            targets.extend_from_slice(&x);
        }
        (tokens, targets)
    }

    /// Records the forward pass over `tokens` and returns the logits at the scored positions
    /// (`[batch * n, vocab]`, in `tape`'s compute dtype).
    pub fn forward(&self, tape: &mut Tape, tokens: &[u32]) -> Result<TensorId> {
        let (seq, dt, h) = (self.seq(), tape.compute_dtype(), self.hidden);
        if tokens.len() != self.batch * seq {
            return Err(Error::shape(
                "tiny decoder",
                format!(
                    "{} tokens given; batch {} x sequence {seq} expected",
                    tokens.len(),
                    self.batch
                ),
            ));
        }
        let (cos, sin) = rope_tables(seq, self.head_dim(), self.rope_theta, 0)?;
        let rope = Some((tape.input("rope_cos", cos), tape.input("rope_sin", sin)));
        let causal = tape.input("causal_mask", causal_mask(seq)?);
        let emb = tape.param("embed")?;
        let mut x = tape.graph.program.gather_rows(emb, tokens)?;
        let lin = |tape: &mut Tape, n: &str, out: usize| -> Result<Linear> {
            Ok(Linear {
                weight: tape.param(n)?,
                bias: None,
                out_features: out,
            })
        };
        let kv = self.kv_heads * self.head_dim();
        for l in 0..self.layers {
            let name = |n: &str| format!("l{l}.{n}");
            let attn = Attention {
                q: lin(tape, &name("q"), h)?,
                k: lin(tape, &name("k"), kv)?,
                v: lin(tape, &name("v"), kv)?,
                o: lin(tape, &name("o"), h)?,
                heads: self.heads,
                kv_heads: self.kv_heads,
                head_dim: self.head_dim(),
                rope,
            };
            let mlp = Mlp::SwiGlu {
                gate: lin(tape, &name("gate"), self.ffn)?,
                up: lin(tape, &name("up"), self.ffn)?,
                down: lin(tape, &name("down"), h)?,
            };
            let n1 = Norm::RmsNorm {
                gamma: Some(tape.param(&name("attn_norm"))?),
                eps: self.eps,
            };
            let n2 = Norm::RmsNorm {
                gamma: Some(tape.param(&name("mlp_norm"))?),
                eps: self.eps,
            };
            let g = &mut tape.graph;
            let a = n1.forward(g, x, dt)?;
            let (r, _) = attn.forward(
                g,
                a,
                self.batch,
                seq,
                AttentionMask::Causal(causal),
                Some(x),
                dt,
                "",
            )?;
            let b = n2.forward(g, r, dt)?;
            x = mlp.forward(g, b, Some(r), dt, None)?;
        }
        let fnorm = Norm::RmsNorm {
            gamma: Some(tape.param("final_norm")?),
            eps: self.eps,
        };
        let head = lin(tape, "lm_head", self.vocab)?;
        let x = fnorm.forward(&mut tape.graph, x, dt)?;
        let n = self.copy_len;
        let scored: Vec<u32> = (0..self.batch)
            .flat_map(|b| (n..seq).map(move |s| (b * seq + s) as u32))
            .collect();
        let x = tape.graph.program.gather_rows(x, &scored)?;
        head.forward(&mut tape.graph, x, Activation::None, None, dt)
    }

    /// Forward plus the copy task's mean cross-entropy: the loss of one step's batch.
    pub fn loss(&self, tape: &mut Tape, tokens: &[u32], targets: &[u32]) -> Result<TensorId> {
        let logits = self.forward(tape, tokens)?;
        cross_entropy(tape, logits, targets)
    }
}

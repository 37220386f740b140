//! A pre-norm LLaMA-style decoder layer: `h = x + o(attention(rmsnorm(x)))` with rotary embeddings, a causal
//! mask and grouped-query heads, then `out = h + down(silu(gate(rmsnorm(h))) * up(rmsnorm(h)))`. The
//! residuals are fused into the epilogues of `o` and `down`, SiLU into `gate`'s.
//!
//! Weights come from tensors (for example seeded random ones, [`DecoderLayer::random`]) named as in Hugging
//! Face's LLaMA: `self_attn.{q,k,v,o}_proj.weight`, `mlp.{gate,up,down}_proj.weight`,
//! `{input,post_attention}_layernorm.weight`.

use super::{Attention, AttentionMask, Graph, Linear, Mlp, Norm, rope_tables};
use crate::tensor::random::gen_bf16;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Uniform values in `[-scale, scale)` with 24 random significand bits each, seeded (splitmix64).
pub fn uniform_f32(seed: u64, dims: &[usize], scale: f32) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let v = (0..n as u64)
        .map(|i| {
            let r = crate::tensor::random::splitmix64(seed, i) >> 40; // 24 bits
            (r as f32 / (1u64 << 23) as f32 - 1.0) * scale
        })
        .collect();
    Tensor::from_f32(crate::Shape::new(dims.to_vec()), v)
}

/// A decoder layer's sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecoderConfig {
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    pub eps: f32,
    pub rope_theta: f64,
}

impl DecoderConfig {
    /// LLaMA-3 8B's layer: the sizes of the cluster model's `llama3-8b` preset (hidden 4096, 32 heads,
    /// 8 key/value heads, FFN 14336), RMSNorm eps 1e-5, rotary theta 500000 (Meta's published config).
    pub fn llama3_8b() -> Self {
        let m = crate::cluster::models::ModelSpec::llama3_8b();
        DecoderConfig {
            hidden: m.hidden,
            heads: m.heads,
            kv_heads: m.kv_heads(),
            ffn: m.ffn,
            eps: 1e-5,
            rope_theta: 500_000.0,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Parameters of one layer (saturating: an absurd config gives usize::MAX, which every memory check
    /// refuses, and [`DecoderConfig::check`] refuses it first).
    pub fn params(&self) -> usize {
        let h = self.hidden;
        let kv = self.kv_heads.saturating_mul(self.head_dim());
        [
            h.saturating_mul(h).saturating_mul(2),
            h.saturating_mul(kv).saturating_mul(2),
            h.saturating_mul(self.ffn).saturating_mul(3),
            h.saturating_mul(2),
        ]
        .into_iter()
        .fold(0usize, usize::saturating_add)
    }

    /// The widest hidden and FFN sizes accepted: far above any published decoder (LLaMA-3 405B: hidden
    /// 16384, FFN 53248), and small enough that every size product fits in 64 bits.
    pub const MAX_WIDTH: usize = 1 << 20;

    /// Checks that the sizes make a layer: heads of an even width, whole key/value groups, sane widths.
    pub fn check(&self) -> Result<()> {
        for (what, v) in [("hidden", self.hidden), ("ffn", self.ffn)] {
            if v == 0 || v > Self::MAX_WIDTH {
                return Err(Error::Invalid(format!(
                    "decoder: {what} is {v}; expected 1 to {}",
                    Self::MAX_WIDTH
                )));
            }
        }
        if self.heads == 0 || self.hidden % self.heads != 0 || self.head_dim() % 2 != 0 {
            return Err(Error::Invalid(format!(
                "decoder: hidden {} must split into {} heads of an even width",
                self.hidden, self.heads
            )));
        }
        if self.kv_heads == 0 || self.heads % self.kv_heads != 0 {
            return Err(Error::Invalid(format!(
                "decoder: {} heads cannot be shared by {} key/value heads",
                self.heads, self.kv_heads
            )));
        }
        Ok(())
    }
}

/// The weights of one layer, in the compute dtype.
pub struct DecoderLayer {
    pub config: DecoderConfig,
    pub tensors: Vec<(String, Tensor)>,
}

impl DecoderLayer {
    /// Seeded random weights: projections uniform in `[-1/sqrt(in), 1/sqrt(in))` (torch's Linear init
    /// range), norm weights 1.
    pub fn random(config: DecoderConfig, seed: u64, dt: DType) -> Result<Self> {
        config.check()?;
        let (h, kv, f) = (
            config.hidden,
            config.kv_heads * config.head_dim(),
            config.ffn,
        );
        let shapes = [
            ("self_attn.q_proj.weight", [h, h]),
            ("self_attn.k_proj.weight", [kv, h]),
            ("self_attn.v_proj.weight", [kv, h]),
            ("self_attn.o_proj.weight", [h, h]),
            ("mlp.gate_proj.weight", [f, h]),
            ("mlp.up_proj.weight", [f, h]),
            ("mlp.down_proj.weight", [h, f]),
        ];
        let mut tensors = Vec::new();
        for (i, (name, shape)) in shapes.iter().enumerate() {
            let t = gen_bf16(
                seed.wrapping_add(i as u64),
                *shape,
                1.0 / (shape[1] as f32).sqrt(),
            );
            tensors.push((
                name.to_string(),
                if dt == DType::F32 {
                    Tensor::from_f32(*shape, t.to_f32_vec())?
                } else {
                    t
                },
            ));
        }
        for name in ["input_layernorm.weight", "post_attention_layernorm.weight"] {
            let ones = Tensor::from_f32([h], vec![1.0; h])?;
            tensors.push((
                name.to_string(),
                if dt == DType::Bf16 {
                    ones.to_bf16()
                } else {
                    ones
                },
            ));
        }
        Ok(DecoderLayer { config, tensors })
    }

    /// Seeded random f32 weights with full 24-bit significands (so that every narrower format rounds them),
    /// in the ranges of [`DecoderLayer::random`].
    pub fn random_f32(config: DecoderConfig, seed: u64) -> Result<Self> {
        let mut layer = Self::random(config, seed, DType::F32)?;
        for (i, (name, t)) in layer.tensors.iter_mut().enumerate() {
            if name.ends_with("layernorm.weight") {
                continue;
            }
            let dims = t.shape().dims().to_vec();
            *t = uniform_f32(
                seed.wrapping_add(1000 + i as u64),
                &dims,
                1.0 / (dims[1] as f32).sqrt(),
            )?;
        }
        Ok(layer)
    }

    /// Records the layer over `x` (`[batch * seq, hidden]`), consuming the weights into the graph.
    pub fn into_graph(self, x: Tensor, batch: usize, seq: usize, dt: DType) -> Result<Graph> {
        self.into_graph_with(x, batch, seq, dt, None)
    }

    /// The same, with the linear layers in `format` (see `model::formats`).
    pub fn into_graph_with(
        self,
        x: Tensor,
        batch: usize,
        seq: usize,
        dt: DType,
        format: Option<super::formats::LinearFormat>,
    ) -> Result<Graph> {
        let c = self.config;
        let d = c.head_dim();
        let mut g = Graph::new();
        g.linear_format = format;
        let xi = g.constant("x", x);
        let mut w = std::collections::HashMap::new();
        for (name, t) in self.tensors {
            let id = g.constant(name.clone(), t);
            w.insert(name, id);
        }
        let get = |n: &str| {
            w.get(n)
                .copied()
                .ok_or_else(|| Error::Invalid(format!("decoder: no weight '{n}'")))
        };
        let lin = |n: &str, out: usize| -> Result<Linear> {
            Ok(Linear {
                weight: get(n)?,
                bias: None,
                out_features: out,
            })
        };
        let (cos, sin) = rope_tables(seq, d, c.rope_theta, 0)?;
        let rope = Some((g.constant("rope_cos", cos), g.constant("rope_sin", sin)));
        let causal = g.constant("causal_mask", super::causal_mask(seq)?);
        let att = Attention {
            q: lin("self_attn.q_proj.weight", c.hidden)?,
            k: lin("self_attn.k_proj.weight", c.kv_heads * d)?,
            v: lin("self_attn.v_proj.weight", c.kv_heads * d)?,
            o: lin("self_attn.o_proj.weight", c.hidden)?,
            heads: c.heads,
            kv_heads: c.kv_heads,
            head_dim: d,
            rope,
        };
        let mlp = Mlp::SwiGlu {
            gate: lin("mlp.gate_proj.weight", c.ffn)?,
            up: lin("mlp.up_proj.weight", c.ffn)?,
            down: lin("mlp.down_proj.weight", c.hidden)?,
        };
        let n1 = Norm::RmsNorm {
            gamma: Some(get("input_layernorm.weight")?),
            eps: c.eps,
        };
        let n2 = Norm::RmsNorm {
            gamma: Some(get("post_attention_layernorm.weight")?),
            eps: c.eps,
        };

        let a = n1.forward(&mut g, xi, dt)?;
        let (h, _) = att.forward(
            &mut g,
            a,
            batch,
            seq,
            AttentionMask::Causal(causal),
            Some(xi),
            dt,
            "",
        )?;
        let b = n2.forward(&mut g, h, dt)?;
        let out = mlp.forward(&mut g, b, Some(h), dt, None)?;
        g.output("out", out)?;
        Ok(g)
    }
}

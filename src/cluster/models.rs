//! Model descriptions as data: the sizes a transformer's per-device work and memory follow from. Presets:
//! `llama3-8b`, `llama3-70b` (dense decoders, grouped-query attention, SwiGLU), `bert-base`, `minilm`
//! (post-LN encoders, GELU) and `deepseek-v3` (61 layers, the first 3 dense, multi-head latent attention,
//! 1 shared + 256 routed experts, top-8). Custom models come from TOML or JSON files with the same keys
//! ([`ModelSpec::from_file`]), optionally starting from a preset with `base = "NAME"`.

use crate::{Error, Result};

/// Decoder (causal, generates tokens) or encoder (bidirectional, no decode step).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Arch {
    Decoder,
    Encoder,
}

/// The attention block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Attn {
    /// Multi-head (or grouped-query) attention: q, k, v, o projections.
    Mha { kv_heads: usize, head_dim: usize },
    /// DeepSeek's multi-head latent attention: q through a low-rank `q_lora`, keys and values through a
    /// shared latent of `kv_lora` (cached with a `rope` part), per-head `nope + rope` query/key width and
    /// `v` value width.
    Mla {
        q_lora: usize,
        kv_lora: usize,
        rope: usize,
        nope: usize,
        v: usize,
    },
}

/// A mixture-of-experts feed-forward block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Moe {
    /// Routed experts.
    pub experts: usize,
    /// Shared experts every token passes through.
    pub shared: usize,
    pub top_k: usize,
    /// FFN width of one expert.
    pub expert_ffn: usize,
    /// The first layers use a dense FFN (of width `ffn`) instead.
    pub dense_layers: usize,
}

/// A transformer model's sizes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelSpec {
    pub name: String,
    pub summary: String,
    /// Where the sizes come from.
    pub source: String,
    pub arch: Arch,
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub attn: Attn,
    /// Dense FFN width.
    pub ffn: usize,
    /// SwiGLU (gate, up, down) rather than a two-matrix GELU MLP.
    pub gated: bool,
    pub vocab: usize,
    /// Input embedding and output head share one matrix.
    pub tied_embeddings: bool,
    pub moe: Option<Moe>,
    /// How the router spreads tokens over the routed experts (MoE models; balanced by default).
    pub routing: super::routing::Routing,
    /// The number format of the linear layers (bf16, or W8A8 serving).
    pub quant: super::quant::Quant,
}

impl ModelSpec {
    /// The key/value heads of its attention (the heads themselves for MLA, which has no shared heads).
    pub fn kv_heads(&self) -> usize {
        match self.attn {
            Attn::Mha { kv_heads, .. } => kv_heads,
            Attn::Mla { .. } => self.heads,
        }
    }

    /// The busiest of `ep` expert-parallel ranks' routed tokens over the mean, under the model's routing
    /// (1 for a dense model or balanced routing).
    pub fn expert_load(&self, ep: usize) -> Result<f64> {
        match self.moe {
            Some(m) => self.routing.rank_load(m.experts, m.top_k, ep),
            None => Ok(1.0),
        }
    }

    /// A preset name, or a path to a `.toml` or `.json` model file.
    pub fn resolve(name_or_path: &str) -> Result<ModelSpec> {
        if let Ok(m) = Self::preset(name_or_path) {
            return Ok(m);
        }
        let path = std::path::Path::new(name_or_path);
        if name_or_path.ends_with(".toml")
            || name_or_path.ends_with(".json")
            || crate::files::names_a_file(path)
        {
            return Self::from_file(path);
        }
        Self::preset(name_or_path)
    }

    /// Whether layer `i` (from 0) has a mixture-of-experts FFN.
    pub fn is_moe_layer(&self, i: usize) -> bool {
        self.moe.is_some_and(|m| i >= m.dense_layers)
    }

    /// Layers with a dense FFN and with an MoE FFN.
    pub fn layer_counts(&self) -> (usize, usize) {
        let moe = (0..self.layers).filter(|&i| self.is_moe_layer(i)).count();
        (self.layers - moe, moe)
    }

    /// Per-head query/key width and value width.
    pub fn head_dims(&self) -> (usize, usize) {
        match self.attn {
            Attn::Mha { head_dim, .. } => (head_dim, head_dim),
            Attn::Mla { rope, nope, v, .. } => (rope + nope, v),
        }
    }

    /// Parameters of one attention block (norms included).
    pub fn attn_params(&self) -> f64 {
        self.attn_params_per_rank(1)
    }

    /// Parameters of one attention block held by one of `tp` tensor-parallel ranks: query heads (and the
    /// up-projections of latent attention) split `tp` ways; key/value heads split when `tp` divides them,
    /// else one replicated; norms and latent down-projections replicated.
    pub fn attn_params_per_rank(&self, tp: usize) -> f64 {
        let h = self.hidden as f64;
        let hl = (self.heads / tp) as f64;
        match self.attn {
            Attn::Mha { kv_heads, head_dim } => {
                let kvl = if kv_heads % tp == 0 { kv_heads / tp } else { 1 } as f64;
                let d = head_dim as f64;
                2.0 * h * hl * d + 2.0 * h * kvl * d + 2.0 * h
            }
            Attn::Mla {
                q_lora,
                kv_lora,
                rope,
                nope,
                v,
            } => {
                let (q, c, r, n, v) = (
                    q_lora as f64,
                    kv_lora as f64,
                    rope as f64,
                    nope as f64,
                    v as f64,
                );
                h * q
                    + h * (c + r)
                    + q
                    + c
                    + 2.0 * h
                    + q * hl * (n + r)
                    + c * hl * (n + v)
                    + hl * v * h
            }
        }
    }

    /// Parameters of a dense FFN of width `f`.
    pub fn mlp_params(&self, f: usize) -> f64 {
        (if self.gated { 3.0 } else { 2.0 }) * self.hidden as f64 * f as f64
    }

    /// Parameters of one layer.
    pub fn layer_params(&self, i: usize) -> f64 {
        let ffn = match self.moe {
            Some(m) if self.is_moe_layer(i) => {
                (m.experts + m.shared) as f64 * self.mlp_params(m.expert_ffn)
                    + (self.hidden * m.experts) as f64
            }
            _ => self.mlp_params(self.ffn),
        };
        self.attn_params() + ffn
    }

    /// Embedding and output head.
    pub fn embedding_params(&self) -> f64 {
        let e = (self.vocab * self.hidden) as f64;
        if self.tied_embeddings { e } else { 2.0 * e }
    }

    /// All parameters.
    pub fn params(&self) -> f64 {
        self.embedding_params() + (0..self.layers).map(|i| self.layer_params(i)).sum::<f64>()
    }

    /// Parameters one token passes through (routed experts: only its top-k).
    pub fn active_params(&self) -> f64 {
        let mut p = self.params();
        if let Some(m) = self.moe {
            let (_, moe_layers) = self.layer_counts();
            p -= moe_layers as f64 * (m.experts - m.top_k) as f64 * self.mlp_params(m.expert_ffn);
        }
        p
    }

    /// Checks sizes; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Invalid(format!("model '{}': {what}", self.name)));
        for (k, v) in [
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("ffn", self.ffn),
            ("vocab", self.vocab),
        ] {
            if v == 0 {
                return bad(format!("{k} must be at least 1"));
            }
        }
        // Far above any published model (DeepSeek-V3: 61 layers, hidden 7168, 256 experts; LLaMA-3 405B:
        // 126 layers, FFN 53248), and low enough that every size product of the step model fits in 64 bits.
        for (k, v, max) in [
            ("layers", self.layers, 1usize << 12),
            ("hidden", self.hidden, 1 << 18),
            ("heads", self.heads, 1 << 12),
            ("ffn", self.ffn, 1 << 20),
            ("vocab", self.vocab, 1 << 24),
        ] {
            if v > max {
                return bad(format!("{k} is {v}; expected at most {max}"));
            }
        }
        let widths: Vec<(&str, usize)> = match self.attn {
            Attn::Mha { kv_heads, head_dim } => {
                vec![("kv_heads", kv_heads), ("head_dim", head_dim)]
            }
            Attn::Mla {
                q_lora,
                kv_lora,
                rope,
                nope,
                v,
            } => vec![
                ("q_lora", q_lora),
                ("kv_lora", kv_lora),
                ("rope", rope),
                ("nope", nope),
                ("v", v),
            ],
        };
        let moe: Vec<(&str, usize)> = self.moe.map_or(vec![], |m| {
            vec![
                ("experts", m.experts),
                ("top_k", m.top_k),
                ("expert_ffn", m.expert_ffn),
            ]
        });
        for (k, v) in widths.into_iter().chain(moe) {
            if v > 1 << 18 {
                return bad(format!("{k} is {v}; expected at most {}", 1 << 18));
            }
        }
        match self.attn {
            Attn::Mha { kv_heads, head_dim } => {
                if kv_heads == 0 || self.heads % kv_heads != 0 {
                    return bad(format!(
                        "{} heads cannot be shared by {kv_heads} key/value heads",
                        self.heads
                    ));
                }
                if head_dim == 0 {
                    return bad("head_dim must be at least 1".into());
                }
            }
            Attn::Mla {
                q_lora,
                kv_lora,
                rope,
                nope,
                v,
            } => {
                if [q_lora, kv_lora, nope, v].contains(&0) || rope % 2 != 0 {
                    return bad("MLA needs q_lora, kv_lora, nope and v of at least 1 and an even rope width".into());
                }
            }
        }
        if let Some(m) = self.moe {
            if m.experts == 0 || m.top_k == 0 || m.top_k > m.experts || m.expert_ffn == 0 {
                return bad(format!(
                    "experts {} with top_k {} and expert_ffn {}: need 1 <= top_k <= experts and a width",
                    m.experts, m.top_k, m.expert_ffn
                ));
            }
            if m.dense_layers > self.layers {
                return bad(format!(
                    "dense_layers {} exceeds layers {}",
                    m.dense_layers, self.layers
                ));
            }
        }
        Ok(())
    }
}

//! A BERT-style encoder (post-LN), as sentence-transformers' all-MiniLM-L6-v2 uses it: embeddings
//! (`LN(word[id] + token_type[0] + position[t])`), N encoder layers, masked mean pooling and L2
//! normalisation. Each stage is its own [`Graph`], so a caller can time and check layer by layer.
//!
//! Encoder layer `i` (names `encoder.layer.{i}.`): `attn_ln = LN(dense(attention(x)) + x)`,
//! `out = LN(W2 gelu(W1 attn_ln + b1) + b2 + attn_ln)`. Intermediates are tapped under the names of the
//! golden captures: q, k, v, scores, probs, context, attn_dense, attn_ln, ffn_pre_gelu, ffn_gelu,
//! ffn_out_dense, out. The layer, whole or as tensor-parallel shards, is in `bert_layer`.

use super::{Graph, Norm, Weights};
use crate::program::{BinaryFn, ReduceFn, UnaryFn};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// MiniLM's layer-0 and embedding-LayerNorm weights (f32, from sentence-transformers' all-MiniLM-L6-v2,
/// MIT-licensed), which the crate ships with its third-party goldens in `tests/golden/minilm`. The path is
/// the crate's own folder at build time, so `cargo run` finds it from any working directory of a clone;
/// an installed binary whose source folder is gone gets a clear "not a file" error from its user.
pub const MINILM_LAYER0_WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/minilm/weights_layer0_and_embed_ln.safetensors"
);

/// The encoder's sizes, from `config.json` or given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

impl BertConfig {
    /// all-MiniLM-L6-v2: the sizes of the cluster model's `minilm` preset (vocab 30522, 6 layers, hidden
    /// 384, 12 heads, FFN 1536; the golden README), with its 512 positions, 2 token types and eps 1e-12.
    pub fn minilm_l6() -> Self {
        let m = crate::cluster::models::ModelSpec::minilm();
        BertConfig {
            vocab: m.vocab,
            hidden: m.hidden,
            layers: m.layers,
            heads: m.heads,
            intermediate: m.ffn,
            max_positions: 512,
            type_vocab: 2,
            eps: 1e-12,
        }
    }

    /// Reads a Hugging Face `config.json`; a missing field is an error naming it.
    pub fn from_json(v: &serde_json::Value) -> Result<Self> {
        let num = |key: &str| -> Result<usize> {
            v.get(key)
                .and_then(serde_json::Value::as_u64)
                .map(|x| x as usize)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "config.json: '{key}' is missing or not a whole number"
                    ))
                })
        };
        let eps = v
            .get("layer_norm_eps")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(1e-12) as f32;
        if let Some(act) = v.get("hidden_act").and_then(serde_json::Value::as_str)
            && act != "gelu"
        {
            return Err(Error::Invalid(format!(
                "config.json: hidden_act '{act}' is not supported; the encoder implements exact GELU ('gelu')"
            )));
        }
        let c = BertConfig {
            vocab: num("vocab_size")?,
            hidden: num("hidden_size")?,
            layers: num("num_hidden_layers")?,
            heads: num("num_attention_heads")?,
            intermediate: num("intermediate_size")?,
            max_positions: num("max_position_embeddings")?,
            type_vocab: num("type_vocab_size").unwrap_or(2),
            eps,
        };
        // Far above any published encoder; they keep every size product inside 64 bits and turn an absurd
        // config into an error here rather than an allocation abort when the weights are sized.
        for (key, v, max) in [
            ("vocab_size", c.vocab, 1usize << 24),
            ("hidden_size", c.hidden, 1 << 16),
            ("num_hidden_layers", c.layers, 1 << 10),
            ("num_attention_heads", c.heads, 1 << 10),
            ("intermediate_size", c.intermediate, 1 << 18),
            ("max_position_embeddings", c.max_positions, 1 << 20),
            ("type_vocab_size", c.type_vocab, 1 << 10),
        ] {
            if v == 0 || v > max {
                return Err(Error::Invalid(format!(
                    "config.json: {key} is {v}; expected a whole number from 1 to {max}"
                )));
            }
        }
        if c.hidden % c.heads != 0 {
            return Err(Error::Invalid(format!(
                "config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                c.hidden, c.heads
            )));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::Invalid(format!(
                "config.json: layer_norm_eps is {eps}; expected a small positive number such as 1e-12"
            )));
        }
        Ok(c)
    }
}

/// An encoder over memory-mapped weights.
pub struct BertModel {
    pub config: BertConfig,
    pub dtype: DType,
    pub weights: Weights,
}

impl BertModel {
    /// Opens weights (a file or a folder with `model.safetensors` and `config.json`); without a config
    /// file, `fallback` gives the sizes.
    pub fn open(
        path: impl AsRef<std::path::Path>,
        dtype: DType,
        fallback: Option<BertConfig>,
    ) -> Result<Self> {
        let mut weights = Weights::open(path)?;
        weights.detect_prefix(
            "embeddings.word_embeddings.weight",
            &["bert.", "model.", "0.auto_model."],
        );
        let config = match (&weights.config, fallback) {
            (Some(v), _) => BertConfig::from_json(v)?,
            (None, Some(c)) => c,
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "no config.json beside {}; put the model's config.json there or give its sizes",
                    weights.path().display()
                )));
            }
        };
        Ok(BertModel {
            config,
            dtype,
            weights,
        })
    }

    /// Checks token ids and masks: equal lengths, ids inside the vocabulary, sequences inside the position
    /// table. Returns (batch, seq).
    pub fn check_tokens(&self, tokens: &[Vec<u32>], mask: &[Vec<u8>]) -> Result<(usize, usize)> {
        let c = &self.config;
        let seq = tokens.first().map_or(0, Vec::len);
        if tokens.is_empty() || seq == 0 {
            return Err(Error::Invalid("bert: no tokens were given".into()));
        }
        if mask.len() != tokens.len() {
            return Err(Error::Invalid(format!(
                "bert: {} sequences of tokens but {} masks",
                tokens.len(),
                mask.len()
            )));
        }
        for (s, (t, m)) in tokens.iter().zip(mask).enumerate() {
            if t.len() != seq {
                return Err(Error::Invalid(format!(
                    "bert: sequence {s} has {} tokens but sequence 0 has {seq}; pad them to one length",
                    t.len()
                )));
            }
            if m.len() != t.len() {
                return Err(Error::Invalid(format!(
                    "bert: the mask of sequence {s} has {} entries for {} tokens",
                    m.len(),
                    t.len()
                )));
            }
            if let Some((p, id)) = t
                .iter()
                .enumerate()
                .find(|(_, id)| **id as usize >= c.vocab)
            {
                return Err(Error::Invalid(format!(
                    "bert: token id {id} (sequence {s}, position {p}) is beyond the vocabulary of {}",
                    c.vocab
                )));
            }
        }
        // Lengths agree by now; what is left to refuse is a mask with no token at all.
        mask_len(mask)?;
        if seq > c.max_positions {
            return Err(Error::Invalid(format!(
                "bert: {seq} tokens exceed the position table of {} positions",
                c.max_positions
            )));
        }
        Ok((tokens.len(), seq))
    }

    /// The embedding stage: `LN(word[id] + token_type[0] + position[t])`, `[batch * seq, hidden]`.
    pub fn embeddings(&self, tokens: &[Vec<u32>]) -> Result<Graph> {
        let (c, dt, w) = (&self.config, self.dtype, &self.weights);
        let seq = tokens[0].len();
        let mut g = Graph::new();
        let word = g.constant(
            "word",
            w.get(
                "embeddings.word_embeddings.weight",
                dt,
                Some(&[c.vocab, c.hidden]),
            )?,
        );
        let pos = g.constant(
            "position",
            w.get(
                "embeddings.position_embeddings.weight",
                dt,
                Some(&[c.max_positions, c.hidden]),
            )?,
        );
        let typ = g.constant(
            "token_type",
            w.get(
                "embeddings.token_type_embeddings.weight",
                dt,
                Some(&[c.type_vocab, c.hidden]),
            )?,
        );
        let ids: Vec<u32> = tokens.iter().flatten().copied().collect();
        let positions: Vec<u32> = (0..tokens.len()).flat_map(|_| 0..seq as u32).collect();
        let e = g.program.gather_rows(word, &ids)?;
        let t = g.program.gather_rows(typ, &vec![0; ids.len()])?;
        let p = g.program.gather_rows(pos, &positions)?;
        let e = g.program.binary(BinaryFn::Add, e, t, dt)?;
        let e = g.program.binary(BinaryFn::Add, e, p, dt)?;
        let ln = Norm::layernorm(&mut g, w, "embeddings.LayerNorm", c.hidden, c.eps, dt)?;
        let out = ln.forward(&mut g, e, dt)?;
        g.output("hidden", out)?;
        Ok(g)
    }

    /// The additive attention mask `[batch, 1, 1, seq]`: 0 where attended, f32::MIN where padded (as HF).
    pub fn additive_mask(&self, mask: &[Vec<u8>]) -> Result<Tensor> {
        let seq = mask_len(mask)?;
        let v = mask
            .iter()
            .flatten()
            .map(|&m| if m != 0 { 0.0 } else { f32::MIN })
            .collect();
        Tensor::from_f32([mask.len(), 1, 1, seq], v)
    }

    /// Masked mean pooling of the last hidden state and L2 normalisation (sentence-transformers):
    /// `e = sum_t m_t h_t / max(sum_t m_t, 1e-9)`, `e / max(|e|, 1e-12)`; computed in f32.
    pub fn pooling(&self, hidden: Tensor, mask: &[Vec<u8>]) -> Result<Graph> {
        let (batch, seq, hd) = (mask.len(), mask_len(mask)?, self.config.hidden);
        let f = DType::F32;
        let mut g = Graph::new();
        let x = g.constant("hidden", hidden);
        let m: Vec<f32> = mask
            .iter()
            .flatten()
            .map(|&m| if m != 0 { 1.0 } else { 0.0 })
            .collect();
        let counts: Vec<f32> = mask
            .iter()
            .map(|r| (r.iter().filter(|&&m| m != 0).count() as f32).max(1e-9))
            .collect();
        let m = g.constant("mask", Tensor::from_f32([batch, seq, 1], m)?);
        let counts = g.constant("tokens", Tensor::from_f32([batch, 1], counts)?);
        let tiny = g.constant("min_norm", Tensor::from_f32([1], vec![1e-12])?);
        let x = g.program.reshape(x, [batch, seq, hd])?;
        let xm = g.program.binary(BinaryFn::Mul, x, m, f)?;
        let xt = g.program.permute(xm, &[0, 2, 1])?;
        let sum = g.program.reduce(ReduceFn::Sum, xt, f)?;
        let mean = g.program.binary(BinaryFn::Div, sum, counts, f)?;
        let sq = g.program.reduce(ReduceFn::SumSq, mean, f)?;
        let norm = g.program.unary(UnaryFn::Sqrt, sq, f)?;
        let norm = g.program.binary(BinaryFn::Max, norm, tiny, f)?;
        let norm = g.program.reshape(norm, [batch, 1])?;
        let e = g.program.binary(BinaryFn::Div, mean, norm, f)?;
        g.output("sentence_embedding", e)?;
        Ok(g)
    }
}

/// The common length of a batch's masks, after checking that there is at least one, that they have one
/// length, and that none is all zeros: with every position masked, attention has nothing to attend to and
/// the masked mean pools over nothing, both 0/0; that is an error, not NaN embeddings.
fn mask_len(mask: &[Vec<u8>]) -> Result<usize> {
    let seq = mask
        .first()
        .map(Vec::len)
        .ok_or_else(|| Error::Invalid("bert: no attention mask was given (no sequences)".into()))?;
    for (s, m) in mask.iter().enumerate() {
        if m.len() != seq {
            return Err(Error::Invalid(format!(
                "bert: the mask of sequence {s} has {} entries but sequence 0's has {seq}",
                m.len()
            )));
        }
        if m.iter().all(|&b| b == 0) {
            return Err(Error::Invalid(format!(
                "bert: the attention mask of sequence {s} is all zeros, so it has no token to attend to \
                 or to pool (the embedding would be 0/0); mark its real tokens with 1"
            )));
        }
    }
    Ok(seq)
}

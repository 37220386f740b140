//! The sizes of the model presets (`davinci models`), each from its published config: LLaMA-3 8B and 70B,
//! LLaMA-2 7B and 70B, ChatGLM3-6B, BERT-base and all-MiniLM-L6-v2, DeepSeek-V3.

use super::models::{Arch, Attn, ModelSpec, Moe};
use super::routing::Routing;
use crate::{Error, Result};

/// Preset names.
pub const MODEL_NAMES: &[&str] = &[
    "llama3-8b",
    "llama3-70b",
    "llama2-7b",
    "llama2-70b",
    "chatglm3-6b",
    "bert-base",
    "minilm",
    "deepseek-v3",
];

impl ModelSpec {
    /// A preset by name.
    pub fn preset(name: &str) -> Result<ModelSpec> {
        let m = match name {
            "llama3-8b" => Self::llama3_8b(),
            "llama3-70b" => llama("llama3-70b", 80, 8192, 64, 28672),
            "llama2-7b" => llama2("llama2-7b", 32, 4096, 32, 32, 11008),
            "llama2-70b" => llama2("llama2-70b", 80, 8192, 64, 8, 28672),
            "chatglm3-6b" => chatglm3_6b(),
            "bert-base" => bert(
                "bert-base",
                12,
                768,
                12,
                3072,
                "BERT-base (Devlin et al. 2019; HF bert-base-uncased config.json)",
            ),
            "minilm" => Self::minilm(),
            "deepseek-v3" => deepseek_v3(),
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown model '{name}': the presets are {}; or give a path to a model .toml or .json file",
                    MODEL_NAMES.join(", ")
                )));
            }
        };
        Ok(m)
    }

    /// LLaMA-3 8B: the sizes the decoder layer of `davinci demo` runs at too
    /// ([`crate::model::DecoderConfig::llama3_8b`]).
    pub fn llama3_8b() -> ModelSpec {
        llama("llama3-8b", 32, 4096, 32, 14336)
    }

    /// all-MiniLM-L6-v2: the sizes the BERT encoder assumes without a config.json too
    /// ([`crate::model::BertConfig::minilm_l6`]).
    pub fn minilm() -> ModelSpec {
        bert(
            "minilm",
            6,
            384,
            12,
            1536,
            "sentence-transformers all-MiniLM-L6-v2 (golden README)",
        )
    }

    pub fn presets() -> Vec<ModelSpec> {
        MODEL_NAMES
            .iter()
            .filter_map(|n| Self::preset(n).ok())
            .collect()
    }
}

pub(super) fn llama(
    name: &str,
    layers: usize,
    hidden: usize,
    heads: usize,
    ffn: usize,
) -> ModelSpec {
    ModelSpec {
        name: name.into(),
        summary: format!("LLaMA-3 {}: dense decoder, GQA 8 key/value heads, SwiGLU", &name[7..].to_uppercase()),
        source: "Meta Llama 3 model card / config.json: hidden, layers, heads, 8 kv heads, FFN, vocab 128256, untied".into(),
        arch: Arch::Decoder,
        layers,
        hidden,
        heads,
        attn: Attn::Mha { kv_heads: 8, head_dim: hidden / heads },
        ffn,
        gated: true,
        vocab: 128_256,
        tied_embeddings: false,
        moe: None,
        routing: Routing::Balanced,
        quant: Default::default(),
    }
}

/// LLaMA-2 (Touvron et al. 2023; HF meta-llama/Llama-2-7b-hf and -70b-hf config.json): vocab 32000,
/// untied; 7B has full multi-head attention, 70B grouped-query attention with 8 key/value heads.
fn llama2(
    name: &str,
    layers: usize,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    ffn: usize,
) -> ModelSpec {
    ModelSpec {
        name: name.into(),
        summary: format!(
            "LLaMA-2 {}: dense decoder, {kv_heads} key/value heads, SwiGLU",
            name[7..].to_uppercase()
        ),
        source: "Meta Llama 2 paper (arXiv 2307.09288) / config.json: hidden, layers, heads, kv heads, FFN, \
                 vocab 32000, untied"
            .into(),
        vocab: 32_000,
        attn: Attn::Mha {
            kv_heads,
            head_dim: hidden / heads,
        },
        ..llama(name, layers, hidden, heads, ffn)
    }
}

/// ChatGLM3-6B (HF THUDM/chatglm3-6b config.json): 28 layers, hidden 4096, 32 heads of 128, grouped-query
/// attention with 2 key/value groups (`multi_query_group_num`), SwiGLU FFN 13696, vocab 65024, untied.
fn chatglm3_6b() -> ModelSpec {
    ModelSpec {
        name: "chatglm3-6b".into(),
        summary: "ChatGLM3-6B: dense decoder, GQA 2 key/value groups, SwiGLU".into(),
        source: "THUDM/chatglm3-6b config.json: num_layers 28, hidden_size 4096, num_attention_heads 32, \
                 multi_query_group_num 2, kv_channels 128, ffn_hidden_size 13696, padded_vocab_size 65024, \
                 tie_word_embeddings false"
            .into(),
        vocab: 65_024,
        attn: Attn::Mha {
            kv_heads: 2,
            head_dim: 128,
        },
        ..llama("chatglm3-6b", 28, 4096, 32, 13696)
    }
}

pub(super) fn bert(
    name: &str,
    layers: usize,
    hidden: usize,
    heads: usize,
    ffn: usize,
    source: &str,
) -> ModelSpec {
    ModelSpec {
        name: name.into(),
        summary: format!(
            "encoder: {layers} layers, hidden {hidden}, {heads} heads, GELU FFN {ffn}"
        ),
        source: source.into(),
        arch: Arch::Encoder,
        layers,
        hidden,
        heads,
        attn: Attn::Mha {
            kv_heads: heads,
            head_dim: hidden / heads,
        },
        ffn,
        gated: false,
        vocab: 30_522,
        tied_embeddings: true,
        moe: None,
        routing: Routing::Balanced,
        quant: Default::default(),
    }
}

/// DeepSeek-V3 (671B): sizes from its config.json and technical report (arXiv 2412.19437).
pub(super) fn deepseek_v3() -> ModelSpec {
    ModelSpec {
        name: "deepseek-v3".into(),
        summary: "DeepSeek-V3-shaped MoE: 61 layers (3 dense), MLA, 1 shared + 256 routed experts, top-8".into(),
        source: "DeepSeek-V3 config.json / tech report arXiv 2412.19437: hidden 7168, 128 heads, q_lora 1536, \
                 kv_lora 512, rope head 64, nope head 128, v head 128, dense FFN 18432, expert FFN 2048, vocab \
                 129280, untied; the multi-token-prediction module is left out"
            .into(),
        arch: Arch::Decoder,
        layers: 61,
        hidden: 7168,
        heads: 128,
        attn: Attn::Mla { q_lora: 1536, kv_lora: 512, rope: 64, nope: 128, v: 128 },
        ffn: 18432,
        gated: true,
        vocab: 129_280,
        tied_embeddings: false,
        moe: Some(Moe { experts: 256, shared: 1, top_k: 8, expert_ffn: 2048, dense_layers: 3 }),
        routing: Routing::Balanced,
        quant: Default::default(),
    }
}

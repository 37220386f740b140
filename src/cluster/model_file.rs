//! Custom models from `.toml` or `.json` files (`--model FILE`): the keys of [`MODEL_KEYS`], optionally
//! starting from a preset with `base = "NAME"`; `attention = "mla"` (or `kv_lora` given) selects latent
//! attention, `experts` a mixture-of-experts FFN. Errors name the file and the key.

use super::models::{Arch, Attn, ModelSpec, Moe};
use crate::{Error, Result};

/// The keys of a model file.
pub const MODEL_KEYS: &[&str] = &[
    "name",
    "summary",
    "source",
    "base",
    "arch",
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "attention",
    "q_lora",
    "kv_lora",
    "rope_dim",
    "nope_dim",
    "v_dim",
    "ffn",
    "mlp",
    "vocab",
    "tied_embeddings",
    "experts",
    "shared_experts",
    "top_k",
    "expert_ffn",
    "dense_layers",
];

impl ModelSpec {
    /// Reads a `.toml` or `.json` model file.
    pub fn from_file(path: &std::path::Path) -> Result<ModelSpec> {
        let text =
            crate::files::read_text_bounded(path, "model file", crate::files::MAX_TEXT_FILE)?;
        let origin = path.display().to_string();
        let value: serde_json::Value = if origin.ends_with(".json") {
            serde_json::from_str(&text)
                .map_err(|e| Error::Invalid(format!("model file {origin}: not valid JSON: {e}")))?
        } else {
            let t: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                Error::Invalid(format!(
                    "model file {origin}: not valid TOML: {}",
                    e.message()
                ))
            })?;
            serde_json::to_value(t)
                .map_err(|e| Error::Invalid(format!("model file {origin}: {e}")))?
        };
        Self::from_value(&value, &origin)
    }

    /// Builds a model from a JSON object of [`MODEL_KEYS`].
    pub fn from_value(v: &serde_json::Value, origin: &str) -> Result<ModelSpec> {
        let err = |msg: String| Error::Invalid(format!("model file {origin}: {msg}"));
        let obj = v
            .as_object()
            .ok_or_else(|| err("must be a table of keys".into()))?;
        if let Some(k) = obj.keys().find(|k| !MODEL_KEYS.contains(&k.as_str())) {
            return Err(err(format!(
                "unknown key '{k}'; the keys are {}",
                MODEL_KEYS.join(", ")
            )));
        }
        let num = |k: &str| -> Result<Option<usize>> {
            match obj.get(k) {
                None => Ok(None),
                Some(x) => x
                    .as_u64()
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| err(format!("'{k}' must be a whole number"))),
            }
        };
        let text = |k: &str| -> Result<Option<String>> {
            match obj.get(k) {
                None => Ok(None),
                Some(x) => x
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| err(format!("'{k}' must be a string"))),
            }
        };
        let need = |k: &str, base: Option<usize>| -> Result<usize> {
            num(k)?.or(base).ok_or_else(|| {
                err(format!(
                    "'{k}' is missing (or start from a preset with base = \"NAME\")"
                ))
            })
        };
        let base = match text("base")? {
            Some(b) => Some(Self::preset(&b).map_err(|e| err(e.to_string()))?),
            None => None,
        };
        let b = base.as_ref();
        let name = text("name")?.ok_or_else(|| err("'name' is missing".into()))?;
        let arch = match text("arch")?.as_deref() {
            None => b.map_or(Arch::Decoder, |m| m.arch),
            Some("decoder") => Arch::Decoder,
            Some("encoder") => Arch::Encoder,
            Some(o) => return Err(err(format!("arch '{o}' is not decoder or encoder"))),
        };
        let hidden = need("hidden", b.map(|m| m.hidden))?;
        let heads = need("heads", b.map(|m| m.heads))?;
        let attention = text("attention")?;
        let base_mla = b.and_then(|m| match m.attn {
            Attn::Mla { .. } => Some(m.attn),
            _ => None,
        });
        let attn = match attention.as_deref() {
            Some("mla") | None
                if obj.contains_key("kv_lora") || (attention.is_none() && base_mla.is_some()) =>
            {
                let d = match base_mla {
                    Some(Attn::Mla {
                        q_lora,
                        kv_lora,
                        rope,
                        nope,
                        v,
                    }) => [q_lora, kv_lora, rope, nope, v].map(Some),
                    _ => [None; 5],
                };
                Attn::Mla {
                    q_lora: need("q_lora", d[0])?,
                    kv_lora: need("kv_lora", d[1])?,
                    rope: need("rope_dim", d[2])?,
                    nope: need("nope_dim", d[3])?,
                    v: need("v_dim", d[4])?,
                }
            }
            Some("mla") => {
                return Err(err(
                    "attention = \"mla\" needs q_lora, kv_lora, rope_dim, nope_dim, v_dim".into(),
                ));
            }
            Some("mha") | Some("gqa") | None => {
                let (bkv, bd) = match b.map(|m| m.attn) {
                    Some(Attn::Mha { kv_heads, head_dim }) => (Some(kv_heads), Some(head_dim)),
                    _ => (None, None),
                };
                let head_dim = num("head_dim")?
                    .or(bd)
                    .unwrap_or(hidden.checked_div(heads).unwrap_or(0));
                Attn::Mha {
                    kv_heads: num("kv_heads")?.or(bkv).unwrap_or(heads),
                    head_dim,
                }
            }
            Some(o) => return Err(err(format!("attention '{o}' is not mha, gqa or mla"))),
        };
        let gated = match text("mlp")?.as_deref() {
            None => b.is_none_or(|m| m.gated),
            Some("swiglu") => true,
            Some("gelu") => false,
            Some(o) => return Err(err(format!("mlp '{o}' is not swiglu or gelu"))),
        };
        let tied_embeddings = match obj.get("tied_embeddings") {
            None => b.is_some_and(|m| m.tied_embeddings),
            Some(x) => x
                .as_bool()
                .ok_or_else(|| err("'tied_embeddings' must be true or false".into()))?,
        };
        let bm = b.and_then(|m| m.moe);
        let moe = match num("experts")?.or(bm.map(|m| m.experts)) {
            None => None,
            Some(0) => {
                return Err(err(
                    "experts = 0: a mixture of experts needs at least 1 routed expert; leave `experts` \
                     out (and use a dense base) for a dense FFN"
                        .into(),
                ));
            }
            Some(experts) => Some(Moe {
                experts,
                shared: num("shared_experts")?.or(bm.map(|m| m.shared)).unwrap_or(0),
                top_k: need("top_k", bm.map(|m| m.top_k))?,
                expert_ffn: need("expert_ffn", bm.map(|m| m.expert_ffn))?,
                dense_layers: num("dense_layers")?
                    .or(bm.map(|m| m.dense_layers))
                    .unwrap_or(0),
            }),
        };
        let m = ModelSpec {
            summary: text("summary")?.unwrap_or_else(|| format!("custom model from {origin}")),
            source: text("source")?.unwrap_or_else(|| format!("model file {origin}")),
            name,
            arch,
            layers: need("layers", b.map(|m| m.layers))?,
            hidden,
            heads,
            attn,
            ffn: need("ffn", b.map(|m| m.ffn))?,
            gated,
            vocab: need("vocab", b.map(|m| m.vocab))?,
            tied_embeddings,
            moe,
            routing: b.map(|m| m.routing.clone()).unwrap_or_default(),
            quant: b.map(|m| m.quant).unwrap_or_default(),
        };
        m.validate().map_err(|e| err(e.to_string()))?;
        Ok(m)
    }
}

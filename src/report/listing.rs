//! The cluster and model presets as reports (`davinci clusters`, `davinci models`): every preset with its
//! totals, or every field of one with its source.

use serde_json::{Value, json};

use super::{Report, Table};
use crate::cluster::models::Attn;
use crate::cluster::topology::CLUSTER_FIELDS;
use crate::cluster::{ClusterSpec, ModelSpec};
use crate::{Error, Result};

/// The totals of a cluster, for JSON.
pub fn cluster_json(c: &ClusterSpec) -> Value {
    json!({
        "name": c.name,
        "summary": c.summary,
        "chip": c.chip.name(),
        "nodes": c.nodes(),
        "chips_per_node": c.chips_per_node(),
        "chips": c.chips(),
        "dies": c.dies(),
        "peak_bf16_pflops": c.peak_bf16() / 1e15,
        "hbm_tb": c.chips() as f64 * c.chip.hbm_capacity().0 / 1e12,
        "hbm_bandwidth_tb_per_s": c.chips() as f64 * c.chip.hbm_bw().0 / 1e12,
        "power_kw": c.power().0 / 1e3,
        "scale_up_chips": c.scale_up_chips(),
        "scale_up_gb_per_s_per_chip": c.scale_up_bw_per_chip().0 / 1e9,
        "scale_up_aggregate_tb_per_s": c.scale_up_aggregate().0 / 1e12,
        "power_breakdown": c.power_breakdown().iter().map(|(n, w, s)| json!({"part": n, "kw": w.0 / 1e3, "source": s})).collect::<Vec<_>>(),
    })
}

/// `davinci clusters [NAME|FILE]`: every preset with its totals, or one cluster's fields with sources.
pub fn clusters(name: Option<&str>) -> Result<Report> {
    if let Some(name) = name {
        let c = ClusterSpec::resolve(name).map_err(|e| Error::Usage(e.to_string()))?;
        return Ok(cluster_detail(&c));
    }
    let all = ClusterSpec::presets();
    let mut t = Table::new(&[
        ("cluster", false),
        ("chip", false),
        ("nodes x chips", true),
        ("chips", true),
        ("dies", true),
        ("bf16 dense", true),
        ("HBM", true),
        ("HBM bandwidth", true),
        ("scale-up", true),
        ("power", true),
    ]);
    for c in &all {
        t.row(vec![
            c.name.clone(),
            c.chip.name().to_string(),
            format!("{} x {}", c.nodes(), c.chips_per_node()),
            c.chips().to_string(),
            c.dies().to_string(),
            format!("{:.1} PFLOPS", c.peak_bf16() / 1e15),
            format!(
                "{:.1} TB",
                c.chips() as f64 * c.chip.hbm_capacity().0 / 1e12
            ),
            format!("{:.0} TB/s", c.chips() as f64 * c.chip.hbm_bw().0 / 1e12),
            format!(
                "{} x {:.0} GB/s = {:.1} TB/s",
                c.scale_up_chips(),
                c.scale_up_bw_per_chip().0 / 1e9,
                c.scale_up_aggregate().0 / 1e12
            ),
            format!("{:.1} kW", c.power().0 / 1e3),
        ]);
    }
    let human = format!(
        "{}\nscale-up: the chips of one domain (reached at the within-node bandwidth) x each chip's bandwidth \
         each way = the domain's aggregate both ways.\n{}\n`davinci clusters NAME` shows every field with its \
         source; `--cluster FILE.toml` takes a custom cluster.\n",
        t.render(),
        headline_ratios(&all)
    );
    Ok(Report {
        json: json!({"clusters": all.iter().map(cluster_json).collect::<Vec<_>>()}),
        human,
        failure: None,
    })
}

fn cluster_detail(c: &ClusterSpec) -> Report {
    let mut t = Table::new(&[
        ("field", false),
        ("value", true),
        ("unit", false),
        ("source", false),
    ]);
    let mut fields = serde_json::Map::new();
    for f in CLUSTER_FIELDS {
        let Some(s) = c.field(f.key) else { continue };
        t.row(vec![
            f.key.into(),
            format!("{}", (s.value * 1e4).round() / 1e4),
            f.unit.into(),
            s.source.clone(),
        ]);
        fields.insert(
            f.key.into(),
            json!({"value": s.value, "unit": f.unit, "source": s.source, "doc": f.doc}),
        );
    }
    let mut p = Table::new(&[("power", false), ("kW", true), ("source", false)]);
    for (n, w, s) in c.power_breakdown() {
        p.row(vec![n.into(), format!("{:.1}", w.0 / 1e3), s]);
    }
    p.row(vec![
        "total".into(),
        format!("{:.1}", c.power().0 / 1e3),
        String::new(),
    ]);
    let human = format!(
        "{}: {}\n{} chips ({}) in {} nodes of {}, {} dies; {:.1} PFLOPS dense bf16; {:.1} kW\n\n{}\n{}",
        c.name,
        c.summary,
        c.chips(),
        c.chip.name(),
        c.nodes(),
        c.chips_per_node(),
        c.dies(),
        c.peak_bf16() / 1e15,
        c.power().0 / 1e3,
        t.render(),
        p.render()
    );
    let mut obj = cluster_json(c);
    obj["fields"] = Value::Object(fields);
    Report {
        json: obj,
        human,
        failure: None,
    }
}

/// A model's sizes, for JSON.
pub fn model_json(m: &ModelSpec) -> Value {
    let attn = match m.attn {
        Attn::Mha { kv_heads, head_dim } => {
            json!({"kind": "mha", "kv_heads": kv_heads, "head_dim": head_dim})
        }
        Attn::Mla {
            q_lora,
            kv_lora,
            rope,
            nope,
            v,
        } => {
            json!({"kind": "mla", "q_lora": q_lora, "kv_lora": kv_lora, "rope_dim": rope, "nope_dim": nope, "v_dim": v})
        }
    };
    json!({
        "name": m.name,
        "summary": m.summary,
        "source": m.source,
        "arch": format!("{:?}", m.arch).to_lowercase(),
        "layers": m.layers,
        "hidden": m.hidden,
        "heads": m.heads,
        "attention": attn,
        "ffn": m.ffn,
        "mlp": if m.gated { "swiglu" } else { "gelu" },
        "vocab": m.vocab,
        "moe": m.moe.map(|x| json!({"experts": x.experts, "shared": x.shared, "top_k": x.top_k, "expert_ffn": x.expert_ffn, "dense_layers": x.dense_layers})),
        "params_b": m.params() / 1e9,
        "active_params_b": m.active_params() / 1e9,
    })
}

/// `davinci models [NAME|FILE]`: the model descriptions the cluster model knows, or one.
pub fn models(name: Option<&str>) -> Result<Report> {
    let models = match name {
        Some(n) => vec![ModelSpec::resolve(n).map_err(|e| Error::Usage(e.to_string()))?],
        None => ModelSpec::presets(),
    };
    let mut t = Table::new(&[
        ("model", false),
        ("kind", false),
        ("layers", true),
        ("hidden", true),
        ("heads", true),
        ("attention", false),
        ("FFN", false),
        ("params", true),
        ("active", true),
    ]);
    for m in &models {
        let attn = match m.attn {
            Attn::Mha { kv_heads, .. } if kv_heads == m.heads => "MHA".to_string(),
            Attn::Mha { kv_heads, .. } => format!("GQA {kv_heads} kv"),
            Attn::Mla { kv_lora, .. } => format!("MLA latent {kv_lora}"),
        };
        let ffn = match m.moe {
            Some(x) => format!(
                "{} dense + MoE {}+{} x {} top-{}",
                x.dense_layers, x.shared, x.experts, x.expert_ffn, x.top_k
            ),
            None => format!("{} {}", if m.gated { "SwiGLU" } else { "GELU" }, m.ffn),
        };
        t.row(vec![
            m.name.clone(),
            format!("{:?}", m.arch).to_lowercase(),
            m.layers.to_string(),
            m.hidden.to_string(),
            m.heads.to_string(),
            attn,
            ffn,
            format!("{:.2} B", m.params() / 1e9),
            format!("{:.2} B", m.active_params() / 1e9),
        ]);
    }
    let mut human = t.render();
    if name.is_some() {
        human.push_str(&format!("\nsource: {}\n", models[0].source));
    } else {
        human.push_str("\n`--model FILE.toml|FILE.json` takes a custom model (keys as in `davinci models NAME --json`).\n");
    }
    Ok(Report {
        json: json!({"models": models.iter().map(model_json).collect::<Vec<_>>()}),
        human,
        failure: None,
    })
}

/// The press's headline comparison, CloudMatrix 384 against GB200 NVL72, from the presets (when both are
/// in `all`): peak, HBM, power and performance per watt.
fn headline_ratios(all: &[ClusterSpec]) -> String {
    let find = |n: &str| all.iter().find(|c| c.name == n);
    let (Some(cm), Some(nvl)) = (find("cloudmatrix384"), find("gb200-nvl72")) else {
        return String::new();
    };
    let hbm = |c: &ClusterSpec| c.chips() as f64 * c.chip.hbm_capacity().0;
    let hbm_bw = |c: &ClusterSpec| c.chips() as f64 * c.chip.hbm_bw().0;
    let per_watt = |c: &ClusterSpec| c.peak_bf16() / c.power().0;
    format!(
        "cloudmatrix384 / gb200-nvl72: {:.2}x the dense bf16, {:.2}x the HBM, {:.2}x the HBM bandwidth, \
         {:.2}x the scale-up aggregate, {:.2}x the power, {:.2}x the bf16 FLOPS per watt\n",
        cm.peak_bf16() / nvl.peak_bf16(),
        hbm(cm) / hbm(nvl),
        hbm_bw(cm) / hbm_bw(nvl),
        cm.scale_up_aggregate().0 / nvl.scale_up_aggregate().0,
        cm.power().0 / nvl.power().0,
        per_watt(cm) / per_watt(nvl),
    )
}

//! The report of a cluster step: the headline figures, the roles, the layers and their collectives, and the
//! ranking of a sweep; as text tables and as JSON.

use crate::cluster::step::LayerTime;
use crate::cluster::{ClusterSpec, ModelSpec, StepPrediction, Workload};
use crate::units::Nanos;
use serde_json::{Map, Value, json};

use super::table::{Table, fmt_time};

fn ms(n: Nanos) -> f64 {
    n.0 / 1e6
}

fn pct(a: Nanos, b: Nanos) -> String {
    if b.0 > 0.0 {
        format!("{:.1}%", 100.0 * a.0 / b.0)
    } else {
        "-".into()
    }
}

fn gb(b: f64) -> String {
    format!("{:.1} GB", b / 1e9)
}

fn workload_text(w: &Workload) -> String {
    match *w {
        Workload::Train { batch, seq } => format!("train: {batch} sequences x {seq} tokens"),
        Workload::Prefill { batch, prompt } => {
            format!("prefill: {batch} prompts x {prompt} tokens")
        }
        Workload::Decode { batch, kv, mtp } => match mtp {
            None => format!("decode: {batch} sequences, {kv} cached tokens each"),
            Some(m) => format!(
                "decode: {batch} sequences, {kv} cached tokens each, MTP {} drafts accepted with p = {}",
                m.k,
                m.accept()
            ),
        },
    }
}

fn layer_json(lt: &LayerTime) -> Value {
    json!({
        "compute_ms": ms(lt.compute), "comm_ms": ms(lt.comm), "flops": lt.flops, "saved_bytes": lt.saved,
        "steps": lt.steps.iter().map(|(l, t, c)| match c {
            Some(c) => json!({"name": l, "ms": ms(*t), "collective": c.kind.name(), "algorithm": c.algorithm.name(),
                              "tier": c.tier.name(), "devices": c.n, "bytes": c.bytes.0}),
            None => json!({"name": l, "ms": ms(*t)}),
        }).collect::<Vec<_>>(),
    })
}

/// The prediction as JSON.
pub fn step_json(p: &StepPrediction) -> Map<String, Value> {
    let roles: Vec<Value> = p.roles.iter().map(|r| {
        let m = &r.memory;
        json!({
            "name": r.name, "stages": r.stages, "ranks": r.devices, "dense_layers": r.dense_layers, "moe_layers": r.moe_layers,
            "embedding": r.embed, "head": r.head,
            "per_micro_batch_ms": ms(r.per_micro_batch), "forward_compute_ms": ms(r.fwd_compute), "forward_comm_ms": ms(r.fwd_comm),
            "backward_compute_ms": ms(r.bwd_compute), "backward_comm_ms": ms(r.bwd_comm), "recompute_ms": ms(r.recompute),
            "pipeline_send_ms": ms(r.p2p), "dp_sync_ms": ms(r.dp_sync), "dp_sync_exposed_ms": ms(r.dp_exposed),
            "optimizer_ms": ms(r.optimizer), "flops_per_rank": r.flops,
            "memory": {"weights": m.weights.0, "grads": m.grads.0, "optimizer": m.optimizer.0, "activations": m.activations.0,
                       "kv_cache": m.kv_cache.0, "total": m.total.0, "per_die": m.per_die.0, "capacity_per_die": m.capacity_per_die.0, "fits": m.fits},
        })
    }).collect();
    let mut o = Map::new();
    o.insert("model".into(), json!(p.model));
    o.insert("cluster".into(), json!(p.cluster));
    o.insert("chip".into(), json!(p.chip));
    o.insert("workload".into(), json!({"kind": p.workload.name(), "batch": p.workload.batch(), "new_tokens_per_sequence": p.workload.lengths().0, "context": p.workload.lengths().1}));
    o.insert("plan".into(), json!({"text": p.plan.to_string(), "dp": p.plan.dp, "tp": p.plan.tp, "pp": p.plan.pp, "ep": p.plan.ep,
        "micro_batches": p.micro_batches, "micro_batch_sequences": p.micro_batch_seqs, "recompute": p.plan.recompute, "zero": p.plan.zero,
        "rank": p.unit.name(), "ranks": p.plan.ranks()}));
    o.insert("step_ms".into(), json!(ms(p.step)));
    o.insert("breakdown_ms".into(), json!({"compute": ms(p.compute), "exposed_comm": ms(p.comm), "pipeline_bubble": ms(p.bubble)}));
    o.insert("tokens".into(), json!(p.tokens));
    o.insert("tokens_per_s".into(), json!(p.tokens_per_s));
    o.insert(
        "tokens_per_s_per_chip".into(),
        json!(p.tokens_per_s_per_chip),
    );
    o.insert("model_flops".into(), json!(p.model_flops));
    o.insert("mfu".into(), json!(p.mfu));
    o.insert("hbm_per_chip_bytes".into(), json!(p.hbm_per_chip.0));
    o.insert("fits".into(), json!(p.fits));
    o.insert("warnings".into(), json!(p.warnings));
    o.insert("power_w".into(), json!(p.power.0));
    o.insert("energy_per_token_j".into(), json!(p.energy_per_token.0));
    o.insert("kernels_timed".into(), json!(p.kernels_timed));
    o.insert("roles".into(), Value::Array(roles));
    let mut layers = Map::new();
    for (k, l) in [("dense", &p.dense), ("moe", &p.moe), ("head", &p.head)] {
        if let Some(l) = l {
            layers.insert(k.into(), layer_json(l));
        }
    }
    o.insert("layers".into(), Value::Object(layers));
    o
}

/// The prediction as text.
pub fn render(p: &StepPrediction) -> String {
    let mut s = format!(
        "{} on {} ({} x {}), plan {} (a rank per {}, {} ranks)\n{}; {} micro-batch{} of {} sequence{}\n\n",
        p.model,
        p.cluster,
        p.chips,
        p.chip.trim_end_matches(" (one die)"),
        p.plan,
        p.unit.name(),
        p.plan.ranks(),
        workload_text(&p.workload),
        p.micro_batches,
        if p.micro_batches == 1 { "" } else { "es" },
        p.micro_batch_seqs,
        if p.micro_batch_seqs == 1 { "" } else { "s" },
    );
    let mem = p
        .roles
        .iter()
        .map(|r| r.memory.per_die.0)
        .fold(0.0, f64::max);
    let cap = p.roles[0].memory.capacity_per_die.0;
    let lines = [
        ("step time", fmt_time(p.step.0)),
        (
            "  compute",
            format!("{} ({})", fmt_time(p.compute.0), pct(p.compute, p.step)),
        ),
        (
            "  exposed communication",
            format!("{} ({})", fmt_time(p.comm.0), pct(p.comm, p.step)),
        ),
        (
            "  pipeline bubble",
            format!("{} ({})", fmt_time(p.bubble.0), pct(p.bubble, p.step)),
        ),
        (
            "tokens/s",
            format!(
                "{:.0} in total, {:.1} per chip",
                p.tokens_per_s, p.tokens_per_s_per_chip
            ),
        ),
        ("model FLOPs utilisation", format!("{:.1}%", 100.0 * p.mfu)),
        (
            "HBM per chip",
            format!(
                "{} ({} per die of {}){}",
                gb(p.hbm_per_chip.0),
                gb(mem),
                gb(cap),
                if p.fits { "" } else { ": DOES NOT FIT" }
            ),
        ),
        (
            "power",
            format!(
                "{:.1} kW; {:.3} J per token",
                p.power.0 / 1e3,
                p.energy_per_token.0
            ),
        ),
    ];
    for (k, v) in lines {
        s.push_str(&format!("{k:<25}{v}\n"));
    }
    for w in &p.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    let mut r = Table::new(&[
        ("role", false),
        ("ranks", true),
        ("per micro-batch", true),
        ("fwd", true),
        ("bwd+recompute", true),
        ("comm", true),
        ("dp sync (exposed)", true),
        ("optimizer", true),
        ("HBM per die", true),
    ]);
    for x in &p.roles {
        r.row(vec![
            x.name.clone(),
            x.devices.to_string(),
            fmt_time(x.per_micro_batch.0),
            fmt_time(x.fwd_compute.0),
            fmt_time((x.bwd_compute + x.recompute).0),
            fmt_time((x.fwd_comm + x.bwd_comm + x.p2p).0),
            format!("{} ({})", fmt_time(x.dp_sync.0), fmt_time(x.dp_exposed.0)),
            fmt_time(x.optimizer.0),
            gb(x.memory.per_die.0),
        ]);
    }
    s.push_str(&format!(
        "\nroles (one representative rank of each is timed; {} distinct kernels)\n{}",
        p.kernels_timed,
        r.render()
    ));
    let mut c = Table::new(&[
        ("layer", false),
        ("step", false),
        ("time", true),
        ("collective", false),
        ("tier", false),
        ("devices", true),
        ("bytes", true),
    ]);
    for (k, l) in [("dense", &p.dense), ("moe", &p.moe), ("head", &p.head)] {
        let Some(l) = l else { continue };
        c.row(vec![
            k.into(),
            "compute".into(),
            fmt_time(l.compute.0),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for (label, time, cost) in &l.steps {
            if let Some(x) = cost {
                c.row(vec![
                    String::new(),
                    (*label).into(),
                    fmt_time(time.0),
                    format!("{} ({})", x.kind.name(), x.algorithm.name()),
                    x.tier.name().into(),
                    x.n.to_string(),
                    format!("{:.2} MB", x.bytes.0 / 1e6),
                ]);
            }
        }
    }
    s.push_str(&format!(
        "\nper layer and micro-batch (forward)\n{}",
        c.render()
    ));
    s
}

/// The ranking of a sweep.
pub fn render_sweep(
    m: &ModelSpec,
    c: &ClusterSpec,
    w: &Workload,
    ranked: &[StepPrediction],
    total: usize,
    rejected: usize,
    top: usize,
) -> (Value, String) {
    let mut t = Table::new(&[
        ("#", true),
        ("plan", false),
        ("rank", false),
        ("step", true),
        ("tokens/s/chip", true),
        ("MFU", true),
        ("compute", true),
        ("comm", true),
        ("bubble", true),
        ("HBM/die", true),
    ]);
    for (i, p) in ranked.iter().take(top).enumerate() {
        let die = p
            .roles
            .iter()
            .map(|r| r.memory.per_die.0)
            .fold(0.0, f64::max);
        t.row(vec![
            (i + 1).to_string(),
            p.plan.to_string(),
            p.unit.name().into(),
            fmt_time(p.step.0),
            format!("{:.1}", p.tokens_per_s_per_chip),
            format!("{:.1}%", 100.0 * p.mfu),
            pct(p.compute, p.step),
            pct(p.comm, p.step),
            pct(p.bubble, p.step),
            gb(die),
        ]);
    }
    let human = format!(
        "{} on {}, {}\n{} plans predicted, {} fit in HBM, {} do not\n\n{}",
        m.name,
        c.name,
        workload_text(w),
        total,
        ranked.len(),
        rejected,
        t.render()
    );
    let json = json!({
        "model": m.name, "cluster": c.name, "workload": w.name(), "batch": w.batch(),
        "plans": total, "fit": ranked.len(), "rejected": rejected,
        "ranked": ranked.iter().take(top).map(|p| Value::Object(step_json(p))).collect::<Vec<_>>(),
    });
    (json, human)
}

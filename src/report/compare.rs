//! `davinci compare`: one workload of one model on several systems side by side (CloudMatrix 384, an H800
//! cluster, GB200 NVL72, ...), each timed by its own mechanism: for each system the best plan that fits
//! (or the plan given for it), its step time, tokens per second in total and per chip, MFU, power,
//! tokens per joule and HBM per chip, and the ratios against the first system.

use serde_json::{Value, json};

use super::Report;
use super::cluster_run::{StepKind, workload};
use super::table::{Table, fmt_time};
use crate::cluster::quant::Quant;
use crate::cluster::sweep::{candidates, sweep};
use crate::cluster::{ClusterSpec, ModelSpec, Plan, StepPrediction, predict_step};
use crate::progress::Progress;
use crate::{Error, Result};

/// What to compare.
#[derive(Clone, Debug)]
pub struct CompareRequest {
    pub kind: StepKind,
    /// A model preset or file.
    pub model: String,
    /// Cluster presets or files; the first is the baseline of the ratios.
    pub systems: Vec<String>,
    /// `SYSTEM=PLAN` for the systems that get a given plan; the others are swept.
    pub plans: Vec<String>,
    /// Sequences in the step; by default per device, as `davinci cluster` (decode 16 per device).
    pub batch: Option<usize>,
    /// Sequences per chip instead (each system's batch is this times its chips), so that systems of
    /// different sizes carry the same load per chip.
    pub batch_per_chip: Option<usize>,
    pub seq: usize,
    pub kv: usize,
    /// `w8a8` or `bf16` (prefill and decode).
    pub quant: Option<String>,
    /// Plans to list per system beside the best (0: the best only).
    pub top: usize,
}

/// One system's result.
struct Row {
    cluster: ClusterSpec,
    best: StepPrediction,
    /// The next-best plans, with `top`.
    others: Vec<StepPrediction>,
    swept: Option<(usize, usize)>,
}

/// Runs the comparison.
pub fn run(a: &CompareRequest, progress: &mut dyn Progress) -> Result<Report> {
    let usage = |e: Error| Error::Usage(e.to_string());
    if a.systems.len() < 2 {
        return Err(Error::Usage(format!(
            "compare takes at least two systems (--systems cloudmatrix384,gb200-nvl72), got {}",
            a.systems.len()
        )));
    }
    let mut model = ModelSpec::resolve(&a.model).map_err(usage)?;
    if let Some(q) = &a.quant {
        model.quant = Quant::parse(q)?;
        if model.quant.int8() && a.kind == StepKind::Train {
            return Err(Error::Usage(
                "--quant w8a8 is a serving setup: compare prefill or decode".into(),
            ));
        }
    }
    let mut given = Vec::new();
    for p in &a.plans {
        let (sys, plan) = p.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--plan '{p}': give it as SYSTEM=PLAN, e.g. gb200-nvl72=dp=72,tp=1,pp=1,ep=72"
            ))
        })?;
        if !a.systems.iter().any(|s| s == sys) {
            return Err(Error::Usage(format!(
                "--plan names '{sys}', which is not in --systems ({})",
                a.systems.join(", ")
            )));
        }
        given.push((sys.to_string(), Plan::parse(plan).map_err(usage)?));
    }
    let mut rows = Vec::new();
    for name in &a.systems {
        let cluster = ClusterSpec::resolve(name).map_err(usage)?;
        let batch = a.batch_per_chip.map(|b| b * cluster.chips()).or(a.batch);
        let w = workload(a.kind, batch, a.seq, a.kv, None, cluster.dies())?;
        w.check_sizes().map_err(usage)?;
        if let Some((_, plan)) = given.iter().find(|(s, _)| s == name) {
            let best = predict_step(&model, &cluster, plan, &w).map_err(usage)?;
            if !best.fits {
                return Err(Error::Usage(format!(
                    "{} with plan {plan} needs {:.1} GB of HBM per chip on {name}, more than its {:.1} GB",
                    model.name,
                    best.hbm_per_chip.0 / 1e9,
                    cluster.chip.hbm_capacity().0 / 1e9
                )));
            }
            rows.push(Row {
                cluster,
                best,
                others: Vec::new(),
                swept: None,
            });
            continue;
        }
        let plans = candidates(&model, &cluster, &w);
        progress.start(&format!("plans on {name}"), plans.len() as u64);
        let result = sweep(&model, &cluster, &w, &plans, &mut |_, _| {
            progress.step(None, "")
        });
        progress.finish();
        let (ranked, rejected) = result?;
        let rejected = rejected.len();
        let mut ranked = ranked.into_iter();
        let best = ranked.next().ok_or_else(|| {
            Error::Usage(format!(
                "{} does not fit on {name} in any plan ({} checked, {rejected} too large for {:.0} GB of HBM \
                 per chip); drop it from --systems, use fewer sequences (--batch) or --quant w8a8",
                model.name,
                plans.len(),
                cluster.chip.hbm_capacity().0 / 1e9
            ))
        })?;
        rows.push(Row {
            cluster,
            best,
            others: ranked.take(a.top).collect(),
            swept: Some((plans.len(), rejected)),
        });
    }
    Ok(render(a, &model, &rows))
}

/// Tokens per joule of a prediction (its power over the step).
fn tokens_per_joule(p: &StepPrediction) -> f64 {
    if p.power.0 > 0.0 {
        p.tokens_per_s / p.power.0
    } else {
        0.0
    }
}

fn render(a: &CompareRequest, model: &ModelSpec, rows: &[Row]) -> Report {
    let base = &rows[0].best;
    let ratio = |x: f64, b: f64| if b > 0.0 { x / b } else { 0.0 };
    let mut t = Table::new(&[
        ("system", false),
        ("chips", true),
        ("plan", false),
        ("step", true),
        ("tokens/s", true),
        ("per chip", true),
        ("MFU", true),
        ("power", true),
        ("tokens/J", true),
        ("HBM/chip", true),
        ("vs first", true),
    ]);
    let mut systems = Vec::new();
    for r in rows {
        let p = &r.best;
        let tpj = tokens_per_joule(p);
        t.row(vec![
            r.cluster.name.clone(),
            p.chips.to_string(),
            p.plan.to_string(),
            fmt_time(p.step.0),
            format!("{:.0}", p.tokens_per_s),
            format!("{:.1}", p.tokens_per_s_per_chip),
            format!("{:.1}%", 100.0 * p.mfu),
            format!("{:.1} kW", p.power.0 / 1e3),
            format!("{tpj:.2}"),
            format!("{:.1} GB", p.hbm_per_chip.0 / 1e9),
            format!(
                "{:.2}x, {:.2}x/chip, {:.2}x/J",
                ratio(p.tokens_per_s, base.tokens_per_s),
                ratio(p.tokens_per_s_per_chip, base.tokens_per_s_per_chip),
                ratio(tpj, tokens_per_joule(base))
            ),
        ]);
        let others: Vec<Value> = r
            .others
            .iter()
            .map(|o| json!({"plan": o.plan.to_string(), "step_ms": o.step.0 / 1e6, "tokens_per_s": o.tokens_per_s}))
            .collect();
        systems.push(json!({
            "name": r.cluster.name,
            "chip": r.cluster.chip.name(),
            "chips": p.chips,
            "plan": p.plan.to_string(),
            "plan_given": r.swept.is_none(),
            "plans_checked": r.swept.map(|s| s.0),
            "plans_too_large": r.swept.map(|s| s.1),
            "step_ms": p.step.0 / 1e6,
            "tokens": p.tokens,
            "tokens_per_s": p.tokens_per_s,
            "tokens_per_s_per_chip": p.tokens_per_s_per_chip,
            "mfu": p.mfu,
            "power_w": p.power.0,
            "tokens_per_joule": tpj,
            "hbm_per_chip_gb": p.hbm_per_chip.0 / 1e9,
            "compute_ms": p.compute.0 / 1e6,
            "comm_ms": p.comm.0 / 1e6,
            "bubble_ms": p.bubble.0 / 1e6,
            "vs_first": {
                "tokens_per_s": ratio(p.tokens_per_s, base.tokens_per_s),
                "tokens_per_s_per_chip": ratio(p.tokens_per_s_per_chip, base.tokens_per_s_per_chip),
                "tokens_per_joule": ratio(tpj, tokens_per_joule(base)),
                "step": ratio(p.step.0, base.step.0),
            },
            "next_plans": others,
        }));
    }
    let mut next = String::new();
    for r in rows.iter().filter(|r| !r.others.is_empty()) {
        let list: Vec<String> = r
            .others
            .iter()
            .map(|o| {
                format!(
                    "{} ({}, {:.0} tokens/s)",
                    o.plan,
                    fmt_time(o.step.0),
                    o.tokens_per_s
                )
            })
            .collect();
        next.push_str(&format!("{} next: {}\n", r.cluster.name, list.join("; ")));
    }
    let what = match a.kind {
        StepKind::Train => format!("training step, {} tokens per sequence", a.seq),
        StepKind::Prefill => format!("prefill of {}-token prompts", a.seq),
        StepKind::Decode => format!("decode with {} cached tokens", a.kv),
    };
    let human = format!(
        "{} on {} systems, {what} ({}; sequences {}):\n\n{}\n\
         Each system's best plan that fits (or the one given with --plan), timed by its own chip model; \
         power is the whole system's at full load.\n{next}",
        model.name,
        rows.len(),
        model.quant.name(),
        a.batch_per_chip
            .map(|b| format!("{b} per chip"))
            .or(a.batch.map(|b| b.to_string()))
            .unwrap_or_else(|| match a.kind {
                StepKind::Train => "2 per device".to_string(),
                StepKind::Prefill => "1 per device".to_string(),
                StepKind::Decode => "16 per device".to_string(),
            }),
        t.render()
    );
    Report {
        json: json!({
            "model": model.name,
            "workload": format!("{:?}", a.kind).to_lowercase(),
            "quant": model.quant.name(),
            "systems": systems,
        }),
        human,
        failure: None,
    }
}

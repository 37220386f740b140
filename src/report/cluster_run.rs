//! Cluster steps as library calls (`davinci cluster train|prefill|decode`): one step of a model on a
//! cluster with a parallel plan and where the time goes, or a sweep over every plan that fits, ranked by
//! tokens per second. A trace file gets one track per role; the execute option runs the tensor-parallel
//! shards of MiniLM's first layer on the host and checks them against the unsharded layer.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::Report;
use super::cluster::{render, render_sweep, step_json};
use super::plots;
use super::runs::Executors;
use crate::cluster::execute::{F32_BOUND, tensor_parallel_bert_layer};
use crate::cluster::plan::Mtp;
use crate::cluster::quant::Quant;
use crate::cluster::routing::Routing;
use crate::cluster::sweep::{candidates, sweep};
use crate::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};
use crate::exec::ExecutorChoice;
use crate::model::{BertConfig, BertModel, MINILM_LAYER0_WEIGHTS};
use crate::progress::Progress;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Which step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Forward, backward and optimizer.
    Train,
    /// A prefill of `batch` prompts of `seq` tokens.
    Prefill,
    /// A token for each of `batch` sequences with `kv` cached tokens.
    Decode,
}

/// One step to predict (or, with `sweep`, to rank plans for).
#[derive(Clone, Debug)]
pub struct StepRequest {
    pub kind: StepKind,
    /// A model preset or a .toml/.json file.
    pub model: String,
    /// A cluster preset or a .toml file.
    pub cluster: String,
    /// `dp=..,tp=..,pp=..,ep=..`; required unless `sweep`.
    pub plan: Option<String>,
    /// Sequences in the step (default: train 2, prefill 1, decode 16 per die).
    pub batch: Option<usize>,
    /// Tokens per sequence (train) or per prompt (prefill).
    pub seq: usize,
    /// Cached tokens per sequence (decode).
    pub kv: usize,
    pub trace: Option<PathBuf>,
    /// Draw the step's breakdown by role (one plan) or the sweep's plans (`sweep`) as SVG.
    pub plot: Option<PathBuf>,
    pub sweep: bool,
    /// Plans to list with `sweep`.
    pub top: usize,
    /// Multi-token prediction in decode: drafts per step and their acceptance probability.
    pub mtp: Option<(usize, f64)>,
    /// `balanced`, `zipf:S` or a JSON histogram of tokens per expert (MoE models); balanced by default.
    pub routing: Option<String>,
    /// `w8a8` (int8 weights and per-token activations in the linear layers) or `bf16`; prefill and
    /// decode only.
    pub quant: Option<String>,
    pub execute: Option<ExecuteRequest>,
}

/// Run the tensor-parallel shards of MiniLM's layer 0 on the host.
#[derive(Clone, Debug)]
pub struct ExecuteRequest {
    /// MiniLM weights with layer 0; the file the crate ships in tests/golden/minilm by default.
    pub weights: Option<PathBuf>,
    pub executor: ExecutorChoice,
}

/// The workload of a step on `dies` devices: `batch` sequences (by default train 2, prefill 1, decode 16
/// per device), `seq` tokens per sequence or prompt, `kv` cached tokens in decode.
pub fn workload(
    kind: StepKind,
    batch: Option<usize>,
    seq: usize,
    kv: usize,
    mtp: Option<(usize, f64)>,
    dies: usize,
) -> Result<Workload> {
    Ok(match kind {
        StepKind::Train => Workload::Train {
            batch: batch.unwrap_or(2 * dies),
            seq,
        },
        StepKind::Prefill => Workload::Prefill {
            batch: batch.unwrap_or(dies),
            prompt: seq,
        },
        StepKind::Decode => Workload::Decode {
            batch: batch.unwrap_or(16 * dies),
            kv,
            mtp: mtp.map(|(k, p)| Mtp::new(k, p)).transpose()?,
        },
    })
}

/// Predicts the step (or ranks the plans) and reports it.
pub fn run(a: &StepRequest, progress: &mut dyn Progress) -> Result<Report> {
    let kind = a.kind;
    let usage = |e: Error| Error::Usage(e.to_string());
    let mut model = ModelSpec::resolve(&a.model).map_err(usage)?;
    if let Some(r) = &a.routing {
        if model.moe.is_none() {
            return Err(Error::Usage(format!(
                "--routing spreads tokens over experts, and {} has none (a MoE model such as deepseek-v3 does)",
                model.name
            )));
        }
        model.routing = Routing::parse(r).map_err(usage)?;
    }
    if let Some(q) = &a.quant {
        model.quant = Quant::parse(q)?;
        if model.quant.int8() && kind == StepKind::Train {
            return Err(Error::Usage(
                "--quant w8a8 is a serving setup: use it with prefill or decode, not train".into(),
            ));
        }
    }
    let cluster = ClusterSpec::resolve(&a.cluster).map_err(usage)?;
    let w = workload(kind, a.batch, a.seq, a.kv, a.mtp, cluster.dies())?;
    if a.mtp.is_some() && kind != StepKind::Decode {
        return Err(Error::Usage(
            "--mtp drafts tokens in decode; train and prefill take no --mtp".into(),
        ));
    }
    if a.sweep {
        if a.execute.is_some() || a.trace.is_some() {
            return Err(Error::Usage(
                "--sweep ranks plans; give one --plan for --execute or --trace".into(),
            ));
        }
        return run_sweep(&model, &cluster, &w, a.top, a.plot.as_deref(), progress);
    }
    let plan_text = a.plan.as_deref().ok_or_else(|| {
        Error::Usage(format!(
            "give a plan, e.g. --plan dp={},tp=1,pp=1,ep=1 (dp x tp x pp = {} chips or {} dies), or --sweep",
            cluster.chips(),
            cluster.chips(),
            cluster.dies()
        ))
    })?;
    let plan = Plan::parse(plan_text).map_err(usage)?;
    let pred = predict_step(&model, &cluster, &plan, &w).map_err(usage)?;
    let mut obj = step_json(&pred);
    let mut human = render(&pred);
    if let Workload::Decode { mtp, .. } = w {
        // Time per output token: a step yields the verified token plus the accepted drafts.
        let per_step = mtp.map_or(1.0, |m| m.tokens_per_step());
        let tpot = pred.step.0 / 1e6 / per_step;
        obj.insert("tpot_ms".into(), json!(tpot));
        if let Some(m) = mtp {
            obj.insert(
                "mtp".into(),
                json!({"drafts": m.k, "accept": m.accept(), "tokens_per_step": per_step}),
            );
            human.push_str(&format!(
                "
MTP: {} drafts accepted with p = {}: {:.2} tokens per sequence and step, TPOT {:.3} ms\n",
                m.k,
                m.accept(),
                per_step,
                tpot
            ));
        }
    }
    obj.insert("quant".into(), json!(model.quant.name()));
    if model.quant.int8() {
        // What W8A8 bought: the same step in bf16.
        let bf = ModelSpec {
            quant: Quant::Bf16,
            ..model.clone()
        };
        let base = predict_step(&bf, &cluster, &plan, &w).map_err(usage)?;
        obj.insert("bf16_step_ms".into(), json!(base.step.0 / 1e6));
        human.push_str(&format!(
            "\nquant w8a8: int8 weights and per-token activations in the linear layers (Cube at its int8 \
             rate, FixPipe dequantising to bf16); the bf16 step takes {:.3} ms ({:.2}x)\n",
            base.step.0 / 1e6,
            base.step.0 / pred.step.0
        ));
    }
    if model.routing != Routing::Balanced {
        // What the imbalance cost: the same step with every expert equally loaded.
        let even = ModelSpec {
            routing: Routing::Balanced,
            ..model.clone()
        };
        let base = predict_step(&even, &cluster, &plan, &w).map_err(usage)?;
        let load = model.expert_load(plan.ep)?;
        let cost = pred.step.0 / base.step.0 - 1.0;
        obj.insert(
            "routing".into(),
            json!({
                "routing": model.routing.name(),
                "busiest_rank_load": load,
                "balanced_step_ms": base.step.0 / 1e6,
                "imbalance_cost": cost,
            }),
        );
        human.push_str(&format!(
            "
routing {}: the busiest of {} expert-parallel ranks gets {:.2}x the mean tokens; the step takes \
             {:.1}% longer than with balanced routing ({:.3} ms)\n",
            model.routing.name(),
            plan.ep,
            load,
            100.0 * cost,
            base.step.0 / 1e6
        ));
    }
    let mut failure = None;
    if let Some(ex) = &a.execute {
        let (j, h, f) = execute(ex, &model, &plan, &w, progress)?;
        obj.insert("execute".into(), j);
        human.push_str(&h);
        failure = f;
    }
    if let Some(path) = &a.plot {
        plots::write_svg(
            path,
            &plots::cluster::breakdown(&pred, pred.workload.name())?,
        )?;
        obj.insert("plot".into(), json!(path.display().to_string()));
        human.push_str(&format!("\nbreakdown by role: {}\n", path.display()));
    }
    if let Some(path) = &a.trace {
        pred.write_trace(path)?;
        obj.insert("trace".into(), json!(path.display().to_string()));
        human.push_str(&format!(
            "\ntrace: {} ({} roles; open in ui.perfetto.dev or chrome://tracing)\n",
            path.display(),
            pred.roles.len()
        ));
    }
    Ok(Report {
        json: Value::Object(obj),
        human,
        failure,
    })
}

fn run_sweep(
    model: &ModelSpec,
    cluster: &ClusterSpec,
    w: &Workload,
    top: usize,
    plot: Option<&std::path::Path>,
    progress: &mut dyn Progress,
) -> Result<Report> {
    w.check_sizes().map_err(|e| Error::Usage(e.to_string()))?;
    let plans = candidates(model, cluster, w);
    if plans.is_empty() {
        return Err(Error::Usage(format!(
            "no plan of {} on {} passes the checks (heads, experts, batch {} against the replicas)",
            model.name,
            cluster.name,
            w.batch()
        )));
    }
    progress.start("predicting plans", plans.len() as u64);
    let result = sweep(model, cluster, w, &plans, &mut |_, _| {
        progress.step(None, "")
    });
    progress.finish();
    let (ranked, rejected) = result?;
    let (mut json, mut human) =
        render_sweep(model, cluster, w, &ranked, plans.len(), rejected.len(), top);
    if let Some(path) = plot {
        let title = format!("{} {} on {}", model.name, w.name(), cluster.name);
        let all: Vec<_> = ranked.iter().chain(&rejected).cloned().collect();
        plots::write_svg(path, &plots::cluster::sweep(&all, &title)?)?;
        json["plot"] = json!(path.display().to_string());
        human.push_str(&format!("\nplans: {}\n", path.display()));
    }
    Ok(Report {
        json,
        human,
        failure: None,
    })
}

/// `--execute`: tensor-parallel shards of MiniLM's layer 0 on the host.
fn execute(
    a: &ExecuteRequest,
    model: &ModelSpec,
    plan: &Plan,
    w: &Workload,
    progress: &mut dyn Progress,
) -> Result<(Value, String, Option<String>)> {
    if model.name != "minilm" {
        return Err(Error::Usage(format!(
            "--execute runs the tensor-parallel shards of MiniLM's layer 0 (golden weights); {} is predicted only. \
             Use --model minilm",
            model.name
        )));
    }
    let weights = a
        .weights
        .clone()
        .unwrap_or_else(|| PathBuf::from(MINILM_LAYER0_WEIGHTS));
    if !weights.is_file() {
        return Err(Error::Usage(format!(
            "--execute needs MiniLM's layer-0 weights; {} is not a file: give --weights FILE \
             (the crate ships it as tests/golden/minilm/weights_layer0_and_embed_ln.safetensors)",
            weights.display()
        )));
    }
    let bert = BertModel::open(&weights, DType::F32, Some(BertConfig::minilm_l6()))?;
    let exec = Executors::select(a.executor, progress)?.list.remove(0);
    // One representative micro-batch: its first sequence, at most 128 tokens, seeded random activations.
    let seq = w.lengths().0.clamp(1, 128);
    let hidden = crate::tensor::random::gen_bf16(7, [seq, bert.config.hidden], 1.0);
    let hidden = Tensor::from_f32([seq, bert.config.hidden], hidden.to_f32_vec())?;
    let mask = Tensor::from_f32([1, 1, 1, seq], vec![0.0; seq])?;
    let r = tensor_parallel_bert_layer(&bert, 0, &hidden, &mask, 1, seq, plan.tp, exec.as_ref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let ok = r.rel_frobenius <= F32_BOUND;
    let json = json!({
        "layer": 0, "tp": r.tp, "tokens": seq, "executor": exec.name(), "programs": r.programs,
        "all_reduces": r.all_reduces, "all_reduce_bytes_per_rank": r.all_reduce_bytes,
        "rel_frobenius": r.rel_frobenius, "max_abs_diff": r.max_abs_diff, "bound": F32_BOUND, "ok": ok,
    });
    let human = format!(
        "\nexecute: MiniLM layer 0, tp={} shards run one after another on {} ({} programs, {} all-reduces of {} B per rank)\n\
         sharded vs unsharded: relative Frobenius {:.2e}, max |diff| {:.2e} (bound {:.0e}; partial sums in another order, \
         so not bit for bit): {}\n",
        r.tp,
        exec.name(),
        r.programs,
        r.all_reduces,
        r.all_reduce_bytes,
        r.rel_frobenius,
        r.max_abs_diff,
        F32_BOUND,
        if ok { "ok" } else { "FAILED" }
    );
    let failure = (!ok).then(|| {
        format!(
            "tensor-parallel result differs from the unsharded layer: {:.2e} > {F32_BOUND:.0e}",
            r.rel_frobenius
        )
    });
    Ok((json, human, failure))
}

//! `davinci cluster train|prefill|decode`: one step of a model on a cluster with a parallel plan, and where
//! the time goes (`--plan dp=..,tp=..,pp=..,ep=..`), or `--sweep` over every plan that fits, ranked.
//! `--trace FILE` writes a Chrome trace with one track per role; `--execute` runs the tensor-parallel shards
//! of MiniLM's first layer on the host and checks them against the unsharded layer.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use davinci::cluster::execute::{F32_BOUND, tensor_parallel_bert_layer};
use davinci::cluster::sweep::{candidates, sweep};
use davinci::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};
use davinci::model::{BertConfig, BertModel, MINILM_LAYER0_WEIGHTS};
use davinci::{DType, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::common::{CliError, ExecutorArg, Outcome, select_executors};
use davinci::report::cluster::{render, render_sweep, step_json};

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub what: ClusterCommand,
}

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// One training step: forward, backward and optimizer.
    Train(StepArgs),
    /// A prefill of --batch prompts of --seq tokens.
    Prefill(StepArgs),
    /// One decode step: a token for each of --batch sequences with --kv cached tokens.
    Decode(StepArgs),
}

#[derive(Args, Debug)]
pub struct StepArgs {
    /// The model: a preset (see `davinci models`) or a .toml/.json file.
    #[arg(long, default_value = "deepseek-v3", value_name = "NAME|FILE")]
    pub model: String,
    /// The cluster: a preset (see `davinci clusters`) or a .toml file.
    #[arg(long, default_value = "cloudmatrix384", value_name = "NAME|FILE")]
    pub cluster: String,
    /// The parallel plan, e.g. dp=48,tp=8,pp=1,ep=8 (optional mb=N, zero=0..3, recompute); dp x tp x pp
    /// must equal the chip count (a rank per chip) or the die count (a rank per die).
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<String>,
    /// Sequences in the step (default: train 2, prefill 1, decode 16 per die).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Tokens per sequence (train) or per prompt (prefill).
    #[arg(long, default_value_t = 4096)]
    pub seq: usize,
    /// Cached tokens per sequence (decode).
    #[arg(long, default_value_t = 4096)]
    pub kv: usize,
    /// Write a Chrome trace (one track per role, collectives on it).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Search every plan that fits and rank them by tokens per second.
    #[arg(long, conflicts_with = "plan")]
    pub sweep: bool,
    /// Plans to list with --sweep.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Run the tensor-parallel shards of MiniLM's layer 0 on the host and check them against the unsharded
    /// layer (--model minilm).
    #[arg(long)]
    pub execute: bool,
    /// MiniLM weights for --execute (a safetensors file with layer 0); by default the file the crate
    /// ships in tests/golden/minilm, found from the crate's own folder whatever the working directory.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Executor for --execute.
    #[arg(long, value_enum, default_value_t = ExecutorArg::Cpu)]
    pub executor: ExecutorArg,
}

pub fn run(args: &ClusterArgs) -> Result<Outcome, CliError> {
    let (a, kind) = match &args.what {
        ClusterCommand::Train(a) => (a, "train"),
        ClusterCommand::Prefill(a) => (a, "prefill"),
        ClusterCommand::Decode(a) => (a, "decode"),
    };
    let usage = |e: davinci::Error| CliError::usage(e.to_string());
    let model = ModelSpec::resolve(&a.model).map_err(usage)?;
    let cluster = ClusterSpec::resolve(&a.cluster).map_err(usage)?;
    let dies = cluster.dies();
    let w = match kind {
        "train" => Workload::Train {
            batch: a.batch.unwrap_or(2 * dies),
            seq: a.seq,
        },
        "prefill" => Workload::Prefill {
            batch: a.batch.unwrap_or(dies),
            prompt: a.seq,
        },
        _ => Workload::Decode {
            batch: a.batch.unwrap_or(16 * dies),
            kv: a.kv,
        },
    };
    if a.sweep {
        if a.execute || a.trace.is_some() {
            return Err(CliError::usage(
                "--sweep ranks plans; give one --plan for --execute or --trace",
            ));
        }
        return run_sweep(&model, &cluster, &w, a.top);
    }
    let plan_text = a.plan.as_deref().ok_or_else(|| {
        CliError::usage(format!(
            "give a plan, e.g. --plan dp={},tp=1,pp=1,ep=1 (dp x tp x pp = {} chips or {} dies), or --sweep",
            cluster.chips(),
            cluster.chips(),
            dies
        ))
    })?;
    let plan = Plan::parse(plan_text).map_err(usage)?;
    let pred = predict_step(&model, &cluster, &plan, &w).map_err(usage)?;
    let mut obj = step_json(&pred);
    let mut human = render(&pred);
    let mut failure = None;
    if a.execute {
        let (j, h, f) = execute(a, &model, &plan, &w)?;
        obj.insert("execute".into(), j);
        human.push_str(&h);
        failure = f;
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
    Ok(Outcome {
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
) -> Result<Outcome, CliError> {
    w.check_sizes()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let plans = candidates(model, cluster, w);
    if plans.is_empty() {
        return Err(CliError::usage(format!(
            "no plan of {} on {} passes the checks (heads, experts, batch {} against the replicas)",
            model.name,
            cluster.name,
            w.batch()
        )));
    }
    let bar = ProgressBar::new(plans.len() as u64).with_message("predicting plans");
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} (eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    let (ranked, rejected) = sweep(model, cluster, w, &plans, &mut |_, _| bar.inc(1))?;
    bar.finish_and_clear();
    let (json, human) = render_sweep(model, cluster, w, &ranked, plans.len(), rejected, top);
    Ok(Outcome {
        json,
        human,
        failure: None,
    })
}

/// `--execute`: tensor-parallel shards of MiniLM's layer 0 on the host.
fn execute(
    a: &StepArgs,
    model: &ModelSpec,
    plan: &Plan,
    w: &Workload,
) -> Result<(Value, String, Option<String>), CliError> {
    if model.name != "minilm" {
        return Err(CliError::usage(format!(
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
        return Err(CliError::usage(format!(
            "--execute needs MiniLM's layer-0 weights; {} is not a file: give --weights FILE \
             (the crate ships it as tests/golden/minilm/weights_layer0_and_embed_ln.safetensors)",
            weights.display()
        )));
    }
    let bert = BertModel::open(&weights, DType::F32, Some(BertConfig::minilm_l6()))?;
    let exec = select_executors(a.executor)?.list.remove(0);
    // One representative micro-batch: its first sequence, at most 128 tokens, seeded random activations.
    let seq = w.lengths().0.clamp(1, 128);
    let hidden = davinci::tensor::random::gen_bf16(7, [seq, bert.config.hidden], 1.0);
    let hidden = Tensor::from_f32([seq, bert.config.hidden], hidden.to_f32_vec())?;
    let mask = Tensor::from_f32([1, 1, 1, seq], vec![0.0; seq])?;
    let r = tensor_parallel_bert_layer(&bert, 0, &hidden, &mask, 1, seq, plan.tp, exec.as_ref())
        .map_err(|e| CliError::usage(e.to_string()))?;
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

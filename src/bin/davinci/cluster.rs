//! `davinci cluster train|prefill|decode`: one step of a model on a cluster with a parallel plan
//! (`--plan dp=..,tp=..,pp=..,ep=..`), or `--sweep` over every plan that fits
//! ([`davinci::report::cluster_run`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use davinci::report::cluster_run::{ExecuteRequest, StepKind, StepRequest, run as run_step};

use crate::common::{Bar, CliError, ExecutorArg, Outcome};

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
    /// The parallel plan, e.g. dp=48,tp=8,pp=1,ep=8 (optional mb=N, zero=0..3, recompute, sp, grad_add); dp x tp x pp
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
    /// Draw the step's time by role (compute, exposed communication, idle) as SVG; with --sweep, every
    /// plan's tokens/s per chip against its HBM per die (plans that do not fit as crosses).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Search every plan that fits and rank them by tokens per second.
    #[arg(long, conflicts_with = "plan")]
    pub sweep: bool,
    /// Plans to list with --sweep.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// How the MoE router spreads tokens over the experts: balanced, zipf:S (popularity rank i gets a share
    /// 1/(i+1)^S), or a JSON file of tokens per expert. The busiest expert-parallel rank sets the layer.
    #[arg(long, value_name = "balanced|zipf:S|FILE")]
    pub routing: Option<String>,
    /// The linear layers' number format: w8a8 (int8 weights per channel and activations per token,
    /// quantised on the Vector unit, the Cube at its int8 rate, FixPipe dequantising to bf16) or bf16.
    #[arg(long, value_name = "w8a8|bf16")]
    pub quant: Option<String>,
    /// Decode with multi-token prediction: K speculative tokens drafted per step by an MTP head.
    #[arg(long, value_name = "K", requires = "mtp_accept")]
    pub mtp: Option<usize>,
    /// The probability that each draft is accepted (tokens/s counts accepted tokens; the report gives TPOT).
    #[arg(long, value_name = "P", requires = "mtp")]
    pub mtp_accept: Option<f64>,
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
        ClusterCommand::Train(a) => (a, StepKind::Train),
        ClusterCommand::Prefill(a) => (a, StepKind::Prefill),
        ClusterCommand::Decode(a) => (a, StepKind::Decode),
    };
    let req = StepRequest {
        kind,
        model: a.model.clone(),
        cluster: a.cluster.clone(),
        plan: a.plan.clone(),
        batch: a.batch,
        seq: a.seq,
        kv: a.kv,
        trace: a.trace.clone(),
        plot: a.plot.clone(),
        sweep: a.sweep,
        top: a.top,
        routing: a.routing.clone(),
        quant: a.quant.clone(),
        mtp: a.mtp.zip(a.mtp_accept),
        execute: a.execute.then(|| ExecuteRequest {
            weights: a.weights.clone(),
            executor: a.executor.into(),
        }),
    };
    Ok(run_step(&req, &mut Bar::new())?)
}

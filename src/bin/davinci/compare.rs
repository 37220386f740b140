//! `davinci compare --model M --workload train|prefill|decode --systems A,B,..`: one workload on several
//! systems side by side, each with its best plan ([`davinci::report::compare`]).

use clap::{Args, ValueEnum};
use davinci::report::cluster_run::StepKind;
use davinci::report::compare::{CompareRequest, run as run_compare};

use crate::common::{Bar, CliError, Outcome};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WorkloadArg {
    Train,
    Prefill,
    Decode,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The model: a preset (see `davinci models`) or a .toml/.json file.
    #[arg(long, default_value = "deepseek-v3", value_name = "NAME|FILE")]
    pub model: String,
    /// The step to compare.
    #[arg(long, value_enum, default_value = "decode")]
    pub workload: WorkloadArg,
    /// The systems, comma-separated (presets from `davinci clusters`, or cluster .toml files); the first is
    /// the baseline of the ratios.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "cloudmatrix384,h800-cluster,gb200-nvl72"
    )]
    pub systems: Vec<String>,
    /// A plan for one system, as SYSTEM=PLAN (e.g. gb200-nvl72=dp=72,tp=1,pp=1,ep=72); repeat for several.
    /// Systems without one get their best plan that fits.
    #[arg(long, value_name = "SYSTEM=PLAN")]
    pub plan: Vec<String>,
    /// Sequences in the step (default per device: train 2, prefill 1, decode 16).
    #[arg(long, conflicts_with = "batch_per_chip")]
    pub batch: Option<usize>,
    /// Sequences per chip instead: each system carries the same load per chip.
    #[arg(long)]
    pub batch_per_chip: Option<usize>,
    /// Tokens per sequence (train) or per prompt (prefill).
    #[arg(long, default_value_t = 4096)]
    pub seq: usize,
    /// Cached tokens per sequence (decode).
    #[arg(long, default_value_t = 4096)]
    pub kv: usize,
    /// The linear layers' number format for prefill and decode: w8a8 or bf16.
    #[arg(long, value_name = "w8a8|bf16")]
    pub quant: Option<String>,
    /// Also list each system's next-best plans (3).
    #[arg(long)]
    pub sweep: bool,
}

pub fn run(a: &CompareArgs) -> Result<Outcome, CliError> {
    let req = CompareRequest {
        kind: match a.workload {
            WorkloadArg::Train => StepKind::Train,
            WorkloadArg::Prefill => StepKind::Prefill,
            WorkloadArg::Decode => StepKind::Decode,
        },
        model: a.model.clone(),
        systems: a.systems.clone(),
        plans: a.plan.clone(),
        batch: a.batch,
        batch_per_chip: a.batch_per_chip,
        seq: a.seq,
        kv: a.kv,
        quant: a.quant.clone(),
        top: if a.sweep { 3 } else { 0 },
    };
    Ok(run_compare(&req, &mut Bar::new())?)
}

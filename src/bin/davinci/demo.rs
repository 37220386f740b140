//! `davinci demo`: the main job (`davinci::report::demo`): one LLaMA-3 8B decoder layer with seeded random
//! weights on the best executor, checked bit for bit against the CPU twin, and predicted on a 910C.

use clap::Args;
use davinci::report::demo::{DemoOptions, run as run_demo};

use crate::common::{Bar, ChipArgs, CliError, ComputeArg, ExecutorArg, Outcome};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Sequence length of the host run [default: 512, or less on a slow host, from measured rates].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub seq: Option<u64>,
    /// Compute dtype of weights, activations and every op's result.
    #[arg(long, value_enum, default_value_t)]
    pub dtype: ComputeArg,
    /// Which executor runs the layer; a GPU run is checked against the CPU twin (`both` is the same).
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Skip the check against the CPU twin (the GPU run alone).
    #[arg(long)]
    pub no_check: bool,
    /// Seed of the weights (projection i uses seed + i) and of the input (seed + 100).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The chip of the prediction, and where its timeline goes (davinci-demo-trace.json unless --trace
    /// names another file).
    #[command(flatten)]
    pub chip: ChipArgs,
    /// Model size: hidden width [default: 4096].
    #[arg(long, help_heading = "Model size (smaller models for tests)")]
    pub hidden: Option<usize>,
    /// Model size: attention heads [default: 32].
    #[arg(long, help_heading = "Model size (smaller models for tests)")]
    pub heads: Option<usize>,
    /// Model size: key/value heads, dividing the heads [default: 8].
    #[arg(long, help_heading = "Model size (smaller models for tests)")]
    pub kv_heads: Option<usize>,
    /// Model size: FFN width [default: 14336].
    #[arg(long, help_heading = "Model size (smaller models for tests)")]
    pub ffn: Option<usize>,
}

pub fn run(args: &DemoArgs) -> Result<Outcome, CliError> {
    let opts = DemoOptions {
        seq: args.seq.map(|s| s as usize),
        dtype: args.dtype.into(),
        executor: args.executor.into(),
        no_check: args.no_check,
        seed: args.seed,
        chip: args.chip.chip().to_string(),
        trace: args
            .chip
            .trace
            .clone()
            .unwrap_or_else(|| DemoOptions::default().trace),
        plots: args.chip.plots(),
        hidden: args.hidden,
        heads: args.heads,
        kv_heads: args.kv_heads,
        ffn: args.ffn,
    };
    let report = run_demo(&opts, &mut Bar::new());
    // The notice of `--executor auto` falling back goes to stderr, as for every subcommand.
    Ok(report?)
}

//! `davinci train-demo`: a 2-layer decoder learns to copy token sequences on the emulated 910C, then one
//! step is predicted on a chip and a cluster ([`davinci::report::train_demo`]).

use clap::Args;
use davinci::train::demo::DemoConfig;

use crate::common::{Bar, ChipArgs, CliError, ExecutorArg, Outcome};

#[derive(Args, Debug)]
pub struct TrainDemoArgs {
    /// Training steps (8 sequences of 16 tokens each), 1 to 10000 (a demo: each step is a whole
    /// forward and backward pass on the emulator).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub steps: u64,
    /// Seeds the weights and the data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// AdamW's learning rate.
    #[arg(long, default_value_t = 5e-3, allow_negative_numbers = true)]
    pub lr: f32,
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// The chip that times one step, and the trace of that step.
    #[command(flatten)]
    pub chip: ChipArgs,
    /// The cluster for the data-parallel prediction: a preset or a cluster .toml file.
    #[arg(long, default_value = "cloudmatrix384")]
    pub cluster: String,
}

pub fn run(args: &TrainDemoArgs) -> Result<Outcome, CliError> {
    let cfg = DemoConfig {
        steps: args.steps,
        seed: args.seed,
        lr: args.lr,
        ..DemoConfig::default()
    };
    args.chip.refuse_plots(
        "train-demo",
        "it reports one training step's time; davinci predict and davinci demo draw a program's ops",
    )?;
    Ok(davinci::report::train_demo::run(
        &cfg,
        args.executor.into(),
        args.chip.chip(),
        &args.cluster,
        args.chip.trace.as_deref(),
        &mut Bar::new(),
    )?)
}

//! `davinci matmul M K N`: one `cube_matmul` on deterministic random bf16 inputs, timed on this host
//! ([`davinci::report::matmul_run`]); `--executor both` checks GPU = CPU bits.

use clap::Args;
use davinci::report::matmul_run::{MatmulRun, run as run_matmul};
use davinci::report::predict_run::MatmulSizes;

use crate::common::{Bar, CliError, ExecutorArg, MatmulFlags, Outcome, PredictArgs};

#[derive(Args, Debug)]
pub struct MatmulArgs {
    /// Rows of A and of the result.
    pub m: usize,
    /// The contraction dimension: columns of A, rows of B.
    pub k: usize,
    /// Columns of B and of the result.
    pub n: usize,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    /// The Cube format: bf16, fp16, fp8_e4m3, fp8_e5m2 (f32 accumulation), int8 (into int32), hf32 or
    /// fp32 (f32 operands).
    #[arg(long, value_name = "FORMAT", default_value = "bf16")]
    pub dtype: davinci::CubeFormat,
    /// Which executor runs the op; `both` also compares GPU and CPU bit for bit.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Seed of A; B uses seed + 1.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Batch size; above 1, A and B get a leading batch dimension.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Timed runs after the warm-up run; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub repeat: u64,
    #[command(flatten)]
    pub predict: PredictArgs,
}

pub fn run(args: &MatmulArgs) -> Result<Outcome, CliError> {
    let batch = usize::try_from(args.batch)
        .map_err(|_| CliError::usage(format!("--batch {} is too large", args.batch)))?;
    let req = MatmulRun {
        sizes: MatmulSizes {
            m: args.m,
            k: args.k,
            n: args.n,
            batch,
            shared_b: false,
            opts: davinci::MatmulOptions {
                format: Some(args.dtype),
                ..args.matmul.options()
            },
        },
        executor: args.executor.into(),
        seed: args.seed,
        repeat: args.repeat as usize,
        predict: args.predict.target()?,
    };
    Ok(run_matmul(&req, &mut Bar::new())?)
}

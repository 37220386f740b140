//! `davinci run MODEL.onnx --inputs IN.safetensors --out OUT.safetensors`: an ONNX graph on the emulator
//! ([`davinci::report::onnx_run`]); `--info` describes the model instead ([`davinci::report::onnx_info`]).

use std::path::PathBuf;

use clap::Args;
use davinci::onnx::Precision;
use davinci::report::onnx_run::{OnnxRun, run as run_onnx};
use davinci::report::op_run::parse_mapping;

use crate::common::{Bar, CliError, ExecutorArg, Outcome, PredictArgs};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The ONNX model (.onnx; external data files beside it).
    pub model: PathBuf,
    /// List the model's inputs, outputs, opset, op histogram and the ops outside the importer's set.
    #[arg(long)]
    pub info: bool,
    /// The graph's inputs, as tensors named like the graph's inputs (or renamed with --map).
    #[arg(long, value_name = "IN.safetensors")]
    pub inputs: Option<PathBuf>,
    /// Read a graph input from a tensor of another name, e.g. `--map input_ids=ids`.
    #[arg(long = "map", value_name = "INPUT=TENSOR", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// Write every graph output here, under its ONNX name.
    #[arg(long, value_name = "OUT.safetensors")]
    pub out: Option<PathBuf>,
    /// Which ops keep f32 (ATC's names): allow_mix_precision_bf16 (the Cube in bf16), force_fp32,
    /// force_bf16 (every op with bf16 results) or must_keep_origin_dtype (an f32 graph in f32).
    #[arg(long, default_value = "allow_mix_precision_bf16", value_name = "MODE")]
    pub precision_mode: Precision,
    /// Which executor runs the graph; `both` also checks GPU = CPU bit for bit.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    #[command(flatten)]
    pub predict: PredictArgs,
}

pub fn run(args: &RunArgs) -> Result<Outcome, CliError> {
    if args.info {
        return Ok(davinci::report::onnx_info::run(&args.model)?);
    }
    let inputs = args.inputs.clone().ok_or_else(|| {
        CliError::usage("give the graph's inputs with --inputs IN.safetensors (or use --info)")
    })?;
    let req = OnnxRun {
        model: args.model.clone(),
        inputs,
        map: args.map.clone(),
        out: args.out.clone(),
        precision: args.precision_mode,
        executor: args.executor.into(),
        predict: args.predict.target()?,
    };
    Ok(run_onnx(&req, &mut Bar::new())?)
}

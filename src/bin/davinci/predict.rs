//! `davinci predict matmul M K N` and `davinci predict op NAME SHAPE`: how long one op would take on an
//! Ascend chip (`--chip`, default 910c), and why: time, achieved TFLOPS and HBM bandwidth, utilisation,
//! the binding resource, energy and the tiling chosen. `--trace FILE` writes the per-core timeline as a
//! Chrome trace (open it in ui.perfetto.dev or chrome://tracing). Nothing runs on the host: recording the
//! op and predicting it needs no GPU and no memory for the tensors.
//!
//! `predict_report` renders any prediction; `davinci matmul --predict` and `davinci op --predict` use it too.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use davinci::sched::predict;
use davinci::{ChipSpec, DType, Program, Shape};
use serde_json::{Value, json};

use crate::common::{CliError, DTypeArg, MatmulFlags, Outcome};
use davinci::report::ops::{OpName, parse_shape as lib_parse_shape};
use davinci::report::predict::report;

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(subcommand)]
    pub what: PredictCommand,
}

#[derive(Subcommand, Debug)]
pub enum PredictCommand {
    /// Predict one cube_matmul of [M, K] x [K, N].
    Matmul(PredictMatmulArgs),
    /// Predict one vector op (cast, unary, binary, reduction, softmax, layernorm, rmsnorm) on a shape.
    Op(PredictOpArgs),
}

/// The chip and the trace file, shared by every prediction.
#[derive(Args, Debug, Clone)]
pub struct ChipArgs {
    /// The chip: a preset (see `davinci chips`) or a chip .toml file.
    #[arg(long, default_value = "910c", value_name = "NAME|FILE")]
    pub chip: String,
    /// Write the per-core timeline as Chrome trace JSON (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

impl ChipArgs {
    pub fn resolve(&self) -> Result<ChipSpec, CliError> {
        ChipSpec::resolve(&self.chip).map_err(|e| CliError::usage(e.to_string()))
    }
}

/// `--dtype-in` of a matmul: bf16, or f32 for the Cube's fp32 mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum InDType {
    #[default]
    Bf16,
    F32,
}

#[derive(Args, Debug)]
pub struct PredictMatmulArgs {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    /// Operand dtype: bf16, or f32 (the Cube's fp32 mode, about a quarter of the bf16 rate).
    #[arg(long, value_enum, default_value_t)]
    pub dtype_in: InDType,
    /// Batch size; above 1, A gets a leading batch dimension (and B too unless --shared-b).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// With --batch: B is one [K, N] matrix shared by every batch entry (a weight).
    #[arg(long)]
    pub shared_b: bool,
    #[command(flatten)]
    pub chip: ChipArgs,
}

#[derive(Args, Debug)]
pub struct PredictOpArgs {
    /// cast, a unary function (exp, silu, ...), a binary one (add, mul, ...), a reduction (sum, mean,
    /// amax, sumsq), softmax, layernorm or rmsnorm.
    pub name: String,
    /// The input's shape, e.g. 4096x4096 (row ops work along the last axis).
    pub shape: String,
    /// A binary op's second operand (broadcast to the first); the same shape by default.
    #[arg(long, value_name = "SHAPE")]
    pub other: Option<String>,
    /// The input dtype.
    #[arg(long, value_enum, default_value = "bf16")]
    pub dtype: DTypeArg,
    /// The output dtype; the input's by default (for cast: the other one).
    #[arg(long, value_enum)]
    pub dtype_out: Option<DTypeArg>,
    #[command(flatten)]
    pub chip: ChipArgs,
}

pub fn run(args: &PredictArgs) -> Result<Outcome, CliError> {
    match &args.what {
        PredictCommand::Matmul(a) => run_matmul(a),
        PredictCommand::Op(a) => run_op(a),
    }
}

fn run_matmul(a: &PredictMatmulArgs) -> Result<Outcome, CliError> {
    let chip = a.chip.resolve()?;
    let batch = usize::try_from(a.batch).map_err(|_| CliError::usage("--batch is too large"))?;
    if a.shared_b && batch == 1 {
        return Err(CliError::usage("--shared-b needs --batch above 1"));
    }
    let opts = a.matmul.options();
    let dt = match a.dtype_in {
        InDType::Bf16 => DType::Bf16,
        InDType::F32 => DType::F32,
    };
    let shape = |dims: [usize; 2], batched: bool| {
        if batched && batch > 1 {
            Shape::new([batch, dims[0], dims[1]])
        } else {
            Shape::new(dims)
        }
    };
    let (m, k, n) = (a.m, a.k, a.n);
    let mut p = Program::new();
    let ia = p.input(
        "a",
        shape(if opts.trans_a { [k, m] } else { [m, k] }, true),
        dt,
    );
    let ib = p.input(
        "b",
        shape(if opts.trans_b { [n, k] } else { [k, n] }, !a.shared_b),
        dt,
    );
    let out = p
        .cube_matmul(ia, ib, opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    p.output(out)?;
    let title = format!(
        "cube_matmul M={m} K={k} N={n} batch={batch}: {dt} x {dt} -> {}",
        opts.dtype_out
    );
    finish(&p, &chip, &a.chip, &title)
}

fn run_op(a: &PredictOpArgs) -> Result<Outcome, CliError> {
    let chip = a.chip.resolve()?;
    let shape = parse_shape(&a.shape)?;
    let dt: DType = a.dtype.into();
    let mut p = Program::new();
    let x = p.input("x", shape.clone(), dt);
    let op: OpName = a.name.parse()?;
    let other = a.other.as_deref().map(parse_shape).transpose()?;
    let out = op.record(
        &mut p,
        x,
        &shape,
        dt,
        a.dtype_out.map(DType::from),
        other.as_ref(),
    )?;
    p.output(out)?;
    let title = format!("{} on {dt} {shape}", a.name);
    finish(&p, &chip, &a.chip, &title)
}

/// Parses `4096x4096` (or `4096,4096`) into a shape.
pub fn parse_shape(s: &str) -> Result<Shape, CliError> {
    Ok(lib_parse_shape(s)?)
}

/// Predicts, writes the trace if asked, and renders the report.
fn finish(p: &Program, chip: &ChipSpec, args: &ChipArgs, title: &str) -> Result<Outcome, CliError> {
    let pred = predict(p, chip)?;
    let (mut obj, mut human) = report(&pred, title);
    if let Some(path) = &args.trace {
        pred.write_trace(path)?;
        obj.insert("trace".into(), json!(path.display().to_string()));
        human.push_str(&format!(
            "\ntrace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)\n",
            path.display(),
            pred.timeline.events.len()
        ));
    }
    Ok(Outcome {
        json: Value::Object(obj),
        human,
        failure: None,
    })
}

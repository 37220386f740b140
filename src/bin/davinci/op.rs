//! `davinci op NAME --in FILE.safetensors --out OUT.safetensors`: one op on real data
//! ([`davinci::report::op_run`]). The op names are the library's ([`davinci::report::ops::OpName`] and
//! `matmul`), so this file holds only the flags.

use std::path::PathBuf;

use clap::Args;
use davinci::report::op_run::{OpRequest, parse_mapping, run as run_op};
use davinci::report::op_spec::FileOp;
use davinci::report::ops::OpName;

use crate::common::{ActivationArg, Bar, CliError, DTypeArg, ExecutorArg, Outcome, PredictArgs};

/// The ops and what they compute, for `--help`.
fn ops_help() -> String {
    let mut s = String::from(
        "Ops:\n  matmul          cube_matmul: out = a x b, bf16 inputs (f32 tensors are rounded to bf16 on load), \
         f32 accumulation, with an optional fused epilogue (inputs bias [N] and residual, flags --scale \
         and --activation)\n",
    );
    for op in OpName::all() {
        s.push_str(&format!("  {:<15} {}\n", op.name(), op.describe()));
    }
    s
}

#[derive(Args, Debug)]
#[command(after_help = ops_help())]
pub struct OpArgs {
    /// The op: matmul, or a Vector op (see the list below). Vector ops read `x` (and `y`, `mask`,
    /// `gamma`, `beta`) and write `out`.
    #[arg(value_name = "OP")]
    pub op: String,
    /// The safetensors file holding the op's inputs.
    #[arg(long = "in", value_name = "FILE.safetensors")]
    pub input: PathBuf,
    /// Where to write the result (as tensor `out`); checked to be writable before anything runs.
    #[arg(long, value_name = "OUT.safetensors")]
    pub out: PathBuf,
    /// Read an input from a tensor of another name, e.g. `--map a=x --map b=weight`.
    #[arg(long = "map", value_name = "INPUT=TENSOR", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// Which executor runs the op; `both` writes the GPU result and compares it with the CPU twin.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Result dtype: the f32 result, or bf16 rounded once from it (FixPipe for the matmul).
    #[arg(long, value_enum, default_value_t)]
    pub dtype_out: DTypeArg,
    /// layernorm / rmsnorm: the epsilon added to the variance (>= 0).
    // Values may start with a hyphen, so that `--eps -1e-5` reaches the library's check (a clear error)
    // rather than clap's "unexpected argument '-1'".
    #[arg(long, value_name = "EPS", allow_hyphen_values = true)]
    pub eps: Option<f32>,
    /// matmul: the Cube format (bf16, fp16, fp8_e4m3, fp8_e5m2, int8, hf32, fp32); operands stored in
    /// another dtype are converted on load. Default: the operands' own (f32 is rounded to bf16).
    #[arg(long, value_name = "FORMAT")]
    pub dtype: Option<davinci::CubeFormat>,
    /// matmul: accumulation model, tree16, sequential, bf16-everyN or f16-everyN [default: tree16].
    #[arg(long, value_name = "MODEL")]
    pub accumulate: Option<davinci::Accumulation>,
    /// matmul: A is stored transposed, as [K, M].
    #[arg(long)]
    pub trans_a: bool,
    /// matmul: B is stored transposed, as [N, K] (a torch Linear weight).
    #[arg(long)]
    pub trans_b: bool,
    /// matmul: multiply the f32 accumulator by this first.
    // A negative scale is legitimate: `--scale -0.5` and `--scale -1e-3` are values, not flags.
    #[arg(long, allow_hyphen_values = true)]
    pub scale: Option<f32>,
    /// matmul: activation after the bias [default: none].
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    #[command(flatten)]
    pub predict: PredictArgs,
}

pub fn run(args: &OpArgs) -> Result<Outcome, CliError> {
    let mut op: FileOp = args.op.parse()?;
    match &mut op {
        FileOp::Matmul {
            opts,
            scale,
            activation,
        } => {
            opts.accumulate = args.accumulate.unwrap_or_default();
            opts.format = args.dtype;
            opts.trans_a = args.trans_a;
            opts.trans_b = args.trans_b;
            *scale = args.scale;
            *activation = args.activation.unwrap_or_default().into();
        }
        FileOp::Vector(name) => {
            let given = [
                ("--accumulate", args.accumulate.is_some()),
                ("--dtype", args.dtype.is_some()),
                ("--trans-a", args.trans_a),
                ("--trans-b", args.trans_b),
                ("--scale", args.scale.is_some()),
                ("--activation", args.activation.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(CliError::usage(format!(
                    "{flag} applies to matmul only, and {name} is a Vector op"
                )));
            }
        }
    }
    let req = OpRequest {
        op,
        input: args.input.clone(),
        out: args.out.clone(),
        map: args.map.clone(),
        executor: args.executor.into(),
        dtype_out: args.dtype_out.into(),
        eps: args.eps,
        predict: args.predict.target()?,
    };
    Ok(run_op(&req, &mut Bar::new())?)
}

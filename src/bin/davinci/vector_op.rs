//! The Vector unit's ops under `davinci op NAME`: each name maps to the inputs it reads (`x`, `y`, `mask`,
//! `gamma`, `beta`; optional ones may be absent from the file) and to how it is recorded. Inputs are kept in
//! their stored dtype (bf16 or f32); the result is f32 unless `--dtype-out bf16`.

use clap::{Args, ValueEnum};
use davinci::{Activation, BinaryFn, DType, Epilogue, ReduceFn, TensorId, UnaryFn};
use serde_json::{Map, json};

use crate::common::{CliError, DTypeArg};
use crate::op::{InputSpec, IoArgs, OpSpec, need};

/// Options every vector op takes.
#[derive(Args, Debug)]
pub struct VectorOpArgs {
    #[command(flatten)]
    pub io: IoArgs,
    /// Result dtype: f32, or bf16 rounded once from the f32 result.
    #[arg(long, value_enum, default_value_t)]
    pub dtype_out: DTypeArg,
    /// layernorm / rmsnorm: the epsilon added to the variance (>= 0).
    // Values may start with a hyphen, so that `--eps -1e-5` reaches the library's check (a clear error)
    // rather than clap's "unexpected argument '-1'".
    #[arg(long, value_name = "EPS", allow_hyphen_values = true)]
    pub eps: Option<f32>,
}

/// The non-elementwise Vector ops by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RowOp {
    Softmax,
    Layernorm,
    Rmsnorm,
}

/// Which Vector op a `davinci op` name is.
#[derive(Clone, Copy, Debug)]
pub enum VectorName {
    Cast,
    Unary(UnaryFn),
    Binary(BinaryFn),
    Reduce(ReduceFn),
    Row(RowOp),
}

const X: InputSpec = InputSpec::required("x");
const Y: InputSpec = InputSpec::required("y");
const MASK: InputSpec = InputSpec::optional("mask");
const GAMMA: InputSpec = InputSpec::optional("gamma");
const BETA: InputSpec = InputSpec::optional("beta");

/// Default epsilons: torch's LayerNorm and a common RMSNorm setting.
const LAYERNORM_EPS: f32 = 1e-5;
const RMSNORM_EPS: f32 = 1e-6;

/// The spec `run_op` runs for `name`.
pub fn spec(name: VectorName, args: &VectorOpArgs) -> Result<OpSpec, CliError> {
    let dtype_out: DType = args.dtype_out.into();
    let mut params = Map::new();
    params.insert("dtype_out".into(), json!(dtype_out.name()));
    if args.eps.is_some() && !matches!(name, VectorName::Row(RowOp::Layernorm | RowOp::Rmsnorm)) {
        return Err(CliError::usage(
            "--eps applies to layernorm and rmsnorm only",
        ));
    }
    let spec = match name {
        VectorName::Cast => OpSpec::new("cast", "cast", &[X], params, move |p, ids| {
            p.cast(need(ids[0])?, dtype_out)
        }),
        VectorName::Unary(f) => {
            OpSpec::new(f.name(), "vector_unary", &[X], params, move |p, ids| {
                p.unary(f, need(ids[0])?, dtype_out)
            })
        }
        VectorName::Binary(f) => {
            OpSpec::new(f.name(), "vector_binary", &[X, Y], params, move |p, ids| {
                p.binary(f, need(ids[0])?, need(ids[1])?, dtype_out)
            })
        }
        VectorName::Reduce(f) => {
            OpSpec::new(f.name(), "vector_reduce", &[X], params, move |p, ids| {
                p.reduce(f, need(ids[0])?, dtype_out)
            })
        }
        VectorName::Row(RowOp::Softmax) => OpSpec::new(
            "softmax",
            "vector_softmax",
            &[X, MASK],
            params,
            move |p, ids| p.softmax(need(ids[0])?, ids[1], dtype_out),
        ),
        VectorName::Row(RowOp::Layernorm) => {
            let eps = args.eps.unwrap_or(LAYERNORM_EPS);
            params.insert("eps".into(), json!(eps));
            OpSpec::new(
                "layernorm",
                "vector_layernorm",
                &[X, GAMMA, BETA],
                params,
                move |p, ids| p.layernorm(need(ids[0])?, ids[1], ids[2], eps, dtype_out),
            )
        }
        VectorName::Row(RowOp::Rmsnorm) => {
            let eps = args.eps.unwrap_or(RMSNORM_EPS);
            params.insert("eps".into(), json!(eps));
            OpSpec::new(
                "rmsnorm",
                "vector_rmsnorm",
                &[X, GAMMA],
                params,
                move |p, ids| p.rmsnorm(need(ids[0])?, ids[1], eps, dtype_out),
            )
        }
    };
    Ok(spec)
}

/// `--activation` of a fused matmul epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    #[default]
    None,
    Relu,
    Gelu,
    #[value(name = "gelu_tanh", alias = "gelu-tanh")]
    GeluTanh,
    Silu,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::None => Activation::None,
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Gelu => Activation::Gelu,
            ActivationArg::GeluTanh => Activation::GeluTanh,
            ActivationArg::Silu => Activation::Silu,
        }
    }
}

/// The fused epilogue of `davinci op matmul`: `act(acc * scale + bias) + residual`, then one rounding.
#[derive(Args, Clone, Debug)]
pub struct EpilogueFlags {
    /// Multiply the f32 accumulator by this first.
    // A negative scale is legitimate: `--scale -0.5` and `--scale -1e-3` are values, not flags.
    #[arg(long, allow_hyphen_values = true)]
    pub scale: Option<f32>,
    /// Activation after the bias (bias and residual are read from inputs `bias` and `residual` when the
    /// file holds them).
    #[arg(long, value_enum, default_value_t)]
    pub activation: ActivationArg,
}

impl EpilogueFlags {
    pub fn epilogue(&self, bias: Option<TensorId>, residual: Option<TensorId>) -> Epilogue {
        Epilogue {
            scale: self.scale,
            bias,
            activation: self.activation.into(),
            residual,
        }
    }

    /// Adds the flags to a report's parameters.
    pub fn describe(&self, params: &mut Map<String, serde_json::Value>) {
        params.insert(
            "activation".into(),
            json!(Activation::from(self.activation).name()),
        );
        if let Some(s) = self.scale {
            params.insert("scale".into(), json!(s));
        }
    }
}

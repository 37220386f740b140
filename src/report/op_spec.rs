//! What `davinci op NAME` (and [`super::op_run::run`]) knows about each op: the inputs it reads from a
//! tensor file (`x`, `y`, `mask`, `gamma`, `beta`; `a`, `b`, `bias`, `residual` for the matmul; optional ones
//! may be absent), the dtype each is converted to on load, and how the op is recorded into a [`Program`].
//! The Vector ops are [`OpName`]s, so their names are the ones `davinci predict op` and library users type.

use std::str::FromStr;

use serde_json::{Map, Value, json};

use super::ops::OpName;
use crate::program::{Activation, Epilogue, MatmulOptions, Program, TensorId};
use crate::tensor::DType;
use crate::{Error, Result};

/// Default epsilons: torch's LayerNorm and a common RMSNorm setting.
pub const LAYERNORM_EPS: f32 = 1e-5;
pub const RMSNORM_EPS: f32 = 1e-6;

/// An op that runs on tensors from a file: the Cube's matmul (with its fused epilogue) or a Vector op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FileOp {
    /// `cube_matmul`, `act(a x b * scale + bias) + residual`; `dtype_out` of the options is the request's.
    Matmul {
        opts: MatmulOptions,
        scale: Option<f32>,
        activation: Activation,
    },
    Vector(OpName),
}

impl FromStr for FileOp {
    type Err = Error;
    /// `matmul`, or a Vector op's name (`gelu-tanh` for `gelu_tanh` too).
    fn from_str(s: &str) -> Result<Self> {
        if s == "matmul" {
            return Ok(FileOp::Matmul {
                opts: MatmulOptions::default(),
                scale: None,
                activation: Activation::None,
            });
        }
        s.replace('-', "_")
            .parse::<OpName>()
            .map(FileOp::Vector)
            .map_err(|_| {
                let names: Vec<&str> = OpName::all().into_iter().map(OpName::name).collect();
                Error::Usage(format!(
                    "unknown op '{s}'; the ops are matmul, {}",
                    names.join(", ")
                ))
            })
    }
}

/// One input of an op: its name, the dtype it is converted to on load (`None`: kept as stored), and
/// whether the op runs without it when the file lacks it.
pub struct InputSpec {
    pub name: &'static str,
    pub load_as: Option<DType>,
    pub optional: bool,
}

const fn input(name: &'static str, load_as: Option<DType>, optional: bool) -> InputSpec {
    InputSpec {
        name,
        load_as,
        optional,
    }
}

const X: InputSpec = input("x", None, false);
const Y: InputSpec = input("y", None, false);
const MASK: InputSpec = input("mask", None, true);
const GAMMA: InputSpec = input("gamma", None, true);
const BETA: InputSpec = input("beta", None, true);
const MATMUL: &[InputSpec] = &[
    input("a", Some(DType::Bf16), false),
    input("b", Some(DType::Bf16), false),
    input("bias", None, true),
    input("residual", None, true),
];

/// Records an op over the declared inputs (`None` for an optional input the file lacks) and returns its
/// result.
type Recorder = Box<dyn Fn(&mut Program, &[Option<TensorId>]) -> Result<TensorId>>;

/// A required input's handle (always present: the runner refuses a file without it).
fn need(id: Option<TensorId>) -> Result<TensorId> {
    id.ok_or_else(|| Error::Program("a required input is missing".to_string()))
}

/// What the runner needs to know about an op.
pub struct OpSpec {
    /// The name on the command line.
    pub cli_name: &'static str,
    /// The kernel name (shader, CPU twin, bench).
    pub kernel: &'static str,
    pub inputs: &'static [InputSpec],
    /// Parameters for the report.
    pub params: Map<String, Value>,
    pub record: Recorder,
}

impl OpSpec {
    /// The spec of `op` with result dtype `dtype_out` and, for the norms, `eps` (their default otherwise).
    pub fn of(op: FileOp, dtype_out: DType, eps: Option<f32>) -> Result<OpSpec> {
        let mut params = Map::new();
        let is_norm = matches!(op, FileOp::Vector(OpName::LayerNorm | OpName::RmsNorm));
        if eps.is_some() && !is_norm {
            return Err(Error::Usage(
                "--eps applies to layernorm and rmsnorm only".into(),
            ));
        }
        let spec = |cli_name, kernel, inputs, params, record: Recorder| OpSpec {
            cli_name,
            kernel,
            inputs,
            params,
            record,
        };
        let name = match op {
            FileOp::Matmul { .. } => "matmul",
            FileOp::Vector(o) => o.name(),
        };
        let kernel = match op {
            FileOp::Matmul { .. } => "cube_matmul",
            FileOp::Vector(o) => o.kernel(),
        };
        let op = match op {
            FileOp::Matmul {
                opts,
                scale,
                activation,
            } => {
                let opts = MatmulOptions { dtype_out, ..opts };
                params.insert("dtype_out".into(), json!(opts.dtype_out.name()));
                params.insert("accumulate".into(), json!(opts.accumulate.name()));
                params.insert("trans_a".into(), json!(opts.trans_a));
                params.insert("trans_b".into(), json!(opts.trans_b));
                params.insert("activation".into(), json!(activation.name()));
                if let Some(s) = scale {
                    params.insert("scale".into(), json!(s));
                }
                let record = move |p: &mut Program, ids: &[Option<TensorId>]| {
                    let e = Epilogue {
                        scale,
                        bias: ids[2],
                        activation,
                        residual: ids[3],
                    };
                    p.cube_matmul_fused(need(ids[0])?, need(ids[1])?, opts, e)
                };
                return Ok(spec(name, kernel, MATMUL, params, Box::new(record)));
            }
            FileOp::Vector(o) => o,
        };
        params.insert("dtype_out".into(), json!(dtype_out.name()));
        let d = dtype_out;
        let (inputs, record): (&'static [InputSpec], Recorder) = match op {
            OpName::Cast => (&[X], Box::new(move |p, ids| p.cast(need(ids[0])?, d))),
            OpName::Unary(f) => (&[X], Box::new(move |p, ids| p.unary(f, need(ids[0])?, d))),
            OpName::Binary(f) => (
                &[X, Y],
                Box::new(move |p, ids| p.binary(f, need(ids[0])?, need(ids[1])?, d)),
            ),
            OpName::Reduce(f) => (&[X], Box::new(move |p, ids| p.reduce(f, need(ids[0])?, d))),
            OpName::Softmax => (
                &[X, MASK],
                Box::new(move |p, ids| p.softmax(need(ids[0])?, ids[1], d)),
            ),
            OpName::LayerNorm => {
                let eps = eps.unwrap_or(LAYERNORM_EPS);
                params.insert("eps".into(), json!(eps));
                (
                    &[X, GAMMA, BETA],
                    Box::new(move |p, ids| p.layernorm(need(ids[0])?, ids[1], ids[2], eps, d)),
                )
            }
            OpName::RmsNorm => {
                let eps = eps.unwrap_or(RMSNORM_EPS);
                params.insert("eps".into(), json!(eps));
                (
                    &[X, GAMMA],
                    Box::new(move |p, ids| p.rmsnorm(need(ids[0])?, ids[1], eps, d)),
                )
            }
        };
        Ok(spec(name, kernel, inputs, params, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_either_spelling_and_unknown_ones_list_the_ops() {
        assert!(matches!(
            "matmul".parse::<FileOp>(),
            Ok(FileOp::Matmul { .. })
        ));
        assert_eq!(
            "gelu-tanh".parse::<FileOp>().unwrap(),
            "gelu_tanh".parse::<FileOp>().unwrap()
        );
        let e = "frobnicate".parse::<FileOp>().unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("softmax"), "{e}");
    }

    #[test]
    fn eps_is_for_the_norms_only() {
        let exp = "exp".parse::<FileOp>().unwrap();
        assert!(OpSpec::of(exp, DType::F32, Some(1e-5)).is_err());
        let ln = "layernorm".parse::<FileOp>().unwrap();
        let s = OpSpec::of(ln, DType::F32, None).unwrap();
        assert_eq!(s.params["eps"], json!(LAYERNORM_EPS));
        assert_eq!(s.inputs.len(), 3);
    }
}

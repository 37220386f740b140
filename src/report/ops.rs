//! The Vector-unit ops by name, as `davinci predict op NAME SHAPE` and library users name them: [`OpName`]
//! parses a name (`exp`, `add`, `sum`, `softmax`, ...) and [`OpName::record`] records the op on an input
//! of a given shape (norms get gamma, and layernorm beta, of the last axis' length, as a layer has them).

use std::fmt;
use std::str::FromStr;

use crate::program::{BinaryFn, Program, ReduceFn, TensorId, UnaryFn};
use crate::tensor::{DType, Shape};
use crate::{Error, Result};

/// The epsilon the norms are recorded with (it does not change the timing).
const EPS: f32 = 1e-5;

/// A Vector-unit op, by its name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OpName {
    /// f32 <-> bf16.
    Cast,
    Unary(UnaryFn),
    Binary(BinaryFn),
    Reduce(ReduceFn),
    Softmax,
    LayerNorm,
    RmsNorm,
}

impl OpName {
    /// Every op, in the order the error for an unknown name lists them.
    pub fn all() -> Vec<OpName> {
        let mut v = vec![OpName::Cast];
        v.extend(UnaryFn::ALL.map(OpName::Unary));
        v.extend(BinaryFn::ALL.map(OpName::Binary));
        v.extend(ReduceFn::ALL.map(OpName::Reduce));
        v.extend([OpName::Softmax, OpName::LayerNorm, OpName::RmsNorm]);
        v
    }

    pub fn name(self) -> &'static str {
        match self {
            OpName::Cast => "cast",
            OpName::Unary(f) => f.name(),
            OpName::Binary(f) => f.name(),
            OpName::Reduce(f) => f.name(),
            OpName::Softmax => "softmax",
            OpName::LayerNorm => "layernorm",
            OpName::RmsNorm => "rmsnorm",
        }
    }

    /// The kernel that runs it (shader, CPU twin, bench): `cast` for the casts, `vector_<family>` else.
    pub fn kernel(self) -> &'static str {
        match self {
            OpName::Cast => "cast",
            OpName::Unary(_) => "vector_unary",
            OpName::Binary(_) => "vector_binary",
            OpName::Reduce(_) => "vector_reduce",
            OpName::Softmax => "vector_softmax",
            OpName::LayerNorm => "vector_layernorm",
            OpName::RmsNorm => "vector_rmsnorm",
        }
    }

    /// What the op computes, in one line (the CLI's help lists them).
    pub fn describe(self) -> &'static str {
        use crate::program::{BinaryFn as B, ReduceFn as R, UnaryFn as U};
        match self {
            OpName::Cast => {
                "x cast to --dtype-out (f32 -> bf16 rounds to nearest even; bf16 -> f32 is exact)"
            }
            OpName::Binary(B::Add) => "x + y (numpy broadcasting)",
            OpName::Binary(B::Sub) => "x - y (numpy broadcasting)",
            OpName::Binary(B::Mul) => "x * y (numpy broadcasting)",
            OpName::Binary(B::Div) => "x / y, correctly rounded (numpy broadcasting)",
            OpName::Binary(B::Max) => "max(x, y), NaN if either is NaN (numpy broadcasting)",
            OpName::Binary(B::Min) => "min(x, y), NaN if either is NaN (numpy broadcasting)",
            OpName::Binary(B::ReluGrad) => "dy where x > 0, else 0 (relu's backward; y holds dy)",
            OpName::Binary(B::SiluGrad) => "dy * silu'(x) (silu's backward; y holds dy)",
            OpName::Binary(B::GeluGrad) => "dy * gelu'(x) (exact GELU's backward; y holds dy)",
            OpName::Binary(B::GeluTanhGrad) => "dy * gelu_tanh'(x) (y holds dy)",
            OpName::Unary(U::Neg) => "-x",
            OpName::Unary(U::Abs) => "|x|",
            OpName::Unary(U::Exp) => "e^x",
            OpName::Unary(U::Log) => "ln x",
            OpName::Unary(U::Sqrt) => "sqrt x, correctly rounded",
            OpName::Unary(U::Rsqrt) => "1 / sqrt x",
            OpName::Unary(U::Recip) => "1 / x, correctly rounded",
            OpName::Unary(U::Tanh) => "tanh x",
            OpName::Unary(U::Sigmoid) => "1 / (1 + e^-x)",
            OpName::Unary(U::Relu) => "max(x, 0)",
            OpName::Unary(U::Silu) => "x * sigmoid(x)",
            OpName::Unary(U::Gelu) => "GELU, exact: 0.5 x erfc(-x / sqrt 2)",
            OpName::Unary(U::GeluTanh) => "GELU, tanh approximation",
            OpName::Unary(U::Erf) => "erf x (the error function)",
            OpName::Reduce(R::Sum) => "sum over the last axis (which the result drops)",
            OpName::Reduce(R::Mean) => "mean over the last axis",
            OpName::Reduce(R::Amax) => "maximum over the last axis",
            OpName::Reduce(R::SumSq) => "sum of squares over the last axis",
            OpName::Softmax => {
                "softmax over the last axis of x + mask (mask optional, broadcast to x)"
            }
            OpName::LayerNorm => {
                "layernorm over the last axis (biased variance; gamma and beta optional; --eps, default 1e-5)"
            }
            OpName::RmsNorm => "RMSNorm over the last axis (gamma optional; --eps, default 1e-6)",
        }
    }

    /// Records the op on `x` (of `shape` and `dt`) and returns its result. `dtype_out` is the input's by
    /// default (for a cast, the other dtype); `other` is a binary op's second shape (x's by default).
    pub fn record(
        self,
        p: &mut Program,
        x: TensorId,
        shape: &Shape,
        dt: DType,
        dtype_out: Option<DType>,
        other: Option<&Shape>,
    ) -> Result<TensorId> {
        let usage = |e: Error| Error::Usage(e.to_string());
        let name = self.name();
        if other.is_some() && !matches!(self, OpName::Binary(_)) {
            return Err(Error::Usage(format!(
                "--other is for binary ops only, and {name} is not one"
            )));
        }
        let last = shape.dims().last().copied().unwrap_or(1);
        let out = dtype_out.unwrap_or(dt);
        match self {
            OpName::Cast => {
                let to = dtype_out.unwrap_or(match dt {
                    DType::F32 => DType::Bf16,
                    _ => DType::F32,
                });
                if to == dt {
                    return Err(Error::Usage(format!(
                        "cast from {dt} to {to} does nothing; give --dtype-out the other dtype"
                    )));
                }
                p.cast(x, to).map_err(usage)
            }
            OpName::Unary(f) => p.unary(f, x, out).map_err(usage),
            OpName::Binary(f) => {
                let y = p.input("y", other.unwrap_or(shape).clone(), dt);
                p.binary(f, x, y, out).map_err(usage)
            }
            OpName::Reduce(f) => p.reduce(f, x, out).map_err(usage),
            OpName::Softmax => p.softmax(x, None, out).map_err(usage),
            OpName::LayerNorm => {
                let g = p.input("gamma", [last], dt);
                let b = p.input("beta", [last], dt);
                p.layernorm(x, Some(g), Some(b), EPS, out).map_err(usage)
            }
            OpName::RmsNorm => {
                let g = p.input("gamma", [last], dt);
                p.rmsnorm(x, Some(g), EPS, out).map_err(usage)
            }
        }
    }
}

impl FromStr for OpName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        OpName::all()
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = OpName::all().into_iter().map(OpName::name).collect();
                Error::Usage(format!(
                    "unknown op '{s}'; the ops are {}",
                    names.join(", ")
                ))
            })
    }
}

impl fmt::Display for OpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `4096x4096` (or `4096,4096`) into a shape of positive sizes.
pub fn parse_shape(s: &str) -> Result<Shape> {
    let dims: std::result::Result<Vec<usize>, _> = s
        .split(['x', ','])
        .map(|d| d.trim().parse::<usize>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&x| x > 0) => Ok(Shape::new(d)),
        _ => Err(Error::Usage(format!(
            "'{s}' is not a shape: give positive sizes joined by x, e.g. 4096x4096"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_unknown_ones_list_the_ops() {
        for op in OpName::all() {
            assert_eq!(op.name().parse::<OpName>().ok(), Some(op));
        }
        let e = "nope".parse::<OpName>().unwrap_err().to_string();
        assert!(e.contains("softmax") && e.contains("exp"), "{e}");
        assert!(parse_shape("4x0").is_err() && parse_shape("").is_err());
        assert_eq!(parse_shape("2x3,4").unwrap().dims(), &[2, 3, 4]);
    }
}

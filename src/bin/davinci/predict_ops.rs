//! The ops `davinci predict op NAME SHAPE` knows, by name: how each is recorded on an input of the given
//! shape (norms get gamma, and layernorm beta, of the last axis' length, as a layer has them).

use davinci::{BinaryFn, DType, Program, ReduceFn, Shape, TensorId, UnaryFn};

use super::predict::{PredictOpArgs, parse_shape};
use crate::common::CliError;

/// The epsilon the norms are recorded with (it does not change the timing).
const EPS: f32 = 1e-5;

/// Every name, for the error that lists them.
fn names() -> Vec<&'static str> {
    let mut v = vec!["cast"];
    v.extend(UnaryFn::ALL.iter().map(|f| f.name()));
    v.extend(BinaryFn::ALL.iter().map(|f| f.name()));
    v.extend(ReduceFn::ALL.iter().map(|f| f.name()));
    v.extend(["softmax", "layernorm", "rmsnorm"]);
    v
}

/// Records op `args.name` on `x` and returns its result.
pub fn record(
    p: &mut Program,
    args: &PredictOpArgs,
    x: TensorId,
    shape: &Shape,
    dt: DType,
) -> Result<TensorId, CliError> {
    let name = args.name.as_str();
    let out_dt = args.dtype_out.map(DType::from);
    let usage = |e: davinci::Error| CliError::usage(e.to_string());
    let last = shape.dims().last().copied().unwrap_or(1);
    let dtype_out = out_dt.unwrap_or(dt);
    if args.other.is_some() && !BinaryFn::ALL.iter().any(|f| f.name() == name) {
        return Err(CliError::usage(format!(
            "--other is for binary ops only, and {name} is not one"
        )));
    }
    if name == "cast" {
        let to = out_dt.unwrap_or(match dt {
            DType::Bf16 => DType::F32,
            DType::F32 => DType::Bf16,
        });
        if to == dt {
            return Err(CliError::usage(format!(
                "cast from {dt} to {to} does nothing; give --dtype-out the other dtype"
            )));
        }
        return p.cast(x, to).map_err(usage);
    }
    if let Some(f) = UnaryFn::ALL.iter().find(|f| f.name() == name) {
        return p.unary(*f, x, dtype_out).map_err(usage);
    }
    if let Some(f) = BinaryFn::ALL.iter().find(|f| f.name() == name) {
        let other = match &args.other {
            Some(s) => parse_shape(s)?,
            None => shape.clone(),
        };
        let y = p.input("y", other, dt);
        return p.binary(*f, x, y, dtype_out).map_err(usage);
    }
    if let Some(f) = ReduceFn::ALL.iter().find(|f| f.name() == name) {
        return p.reduce(*f, x, dtype_out).map_err(usage);
    }
    match name {
        "softmax" => p.softmax(x, None, dtype_out).map_err(usage),
        "layernorm" => {
            let g = p.input("gamma", [last], dt);
            let b = p.input("beta", [last], dt);
            p.layernorm(x, Some(g), Some(b), EPS, dtype_out)
                .map_err(usage)
        }
        "rmsnorm" => {
            let g = p.input("gamma", [last], dt);
            p.rmsnorm(x, Some(g), EPS, dtype_out).map_err(usage)
        }
        _ => Err(CliError::usage(format!(
            "unknown op '{name}'; the ops are {}",
            names().join(", ")
        ))),
    }
}

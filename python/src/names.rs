//! Python's names for the library's enums (the kernel's function names, as the CLI takes them), with
//! errors that list what is accepted.

use davinci::program::{Activation, BinaryFn, ReduceFn, UnaryFn};
use davinci::report::ops::OpName;
use davinci::{Accumulation, CubeFormat};
use pyo3::prelude::*;

use crate::errors::{to_py, usage};

fn find<T: Copy>(what: &str, name: &str, all: &[T], name_of: fn(T) -> &'static str) -> PyResult<T> {
    all.iter()
        .copied()
        .find(|f| name_of(*f) == name)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|f| name_of(*f)).collect();
            usage(format!(
                "unknown {what} '{name}': expected one of {}",
                names.join(", ")
            ))
        })
}

pub fn unary(name: &str) -> PyResult<UnaryFn> {
    find("unary op", name, &UnaryFn::ALL, UnaryFn::name)
}

pub fn binary(name: &str) -> PyResult<BinaryFn> {
    find("binary op", name, &BinaryFn::ALL, BinaryFn::name)
}

pub fn reduce(name: &str) -> PyResult<ReduceFn> {
    find("reduction", name, &ReduceFn::ALL, ReduceFn::name)
}

/// `None` (Python's) and `"none"` are no activation.
pub fn activation(name: Option<&str>) -> PyResult<Activation> {
    match name {
        None => Ok(Activation::None),
        Some(n) => find("activation", n, &Activation::ALL, Activation::name),
    }
}

pub fn accumulation(name: &str) -> PyResult<Accumulation> {
    name.parse().map_err(to_py)
}

pub fn format(name: Option<&str>) -> PyResult<Option<CubeFormat>> {
    name.map(|n| n.parse().map_err(to_py)).transpose()
}

/// Every Vector op (but the cast) as (family, name, what it computes), from the library's own table.
pub fn vector_ops() -> Vec<(&'static str, &'static str, &'static str)> {
    OpName::all()
        .into_iter()
        .filter_map(|op| {
            let family = match op {
                OpName::Cast => return None,
                OpName::Unary(_) => "unary",
                OpName::Binary(_) => "binary",
                OpName::Reduce(_) => "reduce",
                OpName::Softmax | OpName::LayerNorm | OpName::RmsNorm => "rows",
            };
            Some((family, op.name(), op.describe()))
        })
        .collect()
}

//! Parameters: named f32 master weights, in the order they were added. The Cube reads bf16 copies of them
//! (a `cast` recorded by [`Tape::param`](super::Tape::param) each step); gradients and the optimizer work
//! on the f32 masters, as Ascend's mixed-precision training does.

use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Named f32 tensors that training updates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    entries: Vec<(String, Tensor)>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter; bf16 values are widened to f32 (exact). A name can be added once.
    pub fn add(&mut self, name: impl Into<String>, value: Tensor) -> Result<()> {
        let name = name.into();
        if self.index(&name).is_some() {
            return Err(Error::Invalid(format!(
                "params: a parameter named '{name}' already exists"
            )));
        }
        if value.numel() == 0 {
            return Err(Error::Invalid(format!(
                "params: '{name}' {} has no elements",
                value.shape()
            )));
        }
        let value = master(value)?;
        self.entries.push((name, value));
        Ok(())
    }

    /// The master weight named `name`.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.index(name)
            .map(|i| &self.entries[i].1)
            .ok_or_else(|| self.unknown(name))
    }

    /// Replaces a parameter's value; the shape must stay the same (bf16 values are widened to f32).
    pub fn set(&mut self, name: &str, value: Tensor) -> Result<()> {
        let i = self.index(name).ok_or_else(|| self.unknown(name))?;
        let old = &self.entries[i].1;
        if value.shape() != old.shape() {
            return Err(Error::shape(
                "params",
                format!(
                    "'{name}' is {} but a value of shape {} was given",
                    old.shape(),
                    value.shape()
                ),
            ));
        }
        self.entries[i].1 = master(value)?;
        Ok(())
    }

    /// Position of `name`, if present.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }

    /// Names in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(n, t)| (n.as_str(), t))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Elements over all parameters.
    pub fn numel(&self) -> usize {
        self.entries.iter().map(|(_, t)| t.numel()).sum()
    }

    fn unknown(&self, name: &str) -> Error {
        let known: Vec<&str> = self.names().collect();
        Error::Invalid(format!(
            "params: no parameter named '{name}' (known: {})",
            known.join(", ")
        ))
    }
}

/// `t` as an f32 tensor.
fn master(t: Tensor) -> Result<Tensor> {
    Ok(match t.dtype() {
        DType::F32 => t,
        _ => Tensor::from_f32(t.shape().clone(), t.to_f32_vec())?,
    })
}

//! Losses, recorded from Vector ops so the tape differentiates them like any layer.
//!
//! [`cross_entropy`] over logits `[T, V]` and target ids: `mean_t (lse_t - (x_t[target_t] - m_t))` with
//! `m_t = max(x_t)` (detached: it only shifts the values), `lse_t = log sum exp(x_t - m_t)`, all in f32.
//! Its recorded gradient is `(softmax(x_t) - onehot(target_t)) / T`, up to f32 rounding.

use super::Tape;
use crate::program::{BinaryFn, ReduceFn, TensorId, UnaryFn};
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

const F32: DType = DType::F32;

/// The mean cross-entropy of `logits` (`[T, V]`, any dtype) against `targets` (T ids below V): a `[1]`
/// f32 tensor.
pub fn cross_entropy(tape: &mut Tape, logits: TensorId, targets: &[u32]) -> Result<TensorId> {
    let d = tape.program().desc(logits)?.clone();
    let [t, v] = *d.shape.dims() else {
        return Err(Error::shape(
            "cross_entropy",
            format!("logits must be [tokens, vocab], got {}", d.shape),
        ));
    };
    if targets.len() != t {
        return Err(Error::shape(
            "cross_entropy",
            format!(
                "{} targets were given for logits {} ({t} tokens)",
                targets.len(),
                d.shape
            ),
        ));
    }
    if let Some((i, &id)) = targets
        .iter()
        .enumerate()
        .find(|(_, id)| **id as usize >= v)
    {
        return Err(Error::shape(
            "cross_entropy",
            format!("target {id} (position {i}) is not below the vocabulary size {v}"),
        ));
    }
    let mut onehot = vec![0f32; t * v];
    for (i, &id) in targets.iter().enumerate() {
        onehot[i * v + id as usize] = 1.0;
    }
    let onehot = tape.input(
        "targets_onehot",
        Tensor::from_f32(Shape::new([t, v]), onehot)?,
    );
    let p = &mut tape.graph.program;
    let m = p.reduce(ReduceFn::Amax, logits, F32)?;
    let m = p.reshape(m, [t, 1])?;
    tape.detach(m)?;
    let p = &mut tape.graph.program;
    let xs = p.binary(BinaryFn::Sub, logits, m, F32)?;
    let e = p.unary(UnaryFn::Exp, xs, F32)?;
    let s = p.reduce(ReduceFn::Sum, e, F32)?;
    let lse = p.unary(UnaryFn::Log, s, F32)?;
    let picked = p.binary(BinaryFn::Mul, xs, onehot, F32)?;
    let picked = p.reduce(ReduceFn::Sum, picked, F32)?;
    let per_token = p.binary(BinaryFn::Sub, lse, picked, F32)?;
    let per_token = p.reshape(per_token, [1, t])?;
    p.reduce(ReduceFn::Mean, per_token, F32)
}

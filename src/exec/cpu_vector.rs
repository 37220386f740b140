//! The CPU executor's Vector-unit ops and `cube_matmul` epilogues: inputs widened to f32 (exact), the twin
//! run, and the f32 result rounded once to the op's output dtype.

use crate::numerics::formats::i32_to_f32_bits;
use crate::program::{
    Epilogue, MatmulOp, MoveKind, MoveOp, RopeOp, Rounding, VectorKind, VectorOp,
};
use std::borrow::Cow;

use crate::reference::Elem;
use crate::reference::cast_bf16_f32::cast_bf16_f32;
use crate::reference::cast_f32_bf16::cast_f32_bf16;
use crate::reference::cast_formats::cast_formats;
use crate::reference::cube_matmul::dequant;
use crate::reference::mte_concat::mte_concat;
use crate::reference::mte_gather::mte_gather;
use crate::reference::mte_permute::mte_permute;
use crate::reference::vector_epilogue::{EpilogueInputs, vector_epilogue};
use crate::reference::vector_rope::{rope_as, vector_rope};
use crate::reference::{
    vector_binary, vector_layernorm, vector_reduce, vector_rmsnorm, vector_softmax, vector_unary,
};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// Looks up a tensor by handle during a run.
pub(super) type Lookup<'a> = dyn Fn(crate::program::TensorId) -> Result<&'a Tensor> + 'a;

/// An f32 result as a tensor of `dtype` (one rounding, nearest even, for the narrower ones).
pub(super) fn finish(shape: Shape, values: Vec<f32>, dtype: DType) -> Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::from_f32(shape, values),
        DType::Bf16 => Tensor::from_bf16(shape, cast_f32_bf16(&values)),
        other => Tensor::new(
            shape,
            cast_formats(&TensorData::F32(values), other, Rounding::Nearest, 0),
        ),
    }
}

/// A tensor's values as f32: an f32 tensor's own slice (no copy), others widened exactly (bf16 on all
/// cores, by the `cast_bf16_f32` twin).
pub(super) fn f32_values(t: &Tensor) -> Cow<'_, [f32]> {
    match t.data() {
        TensorData::F32(v) => Cow::Borrowed(v),
        TensorData::Bf16(v) => Cow::Owned(cast_bf16_f32(v)),
        _ => Cow::Owned(t.to_f32_vec()),
    }
}

/// An optional operand (y, a mask, gamma, beta) as f32 ([`f32_values`]).
fn optional_f32<'a>(
    get: &Lookup<'a>,
    id: Option<crate::program::TensorId>,
) -> Result<Option<Cow<'a, [f32]>>> {
    id.map(|id| get(id).map(f32_values)).transpose()
}

/// Runs one Vector-unit op.
pub(super) fn run_vector(op: &VectorOp, out_shape: Shape, get: &Lookup<'_>) -> Result<Tensor> {
    if matches!(op.kind, VectorKind::Unary(_) | VectorKind::Binary(_)) {
        let y = op.y.map(get).transpose()?;
        if let Some(done) = super::cpu_elementwise::run(op, &out_shape, get(op.x)?, y) {
            return done;
        }
    }
    if let Some(done) = run_rows_stored(op, &out_shape, get)? {
        return Ok(done);
    }
    let x = f32_values(get(op.x)?);
    let opt = |id| optional_f32(get, id);
    let values = match op.kind {
        VectorKind::Unary(f) => vector_unary::vector_unary(f, &x),
        VectorKind::Binary(f) => {
            let y = opt(op.y)?.ok_or_else(|| missing(op, "y"))?;
            vector_binary::vector_binary(f, &x, &y, &op.bcast, out_shape.numel())
        }
        VectorKind::Reduce(f) => vector_reduce::vector_reduce(f, &x, op.len),
        VectorKind::Softmax => {
            let mask = opt(op.mask)?;
            vector_softmax::vector_softmax(&x, mask.as_deref(), &op.bcast, op.len)
        }
        VectorKind::LayerNorm { eps } => {
            let (g, b) = (opt(op.gamma)?, opt(op.beta)?);
            vector_layernorm::vector_layernorm(&x, g.as_deref(), b.as_deref(), eps, op.len)
        }
        VectorKind::RmsNorm { eps } => {
            let g = opt(op.gamma)?;
            vector_rmsnorm::vector_rmsnorm(&x, g.as_deref(), eps, op.len)
        }
    };
    finish(out_shape, values, op.dtype_out)
}

/// Softmax and the norms with a bf16 side (x or the result, the other bf16 or f32): x read as stored and
/// the result rounded row by row (`reference::Elem`), no whole-tensor f32 copies; `None` for other ops or
/// dtypes, which take the widen-compute-round path.
fn run_rows_stored(op: &VectorOp, shape: &Shape, get: &Lookup<'_>) -> Result<Option<Tensor>> {
    if !matches!(
        op.kind,
        VectorKind::Softmax | VectorKind::LayerNorm { .. } | VectorKind::RmsNorm { .. }
    ) {
        return Ok(None);
    }
    let x = get(op.x)?;
    Ok(match (x.data(), op.dtype_out) {
        (TensorData::F32(v), DType::Bf16) => {
            Some(Tensor::from_bf16(shape.clone(), rows_as(op, v, get)?)?)
        }
        (TensorData::Bf16(v), DType::Bf16) => {
            Some(Tensor::from_bf16(shape.clone(), rows_as(op, v, get)?)?)
        }
        (TensorData::Bf16(v), DType::F32) => {
            Some(Tensor::from_f32(shape.clone(), rows_as(op, v, get)?)?)
        }
        _ => None,
    })
}

/// One row op over x stored as `T`, its result as `U`; gamma, beta and the mask widened whole (they are
/// a row, or a mask, not the tensor).
fn rows_as<T: Elem, U: Elem>(op: &VectorOp, x: &[T], get: &Lookup<'_>) -> Result<Vec<U>> {
    let opt = |id| optional_f32(get, id);
    Ok(match op.kind {
        VectorKind::Softmax => {
            let mask = opt(op.mask)?;
            vector_softmax::softmax_as(x, mask.as_deref(), &op.bcast, op.len)
        }
        VectorKind::LayerNorm { eps } => {
            let (g, b) = (opt(op.gamma)?, opt(op.beta)?);
            vector_layernorm::layernorm_as(x, g.as_deref(), b.as_deref(), eps, op.len)
        }
        VectorKind::RmsNorm { eps } => {
            let g = opt(op.gamma)?;
            vector_rmsnorm::rmsnorm_as(x, g.as_deref(), eps, op.len)
        }
        _ => unreachable!("run_rows_stored takes softmax and the norms"),
    })
}

/// Turns a matmul's accumulator (f32, or int32 for int8) into its result: the raw int32, or FixPipe's
/// dequantisation (int8), the epilogue, and one rounding to the output dtype.
pub(super) fn finish_matmul(mm: &MatmulOp, acc: TensorData, get: &Lookup<'_>) -> Result<Tensor> {
    let shape = mm.geometry.out_shape();
    let mut acc = match (acc, mm.dequant) {
        (TensorData::I32(v), _) if mm.options.dtype_out == DType::I32 => {
            return Tensor::new(shape, TensorData::I32(v));
        }
        (TensorData::I32(v), Some(dq)) => {
            let channel = get(dq.channel)?.to_f32_vec();
            let token = dq
                .token
                .map(|t| get(t).map(|t| t.to_f32_vec()))
                .transpose()?;
            dequant(&v, mm.geometry.n, &channel, token.as_deref())
        }
        (TensorData::I32(v), None) => v
            .iter()
            .map(|&x| f32::from_bits(i32_to_f32_bits(x)))
            .collect(),
        (TensorData::F32(v), _) => v,
        (other, _) => {
            return Err(Error::Program(format!(
                "cube_matmul: an accumulator of {} cannot be",
                other.dtype()
            )));
        }
    };
    let Epilogue {
        scale,
        bias,
        activation,
        residual,
    } = mm.epilogue;
    if !mm.epilogue.is_identity() {
        let bias = bias.map(|id| get(id).map(|t| t.to_f32_vec())).transpose()?;
        let residual = residual
            .map(|id| get(id).map(|t| t.to_f32_vec()))
            .transpose()?;
        let inputs = EpilogueInputs {
            scale,
            bias: bias.as_deref(),
            activation,
            residual: residual.as_deref(),
        };
        vector_epilogue(&mut acc, mm.geometry.n, &inputs);
    }
    finish(shape, acc, mm.options.dtype_out)
}

fn missing(op: &VectorOp, what: &str) -> Error {
    Error::Program(format!(
        "{}: the operand {what} was not recorded",
        op.kind.name()
    ))
}

/// Runs one data movement: bits are copied, never converted.
pub(super) fn run_move(op: &MoveOp, out_shape: Shape, get: &Lookup<'_>) -> Result<Tensor> {
    let x = get(op.input)?;
    let data = match (&op.kind, x.data()) {
        (MoveKind::Reshape, d) => d.clone(),
        (MoveKind::Permute { bcast, .. }, TensorData::F32(v)) => {
            TensorData::F32(mte_permute(v, bcast))
        }
        (MoveKind::Permute { bcast, .. }, TensorData::Bf16(v)) => {
            TensorData::Bf16(mte_permute(v, bcast))
        }
        (MoveKind::GatherRows { ids, width }, TensorData::F32(v)) => {
            TensorData::F32(mte_gather(v, ids, *width))
        }
        (MoveKind::GatherRows { ids, width }, TensorData::Bf16(v)) => {
            TensorData::Bf16(mte_gather(v, ids, *width))
        }
        (
            MoveKind::Concat {
                other,
                width,
                other_width,
            },
            d,
        ) => {
            let y = get(*other)?;
            match (d, y.data()) {
                (TensorData::F32(a), TensorData::F32(b)) => {
                    TensorData::F32(mte_concat(a, b, *width, *other_width))
                }
                (TensorData::Bf16(a), TensorData::Bf16(b)) => {
                    TensorData::Bf16(mte_concat(a, b, *width, *other_width))
                }
                (a, b) => {
                    return Err(Error::dtype(
                        "concat",
                        format!(
                            "both inputs bf16 or both f32, got {} and {}",
                            a.dtype(),
                            b.dtype()
                        ),
                    ));
                }
            }
        }
        (kind, d) => {
            return Err(Error::dtype(
                kind.name(),
                format!("moves take bf16 or f32 tensors, got {}", d.dtype()),
            ));
        }
    };
    Tensor::new(out_shape, data)
}

/// Runs one rotary embedding: x read as stored where it is bf16 or f32 and the result rounded row by row
/// where it is bf16 or f32 (`reference::Elem`); other dtypes through f32.
pub(super) fn run_rope(op: &RopeOp, get: &Lookup<'_>) -> Result<Tensor> {
    let x = get(op.x)?;
    let shape = x.shape().clone();
    let (cos, sin) = (f32_values(get(op.cos)?), f32_values(get(op.sin)?));
    match (x.data(), op.dtype_out) {
        (TensorData::Bf16(v), DType::Bf16) => Tensor::from_bf16(shape, rope_as(op, v, &cos, &sin)),
        (TensorData::Bf16(v), DType::F32) => Tensor::from_f32(shape, rope_as(op, v, &cos, &sin)),
        (TensorData::F32(v), DType::Bf16) => Tensor::from_bf16(shape, rope_as(op, v, &cos, &sin)),
        _ => finish(
            shape,
            vector_rope(op, &f32_values(x), &cos, &sin),
            op.dtype_out,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::program::Program;
    use crate::reference::{vector_layernorm, vector_rmsnorm, vector_softmax};
    use crate::tensor::random::gen_bf16;
    use crate::{CpuExecutor, DType, Executor, Tensor};

    /// Row ops on stored bf16 against widening everything, the f32 twin, and one rounding.
    #[test]
    fn rows_read_as_stored_give_the_bits_of_the_widened_path() {
        let (rows, len) = (67, 300);
        for (xd, out) in [
            (DType::Bf16, DType::Bf16),
            (DType::Bf16, DType::F32),
            (DType::F32, DType::Bf16),
        ] {
            let mk = |seed, shape: Vec<usize>, d: DType| {
                let t = gen_bf16(seed, crate::Shape::new(shape.clone()), 4.0);
                if d == DType::F32 {
                    Tensor::from_f32(crate::Shape::new(shape), t.to_f32_vec()).unwrap()
                } else {
                    t
                }
            };
            let x = mk(1, vec![rows, len], xd);
            let (mask, g, b) = (
                mk(2, vec![len], DType::F32),
                mk(3, vec![len], DType::Bf16),
                mk(4, vec![len], DType::Bf16),
            );
            let mut p = Program::new();
            let xi = p.input("x", [rows, len], xd);
            let mi = p.input("mask", [len], DType::F32);
            let (gi, bi) = (
                p.input("g", [len], DType::Bf16),
                p.input("b", [len], DType::Bf16),
            );
            let s = p.softmax(xi, Some(mi), out).unwrap();
            let l = p.layernorm(xi, Some(gi), Some(bi), 1e-5, out).unwrap();
            let r = p.rmsnorm(xi, Some(gi), 1e-6, out).unwrap();
            for o in [s, l, r] {
                p.output(o).unwrap();
            }
            let got = CpuExecutor.run(&p, &[&x, &mask, &g, &b]).unwrap();
            let (xf, mf, gf, bf) = (
                x.to_f32_vec(),
                mask.to_f32_vec(),
                g.to_f32_vec(),
                b.to_f32_vec(),
            );
            let plan =
                crate::program::broadcast::plan("softmax", x.shape(), &[x.shape(), mask.shape()])
                    .unwrap();
            let want = [
                vector_softmax::vector_softmax(&xf, Some(&mf), &plan, len),
                vector_layernorm::vector_layernorm(&xf, Some(&gf), Some(&bf), 1e-5, len),
                vector_rmsnorm::vector_rmsnorm(&xf, Some(&gf), 1e-6, len),
            ];
            for (i, w) in want.into_iter().enumerate() {
                let w = super::finish(x.shape().clone(), w, out).unwrap();
                assert_eq!(got[i].bits(), w.bits(), "op {i}: {xd} -> {out}");
            }
        }
    }
}

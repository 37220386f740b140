//! The CPU executor's Vector-unit ops and `cube_matmul` epilogues: inputs widened to f32 (exact), the twin
//! run, and the f32 result rounded once to the op's output dtype.

use crate::program::{Epilogue, MatmulOp, MoveKind, MoveOp, RopeOp, VectorKind, VectorOp};
use crate::reference::cast_f32_bf16::cast_f32_bf16;
use crate::reference::mte_gather::mte_gather;
use crate::reference::mte_permute::mte_permute;
use crate::reference::vector_epilogue::{EpilogueInputs, vector_epilogue};
use crate::reference::vector_rope::vector_rope;
use crate::reference::{
    vector_binary, vector_layernorm, vector_reduce, vector_rmsnorm, vector_softmax, vector_unary,
};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// Looks up a tensor by handle during a run.
pub(super) type Lookup<'a> = dyn Fn(crate::program::TensorId) -> Result<&'a Tensor> + 'a;

/// An f32 result as a tensor of `dtype` (one rounding for bf16).
pub(super) fn finish(shape: Shape, values: Vec<f32>, dtype: DType) -> Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::from_f32(shape, values),
        DType::Bf16 => Tensor::from_bf16(shape, cast_f32_bf16(&values)),
    }
}

/// Runs one Vector-unit op.
pub(super) fn run_vector(op: &VectorOp, out_shape: Shape, get: &Lookup<'_>) -> Result<Tensor> {
    let x = get(op.x)?.to_f32_vec();
    let opt = |id: Option<crate::program::TensorId>| -> Result<Option<Vec<f32>>> {
        id.map(|id| get(id).map(|t| t.to_f32_vec())).transpose()
    };
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

/// Applies a matmul's epilogue to its f32 accumulator and rounds to the output dtype.
pub(super) fn finish_matmul(mm: &MatmulOp, mut acc: Vec<f32>, get: &Lookup<'_>) -> Result<Tensor> {
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
    finish(mm.geometry.out_shape(), acc, mm.options.dtype_out)
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
    };
    Tensor::new(out_shape, data)
}

/// Runs one rotary embedding.
pub(super) fn run_rope(op: &RopeOp, get: &Lookup<'_>) -> Result<Tensor> {
    let x = get(op.x)?;
    let shape = x.shape().clone();
    let values = vector_rope(
        op,
        &x.to_f32_vec(),
        &get(op.cos)?.to_f32_vec(),
        &get(op.sin)?.to_f32_vec(),
    );
    finish(shape, values, op.dtype_out)
}

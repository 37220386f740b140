//! Data movement as recorded: what Ascend's memory transfer engines (MTE) and the Vector unit's gathers do
//! between the arithmetic ops of a model layer. None of these ops computes: each element of the result is a
//! bit-exact copy of an element of the input (NaN payloads included), so there is nothing to round.
//!
//! - `reshape`: the same elements under another shape (a view on Ascend; a copy on the GPU executor).
//! - `permute`: the axes reordered (rank <= 4), e.g. `[S, H, D] -> [H, S, D]` for attention heads.
//! - `gather_rows`: rows of a table picked by index (an embedding lookup); the indices are part of the op.
//! - `concat`: two tensors joined along an axis (ONNX Concat, a KV cache grown by a step).

use super::broadcast::{Broadcast, MAX_DIMS};
use super::{Op, Program, TensorId};
use crate::kernel_table::KernelId;
use crate::tensor::Shape;
use crate::{Error, Result};

/// One recorded data movement.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveOp {
    pub kind: MoveKind,
    pub input: TensorId,
    pub out: TensorId,
}

impl MoveOp {
    /// The tensors it reads: its input, and a concat's second one.
    pub fn inputs(&self) -> Vec<TensorId> {
        match self.kind {
            MoveKind::Concat { other, .. } => vec![self.input, other],
            _ => vec![self.input],
        }
    }
}

/// Which data movement.
#[derive(Clone, Debug, PartialEq)]
pub enum MoveKind {
    Reshape,
    /// Result element `flat` is input element `bcast.offset(0, flat)`.
    Permute {
        perm: Vec<usize>,
        bcast: Broadcast,
    },
    /// Result row `r` is table row `ids[r]`; rows have `width` elements.
    GatherRows {
        ids: Vec<u32>,
        width: usize,
    },
    /// Result row `r` is row `r` of the input (`width` elements) then row `r` of `other`
    /// (`other_width`): the axes before the joined one make the rows.
    Concat {
        other: TensorId,
        width: usize,
        other_width: usize,
    },
}

impl MoveKind {
    pub fn name(&self) -> &'static str {
        match self {
            MoveKind::Reshape => "reshape",
            MoveKind::Permute { .. } => "permute",
            MoveKind::GatherRows { .. } => "gather_rows",
            MoveKind::Concat { .. } => "concat",
        }
    }

    /// The kernel that runs it (`None` for a reshape: a plain buffer copy).
    pub fn kernel(&self) -> Option<KernelId> {
        match self {
            MoveKind::Reshape => None,
            MoveKind::Permute { .. } => Some(KernelId::MtePermute),
            MoveKind::GatherRows { .. } => Some(KernelId::MteGather),
            MoveKind::Concat { .. } => Some(KernelId::MteConcat),
        }
    }
}

impl Program {
    /// Records `x` under `shape` (same number of elements, row-major order kept).
    pub fn reshape(&mut self, x: TensorId, shape: impl Into<Shape>) -> Result<TensorId> {
        let shape = shape.into();
        let d = self.desc(x)?.clone();
        if shape.checked_numel() != Some(d.shape.numel()) {
            return Err(Error::shape(
                "reshape",
                format!(
                    "x {} has {} elements but {shape} holds {}",
                    d.shape,
                    d.shape.numel(),
                    shape.numel()
                ),
            ));
        }
        Ok(self.push_move(MoveKind::Reshape, x, shape, d.dtype))
    }

    /// Records `x` with its axes reordered: result axis `i` is input axis `perm[i]` (as `torch.permute`).
    pub fn permute(&mut self, x: TensorId, perm: &[usize]) -> Result<TensorId> {
        let d = self.desc(x)?.clone();
        let rank = d.shape.rank();
        let mut seen = vec![false; rank];
        let valid = perm.len() == rank
            && perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(Error::shape(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {rank} axes of x {}",
                    d.shape
                ),
            ));
        }
        if rank > MAX_DIMS {
            return Err(Error::shape(
                "permute",
                format!(
                    "x {} has rank {rank}; permute handles at most {MAX_DIMS} axes",
                    d.shape
                ),
            ));
        }
        let dims = d.shape.dims();
        let mut strides = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * dims[i + 1];
        }
        let out: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        let mut bcast = Broadcast {
            dims: [1; MAX_DIMS],
            strides: [[0; MAX_DIMS]; 2],
        };
        let skip = MAX_DIMS - rank;
        for (i, &p) in perm.iter().enumerate() {
            bcast.dims[skip + i] = dims[p];
            bcast.strides[0][skip + i] = strides[p];
        }
        let kind = MoveKind::Permute {
            perm: perm.to_vec(),
            bcast,
        };
        self.check_vector_dtype(kind.name(), x)?;
        Ok(self.push_move(kind, x, Shape::new(out), d.dtype))
    }

    /// Records the rows `ids` of `table` (`[rows, width]`): an embedding lookup. An id past the table is
    /// refused here, with the id and the table's size.
    pub fn gather_rows(&mut self, table: TensorId, ids: &[u32]) -> Result<TensorId> {
        let d = self.desc(table)?.clone();
        let [rows, width] = *d.shape.dims() else {
            return Err(Error::shape(
                "gather_rows",
                format!("the table must be [rows, width], got {}", d.shape),
            ));
        };
        if let Some((pos, &id)) = ids.iter().enumerate().find(|(_, id)| **id as usize >= rows) {
            return Err(Error::shape(
                "gather_rows",
                format!(
                    "index {id} (position {pos}) is past the table '{}' of {rows} rows {}",
                    d.name, d.shape
                ),
            ));
        }
        let kind = MoveKind::GatherRows {
            ids: ids.to_vec(),
            width,
        };
        self.check_vector_dtype(kind.name(), table)?;
        Ok(self.push_move(kind, table, Shape::new([ids.len(), width]), d.dtype))
    }

    /// Records `a` and `b` joined along `axis`: equal dimensions elsewhere, one dtype.
    pub fn concat(&mut self, a: TensorId, b: TensorId, axis: usize) -> Result<TensorId> {
        let (da, db) = (self.desc(a)?.clone(), self.desc(b)?.clone());
        let (x, y) = (da.shape.dims(), db.shape.dims());
        let fits =
            x.len() == y.len() && axis < x.len() && (0..x.len()).all(|d| d == axis || x[d] == y[d]);
        if !fits || da.dtype != db.dtype {
            return Err(Error::shape(
                "concat",
                format!(
                    "a {} {} and b {} {} do not join along axis {axis} (equal dimensions elsewhere, one dtype)",
                    da.dtype, da.shape, db.dtype, db.shape
                ),
            ));
        }
        let inner: usize = x[axis + 1..].iter().product();
        let mut out = x.to_vec();
        out[axis] += y[axis];
        let kind = MoveKind::Concat {
            other: b,
            width: x[axis] * inner,
            other_width: y[axis] * inner,
        };
        self.check_vector_dtype(kind.name(), a)?;
        Ok(self.push_move(kind, a, Shape::new(out), da.dtype))
    }

    fn push_move(
        &mut self,
        kind: MoveKind,
        input: TensorId,
        shape: Shape,
        dtype: crate::DType,
    ) -> TensorId {
        let out = self.push_tensor(format!("{}_{}", kind.name(), self.ops.len()), shape, dtype);
        self.ops.push(Op::Move(MoveOp { kind, input, out }));
        out
    }
}

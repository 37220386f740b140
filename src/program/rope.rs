//! Rotary position embedding as recorded, in the "rotate half" form of LLaMA and Hugging Face: for
//! `x[.., s, h, :]` of even width D with halves `x1 = x[:D/2]`, `x2 = x[D/2:]`,
//! `out = [x1 * cos - x2 * sin, x2 * cos + x1 * sin]` with `cos[s, :]` and `sin[s, :]` of width D/2.
//! Each product and each sum is one f32 rounding (a Vector op), then one rounding to the output dtype.
//! The tables are inputs, so both executors use the same bits for them (see `model::rope_tables`).

use super::{Op, Program, TensorId};
use crate::tensor::DType;
use crate::{Error, Result};

/// One recorded rotary embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct RopeOp {
    pub x: TensorId,
    pub cos: TensorId,
    pub sin: TensorId,
    pub out: TensorId,
    pub dtype_out: DType,
    /// Positions (x's axis -3), heads (axis -2) and head width (axis -1).
    pub seq: usize,
    pub heads: usize,
    pub dim: usize,
}

impl Program {
    /// Records the rotary embedding of `x` (`[.., S, H, D]`, D even) with tables `cos`, `sin` (`[S, D/2]`).
    pub fn rope(
        &mut self,
        x: TensorId,
        cos: TensorId,
        sin: TensorId,
        dtype_out: DType,
    ) -> Result<TensorId> {
        for id in [x, cos, sin] {
            self.check_vector_dtype("rope", id)?;
        }
        let d = self.desc(x)?.clone();
        let dims = d.shape.dims();
        if dims.len() < 3 || dims[dims.len() - 1] % 2 != 0 || dims.contains(&0) {
            return Err(Error::shape(
                "rope",
                format!(
                    "x must be [.., positions, heads, head_dim] with an even head_dim, got {}",
                    d.shape
                ),
            ));
        }
        let (seq, heads, dim) = (
            dims[dims.len() - 3],
            dims[dims.len() - 2],
            dims[dims.len() - 1],
        );
        for (name, t) in [("cos", cos), ("sin", sin)] {
            let td = self.desc(t)?;
            if td.shape.dims() != [seq, dim / 2] {
                return Err(Error::shape(
                    "rope",
                    format!(
                        "the {name} table must be [{seq}, {}] (positions x half the head width of x {}), got {}",
                        dim / 2,
                        d.shape,
                        td.shape
                    ),
                ));
            }
        }
        let out = self.push_tensor(
            format!("rope_{}", self.ops.len()),
            d.shape.clone(),
            dtype_out,
        );
        self.ops.push(Op::Rope(RopeOp {
            x,
            cos,
            sin,
            out,
            dtype_out,
            seq,
            heads,
            dim,
        }));
        Ok(out)
    }
}

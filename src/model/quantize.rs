//! Dynamic symmetric int8 quantisation on the Vector unit, per tensor, per row or per column, the way W8A8
//! serving quantises activations at run time (and weights offline):
//!
//! - `amax` = the largest |x| over the group (a row, a column, or the whole tensor);
//! - `scale = max(amax / 127, MIN_INT8_SCALE)` in f32: an all-zero group gets the smallest normal f32
//!   rather than 0, so it quantises to zeros and still dequantises (FixPipe refuses a scale of 0);
//! - `q = int8(x / scale)`: nearest even, saturated to [-128, 127] (NaN -> 0; a NaN or infinity in a
//!   group makes its scale NaN or infinite, so the dequantised result carries it).
//!
//! Per token is per row of an activation `[tokens, features]`; per channel is per row of a weight stored
//! `[out, in]` (a torch `Linear`) or per column of one stored `[in, out]`. [`Graph::quantize_int8`]
//! records the Vector ops (abs, reduce-max, two divisions, a max, the cast), so both executors give the
//! same bits and the timing model counts them; [`quantize_int8_host`] is the same rule on the host with
//! the Vector unit's arithmetic (`reference::vector_math`), for weights converted before deployment.

use super::Graph;
use crate::numerics::formats::f32_to_i8;
use crate::program::{BinaryFn, ReduceFn, TensorId, UnaryFn};
use crate::reference::vector_math::{vm_div, vm_max};
use crate::tensor::{DType, Tensor, TensorData};
use crate::{Error, Result};

/// The smallest scale: f32's smallest normal value, so `x / scale` of a zero group is 0, not NaN.
pub const MIN_INT8_SCALE: f32 = f32::MIN_POSITIVE;

/// Which elements share a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantScale {
    /// One scale for the tensor: shape `[1]`.
    Tensor,
    /// One per row (per token; per output channel of an `[out, in]` weight): shape `[rows]`.
    Row,
    /// One per column (per output channel of an `[in, out]` weight): shape `[cols]`.
    Column,
}

/// `[rows, cols]` of a 2-D quantisation input, or an error naming the op.
fn matrix(shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [r, c] if r > 0 && c > 0 => Ok((r, c)),
        _ => Err(Error::shape(
            "quantize_int8",
            format!("the input must be 2-D with no empty dimension, got {shape:?}"),
        )),
    }
}

impl Graph {
    /// A constant f32 scalar `[1]`, added once per value.
    pub(super) fn scalar(&mut self, v: f32) -> Result<TensorId> {
        let name = format!("const {v:e}");
        if let Some(id) = self.constant_named(&name) {
            return Ok(id);
        }
        Ok(self.constant(name, Tensor::from_f32([1], vec![v])?))
    }

    /// Records the dynamic int8 quantisation of `x` (2-D, f32 or bf16): int8 codes of `x`'s shape and
    /// the f32 scales of `by` (module docs).
    pub fn quantize_int8(&mut self, x: TensorId, by: QuantScale) -> Result<(TensorId, TensorId)> {
        let (rows, cols) = matrix(self.program.desc(x)?.shape.dims())?;
        let c127 = self.scalar(127.0)?;
        let floor = self.scalar(MIN_INT8_SCALE)?;
        let p = &mut self.program;
        let abs = p.unary(UnaryFn::Abs, x, DType::F32)?;
        // The reduction runs along the last dimension: a column's amax is a row of the transpose's.
        let (amax, scale_shape) = match by {
            QuantScale::Row => (p.reduce(ReduceFn::Amax, abs, DType::F32)?, [rows, 1]),
            QuantScale::Column => {
                let t = p.permute(abs, &[1, 0])?;
                (p.reduce(ReduceFn::Amax, t, DType::F32)?, [1, cols])
            }
            QuantScale::Tensor => {
                let per_row = p.reduce(ReduceFn::Amax, abs, DType::F32)?;
                let flat = p.reshape(per_row, [1, rows])?;
                let one = p.reduce(ReduceFn::Amax, flat, DType::F32)?;
                (one, [1, 1])
            }
        };
        let ratio = p.binary(BinaryFn::Div, amax, c127, DType::F32)?;
        let scale = p.binary(BinaryFn::Max, ratio, floor, DType::F32)?;
        let shaped = p.reshape(scale, scale_shape)?;
        let unit = p.binary(BinaryFn::Div, x, shaped, DType::F32)?;
        let q = p.cast(unit, DType::I8)?;
        Ok((q, scale))
    }
}

/// The rule of [`Graph::quantize_int8`] on the host, with the Vector unit's arithmetic: int8 codes of
/// `t`'s shape and the f32 scales (`[1]`, `[rows]` or `[cols]`).
pub fn quantize_int8_host(t: &Tensor, by: QuantScale) -> Result<(Tensor, Tensor)> {
    let (rows, cols) = matrix(t.shape().dims())?;
    let v = t.to_f32_vec();
    let group = |i: usize| match by {
        QuantScale::Tensor => 0,
        QuantScale::Row => i / cols,
        QuantScale::Column => i % cols,
    };
    let groups = match by {
        QuantScale::Tensor => 1,
        QuantScale::Row => rows,
        QuantScale::Column => cols,
    };
    let mut amax = vec![f32::NEG_INFINITY; groups];
    for (i, x) in v.iter().enumerate() {
        let g = &mut amax[group(i)];
        *g = vm_max(*g, x.abs());
    }
    let scales: Vec<f32> = amax
        .iter()
        .map(|&a| vm_max(vm_div(a, 127.0), MIN_INT8_SCALE))
        .collect();
    let q: Vec<i8> = v
        .iter()
        .enumerate()
        .map(|(i, &x)| f32_to_i8(vm_div(x, scales[group(i)])))
        .collect();
    Ok((
        Tensor::new(t.shape().clone(), TensorData::I8(q))?,
        Tensor::from_f32([groups], scales)?,
    ))
}

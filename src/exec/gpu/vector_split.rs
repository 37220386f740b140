//! Vector-unit ops whose operands or result exceed one storage binding: split into blocks of whole rows
//! (elementwise ops: blocks of elements), each run as its own one-op program on this executor, the
//! results joined on the host. Each block's operands are gathered to its own shape first (a broadcast
//! mask or operand is read through the op's `Broadcast`, as the kernels read it), and every op computes
//! each row (element) from that row alone, so the bits are those of one launch. Only a row longer than
//! one binding cannot be split; that is refused with an error that says so.

use super::{GpuExecutor, Value};
use crate::kernels::device_bytes;
use crate::program::{Program, VectorKind, VectorOp};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Executor, Result};

impl GpuExecutor {
    /// Whether `op` needs [`GpuExecutor::run_vector_split`]: an operand or its f32 result exceeds one
    /// binding.
    pub(super) fn vector_needs_split(&self, program: &Program, op: &VectorOp) -> Result<bool> {
        let limit = self.max_binding_bytes();
        let numel = program.desc(op.out)?.shape.numel();
        if device_bytes(DType::F32, numel) > limit {
            return Ok(true);
        }
        for id in op.inputs() {
            let d = program.desc(id)?;
            if device_bytes(d.dtype, d.shape.numel()) > limit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs `op` block by block; the result is on the host.
    pub(super) fn run_vector_split<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &VectorOp,
    ) -> Result<Value<'a>> {
        let name = op.kind.name();
        let out_shape = program.desc(op.out)?.shape.clone();
        let x = self.host_value(values, op.x.index())?;
        let side = |id: Option<crate::program::TensorId>| -> Result<Option<Tensor>> {
            id.map(|id| self.host_value(values, id.index())).transpose()
        };
        let (y, mask) = (side(op.y)?, side(op.mask)?);
        let (gamma, beta) = (side(op.gamma)?, side(op.beta)?);
        // Elements of x per block unit: a row for the row ops, one element for the elementwise ones.
        let elementwise = matches!(op.kind, VectorKind::Unary(_) | VectorKind::Binary(_));
        let unit = if elementwise { 1 } else { op.len.max(1) };
        // The f32 result is the widest tensor of a block (Vector ops read bf16 or f32).
        let per_unit = device_bytes(DType::F32, unit);
        let units = (self.max_binding_bytes() / per_unit) as usize;
        if units == 0 {
            return Err(Error::TooLargeForBinding {
                op: name,
                tensor: format!(
                    "one row of {} ({} elements)",
                    program.desc(op.x)?.name,
                    unit
                ),
                bytes: per_unit,
                limit: self.max_binding_bytes(),
                hint: "a row is never split; use --executor cpu",
            });
        }
        let total_units = x.numel() / unit;
        let mut bits: Vec<u32> = Vec::with_capacity(out_shape.numel());
        for first in (0..total_units).step_by(units) {
            let n = units.min(total_units - first);
            let (start, len) = (first * unit, n * unit);
            let block_shape = if elementwise {
                Shape::new([len])
            } else {
                Shape::new([n, unit])
            };
            let cut = |t: &Tensor, operand: Option<usize>| -> Result<Tensor> {
                let at = |i: usize| operand.map_or(i, |k| op.bcast.offset(k, i));
                let data = TensorData::from_bits(
                    t.dtype(),
                    (start..start + len).map(|i| t.data().bits_at(at(i))),
                );
                Tensor::new(block_shape.clone(), data)
            };
            let mut p = Program::new();
            let mut inputs = vec![cut(&x, elementwise.then_some(0))?];
            let xi = p.input("x", block_shape.clone(), x.dtype());
            let mut extra = |p: &mut Program, name: &str, t: Tensor| {
                let id = p.input(name, t.shape().clone(), t.dtype());
                inputs.push(t);
                id
            };
            let r = match op.kind {
                VectorKind::Unary(f) => p.unary(f, xi, op.dtype_out),
                VectorKind::Binary(f) => {
                    let y = y
                        .as_ref()
                        .ok_or_else(|| Error::Program(format!("{name}: no y")))?;
                    let yi = extra(&mut p, "y", cut(y, Some(1))?);
                    p.binary(f, xi, yi, op.dtype_out)
                }
                VectorKind::Reduce(f) => p.reduce(f, xi, op.dtype_out),
                VectorKind::Softmax => {
                    let m = match &mask {
                        Some(m) => Some(extra(&mut p, "mask", cut(m, Some(1))?)),
                        None => None,
                    };
                    p.softmax(xi, m, op.dtype_out)
                }
                VectorKind::LayerNorm { eps } => {
                    let g = gamma.clone().map(|g| extra(&mut p, "gamma", g));
                    let b = beta.clone().map(|b| extra(&mut p, "beta", b));
                    p.layernorm(xi, g, b, eps, op.dtype_out)
                }
                VectorKind::RmsNorm { eps } => {
                    let g = gamma.clone().map(|g| extra(&mut p, "gamma", g));
                    p.rmsnorm(xi, g, eps, op.dtype_out)
                }
            }?;
            p.output(r)?;
            let refs: Vec<&Tensor> = inputs.iter().collect();
            bits.extend(self.run(&p, &refs)?.remove(0).bits());
        }
        let data = TensorData::from_bits(op.dtype_out, bits.into_iter());
        Ok(Value::Host(std::borrow::Cow::Owned(Tensor::new(
            out_shape, data,
        )?)))
    }
}

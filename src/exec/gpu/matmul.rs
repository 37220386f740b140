//! The GPU executor's `cube_matmul`: operands moved to the device, one launch of the Cube kernel and, when
//! asked for, its epilogue (or a cast to bf16) on the way out; the result stays on the device. Operands
//! or results beyond one storage binding go block by block (`matmul/chunked.rs`), with the epilogue then
//! run on the host by the shader's twin, which gives the same bits.

mod chunked;

use std::borrow::Cow;

use super::{GpuExecutor, Value, device_operand};
use crate::device::GpuBuffer;
use crate::kernels::vector::Out;
use crate::kernels::vector_epilogue::{self, Epilogue};
use crate::kernels::{self, device_bytes};
use crate::program::{MatmulGeometry, MatmulOp, MatmulOptions, TensorId};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

impl GpuExecutor {
    /// Runs one `cube_matmul` whose operands and result each fit one binding, with its epilogue (if any)
    /// applied on the way out; the result stays on the device.
    fn matmul_on_device(
        &self,
        g: &MatmulGeometry,
        opts: &MatmulOptions,
        a: &GpuBuffer,
        b: &GpuBuffer,
        epilogue: Option<&Epilogue<'_>>,
    ) -> Result<GpuBuffer> {
        let ctx = self.context();
        let numel = g.batch * g.m * g.n;
        let acc = ctx.storage(device_bytes(DType::F32, numel))?;
        let mut rec = self.record();
        kernels::cube_matmul::record(ctx, &mut rec, g, opts.accumulate, a, b, &acc)?;
        let out = match (epilogue, opts.dtype_out) {
            (Some(e), dtype) => {
                let out = ctx.storage(device_bytes(dtype, numel))?;
                let o = Out {
                    buf: &out,
                    dtype,
                    numel,
                };
                vector_epilogue::record(ctx, &mut rec, &acc, g.n, e, o)?;
                out
            }
            (None, DType::F32) => acc,
            (None, DType::Bf16) => {
                let packed = ctx.storage(device_bytes(DType::Bf16, numel))?;
                kernels::cast::record_round(ctx, &mut rec, numel, &acc, &packed)?;
                packed
            }
        };
        ctx.submit(rec);
        Ok(out)
    }

    pub(super) fn run_matmul<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        mm: &MatmulOp,
    ) -> Result<Value<'a>> {
        let g = &mm.geometry;
        let operand = if g.f32_inputs {
            DType::F32
        } else {
            DType::Bf16
        };
        let per_batch = |strided: usize| if strided == 0 { 1 } else { g.batch };
        let fits = [
            device_bytes(operand, per_batch(g.a_batch) * g.m * g.k),
            device_bytes(operand, per_batch(g.b_batch) * g.k * g.n),
            device_bytes(DType::F32, g.batch * g.m * g.n),
        ]
        .iter()
        .all(|&bytes| bytes <= self.max_binding_bytes());
        let e = &mm.epilogue;
        if !fits {
            return self.run_matmul_in_blocks(values, mm);
        }
        let operands = [Some(mm.a), Some(mm.b), e.bias, e.residual];
        for id in operands.into_iter().flatten() {
            self.move_to_device(values, id.index())?;
        }
        let optional = |id: Option<TensorId>| {
            id.map(|id| device_operand(values, id, "cube_matmul"))
                .transpose()
        };
        let a = device_operand(values, mm.a, "cube_matmul")?;
        let b = device_operand(values, mm.b, "cube_matmul")?;
        let epilogue = Epilogue {
            scale: e.scale,
            bias: optional(e.bias)?,
            activation: e.activation,
            residual: optional(e.residual)?,
        };
        let buf = self.matmul_on_device(
            g,
            &mm.options,
            a.buf,
            b.buf,
            (!e.is_identity()).then_some(&epilogue),
        )?;
        Ok(Value::Device {
            buf,
            shape: g.out_shape(),
            dtype: mm.options.dtype_out,
        })
    }

    /// A `cube_matmul` too large for one binding: block by block on the device, the epilogue (if any) on
    /// the host by the shader's twin.
    fn run_matmul_in_blocks<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        mm: &MatmulOp,
    ) -> Result<Value<'a>> {
        let e = &mm.epilogue;
        let a = self.host_value(values, mm.a.index())?;
        let b = self.host_value(values, mm.b.index())?;
        if e.is_identity() {
            let out = chunked::matmul(self, &a, &b, mm)?;
            return Ok(Value::Host(Cow::Owned(out)));
        }
        // Blocks of the accumulator come back in f32; the epilogue then runs on the host with the
        // shader's twin, which gives the same bits.
        let mut f32_op = mm.clone();
        f32_op.options.dtype_out = DType::F32;
        let acc = chunked::matmul(self, &a, &b, &f32_op)?;
        let acc = acc.as_f32().unwrap_or_default().to_vec();
        let mut host: Vec<(TensorId, Tensor)> = Vec::new();
        for id in [e.bias, e.residual].into_iter().flatten() {
            host.push((id, self.host_value(values, id.index())?));
        }
        let lookup = |id: TensorId| -> Result<&Tensor> {
            host.iter()
                .find(|(i, _)| *i == id)
                .map(|(_, t)| t)
                .ok_or_else(|| Error::Program("an epilogue operand is missing".to_string()))
        };
        let out = crate::exec::cpu_vector::finish_matmul(mm, acc, &lookup)?;
        Ok(Value::Host(Cow::Owned(out)))
    }
}

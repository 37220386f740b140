//! The GPU executor's `cube_matmul`: operands moved to the device, one launch of the Cube kernel (with
//! FixPipe's int8 dequantisation in it) and, when asked for, its epilogue and the rounding to the output
//! dtype on the way out; the result stays on the device. On the fast path the epilogue and the rounding
//! to f32 or bf16 happen inside the matmul's own dispatch (`kernels::cube_matmul::fuses_way_out`);
//! otherwise they are dispatches of their own after it. Operands or results beyond one storage binding
//! go block by block (`matmul/chunked.rs`), and their accumulator is then finished on the host by the
//! shaders' twins, which give the same bits.

mod chunked;

use std::borrow::Cow;

use super::{GpuExecutor, Value, device_operand};
use crate::device::GpuBuffer;
use crate::kernels::cube_matmul::{IntOut, WayOut};
use crate::kernels::vector::Out;
use crate::kernels::vector_epilogue::{self, Epilogue};
use crate::kernels::{self, cast_formats, device_bytes};
use crate::program::{MatmulGeometry, MatmulOp, MatmulOptions, Rounding, TensorId};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

impl GpuExecutor {
    /// Runs one `cube_matmul` whose operands and result each fit one binding, with its epilogue (if any)
    /// applied on the way out; the result stays on the device.
    fn matmul_on_device(
        &self,
        g: &MatmulGeometry,
        opts: &MatmulOptions,
        (a, b): (&GpuBuffer, &GpuBuffer),
        epilogue: Option<&Epilogue<'_>>,
        int_out: IntOut<'_>,
    ) -> Result<GpuBuffer> {
        let ctx = self.context();
        let numel = g.batch * g.m * g.n;
        let mut rec = self.record();
        let dtype = opts.dtype_out;
        // The fast path applies the epilogue and the rounding to f32 or bf16 in its own dispatch.
        if kernels::cube_matmul::fuses_way_out(ctx, g, opts.accumulate, dtype) {
            let out = ctx.storage(device_bytes(dtype, numel))?;
            let way_out = WayOut { epilogue, dtype };
            let acc = opts.accumulate;
            kernels::cube_matmul::record(
                ctx,
                &mut rec,
                g,
                acc,
                a,
                b,
                &out,
                int_out,
                Some(way_out),
            )?;
            ctx.submit(rec);
            return Ok(out);
        }
        let acc = ctx.storage(device_bytes(DType::F32, numel))?;
        kernels::cube_matmul::record(ctx, &mut rec, g, opts.accumulate, a, b, &acc, int_out, None)?;
        // The epilogue writes f32 or bf16; any other float result is rounded from f32 by cast_formats.
        let stage = if matches!(dtype, DType::F32 | DType::Bf16) {
            dtype
        } else {
            DType::F32
        };
        let staged = match epilogue {
            Some(e) => {
                let out = ctx.storage(device_bytes(stage, numel))?;
                let o = Out {
                    buf: &out,
                    dtype: stage,
                    numel,
                };
                vector_epilogue::record(ctx, &mut rec, &acc, g.n, e, o)?;
                out
            }
            None if stage == DType::Bf16 => {
                let packed = ctx.storage(device_bytes(DType::Bf16, numel))?;
                kernels::cast::record_round(ctx, &mut rec, numel, &acc, &packed)?;
                packed
            }
            None => acc,
        };
        let out = if dtype == stage || dtype == DType::I32 {
            staged
        } else {
            let out = ctx.storage(device_bytes(dtype, numel))?;
            let cast = cast_formats::Cast {
                len: numel,
                from: DType::F32,
                to: dtype,
                rounding: Rounding::Nearest,
                index_base: 0,
            };
            cast_formats::record(ctx, &mut rec, cast, &staged, &out)?;
            out
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
        let operand = g.format.operand_dtype();
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
        let scales = mm
            .dequant
            .map_or([None, None], |d| [Some(d.channel), d.token]);
        let operands = [Some(mm.a), Some(mm.b), e.bias, e.residual];
        for id in operands.into_iter().chain(scales).flatten() {
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
        let [channel, token] = [optional(scales[0])?, optional(scales[1])?];
        let int_out = IntOut {
            raw: mm.options.dtype_out == DType::I32,
            channel: channel.map(|o| o.buf),
            token: token.map(|o| o.buf),
        };
        let buf = self.matmul_on_device(
            g,
            &mm.options,
            (a.buf, b.buf),
            (!e.is_identity()).then_some(&epilogue),
            int_out,
        )?;
        Ok(Value::Device {
            buf,
            shape: g.out_shape(),
            dtype: mm.options.dtype_out,
        })
    }

    /// A `cube_matmul` too large for one binding: block by block on the device to the raw accumulator,
    /// then dequantisation, epilogue and rounding on the host by the shaders' twins (the same bits).
    fn run_matmul_in_blocks<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        mm: &MatmulOp,
    ) -> Result<Value<'a>> {
        let e = &mm.epilogue;
        let a = self.host_value(values, mm.a.index())?;
        let b = self.host_value(values, mm.b.index())?;
        let acc = chunked::matmul(self, &a, &b, mm)?;
        let scales = mm
            .dequant
            .map_or([None, None], |d| [Some(d.channel), d.token]);
        let mut host: Vec<(TensorId, Tensor)> = Vec::new();
        for id in [e.bias, e.residual].into_iter().chain(scales).flatten() {
            host.push((id, self.host_value(values, id.index())?));
        }
        let lookup = |id: TensorId| -> Result<&Tensor> {
            host.iter()
                .find(|(i, _)| *i == id)
                .map(|(_, t)| t)
                .ok_or_else(|| Error::Program("an epilogue operand is missing".to_string()))
        };
        let out = crate::exec::cpu_vector::finish_matmul(mm, acc.data().clone(), &lookup)?;
        Ok(Value::Host(Cow::Owned(out)))
    }
}

//! The GPU executor's casts: one launch of a cast kernel (the bf16 <-> f32 pair, or `cast_formats` for
//! every other pair and for stochastic rounding), or, for a tensor beyond one storage binding, one launch
//! per chunk of a multiple of four elements (so packed words stay whole; each chunk's stochastic stream
//! continues at its first element's index).

use super::{GpuExecutor, Value, device_operand};
use crate::Result;
use crate::device::GpuBuffer;
use crate::kernels::{cast, cast_formats, device_bytes};
use crate::program::CastOp;
use crate::tensor::{DType, Tensor, TensorData};

impl GpuExecutor {
    pub(super) fn run_cast<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        c: &CastOp,
    ) -> Result<Value<'a>> {
        let shape = self.desc_of(values, c.input.index())?;
        let numel = shape.numel();
        if device_bytes(DType::F32, numel) > self.max_binding_bytes() {
            let x = self.host_value(values, c.input.index())?;
            let out = self.cast_in_chunks(&x, c)?;
            return Ok(Value::Host(std::borrow::Cow::Owned(out)));
        }
        self.move_to_device(values, c.input.index())?;
        let x = device_operand(values, c.input, "cast")?;
        let out = self.cast_on_device(x.buf, numel, c, 0)?;
        Ok(Value::Device {
            buf: out,
            shape,
            dtype: c.to,
        })
    }

    /// Casts `numel` elements of `src` as `c` says, on the device; `index_base` is the index of the
    /// first one in the whole tensor.
    fn cast_on_device(
        &self,
        src: &GpuBuffer,
        numel: usize,
        c: &CastOp,
        index_base: u32,
    ) -> Result<GpuBuffer> {
        let ctx = self.context();
        let out = ctx.storage(device_bytes(c.to, numel))?;
        let mut rec = self.record();
        if c.is_bf16_f32() && c.to == DType::Bf16 {
            cast::record_round(ctx, &mut rec, numel, src, &out)?;
        } else if c.is_bf16_f32() {
            cast::record_widen(ctx, &mut rec, numel, src, &out)?;
        } else {
            let what = cast_formats::Cast {
                len: numel,
                from: c.from,
                to: c.to,
                rounding: c.rounding,
                index_base,
            };
            cast_formats::record(ctx, &mut rec, what, src, &out)?;
        }
        ctx.submit(rec);
        Ok(out)
    }

    /// A cast too large for one binding, in chunks of a multiple of four elements.
    fn cast_in_chunks(&self, x: &Tensor, c: &CastOp) -> Result<Tensor> {
        let chunk = ((self.max_binding_bytes() / 4) as usize & !3).max(4);
        let mut bits = Vec::with_capacity(x.numel());
        for start in (0..x.numel()).step_by(chunk) {
            let end = (start + chunk).min(x.numel());
            let piece = Tensor::new(
                crate::tensor::Shape::new([end - start]),
                TensorData::from_bits(x.dtype(), (start..end).map(|i| x.data().bits_at(i))),
            )?;
            let src = self.upload(&piece)?;
            let base = u32::try_from(start).unwrap_or(u32::MAX);
            let out = self.cast_on_device(&src, end - start, c, base)?;
            let part = self.download(&[(&out, piece.shape(), c.to)])?.remove(0);
            bits.extend(part.bits());
        }
        Tensor::new(
            x.shape().clone(),
            TensorData::from_bits(c.to, bits.into_iter()),
        )
    }
}

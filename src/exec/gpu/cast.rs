//! The GPU executor's casts (f32 <-> bf16): one launch of a cast kernel, or, for a tensor beyond one
//! storage binding, one launch per chunk of an even number of elements (so bf16 pairs stay whole).

use super::{GpuExecutor, Value, device_operand};
use crate::Result;
use crate::device::GpuBuffer;
use crate::kernels::{cast, device_bytes};
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
            let out = self.cast_in_chunks(&x, c.to)?;
            return Ok(Value::Host(std::borrow::Cow::Owned(out)));
        }
        self.move_to_device(values, c.input.index())?;
        let x = device_operand(values, c.input, "cast")?;
        let out = self.cast_on_device(x.buf, numel, c.to)?;
        Ok(Value::Device {
            buf: out,
            shape,
            dtype: c.to,
        })
    }

    /// Casts `numel` elements of `src` (of the other dtype) to `to`, on the device.
    fn cast_on_device(&self, src: &GpuBuffer, numel: usize, to: DType) -> Result<GpuBuffer> {
        let ctx = self.context();
        let out = ctx.storage(device_bytes(to, numel))?;
        let mut rec = self.record();
        match to {
            DType::Bf16 => cast::record_round(ctx, &mut rec, numel, src, &out)?,
            DType::F32 => cast::record_widen(ctx, &mut rec, numel, src, &out)?,
        }
        ctx.submit(rec);
        Ok(out)
    }

    /// A cast too large for one binding, in chunks of an even number of elements.
    fn cast_in_chunks(&self, x: &Tensor, to: DType) -> Result<Tensor> {
        let chunk = ((self.max_binding_bytes() / 4) as usize & !1).max(2);
        let mut parts = Vec::new();
        for start in (0..x.numel()).step_by(chunk) {
            let end = (start + chunk).min(x.numel());
            let piece = match x.data() {
                TensorData::F32(v) => Tensor::from_f32([end - start], v[start..end].to_vec())?,
                TensorData::Bf16(v) => Tensor::from_bf16([end - start], v[start..end].to_vec())?,
            };
            let src = self.upload(&piece)?;
            let out = self.cast_on_device(&src, end - start, to)?;
            parts.push(self.download(&[(&out, piece.shape(), to)])?.remove(0));
        }
        let data = match to {
            DType::F32 => TensorData::F32(
                parts
                    .iter()
                    .flat_map(|p| p.as_f32().unwrap_or(&[]).to_vec())
                    .collect(),
            ),
            DType::Bf16 => TensorData::Bf16(
                parts
                    .iter()
                    .flat_map(|p| p.as_bf16().unwrap_or(&[]).to_vec())
                    .collect(),
            ),
        };
        Tensor::new(x.shape().clone(), data)
    }
}

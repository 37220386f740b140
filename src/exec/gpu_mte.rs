//! The GPU executor's data movements (reshape, permute, gather of rows) and rotary embeddings: operands
//! moved to the device, one dispatch (or a buffer copy for a reshape), the result left on the device.

use super::gpu::{GpuExecutor, Value, device_bytes};
use crate::device::{Bindable, GpuBuffer};
use crate::kernels::KernelId;
use crate::kernels::vector::{VectorParams, encode_elementwise, u32_of};
use crate::program::{MoveKind, MoveOp, Program, RopeOp, TensorId};
use crate::tensor::DType;
use crate::{Error, Result};

impl GpuExecutor {
    /// The device buffer and dtype of tensor `id`, moving it there first if it is on the host.
    fn operand<'v>(
        &self,
        values: &'v mut [Option<Value<'_>>],
        program: &Program,
        id: TensorId,
        op: &'static str,
    ) -> Result<(&'v GpuBuffer, DType)> {
        let d = program.desc(id)?;
        let bytes = device_bytes(d.dtype, d.shape.numel());
        if bytes > self.max_binding_bytes() {
            return Err(Error::TooLargeForBinding {
                op,
                tensor: d.name.clone(),
                bytes,
                limit: self.max_binding_bytes(),
                hint: "this op does not split tensors yet; use --executor cpu",
            });
        }
        self.move_to_device(values, id.index())?;
        match &values[id.index()] {
            Some(Value::Device { buf, dtype, .. }) => Ok((buf, *dtype)),
            _ => Err(Error::Program(format!("{op} reads a tensor no op wrote"))),
        }
    }

    /// Runs one data movement.
    pub(super) fn run_move<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &MoveOp,
    ) -> Result<Value<'a>> {
        let out_desc = program.desc(op.out)?.clone();
        let numel = out_desc.shape.numel();
        let name = op.kind.name();
        if numel == 0 {
            let empty = super::gpu_vector::empty(out_desc.shape, out_desc.dtype)?;
            return Ok(Value::Host(std::borrow::Cow::Owned(empty)));
        }
        let ctx = self.context().clone();
        let (x, dtype) = self.operand(values, program, op.input, name)?;
        let out = ctx.storage(device_bytes(dtype, numel))?;
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        let mut params = VectorParams {
            len: u32_of(name, "the result's elements", numel)?,
            x_bf16: (dtype == DType::Bf16) as u32,
            ..Default::default()
        };
        match &op.kind {
            MoveKind::Reshape => {
                encoder.copy_buffer_to_buffer(x.raw(), 0, out.raw(), 0, device_bytes(dtype, numel));
            }
            MoveKind::Permute { bcast, .. } => {
                for d in 0..4 {
                    params.dims[d] = u32_of(name, "a dimension", bcast.dims[d])?;
                    params.x_strides[d] = u32_of(name, "a stride", bcast.strides[0][d])?;
                }
                let buffers: [&dyn Bindable; 2] = [x, &out];
                encode_elementwise(&ctx, &mut encoder, KernelId::MtePermute, &params, &buffers);
            }
            MoveKind::GatherRows { ids, width } => {
                params.cols = u32_of(name, "the row width", *width)?;
                let ids = ctx.upload(bytemuck::cast_slice(ids))?;
                let buffers: [&dyn Bindable; 3] = [x, &ids, &out];
                encode_elementwise(&ctx, &mut encoder, KernelId::MteGather, &params, &buffers);
            }
        }
        ctx.submit(encoder);
        Ok(Value::Device {
            buf: out,
            shape: out_desc.shape,
            dtype,
        })
    }

    /// Runs one rotary embedding.
    pub(super) fn run_rope<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &RopeOp,
    ) -> Result<Value<'a>> {
        let shape = program.desc(op.out)?.shape.clone();
        let numel = shape.numel();
        let ctx = self.context().clone();
        for id in [op.x, op.cos, op.sin] {
            self.operand(values, program, id, "rope")?;
        }
        let get = |id: TensorId| match &values[id.index()] {
            Some(Value::Device { buf, dtype, .. }) => Ok((buf, *dtype)),
            _ => Err(Error::Program(
                "rope reads a tensor no op wrote".to_string(),
            )),
        };
        let ((x, xd), (c, cd), (s, sd)) = (get(op.x)?, get(op.cos)?, get(op.sin)?);
        let params = VectorParams {
            len: u32_of("rope", "the result's elements", numel)?,
            rows: u32_of("rope", "the heads", op.heads)?,
            cols: u32_of("rope", "the head width", op.dim)?,
            seq: u32_of("rope", "the positions", op.seq)?,
            x_bf16: (xd == DType::Bf16) as u32,
            y_bf16: (cd == DType::Bf16) as u32,
            z_bf16: (sd == DType::Bf16) as u32,
            out_bf16: (op.dtype_out == DType::Bf16) as u32,
            ..Default::default()
        };
        let out = ctx.storage(device_bytes(op.dtype_out, numel))?;
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        let buffers: [&dyn Bindable; 4] = [x, c, s, &out];
        encode_elementwise(&ctx, &mut encoder, KernelId::VectorRope, &params, &buffers);
        ctx.submit(encoder);
        Ok(Value::Device {
            buf: out,
            shape,
            dtype: op.dtype_out,
        })
    }
}

//! The GPU executor's Vector-unit ops and `cube_matmul` epilogues: operands moved to the device, one
//! `vector_*` dispatch (plus a cast dispatch when a row kernel's result is bf16), the result left on the
//! device for the next op.

use super::gpu::{GpuExecutor, Value, device_bytes};
use crate::device::{Bindable, GpuBuffer};
use crate::kernels::vector::{
    HAS_SCALE, HAS_Y, HAS_Z, VectorParams, encode_elementwise, encode_rows, u32_of,
};
use crate::kernels::{self, KernelId};
use crate::program::{Activation, Program, TensorId, VectorKind, VectorOp};
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// The epilogue of one `cube_matmul` launch, with its operands on the device.
pub(super) struct DeviceEpilogue<'b> {
    pub scale: Option<f32>,
    pub bias: Option<(&'b GpuBuffer, DType)>,
    pub activation: Activation,
    pub residual: Option<(&'b GpuBuffer, DType)>,
}

impl GpuExecutor {
    /// Records the epilogue over the f32 accumulator `acc` (`numel` elements in rows of `n`) into a new
    /// buffer of `dtype_out`.
    pub(super) fn encode_epilogue(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        acc: &GpuBuffer,
        numel: usize,
        n: usize,
        e: &DeviceEpilogue<'_>,
        dtype_out: DType,
    ) -> Result<GpuBuffer> {
        let out = self.context().storage(device_bytes(dtype_out, numel))?;
        let mut params = VectorParams {
            len: u32_of("cube_matmul", "the result's elements", numel)?,
            cols: u32_of("cube_matmul", "N", n)?,
            func: e.activation.code(),
            out_bf16: (dtype_out == DType::Bf16) as u32,
            scale: e.scale.unwrap_or(1.0),
            ..Default::default()
        };
        if e.scale.is_some() {
            params.flags |= HAS_SCALE;
        }
        let bias = e.bias.map(|(b, dt)| {
            params.flags |= HAS_Y;
            params.y_bf16 = (dt == DType::Bf16) as u32;
            b
        });
        let residual = e.residual.map(|(r, dt)| {
            params.flags |= HAS_Z;
            params.z_bf16 = (dt == DType::Bf16) as u32;
            r
        });
        // An absent operand is bound to the accumulator, which the shader then never reads.
        let buffers: [&dyn Bindable; 4] = [acc, bias.unwrap_or(acc), residual.unwrap_or(acc), &out];
        encode_elementwise(
            self.context(),
            encoder,
            KernelId::VectorEpilogue,
            &params,
            &buffers,
        );
        Ok(out)
    }

    /// Runs one Vector-unit op; the result stays on the device.
    pub(super) fn run_vector<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &VectorOp,
    ) -> Result<Value<'a>> {
        let out_shape = program.desc(op.out)?.shape.clone();
        let numel = out_shape.numel();
        let name = op.kind.name();
        if numel == 0 {
            let empty = empty(out_shape, op.dtype_out)?;
            return Ok(Value::Host(std::borrow::Cow::Owned(empty)));
        }
        for id in op.inputs() {
            let d = program.desc(id)?;
            self.check_binding(name, &d.name, device_bytes(d.dtype, d.shape.numel()))?;
            self.move_to_device(values, id.index())?;
        }
        self.check_binding(name, "the result", device_bytes(DType::F32, numel))?;
        let input = |id: Option<TensorId>| -> Result<Option<(&GpuBuffer, DType)>> {
            match id {
                None => Ok(None),
                Some(id) => match &values[id.index()] {
                    Some(Value::Device { buf, dtype, .. }) => Ok(Some((buf, *dtype))),
                    _ => Err(Error::Program(format!(
                        "{name} reads a tensor that is not on the device"
                    ))),
                },
            }
        };
        let (x, x_dt) =
            input(Some(op.x))?.ok_or_else(|| Error::Program(format!("{name}: no x")))?;
        let second = input(op.y.or(op.mask).or(op.gamma))?;
        let third = input(op.beta)?;
        let mut params = VectorParams {
            x_bf16: (x_dt == DType::Bf16) as u32,
            ..Default::default()
        };
        if let Some((_, dt)) = second {
            params.flags |= HAS_Y;
            params.y_bf16 = (dt == DType::Bf16) as u32;
        }
        if let Some((_, dt)) = third {
            params.flags |= HAS_Z;
            params.z_bf16 = (dt == DType::Bf16) as u32;
        }
        for d in 0..4 {
            params.dims[d] = u32_of(name, "a dimension", op.bcast.dims[d])?;
            params.x_strides[d] = u32_of(name, "a stride", op.bcast.strides[0][d])?;
            params.y_strides[d] = u32_of(name, "a stride", op.bcast.strides[1][d])?;
        }
        let y = second.map_or(x, |(b, _)| b);
        let z = third.map_or(x, |(b, _)| b);
        let ctx = self.context();
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        let (kernel, func, elementwise) = match op.kind {
            VectorKind::Unary(f) => (KernelId::VectorUnary, f.code(), true),
            VectorKind::Binary(f) => (KernelId::VectorBinary, f.code(), true),
            VectorKind::Reduce(f) => (KernelId::VectorReduce, f.code(), false),
            VectorKind::Softmax => (KernelId::VectorSoftmax, 0, false),
            VectorKind::LayerNorm { eps } => {
                params.eps = eps;
                (KernelId::VectorLayernorm, 0, false)
            }
            VectorKind::RmsNorm { eps } => {
                params.eps = eps;
                (KernelId::VectorRmsnorm, 0, false)
            }
        };
        params.func = func;
        let out = if elementwise {
            params.len = u32_of(name, "the result's elements", numel)?;
            params.out_bf16 = (op.dtype_out == DType::Bf16) as u32;
            let out = ctx.storage(device_bytes(op.dtype_out, numel))?;
            let buffers: Vec<&dyn Bindable> = match op.kind {
                VectorKind::Binary(_) => vec![x, y, &out],
                _ => vec![x, &out],
            };
            encode_elementwise(ctx, &mut encoder, kernel, &params, &buffers);
            out
        } else {
            params.len = u32_of(name, "the row length", op.len)?;
            params.rows = u32_of(name, "the rows", op.rows)?;
            u32_of(name, "x's elements", op.rows * op.len)?;
            let f32_out = ctx.storage(device_bytes(DType::F32, numel))?;
            let buffers: Vec<&dyn Bindable> = match op.kind {
                VectorKind::Reduce(_) => vec![x, &f32_out],
                VectorKind::LayerNorm { .. } => vec![x, y, z, &f32_out],
                _ => vec![x, y, &f32_out],
            };
            encode_rows(ctx, &mut encoder, kernel, &params, &buffers);
            match op.dtype_out {
                DType::F32 => f32_out,
                DType::Bf16 => {
                    let packed = ctx.storage(device_bytes(DType::Bf16, numel))?;
                    kernels::cast::encode_round(ctx, &mut encoder, numel as u32, &f32_out, &packed);
                    packed
                }
            }
        };
        ctx.submit(encoder);
        Ok(Value::Device {
            buf: out,
            shape: out_shape,
            dtype: op.dtype_out,
        })
    }

    /// Refuses a tensor larger than one binding: the Vector kernels are not split yet.
    fn check_binding(&self, op: &'static str, tensor: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_binding_bytes() {
            return Err(Error::TooLargeForBinding {
                op,
                tensor: tensor.to_string(),
                bytes,
                limit: self.max_binding_bytes(),
                hint: "the Vector kernels do not split tensors yet; use --executor cpu",
            });
        }
        Ok(())
    }
}

/// The empty result of an op over an empty tensor.
pub(super) fn empty(shape: Shape, dtype: DType) -> Result<Tensor> {
    super::cpu_vector::finish(shape, Vec::new(), dtype)
}

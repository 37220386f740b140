//! The GPU executor: uploads inputs, runs each op's shader, keeps intermediate values on the device, and
//! reads back the outputs in one submission. An op whose tensors exceed one storage binding is split into
//! chunks (`gpu_chunked.rs`).

use std::borrow::Cow;
use std::sync::Arc;

use super::Executor;
use super::gpu_vector::DeviceEpilogue;
use crate::device::{GpuBuffer, GpuContext};
use crate::kernels;
use crate::numerics::{pack_bf16, unpack_bf16};
use crate::program::{CastOp, MatmulGeometry, MatmulOp, MatmulOptions, Op, Program};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// Runs programs through wgpu on one adapter.
pub struct GpuExecutor {
    ctx: Arc<GpuContext>,
    max_binding: u64,
}

/// A value during a run: still on the host, or in a device buffer.
pub(super) enum Value<'a> {
    Host(Cow<'a, Tensor>),
    Device {
        buf: GpuBuffer,
        shape: Shape,
        dtype: DType,
    },
}

/// Bytes a tensor takes in a GPU buffer (bf16 packed two per word).
pub(crate) fn device_bytes(dtype: DType, numel: usize) -> u64 {
    match dtype {
        DType::Bf16 => numel.div_ceil(2) as u64 * 4,
        DType::F32 => numel as u64 * 4,
    }
}

impl GpuExecutor {
    pub fn new(ctx: Arc<GpuContext>) -> Self {
        let max_binding = ctx.max_binding_bytes();
        GpuExecutor { ctx, max_binding }
    }

    /// Opens the best adapter (see [`GpuContext::new`]).
    pub fn open() -> Result<Self> {
        Ok(Self::new(Arc::new(GpuContext::new()?)))
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Treats storage bindings as if they held at most `bytes` (never more than the adapter allows), so
    /// that the splitting of large ops can be exercised with small tensors.
    pub fn with_max_binding_bytes(mut self, bytes: u64) -> Self {
        self.max_binding = bytes.clamp(4, self.ctx.max_binding_bytes());
        self
    }

    /// The binding size this executor plans with.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    pub(super) fn upload(&self, t: &Tensor) -> Result<GpuBuffer> {
        match t.data() {
            TensorData::Bf16(v) => self.ctx.upload(bytemuck::cast_slice(&pack_bf16(v))),
            TensorData::F32(v) => {
                let bits: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
                self.ctx.upload(bytemuck::cast_slice(&bits))
            }
        }
    }

    /// Runs one `cube_matmul` whose operands and result each fit one binding, with its epilogue (if any)
    /// applied on the way out; the result stays on the device.
    pub(super) fn matmul_on_device(
        &self,
        g: &MatmulGeometry,
        opts: &MatmulOptions,
        a: &GpuBuffer,
        b: &GpuBuffer,
        epilogue: Option<&DeviceEpilogue<'_>>,
    ) -> Result<GpuBuffer> {
        let numel = g.batch * g.m * g.n;
        let acc = self.ctx.storage(device_bytes(DType::F32, numel))?;
        let mut encoder = self
            .ctx
            .device()
            .create_command_encoder(&Default::default());
        kernels::cube_matmul::encode(&self.ctx, &mut encoder, g, opts.accumulate, a, b, &acc)?;
        let out = match (epilogue, opts.dtype_out) {
            (Some(e), dtype) => self.encode_epilogue(&mut encoder, &acc, numel, g.n, e, dtype)?,
            (None, DType::F32) => acc,
            (None, DType::Bf16) => {
                let packed = self.ctx.storage(device_bytes(DType::Bf16, numel))?;
                kernels::cast::encode_round(&self.ctx, &mut encoder, numel as u32, &acc, &packed);
                packed
            }
        };
        self.ctx.submit(encoder);
        Ok(out)
    }

    /// Reads device buffers back as host tensors, all in one submission.
    pub(super) fn download(&self, items: &[(&GpuBuffer, &Shape, DType)]) -> Result<Vec<Tensor>> {
        let encoder = self
            .ctx
            .device()
            .create_command_encoder(&Default::default());
        let sources: Vec<(&GpuBuffer, u64)> = items
            .iter()
            .map(|(buf, shape, dtype)| (*buf, device_bytes(*dtype, shape.numel())))
            .collect();
        let bytes = self.ctx.read_back(encoder, &sources)?;
        items
            .iter()
            .zip(bytes)
            .map(|((_, shape, dtype), raw)| {
                let words: Vec<u32> = raw
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let data = match dtype {
                    DType::F32 => {
                        TensorData::F32(words.iter().map(|&w| f32::from_bits(w)).collect())
                    }
                    DType::Bf16 => TensorData::Bf16(unpack_bf16(&words, shape.numel())),
                };
                Tensor::new((*shape).clone(), data)
            })
            .collect()
    }

    fn run_matmul<'a>(&self, values: &mut [Option<Value<'a>>], mm: &MatmulOp) -> Result<Value<'a>> {
        let g = &mm.geometry;
        let operand = if g.f32_inputs {
            DType::F32
        } else {
            DType::Bf16
        };
        let fits = [
            device_bytes(
                operand,
                if g.a_batch == 0 { 1 } else { g.batch } * g.m * g.k,
            ),
            device_bytes(
                operand,
                if g.b_batch == 0 { 1 } else { g.batch } * g.k * g.n,
            ),
            device_bytes(DType::F32, g.batch * g.m * g.n),
        ]
        .iter()
        .all(|&bytes| bytes <= self.max_binding);
        let e = &mm.epilogue;
        if !fits {
            let a = self.host_value(values, mm.a.index())?;
            let b = self.host_value(values, mm.b.index())?;
            if e.is_identity() {
                let out = super::gpu_chunked::matmul(self, &a, &b, mm)?;
                return Ok(Value::Host(Cow::Owned(out)));
            }
            // Blocks of the accumulator come back in f32; the epilogue then runs on the host with the
            // shader's twin, which gives the same bits.
            let mut f32_op = mm.clone();
            f32_op.options.dtype_out = DType::F32;
            let acc = super::gpu_chunked::matmul(self, &a, &b, &f32_op)?;
            let acc = acc.as_f32().unwrap_or_default().to_vec();
            let mut host = Vec::new();
            for id in [e.bias, e.residual].into_iter().flatten() {
                host.push((id, self.host_value(values, id.index())?));
            }
            let lookup = |id: crate::program::TensorId| -> Result<&Tensor> {
                host.iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, t)| t)
                    .ok_or_else(|| Error::Program("an epilogue operand is missing".to_string()))
            };
            let out = super::cpu_vector::finish_matmul(mm, acc, &lookup)?;
            return Ok(Value::Host(Cow::Owned(out)));
        }
        let operands = [Some(mm.a), Some(mm.b), e.bias, e.residual];
        for id in operands.into_iter().flatten() {
            self.move_to_device(values, id.index())?;
        }
        let on_device =
            |id: Option<crate::program::TensorId>| match id.map(|id| &values[id.index()]) {
                Some(Some(Value::Device { buf, dtype, .. })) => Some((buf, *dtype)),
                _ => None,
            };
        let (Some((a, _)), Some((b, _))) = (on_device(Some(mm.a)), on_device(Some(mm.b))) else {
            return Err(Error::Program(
                "cube_matmul reads a tensor no op wrote".to_string(),
            ));
        };
        let epilogue = DeviceEpilogue {
            scale: e.scale,
            bias: on_device(e.bias),
            activation: e.activation,
            residual: on_device(e.residual),
        };
        let buf = self.matmul_on_device(
            g,
            &mm.options,
            a,
            b,
            (!e.is_identity()).then_some(&epilogue),
        )?;
        Ok(Value::Device {
            buf,
            shape: g.out_shape(),
            dtype: mm.options.dtype_out,
        })
    }

    fn run_cast<'a>(&self, values: &mut [Option<Value<'a>>], c: &CastOp) -> Result<Value<'a>> {
        let shape = self.desc_of(values, c.input.index())?;
        let numel = shape.numel();
        let fits = device_bytes(DType::F32, numel) <= self.max_binding;
        if !fits {
            let x = self.host_value(values, c.input.index())?;
            return Ok(Value::Host(Cow::Owned(self.cast_in_chunks(&x, c.to)?)));
        }
        self.move_to_device(values, c.input.index())?;
        let Some(Value::Device { buf, .. }) = &values[c.input.index()] else {
            return Err(Error::Program(
                "cast reads a tensor no op wrote".to_string(),
            ));
        };
        let out = self.cast_on_device(buf, numel, c.to)?;
        Ok(Value::Device {
            buf: out,
            shape,
            dtype: c.to,
        })
    }

    /// Casts `numel` elements of `src` (of the other dtype) to `to`, on the device.
    fn cast_on_device(&self, src: &GpuBuffer, numel: usize, to: DType) -> Result<GpuBuffer> {
        let out = self.ctx.storage(device_bytes(to, numel))?;
        let mut encoder = self
            .ctx
            .device()
            .create_command_encoder(&Default::default());
        match to {
            DType::Bf16 => {
                kernels::cast::encode_round(&self.ctx, &mut encoder, numel as u32, src, &out)
            }
            DType::F32 => {
                kernels::cast::encode_widen(&self.ctx, &mut encoder, numel as u32, src, &out)
            }
        }
        self.ctx.submit(encoder);
        Ok(out)
    }

    /// A cast too large for one binding, in chunks of an even number of elements (so bf16 pairs stay whole).
    fn cast_in_chunks(&self, x: &Tensor, to: DType) -> Result<Tensor> {
        let chunk = ((self.max_binding / 4) as usize & !1).max(2);
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

    /// Moves tensor `i` to the device if it is on the host.
    pub(super) fn move_to_device(&self, values: &mut [Option<Value<'_>>], i: usize) -> Result<()> {
        if let Some(Value::Host(t)) = &values[i] {
            let buf = self.upload(t)?;
            values[i] = Some(Value::Device {
                buf,
                shape: t.shape().clone(),
                dtype: t.dtype(),
            });
        }
        Ok(())
    }

    fn desc_of(&self, values: &[Option<Value<'_>>], i: usize) -> Result<Shape> {
        match &values[i] {
            Some(Value::Host(t)) => Ok(t.shape().clone()),
            Some(Value::Device { shape, .. }) => Ok(shape.clone()),
            None => Err(Error::Program(format!(
                "tensor {i} is read before any op wrote it"
            ))),
        }
    }

    /// The value of tensor `i` on the host, reading it back if it lives on the device.
    fn host_value(&self, values: &[Option<Value<'_>>], i: usize) -> Result<Tensor> {
        match &values[i] {
            Some(Value::Host(t)) => Ok(t.as_ref().clone()),
            Some(Value::Device { buf, shape, dtype }) => {
                Ok(self.download(&[(buf, shape, *dtype)])?.remove(0))
            }
            None => Err(Error::Program(format!(
                "tensor {i} is read before any op wrote it"
            ))),
        }
    }
}

impl Executor for GpuExecutor {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn run(&self, program: &Program, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        program.check_inputs(inputs)?;
        program.check_host_memory(false)?;
        self.ctx.checked("running a program on the GPU", || {
            let mut values: Vec<Option<Value<'_>>> =
                (0..program.tensors().len()).map(|_| None).collect();
            for (id, t) in program.inputs().iter().zip(inputs) {
                values[id.index()] = Some(Value::Host(Cow::Borrowed(*t)));
            }
            for op in program.ops() {
                let (out, value) = match op {
                    Op::CubeMatmul(mm) => (mm.out, self.run_matmul(&mut values, mm)?),
                    Op::Cast(c) => (c.out, self.run_cast(&mut values, c)?),
                    Op::Vector(v) => (v.out, self.run_vector(&mut values, program, v)?),
                    Op::Move(m) => (m.out, self.run_move(&mut values, program, m)?),
                    Op::Rope(r) => (r.out, self.run_rope(&mut values, program, r)?),
                };
                values[out.index()] = Some(value);
            }
            // Outputs still on the device come back in one submission; host ones are cloned.
            let mut on_device = Vec::new();
            for id in program.outputs() {
                if let Some(Value::Device { buf, shape, dtype }) = &values[id.index()] {
                    on_device.push((buf, shape, *dtype));
                }
            }
            let mut downloaded = self.download(&on_device)?.into_iter();
            program
                .outputs()
                .iter()
                .map(|id| match &values[id.index()] {
                    Some(Value::Host(t)) => Ok(t.as_ref().clone()),
                    Some(Value::Device { .. }) => downloaded
                        .next()
                        .ok_or_else(|| Error::Program("an output was not read back".to_string())),
                    None => Err(Error::Program(format!(
                        "output {} was never written",
                        id.index()
                    ))),
                })
                .collect()
        })
    }
}

//! The GPU executor: uploads inputs, runs each op through its kernel's launcher (`src/kernels/`), keeps
//! intermediate values on the device, and reads back the outputs in one submission. Each child module
//! runs one family of ops and uses only this parent: `matmul` (with `matmul/chunked.rs` for operands
//! larger than one storage binding), `cast`, `vector` (with `vector_split` for the same), `chain`
//! (elementwise ops recorded back to back, fused into one dispatch), `mte` (data movement and rope).
//! This module and its children never name a wgpu type: they hand buffers to launchers and recordings to the context.

mod cast;
mod chain;
mod matmul;
mod mte;
mod vector;
mod vector_split;

use std::borrow::Cow;
use std::sync::Arc;

use super::Executor;
use super::chain_plan::{self, Step};
use crate::device::{GpuBuffer, GpuContext, Recording};
use crate::kernels::{Operand, device_bytes};
use crate::numerics::pack_bf16;
use crate::program::{Op, Program, TensorId};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// Runs programs through wgpu on one adapter.
pub struct GpuExecutor {
    ctx: Arc<GpuContext>,
    max_binding: u64,
    /// Treat the adapter's workgroups-per-dimension limit as this (see `with_max_workgroups`).
    max_workgroups: Option<u32>,
    /// Run elementwise ops recorded back to back as one dispatch (`chain.rs`); on unless turned off.
    fuse_chains: bool,
    /// Chains of fewer result elements run op by op (see `with_fusion_min_elements`).
    fusion_min_elements: usize,
}

/// Chains of fewer result elements than this run op by op on the GPU (assumption: a size where the saved
/// passes over memory, tens of microseconds on a hardware GPU and milliseconds on lavapipe, start to
/// matter; below it a run is dominated by fixed costs, and each distinct chain is one more pipeline to
/// build, 0.07-0.16 s on lavapipe, where the op-by-op pipelines are shared by every program).
pub const FUSION_MIN_ELEMENTS: usize = 1 << 18;

/// A value during a run: still on the host, or in a device buffer.
pub(super) enum Value<'a> {
    Host(Cow<'a, Tensor>),
    Device {
        buf: GpuBuffer,
        shape: Shape,
        dtype: DType,
    },
}

impl GpuExecutor {
    pub fn new(ctx: Arc<GpuContext>) -> Self {
        let max_binding = ctx.max_binding_bytes();
        GpuExecutor {
            ctx,
            max_binding,
            max_workgroups: None,
            fuse_chains: true,
            fusion_min_elements: FUSION_MIN_ELEMENTS,
        }
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

    /// Treats the adapter's limit of workgroups per grid dimension as `n` (never more than it allows),
    /// so that ops which need several dispatches can be exercised with small tensors.
    pub fn with_max_workgroups(mut self, n: u32) -> Self {
        // Each recording clamps it to the adapter's limit (`Recording::limit_workgroups`).
        self.max_workgroups = Some(n);
        self
    }

    /// Whether a `cube_matmul` of this geometry takes the register-tiled fast path (`cube_matmul_sg`) on
    /// this adapter; both paths give the same bits. For tests and reports.
    pub fn uses_fast_matmul(
        &self,
        g: &crate::program::MatmulGeometry,
        acc: crate::Accumulation,
    ) -> bool {
        crate::kernels::cube_matmul::uses_fast_path(&self.ctx, g, acc)
    }

    /// Whether the fast path also writes a `cube_matmul`'s result of `dtype`, its epilogue applied, in its
    /// own dispatch (no second pass over the result). For tests and reports.
    pub fn fuses_matmul_way_out(
        &self,
        g: &crate::program::MatmulGeometry,
        acc: crate::Accumulation,
        dtype: crate::DType,
    ) -> bool {
        crate::kernels::cube_matmul::fuses_way_out(&self.ctx, g, acc, dtype)
    }

    /// Whether a unary Vector op of `f` runs in the wide elementwise layout (chunks of 8 elements per
    /// invocation, read and written as whole vec4s); both layouts give the same bits. For tests and reports.
    pub fn unary_is_wide(&self, f: crate::UnaryFn) -> bool {
        crate::kernels::vector_unary::is_wide(f)
    }

    /// The same for a binary op of `f`; `broadcast` when an operand is not laid out as the result.
    pub fn binary_is_wide(&self, f: crate::BinaryFn, broadcast: bool) -> bool {
        crate::kernels::vector_binary::is_wide(f, !broadcast)
    }

    /// Runs every op on its own, fusing no elementwise chains (for tests and benches that compare the
    /// two; the bits are the same).
    pub fn without_fusion(mut self) -> Self {
        self.fuse_chains = false;
        self
    }

    /// Fuses chains of at least `n` result elements (default [`FUSION_MIN_ELEMENTS`]), so that tests can
    /// exercise fusion with small tensors.
    pub fn with_fusion_min_elements(mut self, n: usize) -> Self {
        self.fusion_min_elements = n;
        self
    }

    /// What this executor fuses: the cheap functions the chain kernel applies, chains that fit one
    /// binding and have at least the minimum of elements.
    fn fusion_limits(&self) -> chain_plan::FusionLimits {
        chain_plan::FusionLimits {
            max_binding: self.max_binding,
            min_elements: self.fusion_min_elements,
            cheap_only: true,
        }
    }

    /// The elementwise chains this executor fuses in `program` (see [`crate::exec::chain_plan::plan`]).
    pub fn fused_chains(&self, program: &Program) -> Vec<crate::exec::ChainPlan> {
        if !self.fuse_chains {
            return Vec::new();
        }
        chain_plan::plan(program, self.fusion_limits())
    }

    /// A new recording for one op's launches, under this executor's workgroup limit.
    fn record(&self) -> Recording {
        self.ctx.record().limit_workgroups(self.max_workgroups)
    }

    pub(super) fn upload(&self, t: &Tensor) -> Result<GpuBuffer> {
        if cfg!(target_endian = "little") {
            // The elements' bytes are the buffer's words (see `device::transfer`).
            return self.ctx.upload(crate::device::transfer::le_bytes(t.data()));
        }
        match t.data() {
            TensorData::Bf16(v) => self.ctx.upload(bytemuck::cast_slice(&pack_bf16(v))),
            TensorData::F32(v) => self.ctx.upload(bytemuck::cast_slice(v)),
            other => self
                .ctx
                .upload(bytemuck::cast_slice(&crate::kernels::pack_words(other))),
        }
    }

    /// Reads device buffers back as host tensors, all in one submission.
    pub(super) fn download(&self, items: &[(&GpuBuffer, &Shape, DType)]) -> Result<Vec<Tensor>> {
        let rec = self.record();
        let sources: Vec<(&GpuBuffer, u64)> = items
            .iter()
            .map(|(buf, shape, dtype)| (*buf, device_bytes(*dtype, shape.numel())))
            .collect();
        let decoded = self.ctx.read_back(rec, &sources, |i, words| {
            let (_, shape, dtype) = items[i];
            Tensor::new(
                shape.clone(),
                crate::kernels::unpack_words(dtype, words, shape.numel()),
            )
        })?;
        decoded.into_iter().collect()
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

    /// Tensor `id` on the device (moved there first if it is on the host), refused when it exceeds one
    /// binding: `cube_matmul`, casts and the Vector ops split their tensors before they get here.
    fn operand<'v>(
        &self,
        values: &'v mut [Option<Value<'_>>],
        program: &Program,
        id: TensorId,
        op: &'static str,
    ) -> Result<Operand<'v>> {
        let d = program.desc(id)?;
        let bytes = device_bytes(d.dtype, d.shape.numel());
        if bytes > self.max_binding {
            return Err(Error::TooLargeForBinding {
                op,
                tensor: d.name.clone(),
                bytes,
                limit: self.max_binding,
                hint: "this op does not split tensors yet; use --executor cpu",
            });
        }
        self.move_to_device(values, id.index())?;
        device_operand(values, id, op)
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

/// Tensor `id`, which must already be on the device.
fn device_operand<'v>(
    values: &'v [Option<Value<'_>>],
    id: TensorId,
    op: &str,
) -> Result<Operand<'v>> {
    match &values[id.index()] {
        Some(Value::Device { buf, dtype, .. }) => Ok(Operand { buf, dtype: *dtype }),
        _ => Err(Error::Program(format!("{op} reads a tensor no op wrote"))),
    }
}

/// The empty result of an op over an empty tensor.
fn empty<'a>(shape: Shape, dtype: DType) -> Result<Value<'a>> {
    let t = super::cpu_vector::finish(shape, Vec::new(), dtype)?;
    Ok(Value::Host(Cow::Owned(t)))
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
            let plans = if self.fuse_chains {
                chain_plan::plan(program, self.fusion_limits())
            } else {
                Vec::new()
            };
            for step in chain_plan::steps(program, plans) {
                let op = match step {
                    Step::Op(op) => op,
                    Step::Chain(c) => {
                        let value = self.run_chain(&mut values, program, c)?;
                        let last = &program.ops()[c.first + c.len - 1];
                        values[last.out().index()] = Some(value);
                        continue;
                    }
                };
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

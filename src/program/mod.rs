//! Recorded programs: a list of ops over tensor handles. The GPU executor, the CPU executor and (later) the
//! timing model all consume the same [`Program`], so numerics and timing are tested separately. Recording
//! validates shapes and dtypes at once, so an executor only ever sees a well-formed program.

pub mod broadcast;
pub mod dequant;
pub mod epilogue;
pub mod format;
pub mod matmul;
pub mod mte;
pub mod rope;
pub mod vector;
pub mod vector_fns;

pub use broadcast::Broadcast;
pub use dequant::Dequant;
pub use epilogue::{Activation, Epilogue};
pub use format::CubeFormat;
pub use matmul::{MatmulGeometry, MatmulOp, MatmulOptions, TilingHint};
pub use mte::{MoveKind, MoveOp};
pub use rope::RopeOp;
pub use vector::{BinaryFn, ReduceFn, UnaryFn, VectorKind, VectorOp};

use crate::kernel_table::KernelId;

use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// A handle to a tensor of one [`Program`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TensorId(pub(crate) usize);

impl TensorId {
    /// Position of the tensor in [`Program::tensors`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// What a program knows about one of its tensors before it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    pub name: String,
    pub shape: Shape,
    pub dtype: DType,
}

/// One recorded operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `cube_matmul`: the Cube unit's bf16 matmul with f32 accumulation.
    CubeMatmul(MatmulOp),
    /// A dtype conversion between any two element formats (see `reference::cast_formats`).
    Cast(CastOp),
    /// A Vector-unit op: elementwise, reduction, softmax or norm.
    Vector(VectorOp),
    /// A data movement: reshape, permute, gather of rows.
    Move(MoveOp),
    /// A rotary position embedding (a Vector-unit op with its own tables).
    Rope(RopeOp),
}

/// One recorded cast.
#[derive(Clone, Debug, PartialEq)]
pub struct CastOp {
    pub input: TensorId,
    pub out: TensorId,
    pub from: DType,
    pub to: DType,
    pub rounding: Rounding,
}

/// How a cast to a narrower float rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// To nearest, ties to even.
    #[default]
    Nearest,
    /// Up with probability equal to the distance from the value below (unbiased), with 32 random bits
    /// per element: Philox2x32-10 on the element's index, keyed by `seed`.
    Stochastic { seed: u32 },
}

impl CastOp {
    /// Whether one of the two bf16 <-> f32 kernels runs it (nearest even), rather than `cast_formats`.
    pub fn is_bf16_f32(&self) -> bool {
        self.rounding == Rounding::Nearest
            && matches!(
                (self.from, self.to),
                (DType::F32, DType::Bf16) | (DType::Bf16, DType::F32)
            )
    }
}

impl Op {
    /// The kernel that runs the op (shader, launcher, CPU twin and bench share its name), or `None` for a
    /// reshape, which is a buffer copy.
    pub fn kernel(&self) -> Option<KernelId> {
        Some(match self {
            Op::CubeMatmul(_) => KernelId::CubeMatmul,
            Op::Cast(c) if !c.is_bf16_f32() => KernelId::CastFormats,
            Op::Cast(c) if c.to == DType::Bf16 => KernelId::CastF32Bf16,
            Op::Cast(_) => KernelId::CastBf16F32,
            Op::Vector(v) => v.kind.kernel(),
            Op::Move(m) => return m.kind.kernel(),
            Op::Rope(_) => KernelId::VectorRope,
        })
    }

    /// The tensors the op reads.
    pub fn inputs(&self) -> Vec<TensorId> {
        match self {
            Op::CubeMatmul(o) => [Some(o.a), Some(o.b), o.epilogue.bias, o.epilogue.residual]
                .into_iter()
                .flatten()
                .collect(),
            Op::Cast(o) => vec![o.input],
            Op::Vector(o) => o.inputs(),
            Op::Move(o) => o.inputs(),
            Op::Rope(o) => vec![o.x, o.cos, o.sin],
        }
    }

    /// The tensor the op writes.
    pub fn out(&self) -> TensorId {
        match self {
            Op::CubeMatmul(o) => o.out,
            Op::Cast(o) => o.out,
            Op::Vector(o) => o.out,
            Op::Move(o) => o.out,
            Op::Rope(o) => o.out,
        }
    }

    /// The kernel name of the op, the same everywhere (shader, CPU twin, bench); `mte_copy` for a reshape.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel().map_or("mte_copy", KernelId::name)
    }
}

/// A recorded program: inputs, ops in order, outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    tensors: Vec<TensorDesc>,
    inputs: Vec<TensorId>,
    outputs: Vec<TensorId>,
    ops: Vec<Op>,
}

impl Program {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares an input tensor that the caller supplies at run time, in declaration order.
    pub fn input(
        &mut self,
        name: impl Into<String>,
        shape: impl Into<Shape>,
        dtype: DType,
    ) -> TensorId {
        let id = self.push_tensor(name.into(), shape.into(), dtype);
        self.inputs.push(id);
        id
    }

    /// Marks a tensor as an output; outputs are returned in the order they were marked.
    pub fn output(&mut self, id: TensorId) -> Result<()> {
        self.desc(id)?;
        self.outputs.push(id);
        Ok(())
    }

    /// Records `cube_matmul(a, b)` and returns the handle of its result.
    pub fn cube_matmul(
        &mut self,
        a: TensorId,
        b: TensorId,
        opts: MatmulOptions,
    ) -> Result<TensorId> {
        let (da, db) = (self.desc(a)?.clone(), self.desc(b)?.clone());
        let geometry = MatmulGeometry::infer(&da, &db, &opts)?;
        let out = self.push_tensor(
            format!("cube_matmul_{}", self.ops.len()),
            geometry.out_shape(),
            opts.dtype_out,
        );
        self.ops.push(Op::CubeMatmul(MatmulOp {
            a,
            b,
            out,
            options: opts,
            geometry,
            epilogue: Epilogue::default(),
            dequant: None,
        }));
        Ok(out)
    }

    /// Records a cast of `x` to `to` and returns the handle of its result; a cast to the dtype `x` already
    /// has records nothing and returns `x`.
    pub fn cast(&mut self, x: TensorId, to: DType) -> Result<TensorId> {
        self.cast_rounded(x, to, Rounding::Nearest)
    }

    /// Records a cast with the given rounding. Stochastic rounding applies to the narrower float targets
    /// (bf16, f16, fp8); to f32 or an integer it is refused.
    pub fn cast_rounded(&mut self, x: TensorId, to: DType, rounding: Rounding) -> Result<TensorId> {
        let d = self.desc(x)?.clone();
        if let Rounding::Stochastic { .. } = rounding
            && to.minifloat().is_none()
        {
            return Err(Error::dtype(
                "cast_formats",
                format!(
                    "stochastic rounding of '{}' ({} {}) to {to}: it applies only to bf16, f16, \
                     f8_e4m3 and f8_e5m2 results",
                    d.name, d.dtype, d.shape
                ),
            ));
        }
        if d.dtype == to {
            return Ok(x);
        }
        let out = self.push_tensor(format!("cast_{}", self.ops.len()), d.shape, to);
        self.ops.push(Op::Cast(CastOp {
            input: x,
            out,
            from: d.dtype,
            to,
            rounding,
        }));
        Ok(out)
    }

    /// Refuses an operand of `op` whose dtype the Vector unit's ops and moves do not take.
    pub(crate) fn check_vector_dtype(&self, op: &'static str, id: TensorId) -> Result<()> {
        let d = self.desc(id)?;
        if d.dtype.is_vector() {
            return Ok(());
        }
        Err(Error::dtype(
            op,
            format!(
                "'{}' is {} {}; this op takes f32 or bf16 tensors: cast it first",
                d.name, d.dtype, d.shape
            ),
        ))
    }

    pub fn tensors(&self) -> &[TensorDesc] {
        &self.tensors
    }

    pub fn inputs(&self) -> &[TensorId] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[TensorId] {
        &self.outputs
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The description of a tensor, or an error if the handle belongs to another program.
    pub fn desc(&self, id: TensorId) -> Result<&TensorDesc> {
        self.tensors.get(id.0).ok_or_else(|| {
            Error::Program(format!(
                "tensor handle {} is not part of this program",
                id.0
            ))
        })
    }

    /// Host bytes of the tensors a run makes: every non-input tensor (`all`, as the CPU executor keeps
    /// them), or the outputs only (what the GPU executor reads back). Saturating, so an absurd shape
    /// gives a size every memory check refuses.
    pub fn result_bytes(&self, all: bool) -> u128 {
        let bytes = |d: &TensorDesc| d.shape.numel() as u128 * d.dtype.size() as u128;
        if all {
            (0..self.tensors.len())
                .filter(|i| !self.inputs.iter().any(|id| id.0 == *i))
                .map(|i| bytes(&self.tensors[i]))
                .fold(0u128, u128::saturating_add)
        } else {
            self.outputs
                .iter()
                .map(|id| bytes(&self.tensors[id.0]))
                .fold(0u128, u128::saturating_add)
        }
    }

    /// Refuses a run whose results (see [`Program::result_bytes`]) exceed the host's available memory,
    /// naming the size, before anything is allocated.
    pub fn check_host_memory(&self, all: bool) -> Result<()> {
        let what = if all {
            format!(
                "running the program ({} ops, every result kept)",
                self.ops.len()
            )
        } else {
            format!("reading back the program's {} outputs", self.outputs.len())
        };
        crate::files::check_host_memory(&what, self.result_bytes(all))
    }

    /// Checks that the supplied tensors match the declared inputs in number, shape and dtype, and that
    /// every dequantisation scale given as an input is finite and not zero.
    pub fn check_inputs(&self, inputs: &[&Tensor]) -> Result<()> {
        self.check_scales(inputs)?;
        if inputs.len() != self.inputs.len() {
            return Err(Error::Program(format!(
                "expected {} input tensors, got {}",
                self.inputs.len(),
                inputs.len()
            )));
        }
        for (id, t) in self.inputs.iter().zip(inputs) {
            let d = &self.tensors[id.0];
            if t.shape() != &d.shape || t.dtype() != d.dtype {
                return Err(Error::Program(format!(
                    "input '{}' was declared {} {} but a {} {} tensor was supplied",
                    d.name,
                    d.dtype,
                    d.shape,
                    t.dtype(),
                    t.shape()
                )));
            }
        }
        Ok(())
    }

    fn push_tensor(&mut self, name: String, shape: Shape, dtype: DType) -> TensorId {
        self.tensors.push(TensorDesc { name, shape, dtype });
        TensorId(self.tensors.len() - 1)
    }
}

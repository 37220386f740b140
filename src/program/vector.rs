//! Vector-unit ops as recorded: elementwise unary and binary functions (with broadcasting), reductions over
//! the last axis, softmax, layernorm and rmsnorm. Every op reads bf16 or f32 inputs, computes in f32, and
//! rounds once to its output dtype. Recording checks shapes, dtypes and options, so an executor only sees a
//! well-formed op; each error names the op, the shapes and what was expected.

use super::broadcast::{self, Broadcast};
use super::{Op, Program, TensorId};
use crate::kernel_table::KernelId;
use crate::tensor::{DType, Shape};
use crate::{Error, Result};

// The function enums live in `vector_fns`; re-exported so `program::vector::UnaryFn` etc. keep working.
pub use super::vector_fns::{BinaryFn, ReduceFn, UnaryFn};

/// Which Vector-unit op, with its options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VectorKind {
    Unary(UnaryFn),
    Binary(BinaryFn),
    Reduce(ReduceFn),
    /// Softmax over the last axis, after adding the optional mask.
    Softmax,
    /// `(x - mean) / sqrt(var + eps) * gamma + beta` over the last axis, biased variance.
    LayerNorm {
        eps: f32,
    },
    /// `x / sqrt(mean(x^2) + eps) * gamma` over the last axis.
    RmsNorm {
        eps: f32,
    },
}

impl VectorKind {
    /// The op's name on the command line and in reports.
    pub fn name(&self) -> &'static str {
        match self {
            VectorKind::Unary(f) => f.name(),
            VectorKind::Binary(f) => f.name(),
            VectorKind::Reduce(f) => f.name(),
            VectorKind::Softmax => "softmax",
            VectorKind::LayerNorm { .. } => "layernorm",
            VectorKind::RmsNorm { .. } => "rmsnorm",
        }
    }

    /// The kernel that runs it: shader `shaders/<name>.wgsl`, twin `src/reference/<name>.rs`.
    pub fn kernel(&self) -> KernelId {
        match self {
            VectorKind::Unary(_) => KernelId::VectorUnary,
            VectorKind::Binary(_) => KernelId::VectorBinary,
            VectorKind::Reduce(_) => KernelId::VectorReduce,
            VectorKind::Softmax => KernelId::VectorSoftmax,
            VectorKind::LayerNorm { .. } => KernelId::VectorLayernorm,
            VectorKind::RmsNorm { .. } => KernelId::VectorRmsnorm,
        }
    }

    /// The kernel's name.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel().name()
    }
}

/// One recorded Vector-unit op.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorOp {
    pub kind: VectorKind,
    pub x: TensorId,
    /// The second operand of a binary op.
    pub y: Option<TensorId>,
    /// Softmax's additive mask (broadcast to x).
    pub mask: Option<TensorId>,
    /// The norms' scale and shift, each of the last axis' length.
    pub gamma: Option<TensorId>,
    pub beta: Option<TensorId>,
    pub out: TensorId,
    pub dtype_out: DType,
    /// Elementwise ops: the result's elements. Row ops: rows x `len`.
    pub rows: usize,
    /// Row ops: the last axis' length; elementwise ops: 1.
    pub len: usize,
    /// How x (and y, or the mask) are read for each result element (row ops: over x's shape).
    pub bcast: Broadcast,
}

impl VectorOp {
    /// Every tensor the op reads, x first.
    pub fn inputs(&self) -> Vec<TensorId> {
        [Some(self.x), self.y, self.mask, self.gamma, self.beta]
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Program {
    /// Records an elementwise function of `x`.
    pub fn unary(&mut self, f: UnaryFn, x: TensorId, dtype_out: DType) -> Result<TensorId> {
        let shape = self.desc(x)?.shape.clone();
        let bcast = broadcast::plan(f.name(), &shape, &[&shape])?;
        self.push_vector(
            VectorKind::Unary(f),
            x,
            shape.clone(),
            shape.numel(),
            1,
            bcast,
            dtype_out,
            |_| {},
        )
    }

    /// Records `f(x, y)` elementwise, broadcasting x and y against each other.
    pub fn binary(
        &mut self,
        f: BinaryFn,
        x: TensorId,
        y: TensorId,
        dtype_out: DType,
    ) -> Result<TensorId> {
        let (sx, sy) = (self.desc(x)?.shape.clone(), self.desc(y)?.shape.clone());
        let out = broadcast::broadcast_shapes(&sx, &sy).ok_or_else(|| {
            Error::shape(
                f.name(),
                format!(
                    "x {sx} and y {sy} do not broadcast (numpy rules: aligned on the right, each dimension \
                     equal or 1)"
                ),
            )
        })?;
        let bcast = broadcast::plan(f.name(), &out, &[&sx, &sy])?;
        let n = out.numel();
        self.push_vector(
            VectorKind::Binary(f),
            x,
            out,
            n,
            1,
            bcast,
            dtype_out,
            |op| op.y = Some(y),
        )
    }

    /// Records a reduction of `x` over its last axis; the result drops that axis.
    pub fn reduce(&mut self, f: ReduceFn, x: TensorId, dtype_out: DType) -> Result<TensorId> {
        let shape = self.desc(x)?.shape.clone();
        let (rows, len) = rows_of(f.name(), &shape)?;
        let out = Shape::new(&shape.dims()[..shape.rank() - 1]);
        let bcast = broadcast::plan(f.name(), &shape, &[&shape])?;
        self.push_vector(
            VectorKind::Reduce(f),
            x,
            out,
            rows,
            len,
            bcast,
            dtype_out,
            |_| {},
        )
    }

    /// Records softmax over the last axis of `x + mask` (the mask, if any, broadcast to x's shape). A row
    /// whose entries are all -inf, or that holds +inf or NaN, gives NaN.
    pub fn softmax(
        &mut self,
        x: TensorId,
        mask: Option<TensorId>,
        dtype_out: DType,
    ) -> Result<TensorId> {
        let shape = self.desc(x)?.shape.clone();
        let (rows, len) = rows_of("softmax", &shape)?;
        let bcast = match mask {
            Some(m) => {
                let sm = self.desc(m)?.shape.clone();
                broadcast::plan("softmax", &shape, &[&shape, &sm]).map_err(|_| {
                    Error::shape(
                        "softmax",
                        format!("the mask {sm} does not broadcast to x {shape} (numpy rules, without growing x)"),
                    )
                })?
            }
            None => broadcast::plan("softmax", &shape, &[&shape])?,
        };
        self.push_vector(
            VectorKind::Softmax,
            x,
            shape,
            rows,
            len,
            bcast,
            dtype_out,
            |op| op.mask = mask,
        )
    }

    /// Records layernorm over the last axis (biased variance), with optional gamma and beta of that length.
    pub fn layernorm(
        &mut self,
        x: TensorId,
        gamma: Option<TensorId>,
        beta: Option<TensorId>,
        eps: f32,
        dtype_out: DType,
    ) -> Result<TensorId> {
        self.norm(
            VectorKind::LayerNorm { eps },
            "layernorm",
            x,
            gamma,
            beta,
            eps,
            dtype_out,
        )
    }

    /// Records rmsnorm over the last axis, with an optional gamma of that length.
    pub fn rmsnorm(
        &mut self,
        x: TensorId,
        gamma: Option<TensorId>,
        eps: f32,
        dtype_out: DType,
    ) -> Result<TensorId> {
        self.norm(
            VectorKind::RmsNorm { eps },
            "rmsnorm",
            x,
            gamma,
            None,
            eps,
            dtype_out,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn norm(
        &mut self,
        kind: VectorKind,
        op: &'static str,
        x: TensorId,
        gamma: Option<TensorId>,
        beta: Option<TensorId>,
        eps: f32,
        dtype_out: DType,
    ) -> Result<TensorId> {
        let shape = self.desc(x)?.shape.clone();
        let (rows, len) = rows_of(op, &shape)?;
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(Error::Invalid(format!(
                "{op}: eps must be a finite number >= 0, got {eps}"
            )));
        }
        for (name, t) in [("gamma", gamma), ("beta", beta)] {
            if let Some(t) = t {
                let d = self.desc(t)?;
                if d.shape.dims() != [len] {
                    return Err(Error::shape(
                        op,
                        format!(
                            "{name} must have shape [{len}] (the last axis of x {shape}), got {}",
                            d.shape
                        ),
                    ));
                }
            }
        }
        let bcast = broadcast::plan(op, &shape, &[&shape])?;
        self.push_vector(kind, x, shape, rows, len, bcast, dtype_out, |v| {
            v.gamma = gamma;
            v.beta = beta;
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn push_vector(
        &mut self,
        kind: VectorKind,
        x: TensorId,
        out_shape: Shape,
        rows: usize,
        len: usize,
        bcast: Broadcast,
        dtype_out: DType,
        fill: impl FnOnce(&mut VectorOp),
    ) -> Result<TensorId> {
        if out_shape.checked_numel().is_none() {
            return Err(Error::shape(
                kind.name(),
                format!("the result {out_shape} is too large to address"),
            ));
        }
        let out = self.push_tensor(
            format!("{}_{}", kind.name(), self.ops.len()),
            out_shape,
            dtype_out,
        );
        let mut op = VectorOp {
            kind,
            x,
            y: None,
            mask: None,
            gamma: None,
            beta: None,
            out,
            dtype_out,
            rows,
            len,
            bcast,
        };
        fill(&mut op);
        let operands = [Some(op.x), op.y, op.mask, op.gamma, op.beta];
        for id in operands.into_iter().flatten() {
            self.check_vector_dtype(kind.name(), id)?;
        }
        if !dtype_out.is_vector() {
            return Err(Error::dtype(
                kind.name(),
                format!(
                    "the Vector unit's ops give f32 or bf16 results, not {dtype_out}; cast the result"
                ),
            ));
        }
        self.ops.push(Op::Vector(op));
        Ok(out)
    }
}

/// Rows and row length of an op over the last axis; refuses a scalar and an empty axis.
fn rows_of(op: &'static str, shape: &Shape) -> Result<(usize, usize)> {
    match shape.dims().last() {
        None => Err(Error::shape(
            op,
            format!("x {shape} is a scalar; the op works over the last axis"),
        )),
        Some(0) => Err(Error::shape(
            op,
            format!("the last axis of x {shape} is empty"),
        )),
        Some(&len) => Ok((shape.numel() / len, len)),
    }
}

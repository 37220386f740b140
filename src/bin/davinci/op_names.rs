//! The subcommands of `davinci op`: one [`OpCommand`] variant per op, and the mapping from each Vector op
//! subcommand to the [`VectorName`] it runs. Kept apart from `op.rs` so that the list of ops (which grows
//! with every new kernel) does not crowd the loading, running and reporting logic there.

use clap::{Args, Subcommand};
use davinci::{BinaryFn, ReduceFn, UnaryFn};

use crate::common::MatmulFlags;
use crate::op::IoArgs;
use crate::vector_op::{EpilogueFlags, RowOp, VectorName, VectorOpArgs};

#[derive(Args, Debug)]
pub struct OpArgs {
    #[command(subcommand)]
    pub op: OpCommand,
}

/// The ops `davinci op` runs. Vector ops read `x` (and `y`, `mask`, `gamma`, `beta`) and write `out`.
#[derive(Subcommand, Debug)]
pub enum OpCommand {
    /// cube_matmul: out = a x b, bf16 inputs (f32 tensors are rounded to bf16 on load), f32 accumulation,
    /// with an optional fused epilogue (inputs `bias` [N] and `residual`, flags --scale and --activation).
    Matmul(MatmulOpArgs),
    /// x cast to --dtype-out (f32 -> bf16 rounds to nearest even; bf16 -> f32 is exact).
    Cast(VectorOpArgs),
    /// x + y (numpy broadcasting).
    Add(VectorOpArgs),
    /// x - y (numpy broadcasting).
    Sub(VectorOpArgs),
    /// x * y (numpy broadcasting).
    Mul(VectorOpArgs),
    /// x / y, correctly rounded (numpy broadcasting).
    Div(VectorOpArgs),
    /// max(x, y), NaN if either is NaN (numpy broadcasting).
    Max(VectorOpArgs),
    /// min(x, y), NaN if either is NaN (numpy broadcasting).
    Min(VectorOpArgs),
    /// -x.
    Neg(VectorOpArgs),
    /// |x|.
    Abs(VectorOpArgs),
    /// e^x.
    Exp(VectorOpArgs),
    /// ln x.
    Log(VectorOpArgs),
    /// sqrt x, correctly rounded.
    Sqrt(VectorOpArgs),
    /// 1 / sqrt x.
    Rsqrt(VectorOpArgs),
    /// 1 / x, correctly rounded.
    Recip(VectorOpArgs),
    /// tanh x.
    Tanh(VectorOpArgs),
    /// 1 / (1 + e^-x).
    Sigmoid(VectorOpArgs),
    /// max(x, 0).
    Relu(VectorOpArgs),
    /// x * sigmoid(x).
    Silu(VectorOpArgs),
    /// GELU, exact: 0.5 x erfc(-x / sqrt 2).
    Gelu(VectorOpArgs),
    /// GELU, tanh approximation.
    #[command(name = "gelu_tanh", alias = "gelu-tanh")]
    GeluTanh(VectorOpArgs),
    /// Sum over the last axis (which the result drops).
    Sum(VectorOpArgs),
    /// Mean over the last axis.
    Mean(VectorOpArgs),
    /// Maximum over the last axis.
    Amax(VectorOpArgs),
    /// Sum of squares over the last axis.
    Sumsq(VectorOpArgs),
    /// Softmax over the last axis of x + mask (mask optional, broadcast to x).
    Softmax(VectorOpArgs),
    /// Layernorm over the last axis (biased variance; gamma and beta optional; --eps, default 1e-5).
    Layernorm(VectorOpArgs),
    /// RMSNorm over the last axis (gamma optional; --eps, default 1e-6).
    Rmsnorm(VectorOpArgs),
}

impl OpCommand {
    /// The Vector op a subcommand names, with its arguments; `None` for matmul.
    pub fn vector(&self) -> Option<(VectorName, &VectorOpArgs)> {
        use VectorName as V;
        Some(match self {
            OpCommand::Matmul(_) => return None,
            OpCommand::Cast(a) => (V::Cast, a),
            OpCommand::Add(a) => (V::Binary(BinaryFn::Add), a),
            OpCommand::Sub(a) => (V::Binary(BinaryFn::Sub), a),
            OpCommand::Mul(a) => (V::Binary(BinaryFn::Mul), a),
            OpCommand::Div(a) => (V::Binary(BinaryFn::Div), a),
            OpCommand::Max(a) => (V::Binary(BinaryFn::Max), a),
            OpCommand::Min(a) => (V::Binary(BinaryFn::Min), a),
            OpCommand::Neg(a) => (V::Unary(UnaryFn::Neg), a),
            OpCommand::Abs(a) => (V::Unary(UnaryFn::Abs), a),
            OpCommand::Exp(a) => (V::Unary(UnaryFn::Exp), a),
            OpCommand::Log(a) => (V::Unary(UnaryFn::Log), a),
            OpCommand::Sqrt(a) => (V::Unary(UnaryFn::Sqrt), a),
            OpCommand::Rsqrt(a) => (V::Unary(UnaryFn::Rsqrt), a),
            OpCommand::Recip(a) => (V::Unary(UnaryFn::Recip), a),
            OpCommand::Tanh(a) => (V::Unary(UnaryFn::Tanh), a),
            OpCommand::Sigmoid(a) => (V::Unary(UnaryFn::Sigmoid), a),
            OpCommand::Relu(a) => (V::Unary(UnaryFn::Relu), a),
            OpCommand::Silu(a) => (V::Unary(UnaryFn::Silu), a),
            OpCommand::Gelu(a) => (V::Unary(UnaryFn::Gelu), a),
            OpCommand::GeluTanh(a) => (V::Unary(UnaryFn::GeluTanh), a),
            OpCommand::Sum(a) => (V::Reduce(ReduceFn::Sum), a),
            OpCommand::Mean(a) => (V::Reduce(ReduceFn::Mean), a),
            OpCommand::Amax(a) => (V::Reduce(ReduceFn::Amax), a),
            OpCommand::Sumsq(a) => (V::Reduce(ReduceFn::SumSq), a),
            OpCommand::Softmax(a) => (V::Row(RowOp::Softmax), a),
            OpCommand::Layernorm(a) => (V::Row(RowOp::Layernorm), a),
            OpCommand::Rmsnorm(a) => (V::Row(RowOp::Rmsnorm), a),
        })
    }
}

#[derive(Args, Debug)]
pub struct MatmulOpArgs {
    #[command(flatten)]
    pub io: IoArgs,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    #[command(flatten)]
    pub epilogue: EpilogueFlags,
}

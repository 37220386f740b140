//! The functions a Vector-unit op applies: [`UnaryFn`] (elementwise, one input), [`BinaryFn`] (elementwise,
//! two inputs with broadcasting, including the activations' gradients used by training) and [`ReduceFn`]
//! (over the last axis). Each has `ALL`, `name` (CLI and reports) and `code`, the selector its shader
//! switches on: a constant of `shaders/shared/codes.wgsl`, read into [`crate::kernel_table::codes`] by the
//! build, which also fails when a shader lacks a case for one.

use crate::kernel_table::codes;

/// Elementwise functions of one input. The `code` is the selector the `vector_unary` shader switches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryFn {
    Neg,
    Abs,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Recip,
    Tanh,
    Sigmoid,
    Relu,
    Silu,
    /// GELU, exact form: `0.5 x erfc(-x / sqrt 2)`.
    Gelu,
    /// GELU, tanh approximation: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    GeluTanh,
    /// The error function, by the same rational approximation the exact GELU uses (ONNX's `Erf`).
    Erf,
}

impl UnaryFn {
    pub const ALL: [UnaryFn; 14] = [
        UnaryFn::Neg,
        UnaryFn::Abs,
        UnaryFn::Exp,
        UnaryFn::Log,
        UnaryFn::Sqrt,
        UnaryFn::Rsqrt,
        UnaryFn::Recip,
        UnaryFn::Tanh,
        UnaryFn::Sigmoid,
        UnaryFn::Relu,
        UnaryFn::Silu,
        UnaryFn::Gelu,
        UnaryFn::GeluTanh,
        UnaryFn::Erf,
    ];

    /// The op's name (CLI and reports).
    pub fn name(self) -> &'static str {
        match self {
            UnaryFn::Neg => "neg",
            UnaryFn::Abs => "abs",
            UnaryFn::Exp => "exp",
            UnaryFn::Log => "log",
            UnaryFn::Sqrt => "sqrt",
            UnaryFn::Rsqrt => "rsqrt",
            UnaryFn::Recip => "recip",
            UnaryFn::Tanh => "tanh",
            UnaryFn::Sigmoid => "sigmoid",
            UnaryFn::Relu => "relu",
            UnaryFn::Silu => "silu",
            UnaryFn::Gelu => "gelu",
            UnaryFn::GeluTanh => "gelu_tanh",
            UnaryFn::Erf => "erf",
        }
    }

    /// The shader's selector (`UNARY_*` in `shaders/shared/codes.wgsl`).
    pub fn code(self) -> u32 {
        match self {
            UnaryFn::Neg => codes::UNARY_NEG,
            UnaryFn::Abs => codes::UNARY_ABS,
            UnaryFn::Exp => codes::UNARY_EXP,
            UnaryFn::Log => codes::UNARY_LOG,
            UnaryFn::Sqrt => codes::UNARY_SQRT,
            UnaryFn::Rsqrt => codes::UNARY_RSQRT,
            UnaryFn::Recip => codes::UNARY_RECIP,
            UnaryFn::Tanh => codes::UNARY_TANH,
            UnaryFn::Sigmoid => codes::UNARY_SIGMOID,
            UnaryFn::Relu => codes::UNARY_RELU,
            UnaryFn::Silu => codes::UNARY_SILU,
            UnaryFn::Gelu => codes::UNARY_GELU,
            UnaryFn::GeluTanh => codes::UNARY_GELU_TANH,
            UnaryFn::Erf => codes::UNARY_ERF,
        }
    }
}

/// Elementwise functions of two inputs, with broadcasting. The `*Grad` functions are the backward passes
/// of the activations (`src/train/`): `f(x, dy) = dy * act'(x)` for the pre-activation `x` and the
/// incoming gradient `dy`, computed in f32 from the `vm_*` functions and rounded once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryFn {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    /// `dy` where `x > 0`, else 0.
    ReluGrad,
    /// `dy * s (1 + x (1 - s))`, `s = sigmoid(x)` (x clamped to [-80, 80]).
    SiluGrad,
    /// `dy * (Phi(x) + x phi(x))`, the exact GELU's derivative (x clamped to [-20, 20]).
    GeluGrad,
    /// `dy * (s + x s (1 - s) v')`, `s = sigmoid(v)`, `v = x (K1 + K2 x^2)` (x clamped to [-20, 20]).
    GeluTanhGrad,
}

impl BinaryFn {
    pub const ALL: [BinaryFn; 10] = [
        BinaryFn::Add,
        BinaryFn::Sub,
        BinaryFn::Mul,
        BinaryFn::Div,
        BinaryFn::Max,
        BinaryFn::Min,
        BinaryFn::ReluGrad,
        BinaryFn::SiluGrad,
        BinaryFn::GeluGrad,
        BinaryFn::GeluTanhGrad,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BinaryFn::Add => "add",
            BinaryFn::Sub => "sub",
            BinaryFn::Mul => "mul",
            BinaryFn::Div => "div",
            BinaryFn::Max => "max",
            BinaryFn::Min => "min",
            BinaryFn::ReluGrad => "relu_grad",
            BinaryFn::SiluGrad => "silu_grad",
            BinaryFn::GeluGrad => "gelu_grad",
            BinaryFn::GeluTanhGrad => "gelu_tanh_grad",
        }
    }

    pub fn code(self) -> u32 {
        match self {
            BinaryFn::Add => codes::BINARY_ADD,
            BinaryFn::Sub => codes::BINARY_SUB,
            BinaryFn::Mul => codes::BINARY_MUL,
            BinaryFn::Div => codes::BINARY_DIV,
            BinaryFn::Max => codes::BINARY_MAX,
            BinaryFn::Min => codes::BINARY_MIN,
            BinaryFn::ReluGrad => codes::BINARY_RELU_GRAD,
            BinaryFn::SiluGrad => codes::BINARY_SILU_GRAD,
            BinaryFn::GeluGrad => codes::BINARY_GELU_GRAD,
            BinaryFn::GeluTanhGrad => codes::BINARY_GELU_TANH_GRAD,
        }
    }
}

/// Reductions over the last axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceFn {
    Sum,
    Mean,
    /// The maximum (NaN if any element is NaN).
    Amax,
    /// The sum of squares.
    SumSq,
}

impl ReduceFn {
    pub const ALL: [ReduceFn; 4] = [
        ReduceFn::Sum,
        ReduceFn::Mean,
        ReduceFn::Amax,
        ReduceFn::SumSq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReduceFn::Sum => "sum",
            ReduceFn::Mean => "mean",
            ReduceFn::Amax => "amax",
            ReduceFn::SumSq => "sumsq",
        }
    }

    pub fn code(self) -> u32 {
        match self {
            ReduceFn::Sum => codes::REDUCE_SUM,
            ReduceFn::Mean => codes::REDUCE_MEAN,
            ReduceFn::Amax => codes::REDUCE_AMAX,
            ReduceFn::SumSq => codes::REDUCE_SUMSQ,
        }
    }
}

//! What each recorded Vector op asks of the Vector unit: the bytes it moves and its passes over the data.
//!
//! Every op computes in f32 (DESIGN.md, numerics contract), so a bf16 input costs a conversion pass and a
//! bf16 output another. The passes of each function are its decomposition into the Vector unit's
//! instructions as an Ascend C kernel would write them (assumption: our decomposition, e.g. sigmoid =
//! neg, exp, add 1, div; the instruction counts are not published); each pass is timed at its class's
//! profiled rate.

use super::vector::{VecClass, VectorWork};
use crate::Result;
use crate::program::{
    BinaryFn, MoveKind, MoveOp, Program, ReduceFn, RopeOp, UnaryFn, VectorKind, VectorOp,
};
use crate::tensor::DType;
use crate::units::Bytes;

use VecClass::{Div, OneInput, Reduce, Transcendental, TwoInput};

/// f32 bytes per element: the width of the Vector unit's working values.
const F32: f64 = 4.0;

/// The work of one recorded vector op.
pub fn vector_work(program: &Program, op: &VectorOp) -> Result<VectorWork> {
    let mut bytes_in = 0.0;
    let mut passes = Vec::new();
    for id in op.inputs() {
        let d = program.desc(id)?;
        bytes_in += (d.shape.numel() * d.dtype.size()) as f64;
        if d.dtype == DType::Bf16 && (id == op.x || Some(id) == op.y) {
            // bf16 -> f32 conversion of a full-size operand stream.
            passes.push((OneInput, 2.0));
        }
    }
    let out = program.desc(op.out)?;
    let bytes_out = (out.shape.numel() * out.dtype.size()) as f64;
    passes.extend(kind_passes(op));
    if op.dtype_out == DType::Bf16 {
        // The rounding to bf16 reads the f32 result once (a reduction's result is tiny: counted anyway).
        passes.push((OneInput, F32));
    }
    Ok(VectorWork {
        rows: op.rows,
        row_len: op.len,
        bytes_in: Bytes(bytes_in),
        bytes_out: Bytes(bytes_out),
        passes,
    })
}

/// Passes of the function itself, per element of the (broadcast) input stream, in f32.
fn kind_passes(op: &VectorOp) -> Vec<(VecClass, f64)> {
    let p = |classes: &[VecClass]| classes.iter().map(|&c| (c, F32)).collect::<Vec<_>>();
    let mut v = match op.kind {
        VectorKind::Unary(f) => p(unary(f)),
        VectorKind::Binary(f) => p(match f {
            BinaryFn::Div => &[Div],
            BinaryFn::Add
            | BinaryFn::Sub
            | BinaryFn::Mul
            | BinaryFn::Max
            | BinaryFn::Min
            | BinaryFn::ReluGrad => &[TwoInput],
            // sigmoid, then 1 - s, x (1 - s), 1 + .., s (..), dy (..)
            BinaryFn::SiluGrad => &[
                OneInput,
                Transcendental,
                OneInput,
                Div,
                OneInput,
                TwoInput,
                OneInput,
                TwoInput,
                TwoInput,
            ],
            // erfc (as gelu), exp of -x^2/2, then the sum and dy's product
            BinaryFn::GeluGrad => &[
                OneInput,
                Transcendental,
                Div,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                Transcendental,
                TwoInput,
                TwoInput,
                TwoInput,
            ],
            // v, sigmoid(v), v', s (1 - s), and the products
            BinaryFn::GeluTanhGrad => &[
                TwoInput,
                TwoInput,
                TwoInput,
                OneInput,
                Transcendental,
                OneInput,
                Div,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
                TwoInput,
            ],
        }),
        VectorKind::Reduce(f) => p(match f {
            ReduceFn::Sum | ReduceFn::Mean | ReduceFn::Amax => &[Reduce],
            ReduceFn::SumSq => &[TwoInput, Reduce],
        }),
        // max, x - max, exp, sum, x * (1 / sum)
        VectorKind::Softmax => p(&[Reduce, TwoInput, Transcendental, Reduce, OneInput]),
        // sum, x - mean, square, sum, x * rstd
        VectorKind::LayerNorm { .. } => p(&[Reduce, TwoInput, TwoInput, Reduce, OneInput]),
        // square, sum, x * rstd
        VectorKind::RmsNorm { .. } => p(&[TwoInput, Reduce, OneInput]),
    };
    // The mask is added, gamma multiplied and beta added, each a two-input pass.
    for extra in [op.mask, op.gamma, op.beta] {
        if extra.is_some() {
            v.push((TwoInput, F32));
        }
    }
    v
}

/// The work of a data movement: a permute goes through UB with the Vector unit's transpose (one
/// one-input pass at the element's width; assumption: the transpose runs at the one-input rate), a gather
/// is copies alone (MTE2 row by row into UB, MTE3 out), and so is a concat (each input's rows). A reshape is a view: no work (see
/// [`is_view`]).
pub fn move_work(program: &Program, op: &MoveOp) -> Result<VectorWork> {
    let input = program.desc(op.input)?;
    let out = program.desc(op.out)?;
    let size = input.dtype.size() as f64;
    let n = out.shape.numel();
    let (rows, row_len, passes, bytes_in) = match &op.kind {
        MoveKind::Reshape => (0, 1, Vec::new(), 0.0),
        MoveKind::Permute { .. } => (n, 1, vec![(OneInput, size)], n as f64 * size),
        MoveKind::GatherRows { ids, width } => {
            // The rows read, and the indices (4 bytes each).
            let bytes = (ids.len() * width) as f64 * size + 4.0 * ids.len() as f64;
            (ids.len(), *width, Vec::new(), bytes)
        }
        MoveKind::Concat {
            width, other_width, ..
        } => {
            // Copies alone, as a gather: each input row in through UB and out (both inputs read).
            let rows = n / (width + other_width).max(1);
            let row = (width + other_width).div_ceil(2).max(1);
            (2 * rows, row, Vec::new(), n as f64 * size)
        }
    };
    let bytes_out = if rows == 0 {
        0.0
    } else {
        n as f64 * out.dtype.size() as f64
    };
    Ok(VectorWork {
        rows,
        row_len,
        bytes_in: Bytes(bytes_in),
        bytes_out: Bytes(bytes_out),
        passes,
    })
}

/// A reshape is a view on Ascend: no kernel runs, so it costs nothing, not even a launch.
pub fn is_view(op: &MoveOp) -> bool {
    matches!(op.kind, MoveKind::Reshape)
}

/// The work of a rotary embedding: per element, two products and a sum or difference
/// (`x1 * cos - x2 * sin`), read with the cos and sin tables, plus the dtype conversions.
pub fn rope_work(program: &Program, op: &RopeOp) -> Result<VectorWork> {
    let x = program.desc(op.x)?;
    let n = x.shape.numel();
    let mut bytes_in = (n * x.dtype.size()) as f64;
    for t in [op.cos, op.sin] {
        let d = program.desc(t)?;
        bytes_in += (d.shape.numel() * d.dtype.size()) as f64;
    }
    let mut passes = Vec::new();
    if x.dtype == DType::Bf16 {
        passes.push((OneInput, 2.0));
    }
    passes.extend([(TwoInput, F32), (TwoInput, F32), (TwoInput, F32)]);
    if op.dtype_out == DType::Bf16 {
        passes.push((OneInput, F32));
    }
    Ok(VectorWork {
        rows: n / op.dim.max(1),
        row_len: op.dim,
        bytes_in: Bytes(bytes_in),
        bytes_out: Bytes((n * op.dtype_out.size()) as f64),
        passes,
    })
}

/// The exact GELU's passes: erfc by a rational approximation (about eight multiply-adds, one exp, one
/// div), then 0.5 * x * erfc in the last pass. `Erf` runs all but that last pass.
const GELU: [VecClass; 12] = [
    OneInput,
    Transcendental,
    Div,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
    TwoInput,
];

fn unary(f: UnaryFn) -> &'static [VecClass] {
    match f {
        UnaryFn::Neg | UnaryFn::Abs | UnaryFn::Relu => &[OneInput],
        UnaryFn::Exp | UnaryFn::Log | UnaryFn::Sqrt => &[Transcendental],
        UnaryFn::Rsqrt => &[Transcendental, Div],
        UnaryFn::Recip => &[Div],
        // 2x, exp, add 1, div, 1 - 2/(...)
        UnaryFn::Tanh => &[OneInput, Transcendental, OneInput, Div, OneInput],
        // neg, exp, add 1, div
        UnaryFn::Sigmoid => &[OneInput, Transcendental, OneInput, Div],
        // sigmoid, then x * sigmoid
        UnaryFn::Silu => &[OneInput, Transcendental, OneInput, Div, TwoInput],
        // erfc by a rational approximation with exp, then 0.5 * x * erfc
        UnaryFn::Gelu => &GELU,
        // The same approximation of erf, without GELU's last pass
        UnaryFn::Erf => &GELU[..GELU.len() - 1],
        // x^3, multiply-add, scale, tanh (five passes), add 1, 0.5 * x * (...)
        UnaryFn::GeluTanh => &[
            TwoInput,
            TwoInput,
            OneInput,
            OneInput,
            Transcendental,
            OneInput,
            Div,
            OneInput,
            OneInput,
            TwoInput,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_on_bf16_reads_converts_and_rounds() {
        let mut p = Program::new();
        let x = p.input("x", [64, 1024], DType::Bf16);
        let y = p.softmax(x, None, DType::Bf16).unwrap();
        p.output(y).unwrap();
        let crate::program::Op::Vector(op) = &p.ops()[0] else {
            panic!("softmax records a vector op");
        };
        let w = vector_work(&p, op).unwrap();
        assert_eq!(w.bytes_in, Bytes(2.0 * 64.0 * 1024.0));
        assert_eq!(w.bytes_out, Bytes(2.0 * 64.0 * 1024.0));
        assert_eq!(w.elements(), 64.0 * 1024.0);
        // convert in, five softmax passes, round out
        assert_eq!(w.passes.len(), 7);
    }
}

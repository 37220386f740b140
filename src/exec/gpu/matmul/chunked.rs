//! `cube_matmul` for tensors larger than one GPU storage binding: the op is cut into blocks of rows of A
//! and columns of B, each small enough to bind, and run block by block. Each block's operands are gathered
//! on the host into plain row-major `[rows, K]` and `[K, cols]` panels, so transposes and batches need no
//! special case (bf16 operands, or f32 ones in the fp32 mode); K is never split, so every element of C sees
//! exactly the same additions in the same order as in one launch, and the result is bit-identical to an
//! unsplit run.

use half::bf16;

use super::super::GpuExecutor;
use crate::kernels::device_bytes;
use crate::program::{MatmulGeometry, MatmulOp};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

const OP: &str = "cube_matmul";

/// Rows of A and columns of B per block, so that A's block, B's block and C's block each fit `limit` bytes.
fn plan(g: &MatmulGeometry, limit: u64) -> Result<(usize, usize)> {
    let fits = |dtype, numel: usize| device_bytes(dtype, numel) <= limit;
    let operand = if g.f32_inputs {
        DType::F32
    } else {
        DType::Bf16
    };
    if !fits(operand, g.k) {
        return Err(Error::TooLargeForBinding {
            op: OP,
            tensor: format!("one row of A (K = {})", g.k),
            bytes: device_bytes(operand, g.k),
            limit,
            hint: "K cannot be split without changing the order of additions; use --executor cpu",
        });
    }
    let mut cols = g.n;
    while cols > 1 && !(fits(operand, g.k * cols) && fits(DType::F32, cols)) {
        cols = cols.div_ceil(2);
    }
    let mut rows = g.m;
    while rows > 1 && !(fits(operand, rows * g.k) && fits(DType::F32, rows * cols)) {
        rows = rows.div_ceil(2);
    }
    Ok((rows, cols))
}

/// Runs `mm` block by block on the GPU; `a` and `b` are its operands on the host.
pub(super) fn matmul(exec: &GpuExecutor, a: &Tensor, b: &Tensor, mm: &MatmulOp) -> Result<Tensor> {
    let g = &mm.geometry;
    let (rows, cols) = plan(g, exec.max_binding_bytes())?;
    let out_shape = g.out_shape();
    let numel = g.batch * g.m * g.n;
    let mut out_f32 = vec![
        0f32;
        if mm.options.dtype_out == DType::F32 {
            numel
        } else {
            0
        }
    ];
    let mut out_bf16 = vec![
        bf16::ZERO;
        if mm.options.dtype_out == DType::Bf16 {
            numel
        } else {
            0
        }
    ];

    for bi in 0..g.batch {
        for n0 in (0..g.n).step_by(cols) {
            let nc = cols.min(g.n - n0);
            let b_panel = gather(
                b,
                (0..g.k).flat_map(|k| {
                    (0..nc).map(move |c| bi * g.b_batch + k * g.b_k + (n0 + c) * g.b_n)
                }),
                [g.k, nc],
            )?;
            let b_buf = exec.upload(&b_panel)?;
            for m0 in (0..g.m).step_by(rows) {
                let mc = rows.min(g.m - m0);
                let a_panel = gather(
                    a,
                    (0..mc).flat_map(|r| {
                        (0..g.k).map(move |k| bi * g.a_batch + (m0 + r) * g.a_m + k * g.a_k)
                    }),
                    [mc, g.k],
                )?;
                let a_buf = exec.upload(&a_panel)?;
                let block = MatmulGeometry {
                    batch: 1,
                    m: mc,
                    k: g.k,
                    n: nc,
                    batched_out: false,
                    format: g.format,
                    f32_inputs: g.f32_inputs,
                    a_batch: 0,
                    a_m: g.k,
                    a_k: 1,
                    b_batch: 0,
                    b_k: nc,
                    b_n: 1,
                };
                let c_buf = exec.matmul_on_device(&block, &mm.options, &a_buf, &b_buf, None)?;
                let shape = Shape::new([mc, nc]);
                let c = exec
                    .download(&[(&c_buf, &shape, mm.options.dtype_out)])?
                    .remove(0);
                for r in 0..mc {
                    let dst = bi * g.m * g.n + (m0 + r) * g.n + n0;
                    match c.data() {
                        TensorData::F32(v) => {
                            out_f32[dst..dst + nc].copy_from_slice(&v[r * nc..(r + 1) * nc])
                        }
                        TensorData::Bf16(v) => {
                            out_bf16[dst..dst + nc].copy_from_slice(&v[r * nc..(r + 1) * nc])
                        }
                    }
                }
            }
        }
    }
    match mm.options.dtype_out {
        DType::F32 => Tensor::from_f32(out_shape, out_f32),
        DType::Bf16 => Tensor::from_bf16(out_shape, out_bf16),
    }
}

/// The elements of `t` at `indices`, as a plain row-major tensor of `shape` in `t`'s dtype (bits copied).
fn gather(t: &Tensor, indices: impl Iterator<Item = usize>, shape: [usize; 2]) -> Result<Tensor> {
    match t.data() {
        TensorData::Bf16(v) => Tensor::from_bf16(shape, indices.map(|i| v[i]).collect()),
        TensorData::F32(v) => Tensor::from_f32(shape, indices.map(|i| v[i]).collect()),
    }
}

//! `cube_matmul` for tensors larger than one GPU storage binding: the op is cut into blocks of rows of A
//! and columns of B, each small enough to bind, and run block by block. Each block's operands are gathered
//! on the host into plain row-major `[rows, K]` and `[K, cols]` panels, so transposes and batches need no
//! special case (bf16 operands, or f32 ones in the fp32 mode); K is never split, so every element of C sees
//! exactly the same additions in the same order as in one launch, and the result is bit-identical to an
//! unsplit run.

use super::super::GpuExecutor;
use crate::kernels::cube_matmul::IntOut;
use crate::kernels::device_bytes;
use crate::program::{MatmulGeometry, MatmulOp, MatmulOptions};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

const OP: &str = "cube_matmul";

/// Rows of A and columns of B per block, so that A's block, B's block and C's block each fit `limit` bytes.
fn plan(g: &MatmulGeometry, limit: u64) -> Result<(usize, usize)> {
    let fits = |dtype, numel: usize| device_bytes(dtype, numel) <= limit;
    let operand = g.format.operand_dtype();
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

/// Runs `mm` block by block on the GPU to its raw accumulator (f32, or int32 for int8); `a` and `b` are
/// its operands on the host.
pub(super) fn matmul(exec: &GpuExecutor, a: &Tensor, b: &Tensor, mm: &MatmulOp) -> Result<Tensor> {
    let g = &mm.geometry;
    let (rows, cols) = plan(g, exec.max_binding_bytes())?;
    let out_shape = g.out_shape();
    let numel = g.batch * g.m * g.n;
    // The accumulator's raw bits (f32, or int32 for int8), block by block.
    let acc_dtype = g.format.accumulator_dtype();
    let mut out = vec![0u32; numel];
    let opts = MatmulOptions {
        dtype_out: acc_dtype,
        ..mm.options
    };
    let raw = IntOut {
        raw: true,
        ..IntOut::default()
    };

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
                let c_buf = exec.matmul_on_device(&block, &opts, (&a_buf, &b_buf), None, raw)?;
                let shape = Shape::new([mc, nc]);
                let c = exec.download(&[(&c_buf, &shape, acc_dtype)])?.remove(0);
                let bits = c.bits();
                for r in 0..mc {
                    let dst = bi * g.m * g.n + (m0 + r) * g.n + n0;
                    out[dst..dst + nc].copy_from_slice(&bits[r * nc..(r + 1) * nc]);
                }
            }
        }
    }
    Tensor::new(out_shape, TensorData::from_bits(acc_dtype, out.into_iter()))
}

/// The elements of `t` at `indices`, as a plain row-major tensor of `shape` in `t`'s dtype (bits copied).
fn gather(t: &Tensor, indices: impl Iterator<Item = usize>, shape: [usize; 2]) -> Result<Tensor> {
    let data = TensorData::from_bits(t.dtype(), indices.map(|i| t.data().bits_at(i)));
    Tensor::new(Shape::new(shape), data)
}

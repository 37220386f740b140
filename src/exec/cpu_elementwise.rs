//! The CPU executor's elementwise Vector ops (unary, and binary with both operands laid out as the result)
//! on bf16 or f32 tensors without whole-tensor f32 copies: each thread takes its part of the result in
//! blocks of [`BLOCK`] elements, widens the block's inputs exactly, runs the same twin functions on it
//! (`reference::vector_unary::unary_slice`, `vector_binary::binary_slice`) and rounds the block once to
//! the output dtype. The bits are those of widening everything, computing, then rounding; the memory
//! traffic is the tensors' own (a bf16 op moves half the bytes of an f32 one, and allocates no f32
//! intermediates: at 4096 x 4096 those were three fresh 64 MiB buffers a call, paid in page faults).

use half::bf16;

use crate::Result;
use crate::numerics::f32_to_bf16;
use crate::program::{VectorKind, VectorOp};
use crate::reference::vector_binary::binary_slice;
use crate::reference::vector_unary::unary_slice;
use crate::reference::{Elem, par_fill};
use crate::tensor::{DType, Shape, Tensor, TensorData};

/// Elements per block: three f32 blocks (x, y, result) stay in a core's L1 cache.
pub(super) const BLOCK: usize = 1024;

/// An input as stored.
#[derive(Clone, Copy)]
pub(super) enum Src<'a> {
    F32(&'a [f32]),
    Bf16(&'a [bf16]),
}

impl<'a> Src<'a> {
    pub(super) fn of(t: &'a Tensor) -> Option<Self> {
        match t.data() {
            TensorData::F32(v) => Some(Src::F32(v)),
            TensorData::Bf16(v) => Some(Src::Bf16(v)),
            _ => None,
        }
    }

    /// Elements `start..start + dst.len()`, widened exactly.
    #[inline(always)]
    pub(super) fn widen(self, start: usize, dst: &mut [f32]) {
        #[inline(always)]
        fn from<T: Elem>(v: &[T], dst: &mut [f32]) {
            for (d, &s) in dst.iter_mut().zip(v) {
                *d = s.to_f32();
            }
        }
        match self {
            Src::F32(v) => from(&v[start..], dst),
            Src::Bf16(v) => from(&v[start..], dst),
        }
    }
}

impl Src<'_> {
    /// Element `i`, widened exactly.
    #[inline(always)]
    pub(super) fn at(self, i: usize) -> f32 {
        match self {
            Src::F32(v) => v[i],
            Src::Bf16(v) => v[i].to_f32(),
        }
    }
}

/// Runs `op` this way when it is elementwise over bf16 or f32 tensors laid out as its result, with a bf16
/// or f32 output and at least one bf16 side (f32 throughout already runs in place); `None` otherwise.
pub(super) fn run(
    op: &VectorOp,
    shape: &Shape,
    x: &Tensor,
    y: Option<&Tensor>,
) -> Option<Result<Tensor>> {
    let binary = match op.kind {
        VectorKind::Unary(_) => false,
        VectorKind::Binary(_) if op.bcast.is_contiguous(0) && op.bcast.is_contiguous(1) => true,
        _ => return None,
    };
    let sx = Src::of(x)?;
    let sy = match (binary, y) {
        (true, Some(y)) => Some(Src::of(y)?),
        (true, None) => return None,
        (false, _) => None,
    };
    let all_f32 = matches!(sx, Src::F32(_)) && matches!(sy, None | Some(Src::F32(_)));
    if all_f32 && op.dtype_out == DType::F32 {
        return None;
    }
    let numel = shape.numel();
    let compute = |start: usize, r: &mut [f32]| compute(op.kind, sx, sy, start, r);
    Some(match op.dtype_out {
        DType::Bf16 => {
            let mut out = vec![bf16::ZERO; numel];
            par_fill(
                &mut out,
                1,
                #[inline(always)]
                |first, part| {
                    for (b, chunk) in part.chunks_mut(BLOCK).enumerate() {
                        let mut r = [0f32; BLOCK];
                        let r = &mut r[..chunk.len()];
                        compute(first + b * BLOCK, r);
                        for (o, &v) in chunk.iter_mut().zip(r.iter()) {
                            *o = f32_to_bf16(v);
                        }
                    }
                },
            );
            Tensor::from_bf16(shape.clone(), out)
        }
        DType::F32 => {
            let mut out = vec![0f32; numel];
            par_fill(
                &mut out,
                1,
                #[inline(always)]
                |first, part| {
                    for (b, chunk) in part.chunks_mut(BLOCK).enumerate() {
                        compute(first + b * BLOCK, chunk);
                    }
                },
            );
            Tensor::from_f32(shape.clone(), out)
        }
        _ => return None,
    })
}

/// One block of the op: its inputs from `start` widened, the twin's function, the f32 results in `r`.
#[inline(always)]
fn compute(kind: VectorKind, sx: Src<'_>, sy: Option<Src<'_>>, start: usize, r: &mut [f32]) {
    let n = r.len();
    let mut xb = [0f32; BLOCK];
    sx.widen(start, &mut xb[..n]);
    match (kind, sy) {
        (VectorKind::Binary(f), Some(sy)) => {
            let mut yb = [0f32; BLOCK];
            sy.widen(start, &mut yb[..n]);
            binary_slice(f, &xb[..n], &yb[..n], r);
        }
        (VectorKind::Unary(f), _) => unary_slice(f, &xb[..n], r),
        _ => unreachable!("`run` takes unary ops, and binary ones with y"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;
    use crate::reference::cast_f32_bf16::cast_f32_bf16;
    use crate::reference::{vector_binary, vector_unary};
    use crate::tensor::random::gen_bf16;
    use crate::{BinaryFn, CpuExecutor, Executor, UnaryFn};

    /// The fused path against widening everything, the whole-tensor twin, and one rounding.
    #[test]
    fn blocks_give_the_bits_of_the_whole_tensor_path() {
        // Sizes around the block and the threading threshold; values with specials from gen_bf16's range.
        for n in [1usize, 1023, 1025, 3000, 40_001] {
            for (xd, yd, out) in [
                (DType::Bf16, DType::Bf16, DType::Bf16),
                (DType::Bf16, DType::F32, DType::F32),
                (DType::F32, DType::Bf16, DType::Bf16),
                (DType::F32, DType::F32, DType::Bf16),
            ] {
                let mk = |seed, d: DType| {
                    let t = gen_bf16(seed, [n], 4.0);
                    if d == DType::F32 {
                        Tensor::from_f32([n], t.to_f32_vec()).unwrap()
                    } else {
                        t
                    }
                };
                let (x, y) = (mk(n as u64, xd), mk(n as u64 + 1, yd));
                let round = |v: Vec<f32>| match out {
                    DType::Bf16 => Tensor::from_bf16([n], cast_f32_bf16(&v)).unwrap(),
                    _ => Tensor::from_f32([n], v).unwrap(),
                };
                let mut p = Program::new();
                let (xi, yi) = (p.input("x", [n], xd), p.input("y", [n], yd));
                let u = p.unary(UnaryFn::Silu, xi, out).unwrap();
                let b = p.binary(BinaryFn::Div, xi, yi, out).unwrap();
                p.output(u).unwrap();
                p.output(b).unwrap();
                let got = CpuExecutor.run(&p, &[&x, &y]).unwrap();
                let (xf, yf) = (x.to_f32_vec(), y.to_f32_vec());
                let want_u = round(vector_unary::vector_unary(UnaryFn::Silu, &xf));
                let plan =
                    crate::program::broadcast::plan("div", x.shape(), &[x.shape(), y.shape()])
                        .unwrap();
                let want_b = round(vector_binary::vector_binary(
                    BinaryFn::Div,
                    &xf,
                    &yf,
                    &plan,
                    n,
                ));
                assert_eq!(got[0].bits(), want_u.bits(), "silu, {n} {xd} -> {out}");
                assert_eq!(got[1].bits(), want_b.bits(), "div, {n} {xd}/{yd} -> {out}");
            }
        }
    }
}

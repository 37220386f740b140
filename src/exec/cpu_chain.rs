//! The CPU executor's fused elementwise chains (planned by `chain_plan.rs`): each thread takes its part of
//! the result in blocks of `BLOCK` elements and runs every stage of the chain on the block while it is in
//! cache, each stage with the op's own twin (`unary_slice`, `binary_slice`) and its result rounded to the
//! op's dtype before the next stage reads it, so the bits are those of the ops one by one; the
//! intermediates, one full tensor each, are never written out.

use half::bf16;

use super::chain_plan::{ChainPlan, FusionLimits, fusable, layout};
use super::cpu_elementwise::{BLOCK, Src};
use super::cpu_vector::Lookup;
use crate::kernels::vector_chain::{Form, StageFn, form_of};
use crate::numerics::f32_to_bf16;
use crate::program::broadcast::MAX_DIMS;
use crate::program::{Op, Program};
use crate::reference::par_fill;
use crate::reference::vector_binary::binary_slice;
use crate::reference::vector_unary::unary_slice;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// How an operand is read for each result element.
#[derive(Clone, Copy)]
struct Read<'a> {
    src: Src<'a>,
    dims: [usize; MAX_DIMS],
    strides: [usize; MAX_DIMS],
    form: Form,
}

impl Read<'_> {
    /// Result elements `start..start + dst.len()` of this operand, widened.
    #[inline(always)]
    fn block(&self, start: usize, dst: &mut [f32]) {
        match self.form {
            Form::Same => self.src.widen(start, dst),
            Form::Single => dst.fill(self.src.at(0)),
            Form::Strided => {
                // The block's first element by division, the rest by counting the index up like an
                // odometer (no division per element).
                let (dims, strides) = (&self.dims, &self.strides);
                let mut idx = [0; MAX_DIMS];
                let mut flat = start;
                let mut off = 0;
                for j in (0..MAX_DIMS).rev() {
                    idx[j] = flat % dims[j];
                    flat /= dims[j];
                    off += idx[j] * strides[j];
                }
                for d in dst.iter_mut() {
                    *d = self.src.at(off);
                    for j in (0..MAX_DIMS).rev() {
                        idx[j] += 1;
                        off += strides[j];
                        if idx[j] < dims[j] {
                            break;
                        }
                        off -= strides[j] * dims[j];
                        idx[j] = 0;
                    }
                }
            }
        }
    }
}

/// Runs the ops of `plan` as one pass; the last op's result.
pub(super) fn run(program: &Program, plan: ChainPlan, get: &Lookup<'_>) -> Result<Tensor> {
    run_ops(
        program,
        &program.ops()[plan.first..plan.first + plan.len],
        get,
    )
}

/// Runs one elementwise op that reads an operand through a broadcast, as a chain of one: blocks on all
/// cores, the broadcast operand read without a division per element (the whole-tensor twin,
/// `vector_binary`, takes one per dimension and element, and one core).
pub(super) fn run_broadcast(
    program: &Program,
    op: &Op,
    get: &Lookup<'_>,
) -> Option<Result<Tensor>> {
    let Op::Vector(v) = op else { return None };
    let contiguous = v.bcast.is_contiguous(0) && v.bcast.is_contiguous(1);
    if contiguous || !fusable(program, op, FusionLimits::CPU) {
        return None;
    }
    Some(run_ops(program, std::slice::from_ref(op), get))
}

/// `ops` (elementwise, each reading the one before: see `chain_plan`) as one pass.
fn run_ops(program: &Program, ops: &[Op], get: &Lookup<'_>) -> Result<Tensor> {
    let (lay, links) = layout(program, ops)?;
    let source = |id| -> Result<Src<'_>> {
        Src::of(get(id)?).ok_or_else(|| {
            Error::Program("a fused chain reads a tensor that is not f32 or bf16".into())
        })
    };
    let read = |src, k: usize| Read {
        src,
        dims: lay.dims,
        strides: lay.strides[k],
        form: form_of(&lay.dims, &lay.strides[k]),
    };
    let x = read(source(links[0].1.x)?, 0);
    // Per stage: its function, its side operand's reading, whether its result is rounded to bf16.
    let mut stages = Vec::with_capacity(links.len());
    for (k, (l, v)) in links.iter().enumerate() {
        let side = l
            .side
            .map(|s| source(s).map(|s| read(s, k + 1)))
            .transpose()?;
        stages.push((l.func, side, v.dtype_out == DType::Bf16));
    }
    let last = links[links.len() - 1].1;
    let shape = program.desc(last.out)?.shape.clone();
    // One block: x, then each stage in turn, the f32 results in `r`.
    let compute = |start: usize, r: &mut [f32]| {
        let n = r.len();
        let mut t = [0f32; BLOCK];
        let mut s = [0f32; BLOCK];
        let t = &mut t[..n];
        let s = &mut s[..n];
        x.block(start, t);
        for (k, &(func, side, round)) in stages.iter().enumerate() {
            if let Some(side) = side {
                side.block(start, s);
            }
            match func {
                StageFn::Unary(f) => unary_slice(f, t, r),
                StageFn::Binary { f, t_left: true } => binary_slice(f, t, s, r),
                StageFn::Binary { f, t_left: false } => binary_slice(f, s, t, r),
            }
            if k + 1 < stages.len() {
                // The intermediate as its op stores it and the next loads it.
                for (tv, &rv) in t.iter_mut().zip(r.iter()) {
                    *tv = if round { f32_to_bf16(rv).to_f32() } else { rv };
                }
            }
        }
    };
    let numel = shape.numel();
    match last.dtype_out {
        DType::Bf16 => {
            let mut out = vec![bf16::ZERO; numel];
            par_fill(&mut out, 1, |first, part| {
                for (b, chunk) in part.chunks_mut(BLOCK).enumerate() {
                    let mut r = [0f32; BLOCK];
                    let r = &mut r[..chunk.len()];
                    compute(first + b * BLOCK, r);
                    for (o, &v) in chunk.iter_mut().zip(r.iter()) {
                        *o = f32_to_bf16(v);
                    }
                }
            });
            Tensor::from_bf16(shape, out)
        }
        _ => {
            let mut out = vec![0f32; numel];
            par_fill(&mut out, 1, |first, part| {
                for (b, chunk) in part.chunks_mut(BLOCK).enumerate() {
                    compute(first + b * BLOCK, chunk);
                }
            });
            Tensor::from_f32(shape, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::cpu::run_with;
    use crate::program::Program;
    use crate::tensor::random::{gen_bf16, splitmix64};
    use crate::tensor::{DType, Shape, Tensor};
    use crate::{BinaryFn, CpuExecutor, UnaryFn};

    fn values(seed: u64, shape: &[usize], dtype: DType) -> Tensor {
        let mut v = gen_bf16(seed, Shape::new(shape.to_vec()), 3.0).to_f32_vec();
        for (i, x) in v.iter_mut().enumerate() {
            if splitmix64(seed, i as u64) % 50 == 0 {
                *x = [f32::NAN, f32::INFINITY, -0.0, 1e-40][i % 4];
            }
        }
        let t = Tensor::from_f32(Shape::new(shape.to_vec()), v).unwrap();
        if dtype == DType::Bf16 { t.to_bf16() } else { t }
    }

    /// A lone op reading a broadcast operand (blocks, the odometer's index) against the whole-tensor twin
    /// and one rounding, over shapes that stretch inner, outer and middle dimensions.
    #[test]
    fn broadcast_ops_give_the_bits_of_the_whole_tensor_twin() {
        use crate::reference::{cast_f32_bf16::cast_f32_bf16, vector_binary::vector_binary};
        let cases: [(&[usize], &[usize], &[usize]); 6] = [
            (&[4, 700], &[4, 700], &[700]),
            (&[4, 700], &[4, 1], &[4, 700]),
            (&[3, 5, 900], &[3, 1, 900], &[1, 5, 1]),
            (&[2, 3, 4, 500], &[2, 1, 4, 1], &[3, 1, 500]),
            (&[1, 9000], &[1], &[1, 9000]),
            (&[7, 1, 3], &[7, 1, 3], &[]),
        ];
        for (case, (out, xs, ys)) in cases.into_iter().enumerate() {
            for dtype in [DType::F32, DType::Bf16] {
                let (x, y) = (
                    values(case as u64, xs, dtype),
                    values(99 + case as u64, ys, DType::F32),
                );
                let mut p = Program::new();
                let xi = p.input("x", x.shape().clone(), x.dtype());
                let yi = p.input("y", y.shape().clone(), y.dtype());
                let f = BinaryFn::ALL[case % BinaryFn::ALL.len()];
                let r = p.binary(f, xi, yi, dtype).unwrap();
                p.output(r).unwrap();
                let got = run_with(&p, &[&x, &y], true, |_, _| {}).unwrap();
                let shape = Shape::new(out.to_vec());
                let plan =
                    crate::program::broadcast::plan("t", &shape, &[x.shape(), y.shape()]).unwrap();
                let v = vector_binary(f, &x.to_f32_vec(), &y.to_f32_vec(), &plan, shape.numel());
                let want = match dtype {
                    DType::Bf16 => Tensor::from_bf16(shape, cast_f32_bf16(&v)).unwrap(),
                    _ => Tensor::from_f32(shape, v).unwrap(),
                };
                assert_eq!(
                    got[0].bits(),
                    want.bits(),
                    "{} {xs:?} with {ys:?} -> {dtype}",
                    f.name()
                );
            }
        }
    }

    /// Random chains (every function, either operand order, broadcast sides, f32 and bf16 at each step)
    /// fused against the same program run op by op, at sizes around a block and the threading threshold.
    #[test]
    fn fused_chains_give_the_bits_of_the_ops_one_by_one() {
        let dt = [DType::F32, DType::Bf16];
        for case in 0..160u64 {
            let (rows, cols) = [(1, 1), (3, 7), (2, 700), (5, 9000), (1, 1025)][case as usize % 5];
            let r = |k: u64| splitmix64(case, k);
            let len = 2 + r(0) as usize % 5;
            let mut inputs = vec![values(case, &[rows, cols], dt[(r(1) & 1) as usize])];
            let mut p = Program::new();
            let x = p.input("x", inputs[0].shape().clone(), inputs[0].dtype());
            let mut t = x;
            for k in 0..len {
                let b = r(10 + k as u64);
                let out = dt[(b >> 40 & 1) as usize];
                t = if b & 1 == 0 {
                    p.unary(UnaryFn::ALL[(b >> 1) as usize % 14], t, out)
                        .unwrap()
                } else {
                    let shape = [vec![rows, cols], vec![cols], vec![rows, 1], vec![1], vec![]]
                        [(b >> 8) as usize % 5]
                        .clone();
                    let side = values(b, &shape, dt[(b >> 41 & 1) as usize]);
                    let s = p.input(format!("s{k}"), side.shape().clone(), side.dtype());
                    inputs.push(side);
                    let f = BinaryFn::ALL[(b >> 16) as usize % BinaryFn::ALL.len()];
                    if b & 2 == 0 {
                        p.binary(f, t, s, out).unwrap()
                    } else {
                        p.binary(f, s, t, out).unwrap()
                    }
                };
            }
            p.output(t).unwrap();
            assert!(!CpuExecutor.fused_chains(&p).is_empty(), "case {case}");
            let refs: Vec<&Tensor> = inputs.iter().collect();
            let fused = run_with(&p, &refs, true, |_, _| {}).unwrap();
            let alone = run_with(&p, &refs, false, |_, _| {}).unwrap();
            assert_eq!(
                fused[0].bits(),
                alone[0].bits(),
                "case {case}: {rows}x{cols}, {len} ops"
            );
        }
    }
}

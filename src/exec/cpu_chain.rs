//! The CPU executor's fused elementwise chains (planned by `chain_plan.rs`): each thread takes its part of
//! the result in blocks of `BLOCK` elements and runs every stage of the chain on the block while it is in
//! cache, each stage with the op's own twin (`unary_slice`, `binary_slice`) and its result rounded to the
//! op's dtype before the next stage reads it, so the bits are those of the ops one by one; the
//! intermediates, one full tensor each, are never written out.

use half::bf16;

use super::chain_plan::{ChainPlan, layout};
use super::cpu_elementwise::{BLOCK, Src};
use super::cpu_vector::Lookup;
use crate::kernels::vector_chain::StageFn;
use crate::numerics::f32_to_bf16;
use crate::program::Program;
use crate::program::broadcast::MAX_DIMS;
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// At the result's own index.
    Same,
    /// One element for all.
    Single,
    /// Through its strides (program::broadcast::Broadcast::offset).
    Strided,
}

impl Read<'_> {
    /// Result elements `start..start + dst.len()` of this operand, widened.
    #[inline(always)]
    fn block(&self, start: usize, dst: &mut [f32]) {
        match self.form {
            Form::Same => self.src.widen(start, dst),
            Form::Single => dst.fill(self.src.at(0)),
            Form::Strided => {
                for (k, d) in dst.iter_mut().enumerate() {
                    let mut flat = start + k;
                    let mut off = 0;
                    for j in (0..MAX_DIMS).rev() {
                        off += (flat % self.dims[j]) * self.strides[j];
                        flat /= self.dims[j];
                    }
                    *d = self.src.at(off);
                }
            }
        }
    }
}

fn form(dims: &[usize; MAX_DIMS], strides: &[usize; MAX_DIMS]) -> Form {
    if (0..MAX_DIMS).all(|d| dims[d] == 1 || strides[d] == 0) {
        return Form::Single;
    }
    let mut expect = 1;
    for d in (0..MAX_DIMS).rev() {
        if dims[d] != 1 && strides[d] != expect {
            return Form::Strided;
        }
        expect *= dims[d];
    }
    Form::Same
}

/// Runs the ops of `plan` as one pass; the last op's result.
pub(super) fn run(program: &Program, plan: ChainPlan, get: &Lookup<'_>) -> Result<Tensor> {
    let ops = &program.ops()[plan.first..plan.first + plan.len];
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
        form: form(&lay.dims, &lay.strides[k]),
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

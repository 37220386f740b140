//! Fused elementwise chains, planned: ops that a program records back to back, each intermediate result
//! read only by the next op, which both executors run as one pass (up to four ops: the GPU's
//! `vector_chain` dispatch, `gpu/chain.rs`; the CPU's blocks, `cpu_chain.rs`) instead of one pass per op
//! with every intermediate written to and read back from memory. Each stage's result is rounded to its
//! op's dtype before the next reads it, so the bits are those of the ops run one by one (tests:
//! `tests/gpu/vector_chain.rs`, `cpu_chain.rs`). Intermediates are never materialised; an intermediate
//! that is a program output, or that any other op reads, ends the chain before it.

use crate::kernels::device_bytes;
use crate::kernels::vector_chain::{Layout, MAX_STAGES, StageFn, takes};
use crate::program::{Op, Program, TensorId, VectorKind, VectorOp, broadcast};
use crate::tensor::DType;
use crate::{Error, Result};

/// A run of ops `first .. first + len` of a program that executes as one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainPlan {
    pub first: usize,
    pub len: usize,
}

/// What an executor fuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FusionLimits {
    /// No tensor of a chain may take more bytes (the GPU's storage binding; `u64::MAX` on the CPU).
    pub max_binding: u64,
    /// Chains of fewer result elements run op by op (the GPU: see `GpuExecutor::with_fusion_min_elements`).
    pub min_elements: usize,
    /// Only the functions the GPU's chain kernel applies (`kernels::vector_chain::takes`).
    pub cheap_only: bool,
}

impl FusionLimits {
    /// The CPU executor's: every elementwise function, any size (a pass over blocks costs no build).
    pub const CPU: FusionLimits = FusionLimits {
        max_binding: u64::MAX,
        min_elements: 0,
        cheap_only: false,
    };
}

/// How each stage of a chain reads: its function and the tensor of its side operand.
pub(crate) struct Link {
    pub func: StageFn,
    pub side: Option<TensorId>,
}

/// The chains of `program` that an executor fuses under `limits`, in order.
pub fn plan(program: &Program, limits: FusionLimits) -> Vec<ChainPlan> {
    let ops = program.ops();
    let mut uses = vec![0usize; program.tensors().len()];
    for op in ops {
        for id in op.inputs() {
            uses[id.index()] += 1;
        }
    }
    for id in program.outputs() {
        uses[id.index()] += 1;
    }
    let mut plans = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        let mut len = 0;
        if fusable(program, &ops[i], limits) {
            len = 1;
            while len < MAX_STAGES && i + len < ops.len() {
                let (Op::Vector(cur), next) = (&ops[i + len - 1], &ops[i + len]) else {
                    break;
                };
                let follows = match next {
                    Op::Vector(n) => link(cur.out, n).is_some() && same_shape(program, cur, n),
                    _ => false,
                };
                if !(follows && uses[cur.out.index()] == 1 && fusable(program, next, limits)) {
                    break;
                }
                len += 1;
            }
            if len >= 2 && layout(program, &ops[i..i + len]).is_err() {
                len = 0;
            }
        }
        if len >= 2 {
            plans.push(ChainPlan { first: i, len });
            i += len;
        } else {
            i += 1;
        }
    }
    plans
}

/// What an executor runs next: one op, or a planned chain in place of its ops.
pub(crate) enum Step<'p> {
    Op(&'p Op),
    Chain(ChainPlan),
}

/// The ops of `program` in order, each run of ops that `plans` fuses (from [`plan`]) as one step.
pub(crate) fn steps(program: &Program, plans: Vec<ChainPlan>) -> Vec<Step<'_>> {
    let ops = program.ops();
    let mut plans = plans.into_iter().peekable();
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        if let Some(c) = plans.next_if(|c| c.first == i) {
            out.push(Step::Chain(c));
            i += c.len;
        } else {
            out.push(Step::Op(&ops[i]));
            i += 1;
        }
    }
    out
}

/// An elementwise op of f32 and bf16 tensors, none beyond one binding and none empty, within `limits`.
pub(crate) fn fusable(program: &Program, op: &Op, limits: FusionLimits) -> bool {
    let Op::Vector(v) = op else { return false };
    let func = match v.kind {
        VectorKind::Unary(f) => StageFn::Unary(f),
        VectorKind::Binary(f) => StageFn::Binary { f, t_left: true },
        _ => return false,
    };
    if limits.cheap_only && !takes(func) {
        return false;
    }
    let big_enough = program
        .desc(v.out)
        .is_ok_and(|d| d.shape.numel() >= limits.min_elements);
    big_enough
        && v.inputs().into_iter().chain([v.out]).all(|id| {
            program.desc(id).is_ok_and(|d| {
                let n = d.shape.numel();
                matches!(d.dtype, DType::F32 | DType::Bf16)
                    && n > 0
                    && device_bytes(DType::F32, n) <= limits.max_binding
            })
        })
}

fn same_shape(program: &Program, a: &VectorOp, b: &VectorOp) -> bool {
    match (program.desc(a.out), program.desc(b.out)) {
        (Ok(x), Ok(y)) => x.shape == y.shape,
        _ => false,
    }
}

/// How `next` reads the running value `t`: as x or as y (exactly once), and its other operand.
fn link(t: TensorId, next: &VectorOp) -> Option<Link> {
    match next.kind {
        VectorKind::Unary(f) if next.x == t => Some(Link {
            func: StageFn::Unary(f),
            side: None,
        }),
        VectorKind::Binary(f) => match (next.x == t, next.y == Some(t)) {
            (true, false) => Some(Link {
                func: StageFn::Binary { f, t_left: true },
                side: next.y,
            }),
            (false, true) => Some(Link {
                func: StageFn::Binary { f, t_left: false },
                side: Some(next.x),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// Each stage's link; the first op reads x as t (and y as its side).
fn links(ops: &[Op]) -> Result<Vec<(Link, &VectorOp)>> {
    let mut out = Vec::with_capacity(ops.len());
    let mut t = None;
    for op in ops {
        let Op::Vector(v) = op else {
            return Err(Error::Program("a chain holds a non-Vector op".into()));
        };
        let l = match t {
            // The first op reads x as t and y (which may be x again) as its side.
            None => match v.kind {
                VectorKind::Unary(f) => Link {
                    func: StageFn::Unary(f),
                    side: None,
                },
                VectorKind::Binary(f) => Link {
                    func: StageFn::Binary { f, t_left: true },
                    side: v.y,
                },
                _ => return Err(Error::Program("a chain's first op".into())),
            },
            Some(t) => link(t, v).ok_or_else(|| Error::Program("a broken chain".into()))?,
        };
        t = Some(v.out);
        out.push((l, v));
    }
    Ok(out)
}

/// The chain's operands (x, then each stage's side) read over its result's shape, and each stage's link
/// and op.
pub(crate) fn layout<'o>(
    program: &Program,
    ops: &'o [Op],
) -> Result<(Layout, Vec<(Link, &'o VectorOp)>)> {
    let links = links(ops)?;
    let first = links[0].1;
    let out = &program.desc(links[links.len() - 1].1.out)?.shape;
    let mut shapes = vec![&program.desc(first.x)?.shape];
    for (l, _) in &links {
        // A unary stage has no side: the result's own shape, which merges with every other layout.
        shapes.push(match l.side {
            Some(s) => &program.desc(s)?.shape,
            None => out,
        });
    }
    let (dims, strides) = broadcast::plan_many("vector_chain", out, &shapes)?;
    Ok((Layout { dims, strides }, links))
}

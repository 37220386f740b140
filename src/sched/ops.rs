//! From recorded ops to the work the scheduler times: a `cube_matmul` becomes a tiling [`Problem`], a cast
//! or vector op a [`VectorWork`] (its bytes and its passes over the Vector unit), and each result becomes
//! an [`OpPrediction`] with its kernel span on the timeline.

use super::matmul::{self, Recorder};
use super::search;
use super::tiling::Problem;
use super::timeline::{KernelSpan, Timeline};
use super::vector::{self, VecClass, VectorWork};
use super::vector_ops;
use super::{OpPrediction, Plan, Resource, binding};
use crate::chip::ChipSpec;
use crate::program::{MatmulOp, Op, Program};
use crate::units::{Bytes, Flops, Nanos};
use crate::{Error, Result};

/// The most 16-wide block rows and columns (over the batch) the matmul model follows: 2^26, about 1 GiB
/// of bookkeeping at worst.
const MAX_TRACKED_BLOCKS: u128 = 1 << 26;

/// Whether `op` runs as a kernel of its own (a view moves no data and is not launched).
pub fn is_kernel(op: &Op) -> bool {
    !matches!(op, Op::Move(m) if vector_ops::is_view(m))
}

/// Predicts op `index`, launched at `start`, and records its intervals.
pub fn predict_op(
    program: &Program,
    chip: &ChipSpec,
    index: usize,
    op: &Op,
    start: Nanos,
    timeline: &mut Timeline,
) -> Result<OpPrediction> {
    let launch = if is_kernel(op) {
        chip.launch_overhead()
    } else {
        Nanos::ZERO
    };
    let rec = Recorder {
        timeline,
        start: start + launch,
        op: index,
    };
    let kernel = op.kernel_name();
    let (body, flops, plan) = match op {
        Op::CubeMatmul(mm) => {
            // The model follows each block row of A and column of B through L2 (reuse distances), a few
            // words per block and batch entry: bound them so an absurd batch is an error, not an abort.
            let g = &mm.geometry;
            let keys = (g.m.div_ceil(16) as u128 + g.n.div_ceil(16) as u128) * g.batch as u128;
            if keys > MAX_TRACKED_BLOCKS {
                return Err(Error::shape(
                    "cube_matmul",
                    format!(
                        "batch {} of {}x{}x{} gives {keys} block rows and columns for the timing model to \
                         follow, more than its {MAX_TRACKED_BLOCKS}; predict a smaller batch and scale",
                        g.batch, g.m, g.k, g.n
                    ),
                ));
            }
            let problem = matmul_problem(program, mm)?;
            let best = search::best(chip, &problem)?;
            let e = matmul::evaluate(chip, &best.tiling, Some(rec));
            (
                e.time,
                Flops(mm.geometry.flops()),
                Plan::Matmul(Box::new(e)),
            )
        }
        Op::Cast(c) => {
            let n = program.desc(c.input)?.shape.numel();
            let work = VectorWork {
                rows: n,
                row_len: 1,
                bytes_in: Bytes((n * c.from.size()) as f64),
                bytes_out: Bytes((n * c.to.size()) as f64),
                passes: vec![(VecClass::OneInput, c.from.size() as f64)],
            };
            let e = vector::estimate(chip, &work, Some(rec));
            // A cast does no arithmetic worth counting as FLOPs.
            (e.time, Flops::ZERO, Plan::Vector(work, e))
        }
        Op::Vector(v) => {
            let work = vector_ops::vector_work(program, v)?;
            let e = vector::estimate(chip, &work, Some(rec));
            (e.time, Flops(work.flops()), Plan::Vector(work, e))
        }
        Op::Move(m) => {
            let work = vector_ops::move_work(program, m)?;
            let e = vector::estimate(chip, &work, Some(rec));
            // A copy does no arithmetic.
            (e.time, Flops::ZERO, Plan::Vector(work, e))
        }
        Op::Rope(r) => {
            let work = vector_ops::rope_work(program, r)?;
            let e = vector::estimate(chip, &work, Some(rec));
            (e.time, Flops(work.flops()), Plan::Vector(work, e))
        }
    };
    let time = launch + body;
    let (resources, hbm_bytes, l2_bytes, link_bytes, cube_flops, vector_total, cores_used) =
        match &plan {
            Plan::Matmul(e) => (
                vec![
                    (Resource::Launch, launch),
                    (Resource::Cube, e.busy.cube),
                    (Resource::Hbm, e.busy.hbm),
                    (Resource::L2, e.busy.l2),
                    (Resource::DieLink, e.busy.die_link),
                    (Resource::Mte2, e.busy.mte2),
                    (Resource::Mte1, e.busy.mte1),
                    (Resource::FixPipe, e.busy.fixpipe),
                ],
                e.hbm_bytes,
                e.l2_bytes,
                e.link_bytes,
                flops,
                Nanos::ZERO,
                e.cores_used,
            ),
            Plan::Vector(_, e) => (
                vec![
                    (Resource::Launch, launch),
                    (Resource::Vector, e.vector),
                    (Resource::Hbm, e.hbm),
                    (Resource::Mte2, e.mte2),
                    (Resource::Mte3, e.mte3),
                ],
                e.hbm_bytes,
                Bytes::ZERO,
                Bytes::ZERO,
                Flops::ZERO,
                e.vector_total,
                e.cores_used,
            ),
        };
    let bound = binding(&resources);
    // The Cube's busy fraction against its peak in the op's own format.
    let cube_peak = match op {
        Op::CubeMatmul(mm) => chip.peak(mm.geometry.format),
        _ => chip.peak_bf16(),
    };
    let vector_cores = (chip.dies() * chip.vector_cores_per_die()) as f64;
    let pred = OpPrediction {
        index,
        kernel,
        output: op_output_name(program, op),
        start,
        time,
        launch,
        flops,
        hbm_bytes,
        l2_bytes,
        link_bytes,
        resources,
        bound,
        cube_util: ratio(cube_flops / cube_peak, time),
        vector_util: ratio(vector_total, time * vector_cores),
        hbm_util: ratio(hbm_bytes / chip.hbm_bw(), time),
        energy: chip.power() * time,
        cores_used,
        plan,
    };
    timeline.kernels.push(KernelSpan {
        op: index,
        kernel,
        start,
        dur: time,
        launch,
        bound: bound.name(),
    });
    Ok(pred)
}

/// The tiling problem of a recorded matmul.
fn matmul_problem(program: &Program, mm: &MatmulOp) -> Result<Problem> {
    let g = &mm.geometry;
    let out = program.desc(mm.out)?;
    // FixPipe applies scale, bias and activation on the way out at its own rate (assumption: the
    // activations cost no extra time there; the bias, N values, is too small to count); a residual is
    // one more read per output element.
    let residual_bytes = match mm.epilogue.residual {
        Some(r) => program.desc(r)?.dtype.size() as f64,
        None => 0.0,
    };
    Ok(Problem {
        batch: g.batch,
        m: g.m,
        k: g.k,
        n: g.n,
        in_bytes: g.format.in_bytes() as f64,
        format: g.format,
        out_bytes: out.dtype.size() as f64,
        residual_bytes,
        a_shared: g.a_batch == 0,
        b_shared: g.b_batch == 0,
        hint: mm.options.tiling,
    })
}

fn op_output_name(program: &Program, op: &Op) -> String {
    let id = match op {
        Op::CubeMatmul(m) => m.out,
        Op::Cast(c) => c.out,
        Op::Vector(v) => v.out,
        Op::Move(m) => m.out,
        Op::Rope(r) => r.out,
    };
    program
        .desc(id)
        .map_or_else(|_| String::new(), |d| d.name.clone())
}

/// `busy / time`, zero for an op that takes no time (a view).
fn ratio(busy: Nanos, time: Nanos) -> f64 {
    if time.0 > 0.0 { busy / time } else { 0.0 }
}

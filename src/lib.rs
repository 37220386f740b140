//! davinci emulates Huawei's DaVinci AI core (as built into the Ascend 910C) on whatever GPU the host has.
//!
//! Ops are recorded into a [`Program`] and run by an [`Executor`]: the GPU executor runs WGSL compute
//! shaders through wgpu, the CPU executor runs their twins, and the two agree bit for bit where the
//! numerics contract (DESIGN.md) promises it. The Cube unit's matmul is [`Program::cube_matmul`]; for one op
//! at a time, [`matmul`] records and runs it in one call.
//!
//! ```no_run
//! use davinci::{matmul, MatmulOptions, tensor::random::gen_bf16};
//! let exec = davinci::default_executor()?;
//! let a = gen_bf16(1, [64, 128], 1.0);
//! let b = gen_bf16(2, [128, 32], 1.0);
//! let c = matmul(exec.as_ref(), &a, &b, MatmulOptions::default())?;
//! assert_eq!(c.shape().dims(), &[64, 32]);
//! // How long it would take on a 910C:
//! let pred = davinci::predict_matmul(&a, &b, MatmulOptions::default(), &davinci::ChipSpec::default())?;
//! println!("{:.1} us on a 910C", pred.total.micros());
//! # Ok::<(), davinci::Error>(())
//! ```
//!
//! The layers, from the top: `model/` (BERT, the decoder layer, bound [`model::Graph`]s), `train/`,
//! `cluster/` (CloudMatrix scale-out), `sched/` (the 910C timing model), `program/` (recorded ops),
//! `exec/` (the executors), `kernels/` (one launcher per shader), `device/` (wgpu), with
//! [`kernel_table`] (generated from `shaders/` at build time) beside them all.

pub mod accel;
pub mod chip;
pub mod cluster;
pub mod device;
pub mod error;
pub mod exec;
pub mod files;
pub mod gpu;
pub mod kernel_table;
mod kernels;
pub mod model;
pub mod numerics;
pub mod onnx;
pub mod perf;
pub mod program;
pub mod progress;
/// The CPU twins of the shaders. Not public API: public only so that the numerics tests can hold each
/// function against third-party references; use [`CpuExecutor`] instead.
#[doc(hidden)]
pub mod reference;
pub mod report;
pub mod sched;
pub mod sourced;
pub mod tensor;
pub mod train;
pub mod units;
pub mod validate;

pub use chip::ChipSpec;
pub use error::{Error, Result};
pub use exec::{CpuExecutor, Executor, ExecutorChoice, GpuExecutor, Selected, select};
pub use kernel_table::KernelId;
pub use numerics::Accumulation;
pub use numerics::accumulate::NarrowAccumulator;
pub use program::{
    Activation, BinaryFn, CubeFormat, Epilogue, MatmulOptions, Program, ReduceFn, Rounding,
    TensorId, UnaryFn, VectorKind,
};
pub use sched::{LaunchMode, Prediction, predict, predict_launched};
pub use tensor::{DType, Shape, Tensor};

/// The executor `--executor auto` picks: a hardware GPU, or the CPU twin where there is none or the only
/// adapter is a software rasterizer slower than it (see [`exec::auto`]). [`select`] says why, and gives
/// the GPU context for reports.
pub fn default_executor() -> Result<Box<dyn Executor>> {
    let mut selected = select(ExecutorChoice::Auto)?;
    selected
        .executors
        .pop()
        .ok_or_else(|| Error::Program("no executor was selected".to_string()))
}

/// The 910C-style prediction of `cube_matmul(a, b)` on `chip`, from the operands' shapes and dtypes (no
/// values are read).
pub fn predict_matmul(
    a: &Tensor,
    b: &Tensor,
    opts: MatmulOptions,
    chip: &ChipSpec,
) -> Result<Prediction> {
    let mut p = Program::new();
    let ia = p.input("a", a.shape().clone(), a.dtype());
    let ib = p.input("b", b.shape().clone(), b.dtype());
    let c = p.cube_matmul(ia, ib, opts)?;
    p.output(c)?;
    predict(&p, chip)
}

/// Records `cube_matmul(a, b)` in a one-op program and runs it on `exec`.
pub fn matmul(exec: &dyn Executor, a: &Tensor, b: &Tensor, opts: MatmulOptions) -> Result<Tensor> {
    let mut p = Program::new();
    let ia = p.input("a", a.shape().clone(), a.dtype());
    let ib = p.input("b", b.shape().clone(), b.dtype());
    let c = p.cube_matmul(ia, ib, opts)?;
    p.output(c)?;
    Ok(exec.run(&p, &[a, b])?.remove(0))
}

/// Records a cast of `x` to `to` (f32 -> bf16 rounds to nearest even, bf16 -> f32 is exact) and runs it.
pub fn cast(exec: &dyn Executor, x: &Tensor, to: DType) -> Result<Tensor> {
    let mut p = Program::new();
    let ix = p.input("x", x.shape().clone(), x.dtype());
    let y = p.cast(ix, to)?;
    p.output(y)?;
    Ok(exec.run(&p, &[x])?.remove(0))
}

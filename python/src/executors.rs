//! Which executor runs a Python call. The GPU context is opened once per process and shared by every
//! call (opening one costs a second or more); `auto` measures once, as the CLI does, and says once, as a
//! Python warning, when it falls back to the CPU twin. The GIL is released while an executor runs.
//!
//! A lost device fails the call that meets it with `DeviceError`; the context is then dropped, so the
//! next call opens a new one (or, under `auto`, falls back to the CPU twin if none opens).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use davinci::device::GpuContext;
use davinci::exec::auto;
use davinci::{CpuExecutor, Executor, ExecutorChoice, GpuExecutor, Program, Tensor};
use pyo3::exceptions::PyRuntimeWarning;
use pyo3::prelude::*;

use crate::errors::{DavinciError, guard, to_py};

static GPU: Mutex<Option<Arc<GpuContext>>> = Mutex::new(None);
static WARNED: AtomicBool = AtomicBool::new(false);

fn cached() -> std::sync::MutexGuard<'static, Option<Arc<GpuContext>>> {
    GPU.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process's GPU context, opened on first use.
pub fn context() -> davinci::Result<Arc<GpuContext>> {
    let mut g = cached();
    if let Some(c) = g.as_ref() {
        return Ok(c.clone());
    }
    let c = Arc::new(GpuContext::new()?);
    *g = Some(c.clone());
    Ok(c)
}

/// Destroys the process's GPU context, as a driver reset would (for tests of the lost-device path).
pub fn lose_gpu() -> bool {
    match cached().as_ref() {
        Some(c) => {
            c.destroy();
            true
        }
        None => false,
    }
}

/// The executors a choice resolves to.
enum Chosen {
    Cpu,
    Gpu(Arc<GpuContext>),
    Both(Arc<GpuContext>),
}

/// The executor name (`auto`, `gpu`, `cpu`, `both`) as a choice.
pub fn parse(name: &str) -> PyResult<ExecutorChoice> {
    name.parse().map_err(to_py)
}

fn choose(py: Python<'_>, choice: ExecutorChoice) -> PyResult<Chosen> {
    let notice = match choice {
        ExecutorChoice::Cpu => return Ok(Chosen::Cpu),
        ExecutorChoice::Gpu => return Ok(Chosen::Gpu(context().map_err(to_py)?)),
        ExecutorChoice::Both => return Ok(Chosen::Both(context().map_err(to_py)?)),
        ExecutorChoice::Auto => match context() {
            Err(e) => format!("{e}\nrunning on the CPU executor instead"),
            Ok(c) => {
                let a = py.detach(|| auto::choose(&c));
                if a.gpu {
                    return Ok(Chosen::Gpu(c));
                }
                format!("executor auto: {}", a.reason)
            }
        },
    };
    if !WARNED.swap(true, Ordering::Relaxed) {
        PyErr::warn(
            py,
            &py.get_type::<PyRuntimeWarning>(),
            &std::ffi::CString::new(notice).unwrap_or_default(),
            1,
        )?;
    }
    Ok(Chosen::Cpu)
}

/// The name of the executor a choice runs on (`gpu` or `cpu`; `both` for both).
pub fn resolved_name(py: Python<'_>, choice: ExecutorChoice) -> PyResult<&'static str> {
    Ok(match choose(py, choice)? {
        Chosen::Cpu => "cpu",
        Chosen::Gpu(_) => "gpu",
        Chosen::Both(_) => "both",
    })
}

/// The first output and element where two runs' bits differ.
fn first_difference(gpu: &[Tensor], cpu: &[Tensor]) -> Option<String> {
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        if g.bit_eq(c) {
            continue;
        }
        let (gb, cb) = (g.bits(), c.bits());
        let n = gb.iter().zip(&cb).filter(|(a, b)| a != b).count();
        let at = gb.iter().zip(&cb).position(|(a, b)| a != b).unwrap_or(0);
        return Some(format!(
            "executor both: the GPU and the CPU twin disagree on output {i} {}: {n} of {} elements \
             differ, the first at flat index {at} (gpu bits {:#x}, cpu bits {:#x}); the numerics \
             contract promises equal bits, so this is a bug to report with the adapter's name",
            g.shape(),
            gb.len(),
            gb.get(at).copied().unwrap_or(0),
            cb.get(at).copied().unwrap_or(0),
        ));
    }
    None
}

/// Runs `program` on `inputs` with the executor `choice` resolves to, the GIL released. With `both`,
/// the GPU's outputs are returned after they were found equal, bit for bit, to the CPU twin's.
pub fn run(
    py: Python<'_>,
    program: &Program,
    inputs: &[Tensor],
    choice: ExecutorChoice,
) -> PyResult<Vec<Tensor>> {
    let chosen = choose(py, choice)?;
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let outcome = py.detach(|| {
        guard(|| match &chosen {
            Chosen::Cpu => CpuExecutor.run(program, &refs).map(Ok),
            Chosen::Gpu(c) => GpuExecutor::new(c.clone()).run(program, &refs).map(Ok),
            Chosen::Both(c) => {
                let g = GpuExecutor::new(c.clone()).run(program, &refs)?;
                let cpu = CpuExecutor.run(program, &refs)?;
                Ok(match first_difference(&g, &cpu) {
                    Some(msg) => Err(msg),
                    None => Ok(g),
                })
            }
        })
    });
    match outcome {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(msg)) => Err(DavinciError::new_err(msg)),
        Err(e) => {
            // A lost device: the next call opens a new context.
            if matches!(&chosen, Chosen::Gpu(c) | Chosen::Both(c) if c.is_lost()) {
                cached().take();
            }
            Err(e)
        }
    }
}

/// Runs `f` on the one executor `choice` resolves to (`both` is taken as the GPU), the GIL released.
pub fn with_one<T: Send>(
    py: Python<'_>,
    choice: ExecutorChoice,
    f: impl FnOnce(&dyn Executor) -> davinci::Result<T> + Send,
) -> PyResult<T> {
    let chosen = choose(py, choice)?;
    let out = py.detach(|| {
        guard(|| match &chosen {
            Chosen::Cpu => f(&CpuExecutor),
            Chosen::Gpu(c) | Chosen::Both(c) => f(&GpuExecutor::new(c.clone())),
        })
    });
    if out.is_err() && matches!(&chosen, Chosen::Gpu(c) | Chosen::Both(c) if c.is_lost()) {
        cached().take();
    }
    out
}

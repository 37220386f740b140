//! Running recorded programs on this host for a report: the executors a choice resolves to (the `auto`
//! fallback notice goes to the progress callback), timed runs with their median, and the executor rows
//! every host-timing table shares.

use std::time::Instant;

use super::Table;
use super::table::fmt_ms;
use crate::exec::{Executor, ExecutorChoice, select};
use crate::progress::Progress;
use crate::tensor::Tensor;
use crate::{Error, Program, Result};

/// The executors a run uses (GPU first when present) and the GPU adapter's name.
pub struct Executors {
    pub list: Vec<Box<dyn Executor>>,
    pub adapter: Option<String>,
}

impl Executors {
    /// Resolves `choice`; the fallback notice of `auto` goes to `progress`.
    pub fn select(choice: ExecutorChoice, progress: &mut dyn Progress) -> Result<Self> {
        let selected = select(choice)?;
        if let Some(notice) = &selected.notice {
            progress.notice(notice);
        }
        Ok(Executors {
            list: selected.executors,
            adapter: selected.gpu.as_ref().map(|g| g.description().name.clone()),
        })
    }

    /// The adapter name of the executor called `name` (the GPU's; `None` for the CPU twin).
    pub fn adapter_of(&self, name: &str) -> Option<String> {
        (name == "gpu").then(|| self.adapter.clone()).flatten()
    }
}

/// What the adapter column says for an executor without one.
pub const HOST_CPU: &str = "host CPU (twin)";

/// The result of one executor's runs: the output of the last run and the wall times.
pub struct Timed {
    pub output: Tensor,
    /// The first run, which also builds pipelines and warms caches; not part of the statistics.
    pub warmup_ms: Option<f64>,
    /// The timed runs, in order.
    pub times_ms: Vec<f64>,
}

impl Timed {
    /// The median of the timed runs.
    pub fn median_ms(&self) -> f64 {
        median(&self.times_ms)
    }
}

/// Runs `program` once to warm up (when `warmup`), then `repeat` timed times. The warm-up shows as a step
/// of unknown length; the timed runs as steps when they will take over about a second.
pub fn time_runs(
    exec: &dyn Executor,
    program: &Program,
    inputs: &[&Tensor],
    warmup: bool,
    repeat: usize,
    progress: &mut dyn Progress,
) -> Result<Timed> {
    let name = exec.name();
    let mut warmup_ms = None;
    let mut last = None;
    if warmup {
        progress.start(&format!("{name}: warm-up run"), 0);
        let (out, ms) = timed_run(exec, program, inputs);
        progress.finish();
        last = Some(out?);
        warmup_ms = Some(ms);
    }
    let shown = warmup_ms.unwrap_or(0.0) * repeat as f64 > 1000.0;
    if shown {
        progress.start(&format!("{name}: timed runs"), repeat as u64);
    }
    let mut times_ms = Vec::with_capacity(repeat);
    let runs = (0..repeat).try_for_each(|_| {
        let (out, ms) = timed_run(exec, program, inputs);
        last = Some(out?);
        times_ms.push(ms);
        if shown {
            progress.step(None, "");
        }
        Ok::<(), Error>(())
    });
    if shown {
        progress.finish();
    }
    runs?;
    let output =
        last.ok_or_else(|| Error::Usage("nothing was run: --repeat must be at least 1".into()))?;
    Ok(Timed {
        output,
        warmup_ms,
        times_ms,
    })
}

fn timed_run(exec: &dyn Executor, program: &Program, inputs: &[&Tensor]) -> (Result<Tensor>, f64) {
    let start = Instant::now();
    let result = exec.run(program, inputs);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let out = result.and_then(|mut outs| {
        if outs.is_empty() {
            Err(Error::Program(format!(
                "the {} executor returned no output",
                exec.name()
            )))
        } else {
            Ok(outs.swap_remove(0))
        }
    });
    (out, ms)
}

/// The median of some values (the mean of the two middle ones for an even count; NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The table of host wall times by executor: `executor`, `adapter`, `wall time`.
pub fn wall_time_table(
    execs: &Executors,
    runs: &[(&'static str, f64)],
) -> (Table, Vec<serde_json::Value>) {
    let mut table = Table::new(&[("executor", false), ("adapter", false), ("wall time", true)]);
    let mut json = Vec::new();
    for (name, ms) in runs {
        let adapter = execs.adapter_of(name);
        let mut e = serde_json::Map::new();
        e.insert("name".into(), serde_json::json!(name));
        if let Some(a) = &adapter {
            e.insert("adapter".into(), serde_json::json!(a));
        }
        e.insert("ms".into(), serde_json::json!(ms));
        json.push(serde_json::Value::Object(e));
        table.row(vec![
            name.to_string(),
            adapter.unwrap_or_else(|| HOST_CPU.into()),
            fmt_ms(*ms),
        ]);
    }
    (table, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}

//! The timeline as Chrome trace event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open:
//! an array of complete events (`ph: "X"`, `ts` and `dur` in microseconds) plus metadata events that name
//! the processes and threads. One process (pid) per die; one thread (tid) per core lane, named like
//! `aic 3 Cube` or `aiv 17 Vector`, and tid 0 of each die holds the kernel spans. Every event carries
//! `ph`, `ts`, `dur`, `pid` and `tid` (metadata events with `ts` and `dur` of 0).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Prediction;
use super::timeline::{CoreId, CoreKind, Lane};

/// Thread id of a core lane: Cube cores from 1000, vector cores from 100000, eight ids per core.
pub fn tid(core: CoreId, lane: Lane) -> u64 {
    let base = match core.kind {
        CoreKind::Aic => 1_000,
        CoreKind::Aiv => 100_000,
    };
    base + core.index as u64 * 8 + lane.index() as u64
}

/// The Chrome trace of a prediction.
pub fn chrome_trace(pred: &Prediction) -> Value {
    let tl = &pred.timeline;
    let us = |ns: f64| ns / 1e3;
    let mut events = Vec::with_capacity(tl.events.len() + tl.kernels.len() * tl.dies + 64);
    let meta = |name: &str, pid: usize, tid: u64, args: Value| json!({"name": name, "ph": "M", "ts": 0, "dur": 0, "pid": pid, "tid": tid, "args": args});
    for die in 0..tl.dies {
        events.push(meta(
            "process_name",
            die,
            0,
            json!({"name": format!("{} die {die}", pred.chip.name)}),
        ));
        events.push(meta(
            "process_sort_index",
            die,
            0,
            json!({"sort_index": die}),
        ));
        events.push(meta("thread_name", die, 0, json!({"name": "kernels"})));
    }
    let lanes: BTreeSet<(CoreId, Lane)> = tl.events.iter().map(|e| (e.core, e.lane)).collect();
    for (core, lane) in &lanes {
        let t = tid(*core, *lane);
        events.push(meta(
            "thread_name",
            core.die,
            t,
            json!({"name": format!("{} {} {}", core.kind.name(), core.index, lane.name())}),
        ));
        events.push(meta(
            "thread_sort_index",
            core.die,
            t,
            json!({"sort_index": t}),
        ));
    }
    for k in &tl.kernels {
        let op = &pred.ops[k.op];
        for die in 0..tl.dies {
            events.push(json!({
                "name": k.kernel,
                "cat": "kernel",
                "ph": "X",
                "ts": us(k.start.0),
                "dur": us(k.dur.0),
                "pid": die,
                "tid": 0,
                "args": {
                    "op": k.op,
                    "output": op.output,
                    "launch_us": us(k.launch.0),
                    "bound": k.bound,
                    "tflops": op.achieved().0 / 1e12,
                },
            }));
        }
    }
    for e in &tl.events {
        events.push(json!({
            "name": e.label,
            "cat": pred.ops[e.op].kernel,
            "ph": "X",
            "ts": us(e.start.0),
            "dur": us(e.dur.0),
            "pid": e.core.die,
            "tid": tid(e.core, e.lane),
            "args": {"op": e.op},
        }));
    }
    Value::Array(events)
}

/// Writes Chrome trace events to `path` (atomically: a failed write leaves nothing) and returns how many
/// events were written. Every trace of the crate (op predictions, cluster steps, merged stages) goes
/// through here.
pub fn write(path: &std::path::Path, events: &Value) -> crate::Result<usize> {
    crate::files::write_json(path, events, "trace")?;
    Ok(events.as_array().map_or(0, Vec::len))
}

impl Prediction {
    /// Writes the timeline as a Chrome trace (Perfetto, chrome://tracing); returns the events written.
    pub fn write_trace(&self, path: &std::path::Path) -> crate::Result<usize> {
        write(path, &chrome_trace(self))
    }
}

/// Several stages' traces in one file, each `offset_us` after the last, kernel args tagged with the
/// stage's name; metadata events (process and thread names) are kept once across stages.
#[derive(Default)]
pub struct TraceMerger {
    events: Vec<Value>,
    seen_meta: BTreeSet<String>,
}

impl TraceMerger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, stage: &str, trace: Value, offset_us: f64) {
        let Value::Array(events) = trace else { return };
        for mut e in events {
            if e.get("ph").and_then(Value::as_str) == Some("M") {
                if self.seen_meta.insert(e.to_string()) {
                    self.events.push(e);
                }
                continue;
            }
            if let Some(ts) = e.get("ts").and_then(Value::as_f64) {
                e["ts"] = json!(ts + offset_us);
            }
            if let Some(args) = e.get_mut("args").and_then(Value::as_object_mut) {
                args.insert("stage".into(), json!(stage));
            }
            self.events.push(e);
        }
    }

    pub fn events(&self) -> usize {
        self.events.len()
    }

    /// Writes the merged trace; returns the events written.
    pub fn write(self, path: &std::path::Path) -> crate::Result<usize> {
        write(path, &Value::Array(self.events))
    }
}

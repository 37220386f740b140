//! A step as a Chrome trace (Perfetto, chrome://tracing): one process per role, with a compute thread and a
//! collectives thread. The representative rank of each role is laid out as a GPipe-style schedule (all
//! forward micro-batches, then all backward ones; its step time equals 1F1B's): it starts once the earlier
//! stages have passed it the first micro-batch, the first micro-batch shows each layer and each collective,
//! later ones one span per pass, then the gradient all-reduce and the optimizer. Times in microseconds.

use serde_json::{Value, json};

use super::step::{LayerTime, StepPrediction};
use crate::units::Nanos;

/// Micro-batches drawn one by one; the rest are one span.
const SHOWN: usize = 64;

/// The trace events of a prediction.
pub fn chrome_trace(p: &StepPrediction) -> Value {
    let mut ev = Vec::new();
    let us = |n: Nanos| n.0 / 1e3;
    let span = |name: &str,
                cat: &str,
                pid: usize,
                tid: u64,
                start: Nanos,
                dur: Nanos,
                args: Value| {
        json!({"name": name, "cat": cat, "ph": "X", "ts": us(start), "dur": us(dur), "pid": pid, "tid": tid, "args": args})
    };
    let meta = |name: &str, pid: usize, tid: u64, args: Value| json!({"name": name, "ph": "M", "ts": 0, "dur": 0, "pid": pid, "tid": tid, "args": args});
    // The forward time of one micro-batch on each stage, for the fill offsets.
    let fwd = |stage: usize| {
        p.roles
            .iter()
            .find(|r| r.stages.contains(&stage))
            .map_or(Nanos::ZERO, |r| r.fwd_compute + r.fwd_comm + r.p2p)
    };
    let m = p.micro_batches;
    for (pid, r) in p.roles.iter().enumerate() {
        ev.push(meta(
            "process_name",
            pid,
            0,
            json!({"name": format!("{} ({} ranks)", r.name, r.devices)}),
        ));
        ev.push(meta(
            "process_sort_index",
            pid,
            0,
            json!({"sort_index": pid}),
        ));
        ev.push(meta("thread_name", pid, 0, json!({"name": "compute"})));
        ev.push(meta("thread_name", pid, 1, json!({"name": "collectives"})));
        let stage = r.stages[0];
        let mut t: Nanos = (0..stage).map(fwd).sum();
        let fwd_mb = r.fwd_compute + r.fwd_comm + r.p2p;
        // The first micro-batch, layer by layer.
        let layer = |ev: &mut Vec<Value>, t: &mut Nanos, name: String, lt: &LayerTime| {
            let start = *t;
            for (label, dur, cost) in &lt.steps {
                if let Some(c) = cost {
                    ev.push(span(label, "collective", pid, 1, *t, *dur, json!({
                        "collective": c.kind.name(), "algorithm": c.algorithm.name(), "bytes": c.bytes.0,
                        "devices": c.n, "tier": c.tier.name()})));
                }
                *t += *dur;
            }
            ev.push(span(
                &name,
                "layer",
                pid,
                0,
                start,
                *t - start,
                json!({"compute_us": us(lt.compute), "comm_us": us(lt.comm)}),
            ));
        };
        let mut index = stage_first_layer(p, stage);
        for _ in 0..r.dense_layers {
            if let Some(lt) = &p.dense {
                layer(&mut ev, &mut t, format!("layer {index} (dense) mb 0"), lt);
            }
            index += 1;
        }
        for _ in 0..r.moe_layers {
            if let Some(lt) = &p.moe {
                layer(&mut ev, &mut t, format!("layer {index} (moe) mb 0"), lt);
            }
            index += 1;
        }
        if r.head
            && let Some(lt) = &p.head
        {
            layer(&mut ev, &mut t, "head mb 0".into(), lt);
        }
        t += r.p2p.min(fwd_mb);
        let pace = p.roles[p.critical].fwd_compute
            + p.roles[p.critical].fwd_comm
            + p.roles[p.critical].p2p;
        let pace = pace.max(fwd_mb);
        let pass = |ev: &mut Vec<Value>,
                    t: &mut Nanos,
                    what: &str,
                    first: usize,
                    dur: Nanos,
                    step: Nanos| {
            for k in first..m.min(SHOWN) {
                ev.push(span(
                    &format!("{what} mb {k}"),
                    what,
                    pid,
                    0,
                    *t,
                    dur,
                    json!({}),
                ));
                *t += step;
            }
            if m > SHOWN {
                let rest = (m - SHOWN) as f64;
                ev.push(span(
                    &format!("{what} mb {SHOWN}..{m}"),
                    what,
                    pid,
                    0,
                    *t,
                    step * rest,
                    json!({}),
                ));
                *t += step * rest;
            }
        };
        // The other forward micro-batches at the slowest stage's pace.
        if m > 1 {
            t += pace - fwd_mb;
        }
        pass(&mut ev, &mut t, "forward", 1, fwd_mb, pace);
        if p.workload.is_train() {
            let bwd = r.bwd_compute + r.bwd_comm + r.recompute;
            let crit = &p.roles[p.critical];
            let bpace = (crit.bwd_compute + crit.bwd_comm + crit.recompute).max(bwd);
            pass(&mut ev, &mut t, "backward", 0, bwd, bpace);
            if r.dp_sync.0 > 0.0 {
                let start = t - (r.dp_sync - r.dp_exposed).max(Nanos::ZERO);
                ev.push(span(
                    "gradient all-reduce (dp)",
                    "collective",
                    pid,
                    1,
                    start,
                    r.dp_sync,
                    json!({"exposed_us": us(r.dp_exposed)}),
                ));
                t = start + r.dp_sync;
            }
            ev.push(span(
                "optimizer (AdamW)",
                "optimizer",
                pid,
                0,
                t,
                r.optimizer,
                json!({}),
            ));
        }
    }
    Value::Array(ev)
}

fn stage_first_layer(p: &StepPrediction, stage: usize) -> usize {
    let layers: usize = p
        .roles
        .iter()
        .map(|r| (r.dense_layers + r.moe_layers) * r.stages.len())
        .sum();
    stage * layers / p.plan.pp.max(1)
}

impl StepPrediction {
    /// Writes the step as a Chrome trace (one process per role); returns the events written.
    pub fn write_trace(&self, path: &std::path::Path) -> crate::Result<usize> {
        crate::sched::trace::write(path, &chrome_trace(self))
    }
}

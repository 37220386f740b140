//! The report of a prediction (`davinci predict`, and the `--predict` flag of `davinci matmul` and
//! `davinci op`): a JSON object (per op: time, rates, utilisation, busy time per resource, the binding
//! resource, energy and the plan) and a short table with units.

use serde_json::{Map, Value, json};

use super::table::{Table, fmt_time};
use crate::sched::{LaunchMode, Plan, Prediction};

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// The report of a prediction: a JSON object and a short table with units.
pub fn report(pred: &Prediction, title: &str) -> (Map<String, Value>, String) {
    let chip = &pred.chip;
    let mut table = Table::new(&[
        ("op", false),
        ("time", true),
        ("TFLOPS", true),
        ("HBM", true),
        ("cube", true),
        ("vector", true),
        ("HBM use", true),
        ("bound", false),
        ("energy", true),
    ]);
    let mut ops = Vec::new();
    let mut plans = String::new();
    for o in &pred.ops {
        table.row(vec![
            o.kernel.to_string(),
            fmt_time(o.time.0),
            format!("{:.1}", o.achieved().0 / 1e12),
            format!("{:.0} GB/s", o.hbm_bw().0 / 1e9),
            pct(o.cube_util),
            pct(o.vector_util),
            pct(o.hbm_util),
            o.bound.name().to_string(),
            format!("{:.3} mJ", o.energy.0 * 1e3),
        ]);
        let (plan_json, plan_line) = plan(&o.plan);
        plans.push_str(&format!("{}: {plan_line}\n", o.kernel));
        let resources: Map<String, Value> = o
            .resources
            .iter()
            .map(|(r, t)| (r.name().to_string(), json!(t.0 / 1e3)))
            .collect();
        ops.push(json!({
            "index": o.index,
            "kernel": o.kernel,
            "output": o.output,
            "start_us": o.start.0 / 1e3,
            "time_us": o.time.0 / 1e3,
            "launch_us": o.launch.0 / 1e3,
            "flops": o.flops.0,
            "tflops": o.achieved().0 / 1e12,
            "hbm_bytes": o.hbm_bytes.0,
            "hbm_gb_per_s": o.hbm_bw().0 / 1e9,
            "l2_bytes": o.l2_bytes.0,
            "die_link_bytes": o.link_bytes.0,
            "cube_util": o.cube_util,
            "vector_util": o.vector_util,
            "hbm_util": o.hbm_util,
            "bound": o.bound.name(),
            "busy_us": resources,
            "energy_j": o.energy.0,
            "cores_used": o.cores_used,
            "plan": plan_json,
        }));
    }
    if pred.ops.len() > 1 || pred.host_wait.0 > 0.0 {
        table.row(vec![
            "total".into(),
            fmt_time(pred.total.0),
            format!("{:.1}", pred.achieved().0 / 1e12),
            format!("{:.0} GB/s", pred.hbm_bw().0 / 1e9),
            pct(pred.cube_util),
            pct(pred.vector_util),
            pct(pred.hbm_util),
            pred.bound.name().to_string(),
            format!("{:.3} mJ", pred.energy.0 * 1e3),
        ]);
    }
    let mut obj = Map::new();
    obj.insert("chip".into(), Value::Object(super::headline::chip(chip)));
    obj.insert("time_us".into(), json!(pred.total.0 / 1e3));
    obj.insert("flops".into(), json!(pred.flops.0));
    obj.insert("tflops".into(), json!(pred.achieved().0 / 1e12));
    obj.insert("hbm_bytes".into(), json!(pred.hbm_bytes.0));
    obj.insert("hbm_gb_per_s".into(), json!(pred.hbm_bw().0 / 1e9));
    obj.insert("cube_util".into(), json!(pred.cube_util));
    obj.insert("vector_util".into(), json!(pred.vector_util));
    obj.insert("hbm_util".into(), json!(pred.hbm_util));
    obj.insert("bound".into(), json!(pred.bound.name()));
    obj.insert("energy_j".into(), json!(pred.energy.0));
    obj.insert("launch".into(), json!(pred.launch.name()));
    obj.insert("host_wait_us".into(), json!(pred.host_wait.0 / 1e3));
    obj.insert("ops".into(), Value::Array(ops));
    let launch = match pred.launch {
        LaunchMode::Device => String::new(),
        LaunchMode::Framework => format!(
            "launched op by op from a framework ({} us of host dispatch per kernel): the device waited {} \
             for the host\n",
            chip.framework_dispatch_us.value,
            fmt_time(pred.host_wait.0)
        ),
    };
    let human = format!(
        "{title}\npredicted on {} ({:.0} TFLOPS bf16, {:.2} TB/s HBM, {:.0} W)\n{launch}\n{}\n{plans}",
        chip.name,
        chip.peak_bf16().0 / 1e12,
        chip.hbm_bw().0 / 1e12,
        chip.power_w.value,
        table.render()
    );
    (obj, human)
}

/// The plan chosen for an op, as JSON and as one line.
fn plan(p: &Plan) -> (Value, String) {
    match p {
        Plan::Matmul(e) => {
            let t = &e.tiling;
            let [l1, l0a, l0b, l0c] = t.buffer_use();
            let json = json!({
                "kind": "cube",
                "single_core_m": t.single_core_m,
                "single_core_n": t.single_core_n,
                "single_core_k": t.single_core_k,
                "base_m": t.base_m,
                "base_n": t.base_n,
                "base_k": t.base_k,
                "step_k": t.step_k,
                "depth_l1": t.depth_l1,
                "db_l0a": t.db_l0ab,
                "db_l0b": t.db_l0ab,
                "db_l0c": t.db_l0c,
                "iterate_order": if e.m_inner { "m" } else { "n" },
                "blocks": t.blocks(),
                "blocks_m": t.blocks_m,
                "blocks_n": t.blocks_n,
                "die_split": t.order.name(),
                "cores_used": e.cores_used,
                "l2_hit": e.l2_hit,
                "l2_read_hit": e.l2_read_hit,
                "buffer_bytes": {"l1": l1, "l0a": l0a, "l0b": l0b, "l0c": l0c},
            });
            let line = format!(
                "singleCore {}x{}x{}, base {}x{}x{} (stepK {}), L0C {}, {} blocks ({}x{}{}) on {} cores, {}, \
                 L2 serves {:.0}% of re-reads",
                t.single_core_m,
                t.single_core_n,
                t.single_core_k,
                t.base_m,
                t.base_n,
                t.base_k,
                t.step_k,
                if t.db_l0c {
                    "double-buffered"
                } else {
                    "single"
                },
                t.blocks(),
                t.blocks_m,
                t.blocks_n,
                if t.problem.batch > 1 {
                    format!(" x batch {}", t.problem.batch)
                } else {
                    String::new()
                },
                e.cores_used,
                t.order.name(),
                100.0 * e.l2_hit
            );
            (json, line)
        }
        Plan::Vector(w, e) => {
            let json = json!({
                "kind": "vector",
                "rows": w.rows,
                "row_len": w.row_len,
                "passes": w.passes.len(),
                "chunk_elements": e.chunk_elems,
                "chunks_per_core": e.chunks,
                "cores_used": e.cores_used,
            });
            let line = format!(
                "{} rows x {} on {} vector cores, {} passes, UB chunks of {} elements ({} on the busiest core)",
                w.rows,
                w.row_len,
                e.cores_used,
                w.passes.len(),
                e.chunk_elems,
                e.chunks
            );
            (json, line)
        }
    }
}

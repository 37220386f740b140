//! `davinci info` as a report: the adapter `auto` would use (name, backend, device type, driver, software
//! or not), the limits that decide how large an op can be, what the start-up numerics probe found and what
//! that means for bit-identity with the CPU twins, and the executor `--executor auto` will use and why
//! (measured: see [`crate::exec::auto`]). With no adapter it says so and why, and reports the CPU executor.
//! The peak option adds each device's measured f32 FMA rate, the limit every speed figure is a fraction of.

use serde_json::{Value, json};

use super::table::fmt_bytes;
use super::{Report, Table};
use crate::Result;
use crate::device::{GpuContext, NumericsProbe};
use crate::exec::auto::AutoChoice;
use crate::exec::{ExecutorChoice, select};

/// `davinci info`; `peak` adds the measured f32 FMA rates.
pub fn run(peak: bool) -> Result<Report> {
    let selected = select(ExecutorChoice::Auto)?;
    let adapter_override = std::env::var("DAVINCI_ADAPTER").ok();
    let (json, human) = match (&selected.gpu, &selected.auto) {
        (Some(ctx), Some(auto)) => gpu_report(ctx, auto),
        (Some(ctx), None) => gpu_report(
            ctx,
            &AutoChoice {
                gpu: true,
                reason: "the adapter opened".to_string(),
            },
        ),
        (None, _) => {
            let reason = selected
                .notice
                .clone()
                .unwrap_or_else(|| "no GPU adapter was opened".to_string());
            // The notice's second line ("running on the CPU executor instead") is for runs, not for info.
            let reason = reason.lines().next().unwrap_or_default().to_string();
            let json = json!({
                "adapter": Value::Null,
                "limits": Value::Null,
                "numerics": Value::Null,
                "executor_auto": "cpu",
                "executor_auto_reason": reason,
                "gpu_available": false,
            });
            let human = format!(
                "adapter        none\nexecutor auto  cpu (the CPU twin; results are the same bits, only slower)\n\
                 reason         {reason}\n"
            );
            (json, human)
        }
    };
    let mut json = json;
    if let (Some(want), Some(obj)) = (&adapter_override, json.as_object_mut()) {
        obj.insert("adapter_override".into(), json!(want));
    }
    let mut human = human;
    if peak {
        let gpu = match &selected.gpu {
            Some(ctx) => Some(crate::device::peak::fma_gflops(ctx)?),
            None => None,
        };
        let cpu = crate::exec::cpu_peak::fma_gflops();
        if let Some(obj) = json.as_object_mut() {
            obj.insert(
                "peak".into(),
                json!({"gpu_fma_gflops": gpu, "cpu_fma_gflops": cpu}),
            );
        }
        let gpu = gpu.map_or("- (no adapter)".to_string(), |g| format!("{g:.1} GFLOP/s"));
        human.push_str(&format!(
            "\npeak f32 FMA rate (measured)\n  adapter  {gpu}\n  CPU      {cpu:.1} GFLOP/s (all cores)\n"
        ));
    }
    if let Some(want) = adapter_override {
        human.push_str(&format!(
            "(DAVINCI_ADAPTER={want} narrows the adapter choice)\n"
        ));
    }
    Ok(Report {
        json,
        human,
        failure: None,
    })
}

fn gpu_report(ctx: &GpuContext, auto: &AutoChoice) -> (Value, String) {
    let d = ctx.description();
    let l = ctx.limits();
    let p = *ctx.probe();
    let meaning = bit_identity(&p);
    let reason = &auto.reason;
    let executor = if auto.gpu { "gpu" } else { "cpu" };
    let json = json!({
        "adapter": {
            "name": d.name,
            "backend": d.backend,
            "device_type": d.device_type,
            "driver": d.driver,
            "software": d.software,
        },
        "limits": {
            "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
            "max_buffer_size": l.max_buffer_size,
            "max_binding_bytes": ctx.max_binding_bytes(),
            "max_compute_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
            "max_compute_invocations_per_workgroup": l.max_compute_invocations_per_workgroup,
            "max_compute_workgroup_storage_size": l.max_compute_workgroup_storage_size,
        },
        "numerics": {
            "subnormal_results_kept": p.subnormal_results_kept,
            "subnormal_inputs_kept": p.subnormal_inputs_kept,
            "fma_fused": p.fma_fused,
            "mul_add_contracted": p.mul_add_contracted,
            "bit_identical_all": p.ieee_subnormals(),
            "bit_identity": meaning,
        },
        "executor_auto": executor,
        "executor_auto_reason": reason,
        "gpu_available": true,
    });

    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut t = Table::new(&[("adapter", false), ("", false)]);
    t.row(vec!["name".into(), d.name.clone()]);
    t.row(vec!["backend".into(), d.backend.clone()]);
    t.row(vec!["device type".into(), d.device_type.clone()]);
    t.row(vec!["driver".into(), d.driver.clone()]);
    t.row(vec![
        "software rasterizer".into(),
        yes_no(d.software).into(),
    ]);

    let mut lim = Table::new(&[("limit", false), ("value", true)]);
    let bytes = |b: u64| format!("{} ({b} B)", fmt_bytes(b as u128));
    lim.row(vec![
        "max_storage_buffer_binding_size".into(),
        bytes(l.max_storage_buffer_binding_size),
    ]);
    lim.row(vec!["max_buffer_size".into(), bytes(l.max_buffer_size)]);
    lim.row(vec![
        "max_compute_workgroups_per_dimension".into(),
        l.max_compute_workgroups_per_dimension.to_string(),
    ]);
    lim.row(vec![
        "max_compute_invocations_per_workgroup".into(),
        l.max_compute_invocations_per_workgroup.to_string(),
    ]);
    lim.row(vec![
        "max_compute_workgroup_storage_size".into(),
        bytes(l.max_compute_workgroup_storage_size as u64),
    ]);

    let mut num = Table::new(&[("numerics probe", false), ("", false)]);
    num.row(vec![
        "subnormal results kept".into(),
        yes_no(p.subnormal_results_kept).into(),
    ]);
    num.row(vec![
        "subnormal inputs kept".into(),
        yes_no(p.subnormal_inputs_kept).into(),
    ]);
    num.row(vec![
        "fma fused (one rounding)".into(),
        yes_no(p.fma_fused).into(),
    ]);
    num.row(vec![
        "a*b+c contracted".into(),
        yes_no(p.mul_add_contracted).into(),
    ]);

    let human = format!(
        "{}\n{}\n{}bit-identity: {meaning}\n\nexecutor auto: {executor} ({reason})\n",
        t.render(),
        lim.render(),
        num.render()
    );
    (json, human)
}

/// What the probe means for the promise that GPU results equal the CPU twin's bit for bit. The shaders
/// rely on no fma and let no compiler contract or reorder (see `shaders/cube_matmul.wgsl`), so only
/// subnormal flushing can break the promise; the fma and contraction findings are reported for information.
fn bit_identity(p: &NumericsProbe) -> String {
    if p.ieee_subnormals() {
        "every result is bit-identical to the CPU twin, subnormals included".to_string()
    } else {
        "this adapter flushes f32 subnormals: results are bit-identical to the CPU twin only where no \
         value passes through a subnormal"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_identity_wording_follows_the_probe() {
        let ieee = NumericsProbe {
            subnormal_results_kept: true,
            subnormal_inputs_kept: true,
            fma_fused: true,
            mul_add_contracted: false,
        };
        assert!(bit_identity(&ieee).starts_with("every result"));
        let ftz = NumericsProbe {
            subnormal_results_kept: false,
            ..ieee
        };
        assert!(bit_identity(&ftz).contains("flushes"));
        // Neither a split fma nor contraction breaks the promise: the shaders rely on neither.
        let loose = NumericsProbe {
            fma_fused: false,
            mul_add_contracted: true,
            ..ieee
        };
        assert!(bit_identity(&loose).starts_with("every result"));
    }
}

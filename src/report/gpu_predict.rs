//! Predictions on NVIDIA GPUs as reports (`davinci predict matmul|op --chip h100-sxm`): the same
//! recorded program as for an Ascend chip, timed by the GPU model ([`crate::gpu`]): per op its time,
//! rate, HBM traffic and binding resource, and for a matmul its CTA tile and waves.

use serde_json::json;

use super::Report;
use super::predict_run::MatmulSizes;
use super::table::{Table, fmt_time};
use crate::Result;
use crate::gpu::predict::{GpuPrediction, predict};
use crate::gpu::{GpuDtype, GpuSpec};
use crate::tensor::DType;

/// The report of `pred` under `title`: a table per op, and the same as JSON.
pub fn report(pred: &GpuPrediction, title: &str) -> Report {
    let mut table = Table::new(&[
        ("op", false),
        ("time", true),
        ("TFLOPS", true),
        ("HBM", true),
        ("bound", false),
        ("tiling", false),
    ]);
    let mut ops = Vec::new();
    for o in pred.ops.iter().filter(|o| o.time.0 > 0.0) {
        let secs = o.time.0 * 1e-9;
        let tiling = o.gemm.as_ref().map_or(String::new(), |e| {
            format!(
                "{}x{} CTA tiles, {} stages, {} tiles in {} waves",
                e.tile.bm, e.tile.bn, e.tile.stages, e.waves.tiles, e.waves.waves
            )
        });
        table.row(vec![
            o.kernel.to_string(),
            fmt_time(o.time.0),
            format!("{:.1}", o.flops.0 / secs / 1e12),
            format!("{:.0} GB/s", o.hbm_bytes.0 / secs / 1e9),
            o.bound.name().to_string(),
            tiling,
        ]);
        ops.push(json!({
            "index": o.index, "kernel": o.kernel, "time_us": o.time.0 / 1e3, "flops": o.flops.0,
            "tflops": o.flops.0 / secs / 1e12, "hbm_bytes": o.hbm_bytes.0, "bound": o.bound.name(),
            "gemm": o.gemm,
        }));
    }
    let secs = pred.total.0 * 1e-9;
    let tflops = if secs > 0.0 {
        pred.flops.0 / secs / 1e12
    } else {
        0.0
    };
    let human = format!(
        "{title}\npredicted on {}: {} ({tflops:.1} TFLOPS, bound by {}), {:.3} mJ\n\n{}",
        pred.gpu,
        fmt_time(pred.total.0),
        pred.bound.name(),
        pred.energy.0 * 1e3,
        table.render()
    );
    let json = json!({
        "chip": pred.gpu, "time_us": pred.total.0 / 1e3, "tflops": tflops, "flops": pred.flops.0,
        "hbm_bytes": pred.hbm_bytes.0, "bound": pred.bound.name(), "energy_j": pred.energy.0,
        "ops": ops,
    });
    Report {
        json,
        human,
        failure: None,
    }
}

/// `davinci predict matmul --chip GPU`: one GEMM in `dtype`, with the GPU's peak in that dtype
/// (`peak_tflops`, TOPS for int8) and `efficiency`, achieved over that peak.
pub fn matmul(sizes: &MatmulSizes, dtype: GpuDtype, gpu: &GpuSpec) -> Result<Report> {
    let peak = gpu.peak(dtype)?.0;
    // Recorded by shape on bf16 stand-ins; the GPU model reads `dtype`, not the stand-in's.
    let p = sizes.record(DType::Bf16)?;
    let pred = predict(&p, gpu, Some(dtype))?;
    let title = format!(
        "GEMM M={} K={} N={} batch={}: {} x {} -> {}",
        sizes.m,
        sizes.k,
        sizes.n,
        sizes.batch,
        dtype.name(),
        dtype.name(),
        sizes.opts.dtype_out
    );
    let mut r = report(&pred, &title);
    let secs = pred.total.0 * 1e-9;
    let efficiency = if secs > 0.0 {
        pred.flops.0 / secs / peak
    } else {
        0.0
    };
    if let Some(o) = r.json.as_object_mut() {
        o.insert("dtype".into(), json!(dtype.name()));
        o.insert("peak_tflops".into(), json!(peak / 1e12));
        o.insert("efficiency".into(), json!(efficiency));
    }
    r.human.push_str(&format!(
        "{}: {:.1}% of the GPU's {:.1} {} dense peak\n",
        dtype.name(),
        100.0 * efficiency,
        peak / 1e12,
        dtype.rate_unit()
    ));
    Ok(r)
}

/// `davinci predict op --chip GPU`: Vector op `name` as one memory-bound kernel.
pub fn op(
    name: &str,
    shape: &str,
    other: Option<&str>,
    dt: DType,
    dtype_out: Option<DType>,
    gpu: &GpuSpec,
) -> Result<Report> {
    let (p, title) = super::predict_run::record_op(name, shape, other, dt, dtype_out)?;
    let pred = predict(&p, gpu, None)?;
    Ok(report(&pred, &title))
}

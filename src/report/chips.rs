//! The chip presets as a report (`davinci chips [NAME|FILE]`): the Ascend chips' and the NVIDIA GPUs' peak
//! figures, or every field of one with its unit and source.

use serde_json::{Map, Value, json};

use super::Report as Outcome;
use super::headline::{chip as headline, gpu as gpu_headline};
use super::table::Table;
use crate::ChipSpec;
use crate::chip::{FIELDS, Field, Sourced};
use crate::gpu::{FIELDS as GPU_FIELDS, GpuDtype, GpuSpec};

/// `davinci chips [NAME|FILE]`: every preset (Ascend chips and NVIDIA GPUs), or every field of one (a GPU
/// preset, an Ascend preset or a chip file).
pub fn named(name: Option<&str>) -> crate::Result<Outcome> {
    let Some(name) = name else {
        return Ok(list());
    };
    if let Some(g) = GpuSpec::preset(name) {
        return Ok(gpu_detail(&g));
    }
    let chip = ChipSpec::resolve(name).map_err(|e| crate::Error::Usage(e.to_string()))?;
    Ok(detail(&chip))
}

pub fn list() -> Outcome {
    let chips = ChipSpec::presets();
    let mut table = Table::new(&[
        ("chip", false),
        ("dies", true),
        ("cube+vector cores", true),
        ("clock", true),
        ("bf16 peak", true),
        ("HBM", true),
        ("HBM bandwidth", true),
        ("power", true),
    ]);
    for c in &chips {
        table.row(vec![
            c.name.clone(),
            c.dies().to_string(),
            format!(
                "{}+{}",
                c.dies() * c.cube_cores_per_die(),
                c.dies() * c.vector_cores_per_die()
            ),
            format!("{:.0} MHz", c.clock_mhz.value),
            format!("{:.1} TFLOPS", c.peak_bf16().0 / 1e12),
            format!("{:.0} GiB", c.hbm_capacity().0 / (1u64 << 30) as f64),
            format!("{:.2} TB/s", c.hbm_bw().0 / 1e12),
            format!("{:.0} W", c.power_w.value),
        ]);
    }
    let gpus = GpuSpec::presets();
    let mut gtable = Table::new(&[
        ("gpu", false),
        ("SMs", true),
        ("clock", true),
        ("bf16 dense", true),
        ("fp8 dense", true),
        ("HBM", true),
        ("HBM bandwidth", true),
        ("power", true),
    ]);
    for g in &gpus {
        let peak = |d| {
            g.peak(d)
                .map_or("-".to_string(), |p| format!("{:.0} TFLOPS", p.0 / 1e12))
        };
        gtable.row(vec![
            g.name.clone(),
            g.sms().to_string(),
            format!("{:.0} MHz", g.clock_mhz.value),
            peak(GpuDtype::Bf16),
            peak(GpuDtype::Fp8),
            format!("{:.0} GB", g.hbm_gb.value),
            format!("{:.2} TB/s", g.hbm_bw().0 / 1e12),
            format!("{:.0} W", g.power_w.value),
        ]);
    }
    let human = format!(
        "{}\nNVIDIA GPUs, for comparison (timed by CTA tiles in waves over the SMs):\n{}\n\
         The default is {}. `davinci chips NAME` shows every field with its source; \
         `--chip FILE.toml` takes a custom Ascend chip.\n",
        table.render(),
        gtable.render(),
        chips[0].name
    );
    let json = json!({
        "default": chips[0].name,
        "chips": chips.iter().map(|c| Value::Object(headline(c))).collect::<Vec<_>>(),
        "gpus": gpus.iter().map(|g| Value::Object(gpu_headline(g))).collect::<Vec<_>>(),
    });
    Outcome {
        json,
        human,
        failure: None,
    }
}

pub fn detail(chip: &ChipSpec) -> Outcome {
    let (table, fields) = field_table(FIELDS, |k| chip.field(k));
    let mut obj = headline(chip);
    obj.insert("fields".into(), Value::Object(fields));
    let human = format!(
        "{}: {}\npeak {:.1} TFLOPS bf16, HBM {:.2} TB/s, {:.0} W\n\n{}",
        chip.name,
        chip.summary,
        chip.peak_bf16().0 / 1e12,
        chip.hbm_bw().0 / 1e12,
        chip.power_w.value,
        table.render()
    );
    Outcome {
        json: Value::Object(obj),
        human,
        failure: None,
    }
}

/// Every field of GPU `g` with its unit and source.
pub fn gpu_detail(g: &GpuSpec) -> Outcome {
    let (table, fields) = field_table(GPU_FIELDS, |k| g.field(k));
    let mut obj = gpu_headline(g);
    obj.insert("fields".into(), Value::Object(fields));
    let human = format!(
        "{}: {}\ndtypes: {}\n\n{}",
        g.name,
        g.summary,
        g.dtypes()
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(", "),
        table.render()
    );
    Outcome {
        json: Value::Object(obj),
        human,
        failure: None,
    }
}

/// Every field with its unit and source: a table, and the same as JSON.
fn field_table<'a>(
    keys: &[Field],
    get: impl Fn(&str) -> Option<&'a Sourced>,
) -> (Table, Map<String, Value>) {
    let mut table = Table::new(&[
        ("field", false),
        ("value", true),
        ("unit", false),
        ("source", false),
    ]);
    let mut fields = Map::new();
    for f in keys {
        let Some(s) = get(f.key) else { continue };
        table.row(vec![
            f.key.to_string(),
            format!("{}", round(s.value)),
            f.unit.to_string(),
            s.source.clone(),
        ]);
        fields.insert(
            f.key.into(),
            json!({"value": s.value, "unit": f.unit, "source": s.source, "doc": f.doc}),
        );
    }
    (table, fields)
}

/// Four decimals at most, for a table.
fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

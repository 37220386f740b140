//! The headline figures of an Ascend chip and of an NVIDIA GPU, as JSON objects that other reports embed
//! (`chips`, `predict`, `demo`). A leaf of the report module so that every report can use it.

use serde_json::{Map, Value, json};

use crate::ChipSpec;
use crate::gpu::{GpuDtype, GpuSpec};

/// The headline figures of a chip, for JSON.
pub fn chip(chip: &ChipSpec) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("name".into(), json!(chip.name));
    o.insert("summary".into(), json!(chip.summary));
    o.insert("dies".into(), json!(chip.dies()));
    o.insert(
        "cube_cores".into(),
        json!(chip.dies() * chip.cube_cores_per_die()),
    );
    o.insert(
        "vector_cores".into(),
        json!(chip.dies() * chip.vector_cores_per_die()),
    );
    o.insert("clock_mhz".into(), json!(chip.clock_mhz.value));
    o.insert("peak_bf16_tflops".into(), json!(chip.peak_bf16().0 / 1e12));
    o.insert("hbm_tb_per_s".into(), json!(chip.hbm_bw().0 / 1e12));
    o.insert(
        "hbm_gib".into(),
        json!(chip.hbm_capacity().0 / (1u64 << 30) as f64),
    );
    o.insert(
        "l2_mib".into(),
        json!(chip.l2_mib_per_die.value * chip.dies.value),
    );
    o.insert("power_w".into(), json!(chip.power_w.value));
    o
}

/// A GPU's headline figures, for JSON.
pub fn gpu(g: &GpuSpec) -> Map<String, Value> {
    let peak = |d| g.peak(d).map_or(0.0, |p| p.0 / 1e12);
    let mut o = Map::new();
    o.insert("name".into(), json!(g.name));
    o.insert("summary".into(), json!(g.summary));
    o.insert("kind".into(), json!("gpu"));
    o.insert("sms".into(), json!(g.sms()));
    o.insert("clock_mhz".into(), json!(g.clock_mhz.value));
    o.insert("peak_bf16_tflops".into(), json!(peak(GpuDtype::Bf16)));
    o.insert("peak_fp8_tflops".into(), json!(peak(GpuDtype::Fp8)));
    o.insert("hbm_tb_per_s".into(), json!(g.hbm_bw().0 / 1e12));
    o.insert("hbm_gb".into(), json!(g.hbm_gb.value));
    o.insert("l2_mib".into(), json!(g.l2_mib.value));
    o.insert("power_w".into(), json!(g.power_w.value));
    o.insert(
        "dtypes".into(),
        json!(g.dtypes().iter().map(|d| d.name()).collect::<Vec<_>>()),
    );
    o
}

//! The preset chips. Every number names its source; the tags are those of `reference/ascend.md` in the
//! shared folder: [O] official Huawei material (CANN platform `.ini` files, hiascend docs, msKPP,
//! msmodeling), [A] Huawei-authored arXiv preprint, [C] community measurement, [Press], and the seed article.
//!
//! Where sources disagree the preset says which one it follows. The 910C's dense bf16 peak is given as
//! 727 (CANN ini: cores x clock), 752 [A], 780 (seed, press) and 800 (keynote, fp16) TFLOPS. The ini's core
//! count (24 per die) and the Cube's 4096 MAC/cycle are firm, so the figures differ only in the clock they
//! imply; `910c` reproduces the seed's 780 TFLOPS by deriving its clock from it (1983.7 MHz), and
//! `910c-cann` keeps the ini's 1850 MHz (727 TFLOPS).

use super::core_v220::{CUBE_MACS, davinci_v220};
use super::{ChipSpec, Sourced};

/// Preset names, the default first.
pub const NAMES: &[&str] = &[
    "910c",
    "910c-cann",
    "910b1",
    "910b2",
    "910b3",
    "910b4",
    "910a",
    "910pro-a",
    "910premium-a",
    "910pro-b",
];

/// A preset by name.
pub fn by_name(name: &str) -> Option<ChipSpec> {
    match name {
        "910c" => Some(ascend_910c()),
        "910c-cann" => Some(ascend_910c_cann()),
        "910b1" => Some(ascend_910b(B1)),
        "910b2" => Some(ascend_910b(B2)),
        "910b3" => Some(ascend_910b(B3)),
        "910b4" => Some(ascend_910b(B4)),
        _ => super::presets_910::by_name(name),
    }
}

const INI_910C: &str = "CANN ini 910_9391/9392 (910C, per die) [O], ascend.md Chips table";

/// The dense bf16 figure of the seed article (and press) for one 910C package.
const SEED_910C_FLOPS: f64 = 780e12;
/// Dies, cube cores per die and MACs per cycle of the 910C, as in the ini (used to derive the clock).
const C_DIES: f64 = 2.0;
const C_CORES: f64 = 24.0;

/// The default: a 910C package that reproduces the seed's headline figures (780 TFLOPS dense bf16, 350 W,
/// two dies, 128 GB HBM at 3.2 TB/s).
pub fn ascend_910c() -> ChipSpec {
    let mut c = davinci_v220(
        "910c",
        "Ascend 910C package, seed figures: 780 TFLOPS bf16, 3.2 TB/s, 350 W (clock derived)",
    );
    set_910c_topology(&mut c);
    let clock_mhz = SEED_910C_FLOPS / (C_DIES * C_CORES * CUBE_MACS * 2.0) / 1e6;
    c.clock_mhz = Sourced::new(
        clock_mhz,
        "derived: the seed's 780 TFLOPS dense bf16 / (2 dies x 24 cube cores [ini] x 4096 MAC x 2 FLOP); \
         no published clock gives it. Sources disagree: CANN ini 1850 MHz = 727 TFLOPS (preset 910c-cann), \
         arXiv [A] 752 TFLOPS = 1913 MHz, keynote 800 (fp16)",
    );
    c
}

/// A 910C as the CANN ini files describe it: 24 cube + 48 vector cores per die at 1.85 GHz (727 TFLOPS).
pub fn ascend_910c_cann() -> ChipSpec {
    let mut c = davinci_v220(
        "910c-cann",
        "Ascend 910C package, CANN ini values: 24+48 cores per die at 1850 MHz (727 TFLOPS)",
    );
    set_910c_topology(&mut c);
    c.clock_mhz = Sourced::new(1850.0, INI_910C);
    c
}

fn set_910c_topology(c: &mut ChipSpec) {
    c.dies = Sourced::new(
        C_DIES,
        "seed: dual-chiplet package; the two dies appear as two devices [O], ascend.md",
    );
    c.cube_cores_per_die = Sourced::new(C_CORES, INI_910C);
    c.vector_cores_per_die = Sourced::new(48.0, INI_910C);
    c.hbm_gib_per_die = Sourced::new(
        64.0,
        "128 GB per package [A+O; seed], half per die; ini 64 GiB",
    );
    c.die_link_gb_per_s = Sourced::new(
        224.0,
        "msmodeling's die-to-die (SIO) model, 224 GB/s [O-model]; no official figure; press says 400 GB/s",
    );
    c.die_link_latency_us = Sourced::new(0.2, "msmodeling's die-to-die model, 0.2 us [O-model]");
}

/// The differences between the 910B parts (CANN ini files [O], ascend.md Chips table).
#[derive(Clone, Copy)]
struct B {
    name: &'static str,
    cores: f64,
    clock_mhz: f64,
    hbm_gib: f64,
    hbm_gb_s: f64,
    l2_mib: f64,
}

const B1: B = B {
    name: "910b1",
    cores: 24.0,
    clock_mhz: 1850.0,
    hbm_gib: 64.0,
    hbm_gb_s: 1600.0,
    l2_mib: 192.0,
};
const B2: B = B {
    name: "910b2",
    cores: 24.0,
    clock_mhz: 1800.0,
    hbm_gib: 64.0,
    hbm_gb_s: 1600.0,
    l2_mib: 192.0,
};
const B3: B = B {
    name: "910b3",
    cores: 20.0,
    clock_mhz: 1800.0,
    hbm_gib: 64.0,
    hbm_gb_s: 1600.0,
    l2_mib: 192.0,
};
const B4: B = B {
    name: "910b4",
    cores: 20.0,
    clock_mhz: 1500.0,
    hbm_gib: 32.0,
    hbm_gb_s: 800.0,
    l2_mib: 96.0,
};

fn ascend_910b(b: B) -> ChipSpec {
    let src = || {
        format!(
            "CANN ini for {} [O], ascend.md Chips table",
            b.name.to_uppercase()
        )
    };
    let mut c = davinci_v220(
        b.name,
        &format!(
            "Ascend {}: one die, {} cube + {} vector cores at {} MHz (CANN ini)",
            b.name.to_uppercase(),
            b.cores,
            2.0 * b.cores,
            b.clock_mhz
        ),
    );
    c.dies = Sourced::new(1.0, "910B is a single die [O], ascend.md");
    c.cube_cores_per_die = Sourced::new(b.cores, src());
    c.vector_cores_per_die = Sourced::new(2.0 * b.cores, src());
    c.clock_mhz = Sourced::new(b.clock_mhz, src());
    c.hbm_gib_per_die = Sourced::new(b.hbm_gib, src());
    c.hbm_gb_per_s_per_die = Sourced::new(b.hbm_gb_s, src());
    c.l2_mib_per_die = Sourced::new(b.l2_mib, src());
    if b.name == "910b4" {
        c.power_w = Sourced::new(
            350.0,
            "assumption: no 910B4 figure in the reference; the 910B cards' 350 W [C] is kept, \
             so energy is an upper bound",
        );
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_follow_the_reference_table() {
        // (preset, bf16 TFLOPS from ascend.md's table or the seed)
        for (name, tflops) in [
            ("910c", 780.0),
            ("910c-cann", 727.4),
            ("910b1", 363.7),
            ("910b2", 353.9),
            ("910b3", 294.9),
            ("910b4", 245.8),
        ] {
            let peak = ChipSpec::preset(name).unwrap().peak_bf16().0 / 1e12;
            assert!(
                (peak / tflops - 1.0).abs() < 0.001,
                "{name}: {peak} vs {tflops}"
            );
        }
    }

    #[test]
    fn no_placeholder_survives() {
        for chip in ChipSpec::presets() {
            for f in super::super::FIELDS {
                let s = chip.field(f.key).unwrap();
                assert!(
                    !s.source.contains("placeholder"),
                    "{}: {}",
                    chip.name,
                    f.key
                );
            }
        }
    }
}

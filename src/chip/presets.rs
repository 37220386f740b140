//! The preset chips. Every number names its source; the tags are those of `reference/ascend.md` in the
//! shared folder: [O] official Huawei material (CANN platform `.ini` files, hiascend docs, msKPP,
//! msmodeling), [A] Huawei-authored arXiv preprint, [C] community measurement, [Press], and the seed article.
//!
//! Where sources disagree the preset says which one it follows. The 910C's dense bf16 peak is given as
//! 727 (CANN ini: cores x clock), 752 [A], 780 (seed, press) and 800 (keynote, fp16) TFLOPS. The ini's core
//! count (24 per die) and the Cube's 4096 MAC/cycle are firm, so the figures differ only in the clock they
//! imply; `910c` reproduces the seed's 780 TFLOPS by deriving its clock from it (1983.7 MHz), and
//! `910c-cann` keeps the ini's 1850 MHz (727 TFLOPS).

use super::{ChipSpec, Sourced};

/// Preset names, the default first.
pub const NAMES: &[&str] = &["910c", "910c-cann", "910b1", "910b2", "910b3", "910b4"];

/// A preset by name.
pub fn by_name(name: &str) -> Option<ChipSpec> {
    match name {
        "910c" => Some(ascend_910c()),
        "910c-cann" => Some(ascend_910c_cann()),
        "910b1" => Some(ascend_910b(B1)),
        "910b2" => Some(ascend_910b(B2)),
        "910b3" => Some(ascend_910b(B3)),
        "910b4" => Some(ascend_910b(B4)),
        _ => None,
    }
}

const INI: &str = "CANN platform config ini [O], ascend.md";
const INI_910C: &str = "CANN ini 910_9391/9392 (910C, per die) [O], ascend.md Chips table";
const MSKPP: &str = "msKPP, measured on one 910B1 core [O], ascend.md per-core data paths; \
                     assumed the same DaVinci core on 910B2-4 and 910C";
const MSKPP_VEC: &str = "msKPP profiled vector throughput on one 910B1 vector core [O], ascend.md \
                         (interpretation medium confidence); assumed the same on every preset";

/// The dense bf16 figure of the seed article (and press) for one 910C package.
const SEED_910C_FLOPS: f64 = 780e12;
/// Dies, cube cores per die and MACs per cycle of the 910C, as in the ini (used to derive the clock).
const C_DIES: f64 = 2.0;
const C_CORES: f64 = 24.0;
const CUBE_MACS: f64 = 4096.0;

/// The DaVinci core of 910B/910C: buffers, data paths and vector rates, the same on every preset.
fn davinci_v220(name: &str, summary: &str) -> ChipSpec {
    let s = |v: f64, src: &str| Sourced::new(v, src);
    ChipSpec {
        name: name.into(),
        summary: summary.into(),
        dies: s(1.0, "placeholder, set by the preset"),
        cube_cores_per_die: s(1.0, "placeholder, set by the preset"),
        vector_cores_per_die: s(1.0, "placeholder, set by the preset"),
        clock_mhz: s(1.0, "placeholder, set by the preset"),
        cube_macs_per_cycle: s(
            CUBE_MACS,
            "16x16x16 bf16 per cycle: CANN ini [DtypeMKN] [O]; Hot Chips 2019 [O]",
        ),
        cube_f32_macs_per_cycle: s(
            CUBE_MACS / 4.0,
            "fp32 matmul at about 1/4 of the bf16 rate (C0 = 8): msmodeling [O], ascend.md",
        ),
        cube_int8_macs_per_cycle: s(
            2.0 * CUBE_MACS,
            "16x32x16 int8 per cycle into int32: CANN ini [DtypeMKN] [O]; Hot Chips 2019 [O]",
        ),
        cube_hf32_macs_per_cycle: s(
            CUBE_MACS / 2.0,
            "assumption: one 16x8x16 fractal per cycle (the fp32 layout, C0 = 8, in a single pass of the \
             reduced mantissa, where the fp32 mode takes two); no published HF32 rate",
        ),
        cube_sustained_fraction: s(
            313.2 / 353.9,
            "ascend-dmi's FP16 compute test: 313.2 TFLOPS of a 910B2's nominal 353.9 with every core busy \
             (mean of 8 Atlas 800T A2 cards at ~365 W [C], FlagPerf), where one 910B1 core alone reaches 98.6% \
             (msKPP [O]); interpretation: the clock the card sustains within its power limit; assumed the \
             same on every preset",
        ),
        mmad_issue_cycles: s(
            16384.0 / 3370.0 - 2.0,
            "msKPP [O]: back-to-back 32x16x16 mmads (2 fractals) reach 3,370 FLOP/cycle, i.e. 4.86 cycles \
             each: 2.86 cycles of issue beyond the fractals",
        ),
        mmad_latency_cycles: s(
            24.0,
            "msKPP [O]: a lone 16x16x16 mmad takes about 25 cycles, one of them the fractal",
        ),
        cross_core_sync_us: s(
            0.5,
            "assumption: about an L2 round trip and a poll; the mechanism is documented (the Cube core writes \
             to global memory and raises a cross-core flag the vector cores wait on: hiascend arch 220x [O], \
             ascend.md) but its latency is not",
        ),
        tile_sync_cycles: s(
            32.0,
            "assumption: a set_flag/wait_flag pair and the loop's scalar work per L1 chunk, about a vector \
             repeat's issue (3 cycles, msKPP [O]) per instruction over ten instructions; pto-dsl PR #73 [O] \
             measures automatic synchronisation 14% slower than manual, so the cost is real but not given",
        ),
        l1_kib: s(512.0, INI),
        l0a_kib: s(64.0, INI),
        l0b_kib: s(64.0, INI),
        l0c_kib: s(128.0, INI),
        ub_kib: s(192.0, INI),
        l2_mib_per_die: s(192.0, INI),
        hbm_gib_per_die: s(64.0, INI),
        hbm_gb_per_s_per_die: s(
            1600.0,
            "1.6 TB/s per die: CANN ini [O]; 910C package 3.2 TB/s [A+O]",
        ),
        hbm_efficiency: s(
            32.0 * 24.0 * 1.8 / 1600.0,
            "CANN ini [O]: 24 cores x 32 B/cycle from HBM x 1.8 GHz = 1.38 TB/s of the nominal 1.6 TB/s \
             (interpretation: what the die's HBM sustains under refresh and bank conflicts); assumed on every \
             preset. Measured streams reach 1.0-1.4 TB/s (pto-dsl, catlass [O])",
        ),
        hbm_write_cost: s(
            2.0,
            "assumption: the L2 allocates on a write miss, so each line written is first read from HBM and \
             later written back (no published L2 policy; a common design, and the one that explains why \
             mixed read/write streams reach less bandwidth than reads alone)",
        ),
        mte2_bytes_per_cycle: s(
            163.0,
            &format!("{MSKPP}; nominal 256, measured 163 with >= 256 KB bursts"),
        ),
        mte2_ub_bytes_per_cycle: s(
            110.0,
            &format!(
                "{MSKPP}; nominal 128, measured 46-110: the top of the range, as the model's copies are large"
            ),
        ),
        mte2_hbm_bytes_per_cycle: s(
            32.0,
            "CANN ini: GM -> L1 32 B/cycle from HBM [O], ascend.md (against 110 from L2): one core's \
             outstanding requests cover HBM's longer latency less well",
        ),
        l2_bytes_per_cycle: s(
            110.0,
            "CANN ini: GM -> L1 110 B/cycle from L2 [O], ascend.md",
        ),
        mte1_l0a_bytes_per_cycle: s(254.0, &format!("{MSKPP}; nominal 256, ini 512")),
        mte1_l0b_bytes_per_cycle: s(127.0, &format!("{MSKPP}; nominal 128, ini 256")),
        fixpipe_bytes_per_cycle: s(123.0, &format!("{MSKPP}; nominal 128")),
        mte3_bytes_per_cycle: s(64.0, &format!("{MSKPP}; ini 64")),
        vec_one_input_bytes_per_cycle: s(256.0, &format!("{MSKPP_VEC}: ~256 for one-input ops")),
        vec_two_input_bytes_per_cycle: s(128.0, &format!("{MSKPP_VEC}: ~128 for two-input ops")),
        vec_transcendental_bytes_per_cycle: s(
            128.0,
            &format!("{MSKPP_VEC}: ~128 for fp32 exp/ln/sqrt"),
        ),
        vec_div_bytes_per_cycle: s(64.0, &format!("{MSKPP_VEC}: 64 for div")),
        vec_reduce_bytes_per_cycle: s(36.0, &format!("{MSKPP_VEC}: ~36 for fp16 reductions")),
        die_link_gb_per_s: s(0.0, "not applicable: one die"),
        die_link_latency_us: s(0.0, "not applicable: one die"),
        launch_overhead_us: s(
            3.0,
            "assumption: no figure in the reference; a kernel launch on the order of a GPU's \
             (a few us), so that tiny ops are overhead-bound as on real hardware; override in a chip file",
        ),
        framework_dispatch_us: s(
            35.0,
            "the small-op floor of measured.md [O]: torch_npu's FlashAttention at S=1024 takes 54-58 us \
             where a hand-written kernel takes 21 us; the difference is host dispatch. Used only where a \
             figure includes framework dispatch",
        ),
        power_w: s(
            350.0,
            "seed article: 350 W per package; Atlas 800T A2 card [C]",
        ),
    }
}

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

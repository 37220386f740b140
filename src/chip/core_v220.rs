//! The DaVinci core of 910B/910C (v220) as a chip spec: buffers, data paths, vector rates and the
//! mechanisms the timing model follows, the same on every preset that starts from it; the presets set
//! the counts, clocks and memory.

use super::{ChipSpec, Sourced};

const INI: &str = "CANN platform config ini [O], ascend.md";
const MSKPP: &str = "msKPP, measured on one 910B1 core [O], ascend.md per-core data paths; \
                     assumed the same DaVinci core on 910B2-4 and 910C";
const MSKPP_VEC: &str = "msKPP profiled vector throughput on one 910B1 vector core [O], ascend.md \
                         (interpretation medium confidence); assumed the same on every preset";
/// The Cube's bf16 MACs per cycle (16x16x16).
pub(super) const CUBE_MACS: f64 = 4096.0;

/// The DaVinci core of 910B/910C: buffers, data paths and vector rates, the same on every preset.
pub(super) fn davinci_v220(name: &str, summary: &str) -> ChipSpec {
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
        gm_load_latency_us: s(
            1.0,
            "assumption: about 1 us from issuing a GM -> UB copy to the vector core seeing its data (the \
             queue's EnQue/DeQue wait); no local figure is published: the CloudMatrix paper measures 1.2 us \
             for a read from another NPU [A], msmodeling models 0.5 us for the link alone [O-model]",
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

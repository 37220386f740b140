//! The GPU presets, every figure with its source. Tags as in the project's reference notes on NVIDIA
//! systems: [O] NVIDIA official, (via 2nd) an official figure seen in a secondary copy, [C] community or
//! first-party engineering measurement, [A] arXiv. Datasheets quote tensor throughput with 2:4 sparsity;
//! every rate here is dense (half the datasheet's sparse figure). Per-SM rates are derived from the
//! dense peak, the SM count and the clock the peak is quoted at, so that `sms x rate x clock` gives the
//! datasheet back and a chip file that adds SMs adds throughput.

use super::GpuSpec;
use crate::sourced::Sourced;

/// The preset names, Hopper first.
pub const NAMES: &[&str] = &["h100-sxm", "h800", "h200", "b200", "gb200"];

pub fn by_name(name: &str) -> Option<GpuSpec> {
    match name {
        "h100-sxm" | "h100" => Some(h100_sxm()),
        "h800" => Some(h800()),
        "h200" => Some(h200()),
        "b200" => Some(b200()),
        "gb200" => Some(gb200()),
        _ => None,
    }
}

fn s(value: f64, source: &str) -> Sourced {
    Sourced::new(value, source)
}

/// A per-SM rate derived from a dense peak.
fn per_sm(dense_tflops: f64, sms: f64, mhz: f64, what: &str) -> Sourced {
    Sourced::new(
        dense_tflops * 1e12 / (sms * mhz * 1e6),
        format!("derived: {what} dense {dense_tflops} T / ({sms} SMs x {mhz} MHz)"),
    )
}

const HOPPER_CLOCK: &str = "1,830 MHz: the clock that reproduces 989.4 TF (1830e6 x 528 tensor cores x 512 FMA x 2); \
     1,980 MHz is the high-precision boost clock [O (via 2nd): Hopper whitepaper; stas00 ml-engineering]";

/// H100 SXM5 80 GB: the base of the Hopper presets.
pub fn h100_sxm() -> GpuSpec {
    let (sms, mhz) = (132.0, 1830.0);
    GpuSpec {
        name: "h100-sxm".into(),
        summary: "NVIDIA H100 SXM5 80 GB (Hopper): 989 TF dense bf16, 3.35 TB/s HBM3, 700 W".into(),
        sms: s(
            sms,
            "132 SMs [O (via 2nd): Hopper whitepaper; stas00 ml-engineering]",
        ),
        clock_mhz: s(mhz, HOPPER_CLOCK),
        bf16_flops_per_sm_cycle: per_sm(989.4, sms, mhz, "bf16 (datasheet 1,979 with sparsity)"),
        fp8_flops_per_sm_cycle: per_sm(1978.9, sms, mhz, "fp8 (3,958 sparse) [O (via 2nd)]"),
        int8_ops_per_sm_cycle: per_sm(1978.9, sms, mhz, "int8 TOPS [O (via 2nd)]"),
        fp4_flops_per_sm_cycle: s(0.0, "none: Hopper's tensor cores have no fp4"),
        tf32_flops_per_sm_cycle: per_sm(494.7, sms, mhz, "tf32 [O (via 2nd)]"),
        fp32_flops_per_sm_cycle: per_sm(
            66.9,
            sms,
            mhz,
            "fp32 non-tensor (datasheet 67) [O (via 2nd)]",
        ),
        tensor_sustained_fraction: s(
            1600.0 / 1830.0,
            "DeepSeek measured Hopper (H800, same GH100 silicon) throttling to ~1,600 MHz under FlashMLA, \
             of the 1,830 MHz the peak is quoted at (FlashMLA docs, new-kernel deep dive) [C]; assumed on \
             every Hopper preset",
        ),
        smem_kib_per_sm: s(
            228.0,
            "up to 228 KB per SM (256 KB combined L1/tex/smem) [O (via 2nd): Hopper tuning guide]",
        ),
        l2_mib: s(50.0, "50 MB [O: Hopper tuning guide as cited by stas00]"),
        hbm_gb: s(80.0, "80 GB HBM3 [O (via 2nd)]"),
        hbm_gb_per_s: s(3350.0, "3.35 TB/s, 5 stacks, 5,120-bit [O (via 2nd)]"),
        hbm_efficiency: s(
            0.9,
            "assumption: 90% of nominal for streaming reads and writes (refresh, bank and turnaround \
             losses); no measurement of it in the project's references",
        ),
        launch_overhead_us: s(
            3.0,
            "assumption: a few us between back-to-back kernels of one stream, the same figure the Ascend \
             presets assume, so that a comparison does not rest on it",
        ),
        power_w: s(700.0, "up to 700 W [O (via 2nd)]"),
        nvlink_gb_per_s: s(
            450.0,
            "NVLink4: 18 links x 50 GB/s = 900 GB/s both ways [O: MLPerf system JSON], 450 each way",
        ),
        nic_gb_per_s: s(
            50.0,
            "ConnectX-7 400 Gb/s InfiniBand NDR, one per GPU [O: MLPerf system JSON] = 50 GB/s each way",
        ),
    }
}

/// H800 SXM5: the H100 for the Chinese market, with NVLink cut to 400 GB/s.
pub fn h800() -> GpuSpec {
    let mut g = h100_sxm();
    g.name = "h800".into();
    g.summary = "NVIDIA H800 SXM5 (Hopper): H100 compute and HBM, NVLink 400 GB/s".into();
    g.sms = s(
        132.0,
        "132 SMs (\"20 out of the 132 SMs available in the H800\", DeepSeek-V3 report, arXiv 2412.19437) [A]",
    );
    g.bf16_flops_per_sm_cycle = per_sm(
        989.0,
        132.0,
        1830.0,
        "bf16 (\"1979 for sparse, 989 for dense\": FlashMLA deep dive) [C]",
    );
    g.hbm_gb_per_s = s(3350.0, "80 GB, 3.35 TB/s (FlashMLA deep dive) [C]");
    g.power_w = s(700.0, "assumption: 700 W as the H100 SXM (not verified)");
    g.nvlink_gb_per_s = s(
        200.0,
        "400 GB/s both ways, 200 each way (DeepSeek ISCA'25, arXiv 2505.09343 s4.1) [P/A]; about 160 \
         achievable (DeepEP README) [C]",
    );
    g.nic_gb_per_s = s(
        50.0,
        "8 x ConnectX-7 400G per node, one per GPU; DeepSeek plans with 40 GB/s effective (ISCA'25 s4.3) [P/A]",
    );
    g
}

/// H200 SXM: Hopper compute with 141 GB of HBM3e.
pub fn h200() -> GpuSpec {
    let mut g = h100_sxm();
    g.name = "h200".into();
    g.summary =
        "NVIDIA H200 SXM (Hopper): 989 TF dense bf16, 141 GB HBM3e at 4.8 TB/s, 700 W".into();
    g.sms = s(132.0, "132 SMs (same GH100 die) [O (via 2nd)]");
    g.hbm_gb = s(141.0, "141 GB HBM3e [O (via 2nd)]");
    g.hbm_gb_per_s = s(4800.0, "4.8 TB/s [O (via 2nd)]");
    g.power_w = s(
        700.0,
        "up to 700 W (MLPerf system JSON \"H200 TGP 700W\") [O]",
    );
    g
}

/// B200 as in HGX/DGX B200 (Blackwell).
pub fn b200() -> GpuSpec {
    // Blackwell doubles Hopper's dense rate per SM (8,192 bf16 FLOP per cycle); the 2,250 TF on the HGX
    // table then implies the clock below, under the 1,965 MHz maximum the device reports.
    let sms = 148.0;
    let mhz = 2250e12 / (sms * 8192.0) / 1e6;
    GpuSpec {
        name: "b200".into(),
        summary: "NVIDIA B200, HGX/DGX (Blackwell): 2,250 TF dense bf16, 180 GB HBM3e at 7.7 TB/s, 1,000 W"
            .into(),
        sms: s(sms, "148 SMs (device query `Number of SMs: 148`, pytorch/ao PR #4002) [C]"),
        clock_mhz: s(
            mhz,
            "derived: 2,250 TF / (148 SMs x 8,192 FLOP per SM per cycle, twice Hopper's 4,096); the device \
             reports a 1,965 MHz maximum (stas00) [C]",
        ),
        bf16_flops_per_sm_cycle: per_sm(
            2250.0,
            sms,
            mhz,
            "bf16 (HGX table 4.5 PF sparse) [O (via 2nd)]",
        ),
        fp8_flops_per_sm_cycle: per_sm(4500.0, sms, mhz, "fp8 (9 PF sparse) [O (via 2nd)]"),
        int8_ops_per_sm_cycle: per_sm(4500.0, sms, mhz, "int8 TOPS (9 POPS sparse) [O (via 2nd)]"),
        fp4_flops_per_sm_cycle: per_sm(9000.0, sms, mhz, "fp4 (18 PF sparse) [O (via 2nd)]"),
        tf32_flops_per_sm_cycle: per_sm(1100.0, sms, mhz, "tf32 (2.2 PF sparse)"),
        fp32_flops_per_sm_cycle: per_sm(
            75.0,
            sms,
            mhz,
            "fp32 non-tensor: 75 on the HGX table (80 in the DGX B200 datasheet) [conflict; the HGX figure]",
        ),
        tensor_sustained_fraction: s(
            1600.0 / 1830.0,
            "assumption: Hopper's measured share (FlashMLA deep dive [C]); no sustained-clock measurement of \
             Blackwell in the references",
        ),
        smem_kib_per_sm: s(
            228.0,
            "228 KB per SM, 48 KB default per block (device query, pytorch/ao #4002) [C]",
        ),
        l2_mib: s(126.0, "126 MB (Blackwell tuning guide) [O (via 2nd)]; 126.5 MB device-reported [C]"),
        hbm_gb: s(180.0, "180 GB HBM3e on the HGX table (192 GB physical or early spec) [O (via 2nd)]"),
        hbm_gb_per_s: s(
            7700.0,
            "7.7 TB/s on the HGX table; device query 7,680-bit x 3,996 MHz = 7.67 TB/s [O (via 2nd) + C]",
        ),
        hbm_efficiency: s(0.9, "assumption: as the Hopper presets (no measurement in the references)"),
        launch_overhead_us: s(3.0, "assumption: as the Hopper presets"),
        power_w: s(
            1000.0,
            "up to 1,000 W max TGP (DGX B200 power-capping doc, default set-point 700 W) [O (via 2nd)]",
        ),
        nvlink_gb_per_s: s(900.0, "NVLink5: 18 links x 100 GB/s = 1.8 TB/s both ways [O], 900 each way"),
        nic_gb_per_s: s(
            50.0,
            "DGX B200: 8 x single-port ConnectX-7, up to 400 Gb/s IB, one per GPU [O] = 50 GB/s",
        ),
    }
}

/// The Blackwell GPU of a GB200 superchip, as in the GB200 NVL72.
pub fn gb200() -> GpuSpec {
    let mut g = b200();
    let sms = 148.0;
    let mhz = 2500e12 / (sms * 8192.0) / 1e6;
    g.name = "gb200".into();
    g.summary =
        "NVIDIA Blackwell GPU of a GB200 (NVL72): 2,500 TF dense bf16, 186 GB HBM3e at 8 TB/s, 1,200 W"
            .into();
    g.sms = s(
        sms,
        "assumption: the B200's 148 (the same Blackwell GPU at a higher power limit; the 152 that appears \
         only in a unit-test mock is low-confidence [C]); the clock this implies matches the 2,062 MHz the \
         device reports",
    );
    g.clock_mhz = s(
        mhz,
        "derived: 2,500 TF / (148 SMs x 8,192 FLOP per SM per cycle); the device reports a 2,062 MHz \
         maximum (stas00) [C]",
    );
    g.bf16_flops_per_sm_cycle = per_sm(2500.0, sms, mhz, "bf16 (5 PF sparse) [O (via 2nd)]");
    g.fp8_flops_per_sm_cycle = per_sm(5000.0, sms, mhz, "fp8 (10 PF sparse) [O (via 2nd)]");
    g.int8_ops_per_sm_cycle = per_sm(5000.0, sms, mhz, "int8 TOPS (10 POPS sparse) [O (via 2nd)]");
    g.fp4_flops_per_sm_cycle = per_sm(10000.0, sms, mhz, "fp4 (20 PF sparse) [O (via 2nd)]");
    g.tf32_flops_per_sm_cycle = per_sm(1250.0, sms, mhz, "tf32 (2.5 PF sparse)");
    g.fp32_flops_per_sm_cycle = per_sm(
        80.0,
        sms,
        mhz,
        "fp32 non-tensor: 80 on the current NVL72 table (90 on earlier specs) [conflict; the current]",
    );
    g.smem_kib_per_sm = s(
        228.0,
        "assumption: the B200's 228 KB per block (256 KB combined L1/smem per SM, Blackwell tuning guide \
         [O (via 2nd)])",
    );
    g.hbm_gb = s(186.0, "186 GB HBM3e (earlier 192 GB) [O (via 2nd)]");
    g.hbm_gb_per_s = s(8000.0, "8 TB/s [O (via 2nd)]");
    g.power_w = s(1200.0, "configurable up to 1,200 W [O (via 2nd)]");
    g.nvlink_gb_per_s = s(
        900.0,
        "1.8 TB/s both ways in one 72-GPU NVLink domain [O (via 2nd)], 900 each way",
    );
    g.nic_gb_per_s = s(
        50.0,
        "4 x ConnectX-7 / BlueField-3 per 4-GPU tray (MLPerf system JSON) [O]: one 400G NIC per GPU",
    );
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::GpuDtype;

    #[test]
    fn presets_give_their_datasheets_dense_peaks_back() {
        let want = [
            ("h100-sxm", 989.4, 1978.9),
            ("h800", 989.0, 1978.9),
            ("h200", 989.4, 1978.9),
            ("b200", 2250.0, 4500.0),
            ("gb200", 2500.0, 5000.0),
        ];
        for (name, bf16, fp8) in want {
            let g = by_name(name).unwrap();
            g.validate().unwrap();
            let got = |d| g.peak(d).unwrap().0 / 1e12;
            assert!((got(GpuDtype::Bf16) / bf16 - 1.0).abs() < 1e-9, "{name}");
            assert!((got(GpuDtype::Fp8) / fp8 - 1.0).abs() < 1e-9, "{name}");
            for f in crate::gpu::FIELDS {
                assert!(
                    g.field(f.key).unwrap().source.len() > 8,
                    "{name}: {}",
                    f.key
                );
            }
        }
        let e = h100_sxm().peak(GpuDtype::Fp4).unwrap_err().to_string();
        assert!(
            e.contains("h100-sxm has no fp4") && e.contains("tf32"),
            "{e}"
        );
    }
}

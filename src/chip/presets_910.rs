//! The original Ascend 910 (2019, DaVinci v100) in its four bins. Unlike 910B/910C, each DaVinci core
//! holds the Cube and the Vector unit together, and there is no FixPipe: a matmul's L0C drains through the
//! Vector unit into UB and out by MTE3. Buffers and L2 differ too (L1 1 MiB, L0C 256 KiB, L2 32 MiB).
//!
//! What the reference gives (ascend.md, [O] and HPCA 2021 [P]): 32 combined cores at 1000-1220 MHz,
//! 256 TFLOPS fp16 / 512 TOPS int8, 32 GB HBM2, 32 MiB L2, 350 W. It does not split the clock range by
//! bin, nor give the HBM bandwidth: those are assumptions, named in each field.

use super::core_v220::davinci_v220;
use super::{ChipSpec, Sourced};

/// How the bins differ.
#[derive(Clone, Copy)]
pub struct Bin {
    name: &'static str,
    cores: f64,
    clock_mhz: f64,
    clock_source: &'static str,
}

const HPCA: &str = "Ascend 910: 32 DaVinci cores, 256 TFLOPS fp16 [O; P: HPCA 2021], ascend.md; the clock at the bottom of \
                    its 1000-1220 MHz range (32 x 4096 x 2 x 1 GHz = 262 TFLOPS, the published 256 rounded)";

pub const A: Bin = Bin {
    name: "910a",
    cores: 32.0,
    clock_mhz: 1000.0,
    clock_source: HPCA,
};
pub const PRO_A: Bin = Bin {
    name: "910pro-a",
    cores: 32.0,
    clock_mhz: 1000.0,
    clock_source: "assumption: the reference gives 1000-1220 MHz for the 910 without splitting it by bin; \
                   a Pro A at the base clock",
};
pub const PREMIUM_A: Bin = Bin {
    name: "910premium-a",
    cores: 32.0,
    clock_mhz: 1220.0,
    clock_source: "assumption: the top of the reference's 1000-1220 MHz range (320 TFLOPS) for the premium bin",
};
pub const PRO_B: Bin = Bin {
    name: "910pro-b",
    cores: 30.0,
    clock_mhz: 1000.0,
    clock_source: "assumption: 30 cores (the issue's '32 or 30') at the base clock",
};

const V100: &str = "original DaVinci core (Hot Chips 2019 [O]), as the issue quotes it";

/// A bin by preset name.
pub fn by_name(name: &str) -> Option<ChipSpec> {
    [A, PRO_A, PREMIUM_A, PRO_B]
        .into_iter()
        .find(|b| b.name == name)
        .map(ascend_910)
}

/// One bin of the original 910.
pub fn ascend_910(b: Bin) -> ChipSpec {
    let s = |v: f64, src: &str| Sourced::new(v, src);
    let mut c = davinci_v220(
        b.name,
        &format!(
            "Ascend 910 (2019) {}: {} combined DaVinci cores at {} MHz, no FixPipe (L0C drains through UB)",
            b.name, b.cores, b.clock_mhz
        ),
    );
    c.dies = s(1.0, "one compute die [O; P: HPCA 2021]");
    c.cube_cores_per_die = s(
        b.cores,
        "combined cores: one Cube per core, ascend.md Chips table",
    );
    c.vector_cores_per_die = s(
        b.cores,
        "combined cores: one Vector unit in each DaVinci core (no separate AIV), ascend.md",
    );
    c.clock_mhz = s(b.clock_mhz, b.clock_source);
    c.l1_kib = s(1024.0, V100);
    c.l0c_kib = s(256.0, V100);
    c.ub_kib = s(
        256.0,
        "assumption: the v100 core's UB as 256 KiB (not in the reference)",
    );
    c.l2_mib_per_die = s(32.0, "32 MiB L2, ascend.md Chips table");
    c.hbm_gib_per_die = s(32.0, "32 GB HBM2, ascend.md Chips table");
    c.hbm_gb_per_s_per_die = s(
        1200.0,
        "assumption: four HBM2 stacks at about 300 GB/s each; the reference gives the capacity only",
    );
    c.fixpipe_bytes_per_cycle = s(
        64.0,
        "no FixPipe on the v100 core: L0C drains through the Vector unit into UB and out by MTE3, so the \
         drain runs at MTE3's 64 B/cycle (ini, as on 910B) [assumption: the same MTE3]",
    );
    c.mte1_l0a_bytes_per_cycle = s(
        254.0,
        "assumption: the v220 core's measured MTE1 rates (msKPP [O]) on the v100 core",
    );
    c.cross_core_sync_us = s(
        0.0,
        "combined cores: the Cube and the Vector unit share a core, so a hand-off is local",
    );
    c.cube_sustained_fraction = s(
        1.0,
        "assumption: no sustained-clock measurement of the original 910 in the reference",
    );
    c.hbm_efficiency = s(
        0.86,
        "assumption: as the 910B's (CANN ini 32 B/cycle x 24 cores of 1.6 TB/s)",
    );
    c.power_w = s(350.0, "350 W [O; P: HPCA 2021], ascend.md");
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_910_meets_its_published_peaks_and_has_combined_cores() {
        let a = ascend_910(A);
        assert!((a.peak_bf16().0 / 1e12 - 262.1).abs() < 0.1);
        assert_eq!(a.peak(crate::CubeFormat::Int8).0, 2.0 * a.peak_bf16().0);
        assert_eq!(a.vector_cores_per_die(), a.cube_cores_per_die());
        let p = ascend_910(PREMIUM_A);
        assert!(p.peak_bf16().0 / 1e12 < 320.0 && p.peak_bf16().0 / 1e12 > 315.0);
        assert_eq!(ascend_910(PRO_B).cube_cores_per_die(), 30);
        for b in [A, PRO_A, PREMIUM_A, PRO_B] {
            ascend_910(b).validate().unwrap();
        }
    }
}

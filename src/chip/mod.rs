//! The chip model as data: a [`ChipSpec`] holds every number the timing model uses, each with the source
//! it came from (a [`Sourced`] value), so a prediction can always say where its inputs came from. Presets
//! (`910c`, `910c-cann`, `910b1`-`910b4`, and the original 910's bins `910a`, `910pro-a`, `910premium-a`,
//! `910pro-b`) live in [`presets`]; custom chips are read from TOML by
//! [`ChipSpec::from_toml`] (see [`file`]). Field names carry their unit (`_mhz`, `_kib`, `_bytes_per_cycle`)
//! because that is how they are written in a chip file; the typed accessors ([`ChipSpec::clock`],
//! [`ChipSpec::peak_bf16`], ...) turn them into [`crate::units`].

mod core_v220;
pub mod file;
pub mod presets;
mod presets_910;
mod validate;

pub(crate) use validate::implausible;

use crate::program::format::CubeFormat;
pub use crate::sourced::{Field, Kind, Sourced};
use crate::units::{Bytes, BytesPerSec, FlopsPerSec, Hertz, Nanos, Watts};
use crate::{Error, Result};

macro_rules! chip_fields {
    ($( $field:ident : $kind:ident, $unit:literal, $doc:literal; )*) => {
        /// An Ascend chip as the timing model sees it. Every number is a [`Sourced`] value.
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct ChipSpec {
            /// Short name (`910c`), used on the command line.
            pub name: String,
            /// One line on what the chip is and which figures it follows.
            pub summary: String,
            $( #[doc = $doc] pub $field: Sourced, )*
        }

        /// Every numeric field of [`ChipSpec`], in declaration order.
        pub const FIELDS: &[Field] = &[
            $( Field { key: stringify!($field), unit: $unit, kind: Kind::$kind, doc: $doc }, )*
        ];

        impl ChipSpec {
            /// The field named `key`, if there is one.
            pub fn field(&self, key: &str) -> Option<&Sourced> {
                match key {
                    $( stringify!($field) => Some(&self.$field), )*
                    _ => None,
                }
            }

            /// The field named `key`, for a chip file to overwrite.
            pub fn field_mut(&mut self, key: &str) -> Option<&mut Sourced> {
                match key {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

chip_fields! {
    dies: Count, "", "Dies (chiplets) per package; each has its own AI cores, L2 and HBM.";
    cube_cores_per_die: Count, "", "AI cores per die, counted by their Cube core (AIC).";
    vector_cores_per_die: Count, "", "Vector cores (AIV) per die, two per AI core on 910B/910C.";
    clock_mhz: Positive, "MHz", "AI core clock.";
    cube_macs_per_cycle: Count, "MAC/cycle", "bf16 multiply-accumulates per Cube core per cycle (16x16x16).";
    cube_f32_macs_per_cycle: Count, "MAC/cycle", "f32 multiply-accumulates per Cube core per cycle (fp32 mode).";
    cube_int8_macs_per_cycle: Count, "MAC/cycle", "int8 multiply-accumulates per Cube core per cycle (16x32x16, int32 accumulation).";
    cube_hf32_macs_per_cycle: Count, "MAC/cycle", "HF32 multiply-accumulates per Cube core per cycle (f32 operands, reduced mantissa).";
    cube_sustained_fraction: Fraction, "", "Share of the nominal Cube rate the chip sustains with every Cube core busy (power-limited clock).";
    mmad_issue_cycles: NonNegative, "cycles", "Issue cost of one mmad instruction beyond its fractals, when mmads follow each other.";
    mmad_latency_cycles: NonNegative, "cycles", "Latency of one mmad, paid where the Cube waits for its operands (the start of each output tile).";
    gm_load_latency_us: NonNegative, "us", "A vector core's copy from global memory into its unified buffer that the core waits on before computing (load to use), beyond the bytes' transfer.";
    cross_core_sync_us: NonNegative, "us", "One hand-off between the Cube and the vector cores through global memory (a write to L2 and a flag the other side polls).";
    tile_sync_cycles: NonNegative, "cycles", "Scalar and flag work per L1 chunk of K (set_flag/wait_flag between MTE2, MTE1 and the Cube).";
    l1_kib: Positive, "KiB", "L1 buffer per AI core (A1/B1).";
    l0a_kib: Positive, "KiB", "L0A buffer per AI core (left operand of the Cube).";
    l0b_kib: Positive, "KiB", "L0B buffer per AI core (right operand of the Cube).";
    l0c_kib: Positive, "KiB", "L0C buffer per AI core (f32 accumulators).";
    ub_kib: Positive, "KiB", "Unified buffer per vector core.";
    l2_mib_per_die: Positive, "MiB", "L2 cache per die.";
    hbm_gib_per_die: Positive, "GiB", "HBM capacity per die.";
    hbm_gb_per_s_per_die: Positive, "GB/s", "HBM bandwidth per die, shared by its cores (nominal).";
    hbm_efficiency: Fraction, "", "Share of the nominal HBM bandwidth that streams achieve (refresh, bank and turnaround losses).";
    hbm_write_cost: Positive, "", "HBM bytes moved per byte written (2 with a write-allocate L2: the line is read, then written back).";
    mte2_bytes_per_cycle: Positive, "B/cycle", "MTE2 port of one AI core, GM -> L1.";
    mte2_hbm_bytes_per_cycle: Positive, "B/cycle", "MTE2 of one AI core, GM -> L1 for bytes that miss L2 and come from HBM.";
    mte2_ub_bytes_per_cycle: Positive, "B/cycle", "MTE2 port of one vector core, GM -> UB (CopyIn).";
    l2_bytes_per_cycle: Positive, "B/cycle", "L2 read rate per AI core; the die's L2 serves cores x this.";
    mte1_l0a_bytes_per_cycle: Positive, "B/cycle", "MTE1, L1 -> L0A.";
    mte1_l0b_bytes_per_cycle: Positive, "B/cycle", "MTE1, L1 -> L0B.";
    fixpipe_bytes_per_cycle: Positive, "B/cycle", "FixPipe, L0C -> GM (with the epilogue).";
    mte3_bytes_per_cycle: Positive, "B/cycle", "MTE3 of one vector core, UB -> GM (CopyOut).";
    vec_one_input_bytes_per_cycle: Positive, "B/cycle", "Vector: one-input ops (scalar mul/add, relu, casts), input bytes.";
    vec_two_input_bytes_per_cycle: Positive, "B/cycle", "Vector: two-input ops (add, sub, mul, max), input bytes.";
    vec_transcendental_bytes_per_cycle: Positive, "B/cycle", "Vector: f32 exp, ln, sqrt, input bytes.";
    vec_div_bytes_per_cycle: Positive, "B/cycle", "Vector: division, input bytes.";
    vec_reduce_bytes_per_cycle: Positive, "B/cycle", "Vector: reductions along a row, input bytes.";
    die_link_gb_per_s: NonNegative, "GB/s", "Die-to-die link bandwidth, each way (0 for one die).";
    die_link_latency_us: NonNegative, "us", "Die-to-die link latency.";
    launch_overhead_us: NonNegative, "us", "Fixed cost of launching one kernel on the device.";
    framework_dispatch_us: NonNegative, "us", "Host cost of dispatching one op through a framework (torch_npu), where the host is the bottleneck.";
    power_w: Positive, "W", "Package power at full load.";
}

const KIB: f64 = 1024.0;

impl ChipSpec {
    /// A preset by name (see [`presets::NAMES`]).
    pub fn preset(name: &str) -> Result<ChipSpec> {
        presets::by_name(name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown chip '{name}': the presets are {}; or give a path to a chip .toml file (the \
                 NVIDIA GPUs {} are taken by `davinci chips` and `davinci predict matmul|op`)",
                presets::NAMES.join(", "),
                crate::gpu::presets::NAMES.join(", ")
            ))
        })
    }

    /// Every preset, the default first.
    pub fn presets() -> Vec<ChipSpec> {
        presets::NAMES
            .iter()
            .filter_map(|n| presets::by_name(n))
            .collect()
    }

    /// The default chip, `910c`.
    pub fn default_chip() -> ChipSpec {
        presets::ascend_910c()
    }

    /// A preset name, or else a path to a chip TOML file (a name ending in `.toml`, or an existing file).
    pub fn resolve(name_or_path: &str) -> Result<ChipSpec> {
        if let Some(chip) = presets::by_name(name_or_path) {
            return Ok(chip);
        }
        let path = std::path::Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || crate::files::names_a_file(path) {
            return file::load(path);
        }
        Self::preset(name_or_path)
    }

    pub fn dies(&self) -> usize {
        self.dies.value as usize
    }

    pub fn cube_cores_per_die(&self) -> usize {
        self.cube_cores_per_die.value as usize
    }

    pub fn vector_cores_per_die(&self) -> usize {
        self.vector_cores_per_die.value as usize
    }

    pub fn clock(&self) -> Hertz {
        Hertz(self.clock_mhz.value * 1e6)
    }

    /// Dense bf16 peak of the package: dies x cube cores x MACs per cycle x 2 FLOP x clock.
    pub fn peak_bf16(&self) -> FlopsPerSec {
        FlopsPerSec(
            self.dies.value
                * self.cube_cores_per_die.value
                * self.cube_macs_per_cycle.value
                * 2.0
                * self.clock().0,
        )
    }

    /// The Cube's multiply-accumulates per core per cycle in `format` (fp16 at the bf16 rate: the same
    /// 16x16x16 fractal, CANN ini `[DtypeMKN]`; fp8 widened to bf16, see `CubeFormat`).
    pub fn cube_macs(&self, format: CubeFormat) -> f64 {
        match format {
            CubeFormat::Bf16 | CubeFormat::Fp16 => self.cube_macs_per_cycle.value,
            CubeFormat::Fp8E4M3 | CubeFormat::Fp8E5M2 => self.cube_macs_per_cycle.value,
            CubeFormat::Int8 => self.cube_int8_macs_per_cycle.value,
            CubeFormat::Hf32 => self.cube_hf32_macs_per_cycle.value,
            CubeFormat::Fp32 => self.cube_f32_macs_per_cycle.value,
        }
    }

    /// The Cube's rate in `format` with every core busy: the peak times [`Self::cube_sustained_fraction`].
    pub fn sustained_peak(&self, format: CubeFormat) -> FlopsPerSec {
        FlopsPerSec(self.peak(format).0 * self.cube_sustained_fraction.value)
    }

    /// One Vector unit per Cube core, in the same core (the original DaVinci core of the 910): the two
    /// cannot work on different tiles at once, and hand-offs stay in the core.
    pub fn combined_cores(&self) -> bool {
        self.vector_cores_per_die.value == self.cube_cores_per_die.value
    }

    /// The share of its nominal rate each Cube core keeps with `busy` of the package's Cube cores at work:
    /// [`Self::cube_sustained_fraction`] with all of them, falling linearly with the share busy
    /// (assumption: the power that limits the clock grows with the busy cores).
    pub fn cube_derate(&self, busy: usize) -> f64 {
        let all = self.dies() * self.cube_cores_per_die();
        crate::perf::power_derate(self.cube_sustained_fraction.value, busy, all)
    }

    /// Achievable HBM bandwidth per die: nominal x efficiency.
    pub fn hbm_achievable_per_die(&self) -> BytesPerSec {
        BytesPerSec(self.hbm_bw_per_die().0 * self.hbm_efficiency.value)
    }

    /// Dense peak of the package in `format` (operations per second: TOPS for int8).
    pub fn peak(&self, format: CubeFormat) -> FlopsPerSec {
        FlopsPerSec(self.peak_bf16().0 * self.cube_macs(format) / self.cube_macs_per_cycle.value)
    }

    pub fn hbm_bw_per_die(&self) -> BytesPerSec {
        BytesPerSec(self.hbm_gb_per_s_per_die.value * 1e9)
    }

    /// HBM bandwidth of the whole package.
    pub fn hbm_bw(&self) -> BytesPerSec {
        self.hbm_bw_per_die() * self.dies.value
    }

    pub fn hbm_capacity(&self) -> Bytes {
        Bytes(self.hbm_gib_per_die.value * self.dies.value * KIB * KIB * KIB)
    }

    /// L2 read bandwidth of one die: its cores x the per-core L2 rate.
    pub fn l2_bw_per_die(&self) -> BytesPerSec {
        self.per_cycle(self.l2_bytes_per_cycle.value * self.cube_cores_per_die.value)
    }

    pub fn l2_capacity_per_die(&self) -> Bytes {
        Bytes(self.l2_mib_per_die.value * KIB * KIB)
    }

    pub fn die_link_bw(&self) -> BytesPerSec {
        BytesPerSec(self.die_link_gb_per_s.value * 1e9)
    }

    pub fn die_link_latency(&self) -> Nanos {
        Nanos(self.die_link_latency_us.value * 1e3)
    }

    pub fn launch_overhead(&self) -> Nanos {
        Nanos(self.launch_overhead_us.value * 1e3)
    }

    pub fn power(&self) -> Watts {
        Watts(self.power_w.value)
    }

    /// A per-core rate in bytes per cycle as a bandwidth.
    pub fn per_cycle(&self, bytes_per_cycle: f64) -> BytesPerSec {
        BytesPerSec(bytes_per_cycle * self.clock().0)
    }

    /// A buffer size given in KiB, in bytes.
    pub fn kib(s: &Sourced) -> Bytes {
        Bytes(s.value * KIB)
    }
}

impl Default for ChipSpec {
    fn default() -> Self {
        Self::default_chip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_source_and_every_preset_validates() {
        for chip in ChipSpec::presets() {
            chip.validate().unwrap();
            for f in FIELDS {
                let s = chip.field(f.key).unwrap();
                assert!(s.source.len() > 8, "{}: {} has no source", chip.name, f.key);
            }
        }
    }

    #[test]
    fn unknown_preset_lists_the_presets() {
        let e = ChipSpec::preset("h100").unwrap_err().to_string();
        assert!(e.contains("910c") && e.contains("910b4"), "{e}");
    }
}

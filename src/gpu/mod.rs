//! NVIDIA GPUs for the comparison with the 910C, in GPU terms: streaming multiprocessors (SMs) with
//! tensor cores, shared memory per SM (the role L1/L0 play on a DaVinci core), an L2 shared by all SMs,
//! HBM, and NVLink. A [`GpuSpec`] holds every number the GPU timing model uses, each a
//! [`crate::chip::Sourced`] value with its source ([`presets`]: `h100-sxm`, `h800`, `h200`, `b200`,
//! `gb200`). The timing model is in [`gemm`] (CTA tiles in waves over the SMs) and [`predict`] (a
//! recorded program op by op); the mechanisms it shares with the Ascend model are in [`crate::perf`].

pub mod attention;
pub mod gemm;
pub mod predict;
pub mod presets;

use std::str::FromStr;

use crate::sourced::{Field, Kind, Sourced};
use crate::units::{Bytes, BytesPerSec, FlopsPerSec, Nanos, Watts};
use crate::{Error, Result};

macro_rules! gpu_fields {
    ($( $field:ident : $kind:ident, $unit:literal, $doc:literal; )*) => {
        /// An NVIDIA GPU as the timing model sees it. Every number is a [`Sourced`] value.
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct GpuSpec {
            /// Short name (`h100-sxm`), used on the command line.
            pub name: String,
            /// One line on what the GPU is.
            pub summary: String,
            $( #[doc = $doc] pub $field: Sourced, )*
        }

        /// Every numeric field of [`GpuSpec`], in declaration order.
        pub const FIELDS: &[Field] = &[
            $( Field { key: stringify!($field), unit: $unit, kind: Kind::$kind, doc: $doc }, )*
        ];

        impl GpuSpec {
            /// The field named `key`, if there is one.
            pub fn field(&self, key: &str) -> Option<&Sourced> {
                match key {
                    $( stringify!($field) => Some(&self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

gpu_fields! {
    sms: Count, "", "Streaming multiprocessors enabled.";
    clock_mhz: Positive, "MHz", "SM clock at which the dense tensor peaks are quoted.";
    bf16_flops_per_sm_cycle: Positive, "FLOP/cycle", "Dense bf16 (and fp16) tensor-core FLOPs per SM per cycle.";
    fp8_flops_per_sm_cycle: NonNegative, "FLOP/cycle", "Dense fp8 tensor-core FLOPs per SM per cycle (0: none).";
    int8_ops_per_sm_cycle: NonNegative, "OP/cycle", "Dense int8 tensor-core operations per SM per cycle (0: none).";
    fp4_flops_per_sm_cycle: NonNegative, "FLOP/cycle", "Dense fp4 tensor-core FLOPs per SM per cycle (0: none).";
    tf32_flops_per_sm_cycle: NonNegative, "FLOP/cycle", "Dense tf32 tensor-core FLOPs per SM per cycle (0: none).";
    fp32_flops_per_sm_cycle: Positive, "FLOP/cycle", "FP32 FLOPs per SM per cycle on the CUDA cores (no tensor cores).";
    tensor_sustained_fraction: Fraction, "", "Share of the quoted clock the GPU sustains with every SM's tensor cores busy (power limit).";
    smem_kib_per_sm: Positive, "KiB", "Shared memory one thread block may use per SM (CTA tiles' operand stages).";
    l2_mib: Positive, "MiB", "L2 cache shared by all SMs.";
    hbm_gb: Positive, "GB", "HBM capacity, as the vendor labels it.";
    hbm_gb_per_s: Positive, "GB/s", "HBM bandwidth (nominal).";
    hbm_efficiency: Fraction, "", "Share of the nominal HBM bandwidth that streams achieve.";
    launch_overhead_us: NonNegative, "us", "Fixed cost of one kernel launch, back to back on a stream.";
    power_w: Positive, "W", "Board power at full load (TDP / TGP).";
    nvlink_gb_per_s: NonNegative, "GB/s", "NVLink bandwidth per GPU, each way (datasheets quote both ways).";
    nic_gb_per_s: NonNegative, "GB/s", "Scale-out NIC bandwidth per GPU, each way.";
}

/// The operand formats of a GPU matmul, each at the GPU's own tensor-core rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum GpuDtype {
    Bf16,
    Fp16,
    Fp8,
    Int8,
    Fp4,
    Tf32,
    /// FP32 on the CUDA cores (SGEMM).
    Fp32,
}

impl GpuDtype {
    pub const ALL: [GpuDtype; 7] = [
        GpuDtype::Bf16,
        GpuDtype::Fp16,
        GpuDtype::Fp8,
        GpuDtype::Int8,
        GpuDtype::Fp4,
        GpuDtype::Tf32,
        GpuDtype::Fp32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GpuDtype::Bf16 => "bf16",
            GpuDtype::Fp16 => "fp16",
            GpuDtype::Fp8 => "fp8",
            GpuDtype::Int8 => "int8",
            GpuDtype::Fp4 => "fp4",
            GpuDtype::Tf32 => "tf32",
            GpuDtype::Fp32 => "fp32",
        }
    }

    /// Bytes per operand element (tf32 and fp32 operands are stored as f32).
    pub fn bytes(self) -> f64 {
        match self {
            GpuDtype::Bf16 | GpuDtype::Fp16 => 2.0,
            GpuDtype::Fp8 | GpuDtype::Int8 => 1.0,
            GpuDtype::Fp4 => 0.5,
            GpuDtype::Tf32 | GpuDtype::Fp32 => 4.0,
        }
    }

    /// "TOPS" for int8, "TFLOPS" otherwise.
    pub fn rate_unit(self) -> &'static str {
        match self {
            GpuDtype::Int8 => "TOPS",
            _ => "TFLOPS",
        }
    }
}

impl FromStr for GpuDtype {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.to_ascii_lowercase();
        let s = match s.as_str() {
            "f16" => "fp16",
            "f32" => "fp32",
            "e4m3" | "e5m2" | "fp8_e4m3" | "fp8_e5m2" => "fp8",
            other => other,
        };
        if s == "hf32" {
            return Err(Error::Usage(
                "hf32 is the Ascend Cube's reduced f32; on an NVIDIA GPU the tensor cores' is tf32"
                    .into(),
            ));
        }
        GpuDtype::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = GpuDtype::ALL.iter().map(|d| d.name()).collect();
                Error::Usage(format!(
                    "unknown GPU matmul dtype '{s}'; the dtypes are {}",
                    names.join(", ")
                ))
            })
    }
}

impl GpuSpec {
    /// A preset by name (see [`presets::NAMES`]).
    pub fn preset(name: &str) -> Option<GpuSpec> {
        presets::by_name(name)
    }

    /// Every preset.
    pub fn presets() -> Vec<GpuSpec> {
        presets::NAMES
            .iter()
            .filter_map(|n| presets::by_name(n))
            .collect()
    }

    pub fn sms(&self) -> usize {
        self.sms.value as usize
    }

    pub fn clock_hz(&self) -> f64 {
        self.clock_mhz.value * 1e6
    }

    /// One SM's rate in `dtype` at the quoted clock; an error names a dtype the GPU lacks.
    pub fn sm_rate(&self, dtype: GpuDtype) -> Result<FlopsPerSec> {
        let per_cycle = self.per_sm_cycle(dtype);
        if per_cycle <= 0.0 {
            return Err(Error::Invalid(format!(
                "{} has no {} tensor-core mode; its dtypes are {}",
                self.name,
                dtype.name(),
                self.dtypes()
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(FlopsPerSec(per_cycle * self.clock_hz()))
    }

    /// The matmul dtypes this GPU has.
    pub fn dtypes(&self) -> Vec<GpuDtype> {
        GpuDtype::ALL
            .into_iter()
            .filter(|&d| self.per_sm_cycle(d) > 0.0)
            .collect()
    }

    /// Dense operations per SM per cycle in `d` (0 where the GPU lacks it).
    fn per_sm_cycle(&self, d: GpuDtype) -> f64 {
        match d {
            GpuDtype::Bf16 | GpuDtype::Fp16 => self.bf16_flops_per_sm_cycle.value,
            GpuDtype::Fp8 => self.fp8_flops_per_sm_cycle.value,
            GpuDtype::Int8 => self.int8_ops_per_sm_cycle.value,
            GpuDtype::Fp4 => self.fp4_flops_per_sm_cycle.value,
            GpuDtype::Tf32 => self.tf32_flops_per_sm_cycle.value,
            GpuDtype::Fp32 => self.fp32_flops_per_sm_cycle.value,
        }
    }

    /// Dense peak in `dtype`: SMs x per-SM rate (the datasheet's dense figure for a preset).
    pub fn peak(&self, dtype: GpuDtype) -> Result<FlopsPerSec> {
        Ok(self.sm_rate(dtype)? * self.sms.value)
    }

    pub fn hbm_bw(&self) -> BytesPerSec {
        BytesPerSec(self.hbm_gb_per_s.value * 1e9)
    }

    pub fn hbm_achievable(&self) -> BytesPerSec {
        self.hbm_bw() * self.hbm_efficiency.value
    }

    pub fn hbm_capacity(&self) -> Bytes {
        Bytes(self.hbm_gb.value * 1e9)
    }

    pub fn l2_capacity(&self) -> Bytes {
        Bytes(self.l2_mib.value * 1024.0 * 1024.0)
    }

    pub fn smem_per_sm(&self) -> Bytes {
        Bytes(self.smem_kib_per_sm.value * 1024.0)
    }

    pub fn launch_overhead(&self) -> Nanos {
        Nanos(self.launch_overhead_us.value * 1e3)
    }

    pub fn power(&self) -> Watts {
        Watts(self.power_w.value)
    }

    /// Checks every field against its kind, naming the first that does not fit.
    pub fn validate(&self) -> Result<()> {
        for f in FIELDS {
            let v = self.field(f.key).map_or(f64::NAN, |s| s.value);
            let ok = v.is_finite()
                && match f.kind {
                    Kind::Count => v >= 1.0 && v.fract() == 0.0,
                    Kind::Positive => v > 0.0,
                    Kind::NonNegative => v >= 0.0,
                    Kind::Fraction => v > 0.0 && v <= 1.0,
                };
            if !ok {
                return Err(Error::Invalid(format!(
                    "GPU '{}': {} = {v} is not {} ({})",
                    self.name,
                    f.key,
                    match f.kind {
                        Kind::Count => "a whole number >= 1",
                        Kind::Positive => "a number above 0",
                        Kind::NonNegative => "a number >= 0",
                        Kind::Fraction => "a share in (0, 1]",
                    },
                    f.doc
                )));
            }
        }
        Ok(())
    }
}

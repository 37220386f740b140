//! Where the CPU executor's host time goes: [`ProfiledCpu`] runs programs as [`CpuExecutor`] does and
//! keeps each op's wall time, and [`HostProfile`] sums it by the unit whose twin ran the op (Cube, Vector,
//! MTE), so that a report can say how much of a run the Vector unit's ops cost on this host.

use std::sync::Mutex;

use super::{Executor, cpu};
use crate::Result;
use crate::program::{Op, Program};
use crate::tensor::Tensor;

/// Per-op host times of CPU runs, in program order (runs appended one after another).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostProfile {
    /// (kernel name, seconds) of each op run.
    pub ops: Vec<(&'static str, f64)>,
}

/// The unit a kernel's twin stands for: `cube` (matmuls with their fused epilogues), `mte` (data
/// movement), `vector` (everything else: elementwise, rows, rope and casts run on the Vector unit).
pub fn unit_of(kernel: &str) -> &'static str {
    if kernel.starts_with("cube_") {
        "cube"
    } else if kernel.starts_with("mte_") {
        "mte"
    } else {
        "vector"
    }
}

impl HostProfile {
    /// Seconds in all.
    pub fn total_s(&self) -> f64 {
        self.ops.iter().map(|o| o.1).sum()
    }

    /// Seconds spent in the ops of `unit` (see [`unit_of`]).
    pub fn unit_s(&self, unit: &str) -> f64 {
        (self.ops.iter())
            .filter(|o| unit_of(o.0) == unit)
            .map(|o| o.1)
            .sum()
    }

    /// The share of the host time spent in `unit`'s ops; 0 for an empty profile.
    pub fn share(&self, unit: &str) -> f64 {
        let total = self.total_s();
        if total > 0.0 {
            self.unit_s(unit) / total
        } else {
            0.0
        }
    }
}

/// The CPU executor, keeping each op's host time ([`ProfiledCpu::take`]).
#[derive(Debug, Default)]
pub struct ProfiledCpu {
    profile: Mutex<HostProfile>,
}

impl ProfiledCpu {
    pub fn new() -> Self {
        Self::default()
    }

    /// The times kept so far, leaving the profile empty.
    pub fn take(&self) -> HostProfile {
        std::mem::take(&mut *self.profile.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Executor for ProfiledCpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn run(&self, program: &Program, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        let mut times = Vec::with_capacity(program.ops().len());
        let out = cpu::run_timed(program, inputs, |op: &Op, t| {
            times.push((op.kernel_name(), t.as_secs_f64()))
        })?;
        let mut p = self.profile.lock().unwrap_or_else(|e| e.into_inner());
        p.ops.extend(times);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CpuExecutor, DType, UnaryFn};

    #[test]
    fn a_profiled_run_gives_the_same_bits_and_one_time_per_op() {
        let mut p = Program::new();
        let a = p.input("a", [32, 48], DType::Bf16);
        let b = p.input("b", [48, 16], DType::Bf16);
        let c = p
            .cube_matmul(a, b, crate::program::MatmulOptions::default())
            .unwrap();
        let y = p.unary(UnaryFn::Exp, c, DType::Bf16).unwrap();
        p.output(y).unwrap();
        let ta = crate::tensor::random::gen_bf16(1, [32, 48], 1.0);
        let tb = crate::tensor::random::gen_bf16(2, [48, 16], 1.0);
        let exec = ProfiledCpu::new();
        let got = exec.run(&p, &[&ta, &tb]).unwrap();
        let want = CpuExecutor.run(&p, &[&ta, &tb]).unwrap();
        assert_eq!(got[0].bits(), want[0].bits());
        let prof = exec.take();
        let kernels: Vec<_> = prof.ops.iter().map(|o| o.0).collect();
        assert_eq!(kernels, ["cube_matmul", "vector_unary"]);
        assert_eq!(prof.unit_s("cube"), prof.ops[0].1);
        assert_eq!(prof.unit_s("vector"), prof.ops[1].1);
        assert_eq!(prof.unit_s("mte"), 0.0);
        assert!(exec.take().ops.is_empty(), "take empties the profile");
    }

    #[test]
    fn kernels_sort_into_units_and_shares_are_fractions() {
        for (kernel, unit) in [
            ("cube_matmul", "cube"),
            ("mte_permute", "mte"),
            ("mte_copy", "mte"),
            ("vector_softmax", "vector"),
            ("vector_rope", "vector"),
            ("cast_f32_bf16", "vector"),
        ] {
            assert_eq!(unit_of(kernel), unit, "{kernel}");
        }
        let p = HostProfile {
            ops: vec![
                ("cube_matmul", 3.0),
                ("vector_unary", 1.0),
                ("mte_gather", 0.5),
                ("cube_matmul", 0.5),
            ],
        };
        assert_eq!(p.total_s(), 5.0);
        assert_eq!(p.share("cube"), 0.7);
        assert_eq!(p.share("vector"), 0.2);
        assert_eq!(p.share("mte"), 0.1);
        assert_eq!(
            HostProfile::default().share("vector"),
            0.0,
            "an empty profile gives 0, not NaN"
        );
    }
}

//! One kernel by shape ([`Kernel`]), recorded into a one-op [`Program`] and timed with
//! [`crate::sched::predict`] on a rank's chip; [`Timer`] caches the time of each distinct shape.

use std::collections::HashMap;

use crate::Result;
use crate::accel::Accelerator;
use crate::program::{BinaryFn, MatmulOptions, Program, ReduceFn, UnaryFn};
use crate::sched::flash::FlashProblem;
use crate::tensor::DType;
use crate::units::Nanos;

/// One kernel, by shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `[batch, m, k] x [batch, k, n]` (or one `[k, n]` weight shared by the batch: `shared_b`).
    /// A matmul; `int8`: W8A8 (int8 operands into int32, dequantised to bf16 by FixPipe).
    Matmul {
        int8: bool,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        shared_b: bool,
    },
    Norm {
        rows: usize,
        cols: usize,
    },
    Softmax {
        rows: usize,
        cols: usize,
    },
    /// SiLU or GELU.
    Act {
        rows: usize,
        cols: usize,
    },
    /// An elementwise product or sum of two tensors.
    Mul {
        rows: usize,
        cols: usize,
    },
    Rope {
        tokens: usize,
        heads: usize,
        dim: usize,
    },
    /// W8A8's per-token dynamic quantisation of a matmul's input on the Vector unit.
    Quant {
        rows: usize,
        cols: usize,
    },
    /// A fused attention (FlashAttention), timed by [`crate::sched::flash`]: the scores never reach HBM.
    Attention(FlashProblem),
    /// Gradient accumulation outside the matmul: a bf16 weight gradient added into the fp32 main
    /// gradient (`rows x cols` parameters), once per micro-batch.
    GradAdd {
        rows: usize,
        cols: usize,
    },
}

impl Kernel {
    /// Matmul FLOPs (vector ops are not counted as model FLOPs).
    pub fn flops(&self) -> f64 {
        match *self {
            Kernel::Matmul { batch, m, k, n, .. } => 2.0 * (batch * m) as f64 * k as f64 * n as f64,
            // Model FLOPs count the whole score matrix, causal or not (Megatron's convention); the kernel
            // itself skips the masked blocks.
            Kernel::Attention(a) => {
                2.0 * (a.heads * a.sq) as f64 * a.skv as f64 * (a.d + a.dv) as f64
            }
            _ => 0.0,
        }
    }

    /// The backward pass's time over the forward's, at the forward's efficiency. A matmul computes the
    /// gradients of its input and of its weight, two matmuls of its own size (Narayanan et al. 2021, the
    /// standard count). The fused attention's backward runs five matmuls of the score matrix's size against
    /// the forward's two (it recomputes `Q K^T`, then `dV`, `dP`, `dQ` and `dK`), so 2.5 times: Dao 2023,
    /// FlashAttention-2, section 4.1, counts its backward FLOPs as 2.5 times the forward's for this reason. The Vector unit's ops: twice (assumption: a backward pass reads the
    /// forward's input and the incoming gradient and writes one gradient, about twice the forward's traffic).
    pub fn backward_factor(&self) -> f64 {
        match self {
            Kernel::Attention(_) => 2.5,
            _ => 2.0,
        }
    }

    /// Elements of the result.
    pub fn out_elems(&self) -> f64 {
        match *self {
            Kernel::Matmul { batch, m, n, .. } => (batch * m) as f64 * n as f64,
            Kernel::Norm { rows, cols }
            | Kernel::Softmax { rows, cols }
            | Kernel::Act { rows, cols }
            | Kernel::Mul { rows, cols }
            | Kernel::GradAdd { rows, cols }
            | Kernel::Quant { rows, cols } => rows as f64 * cols as f64,
            Kernel::Rope { tokens, heads, dim } => (tokens * heads) as f64 * dim as f64,
            // The output (the row statistics it also keeps are negligible beside it).
            Kernel::Attention(a) => (a.heads * a.sq) as f64 * a.dv as f64,
        }
    }

    pub fn is_matmul(&self) -> bool {
        matches!(self, Kernel::Matmul { .. })
    }

    /// The kernel's time on `chip`: recorded as a one-op program and predicted, or, for the fused
    /// attention that has no program op, timed by its own model.
    pub fn time(&self, chip: &Accelerator) -> Result<Nanos> {
        match self {
            Kernel::Attention(a) => chip.time_attention(a),
            _ => chip.time_program(&self.program()?),
        }
    }

    /// The kernel as a one-op program of bf16 tensors (the fused attention has none: an error).
    pub fn program(&self) -> Result<Program> {
        let bf = DType::Bf16;
        let mut p = Program::new();
        let out = match *self {
            Kernel::Matmul {
                int8,
                batch,
                m,
                k,
                n,
                shared_b,
            } => {
                let dt = if int8 { DType::I8 } else { bf };
                let a = if batch > 1 {
                    p.input("a", [batch, m, k], dt)
                } else {
                    p.input("a", [m, k], dt)
                };
                let b = if batch > 1 && !shared_b {
                    p.input("b", [batch, k, n], dt)
                } else {
                    p.input("b", [k, n], dt)
                };
                let opts = MatmulOptions {
                    dtype_out: bf,
                    ..MatmulOptions::default()
                };
                if int8 {
                    let channel = p.input("channel scale", [n], DType::F32);
                    let rows = if batch > 1 { vec![batch, m] } else { vec![m] };
                    let token = p.input("token scale", crate::Shape::new(rows), DType::F32);
                    let dq = crate::program::Dequant {
                        channel,
                        token: Some(token),
                    };
                    p.cube_matmul_dequant(a, b, opts, dq, Default::default())?
                } else {
                    p.cube_matmul(a, b, opts)?
                }
            }
            // The Vector passes a per-token quantisation runs: the row's amax, the division by the row's
            // scale, the cast to int8 (the scale's own 1/127 is a [rows] op, left out). Timed only: the
            // values of this recording are not the quantised tensor.
            Kernel::Quant { rows, cols } => {
                let x = p.input("x", [rows, cols], bf);
                let amax = p.reduce(ReduceFn::Amax, x, DType::F32)?;
                let amax = p.reshape(amax, [rows, 1])?;
                let scaled = p.binary(BinaryFn::Div, x, amax, DType::F32)?;
                p.cast(scaled, DType::I8)?
            }
            Kernel::Norm { rows, cols } => {
                let x = p.input("x", [rows, cols], bf);
                p.rmsnorm(x, None, 1e-6, bf)?
            }
            Kernel::Softmax { rows, cols } => {
                let x = p.input("x", [rows, cols], bf);
                p.softmax(x, None, bf)?
            }
            Kernel::Act { rows, cols } => {
                let x = p.input("x", [rows, cols], bf);
                p.unary(UnaryFn::Silu, x, bf)?
            }
            Kernel::Mul { rows, cols } => {
                let x = p.input("x", [rows, cols], bf);
                let y = p.input("y", [rows, cols], bf);
                p.binary(BinaryFn::Mul, x, y, bf)?
            }
            Kernel::GradAdd { rows, cols } => {
                let g = p.input("grad", [rows, cols], bf);
                let main = p.input("main grad", [rows, cols], DType::F32);
                p.binary(BinaryFn::Add, main, g, DType::F32)?
            }
            Kernel::Rope { tokens, heads, dim } => {
                let x = p.input("x", [tokens, heads, dim], bf);
                let cos = p.input("cos", [tokens, dim / 2], DType::F32);
                let sin = p.input("sin", [tokens, dim / 2], DType::F32);
                p.rope(x, cos, sin, bf)?
            }
            Kernel::Attention(_) => {
                return Err(crate::Error::Invalid(
                    "the fused attention kernel has no program op; it is timed by sched::flash"
                        .into(),
                ));
            }
        };
        p.output(out)?;
        Ok(p)
    }
}

/// Times kernels on one chip, each distinct shape once.
pub struct Timer {
    pub chip: Accelerator,
    cache: HashMap<Kernel, Nanos>,
    /// Kernels predicted (cache misses), for benches and reports.
    pub predicted: usize,
}

impl Timer {
    pub fn new(chip: Accelerator) -> Result<Timer> {
        chip.validate()?;
        Ok(Timer {
            chip,
            cache: HashMap::new(),
            predicted: 0,
        })
    }

    pub fn time(&mut self, k: &Kernel) -> Result<Nanos> {
        if let Some(t) = self.cache.get(k) {
            return Ok(*t);
        }
        let t = k.time(&self.chip)?;
        self.predicted += 1;
        self.cache.insert(*k, t);
        Ok(t)
    }
}

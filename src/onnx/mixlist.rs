//! `allow_mix_precision_bf16` as ATC applies it: its trustlist, blocklist and graylist. CANN's
//! `--modify_mixlist` documentation describes the mechanism: an op on the trustlist is reduced from
//! float32 to the low-precision type, an op on the blocklist keeps float32, and an op on the graylist
//! "follows the same precision processing as its upstream operator". The lists themselves live in each
//! SoC's `aic-*-ops-info.json` (`precision_reduce.flag`), which this project does not have, so their
//! contents here are an assumption, stated as one:
//! - trustlist: the Cube's ops (MatMul, Gemm): bf16 operands, bf16 results (f32 accumulation inside);
//! - blocklist: the ops whose rounding a bf16 result would hurt: Exp, Log, Sqrt, Reciprocal, Pow, Erf,
//!   Softmax, LogSoftmax, the norms, and the sums and means of reductions: f32 results;
//! - graylist: everything else (elementwise arithmetic, Relu, Tanh, Sigmoid, GELU, Max/Min, data
//!   movement): bf16 when every computed input is bf16, else f32. Constants do not count: ATC converts
//!   a weight offline to whatever its reader computes in.
//!
//! Data movement keeps its input's dtype by construction (a reshape or permute of bf16 moves bf16), so a
//! head transpose between two matmuls moves half the bytes, and a cast is recorded only where a bf16 op
//! reads an f32 value, once per value ([`Lowering::cube_operand`]).

use super::attrs::Precision;
use super::lower::Lowering;
use crate::Result;
use crate::program::{TensorId, UnaryFn};
use crate::tensor::DType;

/// Whether a unary op is on the graylist (else the blocklist).
pub fn unary_is_gray(f: UnaryFn) -> bool {
    matches!(
        f,
        UnaryFn::Neg
            | UnaryFn::Abs
            | UnaryFn::Relu
            | UnaryFn::Tanh
            | UnaryFn::Sigmoid
            | UnaryFn::Silu
            | UnaryFn::Gelu
            | UnaryFn::GeluTanh
    )
}

impl Lowering<'_> {
    /// The result dtype of a graylist op reading `inputs`.
    pub(super) fn gray(&self, inputs: &[TensorId]) -> Result<DType> {
        if self.precision != Precision::AllowMixBf16 {
            return Ok(self.act);
        }
        let mut computed = inputs
            .iter()
            .filter(|id| !self.consts.contains(id))
            .peekable();
        if computed.peek().is_none() {
            return Ok(DType::F32);
        }
        for &id in computed {
            if self.g.program.desc(id)?.dtype != DType::Bf16 {
                return Ok(DType::F32);
            }
        }
        Ok(DType::Bf16)
    }

    /// The result dtype of a unary op on `x`, by its list.
    pub(super) fn unary_dtype(&self, f: UnaryFn, x: TensorId) -> Result<DType> {
        if unary_is_gray(f) {
            self.gray(&[x])
        } else {
            Ok(self.act)
        }
    }

    /// The dtype of the Cube's results: bf16 wherever its operands are (a trustlist op), else f32.
    pub(super) fn cube_out(&self) -> DType {
        match self.precision.cube_bf16() {
            true => DType::Bf16,
            false => DType::F32,
        }
    }

    /// `x` in dtype `dt`, cast if it is not (the parts of a Concat, which must share one dtype).
    pub(super) fn in_dtype(&mut self, x: TensorId, dt: DType) -> Result<TensorId> {
        if self.g.program.desc(x)?.dtype == dt {
            return Ok(x);
        }
        if dt == DType::Bf16 {
            return self.bf16_once(x);
        }
        self.g.program.cast(x, dt)
    }

    /// `x` as a Cube operand: cast to bf16 where the Cube runs in bf16, once per value (the Q, K and V
    /// projections of one normalised input share one cast).
    pub(super) fn cube_operand(&mut self, x: TensorId) -> Result<TensorId> {
        if !self.precision.cube_bf16() {
            return Ok(x);
        }
        self.bf16_once(x)
    }

    /// `x` in bf16, cast once per value.
    fn bf16_once(&mut self, x: TensorId) -> Result<TensorId> {
        if self.g.program.desc(x)?.dtype == DType::Bf16 {
            return Ok(x);
        }
        if let Some(&c) = self.bf16_of.get(&x) {
            return Ok(c);
        }
        let c = self.g.program.cast(x, DType::Bf16)?;
        self.bf16_of.insert(x, c);
        Ok(c)
    }
}

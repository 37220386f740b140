//! MatMul and Gemm in [`super::lower`]: numpy's rules (1-D operands, broadcast batch dimensions) folded
//! into the Cube's `[M, K] x [K, N]` or `[batch, M, K] x [batch, K, N]`, weights converted on the host as
//! ATC converts them offline, and a fused scale, bias and activation in the matmul's epilogue.

use super::attrs;
use super::initializer::Initializer;
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{
    Activation, BinaryFn, Epilogue, MatmulOptions, Program, Rounding, TensorId, UnaryFn,
};
use crate::reference::cast_formats::cast_formats;
use crate::tensor::{DType, Shape, Tensor};

/// A scale (`Div` or `Mul` by a constant), a bias (a constant's name) and an activation fused into a
/// matmul.
pub(super) type FusedTail<'a> = (Option<(BinaryFn, f32)>, Option<&'a str>, Activation);

impl Lowering<'_> {
    /// MatMul (numpy semantics for rank >= 2 with a 2-D or equally batched B) and Gemm (2-D, alpha =
    /// beta = 1, optional transposes and bias C); `fused` is a scale and a bias from the nodes that
    /// follow, put in the epilogue (a bias that is not `[N]` is added after instead).
    pub(super) fn matmul(&mut self, gemm: bool, fused: Option<FusedTail<'_>>) -> Result<TensorId> {
        let n = self.node;
        let a = self.arg(0)?;
        let b_name = self
            .input_name(1)
            .ok_or_else(|| self.err("input B is missing"))?
            .to_string();
        let (trans_a, trans_b) = if gemm {
            (
                attrs::int(n, "transA") == Some(1),
                attrs::int(n, "transB") == Some(1),
            )
        } else {
            (false, false)
        };
        // Gemm's alpha scales the product in the epilogue; beta scales C before it is added.
        let (alpha, beta) = match gemm {
            true => (
                attrs::float(n, "alpha").unwrap_or(1.0),
                attrs::float(n, "beta").unwrap_or(1.0),
            ),
            false => (1.0, 1.0),
        };
        if !alpha.is_finite() || !beta.is_finite() {
            return Err(self.err(format!("alpha {alpha} and beta {beta} must be finite")));
        }
        // The weight converted on the host (as ATC converts it offline), the activation in the program.
        let bf16 = self.precision.cube_bf16();
        let b = match self.val(&b_name)? {
            Val::Host(Initializer::Tensor(t)) if bf16 => {
                let data = cast_formats(t.data(), DType::Bf16, Rounding::Nearest, 0);
                self.g.constant(
                    format!("{b_name} (bf16)"),
                    Tensor::new(t.shape().clone(), data)?,
                )
            }
            _ => {
                let id = self.dev(&b_name)?;
                self.cube_operand(id)?
            }
        };
        let a = self.cube_operand(a)?;
        let (a, b) = (a, b);
        let (mut ad, mut bd) = (self.dims(a)?, self.dims(b)?);
        if ad.is_empty() || bd.is_empty() || gemm && (ad.len() != 2 || bd.len() != 2) {
            return Err(self.err(format!(
                "A {} and B {}: {} takes {}",
                Shape::new(ad),
                Shape::new(bd),
                if gemm { "Gemm" } else { "MatMul" },
                if gemm {
                    "2-D operands"
                } else {
                    "operands of rank >= 1"
                }
            )));
        }
        // numpy's 1-D operands: A [k] is the row [1, k], B [k] the column [k, 1]; the added dimension is
        // dropped from the result.
        let (a_vec, b_vec) = (ad.len() == 1, bd.len() == 1);
        let a = if a_vec {
            ad.insert(0, 1);
            self.g.program.reshape(a, Shape::new(ad.clone()))?
        } else {
            a
        };
        let b = if b_vec {
            bd.push(1);
            self.g.program.reshape(b, Shape::new(bd.clone()))?
        } else {
            b
        };
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            dtype_out: self.cube_out(),
            ..MatmulOptions::default()
        };
        let n_out = if trans_b {
            bd[bd.len() - 2]
        } else {
            bd[bd.len() - 1]
        };
        let (scale, bias_name, activation) = match fused {
            Some((s, b, act)) => (s, b.map(str::to_string), act),
            None if gemm => (
                None,
                self.input_name(2).map(str::to_string),
                Activation::None,
            ),
            None => (None, None, Activation::None),
        };
        let mut epilogue = Epilogue {
            scale: scale.map(|(f, c)| if f == BinaryFn::Div { 1.0 / c } else { c }),
            activation,
            ..Epilogue::default()
        };
        if alpha != 1.0 {
            epilogue.scale = Some(alpha);
        }
        let mut late_bias = None;
        if let Some(name) = bias_name {
            let mut id = self.dev(&name)?;
            if beta != 1.0 {
                let b = self
                    .g
                    .constant(format!("{name} (beta)"), Tensor::from_f32([1], vec![beta])?);
                let dt = self.gray(&[id])?;
                id = self.g.program.binary(BinaryFn::Mul, id, b, dt)?;
            }
            if self.dims(id)? == [n_out] {
                epilogue.bias = Some(id);
            } else {
                // A bias that broadcasts otherwise is added after, and the activation after it.
                late_bias = Some(id);
                epilogue.activation = Activation::None;
            }
        }
        let out = if gemm {
            self.g.program.cube_matmul_fused(a, b, opts, epilogue)?
        } else {
            let (ra, rb) = (ad.len(), bd.len());
            let (m, k, n) = (ad[ra - 2], ad[ra - 1], bd[rb - 1]);
            let batch = super::fold::broadcast(&ad[..ra - 2], &bd[..rb - 2]).ok_or_else(|| {
                self.err(format!(
                    "the batch dimensions of A {} and B {} do not broadcast",
                    Shape::new(ad.clone()),
                    Shape::new(bd.clone())
                ))
            })?;
            let mut od = batch.clone();
            od.extend([m, n]);
            let c = if bd[..rb - 2].iter().product::<usize>() == 1 {
                let p = &mut self.g.program;
                // B is one matrix: the leading dimensions of A fold into its rows.
                let b2 = view(p, b, &[bd[rb - 2], n])?;
                let rows: usize = ad[..ra - 1].iter().product();
                let flat = view(p, a, &[rows, k])?;
                p.cube_matmul_fused(flat, b2, opts, epilogue)?
            } else {
                // Batched: each operand broadcast to the common batch (a copy only where one grows),
                // then one batched matmul over [lead, rows, cols].
                let lead: usize = batch.iter().product();
                let (mut ab, mut bb) = (batch.clone(), batch.clone());
                ab.extend([m, k]);
                bb.extend([bd[rb - 2], n]);
                let ae = self.expand_dev(a, &ab)?;
                let be = self.expand_dev(b, &bb)?;
                let p = &mut self.g.program;
                let a3 = view(p, ae, &[lead, m, k])?;
                let b3 = view(p, be, &[lead, bd[rb - 2], n])?;
                p.cube_matmul_fused(a3, b3, opts, epilogue)?
            };
            if a_vec {
                od.remove(od.len() - 2);
            }
            if b_vec {
                od.pop();
            }
            view(&mut self.g.program, c, &od)?
        };
        let Some(c) = late_bias else { return Ok(out) };
        let dt = self.gray(&[out, c])?;
        let out = self.g.program.binary(BinaryFn::Add, out, c, dt)?;
        match activation_fn(activation) {
            Some(f) => {
                let dt = self.unary_dtype(f, out)?;
                self.g.program.unary(f, out, dt)
            }
            None => Ok(out),
        }
    }
}

/// The Vector unit's function for an epilogue activation (`None` for none).
pub(super) fn activation_fn(a: Activation) -> Option<UnaryFn> {
    match a {
        Activation::None => None,
        Activation::Relu => Some(UnaryFn::Relu),
        Activation::Gelu => Some(UnaryFn::Gelu),
        Activation::GeluTanh => Some(UnaryFn::GeluTanh),
        Activation::Silu => Some(UnaryFn::Silu),
    }
}

/// `x` as a tensor of `dims`: a reshape (a view), recorded only where the dimensions change.
fn view(p: &mut Program, x: TensorId, dims: &[usize]) -> Result<TensorId> {
    if p.desc(x)?.shape.dims() == dims {
        return Ok(x);
    }
    p.reshape(x, Shape::new(dims.to_vec()))
}

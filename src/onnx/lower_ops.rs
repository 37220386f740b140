//! The ops of [`super::lower`]: one arm per ONNX op, with MatMul/Gemm's batching and the reductions in
//! helpers of their own, each checking what it takes and naming the node when it refuses.

use super::attrs::{self, Precision};
use super::fuse::Fused;
use super::initializer::{Initializer, decode};
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{BinaryFn, Epilogue, MatmulOptions, ReduceFn, Rounding, TensorId, UnaryFn};

/// A scale (`Div` or `Mul` by a constant) and a bias (a constant's name) fused into a matmul.
type FusedTail<'a> = (Option<(BinaryFn, f32)>, Option<&'a str>);
use crate::reference::cast_formats::cast_formats;
use crate::tensor::{DType, Shape, Tensor};

impl Lowering<'_> {
    pub(super) fn lower_node(&mut self) -> Result<()> {
        let n = self.node;
        let op = n.op_type.as_deref().unwrap_or("");
        let f32 = DType::F32;
        if self.lower_shape(op)? {
            return Ok(());
        }
        let out = match op {
            "Constant" => {
                let t = attrs::tensor(n, "value").ok_or_else(|| {
                    self.err("only the 'value' form of Constant is taken in this part")
                })?;
                let v = decode(t, &self.dir)?;
                let name = n.output.first().cloned().unwrap_or_default();
                self.vals.insert(name, Val::Host(v));
                return Ok(());
            }
            "Identity" => {
                let v = self.val(self.input_name(0).unwrap_or(""))?;
                let name = n.output.first().cloned().unwrap_or_default();
                self.vals.insert(name, v);
                return Ok(());
            }
            "MatMul" => self.matmul(false, None)?,
            "Gemm" => self.matmul(true, None)?,
            "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" => {
                let f = match op {
                    "Add" => BinaryFn::Add,
                    "Sub" => BinaryFn::Sub,
                    "Mul" => BinaryFn::Mul,
                    "Div" => BinaryFn::Div,
                    "Max" => BinaryFn::Max,
                    _ => BinaryFn::Min,
                };
                if n.input.len() != 2 {
                    return Err(self.err("takes exactly two inputs here"));
                }
                // Shape arithmetic and masks built from host inputs fold on the host.
                let folded = match (self.host(0, "A"), self.host(1, "B")) {
                    (Ok(a @ Initializer::Int64 { .. }), Ok(b @ Initializer::Int64 { .. })) => {
                        Some(super::fold_ops::int_binary(op, &a, &b))
                    }
                    (Ok(a @ Initializer::Tensor(_)), Ok(b @ Initializer::Tensor(_))) => {
                        Some(super::fold_ops::float_binary(f, &a, &b))
                    }
                    _ => None,
                };
                if let Some(v) = folded {
                    let v = v.map_err(|e| self.err(e))?;
                    self.set_host(v);
                    return Ok(());
                }
                let (a, b) = (self.arg(0)?, self.arg(1)?);
                self.g.program.binary(f, a, b, f32)?
            }
            "Relu" | "Tanh" | "Sigmoid" | "Exp" | "Log" | "Sqrt" | "Neg" | "Abs" | "Reciprocal"
            | "Erf" | "Gelu" => {
                let f = match op {
                    "Relu" => UnaryFn::Relu,
                    "Tanh" => UnaryFn::Tanh,
                    "Sigmoid" => UnaryFn::Sigmoid,
                    "Exp" => UnaryFn::Exp,
                    "Log" => UnaryFn::Log,
                    "Sqrt" => UnaryFn::Sqrt,
                    "Neg" => UnaryFn::Neg,
                    "Abs" => UnaryFn::Abs,
                    "Reciprocal" => UnaryFn::Recip,
                    "Erf" => UnaryFn::Erf,
                    _ => match attrs::string(n, "approximate").as_deref() {
                        None | Some("none") => UnaryFn::Gelu,
                        Some("tanh") => UnaryFn::GeluTanh,
                        Some(a) => {
                            return Err(self.err(format!("approximate='{a}' is not a GELU form")));
                        }
                    },
                };
                let x = self.arg(0)?;
                self.g.program.unary(f, x, f32)?
            }
            "Softmax" | "LogSoftmax" => {
                let x = self.arg(0)?;
                let rank = self.dims(x)?.len();
                let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(-1), rank)?;
                self.along_last(x, axis, |p, x| {
                    if op == "Softmax" {
                        p.softmax(x, None, f32)
                    } else {
                        log_softmax(p, x)
                    }
                })?
            }
            "Clip" => {
                let mut x = self.arg(0)?;
                for (i, f) in [(1, BinaryFn::Max), (2, BinaryFn::Min)] {
                    if self.input_name(i).is_some() {
                        let bound = self.arg(i)?;
                        x = self.g.program.binary(f, x, bound, f32)?;
                    }
                }
                x
            }
            "Pow" => {
                let x = self.arg(0)?;
                let e = match self.host(1, "exponent")? {
                    Initializer::Tensor(t) if t.numel() == 1 => t.data().f32_at(0),
                    v => {
                        return Err(self.err(format!(
                            "the exponent must be one constant number, got {} {:?}",
                            v.type_name(),
                            v.dims()
                        )));
                    }
                };
                let p = &mut self.g.program;
                match e {
                    1.0 => x,
                    2.0 => p.binary(BinaryFn::Mul, x, x, f32)?,
                    3.0 => {
                        let sq = p.binary(BinaryFn::Mul, x, x, f32)?;
                        p.binary(BinaryFn::Mul, sq, x, f32)?
                    }
                    0.5 => p.unary(UnaryFn::Sqrt, x, f32)?,
                    -0.5 => p.unary(UnaryFn::Rsqrt, x, f32)?,
                    -1.0 => p.unary(UnaryFn::Recip, x, f32)?,
                    _ => {
                        return Err(self.err(format!(
                            "exponent {e}: the importer takes the exponents 1, 2, 3, 0.5, -0.5 and -1"
                        )));
                    }
                }
            }
            "SimplifiedLayerNormalization" => {
                let x = self.arg(0)?;
                let rank = self.dims(x)?.len();
                let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(-1), rank)?;
                if axis + 1 != rank {
                    return Err(self.err("only normalisation over the last axis is taken"));
                }
                let gamma = self.arg(1)?;
                let eps = attrs::float(n, "epsilon").unwrap_or(1e-5);
                self.g.program.rmsnorm(x, Some(gamma), eps, f32)?
            }
            "LayerNormalization" => {
                let x = self.arg(0)?;
                let rank = self.dims(x)?.len();
                let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(-1), rank)?;
                if axis + 1 != rank
                    || n.output.len() > 1 && n.output[1..].iter().any(|o| !o.is_empty())
                {
                    return Err(self
                        .err("only normalisation over the last axis, with one output, is taken"));
                }
                let gamma = self.arg(1)?;
                let beta = if self.input_name(2).is_some() {
                    Some(self.arg(2)?)
                } else {
                    None
                };
                let eps = attrs::float(n, "epsilon").unwrap_or(1e-5);
                self.g.program.layernorm(x, Some(gamma), beta, eps, f32)?
            }
            "ReduceMean" | "ReduceSum" | "ReduceMax" => self.reduce(op)?,
            "Transpose" => {
                let x = self.arg(0)?;
                let rank = self.dims(x)?.len();
                let perm: Vec<usize> = match attrs::ints(n, "perm") {
                    Some(p) => p
                        .iter()
                        .map(|&a| attrs::axis(n, a, rank))
                        .collect::<Result<_>>()?,
                    None => (0..rank).rev().collect(),
                };
                self.g.program.permute(x, &perm)?
            }
            "Reshape" => {
                let x = self.arg(0)?;
                let shape = self
                    .host_ints(1)?
                    .ok_or_else(|| self.err("its shape input is missing"))?;
                let dims = self.dims(x)?;
                let target = reshape_dims(&dims, &shape, attrs::int(n, "allowzero") == Some(1))
                    .map_err(|e| self.err(e))?;
                self.g.program.reshape(x, Shape::new(target))?
            }
            _ => return Err(self.err("is not lowered (it should have been refused up front)")),
        };
        self.set(0, out)
    }

    /// A node that starts a fusion ([`super::fuse`]): its fused op, under the name of the pattern's result.
    pub(super) fn lower_fused(&mut self, f: &Fused) -> Result<()> {
        let (id, out) = match f {
            Fused::Linear { scale, bias, out } => {
                (self.matmul(false, Some((*scale, bias.as_deref())))?, out)
            }
            Fused::Gelu { x, out } => {
                let x = self.dev(x)?;
                (self.g.program.unary(UnaryFn::Gelu, x, DType::F32)?, out)
            }
            Fused::Absorbed => return Ok(()),
        };
        self.vals.insert(out.clone(), Val::Dev(id));
        Ok(())
    }

    /// MatMul (numpy semantics for rank >= 2 with a 2-D or equally batched B) and Gemm (2-D, alpha =
    /// beta = 1, optional transposes and bias C); `fused` is a scale and a bias from the nodes that
    /// follow, put in the epilogue (a bias that is not `[N]` is added after instead).
    fn matmul(&mut self, gemm: bool, fused: Option<FusedTail<'_>>) -> Result<TensorId> {
        let n = self.node;
        let a = self.arg(0)?;
        let b_name = self
            .input_name(1)
            .ok_or_else(|| self.err("input B is missing"))?
            .to_string();
        let (trans_a, trans_b) = if gemm {
            for (k, d) in [("alpha", 1.0), ("beta", 1.0)] {
                if attrs::float(n, k).unwrap_or(d) != 1.0 {
                    return Err(self.err(format!("{k} other than 1 is not taken")));
                }
            }
            (
                attrs::int(n, "transA") == Some(1),
                attrs::int(n, "transB") == Some(1),
            )
        } else {
            (false, false)
        };
        // The weight converted on the host (as ATC converts it offline), the activation in the program.
        let bf16 = self.precision == Precision::AllowMixBf16;
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
                if bf16 {
                    self.g.program.cast(id, DType::Bf16)?
                } else {
                    id
                }
            }
        };
        let a = if bf16 {
            self.g.program.cast(a, DType::Bf16)?
        } else {
            a
        };
        let (ad, bd) = (self.dims(a)?, self.dims(b)?);
        if ad.len() < 2 || bd.len() < 2 {
            return Err(self.err(format!(
                "A {} and B {}: 1-D operands (vector products) are the next part",
                Shape::new(ad),
                Shape::new(bd)
            )));
        }
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            dtype_out: DType::F32,
            ..MatmulOptions::default()
        };
        let n_out = if trans_b {
            bd[bd.len() - 2]
        } else {
            bd[bd.len() - 1]
        };
        let (scale, bias_name) = match fused {
            Some((s, b)) => (s, b.map(str::to_string)),
            None if gemm => (None, self.input_name(2).map(str::to_string)),
            None => (None, None),
        };
        let mut epilogue = Epilogue {
            scale: scale.map(|(f, c)| if f == BinaryFn::Div { 1.0 / c } else { c }),
            ..Epilogue::default()
        };
        let mut late_bias = None;
        if let Some(name) = bias_name {
            let id = self.dev(&name)?;
            if self.dims(id)? == [n_out] {
                epilogue.bias = Some(id);
            } else {
                late_bias = Some(id);
            }
        }
        let p = &mut self.g.program;
        let out = if gemm || (ad.len() == 2 && bd.len() == 2) {
            p.cube_matmul_fused(a, b, opts, epilogue)?
        } else if bd.len() == 2 && ad.len() >= 2 {
            // Leading dimensions of A fold into its rows.
            let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
            let rows: usize = ad[..ad.len() - 1].iter().product();
            let flat = p.reshape(a, [rows, k])?;
            let c = p.cube_matmul_fused(flat, b, opts, epilogue)?;
            let mut od = ad[..ad.len() - 2].to_vec();
            od.extend([m, bd[1]]);
            p.reshape(c, Shape::new(od))?
        } else if ad.len() == bd.len() && ad[..ad.len() - 2] == bd[..bd.len() - 2] {
            let lead: usize = ad[..ad.len() - 2].iter().product();
            let r = ad.len();
            let a3 = p.reshape(a, [lead, ad[r - 2], ad[r - 1]])?;
            let b3 = p.reshape(b, [lead, bd[r - 2], bd[r - 1]])?;
            let c = p.cube_matmul_fused(a3, b3, opts, epilogue)?;
            let mut od = ad[..r - 2].to_vec();
            od.extend([ad[r - 2], bd[r - 1]]);
            p.reshape(c, Shape::new(od))?
        } else {
            return Err(self.err(format!(
                "A {} and B {}: broadcasting batch dimensions is the next part",
                Shape::new(ad),
                Shape::new(bd)
            )));
        };
        match late_bias {
            Some(c) => self.g.program.binary(BinaryFn::Add, out, c, DType::F32),
            None => Ok(out),
        }
    }

    /// ReduceMean/Sum/Max over any axes (from the attribute, or the input since opset 18 / 13 for
    /// ReduceSum; all axes when none are given), one axis at a time, each brought last; keepdims as asked.
    fn reduce(&mut self, op: &str) -> Result<TensorId> {
        let n = self.node;
        let mut x = self.arg(0)?;
        let dims = self.dims(x)?;
        if dims.is_empty() {
            return Err(self.err("the input is a scalar: there is nothing to reduce"));
        }
        let axes = match attrs::ints(n, "axes") {
            Some(a) => Some(a),
            None => self.host_ints(1)?,
        };
        let mut axes: Vec<usize> = match axes {
            Some(a) if !a.is_empty() => a
                .iter()
                .map(|&v| attrs::axis(n, v, dims.len()))
                .collect::<Result<_>>()?,
            Some(_) if attrs::int(n, "noop_with_empty_axes") == Some(1) => return Ok(x),
            _ => (0..dims.len()).collect(),
        };
        axes.sort_unstable();
        axes.dedup();
        let f = match op {
            "ReduceMean" => ReduceFn::Mean,
            "ReduceSum" => ReduceFn::Sum,
            _ => ReduceFn::Amax,
        };
        // From the last axis back, so that the earlier axes keep their positions; each reduced axis is
        // kept as 1 until the end.
        let mut cur = dims.clone();
        for &a in axes.iter().rev() {
            let r = self.along_last(x, a, |p, t| p.reduce(f, t, DType::F32))?;
            cur[a] = 1;
            x = self.g.program.reshape(r, Shape::new(cur.clone()))?;
        }
        if attrs::int(n, "keepdims").unwrap_or(1) == 1 {
            return Ok(x);
        }
        let kept: Vec<usize> = (0..dims.len())
            .filter(|k| !axes.contains(k))
            .map(|k| dims[k])
            .collect();
        self.g.program.reshape(x, Shape::new(kept))
    }

    /// Applies `f`, an op over the last axis, to `x` along `axis`: `[outer, len, inner]` is permuted to
    /// `[outer, inner, len]` (rank 3, whatever x's rank) when the axis is not already last; a result of
    /// `len` along it is permuted back, a reduction (of 1 along it) needs only a reshape.
    fn along_last(
        &mut self,
        x: TensorId,
        axis: usize,
        f: impl FnOnce(&mut crate::program::Program, TensorId) -> Result<TensorId>,
    ) -> Result<TensorId> {
        let d = self.dims(x)?;
        if axis + 1 == d.len() {
            return f(&mut self.g.program, x);
        }
        let (outer, len, inner): (usize, usize, usize) = (
            d[..axis].iter().product(),
            d[axis],
            d[axis + 1..].iter().product(),
        );
        let p = &mut self.g.program;
        let t = p.reshape(x, [outer, len, inner])?;
        let t = p.permute(t, &[0, 2, 1])?;
        let r = f(p, t)?;
        let mut out = d.clone();
        if p.desc(r)?.shape.rank() == 3 {
            let r = p.permute(r, &[0, 2, 1])?;
            return p.reshape(r, Shape::new(out));
        }
        // A reduction's `[outer, inner]` is already in the order of `[outer, 1, inner]`: no permute back.
        out[axis] = 1;
        p.reshape(r, Shape::new(out))
    }
}

/// `log(softmax(x))` over the last axis, as `x - max - log(sum(exp(x - max)))`: finite wherever the
/// result is (a softmax that underflows to 0 would give -inf).
fn log_softmax(p: &mut crate::program::Program, x: TensorId) -> Result<TensorId> {
    let f32 = DType::F32;
    let mut kd = p.desc(x)?.shape.dims().to_vec();
    *kd.last_mut().expect("rank >= 1") = 1;
    let m = p.reduce(ReduceFn::Amax, x, f32)?;
    let m = p.reshape(m, Shape::new(kd.clone()))?;
    let shifted = p.binary(BinaryFn::Sub, x, m, f32)?;
    let e = p.unary(UnaryFn::Exp, shifted, f32)?;
    let s = p.reduce(ReduceFn::Sum, e, f32)?;
    let l = p.unary(UnaryFn::Log, s, f32)?;
    let l = p.reshape(l, Shape::new(kd))?;
    p.binary(BinaryFn::Sub, shifted, l, f32)
}

/// ONNX Reshape's target: 0 copies the input's dimension (unless `allowzero`), one -1 is inferred.
pub fn reshape_dims(
    input: &[usize],
    shape: &[i64],
    allowzero: bool,
) -> std::result::Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(shape.len());
    let mut infer = None;
    for (i, &s) in shape.iter().enumerate() {
        match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or(format!(
                "shape {shape:?}: 0 at {i} has no input dimension to copy"
            ))?),
            s if s >= 0 => out.push(s as usize),
            _ => return Err(format!("shape {shape:?} is not a valid reshape target")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!("shape {shape:?} cannot hold {total} elements"));
        }
        out[i] = total / known;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!(
            "shape {shape:?} does not hold the {total} elements of {input:?}"
        ));
    }
    Ok(out)
}

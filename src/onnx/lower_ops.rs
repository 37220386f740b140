//! The arithmetic ops of [`super::lower`], one arm per ONNX op (elementwise, activations, Softmax,
//! normalisations, Clip, Pow, reductions), each checking what it takes and naming the node when it
//! refuses; shape ops are in [`super::lower_shape`], MatMul and Gemm in [`super::lower_matmul`].

use super::attrs;
use super::initializer::{Initializer, decode};
use super::lower::{Lowering, Val};
use super::lower_axes::log_softmax;
use crate::Result;
use crate::program::{BinaryFn, TensorId, UnaryFn};
use crate::tensor::{Shape, Tensor};

impl Lowering<'_> {
    pub(super) fn lower_node(&mut self) -> Result<()> {
        let n = self.node;
        let op = n.op_type.as_deref().unwrap_or("");
        // The dtype of every device result here (named for the usual case).
        let f32 = self.act;
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
                    return self.variadic(f);
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
                let (a, mut b) = (self.arg(0)?, self.arg(1)?);
                if self.opset < 7
                    && attrs::int(n, "broadcast") == Some(1)
                    && let Some(axis) = attrs::int(n, "axis")
                {
                    // Opset 6's broadcast: B lines up with A's dimensions from `axis` on.
                    let (ra, mut bd) = (self.dims(a)?.len(), self.dims(b)?);
                    let axis = attrs::axis(n, axis, ra)?;
                    if axis + bd.len() > ra {
                        return Err(self.err(format!("B {bd:?} does not fit A from axis {axis}")));
                    }
                    bd.resize(ra - axis, 1);
                    b = self.g.program.reshape(b, Shape::new(bd))?;
                }
                let dt = self.gray(&[a, b])?;
                self.g.program.binary(f, a, b, dt)?
            }
            "Sum" => self.variadic_out(BinaryFn::Add)?,
            "Sin" | "Cos" => {
                // Rotary tables: the Vector unit has no sine; ATC folds the tables on the host, and so
                // does the importer (in f64, rounded once to f32).
                let v = self.host(0, "input").map_err(|_| {
                    self.err("the device has no sine or cosine; only values known on the host (rotary tables) are taken")
                })?;
                let Initializer::Tensor(t) = v else {
                    return Err(self.err("its input must be float"));
                };
                let f = |x: f32| {
                    if op == "Sin" {
                        (x as f64).sin() as f32
                    } else {
                        (x as f64).cos() as f32
                    }
                };
                let values = t.to_f32_vec().into_iter().map(f).collect();
                self.set_host(Initializer::Tensor(Tensor::from_f32(
                    t.shape().clone(),
                    values,
                )?));
                return Ok(());
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
                let dt = self.unary_dtype(f, x)?;
                self.g.program.unary(f, x, dt)?
            }
            "Softmax" | "LogSoftmax" => {
                let x = self.arg(0)?;
                let d = self.dims(x)?;
                let f = |p: &mut crate::program::Program, x| {
                    if op == "Softmax" {
                        p.softmax(x, None, f32)
                    } else {
                        log_softmax(p, x, f32)
                    }
                };
                if self.opset < 13 {
                    // Before opset 13: over the 2-D view [d0 * .. * d(axis-1), d(axis) * ..].
                    let axis = attrs::int(n, "axis").unwrap_or(1);
                    let axis = if axis == d.len() as i64 {
                        d.len()
                    } else {
                        attrs::axis(n, axis, d.len())?
                    };
                    let p = &mut self.g.program;
                    let flat = p.reshape(
                        x,
                        [
                            d[..axis].iter().product(),
                            d[axis..].iter().product::<usize>(),
                        ],
                    )?;
                    let y = f(p, flat)?;
                    p.reshape(y, Shape::new(d))?
                } else {
                    let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(-1), d.len())?;
                    self.along_last(x, axis, f)?
                }
            }
            "Clip" => {
                let mut x = self.arg(0)?;
                for (i, f, attr) in [(1, BinaryFn::Max, "min"), (2, BinaryFn::Min, "max")] {
                    // Before opset 11 the bounds are attributes.
                    let bound = match attrs::float(n, attr) {
                        Some(v) if self.opset < 11 => Some(self.g.constant(
                            format!("{} ({attr})", n.name.as_deref().unwrap_or("Clip")),
                            Tensor::from_f32([1], vec![v])?,
                        )),
                        _ if self.input_name(i).is_some() => Some(self.arg(i)?),
                        _ => None,
                    };
                    if let Some(b) = bound {
                        let dt = self.gray(&[x, b])?;
                        x = self.g.program.binary(f, x, b, dt)?;
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
                self.transpose(x, &perm)?
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
}

impl Lowering<'_> {
    /// `Sum`, `Max`, `Min` of any number of inputs: a chain of binary ops, left to right.
    fn variadic_out(&mut self, f: BinaryFn) -> Result<TensorId> {
        if self.node.input.is_empty() {
            return Err(self.err("it has no inputs"));
        }
        let mut acc = self.arg(0)?;
        for i in 1..self.node.input.len() {
            let b = self.arg(i)?;
            let dt = self.gray(&[acc, b])?;
            acc = self.g.program.binary(f, acc, b, dt)?;
        }
        Ok(acc)
    }

    fn variadic(&mut self, f: BinaryFn) -> Result<()> {
        if matches!(f, BinaryFn::Max | BinaryFn::Min) {
            let out = self.variadic_out(f)?;
            return self.set(0, out);
        }
        Err(self.err("takes exactly two inputs"))
    }
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

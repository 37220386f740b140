//! The patterns [`super::fuse::plan`] looks for, each matched from its first node: the matmul epilogue
//! chain, the erf-GELU and SiLU patterns, the LayerNorm and RMSNorm patterns, and a mask added just
//! before a Softmax. Each returns the fused op and the nodes it absorbs; a matcher gives up (and the
//! nodes lower one by one) at the first node that differs from the pattern.

use super::attrs;
use super::fuse::{Fused, View};
use crate::program::{Activation, BinaryFn, UnaryFn};

/// A fused op and the nodes it absorbs.
type Match = (Fused, Vec<usize>);

impl View<'_> {
    /// The fusion that starts at node `i`, if one does.
    pub(super) fn pattern_at(&self, i: usize) -> Option<Match> {
        match self.op(i) {
            "MatMul" => self.linear(i),
            "Div" => {
                let (x, nodes) = self.erf_gelu(i)?;
                let out = self.out0(*nodes.last()?).to_string();
                Some((
                    Fused::Unary {
                        f: UnaryFn::Gelu,
                        x,
                        out,
                    },
                    nodes,
                ))
            }
            "Sigmoid" => {
                let (x, m) = self.silu(i)?;
                let out = self.out0(m).to_string();
                Some((
                    Fused::Unary {
                        f: UnaryFn::Silu,
                        x,
                        out,
                    },
                    vec![m],
                ))
            }
            "ReduceMean" => self.layernorm(i),
            "Pow" | "Mul" => self.rmsnorm(i),
            "Add" => self.masked_softmax(i),
            _ => None,
        }
    }

    /// MatMul, then a constant scale, a 1-D bias and an activation, each optional, each the only reader
    /// of the value before it.
    fn linear(&self, i: usize) -> Option<Match> {
        let (mut cur, mut absorbed) = (self.out0(i), Vec::new());
        let mut scale = None;
        if let Some(j) = self.only(cur, &["Div", "Mul"])
            && self.input(j, 0) == Some(cur)
            && let Some(c) = self.input(j, 1).and_then(|c| self.scalar(c))
            && c.is_finite()
            && c != 0.0
        {
            let f = match self.op(j) {
                "Div" => BinaryFn::Div,
                _ => BinaryFn::Mul,
            };
            scale = Some((f, c));
            absorbed.push(j);
            cur = self.out0(j);
        }
        let mut bias = None;
        if let Some(k) = self.next(cur, "Add")
            && let Some(b) = self.other(k, cur)
            && self.is_vector(b)
        {
            bias = Some(b.to_string());
            absorbed.push(k);
            cur = self.out0(k);
        }
        let (activation, nodes) = self
            .activation_of(cur)
            .unwrap_or((Activation::None, vec![]));
        if let Some(&last) = nodes.last() {
            cur = self.out0(last);
        }
        absorbed.extend(nodes);
        if absorbed.is_empty() {
            return None;
        }
        let out = cur.to_string();
        let f = Fused::Linear {
            scale,
            bias,
            activation,
            out,
        };
        Some((f, absorbed))
    }

    /// The activation applied to `x` by its readers, if they are exactly one activation's nodes.
    fn activation_of(&self, x: &str) -> Option<(Activation, Vec<usize>)> {
        let readers = self.readers(x)?;
        if let [r] = readers {
            let n = self.node(*r);
            return match self.op(*r) {
                "Relu" => Some((Activation::Relu, vec![*r])),
                "Gelu" => match attrs::string(n, "approximate").as_deref() {
                    None | Some("none") => Some((Activation::Gelu, vec![*r])),
                    Some("tanh") => Some((Activation::GeluTanh, vec![*r])),
                    _ => None,
                },
                _ => None,
            };
        }
        let [a, b] = readers else { return None };
        for (first, second) in [(*a, *b), (*b, *a)] {
            match self.op(first) {
                "Div" => {
                    if let Some((gx, nodes)) = self.erf_gelu(first)
                        && gx == x
                        && nodes.get(2) == Some(&second)
                    {
                        let mut all = vec![first];
                        all.extend(nodes);
                        return Some((Activation::Gelu, all));
                    }
                }
                "Sigmoid" => {
                    if let Some((sx, m)) = self.silu(first)
                        && sx == x
                        && m == second
                    {
                        return Some((Activation::Silu, vec![first, m]));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The erf GELU from Div node `i`: its `x` and the nodes after the Div (Erf, Add, Mul, Mul).
    fn erf_gelu(&self, i: usize) -> Option<(String, Vec<usize>)> {
        let x = self.input(i, 0)?;
        let c = self.scalar(self.input(i, 1)?)?;
        (c - std::f32::consts::SQRT_2)
            .abs()
            .lt(&1e-6)
            .then_some(())?;
        let e = self.next(self.out0(i), "Erf")?;
        let a = self.next(self.out0(e), "Add")?;
        (self.scalar(self.other(a, self.out0(e))?)? == 1.0).then_some(())?;
        let m = self.next(self.out0(a), "Mul")?;
        (self.other(m, self.out0(a))? == x).then_some(())?;
        let h = self.next(self.out0(m), "Mul")?;
        (self.scalar(self.other(h, self.out0(m))?)? == 0.5).then_some(())?;
        Some((x.to_string(), vec![e, a, m, h]))
    }

    /// `Mul(x, Sigmoid(x))` from the Sigmoid node `i`: its `x` and the Mul.
    fn silu(&self, i: usize) -> Option<(String, usize)> {
        let x = self.input(i, 0)?;
        let m = self.next(self.out0(i), "Mul")?;
        (self.other(m, self.out0(i))? == x).then_some((x.to_string(), m))
    }

    /// The one reader of `name`, if its op is one of `ops`.
    fn only(&self, name: &str, ops: &[&str]) -> Option<usize> {
        match self.readers(name)? {
            [i] if ops.contains(&self.op(*i)) => Some(*i),
            _ => None,
        }
    }

    /// Whether ReduceMean node `i` averages over the last axis only, keeping it (axes [-1], keepdims 1).
    fn mean_of_last(&self, i: usize) -> bool {
        let n = self.node(i);
        let axes = match self.opset {
            ..18 => attrs::ints(n, "axes").and_then(|a| (a.len() == 1).then(|| a[0])),
            _ => self.input(i, 1).and_then(|a| self.int(a)),
        };
        axes == Some(-1) && attrs::int(n, "keepdims").unwrap_or(1) == 1
    }

    /// The square of `x` at node `i`: `Pow(x, 2)` or `Mul(x, x)`.
    fn squares(&self, i: usize, x: &str) -> bool {
        let n = self.node(i);
        match self.op(i) {
            "Pow" => {
                self.input(i, 0) == Some(x)
                    && self.input(i, 1).and_then(|e| self.scalar(e)) == Some(2.0)
            }
            "Mul" => n.input.len() == 2 && n.input[0] == x && n.input[1] == x,
            _ => false,
        }
    }

    /// `ReduceMean(v) + eps` then `Sqrt`, from the ReduceMean node `r`: eps and the Sqrt node.
    fn mean_eps_sqrt(&self, r: usize) -> Option<(f32, Vec<usize>)> {
        self.mean_of_last(r).then_some(())?;
        let a = self.next(self.out0(r), "Add")?;
        let eps = self.scalar(self.other(a, self.out0(r))?)?;
        let s = self.next(self.out0(a), "Sqrt")?;
        (eps.is_finite() && eps >= 0.0).then_some((eps, vec![r, a, s]))
    }

    /// A 1-D weight applied to `cur` by its one reader (`op` is Mul or Add): its name and the node.
    fn weight(&self, cur: &str, op: &str) -> Option<(String, usize)> {
        let k = self.next(cur, op)?;
        let w = self.other(k, cur)?;
        self.is_vector(w).then(|| (w.to_string(), k))
    }

    /// `(x - mean) / sqrt(mean((x - mean)^2) + eps)`, then `* gamma`, `+ beta`, from the first ReduceMean.
    fn layernorm(&self, r0: usize) -> Option<Match> {
        let x = self.input(r0, 0)?;
        self.mean_of_last(r0).then_some(())?;
        let mean = self.out0(r0);
        let s = self.next(mean, "Sub")?;
        (self.input(s, 0) == Some(x) && self.input(s, 1) == Some(mean)).then_some(())?;
        let d = self.out0(s);
        let [p, q] = self.readers(d)? else {
            return None;
        };
        let (sq, div) = if self.squares(*p, d) {
            (*p, *q)
        } else {
            (*q, *p)
        };
        (self.squares(sq, d) && self.op(div) == "Div" && self.input(div, 0) == Some(d))
            .then_some(())?;
        let r1 = self.next(self.out0(sq), "ReduceMean")?;
        let (eps, tail) = self.mean_eps_sqrt(r1)?;
        (self.next(self.out0(tail[2]), "Div") == Some(div)).then_some(())?;
        let mut nodes = vec![s, sq];
        nodes.extend(tail);
        nodes.push(div);
        let mut cur = self.out0(div);
        let gamma = self.weight(cur, "Mul").map(|(w, k)| {
            nodes.push(k);
            cur = self.out0(k);
            w
        });
        let beta = self.weight(cur, "Add").map(|(w, k)| {
            nodes.push(k);
            cur = self.out0(k);
            w
        });
        let (x, out) = (x.to_string(), cur.to_string());
        let f = Fused::LayerNorm {
            x,
            gamma,
            beta,
            eps,
            out,
        };
        Some((f, nodes))
    }

    /// `x * 1/sqrt(mean(x^2) + eps)` (or `x / sqrt(..)`), then `* gamma`, from the square of x.
    fn rmsnorm(&self, p: usize) -> Option<Match> {
        let x = self.input(p, 0)?;
        self.squares(p, x).then_some(())?;
        let r = self.next(self.out0(p), "ReduceMean")?;
        let (eps, mut nodes) = self.mean_eps_sqrt(r)?;
        let root = self.out0(nodes[2]);
        let k = self.only(root, &["Reciprocal", "Div"])?;
        let xn = if self.op(k) == "Div" && self.input(k, 0) == Some(x) {
            k
        } else {
            // 1 / root, as Reciprocal or Div(1, root), then multiplied by x.
            let one = self.op(k) == "Reciprocal"
                || self.input(k, 0).and_then(|c| self.scalar(c)) == Some(1.0);
            (one && self.input(k, 1).is_none_or(|r| r == root)).then_some(())?;
            let m = self.next(self.out0(k), "Mul")?;
            (self.other(m, self.out0(k))? == x).then_some(())?;
            nodes.push(k);
            m
        };
        nodes.push(xn);
        let mut cur = self.out0(xn);
        let gamma = self.weight(cur, "Mul").map(|(w, k)| {
            nodes.push(k);
            cur = self.out0(k);
            w
        });
        let (x, out) = (x.to_string(), cur.to_string());
        Some((Fused::RmsNorm { x, gamma, eps, out }, nodes))
    }

    /// `Softmax(x + mask)` from the Add, where the Softmax is the sum's one reader (opset 13 or later, so
    /// the axis is one axis rather than a 2-D view).
    fn masked_softmax(&self, a: usize) -> Option<Match> {
        (self.opset >= 13).then_some(())?;
        let s = self.next(self.out0(a), "Softmax")?;
        let (x, mask) = (self.input(a, 0)?, self.input(a, 1)?);
        let axis = attrs::int(self.node(s), "axis").unwrap_or(-1);
        let f = Fused::MaskedSoftmax {
            x: x.to_string(),
            mask: mask.to_string(),
            axis,
            out: self.out0(s).to_string(),
        };
        Some((f, vec![s]))
    }
}

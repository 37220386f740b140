//! ATC's fusions, where they change the recorded ops, planned before lowering: a `MatMul` whose result
//! only a division or multiplication by a constant scalar and then an `Add` of a constant 1-D bias read
//! becomes one Cube matmul with that scale and bias in its epilogue (the FixPipe applies them on the way
//! out, as `linear` does); the erf form of GELU that PyTorch exports (`Div(x, sqrt 2)`, `Erf`, `Add 1`,
//! `Mul x`, `Mul 0.5`) becomes one Vector `gelu`. A node is absorbed only when its result has that one
//! reader and is no graph output, so no value the graph still needs disappears.
//!
//! Numerics: a division by `c` fused into the epilogue multiplies by `1/c` (rounded to f32), as ATC's
//! fused kernel does; that can differ from `x / c` in the last bit, inside the importer's tolerance
//! against onnxruntime.

use std::collections::HashMap;

use super::OnnxModel;
use super::attrs;
use super::initializer::{Initializer, decode};
use super::proto::NodeProto;
use crate::program::BinaryFn;

/// What a node does in the lowering, when a fusion involves it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fused {
    /// Recorded by an earlier node's fused op.
    Absorbed,
    /// A MatMul with what follows it folded into its epilogue; `out` names the fused result.
    Linear {
        /// The scalar op (`Div` or `Mul`) and its constant, applied first.
        scale: Option<(BinaryFn, f32)>,
        /// The 1-D constant added after.
        bias: Option<String>,
        out: String,
    },
    /// The start of an erf-GELU pattern on `x`; `out` names its result.
    Gelu { x: String, out: String },
}

/// The fusions of `model`'s graph, by node index.
pub fn plan(model: &OnnxModel) -> HashMap<usize, Fused> {
    let g = model.graph();
    let mut uses: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            uses.entry(inp.as_str()).or_default().push(i);
        }
    }
    let outputs: Vec<&str> = g.output.iter().filter_map(|o| o.name.as_deref()).collect();
    // The one node that reads `name`, if exactly one does and the graph does not return it.
    let only_use = |name: &str| -> Option<usize> {
        match uses.get(name).map(Vec::as_slice) {
            Some([i]) if !outputs.contains(&name) => Some(*i),
            _ => None,
        }
    };
    let consts = Constants::of(model);
    let op = |i: usize| g.node[i].op_type.as_deref().unwrap_or("");
    let out0 = |i: usize| g.node[i].output.first().cloned().unwrap_or_default();
    // The input of binary node `i` other than `x`, if `x` is one of its two inputs.
    let other = |i: usize, x: &str| -> Option<String> {
        match g.node[i].input.as_slice() {
            [a, b] if a == x => Some(b.clone()),
            [a, b] if b == x => Some(a.clone()),
            _ => None,
        }
    };
    let mut fused = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        if fused.contains_key(&i) {
            continue;
        }
        match op(i) {
            "MatMul" => {
                let (mut cur, mut absorbed) = (out0(i), Vec::new());
                let mut scale = None;
                if let Some(j) = only_use(&cur)
                    && matches!(op(j), "Div" | "Mul")
                    && g.node[j].input.first() == Some(&cur)
                    && let Some(c) = g.node[j].input.get(1).and_then(|c| consts.scalar(c))
                    && c.is_finite()
                    && c != 0.0
                {
                    let f = if op(j) == "Div" {
                        BinaryFn::Div
                    } else {
                        BinaryFn::Mul
                    };
                    scale = Some((f, c));
                    absorbed.push(j);
                    cur = out0(j);
                }
                let mut bias = None;
                if let Some(k) = only_use(&cur)
                    && op(k) == "Add"
                    && let Some(b) = other(k, &cur)
                    && consts.is_vector(model, &b)
                {
                    bias = Some(b);
                    absorbed.push(k);
                    cur = out0(k);
                }
                if !absorbed.is_empty() {
                    for a in absorbed {
                        fused.insert(a, Fused::Absorbed);
                    }
                    fused.insert(
                        i,
                        Fused::Linear {
                            scale,
                            bias,
                            out: cur,
                        },
                    );
                }
            }
            "Div" => {
                let x = n.input.first().cloned().unwrap_or_default();
                let c = n.input.get(1).and_then(|c| consts.scalar(c));
                if !c.is_some_and(|c| (c - std::f32::consts::SQRT_2).abs() < 1e-6) {
                    continue;
                }
                let chain = (|| {
                    let e = only_use(&out0(i)).filter(|&e| op(e) == "Erf")?;
                    let a = only_use(&out0(e)).filter(|&a| op(a) == "Add")?;
                    (consts.scalar(&other(a, &out0(e))?)? == 1.0).then_some(())?;
                    let m = only_use(&out0(a)).filter(|&m| op(m) == "Mul")?;
                    (other(m, &out0(a))? == x).then_some(())?;
                    let h = only_use(&out0(m)).filter(|&h| op(h) == "Mul")?;
                    (consts.scalar(&other(h, &out0(m))?)? == 0.5).then_some(())?;
                    Some([e, a, m, h])
                })();
                if let Some(nodes) = chain {
                    for k in nodes {
                        fused.insert(k, Fused::Absorbed);
                    }
                    fused.insert(
                        i,
                        Fused::Gelu {
                            x,
                            out: out0(nodes[3]),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    fused
}

/// The graph's small constants (`Constant` nodes and one-element initializers), decoded once.
struct Constants {
    values: HashMap<String, Initializer>,
}

impl Constants {
    fn of(model: &OnnxModel) -> Self {
        let dir = model.base_dir();
        let g = model.graph();
        let mut values = HashMap::new();
        let small = |t: &super::proto::TensorProto| t.dims.iter().product::<i64>() <= 1;
        for n in &g.node {
            if n.op_type.as_deref() == Some("Constant")
                && let (Some(t), Some(o)) = (attrs::tensor(n, "value"), n.output.first())
                && small(t)
                && let Ok(v) = decode(t, &dir)
            {
                values.insert(o.clone(), v);
            }
        }
        for t in g.initializer.iter().filter(|t| small(t)) {
            if let (Some(name), Ok(v)) = (&t.name, decode(t, &dir)) {
                values.insert(name.clone(), v);
            }
        }
        Constants { values }
    }

    /// The value of a one-element float constant.
    fn scalar(&self, name: &str) -> Option<f32> {
        match self.values.get(name)? {
            Initializer::Tensor(t)
                if t.numel() == 1 && !matches!(t.dtype(), crate::DType::I8 | crate::DType::I32) =>
            {
                Some(t.data().f32_at(0))
            }
            _ => None,
        }
    }

    /// Whether `name` is a 1-D float initializer (a bias).
    fn is_vector(&self, model: &OnnxModel, name: &str) -> bool {
        use super::proto::tensor_proto::DataType;
        model.graph().initializer.iter().any(|t| {
            t.name.as_deref() == Some(name)
                && t.dims.len() == 1
                && matches!(
                    t.data_type.and_then(|c| DataType::try_from(c).ok()),
                    Some(DataType::Float | DataType::Float16 | DataType::Bfloat16)
                )
        })
    }
}

/// The node's label for the op a fusion records (`MatMul+Div+Add`).
pub fn fused_label(n: &NodeProto, f: &Fused) -> String {
    let name = n.name.clone().unwrap_or_default();
    match f {
        Fused::Linear { scale, bias, .. } => format!(
            "{name} (+{}{})",
            scale.map_or("", |(f, _)| if f == BinaryFn::Div { "Div" } else { "Mul" }),
            if bias.is_some() {
                if scale.is_some() { "+Add" } else { "Add" }
            } else {
                ""
            }
        ),
        Fused::Gelu { .. } => format!("{name} (erf GELU)"),
        Fused::Absorbed => name,
    }
}

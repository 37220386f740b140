//! ATC's fusions, where they change the recorded ops, planned before lowering ([`plan`]); the patterns
//! themselves are in [`super::fuse_patterns`]:
//! - a `MatMul` followed by a division or multiplication by a constant scalar, an `Add` of a constant 1-D
//!   bias and an activation (`Relu`, `Gelu`, the erf-GELU or SiLU pattern) becomes one Cube matmul with
//!   all of them in its epilogue (the FixPipe applies them on the way out, as `linear` does);
//! - the erf form of GELU (`Div(x, sqrt 2)`, `Erf`, `Add 1`, `Mul x`, `Mul 0.5`) becomes one `gelu`, and
//!   `Mul(x, Sigmoid(x))` one `silu`;
//! - the LayerNorm and RMSNorm patterns older exporters write out (ReduceMean, Sub, Pow, Add eps, Sqrt,
//!   Div or Reciprocal and Mul, then the weight and bias) become one `layernorm` / `rmsnorm`;
//! - `Softmax(x + mask)` becomes one `softmax` with the mask added inside, as the attention's own does.
//!
//! A node is absorbed only when every reader of its result is inside the pattern and the graph does not
//! return it, so no value the graph still needs disappears.
//!
//! Numerics: the fused op rounds once where the pattern rounded after every node. A division by `c`
//! fused into the epilogue multiplies by `1/c` (rounded to f32), as ATC's fused kernel does. Both can
//! differ from the node-by-node result in the last bit, inside the importer's tolerance against
//! onnxruntime.

use std::collections::HashMap;

use super::OnnxModel;
use super::attrs;
use super::initializer::{Initializer, decode};
use super::proto::{GraphProto, NodeProto};
use crate::program::{Activation, BinaryFn, UnaryFn};

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
        /// Applied last.
        activation: Activation,
        out: String,
    },
    /// The start of an elementwise pattern (erf GELU, SiLU) on `x`; `out` names its result.
    Unary { f: UnaryFn, x: String, out: String },
    /// The start of a layernorm pattern over the last axis of `x`, with its weight and bias if any.
    LayerNorm {
        x: String,
        gamma: Option<String>,
        beta: Option<String>,
        eps: f32,
        out: String,
    },
    /// The start of an RMSNorm pattern over the last axis of `x`, with its weight if any.
    RmsNorm {
        x: String,
        gamma: Option<String>,
        eps: f32,
        out: String,
    },
    /// `Add(x, mask)` read only by a Softmax (`axis` as the node gives it, opset 13 or later).
    MaskedSoftmax {
        x: String,
        mask: String,
        axis: i64,
        out: String,
    },
}

/// The fusions of `model`'s graph, by node index.
pub fn plan(model: &OnnxModel) -> HashMap<usize, Fused> {
    let v = View::of(model);
    let mut fused = HashMap::new();
    for i in 0..v.g.node.len() {
        if fused.contains_key(&i) {
            continue;
        }
        if let Some((f, absorbed)) = v.pattern_at(i)
            && absorbed.iter().all(|a| !fused.contains_key(a))
        {
            for a in absorbed {
                fused.insert(a, Fused::Absorbed);
            }
            fused.insert(i, f);
        }
    }
    fused
}

/// The graph as the pattern matchers read it: who reads each value, and the small constants.
pub(super) struct View<'a> {
    pub g: &'a GraphProto,
    readers: HashMap<&'a str, Vec<usize>>,
    outputs: Vec<&'a str>,
    consts: HashMap<String, Initializer>,
    model: &'a OnnxModel,
    pub opset: i64,
}

impl<'a> View<'a> {
    fn of(model: &'a OnnxModel) -> Self {
        let g = model.graph();
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in g.node.iter().enumerate() {
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                let r = readers.entry(inp.as_str()).or_default();
                // `Mul(d, d)` reads d once as far as fusion goes.
                if r.last() != Some(&i) {
                    r.push(i);
                }
            }
        }
        // The graph's small constants (`Constant` nodes and one-element initializers), decoded once.
        let dir = model.base_dir();
        let small = |t: &super::proto::TensorProto| t.dims.iter().product::<i64>() <= 1;
        let mut consts = HashMap::new();
        for n in &g.node {
            if n.op_type.as_deref() == Some("Constant")
                && let (Some(t), Some(o)) = (attrs::tensor(n, "value"), n.output.first())
                && small(t)
                && let Ok(v) = decode(t, &dir)
            {
                consts.insert(o.clone(), v);
            }
        }
        for t in g.initializer.iter().filter(|t| small(t)) {
            if let (Some(name), Ok(v)) = (&t.name, decode(t, &dir)) {
                consts.insert(name.clone(), v);
            }
        }
        View {
            g,
            readers,
            outputs: g.output.iter().filter_map(|o| o.name.as_deref()).collect(),
            consts,
            model,
            opset: model.opset().unwrap_or(17),
        }
    }

    pub fn op(&self, i: usize) -> &str {
        self.g.node[i].op_type.as_deref().unwrap_or("")
    }

    pub fn node(&self, i: usize) -> &NodeProto {
        &self.g.node[i]
    }

    /// Input `k` of node `i`.
    pub fn input(&self, i: usize, k: usize) -> Option<&str> {
        self.g.node[i].input.get(k).map(String::as_str)
    }

    /// The first output of node `i`.
    pub fn out0(&self, i: usize) -> &str {
        self.g.node[i].output.first().map_or("", String::as_str)
    }

    /// The nodes that read `name`, if the graph does not return it (a returned value must stay).
    pub fn readers(&self, name: &str) -> Option<&[usize]> {
        if self.outputs.contains(&name) {
            return None;
        }
        self.readers.get(name).map(Vec::as_slice)
    }

    /// The one node that reads `name`, if it has op type `op`.
    pub fn next(&self, name: &str, op: &str) -> Option<usize> {
        match self.readers(name)? {
            [i] if self.op(*i) == op => Some(*i),
            _ => None,
        }
    }

    /// The input of binary node `i` other than `x`, if `x` is one of its two inputs.
    pub fn other(&self, i: usize, x: &str) -> Option<&str> {
        match self.g.node[i].input.as_slice() {
            [a, b] if a == x => Some(b),
            [a, b] if b == x => Some(a),
            _ => None,
        }
    }

    /// The value of a one-element float constant.
    pub fn scalar(&self, name: &str) -> Option<f32> {
        match self.consts.get(name)? {
            Initializer::Tensor(t)
                if t.numel() == 1 && !matches!(t.dtype(), crate::DType::I8 | crate::DType::I32) =>
            {
                Some(t.data().f32_at(0))
            }
            _ => None,
        }
    }

    /// The value of a one-element int64 constant (ReduceMean's `axes` input from opset 18).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.consts.get(name)? {
            Initializer::Int64 { values, .. } if values.len() == 1 => Some(values[0]),
            _ => None,
        }
    }

    /// Whether `name` is a 1-D float initializer (a bias or a norm's weight).
    pub fn is_vector(&self, name: &str) -> bool {
        use super::proto::tensor_proto::DataType;
        self.model.graph().initializer.iter().any(|t| {
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
        Fused::Linear {
            scale,
            bias,
            activation,
            ..
        } => {
            let mut parts = Vec::new();
            if let Some((f, _)) = scale {
                parts.push(if *f == BinaryFn::Div { "Div" } else { "Mul" });
            }
            if bias.is_some() {
                parts.push("Add");
            }
            if *activation != Activation::None {
                parts.push(activation.name());
            }
            format!("{name} (+{})", parts.join("+"))
        }
        Fused::Unary { f, .. } => match f {
            UnaryFn::Gelu => format!("{name} (erf GELU)"),
            f => format!("{name} ({} pattern)", f.name()),
        },
        Fused::LayerNorm { .. } => format!("{name} (LayerNorm pattern)"),
        Fused::RmsNorm { .. } => format!("{name} (RMSNorm pattern)"),
        Fused::MaskedSoftmax { .. } => format!("{name} (+Softmax)"),
        Fused::Absorbed => name,
    }
}

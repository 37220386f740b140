//! Lowering an ONNX graph into a recorded `Program` (inside a `model::Graph`, which holds the constants):
//! node by node in the graph's (topological) order, each value either on the device (a program tensor)
//! or on the host (an initializer or a `Constant`, used as a weight or as a shape). Weights go to the
//! device as constants, converted on the host as ATC converts them offline (bf16 for the Cube under
//! `allow_mix_precision_bf16`). Every node whose op this lowering does not take is listed in one error
//! before anything is recorded.
//!
//! This part takes the dense-graph ops (MatMul, Gemm, elementwise arithmetic and activations, Erf,
//! Softmax, LayerNormalization, reductions over the last axis, Transpose, Reshape with a constant shape,
//! Identity, Constant) on f32 inputs; the shape subgraphs of dynamic exports (Shape, Gather on shapes, Concat,
//! ...), int64 inputs and the rest of the op set are the next part.

use std::collections::HashMap;
use std::path::PathBuf;

use super::attrs::{Precision, node_label};
use super::initializer::Initializer;
use super::proto::NodeProto;
use super::{OPSETS, OnnxModel};
use crate::model::Graph;
use crate::program::TensorId;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// The ops this lowering takes.
pub const LOWERED_OPS: &[&str] = &[
    "MatMul",
    "Gemm",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Max",
    "Min",
    "Relu",
    "Tanh",
    "Sigmoid",
    "Exp",
    "Log",
    "Sqrt",
    "Neg",
    "Abs",
    "Reciprocal",
    "Erf",
    "Gelu",
    "Softmax",
    "LayerNormalization",
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "Transpose",
    "Reshape",
    "Identity",
    "Constant",
];

/// A graph lowered for given inputs.
pub struct Lowered {
    pub graph: Graph,
    /// The graph's outputs, in order (also the names [`Graph::run`] returns).
    pub outputs: Vec<String>,
    /// For each recorded op, the ONNX node it came from.
    pub op_nodes: Vec<String>,
}

#[derive(Clone)]
pub(super) enum Val {
    Dev(TensorId),
    Host(Initializer),
}

pub(super) struct Lowering<'a> {
    pub(super) g: Graph,
    pub(super) vals: HashMap<String, Val>,
    pub(super) precision: Precision,
    pub(super) node: &'a NodeProto,
    /// The model's folder, for a `Constant` whose value is in an external file.
    pub(super) dir: PathBuf,
}

/// Lowers `model` for `inputs` (one f32 tensor per graph input, by name).
pub fn lower(
    model: &OnnxModel,
    inputs: &[(String, Tensor)],
    precision: Precision,
) -> Result<Lowered> {
    let graph = model.graph();
    match model.opset() {
        Some(v) if OPSETS.contains(&v) => {}
        v => {
            return Err(Error::Invalid(format!(
                "{}: opset {} is outside the opsets {}-{} the importer takes",
                model.path().display(),
                v.map_or("(none)".into(), |v| v.to_string()),
                OPSETS.start(),
                OPSETS.end()
            )));
        }
    }
    let refused: Vec<String> = graph
        .node
        .iter()
        .filter(|n| {
            let d = n.domain.as_deref().unwrap_or("");
            !(d.is_empty() || d == "ai.onnx")
                || !LOWERED_OPS.contains(&n.op_type.as_deref().unwrap_or(""))
        })
        .map(|n| {
            let d = n.domain.as_deref().unwrap_or("");
            let d = if d.is_empty() {
                String::new()
            } else {
                format!("{d}.")
            };
            format!(
                "'{}' ({d}{}, opset {})",
                n.name.as_deref().unwrap_or(""),
                n.op_type.as_deref().unwrap_or("?"),
                model.opset().unwrap_or(0)
            )
        })
        .collect();
    if !refused.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: {} node(s) use ops this importer cannot lower yet: {}",
            model.path().display(),
            refused.len(),
            refused.join(", ")
        )));
    }
    let empty = NodeProto::default();
    let mut l = Lowering {
        g: Graph::new(),
        vals: HashMap::new(),
        precision,
        node: &empty,
        dir: model.base_dir(),
    };
    for (name, v) in model.initializers()? {
        l.vals.insert(name, Val::Host(v));
    }
    let info = model.info();
    for v in &info.inputs {
        let t = inputs
            .iter()
            .find(|(n, _)| *n == v.name)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the graph input '{}' ({} {}) was not given",
                    v.name,
                    v.elem_type,
                    v.dims_text()
                ))
            })?;
        check_input(v, t)?;
        let id = l.g.constant(v.name.clone(), to_f32(t));
        l.vals.insert(v.name.clone(), Val::Dev(id));
    }
    let mut op_nodes = Vec::new();
    for n in &graph.node {
        l.node = n;
        let before = l.g.program.ops().len();
        l.lower_node()?;
        let name = n.name.clone().unwrap_or_default();
        op_nodes.resize(l.g.program.ops().len().max(before), name);
    }
    let mut outputs = Vec::new();
    for o in &graph.output {
        let name = o.name.clone().unwrap_or_default();
        let id = l.dev(&name)?;
        l.g.output(name.clone(), id)?;
        outputs.push(name);
    }
    Ok(Lowered {
        graph: l.g,
        outputs,
        op_nodes,
    })
}

/// The input's dtype and fixed dimensions against the graph's declaration.
fn check_input(v: &super::ValueInfo, t: &Tensor) -> Result<()> {
    if v.elem_type != "float" {
        return Err(Error::Usage(format!(
            "graph input '{}' is {}; this part of the importer takes float inputs only",
            v.name, v.elem_type
        )));
    }
    if let Some(dims) = &v.dims {
        let got = t.shape().dims();
        let fits = dims.len() == got.len()
            && dims.iter().zip(got).all(|(d, &g)| match d {
                super::Dim::Fixed(f) => *f == g as i64,
                _ => g > 0,
            });
        if !fits {
            return Err(Error::Usage(format!(
                "graph input '{}' must be {} but the given tensor is {}",
                v.name,
                v.dims_text(),
                t.shape()
            )));
        }
    }
    Ok(())
}

fn to_f32(t: &Tensor) -> Tensor {
    Tensor::new(
        t.shape().clone(),
        crate::tensor::TensorData::F32(t.to_f32_vec()),
    )
    .expect("same shape")
}

impl Lowering<'_> {
    pub(super) fn err(&self, why: impl std::fmt::Display) -> Error {
        Error::Invalid(format!("{}: {why}", node_label(self.node)))
    }

    pub(super) fn input_name(&self, i: usize) -> Option<&str> {
        self.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub(super) fn val(&self, name: &str) -> Result<Val> {
        self.vals
            .get(name)
            .cloned()
            .ok_or_else(|| self.err(format!("its input '{name}' is produced by no earlier node")))
    }

    /// A value on the device: host tensors become constants (int64 ones cannot).
    pub(super) fn dev(&mut self, name: &str) -> Result<TensorId> {
        match self.val(name)? {
            Val::Dev(id) => Ok(id),
            Val::Host(Initializer::Tensor(t)) => {
                let id = self.g.constant(name.to_string(), to_f32(&t));
                self.vals.insert(name.to_string(), Val::Dev(id));
                Ok(id)
            }
            Val::Host(Initializer::Int64 { .. }) => Err(self.err(format!(
                "'{name}' is an int64 value; this part of the importer uses int64 only as shapes and axes"
            ))),
        }
    }

    pub(super) fn arg(&mut self, i: usize) -> Result<TensorId> {
        let name = self
            .input_name(i)
            .ok_or_else(|| self.err(format!("input {i} is missing")))?
            .to_string();
        self.dev(&name)
    }

    /// An int64 host value (a shape or axes).
    pub(super) fn host_ints(&self, i: usize) -> Result<Option<Vec<i64>>> {
        let Some(name) = self.input_name(i) else {
            return Ok(None);
        };
        match self.val(name)? {
            Val::Host(Initializer::Int64 { values, .. }) => Ok(Some(values)),
            _ => Err(self.err(format!(
                "input '{name}' must be a constant int64 tensor (computed shapes are the next part)"
            ))),
        }
    }

    pub(super) fn dims(&self, id: TensorId) -> Result<Vec<usize>> {
        Ok(self.g.program.desc(id)?.shape.dims().to_vec())
    }

    pub(super) fn set(&mut self, out: usize, id: TensorId) -> Result<()> {
        let name = self
            .node
            .output
            .get(out)
            .ok_or_else(|| self.err("it has no output"))?
            .clone();
        self.vals.insert(name, Val::Dev(id));
        Ok(())
    }
}

//! Lowering an ONNX graph into a recorded `Program` (inside a `model::Graph`, which holds the constants):
//! node by node in the graph's (topological) order, each value either on the device (a program tensor)
//! or on the host (an initializer or a `Constant`, used as a weight or as a shape). Weights go to the
//! device as constants, converted on the host as ATC converts them offline (bf16 for the Cube under
//! `allow_mix_precision_bf16`). Every node whose op this lowering does not take is listed in one error
//! before anything is recorded.
//!
//! Dynamic dimensions are bound by the given inputs: int64 inputs (token ids, masks) stay on the host,
//! so the shape subgraphs of a dynamic export and the masks built from them fold there
//! ([`super::lower_shape`], [`super::fold`]), and what remains on the device is the model's arithmetic
//! ([`super::lower_ops`]) and its data movement.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::attrs::{Precision, node_label};
use super::fuse::{Fused, fused_label};
use super::initializer::Initializer;
use super::lower_inputs::{bind_dims, check_input, keeps_f32, to_f32};
use super::proto::NodeProto;
use super::{OPSETS, OnnxModel};
use crate::model::Graph;
use crate::program::Rounding;
use crate::program::TensorId;
use crate::reference::cast_formats::cast_formats;
use crate::tensor::{DType, Tensor};
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
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Flatten",
    "Concat",
    "Slice",
    "Expand",
    "Where",
    "Equal",
    "ConstantOfShape",
    "Range",
    "Cast",
    "Trilu",
    "Clip",
    "Pow",
    "LogSoftmax",
    "SimplifiedLayerNormalization",
    "Split",
    "Sum",
    "Sin",
    "Cos",
];

/// A graph lowered for given inputs.
pub struct Lowered {
    pub graph: Graph,
    /// The graph's outputs, in order; those computed on the device are also the names [`Graph::run`]
    /// returns, the others are in `host_outputs`.
    pub outputs: Vec<String>,
    /// Graph outputs known on the host (int64 pass-throughs of inputs, folded constants).
    pub host_outputs: Vec<(String, Initializer)>,
    /// For each recorded op, the ONNX node it came from.
    pub op_nodes: Vec<String>,
}

impl Lowered {
    /// Runs the program on `exec` and returns every graph output, in the graph's order.
    pub fn run(&self, exec: &dyn crate::exec::Executor) -> Result<Vec<(String, Initializer)>> {
        let mut dev = self.graph.run(exec)?;
        self.outputs
            .iter()
            .map(|name| {
                if let Some((_, v)) = self.host_outputs.iter().find(|(n, _)| n == name) {
                    return Ok((name.clone(), v.clone()));
                }
                let pos = dev.iter().position(|(n, _)| n == name).ok_or_else(|| {
                    Error::Program(format!("the program did not return the output '{name}'"))
                })?;
                Ok((name.clone(), Initializer::Tensor(dev.swap_remove(pos).1)))
            })
            .collect()
    }
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
    /// The default domain's opset, for the ops whose form changed between opsets.
    pub(super) opset: i64,
    /// The dtype of the blocklist's results (bf16 under `force_bf16`, else f32; see [`super::mixlist`]).
    pub(super) act: DType,
    /// The device tensors made from host values (weights, constants, folded masks).
    pub(super) consts: HashSet<TensorId>,
    /// The bf16 copy of each value cast for the Cube.
    pub(super) bf16_of: HashMap<TensorId, TensorId>,
}

/// Lowers `model` for `inputs` (one value per graph input, by name: a float tensor for a float input,
/// int64 values for an int64 or bool one, e.g. token ids and masks). Int64 inputs stay on the host, so
/// the shapes and masks computed from them fold before anything runs.
pub fn lower(
    model: &OnnxModel,
    inputs: &[(String, Initializer)],
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
        opset: model.opset().unwrap_or(*OPSETS.end()),
        act: precision.result_dtype(),
        consts: HashSet::new(),
        bf16_of: HashMap::new(),
    };
    if precision == Precision::KeepOrigin {
        keeps_f32(model)?;
    }
    for (name, v) in model.initializers()? {
        l.vals.insert(name, Val::Host(v));
    }
    let info = model.info();
    // Each symbolic dimension's value, from the first input that names it.
    let mut bound: HashMap<String, (usize, String)> = HashMap::new();
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
        bind_dims(v, t.dims(), &mut bound)?;
        let val = match t {
            Initializer::Tensor(t) => {
                // The graph's f32 input, cast on the device where results are bf16 (as ATC inserts it).
                let id = l.g.constant(v.name.clone(), to_f32(t));
                Val::Dev(match l.act {
                    DType::F32 => id,
                    d => l.g.program.cast(id, d)?,
                })
            }
            host => Val::Host(host.clone()),
        };
        l.vals.insert(v.name.clone(), val);
    }
    let fusions = super::fuse::plan(model);
    // Ops recorded before the first node are the casts of graph inputs.
    let mut op_nodes = vec!["(graph input cast)".to_string(); l.g.program.ops().len()];
    for (i, n) in graph.node.iter().enumerate() {
        l.node = n;
        let before = l.g.program.ops().len();
        let name = match fusions.get(&i) {
            Some(Fused::Absorbed) => continue,
            Some(f) => {
                l.lower_fused(f)?;
                fused_label(n, f)
            }
            None => {
                l.lower_node()?;
                n.name.clone().unwrap_or_default()
            }
        };
        op_nodes.resize(l.g.program.ops().len().max(before), name);
    }
    let (mut outputs, mut host_outputs) = (Vec::new(), Vec::new());
    for o in &graph.output {
        let name = o.name.clone().unwrap_or_default();
        match l.vals.get(&name) {
            Some(Val::Host(v)) => host_outputs.push((name.clone(), v.clone())),
            _ => {
                let mut id = l.dev(&name)?;
                if l.g.program.desc(id)?.dtype != DType::F32 {
                    // A float graph output: widened to f32 on the device (exact).
                    id = l.g.program.cast(id, DType::F32)?;
                }
                l.g.output(name.clone(), id)?;
            }
        }
        outputs.push(name);
    }
    op_nodes.resize(l.g.program.ops().len(), "(graph output cast)".to_string());
    Ok(Lowered {
        graph: l.g,
        outputs,
        host_outputs,
        op_nodes,
    })
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
                // A weight or constant, converted on the host (as ATC converts it offline).
                let t = match self.act {
                    DType::F32 => to_f32(&t),
                    d => Tensor::new(
                        t.shape().clone(),
                        cast_formats(t.data(), d, Rounding::Nearest, 0),
                    )?,
                };
                let id = self.g.constant(name.to_string(), t);
                self.consts.insert(id);
                self.vals.insert(name.to_string(), Val::Dev(id));
                Ok(id)
            }
            Val::Host(Initializer::Int64 { .. }) => Err(self.err(format!(
                "'{name}' is an int64 value, which the device does not compute with; cast it to float"
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
                "input '{name}' must be int64 values known on the host (a shape, axes or indices)"
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

//! What an ONNX model holds, without running it: its producer and opset, the graph's inputs and outputs
//! (element type and dimensions, symbolic ones by name), its initializers (count and bytes), the op
//! histogram, and the nodes whose op is outside the set this importer lowers, so a user sees up front
//! what would be refused. `davinci run MODEL.onnx --info` prints it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::OnnxModel;
use super::initializer::{elem_bytes, type_code_name};
use super::proto::ValueInfoProto;
use super::proto::tensor_shape_proto::dimension;
use super::proto::type_proto;

/// Whether a default-domain op is in the importer's op set ([`super::lower::LOWERED_OPS`]); a node
/// outside it is reported here and refused by name when the graph is lowered.
pub fn in_op_set(op: &str) -> bool {
    super::lower::LOWERED_OPS.contains(&op)
}

/// One dimension of a graph input or output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    /// A symbolic dimension (`batch_size`), bound from the inputs when the graph runs.
    Named(String),
    Unknown,
}

/// A graph input or output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueInfo {
    pub name: String,
    /// The ONNX element type (`float`, `int64`, ...), or what the value is when it is not a tensor.
    pub elem_type: String,
    /// `None` when the model gives no shape.
    pub dims: Option<Vec<Dim>>,
}

/// A node outside the op set ([`in_op_set`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideNode {
    pub name: String,
    pub op_type: String,
    pub domain: String,
}

/// What [`OnnxModel::info`] reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub ir_version: Option<i64>,
    pub opset: Option<i64>,
    pub producer: String,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    pub initializers: usize,
    /// Bytes of the initializers' data (inline and external), as their types and dimensions give.
    pub initializer_bytes: u128,
    pub nodes: usize,
    /// Nodes per op type (domain-qualified outside the default domain).
    pub ops: BTreeMap<String, usize>,
    pub outside: Vec<OutsideNode>,
}

fn value_info(v: &ValueInfoProto) -> ValueInfo {
    let name = v.name.clone().unwrap_or_default();
    let (elem_type, dims) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => {
            let dims = t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(dimension::Value::DimValue(v)) => Dim::Fixed(*v),
                        Some(dimension::Value::DimParam(p)) => Dim::Named(p.clone()),
                        None => Dim::Unknown,
                    })
                    .collect()
            });
            (type_code_name(t.elem_type.unwrap_or(0)), dims)
        }
        Some(_) => ("not a tensor".to_string(), None),
        None => ("unknown".to_string(), None),
    };
    ValueInfo {
        name,
        elem_type,
        dims,
    }
}

pub(super) fn describe(m: &OnnxModel) -> ModelInfo {
    let g = m.graph();
    let p = m.proto();
    let mut ops = BTreeMap::new();
    let mut outside = Vec::new();
    for n in &g.node {
        let op = n.op_type.clone().unwrap_or_default();
        let domain = n.domain.clone().unwrap_or_default();
        let default = domain.is_empty() || domain == "ai.onnx";
        let key = if default {
            op.clone()
        } else {
            format!("{domain}.{op}")
        };
        *ops.entry(key).or_insert(0) += 1;
        if !default || !in_op_set(&op) {
            outside.push(OutsideNode {
                name: n.name.clone().unwrap_or_default(),
                op_type: op,
                domain,
            });
        }
    }
    let initializer_bytes = g
        .initializer
        .iter()
        .map(|t| {
            let n = t.dims.iter().try_fold(1u128, |a, &d| {
                u128::try_from(d).ok().and_then(|d| a.checked_mul(d))
            });
            n.unwrap_or(0)
                .saturating_mul(elem_bytes(t.data_type.unwrap_or(0)) as u128)
        })
        .fold(0u128, u128::saturating_add);
    let producer = match (&p.producer_name, &p.producer_version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => String::new(),
    };
    // Inputs that are also initializers are constants with defaults (old exports), not graph inputs.
    let is_init = |name: &str| {
        g.initializer
            .iter()
            .any(|t| t.name.as_deref() == Some(name))
    };
    ModelInfo {
        ir_version: p.ir_version,
        opset: m.opset(),
        producer,
        inputs: g
            .input
            .iter()
            .filter(|v| !is_init(v.name.as_deref().unwrap_or("")))
            .map(value_info)
            .collect(),
        outputs: g.output.iter().map(value_info).collect(),
        initializers: g.initializer.len(),
        initializer_bytes,
        nodes: g.node.len(),
        ops,
        outside,
    }
}

impl Dim {
    fn json(&self) -> Value {
        match self {
            Dim::Fixed(v) => json!(v),
            Dim::Named(n) => json!(n),
            Dim::Unknown => Value::Null,
        }
    }
}

impl ValueInfo {
    /// `[batch_size, sequence_length]`-style text.
    pub fn dims_text(&self) -> String {
        match &self.dims {
            None => "?".to_string(),
            Some(d) => {
                let parts: Vec<String> = d
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(v) => v.to_string(),
                        Dim::Named(n) => n.clone(),
                        Dim::Unknown => "?".to_string(),
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.elem_type,
            "dims": self.dims.as_ref().map(|d| d.iter().map(Dim::json).collect::<Vec<_>>()),
        })
    }
}

//! A node's attributes, read by name with ONNX's defaults, and the precision modes (ATC's names) that
//! decide which ops keep f32.

use std::str::FromStr;

use super::proto::NodeProto;
use crate::{Error, Result};

/// The node's attribute `name`.
fn find<'a>(n: &'a NodeProto, name: &str) -> Option<&'a super::proto::AttributeProto> {
    n.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

pub fn int(n: &NodeProto, name: &str) -> Option<i64> {
    find(n, name).and_then(|a| a.i)
}

pub fn float(n: &NodeProto, name: &str) -> Option<f32> {
    find(n, name).and_then(|a| a.f)
}

pub fn ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    find(n, name).map(|a| a.ints.clone())
}

pub fn string(n: &NodeProto, name: &str) -> Option<String> {
    find(n, name).and_then(|a| {
        a.s.as_ref()
            .map(|s| String::from_utf8_lossy(s).into_owned())
    })
}

pub fn tensor<'a>(n: &'a NodeProto, name: &str) -> Option<&'a super::proto::TensorProto> {
    find(n, name).and_then(|a| a.t.as_ref())
}

/// `node 'NAME' (OpType)` for messages.
pub fn node_label(n: &NodeProto) -> String {
    format!(
        "node '{}' ({})",
        n.name.as_deref().unwrap_or(""),
        n.op_type.as_deref().unwrap_or("?")
    )
}

/// An axis attribute resolved against a rank (negative counts from the end).
pub fn axis(n: &NodeProto, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(Error::Invalid(format!(
            "{}: axis {a} is outside a tensor of rank {rank}",
            node_label(n)
        )));
    }
    Ok(((a + r) % r.max(1)) as usize)
}

/// Which ops keep f32 (ATC's `--precision_mode` names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Every op in f32: the Cube's fp32 mode, the Vector unit in f32.
    ForceFp32,
    /// The Cube in bf16 (operands rounded to bf16, f32 accumulation and result); everything else f32.
    #[default]
    AllowMixBf16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::ForceFp32 => "force_fp32",
            Precision::AllowMixBf16 => "allow_mix_precision_bf16",
        }
    }
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "force_fp32" => Ok(Precision::ForceFp32),
            "allow_mix_precision_bf16" => Ok(Precision::AllowMixBf16),
            "force_bf16" | "must_keep_origin_dtype" => Err(Error::Usage(format!(
                "precision mode '{s}' is not available yet; use force_fp32 or allow_mix_precision_bf16"
            ))),
            _ => Err(Error::Usage(format!(
                "precision mode '{s}': expected force_fp32 or allow_mix_precision_bf16 (ATC's names)"
            ))),
        }
    }
}

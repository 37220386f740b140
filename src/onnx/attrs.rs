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
    /// ATC's mixed precision (see `onnx::mixlist`): the Cube in bf16 (bf16 operands and results, f32
    /// accumulation), ops on the graylist in bf16 where their inputs are, the blocklist in f32.
    #[default]
    AllowMixBf16,
    /// Every op that has a bf16 form in bf16: the Cube with bf16 operands and results, the Vector unit's
    /// ops with bf16 results (computed in f32 inside each op, rounded once); graph outputs cast to f32.
    ForceBf16,
    /// Every op in the graph's own dtype; for a graph whose float values are all f32 that is
    /// [`Precision::ForceFp32`] (a graph holding float16 or bfloat16 values is refused by `lower`).
    KeepOrigin,
}

impl Precision {
    pub const ALL: [Precision; 4] = [
        Precision::ForceFp32,
        Precision::AllowMixBf16,
        Precision::ForceBf16,
        Precision::KeepOrigin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Precision::ForceFp32 => "force_fp32",
            Precision::AllowMixBf16 => "allow_mix_precision_bf16",
            Precision::ForceBf16 => "force_bf16",
            Precision::KeepOrigin => "must_keep_origin_dtype",
        }
    }

    /// Whether the Cube's operands are bf16.
    pub fn cube_bf16(self) -> bool {
        matches!(self, Precision::AllowMixBf16 | Precision::ForceBf16)
    }

    /// The dtype of the blocklist's results (under `allow_mix_precision_bf16`, the Cube's and the
    /// graylist's follow `onnx::mixlist`).
    pub fn result_dtype(self) -> crate::DType {
        match self {
            Precision::ForceBf16 => crate::DType::Bf16,
            _ => crate::DType::F32,
        }
    }

    /// What ran in which dtype, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Precision::ForceFp32 | Precision::KeepOrigin => {
                "every op in f32 (the Cube's fp32 mode)"
            }
            Precision::AllowMixBf16 => {
                "the Cube in bf16 (weights converted on the host), bf16 through the graylist's ops, f32 from the blocklist's (exp, log, sqrt, softmax, norms, sums)"
            }
            Precision::ForceBf16 => {
                "every op in bf16 (Cube operands and results, Vector results; f32 inside each op), outputs cast to f32"
            }
        }
    }
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "precision mode '{s}': expected force_fp32, allow_mix_precision_bf16, force_bf16 or \
                     must_keep_origin_dtype (ATC's names)"
                ))
            })
    }
}

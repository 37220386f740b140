//! The pieces a layer's work is recorded from ([`super::work`], [`super::work_attn`]): the step and shard
//! types, and the helpers that record a matmul, a linear layer, a Vector op and a tensor-parallel block's
//! collectives.

use super::collectives::{Collective, MoeTraffic};
use super::kernel::Kernel;
use super::models::ModelSpec;

/// Bytes per activation element (bf16).
pub const ACT_BYTES: f64 = 2.0;

/// Which group of ranks a collective runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupKind {
    Tp,
    Ep,
    Dp,
    Pp,
}

/// One step of a layer: a kernel or a collective.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Compute {
        label: &'static str,
        kernel: Kernel,
    },
    Comm {
        label: &'static str,
        kind: Collective,
        group: GroupKind,
        bytes: f64,
        moe: Option<MoeTraffic>,
    },
}

/// What a rank does for one micro-batch: the shapes that matter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shard {
    pub tp: usize,
    pub ep: usize,
    /// Sequences in the micro-batch.
    pub seqs: usize,
    /// New tokens per sequence (1 in decode).
    pub q: usize,
    /// Attention context per sequence.
    pub ctx: usize,
    pub decode: bool,
    /// The busiest expert-parallel rank's routed tokens over the mean (1 with balanced routing): its
    /// experts' matmuls and its share of dispatch and combine set the MoE layer's time.
    pub expert_load: f64,
    /// Sequence parallelism over the tp ranks (see the module docs).
    pub sp: bool,
}

impl Shard {
    pub fn tokens(&self) -> usize {
        self.seqs * self.q
    }

    /// Whether sequence parallelism splits the tokens (it needs tensor parallelism to split over).
    pub fn seq_split(&self) -> bool {
        self.sp && self.tp > 1
    }

    /// Tokens a norm runs on: the rank's share under sequence parallelism, else all of them.
    pub fn norm_rows(&self) -> usize {
        if self.seq_split() {
            self.tokens().div_ceil(self.tp)
        } else {
            self.tokens()
        }
    }
}

pub(super) fn mm(
    label: &'static str,
    batch: usize,
    mm: usize,
    k: usize,
    n: usize,
    shared_b: bool,
) -> Step {
    Step::Compute {
        label,
        kernel: Kernel::Matmul {
            int8: false,
            batch,
            m: mm,
            k,
            n,
            shared_b,
        },
    }
}

/// A linear layer's matmul `[batch][rows, k] x [k, n]` (its weight shared when `batch` is 1): bf16, or
/// under W8A8 its input quantised per token, then the int8 matmul dequantised to bf16.
pub(super) fn linear(
    m: &ModelSpec,
    label: &'static str,
    (batch, rows): (usize, usize),
    k: usize,
    n: usize,
) -> Vec<Step> {
    let int8 = m.quant.int8();
    let kernel = Kernel::Matmul {
        int8,
        batch,
        m: rows,
        k,
        n,
        shared_b: batch == 1,
    };
    let quant = Kernel::Quant {
        rows: batch * rows,
        cols: k,
    };
    let mut v = Vec::with_capacity(2);
    if int8 {
        v.push(op("quantize (w8a8)", quant));
    }
    v.push(op(label, kernel));
    v
}

pub(super) fn op(label: &'static str, kernel: Kernel) -> Step {
    Step::Compute { label, kernel }
}

/// A tensor-parallel block's output: an all-reduce, or under sequence parallelism a reduce-scatter (the
/// `(in, out)` labels name the two forms).
pub(super) fn tp_block_out(
    label: (&'static str, &'static str),
    s: &Shard,
    h: usize,
) -> Option<Step> {
    let (label, kind) = if s.seq_split() {
        (label.1, Collective::ReduceScatter)
    } else {
        (label.0, Collective::AllReduce)
    };
    (s.tp > 1).then(|| Step::Comm {
        label,
        kind,
        group: GroupKind::Tp,
        bytes: s.tokens() as f64 * h as f64 * ACT_BYTES,
        moe: None,
    })
}

/// A tensor-parallel block's input: under sequence parallelism, an all-gather of the rank's tokens.
pub(super) fn tp_block_in(label: &'static str, s: &Shard, h: usize) -> Option<Step> {
    s.seq_split().then(|| Step::Comm {
        label,
        kind: Collective::AllGather,
        group: GroupKind::Tp,
        bytes: s.tokens() as f64 * h as f64 * ACT_BYTES,
        moe: None,
    })
}

//! MoE dispatch and combine as the kernels that run them on Ascend, not as plain all-to-alls. The model
//! follows DeepEP-Ascend (sgl-project/sgl-kernel-npu, `csrc/deepep/ops/op_kernel/`): the normal kernels
//! `cam_moe_dispatch_normal.h` and `cam_moe_combine_normal.h` (prefill, training) with their metadata kernel
//! `notify_dispatch.h`, and the low-latency `moe_distribute_dispatch_v2.h` / `moe_distribute_combine_v2.h`
//! (decode). What those kernels do, per rank, on its vector cores (AIV):
//!
//! 1. **Send.** The cores split the rank's (token, expert) pairs; every pair is one message, also where two
//!    of a token's experts sit on one rank (the kernels loop over `bs * topK`). For each: the token is copied
//!    from HBM into the unified buffer (MTE2) and waited on, quantised to INT8 on the Vector unit (dispatch:
//!    cast to f32, |x|, row max, scale, three casts), and written into the peer's receive window (MTE3 to a
//!    remote address). The queue holds two buffers, so a write overlaps the next token's copy, but the copy
//!    and the quantisation of one token are serial. The send is also bounded by the rank's link and HBM.
//! 2. **Status.** After a barrier of the rank's cores, one flag per expert is written to its rank; each rank
//!    polls its flags until every peer has written (one link latency after the last peer's writes).
//! 3. **Receive.** The cores copy their experts' messages from the window to the output tensor (dispatch),
//!    or, in the combine, each source rank reads the top-k rows of each of its tokens back and sums them with
//!    the routing weights on the Vector unit.
//! 4. **Normal mode only**: a separate `notify_dispatch` kernel exchanges the per-expert counts first; the
//!    host reads them back to size the output (`deep_ep.cpp`: `at::zeros({num_recv_tokens, hidden})`, so a
//!    framework round trip and a zero fill); and the tokens go in rounds of 1024 (`perRoundTokens`), each
//!    closed by a barrier over all ranks.
//!
//! Per-message costs come from the chip's own rates ([`ChipSpec`]: MTE2/MTE3 bytes per cycle, the Vector
//! unit's rates, `gm_load_latency_us`, `cross_core_sync_us`, `launch_overhead_us`); link costs from the
//! cluster's tier. What is not modelled (named in `davinci validate`): why the published normal-mode
//! bandwidth falls from EP8 to EP128 (146 to 57 GB/s) while the per-rank volume stays the same.

use super::collectives::{Algorithm, Collective, Cost, Group, MoeTraffic};
use crate::chip::ChipSpec;
use crate::units::{BytesPerSec, Nanos};

/// Which DeepEP-Ascend kernels carry the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MoeMode {
    /// High-throughput kernels with a metadata kernel and rounds (prefill, training).
    Normal,
    /// One kernel each way, no host round trip (decode; DeepEP-Ascend's README: 128 tokens per batch).
    LowLatency,
}

impl MoeMode {
    pub fn name(self) -> &'static str {
        match self {
            MoeMode::Normal => "normal",
            MoeMode::LowLatency => "low-latency",
        }
    }

    /// The kernels serving uses: low-latency in decode, normal in prefill and training (SGLang's
    /// DeepEP modes).
    pub fn for_step(decode: bool) -> MoeMode {
        if decode {
            MoeMode::LowLatency
        } else {
            MoeMode::Normal
        }
    }
}

/// Tokens per round of the normal kernels: `perRoundTokens{1024}` in `cam_moe_dispatch_normal.h`.
const ROUND_TOKENS: usize = 1024;
/// Window rows are padded to 512 bytes: `WIN_ADDR_ALIGN` in `cam_moe_dispatch_normal.h`.
const WIN_ALIGN: usize = 512;
/// A dispatched INT8 row carries its f32 scale and a (rank, token, k) triple of int32 (`FillTriple`).
const ROW_EXTRA: usize = 4 + 12;

/// Where the time of one MoE kernel goes, per rank.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MoePhases {
    pub mode: MoeMode,
    /// Kernel launches, the metadata exchange and (normal mode) the host round trip and zero fill.
    pub setup: Nanos,
    /// The pairs sent: the slowest of the cores' message chains, the link and HBM.
    pub send: Nanos,
    /// Of `send`: the Vector unit's quantisation (dispatch) over all of the rank's messages, per core.
    pub quant: Nanos,
    /// Barriers and flags: the rank's cores, the status flags and (normal mode) the rounds.
    pub sync: Nanos,
    /// Window to output (dispatch), or the top-k weighted sum (combine).
    pub receive: Nanos,
    /// Messages the rank sends (one per routed pair).
    pub messages: f64,
    /// Bytes on the wire per message.
    pub message_bytes: f64,
    pub total: Nanos,
}

fn secs(s: f64) -> Nanos {
    Nanos(s * 1e9)
}

fn aligned(bytes: usize) -> f64 {
    bytes.div_ceil(WIN_ALIGN) as f64 * WIN_ALIGN as f64
}

/// One vector core's time for one op over `bytes` of input at `rate` bytes per cycle.
fn vec_op(c: &ChipSpec, bytes: f64, rate: f64) -> f64 {
    bytes / c.per_cycle(rate).0
}

/// `QuantProcess` of the dispatch kernels on one row of `h` elements: bf16 -> f32, |x|, row max, x *
/// scale, f32 -> int32 -> f16 -> int8.
pub fn quant_row_seconds(c: &ChipSpec, h: usize) -> f64 {
    let h = h as f64;
    let one = c.vec_one_input_bytes_per_cycle.value;
    vec_op(c, 2.0 * h, one)
        + vec_op(c, 4.0 * h, one)
        + vec_op(c, 4.0 * h, c.vec_reduce_bytes_per_cycle.value)
        + vec_op(c, 4.0 * h, one) * 3.0
        + vec_op(c, 2.0 * h, one)
}

/// The combine's weighted sum of `k` bf16 rows of `h` elements: per row a cast, a multiply by the weight
/// and an add into the f32 sum, then one cast back.
pub fn weighted_sum_seconds(c: &ChipSpec, h: usize, k: usize) -> f64 {
    let h = h as f64;
    let one = c.vec_one_input_bytes_per_cycle.value;
    let per_row = vec_op(c, 2.0 * h, one)
        + vec_op(c, 4.0 * h, one)
        + vec_op(c, 8.0 * h, c.vec_two_input_bytes_per_cycle.value);
    per_row * k as f64 + vec_op(c, 4.0 * h, one)
}

/// The time of one DeepEP-Ascend dispatch or combine on a rank of chip `c` (one die on 910C, as CANN
/// shows it) over the expert-parallel group `g`.
pub fn moe_kernel(
    kind: Collective,
    mode: MoeMode,
    g: &Group,
    tr: &MoeTraffic,
    c: &ChipSpec,
) -> MoePhases {
    let dispatch = kind != Collective::Combine;
    let ep = g.n.max(1) as f64;
    let link = &g.link;
    let lat = link.latency.0 * 1e-9;
    let cores = (c.vector_cores_per_die() * c.dies()).max(1) as f64;
    let hbm = c.hbm_achievable_per_die().0 * c.dies() as f64;
    let mte2 = c.per_cycle(c.mte2_ub_bytes_per_cycle.value).0;
    let mte3 = c.per_cycle(c.mte3_bytes_per_cycle.value).0;
    let gm_wait = c.gm_load_latency_us.value * 1e-6;
    let sync = c.cross_core_sync_us.value * 1e-6;
    let launch = c.launch_overhead().0 * 1e-9;
    let wc = c.hbm_write_cost.value;
    let (h, k) = (tr.hidden, tr.top_k.max(1));
    // Balanced routing: every rank sends and receives tokens x top-k messages.
    let pairs = (tr.tokens * k) as f64;
    let bf16_row = 2.0 * h as f64;
    // A dispatch narrower than bf16 is quantised on the way, and its rows carry the scale and triple.
    let quantised = dispatch && tr.bytes_per_elem < 2.0;
    let extra = if quantised { ROW_EXTRA } else { 0 };
    let msg = aligned((h as f64 * tr.bytes_per_elem).ceil() as usize + extra);
    let load = |bytes: f64| gm_wait + bytes / mte2;
    let quant_row = if quantised {
        quant_row_seconds(c, h)
    } else {
        0.0
    };

    // The low-latency dispatch finds each message's slot in the peer's window on the Vector unit
    // (`CalTokenSendExpertCnt`: five ops over the pairs before it, half of them on average).
    let slot = if dispatch && mode == MoeMode::LowLatency {
        5.0 * vec_op(c, 4.0 * pairs / 2.0, c.vec_two_input_bytes_per_cycle.value)
    } else {
        0.0
    };

    // 1. Send: each core's chain of (load, quantise) per message; the wire and HBM as bounds.
    let per_core = (pairs / cores).ceil();
    let chain = per_core * (load(bf16_row) + quant_row + slot);
    let remote = pairs * (ep - 1.0) / ep * msg;
    let wire = if ep > 1.0 {
        remote / link.bw.0.max(1.0)
    } else {
        0.0
    };
    let hbm_send = (pairs * bf16_row + pairs * msg * wc) / hbm;
    let send = chain.max(wire).max(hbm_send) + lat;

    // 2. Status: a barrier of the rank's cores, the flags, one latency until the last lands.
    let mut sync_t = sync + lat;

    // 3. Receive.
    let receive = if dispatch {
        // The cores take the status entries (source rank x local expert: `experts` in all) in shares.
        let entries = tr.experts.max(1) as f64;
        let per_core = (entries / cores).ceil() * pairs / entries;
        let per_msg = load(msg).max(msg / mte3);
        (per_core * per_msg).max(pairs * msg * (1.0 + wc) / hbm)
    } else {
        let tokens = tr.tokens as f64;
        let per_core = (tokens / cores).ceil();
        let per_token = k as f64 * load(msg) + weighted_sum_seconds(c, h, k);
        (per_core * per_token).max((pairs * msg + tokens * bf16_row * wc) / hbm)
    };

    // 4. Setup: the kernel's launch; in normal mode the metadata kernel, the host round trip and the
    // rounds' barriers over all ranks.
    let mut setup = launch;
    if mode == MoeMode::Normal {
        let counts = tr.experts as f64 * 4.0 * (ep - 1.0);
        setup += launch + 2.0 * lat + counts / link.bw.0.max(1.0);
        setup += c.framework_dispatch_us.value * 1e-6;
        if dispatch {
            // The output is zero-filled before the kernel writes it.
            setup += pairs * h as f64 * tr.bytes_per_elem * wc / hbm;
        }
        let rounds = tr.tokens.div_ceil(ROUND_TOKENS).max(1) as f64;
        sync_t += (rounds - 1.0) * (2.0 * sync + 2.0 * lat);
    }

    let total = setup + send + sync_t + receive;
    MoePhases {
        mode,
        setup: secs(setup),
        send: secs(send),
        quant: secs(per_core * quant_row),
        sync: secs(sync_t),
        receive: secs(receive),
        messages: pairs,
        message_bytes: msg,
        total: secs(total),
    }
}

/// The kernel's time as a collective cost, for the cluster step and `davinci collective`: the bytes are
/// the rank's remote traffic on the wire.
pub fn moe_kernel_cost(
    kind: Collective,
    mode: MoeMode,
    g: &Group,
    tr: &MoeTraffic,
    c: &ChipSpec,
) -> (Cost, MoePhases) {
    let p = moe_kernel(kind, mode, g, tr, c);
    let ep = g.n.max(1) as f64;
    let cost = Cost {
        kind,
        algorithm: match mode {
            MoeMode::Normal => Algorithm::DeepEpNormal,
            MoeMode::LowLatency => Algorithm::DeepEpLowLatency,
        },
        bytes: crate::units::Bytes(p.messages * (ep - 1.0) / ep * p.message_bytes),
        n: g.n,
        tier: g.link.tier,
        time: if g.n <= 1 { Nanos::ZERO } else { p.total },
    };
    (cost, p)
}

/// DeepEP-Ascend's own bandwidth figures, as its tests compute them: the normal kernels divide the
/// received rows counted in bf16 (`recv_x.numel() * 2`, `tests/python/deepep/test_intranode.py`) by the
/// time; the low-latency ones the pairs times the bytes of one row on the wire (`num_fp8_bytes` = hidden
/// + hidden / 128 * 4 + 16 for dispatch, hidden * 2 for combine: `test_low_latency.py`).
pub fn deepep_bandwidth(kind: Collective, tr: &MoeTraffic, p: &MoePhases) -> BytesPerSec {
    let pairs = (tr.tokens * tr.top_k) as f64;
    let h = tr.hidden as f64;
    let bytes = match (p.mode, kind) {
        (MoeMode::Normal, _) => pairs * 2.0 * h,
        (MoeMode::LowLatency, Collective::Combine) => pairs * 2.0 * h,
        (MoeMode::LowLatency, _) => pairs * (h + (h / 128.0).floor() * 4.0 + 16.0),
    };
    BytesPerSec(bytes / (p.total.0 * 1e-9).max(1e-12))
}

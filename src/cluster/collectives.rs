//! Collective cost models over the fabric's tiers. Each algorithm is an alpha-beta model: a number of
//! message rounds, each paying the tier's latency, plus the bytes one device sends over its bandwidth.
//! For a group of `n` devices and a buffer of `S` bytes per device:
//!
//! | collective | ring (any fabric) | direct (one shot; a non-blocking or full-mesh fabric) |
//! |---|---|---|
//! | all-reduce | `2(n-1) (a + S / (n B_peer))` | `2 (a + max(S / (n B_peer), (n-1) S / (n B)))` |
//! | reduce-scatter, all-gather | `(n-1) (a + S / (n B_peer))` | `a + max(S / (n B_peer), (n-1) S / (n B))` |
//! | all-to-all (S sent in n parts) | pairwise: `(n-1) (a + S / (n B_peer))` | as reduce-scatter |
//!
//! plus recursive halving-doubling for all-reduce when `n` is a power of two (`2 log2(n) a + 2 (n-1)/n S /
//! B_peer`), and a two-level hierarchical all-reduce for groups that span nodes (reduce-scatter within each
//! node, all-reduce of `S/k` between nodes, all-gather within the node). `B` is what a device can inject
//! into the tier, `B_peer` what it can send to one peer (equal on a switched fabric; one link on a full
//! mesh); a group that spans a tier pays the slowest tier it crosses. [`best_all_reduce`] picks the fastest
//! algorithm the fabric allows. MoE dispatch and combine are all-to-all-v exchanges whose volume comes from
//! [`MoeTraffic`].
//!
//! Every cost is non-decreasing in bytes and latency and non-increasing in bandwidth, and a group inside a
//! faster tier is never slower than the same group across a slower one.

use super::topology::{ClusterSpec, Link, RankUnit, Tier};
use crate::units::{Bytes, BytesPerSec, Nanos};

/// What a collective does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Collective {
    AllReduce,
    AllGather,
    ReduceScatter,
    AllToAll,
    /// MoE token dispatch (tokens to the devices of their experts).
    Dispatch,
    /// MoE combine (expert outputs back to the tokens' devices).
    Combine,
    /// A point-to-point send between pipeline stages.
    SendRecv,
}

impl Collective {
    pub fn name(self) -> &'static str {
        match self {
            Collective::AllReduce => "all-reduce",
            Collective::AllGather => "all-gather",
            Collective::ReduceScatter => "reduce-scatter",
            Collective::AllToAll => "all-to-all",
            Collective::Dispatch => "moe dispatch",
            Collective::Combine => "moe combine",
            Collective::SendRecv => "send/recv",
        }
    }
}

/// How a collective is carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Algorithm {
    Ring,
    Direct,
    HalvingDoubling,
    Hierarchical,
    Pairwise,
    PointToPoint,
    /// The switches reduce (NVLink SHARP): each device sends its buffer once and receives the sum once.
    InNetwork,
    /// A group of one device: nothing to do.
    Local,
    /// DeepEP-Ascend's normal dispatch or combine kernels ([`super::moe_kernel`]).
    DeepEpNormal,
    /// DeepEP-Ascend's low-latency dispatch or combine kernels ([`super::moe_kernel`]).
    DeepEpLowLatency,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ring => "ring",
            Algorithm::Direct => "direct",
            Algorithm::HalvingDoubling => "halving-doubling",
            Algorithm::Hierarchical => "hierarchical",
            Algorithm::Pairwise => "pairwise",
            Algorithm::PointToPoint => "point-to-point",
            Algorithm::InNetwork => "in-network (NVLink SHARP)",
            Algorithm::Local => "local",
            Algorithm::DeepEpNormal => "DeepEP-Ascend normal kernel",
            Algorithm::DeepEpLowLatency => "DeepEP-Ascend low-latency kernel",
        }
    }
}

/// A group of devices taking part in a collective, and the links it crosses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Group {
    pub n: usize,
    /// The slowest tier the group crosses, as one device sees it.
    pub link: Link,
    /// For a group across nodes: members per node and the within-node link (for hierarchical algorithms).
    pub inner: Option<(usize, Link)>,
}

impl Group {
    /// A group of `n` devices all on one link (tests, custom models).
    pub fn flat(n: usize, link: Link) -> Group {
        Group {
            n,
            link,
            inner: None,
        }
    }
}

impl ClusterSpec {
    /// The group of `n` ranks `base + i * stride` (ranks numbered chip by chip, node by node), for the
    /// worst-placed such group: one that straddles a chip or node boundary pays the outer tier.
    pub fn group(&self, unit: RankUnit, n: usize, stride: usize) -> Group {
        let rpc = self.ranks_per_chip(unit);
        let rpn = rpc * self.chips_per_node();
        let span = stride.max(1) * n.max(1);
        let within = |block: usize| span <= block && block % span == 0;
        let tier = if within(rpc) {
            Tier::DieLink
        } else if within(rpn) {
            Tier::Node
        } else {
            Tier::Fabric
        };
        let inner = if tier == Tier::Fabric && stride < rpn && rpn % stride == 0 {
            let k = (rpn / stride).min(n);
            (k > 1 && n % k == 0).then(|| (k, self.link(Tier::Node, unit)))
        } else {
            None
        };
        Group {
            n,
            link: self.link(tier, unit),
            inner,
        }
    }
}

/// The cost of one collective.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Cost {
    pub kind: Collective,
    pub algorithm: Algorithm,
    /// The buffer each device holds (all-reduce, reduce-scatter input, all-gather output), or sends
    /// (all-to-all, dispatch, combine, send/recv).
    pub bytes: Bytes,
    pub n: usize,
    pub tier: Tier,
    pub time: Nanos,
}

fn t(bytes: f64, bw: BytesPerSec) -> Nanos {
    Bytes(bytes) / bw
}

fn local(kind: Collective, bytes: Bytes, g: &Group) -> Cost {
    Cost {
        kind,
        algorithm: Algorithm::Local,
        bytes,
        n: g.n,
        tier: g.link.tier,
        time: Nanos::ZERO,
    }
}

/// Ring all-reduce: `2(n-1)` rounds, each one latency plus `S/n` bytes to the next device.
pub fn ring_all_reduce(n: usize, s: Bytes, l: &Link) -> Nanos {
    if n <= 1 {
        return Nanos::ZERO;
    }
    let nf = n as f64;
    (l.latency + t(s.0 / nf, l.peer_bw)) * (2.0 * (nf - 1.0))
}

/// One round to every peer at once: `S/n` to each of `n-1` peers.
fn direct_round(n: usize, s: Bytes, l: &Link) -> Nanos {
    let nf = n as f64;
    l.latency + t(s.0 / nf, l.peer_bw).max(t(s.0 * (nf - 1.0) / nf, l.bw))
}

fn cost(kind: Collective, algorithm: Algorithm, s: Bytes, g: &Group, time: Nanos) -> Cost {
    Cost {
        kind,
        algorithm,
        bytes: s,
        n: g.n,
        tier: g.link.tier,
        time,
    }
}

/// Every all-reduce algorithm the group's fabric allows, with its cost.
pub fn all_reduce_options(g: &Group, s: Bytes) -> Vec<Cost> {
    let k = Collective::AllReduce;
    if g.n <= 1 {
        return vec![local(k, s, g)];
    }
    let (n, l) = (g.n, &g.link);
    let mut out = vec![cost(k, Algorithm::Ring, s, g, ring_all_reduce(n, s, l))];
    if l.direct {
        out.push(cost(
            k,
            Algorithm::Direct,
            s,
            g,
            direct_round(n, s, l) * 2.0,
        ));
    }
    if l.in_network {
        // Up to the switch and back down, the buffer streamed once each way (full duplex).
        let time = l.latency * 2.0 + t(s.0, l.bw);
        out.push(cost(k, Algorithm::InNetwork, s, g, time));
    }
    if n.is_power_of_two() {
        let rounds = (n as f64).log2();
        let bytes = 2.0 * (n as f64 - 1.0) / n as f64 * s.0;
        let time = l.latency * (2.0 * rounds) + t(bytes, l.peer_bw);
        out.push(cost(k, Algorithm::HalvingDoubling, s, g, time));
    }
    if let Some((per_node, inner)) = g.inner {
        // Reduce-scatter within the node, all-reduce of S/k between nodes, all-gather within the node.
        let intra = Group::flat(per_node, inner);
        let outer = Group::flat(n / per_node, *l);
        let rs = reduce_scatter(&intra, s).time;
        let ar = best_all_reduce(&outer, Bytes(s.0 / per_node as f64)).time;
        out.push(cost(k, Algorithm::Hierarchical, s, g, rs + ar + rs));
    }
    out
}

/// The fastest all-reduce the fabric allows.
pub fn best_all_reduce(g: &Group, s: Bytes) -> Cost {
    fastest(all_reduce_options(g, s))
}

fn fastest(options: Vec<Cost>) -> Cost {
    options
        .into_iter()
        .reduce(|a, b| if b.time.0 < a.time.0 { b } else { a })
        .expect("at least one algorithm")
}

/// Reduce-scatter of an `S`-byte buffer (each device ends with `S/n`): ring, or direct where allowed.
pub fn reduce_scatter(g: &Group, s: Bytes) -> Cost {
    scatter_like(Collective::ReduceScatter, g, s)
}

/// All-gather into an `S`-byte buffer (each device contributes `S/n`): ring, or direct where allowed.
pub fn all_gather(g: &Group, s: Bytes) -> Cost {
    scatter_like(Collective::AllGather, g, s)
}

fn scatter_like(k: Collective, g: &Group, s: Bytes) -> Cost {
    if g.n <= 1 {
        return local(k, s, g);
    }
    let (n, l) = (g.n, &g.link);
    let ring = (l.latency + t(s.0 / n as f64, l.peer_bw)) * (n as f64 - 1.0);
    let mut options = vec![cost(k, Algorithm::Ring, s, g, ring)];
    if l.direct {
        options.push(cost(k, Algorithm::Direct, s, g, direct_round(n, s, l)));
    }
    fastest(options)
}

/// All-to-all: each device sends `S` bytes in `n` equal parts (one stays home).
pub fn all_to_all(g: &Group, s: Bytes) -> Cost {
    let k = Collective::AllToAll;
    if g.n <= 1 {
        return local(k, s, g);
    }
    let (n, l) = (g.n, &g.link);
    let pairwise = (l.latency + t(s.0 / n as f64, l.peer_bw)) * (n as f64 - 1.0);
    let mut options = vec![cost(k, Algorithm::Pairwise, s, g, pairwise)];
    if l.direct {
        options.push(cost(k, Algorithm::Direct, s, g, direct_round(n, s, l)));
    }
    fastest(options)
}

/// A point-to-point send of `S` bytes over `l`.
pub fn send_recv(l: &Link, s: Bytes) -> Cost {
    Cost {
        kind: Collective::SendRecv,
        algorithm: Algorithm::PointToPoint,
        bytes: s,
        n: 2,
        tier: l.tier,
        time: if s.0 > 0.0 {
            l.latency + t(s.0, l.peer_bw)
        } else {
            Nanos::ZERO
        },
    }
}

/// The traffic of one MoE exchange as one device sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MoeTraffic {
    /// Tokens this device routes.
    pub tokens: usize,
    pub hidden: usize,
    pub top_k: usize,
    /// Routed experts in the model.
    pub experts: usize,
    /// Devices the experts are spread over (expert parallel degree), evenly.
    pub ep: usize,
    /// Bytes per element on the wire (1 for FP8 dispatch, as DeepSeek-V3 does; 2 for bf16).
    pub bytes_per_elem: f64,
}

impl MoeTraffic {
    /// Expected number of other devices one token is sent to: each of the `ep - 1` others holds `E/ep` of the
    /// experts and receives the token (once) if any of its `k` experts is there. With routing uniform over
    /// the experts, a device is missed with probability `C(E - E/ep, k) / C(E, k)`. A token going to two
    /// experts on one device is sent once.
    pub fn remote_devices_per_token(&self) -> f64 {
        if self.ep <= 1 || self.experts == 0 {
            return 0.0;
        }
        let e = self.experts as f64;
        let local = e / self.ep as f64;
        let k = self.top_k.min(self.experts);
        // prod_{i<k} (E - local - i) / (E - i)
        let mut miss = 1.0;
        for i in 0..k {
            let i = i as f64;
            miss *= ((e - local - i) / (e - i)).max(0.0);
        }
        (self.ep as f64 - 1.0) * (1.0 - miss)
    }

    /// Bytes this device sends in one dispatch (and receives back in one combine).
    pub fn bytes(&self) -> Bytes {
        Bytes(
            self.tokens as f64
                * self.remote_devices_per_token()
                * self.hidden as f64
                * self.bytes_per_elem,
        )
    }
}

/// MoE dispatch or combine: `traffic.bytes()` spread evenly over the other `ep - 1` devices.
pub fn moe_exchange(kind: Collective, g: &Group, traffic: &MoeTraffic) -> Cost {
    let v = traffic.bytes();
    if g.n <= 1 || v.0 == 0.0 {
        return local(kind, v, g);
    }
    let (n, l) = (g.n, &g.link);
    let per_peer = v.0 / (n as f64 - 1.0);
    let pairwise = (l.latency + t(per_peer, l.peer_bw)) * (n as f64 - 1.0);
    let mut options = vec![cost(kind, Algorithm::Pairwise, v, g, pairwise)];
    if l.direct {
        let direct = l.latency + t(per_peer, l.peer_bw).max(t(v.0, l.bw));
        options.push(cost(kind, Algorithm::Direct, v, g, direct));
    }
    fastest(options)
}

/// The collectives by their command-line names, in the order `davinci collective` lists them.
pub const COLLECTIVE_NAMES: &[&str] = &[
    "all-reduce",
    "all-gather",
    "reduce-scatter",
    "all-to-all",
    "send-recv",
    "moe-dispatch",
    "moe-combine",
];

/// The cost of the collective named `name` (one of [`COLLECTIVE_NAMES`] except the MoE ones, which take
/// their traffic: [`moe_exchange`]) over `g` with a buffer of `s` bytes per device.
pub fn by_name(name: &str, g: &Group, s: Bytes) -> crate::Result<Cost> {
    Ok(match name {
        "all-reduce" => best_all_reduce(g, s),
        "all-gather" => all_gather(g, s),
        "reduce-scatter" => reduce_scatter(g, s),
        "all-to-all" => all_to_all(g, s),
        "send-recv" => send_recv(&g.link, s),
        other => {
            return Err(crate::Error::Usage(format!(
                "unknown collective '{other}': one of {}",
                COLLECTIVE_NAMES.join(", ")
            )));
        }
    })
}

/// nccl-tests' bus bandwidth factor: bus bandwidth = algorithm bandwidth x this, so that figures of
/// different collectives and group sizes compare with the link speed.
pub fn bus_factor(kind: Collective, n: usize) -> f64 {
    let n = n.max(1) as f64;
    match kind {
        Collective::AllReduce => 2.0 * (n - 1.0) / n,
        Collective::AllGather
        | Collective::ReduceScatter
        | Collective::AllToAll
        | Collective::Dispatch
        | Collective::Combine => (n - 1.0) / n,
        Collective::SendRecv => 1.0,
    }
}

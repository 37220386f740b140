//! `davinci collective NAME`: one collective on a cluster preset or file, timed by the same cost models the
//! cluster step uses ([`crate::cluster::collectives`]), with nccl-tests' algorithm and bus bandwidths and
//! the algorithm chosen. MoE dispatch and combine take their traffic (tokens, hidden size, top-k, experts,
//! bytes per element) instead of a buffer size.

use serde_json::json;

use super::Report;
use super::table::{Table, fmt_bytes, fmt_time};
use crate::accel::Accelerator;
use crate::cluster::collectives::{self, Collective, Cost, MoeTraffic};
use crate::cluster::moe_kernel::{self, MoeMode, MoePhases};
use crate::cluster::topology::{ClusterSpec, RankUnit};
use crate::units::Bytes;
use crate::{Error, Result};

/// The tokens of a MoE exchange as one device routes them.
#[derive(Clone, Copy, Debug)]
pub struct MoeArgs {
    pub tokens: usize,
    pub hidden: usize,
    pub top_k: usize,
    pub experts: usize,
    /// Bytes per element on the wire: 1 for an INT8 (or FP8) dispatch, 2 for bf16.
    pub bytes_per_elem: f64,
    /// The DeepEP-Ascend kernels on an Ascend cluster; `None`: low-latency up to
    /// [`LOW_LATENCY_TOKENS`] tokens per device, normal above.
    pub mode: Option<MoeMode>,
}

/// DeepEP-Ascend's low-latency kernels serve up to 128 tokens per batch (sgl-kernel-npu README).
pub const LOW_LATENCY_TOKENS: usize = 128;

/// What `davinci collective` is asked.
#[derive(Clone, Debug)]
pub struct CollectiveRequest {
    pub name: String,
    pub cluster: ClusterSpec,
    pub devices: usize,
    /// The buffer per device (all-reduce, all-gather output, reduce-scatter input, all-to-all send).
    pub bytes: Option<u64>,
    pub moe: Option<MoeArgs>,
    /// Whether a device is a chip or one die of it.
    pub rank: RankUnit,
}

/// A collective's cost, and for a MoE exchange on Ascend the kernel's phases and DeepEP's bandwidth.
pub struct CollectiveTiming {
    pub cost: Cost,
    pub kernel: Option<(MoePhases, f64)>,
}

/// Times the collective as the cluster model does.
pub fn time(r: &CollectiveRequest) -> Result<CollectiveTiming> {
    let c = &r.cluster;
    c.validate()?;
    let ranks = c.chips() * c.ranks_per_chip(r.rank);
    if r.devices < 2 || r.devices > ranks {
        return Err(Error::Usage(format!(
            "--devices {}: a collective needs 2 to {ranks} devices on {} ({} chips, {} {}s)",
            r.devices,
            c.name,
            c.chips(),
            ranks,
            r.rank.name()
        )));
    }
    let g = c.group(r.rank, r.devices, 1);
    match (r.name.as_str(), r.moe, r.bytes) {
        ("moe-dispatch" | "moe-combine", Some(m), None) => {
            if m.tokens == 0 || m.hidden == 0 || m.top_k == 0 || m.top_k > m.experts {
                return Err(Error::Usage(format!(
                    "{}: --tokens, --hidden and --topk must be at least 1 and --topk at most --experts \
                     ({} tokens, hidden {}, top-{} of {} experts)",
                    r.name, m.tokens, m.hidden, m.top_k, m.experts
                )));
            }
            let kind = if r.name == "moe-dispatch" {
                Collective::Dispatch
            } else {
                Collective::Combine
            };
            let traffic = MoeTraffic {
                tokens: m.tokens,
                hidden: m.hidden,
                top_k: m.top_k,
                experts: m.experts,
                ep: r.devices,
                bytes_per_elem: m.bytes_per_elem,
            };
            let chip = c.rank_chip(r.rank);
            Ok(match &chip {
                Accelerator::Ascend(spec) => {
                    let mode = m.mode.unwrap_or(if m.tokens <= LOW_LATENCY_TOKENS {
                        MoeMode::LowLatency
                    } else {
                        MoeMode::Normal
                    });
                    let (cost, p) = moe_kernel::moe_kernel_cost(kind, mode, &g, &traffic, spec);
                    let bw = moe_kernel::deepep_bandwidth(kind, &traffic, &p).0;
                    CollectiveTiming {
                        cost,
                        kernel: Some((p, bw)),
                    }
                }
                Accelerator::Gpu(_) => CollectiveTiming {
                    cost: collectives::moe_exchange(kind, &g, &traffic),
                    kernel: None,
                },
            })
        }
        ("moe-dispatch" | "moe-combine", _, _) => Err(Error::Usage(format!(
            "{} takes --tokens, --hidden, --topk (and --experts, --dtype), not --bytes",
            r.name
        ))),
        (name, None, Some(b)) if b > 0 => Ok(CollectiveTiming {
            cost: collectives::by_name(name, &g, Bytes(b as f64))?,
            kernel: None,
        }),
        (name, _, _) => Err(Error::Usage(format!(
            "{name} takes --bytes B (at least 1), and no MoE arguments"
        ))),
    }
}

/// Times the collective and renders the report.
pub fn run(r: &CollectiveRequest) -> Result<Report> {
    let c = &r.cluster;
    let timing = time(r)?;
    let cost = timing.cost;
    let time = cost.time.0;
    let algbw = if time > 0.0 { cost.bytes.0 / time } else { 0.0 };
    let busbw = algbw * collectives::bus_factor(cost.kind, cost.n);
    let mut t = Table::new(&[("", false), ("", true)]);
    for (k, v) in [
        ("time", fmt_time(time)),
        ("bytes per device", fmt_bytes(cost.bytes.0.round() as u128)),
        ("algorithm bandwidth", format!("{algbw:.1} GB/s")),
        ("bus bandwidth", format!("{busbw:.1} GB/s")),
        ("algorithm", cost.algorithm.name().to_string()),
        ("tier", cost.tier.name().to_string()),
    ] {
        t.row(vec![k.into(), v]);
    }
    if let Some((p, bw)) = &timing.kernel {
        for (k, v) in [
            ("kernel setup", fmt_time(p.setup.0)),
            ("send", fmt_time(p.send.0)),
            ("  of it quantisation", fmt_time(p.quant.0)),
            ("flags and barriers", fmt_time(p.sync.0)),
            ("receive", fmt_time(p.receive.0)),
            (
                "messages",
                format!("{:.0} x {:.0} B", p.messages, p.message_bytes),
            ),
            ("DeepEP bandwidth", format!("{:.1} GB/s", bw / 1e9)),
        ] {
            t.row(vec![k.into(), v]);
        }
    }
    let human = format!(
        "{} over {} devices of {} (nccl-tests' bandwidths)\n{}",
        r.name,
        r.devices,
        c.name,
        // The first line is the (empty) header.
        t.render().split_once('\n').map_or("", |(_, rows)| rows)
    );
    let mut json = json!({
        "collective": r.name,
        "cluster": c.name,
        "devices": r.devices,
        "bytes": cost.bytes.0,
        "time_us": time / 1e3,
        "algbw_gb_per_s": algbw,
        "busbw_gb_per_s": busbw,
        "algorithm": cost.algorithm.name(),
        "tier": cost.tier.name(),
        "rank": r.rank.name(),
    });
    if let Some((p, bw)) = &timing.kernel {
        json["kernel"] = json!({
            "mode": p.mode.name(),
            "setup_us": p.setup.0 / 1e3,
            "send_us": p.send.0 / 1e3,
            "quant_us": p.quant.0 / 1e3,
            "sync_us": p.sync.0 / 1e3,
            "receive_us": p.receive.0 / 1e3,
            "messages": p.messages,
            "message_bytes": p.message_bytes,
        });
        json["deepep_gb_per_s"] = json!(bw / 1e9);
    }
    Ok(Report {
        json,
        human,
        failure: None,
    })
}

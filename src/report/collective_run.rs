//! `davinci collective NAME`: one collective on a cluster preset or file, timed by the same cost models the
//! cluster step uses ([`crate::cluster::collectives`]), with nccl-tests' algorithm and bus bandwidths and
//! the algorithm chosen. MoE dispatch and combine take their traffic (tokens, hidden size, top-k, experts,
//! bytes per element) instead of a buffer size.

use serde_json::json;

use super::Report;
use super::table::{Table, fmt_bytes, fmt_time};
use crate::cluster::collectives::{self, Collective, MoeTraffic};
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
}

/// What `davinci collective` is asked.
#[derive(Clone, Debug)]
pub struct CollectiveRequest {
    pub name: String,
    pub cluster: ClusterSpec,
    pub devices: usize,
    /// The buffer per device (all-reduce, all-gather output, reduce-scatter input, all-to-all send).
    pub bytes: Option<u64>,
    pub moe: Option<MoeArgs>,
}

/// Times the collective and renders the report.
pub fn run(r: &CollectiveRequest) -> Result<Report> {
    let c = &r.cluster;
    c.validate()?;
    if r.devices < 2 || r.devices > c.chips() {
        return Err(Error::Usage(format!(
            "--devices {}: a collective needs 2 to {} devices on {} ({} chips)",
            r.devices,
            c.chips(),
            c.name,
            c.chips()
        )));
    }
    let g = c.group(RankUnit::Chip, r.devices, 1);
    let cost = match (r.name.as_str(), r.moe, r.bytes) {
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
            collectives::moe_exchange(kind, &g, &traffic)
        }
        ("moe-dispatch" | "moe-combine", _, _) => {
            return Err(Error::Usage(format!(
                "{} takes --tokens, --hidden, --topk (and --experts, --dtype), not --bytes",
                r.name
            )));
        }
        (name, None, Some(b)) if b > 0 => collectives::by_name(name, &g, Bytes(b as f64))?,
        (name, _, _) => {
            return Err(Error::Usage(format!(
                "{name} takes --bytes B (at least 1), and no MoE arguments"
            )));
        }
    };
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
    let human = format!(
        "{} over {} devices of {} (nccl-tests' bandwidths)\n{}",
        r.name,
        r.devices,
        c.name,
        // The first line is the (empty) header.
        t.render().split_once('\n').map_or("", |(_, rows)| rows)
    );
    let json = json!({
        "collective": r.name,
        "cluster": c.name,
        "devices": r.devices,
        "bytes": cost.bytes.0,
        "time_us": time / 1e3,
        "algbw_gb_per_s": algbw,
        "busbw_gb_per_s": busbw,
        "algorithm": cost.algorithm.name(),
        "tier": cost.tier.name(),
    });
    Ok(Report {
        json,
        human,
        failure: None,
    })
}

//! A cluster as data: [`ClusterSpec`] names its chip (a [`ChipSpec`]), how many nodes of how many chips,
//! the links of each tier of the fabric (the die-to-die link inside a chip, the unified bus within a node
//! and between nodes, the RDMA plane) and what the whole system draws. Every number is a [`Sourced`]
//! value. Presets: `cloudmatrix384` (384 x 910C in 48 nodes of 8), `atlas800-a2` (8 x 910B2 in one
//! node) and the NVIDIA systems of [`super::presets_gpu`] (whose chip is a GPU); custom clusters come from TOML ([`ClusterSpec::from_toml`], with `base = "PRESET"` to change a few
//! fields).
//!
//! Link bandwidths are per die and per direction. A device (a rank of a parallel plan) is either a whole
//! chip or one of its dies (see [`RankUnit`]); a chip-sized rank drives the links of all its dies at once,
//! so its bandwidth is the per-die figure times the dies.

use crate::accel::Accelerator;
use crate::chip::Sourced;
use crate::units::{BytesPerSec, Nanos, Watts};
use crate::{Error, Result};

/// Static description of one numeric field of a cluster file.
#[derive(Clone, Copy, Debug)]
pub struct ClusterField {
    pub key: &'static str,
    pub unit: &'static str,
    pub doc: &'static str,
}

macro_rules! cluster_fields {
    ($( $field:ident, $unit:literal, $doc:literal; )*) => {
        /// A cluster of Ascend chips as the cluster model sees it.
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub struct ClusterSpec {
            /// Short name (`cloudmatrix384`), used on the command line.
            pub name: String,
            pub summary: String,
            /// The chip every node carries: an Ascend chip or an NVIDIA GPU.
            pub chip: Accelerator,
            $( #[doc = $doc] pub $field: Sourced, )*
        }

        /// Every numeric field of [`ClusterSpec`], in declaration order.
        pub const CLUSTER_FIELDS: &[ClusterField] = &[
            $( ClusterField { key: stringify!($field), unit: $unit, doc: $doc }, )*
        ];

        impl ClusterSpec {
            pub fn field(&self, key: &str) -> Option<&Sourced> {
                match key { $( stringify!($field) => Some(&self.$field), )* _ => None }
            }

            pub fn field_mut(&mut self, key: &str) -> Option<&mut Sourced> {
                match key { $( stringify!($field) => Some(&mut self.$field), )* _ => None }
            }
        }
    };
}

cluster_fields! {
    nodes, "", "Nodes (servers) in the cluster.";
    chips_per_node, "", "Chips (NPU packages) per node.";
    die_link_gb_per_s, "GB/s", "Die-to-die link inside a chip, per direction.";
    die_link_latency_us, "us", "Die-to-die link latency.";
    node_gb_per_s, "GB/s", "Per die, per direction: what one die can inject into the fabric within its node.";
    node_peer_gb_per_s, "GB/s", "Per die, per direction, to one peer within the node (equal to node_gb_per_s on a switched fabric; one link on a full mesh).";
    node_latency_us, "us", "One message within a node.";
    fabric_gb_per_s, "GB/s", "Per die, per direction: injection bandwidth between nodes.";
    fabric_peer_gb_per_s, "GB/s", "Per die, per direction, to one peer in another node.";
    fabric_latency_us, "us", "One message between nodes.";
    rdma_gb_per_s, "GB/s", "RDMA (scale-out) plane per die, per direction; informational inside one cluster.";
    direct, "0/1", "1 if the fabric lets every device reach every peer at once (non-blocking switch or full mesh): direct (one-shot) collectives are allowed.";
    switch_reduction, "0/1", "1 if the switches within a node reduce in the network (NVLink SHARP): an all-reduce among the node's devices sends and receives each byte once.";
    optics, "", "Optical transceivers in the system.";
    optics_w, "W", "Power of one transceiver.";
    other_power_kw, "kW", "Everything else the system draws (CPUs, switch chips, fans, power conversion).";
}

/// Preset names, the default first.
pub const CLUSTER_NAMES: &[&str] = &[
    "cloudmatrix384",
    "atlas800-a2",
    "dgx-h100",
    "h800-cluster",
    "dgx-b200",
    "gb200-nvl72",
];

/// What a rank of a parallel plan is: a whole chip (both dies, timed as one package) or one die (as CANN
/// shows a 910C: two devices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RankUnit {
    Chip,
    Die,
}

impl RankUnit {
    pub fn name(self) -> &'static str {
        match self {
            RankUnit::Chip => "chip",
            RankUnit::Die => "die",
        }
    }
}

/// One tier of links as one device sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    pub tier: Tier,
    /// What the device can send at once, to all peers together.
    pub bw: BytesPerSec,
    /// What it can send to one peer.
    pub peer_bw: BytesPerSec,
    pub latency: Nanos,
    /// Whether direct (one-shot, all peers at once) algorithms are possible.
    pub direct: bool,
    /// Whether the switches of this tier reduce in the network (NVLink SHARP): an all-reduce sends each
    /// byte once and receives the reduced result once.
    pub in_network: bool,
}

/// The tiers of the fabric, innermost first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Tier {
    DieLink,
    Node,
    Fabric,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::DieLink => "die link",
            Tier::Node => "within node",
            Tier::Fabric => "across nodes",
        }
    }
}

impl ClusterSpec {
    pub fn nodes(&self) -> usize {
        self.nodes.value as usize
    }

    pub fn chips_per_node(&self) -> usize {
        self.chips_per_node.value as usize
    }

    pub fn chips(&self) -> usize {
        self.nodes() * self.chips_per_node()
    }

    pub fn dies(&self) -> usize {
        self.chips() * self.chip.dies()
    }

    /// The chips of one scale-up domain: those a chip reaches at its within-node bandwidth (the node, or
    /// the whole cluster where the fabric between nodes is as fast, as CloudMatrix's unified bus is).
    pub fn scale_up_chips(&self) -> usize {
        if self.fabric_gb_per_s.value >= self.node_gb_per_s.value {
            self.chips()
        } else {
            self.chips_per_node()
        }
    }

    /// Scale-up bandwidth of one chip, each way (all its dies).
    pub fn scale_up_bw_per_chip(&self) -> BytesPerSec {
        BytesPerSec(self.node_gb_per_s.value * 1e9 * self.chip.dies() as f64)
    }

    /// Aggregate scale-up bandwidth of one domain, both ways (as NVIDIA quotes NVL72's 130 TB/s).
    pub fn scale_up_aggregate(&self) -> BytesPerSec {
        self.scale_up_bw_per_chip() * (2.0 * self.scale_up_chips() as f64)
    }

    /// Dense bf16 peak of the whole cluster.
    pub fn peak_bf16(&self) -> f64 {
        self.chips() as f64 * self.chip.peak_bf16().0
    }

    /// The system's power at full load, by component: the chips, the optics, the rest.
    pub fn power_breakdown(&self) -> Vec<(&'static str, Watts, String)> {
        vec![
            (
                "chips",
                Watts(self.chips() as f64 * self.chip.power_w().value),
                format!(
                    "{} chips x {} W ({})",
                    self.chips(),
                    self.chip.power_w().value,
                    self.chip.power_w().source
                ),
            ),
            (
                "optics",
                Watts(self.optics.value * self.optics_w.value),
                format!(
                    "{} transceivers ({}) x {} W ({})",
                    self.optics.value,
                    self.optics.source,
                    self.optics_w.value,
                    self.optics_w.source
                ),
            ),
            (
                "rest of system",
                Watts(self.other_power_kw.value * 1e3),
                self.other_power_kw.source.clone(),
            ),
        ]
    }

    pub fn power(&self) -> Watts {
        self.power_breakdown().iter().map(|(_, w, _)| *w).sum()
    }

    /// Ranks of a plan whose product is `ranks`: a chip each, or a die each; otherwise an error that gives both
    /// counts.
    pub fn rank_unit(&self, ranks: usize) -> Result<RankUnit> {
        if ranks == self.chips() {
            Ok(RankUnit::Chip)
        } else if ranks == self.dies() {
            Ok(RankUnit::Die)
        } else {
            Err(Error::Invalid(format!(
                "the plan spans {ranks} devices but cluster '{}' has {} chips ({} dies); dp x tp x pp must equal \
                 the chip count (a rank per chip) or the die count (a rank per die)",
                self.name,
                self.chips(),
                self.dies()
            )))
        }
    }

    /// Ranks per chip for a rank unit.
    pub fn ranks_per_chip(&self, unit: RankUnit) -> usize {
        match unit {
            RankUnit::Chip => 1,
            RankUnit::Die => self.chip.dies(),
        }
    }

    /// The chip as one rank sees it: the package, or one die of it (cores, HBM and power of one die).
    pub fn rank_chip(&self, unit: RankUnit) -> Accelerator {
        let Accelerator::Ascend(mut c) = self.chip.clone() else {
            return self.chip.clone();
        };
        if unit == RankUnit::Die && c.dies() > 1 {
            let d = c.dies.value;
            c.name = format!("{} (one die)", c.name);
            c.summary = format!("one die of {}", c.summary);
            c.power_w = Sourced::new(
                c.power_w.value / d,
                format!("derived: package power / {d} dies ({})", c.power_w.source),
            );
            c.dies = Sourced::new(1.0, "derived: one die of the package, as CANN shows it");
            c.die_link_gb_per_s = Sourced::new(0.0, "not applicable: one die");
            c.die_link_latency_us = Sourced::new(0.0, "not applicable: one die");
        }
        c.into()
    }

    /// The link of `tier` as a rank of `unit` sees it.
    pub fn link(&self, tier: Tier, unit: RankUnit) -> Link {
        let dies = match unit {
            RankUnit::Chip => self.chip.dies() as f64,
            RankUnit::Die => 1.0,
        };
        let gbs = |s: &Sourced| BytesPerSec(s.value * 1e9 * dies);
        let us = |s: &Sourced| Nanos(s.value * 1e3);
        let direct = self.direct.value >= 0.5;
        match tier {
            Tier::DieLink => Link {
                tier,
                bw: BytesPerSec(self.die_link_gb_per_s.value * 1e9),
                peer_bw: BytesPerSec(self.die_link_gb_per_s.value * 1e9),
                latency: us(&self.die_link_latency_us),
                direct: true,
                in_network: false,
            },
            Tier::Node => Link {
                tier,
                bw: gbs(&self.node_gb_per_s),
                peer_bw: gbs(&self.node_peer_gb_per_s),
                latency: us(&self.node_latency_us),
                direct,
                in_network: self.switch_reduction.value >= 0.5,
            },
            Tier::Fabric => Link {
                tier,
                bw: gbs(&self.fabric_gb_per_s),
                peer_bw: gbs(&self.fabric_peer_gb_per_s),
                latency: us(&self.fabric_latency_us),
                direct,
                in_network: false,
            },
        }
    }

    /// Checks counts and rates; the error names the field.
    pub fn validate(&self) -> Result<()> {
        self.chip.validate()?;
        for f in CLUSTER_FIELDS {
            let v = self.field(f.key).map_or(f64::NAN, |s| s.value);
            let whole = matches!(f.key, "nodes" | "chips_per_node" | "optics");
            let bad = if !v.is_finite() || v < 0.0 {
                Some("must be a finite number, zero or above")
            } else if whole && v.fract() != 0.0 {
                Some("must be a whole number")
            } else if matches!(f.key, "nodes" | "chips_per_node") && !(1.0..=1e6).contains(&v) {
                Some("must be between 1 and a million")
            } else if f.key.ends_with("gb_per_s") && f.key != "die_link_gb_per_s" && v <= 0.0 {
                Some("must be above zero")
            } else {
                None
            };
            let bad = bad
                .map(str::to_string)
                .or_else(|| crate::chip::implausible(f.key, v));
            if let Some(why) = bad {
                return Err(Error::Invalid(format!(
                    "cluster '{}': {} = {v}: {why}",
                    self.name, f.key
                )));
            }
        }
        // The cluster model counts devices and enumerates plans over them; a million chips is far beyond
        // any system built (CloudMatrix 384: 384) and keeps a plan sweep finite.
        let chips = self.nodes.value * self.chips_per_node.value;
        if chips > MAX_CHIPS {
            return Err(Error::Invalid(format!(
                "cluster '{}': {} nodes x {} chips = {chips} chips, more than the {MAX_CHIPS} the model \
                 takes",
                self.name, self.nodes.value, self.chips_per_node.value
            )));
        }
        if self.chip.dies() > 1 && self.die_link_gb_per_s.value <= 0.0 {
            return Err(Error::Invalid(format!(
                "cluster '{}': die_link_gb_per_s must be above zero for a chip of {} dies",
                self.name,
                self.chip.dies()
            )));
        }
        Ok(())
    }
}

/// The most chips of a cluster: 2^20.
const MAX_CHIPS: f64 = 1_048_576.0;

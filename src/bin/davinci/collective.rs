//! `davinci collective NAME --devices N [--bytes B | --tokens T --hidden H --topk K]`: one collective on a
//! cluster, as the cluster model times it ([`davinci::report::collective_run`]).

use clap::{Args, ValueEnum};
use davinci::cluster::collectives::COLLECTIVE_NAMES;
use davinci::cluster::moe_kernel::MoeMode;
use davinci::cluster::topology::{ClusterSpec, RankUnit};
use davinci::report::collective_run::{self, CollectiveRequest, MoeArgs};

use crate::common::{CliError, Outcome};

/// The element type of a MoE exchange on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum WireDtype {
    /// One byte per element (an INT8-quantised dispatch).
    Int8,
    /// Two bytes per element.
    #[default]
    Bf16,
}

#[derive(Args, Debug)]
pub struct CollectiveArgs {
    /// The collective.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(COLLECTIVE_NAMES))]
    pub name: String,
    /// The cluster: a preset (see `davinci clusters`) or a .toml file.
    #[arg(long, value_name = "NAME|FILE", default_value = "cloudmatrix384")]
    pub cluster: String,
    /// Devices (chips) taking part, numbered from the first chip of the first node.
    #[arg(long)]
    pub devices: usize,
    /// Bytes per device (all-reduce buffer, all-gather output, reduce-scatter input, all-to-all send).
    #[arg(long, conflicts_with_all = ["tokens", "hidden", "topk"])]
    pub bytes: Option<u64>,
    /// MoE: tokens each device routes.
    #[arg(long, requires_all = ["hidden", "topk"])]
    pub tokens: Option<usize>,
    /// MoE: hidden size of a token.
    #[arg(long)]
    pub hidden: Option<usize>,
    /// MoE: experts per token.
    #[arg(long)]
    pub topk: Option<usize>,
    /// MoE: routed experts, spread evenly over the devices.
    #[arg(long, default_value_t = 256)]
    pub experts: usize,
    /// MoE: element type on the wire.
    #[arg(long, value_enum, default_value_t)]
    pub dtype: WireDtype,
    /// MoE on an Ascend cluster: DeepEP-Ascend's normal kernels (prefill, training) or its low-latency
    /// ones (decode); auto takes low-latency up to 128 tokens per device (the batch its README gives).
    #[arg(long, value_enum, default_value_t)]
    pub moe_mode: MoeModeArg,
    /// What one device is: a chip, or one die of it (a 910C shows each die as a device, and
    /// DeepEP-Ascend's expert-parallel ranks are dies).
    #[arg(long, value_enum, default_value_t)]
    pub rank: RankArg,
}

/// `--moe-mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MoeModeArg {
    #[default]
    Auto,
    Normal,
    LowLatency,
}

/// `--rank`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RankArg {
    #[default]
    Chip,
    Die,
}

pub fn run(a: &CollectiveArgs) -> Result<Outcome, CliError> {
    let cluster = ClusterSpec::resolve(&a.cluster).map_err(|e| CliError::usage(e.to_string()))?;
    let moe = match (a.tokens, a.hidden, a.topk) {
        (Some(tokens), Some(hidden), Some(top_k)) => Some(MoeArgs {
            tokens,
            hidden,
            top_k,
            experts: a.experts,
            bytes_per_elem: match a.dtype {
                WireDtype::Int8 => 1.0,
                WireDtype::Bf16 => 2.0,
            },
            mode: match a.moe_mode {
                MoeModeArg::Auto => None,
                MoeModeArg::Normal => Some(MoeMode::Normal),
                MoeModeArg::LowLatency => Some(MoeMode::LowLatency),
            },
        }),
        _ => None,
    };
    let r = CollectiveRequest {
        name: a.name.clone(),
        cluster,
        devices: a.devices,
        bytes: a.bytes,
        moe,
        rank: match a.rank {
            RankArg::Chip => RankUnit::Chip,
            RankArg::Die => RankUnit::Die,
        },
    };
    Ok(collective_run::run(&r)?)
}

//! The Ascend cluster presets: `cloudmatrix384` and `atlas800-a2` (the NVIDIA systems are in
//! [`super::presets_gpu`]). Every number names its source; the tags are
//! those of `reference/ascend.md` in the shared folder ([O] official, [O-model] a Huawei tool's model,
//! [A] Huawei-authored arXiv preprint, [Press]); an assumption says so.

use super::topology::{CLUSTER_NAMES, ClusterSpec};
use crate::chip::{ChipSpec, Sourced};
use crate::{Error, Result};

fn s(value: f64, source: impl Into<String>) -> Sourced {
    Sourced::new(value, source)
}

const CM_PAPER: &str = "CloudMatrix384 paper, arXiv 2506.12708 [A], ascend.md";
const MSMODELING: &str = "msmodeling's tier model [O-model], ascend.md CloudMatrix 384 section";

/// CloudMatrix 384: 384 Ascend 910C in 48 nodes of 8, one unified-bus fabric (two switch levels, non-blocking)
/// and an RDMA plane.
pub fn cloudmatrix384() -> ClusterSpec {
    ClusterSpec {
        name: "cloudmatrix384".into(),
        summary: "Huawei CloudMatrix 384: 384 Ascend 910C in 48 nodes of 8 on an all-to-all optical unified bus".into(),
        chip: crate::chip::presets::ascend_910c().into(),
        nodes: s(48.0, format!("48 nodes: {CM_PAPER}")),
        chips_per_node: s(8.0, format!("8 NPUs per node: {CM_PAPER}")),
        die_link_gb_per_s: s(224.0, format!("{MSMODELING}: die-to-die 224 GB/s (press says 400 GB/s; no official figure)")),
        die_link_latency_us: s(0.2, format!("{MSMODELING}: die-to-die 0.2 us")),
        node_gb_per_s: s(196.0, format!("{MSMODELING}: within node 196 GB/s per die; the paper measures NPU -> NPU reads at 196 GB/s and gives 392 GB/s per NPU (7 UB links per die) [A]")),
        node_peer_gb_per_s: s(196.0, "switched fabric (7 first-level UB switch chips per node) [A]: one peer can take the whole injection bandwidth"),
        node_latency_us: s(0.5, format!("{MSMODELING}: within node 0.5 us (the paper measures 1.2 us for a read [A])")),
        fabric_gb_per_s: s(196.0, format!("{MSMODELING}: between nodes 196 GB/s (the paper: crossing nodes costs < 3% bandwidth [A])")),
        fabric_peer_gb_per_s: s(196.0, "non-blocking second switch level (7 sub-planes x 16 chips) [A]: one peer can take the whole injection bandwidth"),
        fabric_latency_us: s(5.5, format!("{MSMODELING}: between nodes 5.5 us (the paper says < 1 us more than within a node [A]; the model follows msmodeling)")),
        rdma_gb_per_s: s(25.0, format!("200 Gbps per die: {CM_PAPER}")),
        direct: s(1.0, format!("non-blocking all-to-all unified bus: {CM_PAPER}")),
        switch_reduction: s(
            0.0,
            "assumption: no in-network reduction is documented for the UB switches; all-reduces run on the NPUs",
        ),
        optics: s(6912.0, "6,912 optical transceivers (18 per NPU) [Press; seed], ascend.md"),
        optics_w: s(
            8.0,
            "assumption: about 8 W per 400G/800G linear pluggable optic (no DSP); not a Huawei figure",
        ),
        other_power_kw: s(
            559.0 - 384.0 * 0.35 - 6912.0 * 8.0e-3,
            "derived residual: the press/SemiAnalysis system total of about 559 kW [Press; seed] minus the chips \
             (384 x 350 W) and the optics; covers 192 Kunpeng CPUs, 448 UB switch chips, memory, fans and power \
             conversion (no finer public breakdown)",
        ),
    }
}

/// An Atlas 800T A2 training server: 8 Ascend 910B2 in one node, full-mesh HCCS.
pub fn atlas800_a2() -> ClusterSpec {
    let hccs = "HCCS full mesh, 7 links x 56 GB/s per direction per NPU: assumption, reading the 392 GB/s quoted \
                for 910B as per direction, which FlagPerf's P2P measurement between two NPUs of an Atlas 800T A2 \
                (54.68 GB/s [C], 98% of one link) supports; not in reference/ascend.md";
    ClusterSpec {
        name: "atlas800-a2".into(),
        summary: "Atlas 800T A2-style server: 8 Ascend 910B2 in one node, full-mesh HCCS".into(),
        chip: ChipSpec::preset("910b2").unwrap_or_default().into(),
        nodes: s(1.0, "one server"),
        chips_per_node: s(
            8.0,
            "8 NPUs per Atlas 800T A2 server [O: hiascend product docs]",
        ),
        die_link_gb_per_s: s(0.0, "not applicable: 910B is one die"),
        die_link_latency_us: s(0.0, "not applicable: 910B is one die"),
        node_gb_per_s: s(392.0, hccs),
        node_peer_gb_per_s: s(56.0, format!("one HCCS link: {hccs}")),
        node_latency_us: s(
            1.0,
            "assumption: about 1 us per HCCS message (no figure in the reference)",
        ),
        fabric_gb_per_s: s(
            25.0,
            "RoCE 200 Gbps per NPU between servers: assumption from the 200G ports of Atlas 800 servers; only \
             used by custom clusters of several nodes",
        ),
        fabric_peer_gb_per_s: s(25.0, "RoCE: one port per NPU (assumption)"),
        fabric_latency_us: s(
            5.5,
            "assumption: as msmodeling's between-node figure [O-model]",
        ),
        rdma_gb_per_s: s(25.0, "200 Gbps RoCE per NPU (assumption)"),
        direct: s(
            1.0,
            "full mesh: every NPU has its own link to every other [assumption]",
        ),
        switch_reduction: s(0.0, "full mesh: no switch to reduce in"),
        optics: s(0.0, "copper within the server"),
        optics_w: s(0.0, "no optics"),
        other_power_kw: s(
            0.0,
            "assumption: not counted (no figure in the reference); energy covers the NPUs only",
        ),
    }
}

// The lookup by name lives beside the presets, so that the topology does not depend on them.
impl ClusterSpec {
    /// A preset by name.
    pub fn preset(name: &str) -> Result<ClusterSpec> {
        match name {
            "cloudmatrix384" | "cm384" => Ok(cloudmatrix384()),
            "atlas800-a2" => Ok(atlas800_a2()),
            "dgx-h100" => Ok(super::presets_gpu::dgx_h100()),
            "h800-cluster" => Ok(super::presets_gpu::h800_cluster()),
            "dgx-b200" => Ok(super::presets_gpu::dgx_b200()),
            "gb200-nvl72" | "nvl72" => Ok(super::presets_gpu::gb200_nvl72()),
            _ => Err(Error::Invalid(format!(
                "unknown cluster '{name}': the presets are {}; or give a path to a cluster .toml file",
                CLUSTER_NAMES.join(", ")
            ))),
        }
    }

    /// Every preset, the default first.
    pub fn presets() -> Vec<ClusterSpec> {
        CLUSTER_NAMES
            .iter()
            .filter_map(|n| Self::preset(n).ok())
            .collect()
    }

    /// A preset name, or a path to a cluster TOML file.
    pub fn resolve(name_or_path: &str) -> Result<ClusterSpec> {
        if let Ok(c) = Self::preset(name_or_path) {
            return Ok(c);
        }
        let path = std::path::Path::new(name_or_path);
        if name_or_path.ends_with(".toml") || crate::files::names_a_file(path) {
            let text =
                crate::files::read_text_bounded(path, "cluster file", crate::files::MAX_TEXT_FILE)?;
            return Self::from_toml(&text, name_or_path);
        }
        Self::preset(name_or_path)
    }
}

//! The NVIDIA system presets, for the comparison with CloudMatrix 384: `dgx-h100`, `h800-cluster`,
//! `dgx-b200`, `gb200-nvl72`. Their GPUs are [`crate::gpu`]'s presets; every number names its source (the
//! tags of the project's reference notes on NVIDIA systems: [O] official, (via 2nd) an official figure seen
//! in a secondary copy, [C] community, [P]/[A] paper or arXiv, [Press]); an assumption says so. A "node"
//! here is one NVLink domain: 8 GPUs behind NVSwitch in a DGX, 72 in an NVL72 rack; between domains the
//! InfiniBand NICs carry the traffic. Link figures are per GPU and per direction (datasheets quote NVLink
//! both ways).

use super::topology::ClusterSpec;
use crate::chip::Sourced;
use crate::gpu::presets::{b200, gb200, h100_sxm, h800};

fn s(value: f64, source: impl Into<String>) -> Sourced {
    Sourced::new(value, source)
}

/// What every NVIDIA preset shares: one device per GPU, NVSwitch within the domain, IB between.
fn nvidia(
    name: &str,
    summary: &str,
    gpu: crate::gpu::GpuSpec,
    nodes: Sourced,
    per_node: Sourced,
    other_kw: Sourced,
) -> ClusterSpec {
    let nvlink = gpu.nvlink_gb_per_s.clone();
    let nic = gpu.nic_gb_per_s.clone();
    ClusterSpec {
        name: name.into(),
        summary: summary.into(),
        nodes,
        chips_per_node: per_node,
        die_link_gb_per_s: s(0.0, "not applicable: a GPU is one device"),
        die_link_latency_us: s(0.0, "not applicable: a GPU is one device"),
        node_gb_per_s: s(
            nvlink.value,
            format!("NVLink per GPU, each way: {}", nvlink.source),
        ),
        node_peer_gb_per_s: s(
            nvlink.value,
            "NVSwitch: every GPU reaches every other at its full NVLink bandwidth [O (via 2nd)]",
        ),
        node_latency_us: s(
            0.5,
            "assumption: the 0.5 us the CloudMatrix preset takes within a node (msmodeling), so that the \
             comparison does not rest on it; no NVLink latency in the references",
        ),
        fabric_gb_per_s: s(nic.value, format!("one NIC per GPU: {}", nic.source)),
        fabric_peer_gb_per_s: s(
            nic.value,
            "assumption: a rail-optimised non-blocking InfiniBand fabric (one peer can take the NIC's bandwidth)",
        ),
        fabric_latency_us: s(
            5.5,
            "assumption: the CloudMatrix preset's between-node 5.5 us (msmodeling); no IB latency in the references",
        ),
        rdma_gb_per_s: s(nic.value, format!("InfiniBand per GPU: {}", nic.source)),
        direct: s(
            1.0,
            "NVSwitch is non-blocking within the domain; a non-blocking fat tree between (assumption)",
        ),
        switch_reduction: s(
            1.0,
            "NVSwitch SHARP (NVLS) offloads all-reduce (\"2X increase in all-reduce throughput\", NVIDIA H200 \
             page copy) [O (via 2nd)]; assumed for the Blackwell NVLink switches too",
        ),
        optics: s(
            0.0,
            "copper NVLink within the domain; the IB network's optics are not counted",
        ),
        optics_w: s(0.0, "no optics counted"),
        other_power_kw: other_kw,
        chip: gpu.into(),
    }
}

/// DGX H100: 8 H100 SXM on 4 NVSwitch chips.
pub fn dgx_h100() -> ClusterSpec {
    nvidia(
        "dgx-h100",
        "NVIDIA DGX H100: 8 H100 SXM on NVSwitch (900 GB/s per GPU), 8 x 400G InfiniBand, 10.2 kW",
        h100_sxm(),
        s(1.0, "one DGX system"),
        s(8.0, "8 x H100 [O (via 2nd): DGX H100/H200 user guide]"),
        s(
            10.2 - 8.0 * 0.7,
            "derived residual: 10.2 kW max system power (DGX H100/H200 user guide) [O (via 2nd)] minus 8 x \
             700 W GPUs: 2 Xeon 8480C, NVSwitch, NICs, fans, power conversion",
        ),
    )
}

/// A DeepSeek-style training cluster of H800 nodes (8 GPUs on NVSwitch at 400 GB/s, 8 x 400G IB).
pub fn h800_cluster() -> ClusterSpec {
    let nodes = 256.0;
    let mut c = nvidia(
        "h800-cluster",
        "H800 cluster: 256 nodes of 8 H800 (NVLink 400 GB/s), 8 x 400G InfiniBand per node, as DeepSeek-V3 trained on",
        h800(),
        s(
            nodes,
            "assumption: 256 nodes, the 2,048 H800 of DeepSeek-V3's training cluster (arXiv 2412.19437) [A]; \
             set `nodes` in a cluster file (and `other_power_kw`, which counts 4.6 kW per node)",
        ),
        s(
            8.0,
            "8 H800 per node, the DGX layout with slower NVLink (DeepSeek ISCA'25) [P/A]",
        ),
        s(
            nodes * (10.2 - 8.0 * 0.7),
            "assumption: the DGX H100's residual per node (10.2 kW max [O (via 2nd)] minus 8 x 700 W) x 256 \
             nodes; the IB switches are not counted",
        ),
    );
    c.optics = s(
        nodes * 8.0 * 2.0,
        "assumption: one optical link per NIC to its leaf switch, a transceiver at each end (8 NICs per node); \
         switch-to-switch links not counted",
    );
    c.optics_w = s(
        8.0,
        "assumption: the CloudMatrix preset's 8 W per 400G optic, so that the comparison does not rest on it",
    );
    c
}

/// DGX B200: 8 B200 on two NVLink5 switch chips.
pub fn dgx_b200() -> ClusterSpec {
    nvidia(
        "dgx-b200",
        "NVIDIA DGX B200: 8 B200 on 2 NVLink5 switches (1.8 TB/s per GPU), 8 x 400G InfiniBand, 14.3 kW",
        b200(),
        s(1.0, "one DGX system"),
        s(
            8.0,
            "8 x B200, \"2 x 5th generation NVLink switches that provide 14.4 TB/s aggregate bandwidth\" (DGX B200 \
             user guide) [O]",
        ),
        s(
            14.3 - 8.0 * 1.0,
            "derived residual: 14.3 kW max (DGX B200 user guide) [O] minus 8 x 1,000 W GPUs: 2 Xeon 8570, NVLink \
             switches, NICs, fans, power conversion",
        ),
    )
}

/// GB200 NVL72: 72 Blackwell GPUs and 36 Grace CPUs in one NVLink domain.
pub fn gb200_nvl72() -> ClusterSpec {
    nvidia(
        "gb200-nvl72",
        "NVIDIA GB200 NVL72: 72 Blackwell GPUs in one NVLink domain (130 TB/s), 36 Grace, ~145 kW all-in",
        gb200(),
        s(1.0, "one rack, one NVLink domain"),
        s(
            72.0,
            "72 GPUs: 18 compute trays of 2 GB200 superchips (4 GPUs) and 9 NVLink switch trays [O (via 2nd)]",
        ),
        s(
            145.0 - 72.0 * 1.2,
            "derived residual: SemiAnalysis's all-in 145 kW [C/Press] (the figure its CloudMatrix 384 comparison \
             uses) minus 72 x 1,200 W GPUs: 36 Grace CPUs, 9 NVLink switch trays, NICs, fans, power conversion \
             (Supermicro's breakdown: 18 compute trays ~6.5 kW each plus 9 switch trays 3.6 kW [C])",
        ),
    )
}

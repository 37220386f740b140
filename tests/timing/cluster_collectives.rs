//! The collective cost models: the ring all-reduce formula, monotonicity in bandwidth, latency, bytes and
//! group placement, the best algorithm never slower than the ring, MoE dispatch volumes.

use davinci::cluster::collectives::{
    Algorithm, Collective, Group, MoeTraffic, all_gather, all_reduce_options, all_to_all,
    best_all_reduce, moe_exchange, reduce_scatter, ring_all_reduce,
};
use davinci::cluster::topology::{Link, Tier};
use davinci::cluster::{ClusterSpec, RankUnit};
use davinci::units::{Bytes, BytesPerSec, Nanos};
use proptest::prelude::*;

fn link(gb: f64, peer_gb: f64, us: f64, direct: bool) -> Link {
    Link {
        tier: Tier::Node,
        bw: BytesPerSec(gb * 1e9),
        peer_bw: BytesPerSec(peer_gb * 1e9),
        latency: Nanos(us * 1e3),
        direct,
        in_network: false,
    }
}

#[test]
fn ring_all_reduce_follows_the_textbook_formula() {
    for (n, s, gb, us) in [
        (8, 1e9, 196.0, 0.5),
        (2, 4096.0, 224.0, 0.2),
        (384, 3.2e8, 196.0, 5.5),
    ] {
        let l = link(gb, gb, us, false);
        let want = 2.0 * (n as f64 - 1.0) / n as f64 * s / (gb * 1e9) * 1e9
            + 2.0 * (n as f64 - 1.0) * us * 1e3;
        let got = ring_all_reduce(n, Bytes(s), &l).0;
        assert!((got / want - 1.0).abs() < 1e-12, "n={n}: {got} vs {want}");
        // Without a direct path the ring (or halving-doubling) is what the fabric allows.
        let opts = all_reduce_options(&Group::flat(n, l), Bytes(s));
        assert!(
            opts.iter()
                .any(|c| c.algorithm == Algorithm::Ring && c.time.0 == got)
        );
        assert!(!opts.iter().any(|c| c.algorithm == Algorithm::Direct));
    }
    assert_eq!(
        ring_all_reduce(1, Bytes(1e9), &link(1.0, 1.0, 1.0, true)),
        Nanos::ZERO
    );
}

#[test]
fn the_best_algorithm_is_never_slower_than_the_ring() {
    let l = link(196.0, 196.0, 5.5, true);
    for n in [2, 3, 8, 16, 48, 384] {
        for s in [1e3, 1e6, 1e9] {
            let g = Group::flat(n, l);
            let best = best_all_reduce(&g, Bytes(s));
            assert!(best.time.0 <= ring_all_reduce(n, Bytes(s), &l).0);
        }
    }
    // Small messages on a non-blocking fabric: latency-bound, so direct (2 rounds) wins over the ring.
    let small = best_all_reduce(&Group::flat(64, l), Bytes(1e4));
    assert_eq!(small.algorithm, Algorithm::Direct);
}

fn all_costs(g: &Group, s: f64) -> Vec<f64> {
    let traffic = MoeTraffic {
        tokens: 4096,
        hidden: 7168,
        top_k: 8,
        experts: 256,
        ep: g.n,
        bytes_per_elem: 1.0,
    };
    vec![
        best_all_reduce(g, Bytes(s)).time.0,
        all_gather(g, Bytes(s)).time.0,
        reduce_scatter(g, Bytes(s)).time.0,
        all_to_all(g, Bytes(s)).time.0,
        moe_exchange(Collective::Dispatch, g, &traffic).time.0,
    ]
}

proptest! {
    #[test]
    fn more_bandwidth_or_less_latency_is_never_slower(
        n in 2usize..512, s in 1.0f64..1e10, gb in 1.0f64..1000.0, peer in 0.05f64..1.0,
        us in 0.0f64..10.0, more in 1.0f64..4.0, direct in any::<bool>(),
    ) {
        let base = Group::flat(n, link(gb, gb * peer, us, direct));
        let faster = Group::flat(n, link(gb * more, gb * peer * more, us, direct));
        let quicker = Group::flat(n, link(gb, gb * peer, us / more, direct));
        for ((a, b), c) in all_costs(&base, s).into_iter().zip(all_costs(&faster, s)).zip(all_costs(&quicker, s)) {
            prop_assert!(b <= a * (1.0 + 1e-12), "bandwidth x{more}: {b} > {a}");
            prop_assert!(c <= a * (1.0 + 1e-12), "latency / {more}: {c} > {a}");
        }
        // More bytes never take less time.
        for (a, b) in all_costs(&base, s).into_iter().zip(all_costs(&base, s * more)) {
            prop_assert!(b >= a * (1.0 - 1e-12));
        }
        // Fewer devices on the same link never take longer (ring all-reduce).
        let l = link(gb, gb * peer, us, direct);
        prop_assert!(ring_all_reduce(n - 1, Bytes(s), &l).0 <= ring_all_reduce(n, Bytes(s), &l).0 * (1.0 + 1e-12));
    }
}

#[test]
fn fewer_hops_never_make_a_collective_slower() {
    let c = ClusterSpec::preset("cloudmatrix384").unwrap();
    for unit in [RankUnit::Chip, RankUnit::Die] {
        let rpn = c.ranks_per_chip(unit) * c.chips_per_node();
        // The same n devices: neighbours in one node, or one per node.
        for n in [2, 4, 8] {
            let near = c.group(unit, n, 1);
            let far = c.group(unit, n, rpn);
            assert_eq!(far.link.tier, Tier::Fabric);
            for s in [1e4, 1e7, 1e9] {
                for (a, b) in all_costs(&near, s).into_iter().zip(all_costs(&far, s)) {
                    assert!(a <= b, "{unit:?} n={n} s={s}: near {a} > far {b}");
                }
            }
        }
    }
    // Two dies of one chip talk over the die link; a chip-sized tp=8 group stays in its node.
    assert_eq!(c.group(RankUnit::Die, 2, 1).link.tier, Tier::DieLink);
    assert_eq!(c.group(RankUnit::Chip, 8, 1).link.tier, Tier::Node);
    assert_eq!(c.group(RankUnit::Chip, 16, 1).link.tier, Tier::Fabric);
    // A group that straddles a node boundary pays the outer tier.
    assert_eq!(c.group(RankUnit::Chip, 3, 1).link.tier, Tier::Fabric);
    // Across nodes with 8 members per node, the hierarchical all-reduce is on offer.
    let g = c.group(RankUnit::Chip, 48, 1);
    assert_eq!(g.inner.map(|(k, _)| k), Some(8));
}

#[test]
fn moe_dispatch_volume_follows_tokens_topk_placement_and_bytes() {
    let t = |ep: usize, k: usize, b: f64| MoeTraffic {
        tokens: 1000,
        hidden: 7168,
        top_k: k,
        experts: 256,
        ep,
        bytes_per_elem: b,
    };
    assert_eq!(t(1, 8, 1.0).bytes(), Bytes(0.0));
    // top-1: a token leaves its device unless its expert is local, probability (ep-1)/ep.
    let one = t(8, 1, 2.0);
    assert!((one.remote_devices_per_token() - 7.0 / 8.0).abs() < 1e-12);
    assert!((one.bytes().0 - 1000.0 * 7.0 / 8.0 * 7168.0 * 2.0).abs() < 1e-6);
    // top-8 over 256 devices (one expert each): 8 experts, nearly always 8 other devices.
    let spread = t(256, 8, 1.0).remote_devices_per_token();
    assert!(spread > 7.5 && spread <= 8.0, "{spread}");
    // More devices, more top-k, more bytes: never less traffic; a token is sent to a device at most once.
    let mut last = 0.0;
    for ep in [1, 2, 4, 8, 16, 32, 64, 128, 256] {
        let v = t(ep, 8, 1.0).remote_devices_per_token();
        assert!(
            v >= last && v <= (ep as f64 - 1.0).min(8.0) + 1e-12,
            "ep={ep}: {v}"
        );
        last = v;
    }
    assert!(t(8, 8, 1.0).bytes().0 > t(8, 2, 1.0).bytes().0);
    assert_eq!(t(8, 8, 2.0).bytes().0, 2.0 * t(8, 8, 1.0).bytes().0);
    // The exchange moves that volume at the injection bandwidth at best.
    let g = Group::flat(8, link(196.0, 196.0, 0.5, true));
    let c = moe_exchange(Collective::Dispatch, &g, &t(8, 8, 1.0));
    assert!(c.time.0 >= c.bytes.0 / 196.0 + 500.0 - 1e-6);
}

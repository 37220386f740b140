//! MoE dispatch and combine as DeepEP-Ascend's kernels (`cluster::moe_kernel`): each mechanism moves the
//! time in the direction the hardware shows, the kernel is never faster than the plain all-to-all-v
//! bound, and the cluster step and `davinci collective` use the same model.

use davinci::chip::ChipSpec;
use davinci::cluster::collectives::{Collective, Group, MoeTraffic, moe_exchange};
use davinci::cluster::moe_kernel::{MoeMode, deepep_bandwidth, moe_kernel};
use davinci::cluster::topology::{Link, Tier};
use davinci::units::{BytesPerSec, Nanos};
use proptest::prelude::*;

fn die() -> ChipSpec {
    // One die of a 910C, as a DeepEP-Ascend rank sees it.
    let mut c = ChipSpec::preset("910c").expect("910c preset");
    c.dies.value = 1.0;
    c
}

fn group(n: usize, gb: f64, us: f64) -> Group {
    Group::flat(
        n,
        Link {
            tier: Tier::Node,
            bw: BytesPerSec(gb * 1e9),
            peer_bw: BytesPerSec(gb * 1e9),
            latency: Nanos(us * 1e3),
            direct: true,
            in_network: false,
        },
    )
}

fn traffic(tokens: usize, ep: usize, bytes_per_elem: f64) -> MoeTraffic {
    MoeTraffic {
        tokens,
        hidden: 7168,
        top_k: 8,
        experts: 256,
        ep,
        bytes_per_elem,
    }
}

fn us(kind: Collective, mode: MoeMode, g: &Group, tr: &MoeTraffic, c: &ChipSpec) -> f64 {
    moe_kernel(kind, mode, g, tr, c).total.0 / 1e3
}

#[test]
fn int8_dispatch_pays_the_quantisation_on_the_vector_unit() {
    let (c, g) = (die(), group(8, 196.0, 0.5));
    let p = moe_kernel(
        Collective::Dispatch,
        MoeMode::LowLatency,
        &g,
        &traffic(128, 8, 1.0),
        &c,
    );
    assert!(p.quant.0 > 0.0, "an INT8 dispatch quantises: {p:?}");
    let bf16 = moe_kernel(
        Collective::Dispatch,
        MoeMode::LowLatency,
        &g,
        &traffic(128, 8, 2.0),
        &c,
    );
    assert_eq!(
        bf16.quant.0, 0.0,
        "a bf16 dispatch sends the rows as they are"
    );
    // A slower Vector unit makes the INT8 dispatch slower.
    let mut slow = c.clone();
    slow.vec_one_input_bytes_per_cycle.value /= 4.0;
    slow.vec_reduce_bytes_per_cycle.value /= 4.0;
    let tr = traffic(128, 8, 1.0);
    assert!(
        us(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &slow)
            > us(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &c)
    );
}

#[test]
fn per_message_costs_dominate_small_batches() {
    // At 128 tokens the kernel is far slower than the bytes over the link: every (token, expert) pair is
    // its own message with a waited load (the published low-latency kernels take 126-153 us).
    let (c, g) = (die(), group(8, 196.0, 0.5));
    for (kind, b) in [(Collective::Dispatch, 1.0), (Collective::Combine, 2.0)] {
        let tr = traffic(128, 8, b);
        let kernel = us(kind, MoeMode::LowLatency, &g, &tr, &c);
        let plain = moe_exchange(kind, &g, &tr).time.0 / 1e3;
        assert!(
            kernel > 2.0 * plain,
            "{kind:?}: kernel {kernel} us, all-to-all-v {plain} us"
        );
    }
    // A longer load-to-use latency makes both slower.
    let mut slow = c.clone();
    slow.gm_load_latency_us.value *= 2.0;
    let tr = traffic(128, 8, 1.0);
    assert!(
        us(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &slow)
            > us(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &c)
    );
}

#[test]
fn the_normal_kernels_pay_the_metadata_kernel_and_the_host_round_trip() {
    let (c, g) = (die(), group(8, 196.0, 0.5));
    let tr = traffic(128, 8, 1.0);
    let normal = moe_kernel(Collective::Dispatch, MoeMode::Normal, &g, &tr, &c);
    let ll = moe_kernel(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &c);
    assert!(normal.setup.0 > ll.setup.0 + c.framework_dispatch_us.value * 1e3 * 0.99);
    // Rounds of 1024 tokens add a barrier each.
    let one = moe_kernel(
        Collective::Dispatch,
        MoeMode::Normal,
        &g,
        &traffic(1024, 8, 1.0),
        &c,
    );
    let four = moe_kernel(
        Collective::Dispatch,
        MoeMode::Normal,
        &g,
        &traffic(4096, 8, 1.0),
        &c,
    );
    assert!(four.sync.0 > one.sync.0);
}

#[test]
fn deepep_bandwidth_counts_as_its_tests_do() {
    let (c, g) = (die(), group(8, 196.0, 0.5));
    let tr = traffic(4096, 8, 1.0);
    let p = moe_kernel(Collective::Dispatch, MoeMode::Normal, &g, &tr, &c);
    // Normal: the received rows in bf16 (4096 x 8 rows of 7168 x 2 bytes) over the time.
    let expect = 4096.0 * 8.0 * 7168.0 * 2.0 / (p.total.0 * 1e-9);
    let got = deepep_bandwidth(Collective::Dispatch, &tr, &p).0;
    assert!((got - expect).abs() <= 1e-9 * expect, "{got} vs {expect}");
    // Low-latency dispatch: 128 x 8 pairs of 7168 + 7168 / 128 * 4 + 16 = 7408 bytes (test_low_latency.py).
    let tr = traffic(128, 8, 1.0);
    let p = moe_kernel(Collective::Dispatch, MoeMode::LowLatency, &g, &tr, &c);
    let expect = 128.0 * 8.0 * 7408.0 / (p.total.0 * 1e-9);
    let got = deepep_bandwidth(Collective::Dispatch, &tr, &p).0;
    assert!((got - expect).abs() <= 1e-9 * expect, "{got} vs {expect}");
}

proptest! {
    #[test]
    fn more_tokens_latency_or_less_bandwidth_is_never_faster(
        tokens in 1usize..8192, ep in 2usize..256, gb in 10.0f64..400.0, lat in 0.1f64..6.0,
        more in 1.0f64..3.0, int8 in any::<bool>(), normal in any::<bool>(), combine in any::<bool>(),
    ) {
        let c = die();
        let kind = if combine { Collective::Combine } else { Collective::Dispatch };
        let mode = if normal { MoeMode::Normal } else { MoeMode::LowLatency };
        let b = if int8 && !combine { 1.0 } else { 2.0 };
        let base = us(kind, mode, &group(ep, gb, lat), &traffic(tokens, ep, b), &c);
        prop_assert!(base.is_finite() && base > 0.0);
        let more_tokens = us(kind, mode, &group(ep, gb, lat), &traffic(tokens + 64, ep, b), &c);
        let slower_link = us(kind, mode, &group(ep, gb / more, lat), &traffic(tokens, ep, b), &c);
        let longer = us(kind, mode, &group(ep, gb, lat * more), &traffic(tokens, ep, b), &c);
        prop_assert!(more_tokens >= base);
        prop_assert!(slower_link >= base);
        prop_assert!(longer >= base);
        // Never faster than the bytes over the rank's link (the plain exchange's bound).
        let plain = moe_exchange(kind, &group(ep, gb, lat), &traffic(tokens, ep, b)).time.0 / 1e3;
        prop_assert!(base >= plain * 0.999, "kernel {} us < all-to-all-v {} us", base, plain);
    }
}

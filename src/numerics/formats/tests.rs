//! Unit tests of the format conversions; the third-party checks (every code and input class against
//! `ml_dtypes`) are in tests/numerics/golden_formats.rs.

use super::*;
use half::f16;

#[test]
fn philox_matches_the_random123_known_answers() {
    // Random123's kat_vectors, philox2x32 10.
    assert_eq!(philox2x32([0, 0], 0), [0xff1d_ae59, 0x6cd1_0df2]);
    assert_eq!(
        philox2x32([0xffff_ffff, 0xffff_ffff], 0xffff_ffff),
        [0x2c3f_628b, 0xab4f_d7ad]
    );
    assert_eq!(
        philox2x32([0x243f_6a88, 0x85a3_08d3], 0x1319_8a2e),
        [0xdd7c_e038, 0xf62a_4c12]
    );
    assert_eq!(philox_bits(0, 0), 0xff1d_ae59);
}

/// A deterministic sweep of f32 bit patterns.
fn sweep(n: usize) -> impl Iterator<Item = u32> {
    let mut x: u32 = 0x9abc_def1;
    (0..n).map(move |_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        x
    })
}

#[test]
fn fp16_agrees_with_half_both_ways() {
    for b in sweep(300_000) {
        let f = f32::from_bits(b);
        let ours = FP16.encode(b);
        if f.is_nan() {
            assert_eq!(ours & 0x7fff, 0x7e00, "{b:#x}");
        } else {
            assert_eq!(ours, f16::from_f32(f).to_bits() as u32, "input {b:#010x}");
        }
    }
    for code in 0..=0xffffu32 {
        let ours = f32::from_bits(FP16.decode(code));
        let theirs = f16::from_bits(code as u16).to_f32();
        assert!(ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan()));
    }
}

#[test]
fn bf16_as_a_minifloat_is_the_fast_path() {
    for b in sweep(200_000) {
        let fast = crate::numerics::bf16::f32_to_bf16_bits(f32::from_bits(b)) as u32;
        let generic = BF16.encode(b);
        if f32::from_bits(b).is_nan() {
            assert_eq!(generic & 0x7fc0, 0x7fc0);
        } else {
            assert_eq!(generic, fast, "{b:#010x}");
        }
    }
}

#[test]
fn every_code_survives_a_round_trip() {
    for f in [FP16, E4M3, E5M2, BF16] {
        let codes = 1u32 << (f.exp_bits + f.man_bits + 1);
        for code in 0..codes {
            let wide = f.decode(code);
            let back = f.encode(wide);
            if f32::from_bits(wide).is_nan() {
                assert_eq!(
                    back & !(1 << (f.exp_bits + f.man_bits)),
                    f.nan,
                    "{}",
                    f.name
                );
            } else {
                assert_eq!(back, code, "{} code {code:#x}", f.name);
            }
        }
    }
}

#[test]
fn e4m3_overflows_to_nan_and_e5m2_to_infinity() {
    let e = |x: f32| E4M3.encode(x.to_bits());
    assert_eq!(e(448.0), 0x7e);
    assert_eq!(e(449.0), 0x7e);
    assert_eq!(e(464.0), 0x7e); // the tie between 448 and 480 goes to the even 448
    assert_eq!(e(465.0), 0x7f);
    assert_eq!(e(f32::INFINITY), 0x7f);
    assert_eq!(e(f32::NEG_INFINITY), 0xff);
    assert_eq!(e(2f32.powi(-9)), 0x01); // the smallest subnormal
    assert_eq!(e(2f32.powi(-10)), 0x00); // half of it: a tie, to even zero
    assert_eq!(e(-0.0), 0x80);
    let f = |x: f32| E5M2.encode(x.to_bits());
    assert_eq!(f(57344.0), 0x7b);
    assert_eq!(f(61440.0), 0x7c); // the tie past the largest finite value rounds to infinity
    assert_eq!(f(f32::NAN), 0x7e);
    assert_eq!(f32::from_bits(E4M3.decode(0x7e)), 448.0);
    assert!(f32::from_bits(E4M3.decode(0xff)).is_nan());
    assert_eq!(f32::from_bits(E5M2.decode(0x7c)), f32::INFINITY);
}

#[test]
fn hf32_keeps_eleven_fraction_bits_ties_to_even() {
    let h = |b: u32| hf32_round_bits(b);
    assert_eq!(h(0x3f80_0000), 0x3f80_0000);
    assert_eq!(h(0x3f80_0800), 0x3f80_0000); // a tie at an even kept bit stays
    assert_eq!(h(0x3f80_1800), 0x3f80_2000); // a tie at an odd kept bit goes up
    assert_eq!(h(0x3f80_0801), 0x3f80_1000);
    assert_eq!(h(0x7f7f_ffff), 0x7f80_0000); // f32::MAX overflows to infinity
    assert_eq!(h(0x7f80_0000), 0x7f80_0000);
    assert!(f32::from_bits(h(0x7f80_0001)).is_nan());
    assert_eq!(h(0x0000_0fff), 0x0000_1000); // subnormals are kept and rounded alike
}

#[test]
fn integer_conversions_round_to_nearest_even() {
    for b in sweep(200_000) {
        let v = b as i32;
        assert_eq!(i32_to_f32_bits(v), (v as f32).to_bits(), "{v}");
    }
    for v in [
        i32::MIN,
        i32::MAX,
        16_777_217,
        -16_777_217,
        16_777_219,
        1,
        -1,
        0,
    ] {
        assert_eq!(i32_to_f32_bits(v), (v as f32).to_bits(), "{v}");
    }
    assert_eq!(f32_to_i8(2.5), 2);
    assert_eq!(f32_to_i8(3.5), 4);
    assert_eq!(f32_to_i8(-300.0), -128);
    assert_eq!(f32_to_i8(f32::NAN), 0);
    assert_eq!(f32_to_i32(3e9), i32::MAX);
    assert_eq!(f32_to_i32(-3e9), i32::MIN);
    assert_eq!(f32_to_i32(-2_147_483_648.0), i32::MIN);
    assert_eq!(f32_to_i32(f32::INFINITY), i32::MAX);
}

#[test]
fn stochastic_rounding_is_unbiased_and_reproducible() {
    // 10^6 roundings of one value to each format: the mean of the results must be the value within
    // 5 standard errors (the spacing times sqrt(p(1-p)/n)), and the same seed gives the same bits.
    let n = 1_000_000u32;
    for (f, x) in [
        (BF16, 1.0f32 + 3.0 * 2f32.powi(-10)),
        (FP16, 1.0 + 2f32.powi(-12)),
        (E4M3, 1.3),
        (E5M2, -0.3),
        (FP16, 1e-6), // fp16's subnormal range
    ] {
        let lo = f32::from_bits(f.decode(f.encode(x.abs().to_bits())));
        let mut sum = 0f64;
        let mut values = std::collections::BTreeSet::new();
        for i in 0..n {
            let code = f.encode_stochastic(x.to_bits(), philox_bits(7, i));
            let v = f32::from_bits(f.decode(code)) as f64;
            values.insert(code);
            sum += v;
        }
        assert!(
            values.len() <= 2,
            "{}: {} distinct results",
            f.name,
            values.len()
        );
        let mean = sum / n as f64;
        let spread: Vec<f64> = values
            .iter()
            .map(|&c| f32::from_bits(f.decode(c)) as f64)
            .collect();
        let gap = (spread[spread.len() - 1] - spread[0])
            .abs()
            .max(lo.abs() as f64 * 1e-3);
        let bound = 5.0 * gap * 0.5 / (n as f64).sqrt();
        assert!(
            (mean - x as f64).abs() <= bound,
            "{} of {x}: mean {mean}, off by {} (bound {bound})",
            f.name,
            (mean - x as f64).abs()
        );
        let again: Vec<u32> = (0..100)
            .map(|i| f.encode_stochastic(x.to_bits(), philox_bits(7, i)))
            .collect();
        let first: Vec<u32> = (0..100)
            .map(|i| f.encode_stochastic(x.to_bits(), philox_bits(7, i)))
            .collect();
        assert_eq!(again, first);
    }
    // A value the format holds is never moved.
    for i in 0..1000 {
        assert_eq!(
            FP16.encode_stochastic(1.5f32.to_bits(), philox_bits(1, i)),
            0x3e00
        );
    }
}

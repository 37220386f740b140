//! The Vector math library (`davinci::reference::vector_math`): division and square root bit for bit
//! against Rust's IEEE operations, max/min against the golden, every transcendental against the golden
//! bf16 results and, in f32 ulps, against an f64 evaluation.

use std::path::{Path, PathBuf};

use davinci::numerics::bf16::f32_to_bf16_bits;
use davinci::reference::vector_math::*;
use davinci::tensor::random::splitmix64;
use safetensors::SafeTensors;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/vector").join(name)
}

fn read_u16(st: &SafeTensors, name: &str) -> Vec<u16> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data().chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
}

/// Same value, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn edges() -> Vec<f32> {
    let mut bits = vec![
        0x0000_0000u32, 0x0000_0001, 0x0000_0002, 0x0000_0003, 0x007f_ffff, 0x007f_fffe, 0x0040_0000,
        0x0080_0000, 0x0080_0001, 0x00ff_ffff, 0x3f80_0000, 0x3f7f_ffff, 0x3f80_0001, 0x3fff_ffff,
        0x4000_0000, 0x3fc0_0000, 0x4040_0000, 0x7f7f_ffff, 0x7f7f_fffe, 0x7f00_0000, 0x7e80_0000,
        0x0100_0000, 0x3400_0000, 0x3380_0000, 0x4b80_0000, 0x4b7f_ffff, 0x7f80_0000, 0x7fc0_0000,
        0x7f80_0001, 0x7fc1_2345, 0x3eaa_aaab, 0x4049_0fdb, 0x0000_1000, 0x0012_3456,
    ];
    bits.extend((0..bits.len()).map(|i| bits[i] | 0x8000_0000).collect::<Vec<_>>());
    bits.into_iter().map(f32::from_bits).collect()
}

#[test]
fn div_matches_ieee_on_edges() {
    let e = edges();
    for &a in &e {
        for &b in &e {
            let (got, want) = (vm_div(a, b), a / b);
            assert!(same(got, want), "{a:e}/{b:e} ({:#x}/{:#x}): {:#x} != {:#x}", a.to_bits(), b.to_bits(), got.to_bits(), want.to_bits());
        }
    }
}

#[test]
fn div_matches_ieee_on_random_bits() {
    let check = |a: f32, b: f32| {
        let (got, want) = (vm_div(a, b), a / b);
        assert!(same(got, want), "{:#x}/{:#x}: {:#x} != {:#x}", a.to_bits(), b.to_bits(), got.to_bits(), want.to_bits());
    };
    for i in 0..4_000_000u64 {
        let z = splitmix64(11, i);
        check(f32::from_bits(z as u32), f32::from_bits((z >> 32) as u32));
    }
    // Quotients near the subnormal range and the underflow, and near overflow.
    for i in 0..2_000_000u64 {
        let z = splitmix64(12, i);
        let a = (z as u32) & 0x807f_ffff;
        let b = ((z >> 32) as u32) & 0x807f_ffff;
        let ea = (z >> 23) as u32 % 40; // a tiny or subnormal, b >= 1: results down past 2^-150
        let eb = 127 + ((z >> 29) as u32 % 30);
        check(f32::from_bits(a | (ea << 23)), f32::from_bits(b | (eb << 23)));
        let ea = 254 - (z >> 40) as u32 % 20; // a huge, b small: results near and past the overflow
        let eb = 100 + (z >> 50) as u32 % 40;
        check(f32::from_bits(a | (ea << 23)), f32::from_bits(b | (eb << 23)));
    }
    // Exact quotients and ties: (m * q) / q.
    for i in 0..500_000u64 {
        let z = splitmix64(13, i);
        let q = (z as u32 & 0xfff) | 1;
        let m = (z >> 32) as u32 & 0xfff;
        let e = (z >> 44) as i32 % 200 - 100;
        check((m * q) as f32 * 2f32.powi(e), q as f32);
    }
}

#[test]
fn sqrt_matches_ieee() {
    for &x in &edges() {
        assert!(same(vm_sqrt(x), x.sqrt()), "sqrt({:#x})", x.to_bits());
    }
    let check = |u: u32| {
        let x = f32::from_bits(u);
        let (got, want) = (vm_sqrt(x), x.sqrt());
        assert!(same(got, want), "sqrt({u:#x}): {:#x} != {:#x}", got.to_bits(), want.to_bits());
    };
    // Every subnormal, every value in [1, 4) (both exponent parities), random bits.
    (0..0x0080_0000u32).step_by(3).for_each(check);
    (0x3f80_0000..0x4080_0000u32).for_each(check);
    (0..3_000_000u64).for_each(|i| check(splitmix64(14, i) as u32));
    // Perfect squares and their neighbours.
    for n in 1..20_000u32 {
        let s = (n as f32) * (n as f32);
        for d in [-1i32, 0, 1] {
            check((s.to_bits() as i32 + d) as u32);
        }
    }
}

#[test]
fn recip_rsqrt_specials() {
    assert_eq!(vm_recip(-0.0).to_bits(), f32::NEG_INFINITY.to_bits());
    assert_eq!(vm_rsqrt(-0.0).to_bits(), f32::NEG_INFINITY.to_bits());
    assert_eq!(vm_rsqrt(f32::INFINITY).to_bits(), 0);
    assert!(vm_rsqrt(-1.0).is_nan());
    assert_eq!(vm_recip(4.0), 0.25);
}

#[test]
fn binary_ops_match_golden() {
    let bytes = std::fs::read(golden("binary_add_sub_mul_div_max.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let a = read_u16(&st, "a");
    let b = read_u16(&st, "b");
    type Op = fn(f32, f32) -> f32;
    let ops: [(&str, Op); 5] =
        [("add", vm_add), ("sub", vm_sub), ("mul", vm_mul), ("div", vm_div), ("max", vm_max)];
    for (name, op) in ops {
        let want = read_u16(&st, &format!("{name}_ref_bf16"));
        for i in 0..a.len() {
            let x = f32::from_bits((a[i] as u32) << 16);
            let y = f32::from_bits((b[i] as u32) << 16);
            let got = f32_to_bf16_bits(op(x, y));
            let w = want[i];
            let both_nan = (got & 0x7fff) > 0x7f80 && (w & 0x7fff) > 0x7f80;
            assert!(got == w || both_nan, "{name}({:#06x}, {:#06x}) = {got:#06x}, golden {w:#06x}", a[i], b[i]);
        }
    }
    // min mirrors max: of two zeros, the second operand.
    assert_eq!(vm_min(0.0, -0.0).to_bits(), 0x8000_0000);
    assert_eq!(vm_min(-0.0, 0.0).to_bits(), 0);
    assert_eq!(vm_max(0.0, -0.0).to_bits(), 0x8000_0000);
    assert!(vm_min(f32::NAN, 1.0).is_nan() && vm_min(1.0, f32::NAN).is_nan());
    assert_eq!(vm_min(-1.0, 2.0), -1.0);
    assert_eq!(vm_min(f32::from_bits(1), 0.0), 0.0);
    assert_eq!(vm_max(f32::from_bits(1), 0.0).to_bits(), 1);
}

/// Distance in bf16 steps between two non-NaN bf16 patterns (+0 and -0 one step apart).
fn bf16_steps(a: u16, b: u16) -> u32 {
    let key = |u: u16| if u & 0x8000 != 0 { !u as u32 & 0x7fff } else { u as u32 | 0x8000 };
    key(a).abs_diff(key(b))
}

type Unary = fn(f32) -> f32;

/// Every unary golden: within one bf16 step of `ref_bf16` for every finite input (the tolerance near
/// zero is therefore one bf16 ulp, down to the subnormal step 2^-133, tighter than an absolute 1e-6);
/// NaN, ±inf and the sign of zero exact.
#[test]
fn unary_goldens_within_one_bf16_ulp() {
    let cases: [(&str, Unary); 9] = [
        ("exp", vm_exp),
        ("log", vm_log),
        ("sqrt", vm_sqrt),
        ("rsqrt", vm_rsqrt),
        ("recip", vm_recip),
        ("tanh", vm_tanh),
        ("sigmoid", vm_sigmoid),
        ("silu", vm_silu),
        ("gelu_erf", vm_gelu),
    ];
    let mut failures = Vec::new();
    for (name, f) in cases {
        let bytes = std::fs::read(golden(&format!("unary_{name}_all_bf16.safetensors"))).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let x = read_u16(&st, "x");
        let want = read_u16(&st, "ref_bf16");
        let (mut exact, mut worst) = (0usize, 0u32);
        for i in 0..x.len() {
            let got = f32_to_bf16_bits(f(f32::from_bits((x[i] as u32) << 16)));
            let w = want[i];
            let (gn, wn) = ((got & 0x7fff) > 0x7f80, (w & 0x7fff) > 0x7f80);
            let ok = if gn || wn {
                gn && wn
            } else if (w & 0x7fff) == 0x7f80 || (w & 0x7fff) == 0 || (got & 0x7fff) == 0x7f80 {
                got == w || ((w & 0x7fff) == 0 && (got & 0x7fff) != 0 && bf16_steps(got, w) <= 1)
            } else {
                worst = worst.max(bf16_steps(got, w));
                bf16_steps(got, w) <= 1
            };
            exact += (got == w || (gn && wn)) as usize;
            if !ok && failures.len() < 20 {
                failures.push(format!("{name}({:#06x}) = {got:#06x}, golden {w:#06x}", x[i]));
            }
        }
        println!("{name:>9}: {exact} of {} bit-exact with ref_bf16, worst {worst} bf16 ulp", x.len());
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

//! The Vector math library's correctly rounded operations (`davinci::reference::vector_math`): the
//! shader's soft-float division and square root (`soft_div`, `soft_sqrt`) bit for bit against Rust's IEEE
//! operations (edge cases and random bit patterns), and the CPU twin's (`vm_div`, `vm_sqrt`: IEEE with
//! the NaN bits fixed) bit for bit against the soft-float ones, NaN payloads included,
//! reciprocal and rsqrt specials, and the binary ops (add, sub, mul, div, max) against the golden bf16
//! results, with min mirroring max. The transcendentals are in `tests/vector_math_transcendental.rs`.

use crate::common;
use davinci::numerics::bf16::f32_to_bf16_bits;
use davinci::reference::vector_math::*;
use davinci::tensor::random::splitmix64;

/// Same value, or both NaN (the host's NaN bits are its own).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The soft-float division against IEEE `/`, and the twin's against the soft-float one bit for bit.
fn div_agrees(a: f32, b: f32) -> Result<(), String> {
    let (soft, ieee, twin) = (soft_div(a, b), a / b, vm_div(a, b));
    if !same(soft, ieee) || soft.to_bits() != twin.to_bits() {
        return Err(format!(
            "{a:e}/{b:e} ({:#x}/{:#x}): soft {:#x}, IEEE {:#x}, twin {:#x}",
            a.to_bits(),
            b.to_bits(),
            soft.to_bits(),
            ieee.to_bits(),
            twin.to_bits()
        ));
    }
    Ok(())
}

fn edges() -> Vec<f32> {
    let mut bits = vec![
        0x0000_0000u32,
        0x0000_0001,
        0x0000_0002,
        0x0000_0003,
        0x007f_ffff,
        0x007f_fffe,
        0x0040_0000,
        0x0080_0000,
        0x0080_0001,
        0x00ff_ffff,
        0x3f80_0000,
        0x3f7f_ffff,
        0x3f80_0001,
        0x3fff_ffff,
        0x4000_0000,
        0x3fc0_0000,
        0x4040_0000,
        0x7f7f_ffff,
        0x7f7f_fffe,
        0x7f00_0000,
        0x7e80_0000,
        0x0100_0000,
        0x3400_0000,
        0x3380_0000,
        0x4b80_0000,
        0x4b7f_ffff,
        0x7f80_0000,
        0x7fc0_0000,
        0x7f80_0001,
        0x7fc1_2345,
        0x3eaa_aaab,
        0x4049_0fdb,
        0x0000_1000,
        0x0012_3456,
    ];
    bits.extend(
        (0..bits.len())
            .map(|i| bits[i] | 0x8000_0000)
            .collect::<Vec<_>>(),
    );
    bits.into_iter().map(f32::from_bits).collect()
}

#[test]
fn div_matches_ieee_on_edges() {
    let e = edges();
    for &a in &e {
        for &b in &e {
            div_agrees(a, b).unwrap();
        }
    }
}

#[test]
fn div_matches_ieee_on_random_bits() {
    let check = |a: f32, b: f32| div_agrees(a, b).unwrap();
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
        check(
            f32::from_bits(a | (ea << 23)),
            f32::from_bits(b | (eb << 23)),
        );
        let ea = 254 - (z >> 40) as u32 % 20; // a huge, b small: results near and past the overflow
        let eb = 100 + (z >> 50) as u32 % 40;
        check(
            f32::from_bits(a | (ea << 23)),
            f32::from_bits(b | (eb << 23)),
        );
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
    let check = |u: u32| {
        let x = f32::from_bits(u);
        let (soft, ieee, twin) = (soft_sqrt(x), x.sqrt(), vm_sqrt(x));
        assert!(
            same(soft, ieee) && soft.to_bits() == twin.to_bits(),
            "sqrt({u:#x}): soft {:#x}, IEEE {:#x}, twin {:#x}",
            soft.to_bits(),
            ieee.to_bits(),
            twin.to_bits()
        );
    };
    for &x in &edges() {
        check(x.to_bits());
    }
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

/// An estimate as an imprecise adapter might give it: `exact` moved by up to 80 units of the last place
/// (the shader corrects up to about 2^6 exactly and sends the rest to its long division), or one of no
/// use at all (NaN, zero, infinity, a wrong sign, far too large).
fn perturbed(exact: f32, z: u64) -> f32 {
    match z % 16 {
        0 => {
            [f32::NAN, 0.0, f32::INFINITY, -1.0, 1.0e30, 0.5][(z >> 8) as usize % 6]
                * exact.signum()
        }
        _ => f32::from_bits((exact.to_bits() as i64 + ((z >> 8) % 161) as i64 - 80) as u32),
    }
}

#[test]
fn div_is_exact_from_any_estimate() {
    for i in 0..3_000_000u64 {
        let z = splitmix64(15, i);
        let (a, b) = (f32::from_bits(z as u32), f32::from_bits((z >> 32) as u32));
        let w = splitmix64(16, i);
        let soft = soft_div_with(a, b, |x, y| perturbed(x / y, w));
        assert!(
            same(soft, a / b),
            "{a:e}/{b:e} ({:#x}/{:#x}) from estimate {}: {:#x}, IEEE {:#x}",
            a.to_bits(),
            b.to_bits(),
            w % 161,
            soft.to_bits(),
            (a / b).to_bits()
        );
    }
}

#[test]
fn sqrt_is_exact_from_any_estimate() {
    let check = |u: u32, w: u64| {
        let x = f32::from_bits(u);
        let soft = soft_sqrt_with(x, |m| perturbed(m.sqrt(), w));
        assert!(
            same(soft, x.sqrt()),
            "sqrt({u:#x}) from estimate {}: {:#x}, IEEE {:#x}",
            w % 161,
            soft.to_bits(),
            x.sqrt().to_bits()
        );
    };
    (0x3f80_0000..0x4080_0000u32)
        .step_by(5)
        .for_each(|u| check(u, splitmix64(17, u as u64)));
    (0..2_000_000u64).for_each(|i| check(splitmix64(18, i) as u32, splitmix64(19, i)));
}

/// The integer steps themselves against exact 64-bit arithmetic, on the cases where the one step from
/// the remainder lands beside an integer (a remainder within 2^8 of a multiple of the divisor), where the
/// f32 rounding of a large remainder can make that step one short or one long, from estimates up to 60
/// units off.
#[test]
fn div_and_sqrt_steps_are_exact_beside_integers() {
    let mut found = (0, 0);
    for i in 0..4_000_000u64 {
        let z = splitmix64(20, i);
        let mb = 0x0080_0000 | (z as u32 & 0x007f_ffff);
        let ma = mb + ((z >> 32) as u32 % mb);
        let (q, rem) = (
            ((ma as u64) << 24) / mb as u64,
            ((ma as u64) << 24) % mb as u64,
        );
        if rem < 256 || rem > mb as u64 - 256 {
            found.0 += 1;
            for off in -30i64..=30 {
                let est = (q as i64 + 2 * off) as f32 / 16_777_216.0;
                assert_eq!(
                    div_sig(ma, mb, est),
                    (q as u32, rem != 0),
                    "{ma}/{mb}, estimate {off}"
                );
            }
        }
        // Exact quotients: mb = 2^23 + k 2^16 and q a multiple of 2^8 make q mb a multiple of 2^24.
        let mb = 0x0080_0000 + ((z >> 8) as u32 % 128) * 0x1_0000;
        let q = 0x0100_0000 | (((z >> 16) as u32 & 0xffff) << 8);
        let ma = ((q as u64 * mb as u64) >> 24) as u32;
        for off in -30i64..=30 {
            let est = (q as i64 + 2 * off) as f32 / 16_777_216.0;
            assert_eq!(
                div_sig(ma, mb, est),
                (q, false),
                "{ma}/{mb}, estimate {off}"
            );
        }
    }
    // Roots beside an integer: m 2^24 within 2^12 of a square, among m = s^2 + d near the perfect
    // squares in [2^24, 2^26).
    for s in 4096u64..8192 {
        for d in 0..64 {
            let m = (s * s + d) as u32;
            let root = ((m as u64) << 24).isqrt() as u32;
            let rem = ((m as u64) << 24) - (root as u64).pow(2);
            if !(0x0100_0000..0x0400_0000).contains(&m)
                || (rem > 4096 && rem < 2 * root as u64 - 4096)
            {
                continue;
            }
            found.1 += 1;
            for off in -30i64..=30 {
                let est = (root as i64 + 2 * off) as f32 / 4096.0;
                assert_eq!(sqrt_sig(m, est), root, "sqrt {m}, estimate {off}");
            }
        }
    }
    assert!(found.0 > 100 && found.1 > 2000, "cases found: {found:?}");
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
    let file = "vector/binary_add_sub_mul_div_max.safetensors";
    let a = common::golden_bf16_bits(file, "a");
    let b = common::golden_bf16_bits(file, "b");
    type Op = fn(f32, f32) -> f32;
    let ops: [(&str, Op); 5] = [
        ("add", vm_add),
        ("sub", vm_sub),
        ("mul", vm_mul),
        ("div", vm_div),
        ("max", vm_max),
    ];
    for (name, op) in ops {
        let want = common::golden_bf16_bits(file, &format!("{name}_ref_bf16"));
        for i in 0..a.len() {
            let x = f32::from_bits((a[i] as u32) << 16);
            let y = f32::from_bits((b[i] as u32) << 16);
            let got = f32_to_bf16_bits(op(x, y));
            let w = want[i];
            let both_nan = (got & 0x7fff) > 0x7f80 && (w & 0x7fff) > 0x7f80;
            assert!(
                got == w || both_nan,
                "{name}({:#06x}, {:#06x}) = {got:#06x}, golden {w:#06x}",
                a[i],
                b[i]
            );
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

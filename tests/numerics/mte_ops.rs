//! Data movement (reshape, permute, gather of rows, concat) and the rotary embedding: results checked against
//! direct index arithmetic (movement copies bits, so equality is exact, NaN payloads included), the rotary
//! embedding against a float64 evaluation, and GPU = CPU bit for bit for all of them.

use crate::common;
use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, DType, Executor, Program, Shape, Tensor, TensorId};

fn run(
    exec: &dyn Executor,
    inputs: &[&Tensor],
    build: impl Fn(&mut Program, &[TensorId]) -> TensorId,
) -> Tensor {
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, inputs);
    let out = build(&mut p, &ids);
    p.output(out).unwrap();
    exec.run(&p, inputs)
        .unwrap_or_else(|e| panic!("{}: {e}", exec.name()))
        .remove(0)
}

/// bf16 and f32 versions of a tensor with a NaN payload planted, to prove bits are moved, not converted.
fn inputs(dims: &[usize]) -> Vec<Tensor> {
    let b = gen_bf16(3, Shape::new(dims.to_vec()), 4.0);
    let mut bits: Vec<half::bf16> = b.as_bf16().unwrap().to_vec();
    bits[1] = half::bf16::from_bits(0x7f81); // a signalling NaN
    let b = Tensor::from_bf16(Shape::new(dims.to_vec()), bits).unwrap();
    let mut f: Vec<f32> = b.to_f32_vec().iter().map(|x| x * 1.000_001).collect();
    f[1] = f32::from_bits(0x7f80_0001);
    vec![b, Tensor::from_f32(Shape::new(dims.to_vec()), f).unwrap()]
}

#[test]
fn permute_moves_each_element_to_its_new_place() {
    let dims = [3, 5, 4, 2];
    let perm = [2, 0, 3, 1];
    for x in inputs(&dims) {
        let bits = x.bits();
        let mut want = Vec::new();
        let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        for i0 in 0..out_dims[0] {
            for i1 in 0..out_dims[1] {
                for i2 in 0..out_dims[2] {
                    for i3 in 0..out_dims[3] {
                        let mut src = [0; 4];
                        for (k, &idx) in [i0, i1, i2, i3].iter().enumerate() {
                            src[perm[k]] = idx;
                        }
                        want.push(
                            bits[((src[0] * dims[1] + src[1]) * dims[2] + src[2]) * dims[3]
                                + src[3]],
                        );
                    }
                }
            }
        }
        for exec in common::executors() {
            let got = run(exec.as_ref(), &[&x], |p, ids| {
                p.permute(ids[0], &perm).unwrap()
            });
            assert_eq!(got.shape().dims(), out_dims.as_slice());
            assert_eq!(got.bits(), want, "{} {}", exec.name(), x.dtype());
        }
    }
}

#[test]
fn reshape_and_gather_copy_bits() {
    for table in inputs(&[10, 7]) {
        let ids = [9u32, 0, 3, 3, 1];
        let bits = table.bits();
        let want: Vec<u32> = ids
            .iter()
            .flat_map(|&r| bits[r as usize * 7..r as usize * 7 + 7].to_vec())
            .collect();
        for exec in common::executors() {
            let got = run(exec.as_ref(), &[&table], |p, i| {
                let g = p.gather_rows(i[0], &ids).unwrap();
                p.reshape(g, [5, 1, 7]).unwrap()
            });
            assert_eq!(got.shape().dims(), &[5, 1, 7]);
            assert_eq!(got.bits(), want, "{} {}", exec.name(), table.dtype());
        }
    }
}

#[test]
fn concat_joins_rows_on_every_axis_and_copies_bits() {
    // Odd sizes, so that bf16 pairs straddle the join.
    let (a_dims, b_dims) = ([3, 5, 3], [3, 2, 3]);
    for (a, b) in inputs(&a_dims).into_iter().zip(inputs(&b_dims)) {
        let b = Tensor::new(b.shape().clone(), {
            // Different values from a's, NaN payload included.
            let bits: Vec<u32> = b.bits().iter().map(|&x| x ^ 1).collect();
            davinci::tensor::TensorData::from_bits(b.dtype(), bits.into_iter())
        })
        .unwrap();
        let (ab, bb) = (a.bits(), b.bits());
        // Along axis 1: row r of [3, *, 3] viewed as [3, * x 3].
        let mut want = Vec::new();
        for r in 0..3 {
            want.extend_from_slice(&ab[r * 15..(r + 1) * 15]);
            want.extend_from_slice(&bb[r * 6..(r + 1) * 6]);
        }
        for exec in common::executors() {
            let got = run(exec.as_ref(), &[&a, &b], |p, i| {
                p.concat(i[0], i[1], 1).unwrap()
            });
            assert_eq!(got.shape().dims(), &[3, 7, 3]);
            assert_eq!(got.bits(), want, "{} {}", exec.name(), a.dtype());
            // Along the first axis: a's elements, then b's.
            let a0 = Tensor::new(Shape::new([5, 3, 3]), a.data().clone()).unwrap();
            let b0 = Tensor::new(Shape::new([2, 3, 3]), b.data().clone()).unwrap();
            let got = run(exec.as_ref(), &[&a0, &b0], |p, i| {
                p.concat(i[0], i[1], 0).unwrap()
            });
            assert_eq!(
                got.bits(),
                [ab.clone(), bb.clone()].concat(),
                "{} axis 0",
                exec.name()
            );
        }
    }
    let mut p = Program::new();
    let x = p.input("x", [2, 3], DType::F32);
    let y = p.input("y", [3, 3], DType::F32);
    let z = p.input("z", [2, 3], DType::Bf16);
    let e = p.concat(x, y, 1).unwrap_err().to_string();
    assert!(
        e.contains("concat") && e.contains("[3, 3]") && e.contains("axis 1"),
        "{e}"
    );
    assert!(p.concat(x, z, 0).is_err());
    assert!(p.concat(x, y, 2).is_err());
    assert_eq!(
        p.concat(x, y, 0)
            .map(|t| p.desc(t).unwrap().shape.clone())
            .unwrap(),
        Shape::new([5, 3])
    );
}

#[test]
fn bad_permutations_reshapes_and_ids_are_refused() {
    let mut p = Program::new();
    let x = p.input("x", [2, 3], DType::F32);
    for perm in [&[0, 0][..], &[0][..], &[0, 2][..]] {
        let e = p.permute(x, perm).unwrap_err().to_string();
        assert!(e.contains("permute") && e.contains("[2, 3]"), "{e}");
    }
    let e = p.reshape(x, [4, 2]).unwrap_err().to_string();
    assert!(e.contains("reshape") && e.contains("6 elements"), "{e}");
    let e = p.gather_rows(x, &[1, 2]).unwrap_err().to_string();
    assert!(e.contains("index 2") && e.contains("2 rows"), "{e}");
}

/// cos/sin tables `[seq, half]` for the test, any values.
fn tables(seq: usize, half: usize) -> (Tensor, Tensor) {
    let angle =
        |s: usize, j: usize| s as f64 * 10000f64.powf(-(2.0 * j as f64) / (2.0 * half as f64));
    let c = (0..seq * half)
        .map(|i| angle(i / half, i % half).cos() as f32)
        .collect();
    let s = (0..seq * half)
        .map(|i| angle(i / half, i % half).sin() as f32)
        .collect();
    (
        Tensor::from_f32([seq, half], c).unwrap(),
        Tensor::from_f32([seq, half], s).unwrap(),
    )
}

#[test]
fn rope_rotates_halves_and_matches_float64() {
    let (seq, heads, dim) = (5, 3, 8);
    let x = gen_bf16(11, [2, seq, heads, dim], 2.0);
    let (cos, sin) = tables(seq, dim / 2);
    let (xv, cv, sv) = (x.to_f32_vec(), cos.to_f32_vec(), sin.to_f32_vec());
    let got = run(&CpuExecutor, &[&x, &cos, &sin], |p, i| {
        p.rope(i[0], i[1], i[2], DType::F32).unwrap()
    });
    let g = got.to_f32_vec();
    for (i, &gi) in g.iter().enumerate() {
        let (d, s) = (i % dim, (i / (dim * heads)) % seq);
        let t = s * dim / 2 + d % (dim / 2);
        let (c, sn) = (cv[t] as f64, sv[t] as f64);
        let want = if d < dim / 2 {
            xv[i] as f64 * c - xv[i + dim / 2] as f64 * sn
        } else {
            xv[i] as f64 * c + xv[i - dim / 2] as f64 * sn
        };
        // Two products and a sum, each rounded once: at most 2 ulp of the larger product's magnitude.
        let scale = (xv[i] as f64 * c).abs().max(
            (xv[if d < dim / 2 {
                i + dim / 2
            } else {
                i - dim / 2
            }] as f64
                * sn)
                .abs(),
        ) + 1e-30;
        assert!(
            (gi as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * (scale + want.abs()),
            "[{i}] {gi} vs {want}"
        );
    }
    if let Some(gpu) = common::gpu() {
        for out in [DType::F32, DType::Bf16] {
            let a = run(&gpu, &[&x, &cos, &sin], |p, i| {
                p.rope(i[0], i[1], i[2], out).unwrap()
            });
            let b = run(&CpuExecutor, &[&x, &cos, &sin], |p, i| {
                p.rope(i[0], i[1], i[2], out).unwrap()
            });
            assert!(common::bits_equal_named("rope", &a, &b));
        }
    }
    let mut p = Program::new();
    let xi = p.input("x", [seq, heads, dim], DType::F32);
    let bad = p.input("cos", [seq, dim], DType::F32);
    let e = p.rope(xi, bad, bad, DType::F32).unwrap_err().to_string();
    assert!(e.contains("rope") && e.contains("cos"), "{e}");
}

//! Bad input gets a clear error value, never a panic: shapes and dtypes that do not fit an op, programs run
//! with the wrong inputs, tensor files that are missing, corrupt, lack a tensor or hold an unsupported
//! dtype, and files that cannot be written. Each error names the op (or the file) and what was wrong.

use crate::common;
use std::path::PathBuf;

use davinci::tensor::random::gen_bf16;
use davinci::tensor::safetensors_io::{TensorFile, save};
use davinci::{DType, Error, Executor, MatmulOptions, Program, Shape, Tensor, cast, matmul};

/// The executors shape errors are checked on: the CPU always, the GPU when one opens.
fn executors() -> Vec<Box<dyn Executor>> {
    common::executors()
}

fn bf16_zeros(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_bf16(Shape::new(shape.to_vec()), vec![half::bf16::ZERO; n]).unwrap()
}

/// `matmul` on every executor must fail; returns the errors (one per executor).
fn matmul_errors(a: &Tensor, b: &Tensor, opts: MatmulOptions) -> Vec<(String, Error)> {
    executors()
        .iter()
        .map(|exec| {
            let err = matmul(exec.as_ref(), a, b, opts).expect_err(&format!(
                "{}: cube_matmul of {} and {} should fail",
                exec.name(),
                a.shape(),
                b.shape()
            ));
            (exec.name().to_string(), err)
        })
        .collect()
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error message lacks '{p}': {msg}");
    }
}

#[test]
fn k_mismatch_names_op_and_both_shapes() {
    let a = bf16_zeros(&[2, 3]);
    let b = bf16_zeros(&[4, 5]);
    for (exec, err) in matmul_errors(&a, &b, MatmulOptions::default()) {
        assert!(
            matches!(
                err,
                Error::Shape {
                    op: "cube_matmul",
                    ..
                }
            ),
            "{exec}: {err:?}"
        );
        let msg = err.to_string();
        assert_contains(&msg, &["cube_matmul", "[2, 3]", "[4, 5]", "K=3", "K=4"]);
    }
    // With trans_b, B [5, 4] has K = 4: still a mismatch, and the message says B was transposed.
    let bt = bf16_zeros(&[5, 4]);
    let opts = MatmulOptions {
        trans_b: true,
        ..MatmulOptions::default()
    };
    for (exec, err) in matmul_errors(&a, &bt, opts) {
        assert!(matches!(err, Error::Shape { .. }), "{exec}: {err:?}");
        assert_contains(&err.to_string(), &["[2, 3]", "[5, 4]", "transposed"]);
    }
}

#[test]
fn zero_dimension_is_refused() {
    for (a, b) in [
        (vec![0, 3], vec![3, 4]),
        (vec![2, 3], vec![3, 0]),
        (vec![2, 0], vec![0, 4]),
        (vec![0, 2, 3], vec![3, 4]),
    ] {
        let (ta, tb) = (bf16_zeros(&a), bf16_zeros(&b));
        for (exec, err) in matmul_errors(&ta, &tb, MatmulOptions::default()) {
            assert!(matches!(err, Error::Shape { .. }), "{exec}: {err:?}");
            let msg = err.to_string();
            assert_contains(&msg, &["cube_matmul", "at least 1"]);
            assert_contains(&msg, &[&Shape::new(a.clone()).to_string()]);
        }
    }
}

#[test]
fn f32_operand_is_a_dtype_error_naming_the_op() {
    let a = Tensor::from_f32([2, 3], vec![1.0; 6]).unwrap();
    let b = bf16_zeros(&[3, 4]);
    for (exec, err) in matmul_errors(&a, &b, MatmulOptions::default()) {
        assert!(
            matches!(
                err,
                Error::DType {
                    op: "cube_matmul",
                    ..
                }
            ),
            "{exec}: {err:?}"
        );
        assert_contains(&err.to_string(), &["cube_matmul", "f32", "bf16", "[2, 3]"]);
    }
    // B in f32 too.
    let a = bf16_zeros(&[2, 3]);
    let b = Tensor::from_f32([3, 4], vec![1.0; 12]).unwrap();
    for (exec, err) in matmul_errors(&a, &b, MatmulOptions::default()) {
        assert!(matches!(err, Error::DType { .. }), "{exec}: {err:?}");
        assert_contains(&err.to_string(), &["cube_matmul", "B", "f32"]);
    }
}

#[test]
fn rank_1_and_rank_4_operands_are_refused() {
    let cases = [
        (vec![3], vec![3, 4]),
        (vec![2, 3], vec![3]),
        (vec![1, 2, 2, 3], vec![3, 4]),
        (vec![2, 3], vec![1, 1, 3, 4]),
    ];
    for (a, b) in cases {
        let (ta, tb) = (bf16_zeros(&a), bf16_zeros(&b));
        for (exec, err) in matmul_errors(&ta, &tb, MatmulOptions::default()) {
            assert!(matches!(err, Error::Shape { .. }), "{exec}: {err:?}");
            let msg = err.to_string();
            assert_contains(
                &msg,
                &[
                    "cube_matmul",
                    "rank",
                    &Shape::new(a.clone()).to_string(),
                    &Shape::new(b.clone()).to_string(),
                ],
            );
        }
    }
}

#[test]
fn batch_size_mismatch_is_refused() {
    let a = bf16_zeros(&[2, 3, 4]);
    let b = bf16_zeros(&[3, 4, 5]);
    for (exec, err) in matmul_errors(&a, &b, MatmulOptions::default()) {
        assert!(matches!(err, Error::Shape { .. }), "{exec}: {err:?}");
        assert_contains(
            &err.to_string(),
            &["cube_matmul", "batch", "[2, 3, 4]", "[3, 4, 5]"],
        );
    }
}

#[test]
fn result_too_large_to_address_is_refused_at_recording() {
    // Only shapes are recorded, so this allocates nothing: M * N overflows usize.
    let mut p = Program::new();
    let a = p.input("a", [usize::MAX / 2, 1], DType::Bf16);
    let b = p.input("b", [1, 4], DType::Bf16);
    let err = p
        .cube_matmul(a, b, MatmulOptions::default())
        .expect_err("an unaddressable result must be refused");
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert_contains(&err.to_string(), &["cube_matmul", "too large"]);
}

/// A program `c = a @ b` with a [2, 3] and b [3, 4], both bf16.
fn two_input_program() -> Program {
    let mut p = Program::new();
    let a = p.input("a", [2, 3], DType::Bf16);
    let b = p.input("b", [3, 4], DType::Bf16);
    let c = p.cube_matmul(a, b, MatmulOptions::default()).unwrap();
    p.output(c).unwrap();
    p
}

#[test]
fn program_run_with_wrong_inputs() {
    let p = two_input_program();
    let a = bf16_zeros(&[2, 3]);
    let b = bf16_zeros(&[3, 4]);
    let wrong_shape = bf16_zeros(&[3, 5]);
    let wrong_dtype = Tensor::from_f32([3, 4], vec![0.0; 12]).unwrap();
    for exec in executors() {
        let name = exec.name();
        // The right inputs work, so the failures below are about the inputs.
        let ok = exec.run(&p, &[&a, &b]).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].shape().dims(), &[2, 4]);

        let err = exec.run(&p, &[&a]).expect_err("one input for two");
        assert!(matches!(err, Error::Program(_)), "{name}: {err:?}");
        assert_contains(&err.to_string(), &["2", "1"]);

        let err = exec
            .run(&p, &[&a, &b, &b])
            .expect_err("three inputs for two");
        assert!(matches!(err, Error::Program(_)), "{name}: {err:?}");

        let err = exec.run(&p, &[&a, &wrong_shape]).expect_err("wrong shape");
        assert!(matches!(err, Error::Program(_)), "{name}: {err:?}");
        assert_contains(&err.to_string(), &["'b'", "[3, 4]", "[3, 5]"]);

        let err = exec.run(&p, &[&a, &wrong_dtype]).expect_err("wrong dtype");
        assert!(matches!(err, Error::Program(_)), "{name}: {err:?}");
        assert_contains(&err.to_string(), &["'b'", "bf16", "f32"]);
    }
}

#[test]
fn handles_from_another_program_are_refused() {
    let mut other = Program::new();
    for i in 0..5 {
        other.input(format!("x{i}"), [2, 2], DType::Bf16);
    }
    let foreign = other.input("y", [2, 2], DType::Bf16);
    let mut p = Program::new();
    let a = p.input("a", [2, 2], DType::Bf16);
    let err = p
        .cube_matmul(a, foreign, MatmulOptions::default())
        .expect_err("a handle of another program");
    assert!(matches!(err, Error::Program(_)), "{err:?}");
    let err = p.output(foreign).expect_err("output of a foreign handle");
    assert!(matches!(err, Error::Program(_)), "{err:?}");
    let err = p
        .cast(foreign, DType::F32)
        .expect_err("cast of a foreign handle");
    assert!(matches!(err, Error::Program(_)), "{err:?}");
}

#[test]
fn tensor_with_wrong_element_count_is_refused() {
    let err = Tensor::from_f32([2, 3], vec![0.0; 5]).expect_err("5 values for 6 elements");
    assert_contains(&err.to_string(), &["[2, 3]", "6", "5"]);
    let err = Tensor::from_bf16([4], vec![half::bf16::ZERO; 3]).expect_err("3 values for 4");
    assert_contains(&err.to_string(), &["[4]"]);
}

#[test]
fn cast_of_an_empty_tensor_does_not_panic() {
    // Not an error case, but an edge that must not panic on either executor.
    let x = Tensor::from_f32([0], vec![]).unwrap();
    for exec in executors() {
        match cast(exec.as_ref(), &x, DType::Bf16) {
            Ok(y) => assert_eq!(y.shape().dims(), &[0], "{}", exec.name()),
            Err(e) => {
                eprintln!("{}: empty cast refused: {e}", exec.name());
                assert!(!e.to_string().is_empty(), "{}", exec.name());
            }
        }
    }
}

/// A fresh path in this test binary's scratch folder.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("errors");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", std::process::id()))
}

#[test]
fn open_missing_file() {
    let path = scratch("does-not-exist.safetensors");
    let err = TensorFile::open(&path).err().expect("a missing file");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_contains(&err.to_string(), &["does-not-exist.safetensors"]);
}

#[test]
fn open_corrupt_files() {
    // Garbage: a header length far past the end of the file.
    let garbage = scratch("garbage.safetensors");
    std::fs::write(
        &garbage,
        b"this is not a safetensors file at all \xff\xfe\x00",
    )
    .unwrap();
    // A valid golden file cut in half.
    let valid = std::fs::read(common::golden_path("matmul/mm_16x16x16.safetensors")).unwrap();
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &valid[..valid.len() / 2]).unwrap();
    // A valid file cut inside its header.
    let header_cut = scratch("header-cut.safetensors");
    std::fs::write(&header_cut, &valid[..20]).unwrap();
    // Too short to hold the header length.
    let tiny = scratch("tiny.safetensors");
    std::fs::write(&tiny, b"abc").unwrap();
    for path in [&garbage, &truncated, &header_cut, &tiny] {
        let err = TensorFile::open(path)
            .err()
            .unwrap_or_else(|| panic!("{} should not open", path.display()));
        assert!(matches!(err, Error::TensorFile { .. }), "{err:?}");
        let msg = err.to_string();
        assert_contains(&msg, &[&path.display().to_string(), "safetensors"]);
    }
}

#[test]
fn missing_tensor_lists_what_the_file_holds() {
    let f = common::golden_file("matmul/mm_16x16x16.safetensors");
    let err = f.tensor("c_gpu").expect_err("no such tensor");
    assert!(matches!(err, Error::TensorFile { .. }), "{err:?}");
    assert_contains(
        &err.to_string(),
        &[
            "c_gpu",
            "mm_16x16x16",
            "a, abs_sum_f32, b",
            "c_ref_f32",
            "c_seq_f32",
        ],
    );
}

#[test]
fn unsupported_dtype_is_named() {
    let f = common::golden_file("minilm/tokens.safetensors");
    let err = f
        .tensor("s0.input_ids")
        .expect_err("I64 tensors are not read");
    assert!(matches!(err, Error::TensorFile { .. }), "{err:?}");
    assert_contains(
        &err.to_string(),
        &["s0.input_ids", "I64", "BF16", "F32", "tokens.safetensors"],
    );
}

#[test]
fn save_to_unwritable_path() {
    let t = gen_bf16(1, [2, 2], 1.0);
    // A folder that does not exist (unwritable even for root).
    let path = scratch("no-such-folder").join("out.safetensors");
    let err = save(&path, &[("t", &t)], None).expect_err("parent folder is missing");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_contains(&err.to_string(), &["out.safetensors"]);
    // A path that is a folder.
    let dir = scratch("a-folder");
    std::fs::create_dir_all(&dir).unwrap();
    let err = save(&dir, &[("t", &t)], None).expect_err("path is a folder");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn save_then_open_round_trips() {
    // The positive counterpart of the file errors: what save writes, open reads back bit for bit.
    let t = gen_bf16(2, [3, 5], 4.0);
    let f = Tensor::from_f32([2], vec![f32::NAN, -0.0]).unwrap();
    let path = scratch("round-trip.safetensors");
    save(&path, &[("t", &t), ("f", &f)], None).unwrap();
    let file = TensorFile::open(&path).unwrap();
    assert_eq!(file.names(), vec!["f".to_string(), "t".to_string()]);
    assert!(common::bits_equal(&file.tensor("t").unwrap(), &t));
    assert!(common::bits_equal(&file.tensor("f").unwrap(), &f));
}

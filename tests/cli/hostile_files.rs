//! Hostile input files for every subcommand that reads one (rules in `tests/hostile_common`):
//! safetensors inputs of `davinci op` (every op family) and `davinci bert --weights` that are not files
//! (`/dev/zero`, a FIFO, a folder, a missing path), are shorter or longer than their header declares, have
//! a corrupt header, an absurd header length, an unsupported dtype, overlapping offsets, an empty or
//! scalar tensor, or NaN and infinity in their data; and outputs that cannot be written, which must
//! leave an existing file as it was and no temporary file behind.

use crate::hostile_common;
use hostile_common::{Case, Expect, Scratch, refused, run_all};

/// A safetensors file from a raw header and data (the header padded to 8 bytes as the format asks).
fn st(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut v = (h.len() as u64).to_le_bytes().to_vec();
    v.extend(h);
    v.extend(data);
    v
}

/// An f32 tensor entry of a header.
fn f32_entry(name: &str, shape: &[usize], start: usize) -> (String, usize) {
    let n: usize = shape.iter().product();
    let end = start + 4 * n;
    (
        format!(r#""{name}":{{"dtype":"F32","shape":{shape:?},"data_offsets":[{start},{end}]}}"#),
        end,
    )
}

/// A valid file of f32 tensors, each filled with `value`.
fn valid(tensors: &[(&str, &[usize])], value: f32) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut at = 0;
    for (name, shape) in tensors {
        let (e, end) = f32_entry(name, shape, at);
        entries.push(e);
        at = end;
    }
    let data: Vec<u8> = (0..at / 4).flat_map(|_| value.to_le_bytes()).collect();
    st(&format!("{{{}}}", entries.join(",")), &data)
}

/// The ops of `davinci op`, each with the tensors a valid input holds.
/// Named tensors of a valid input: (name, shape).
type Tensors = Vec<(&'static str, &'static [usize])>;

fn ops() -> Vec<(&'static str, Tensors)> {
    vec![
        ("matmul", vec![("a", &[4, 8][..]), ("b", &[8, 4][..])]),
        ("add", vec![("x", &[3, 5][..]), ("y", &[5][..])]),
        ("exp", vec![("x", &[3, 5][..])]),
        ("softmax", vec![("x", &[3, 5][..])]),
        ("layernorm", vec![("x", &[3, 5][..])]),
        ("rmsnorm", vec![("x", &[3, 5][..])]),
        ("sum", vec![("x", &[3, 5][..])]),
        ("cast", vec![("x", &[3, 5][..])]),
    ]
}

/// Hostile variants of an op's input file: (label, path, what stderr must say).
fn bad_inputs(dir: &Scratch, op: &str, good: &[u8]) -> Vec<(String, String, Vec<&'static str>)> {
    let f = |name: &str, bytes: &[u8]| dir.file(&format!("{op}-{name}.safetensors"), bytes);
    let n = good.len();
    let mut truncated = good.to_vec();
    truncated.pop();
    let mut trailing = good.to_vec();
    trailing.extend_from_slice(b"\0\0\0\0");
    let mut huge_len = good.to_vec();
    huge_len[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut past_end = good.to_vec();
    past_end[..8].copy_from_slice(&((n as u64) * 2).to_le_bytes());
    let mut flipped = good.to_vec();
    flipped[9] ^= 0x55;
    let missing = dir
        .path(&format!("{op}-missing.safetensors"))
        .display()
        .to_string();
    vec![
        (
            "dev-zero".into(),
            "/dev/zero".into(),
            vec!["not a regular file"],
        ),
        (
            "fifo".into(),
            dir.fifo(&format!("{op}-fifo")),
            vec!["not a regular file"],
        ),
        (
            "directory".into(),
            dir.0.display().to_string(),
            vec!["is a directory"],
        ),
        ("missing".into(), missing, vec!["No such file"]),
        ("empty".into(), f("empty", b""), vec!["0 bytes"]),
        (
            "seven-bytes".into(),
            f("seven", b"1234567"),
            vec!["7 bytes"],
        ),
        (
            "header-len-max".into(),
            f("hugelen", &huge_len),
            vec!["header length"],
        ),
        (
            "header-past-end".into(),
            f("pastend", &past_end),
            vec!["header length"],
        ),
        (
            "truncated".into(),
            f("truncated", &truncated),
            vec!["declares"],
        ),
        (
            "trailing".into(),
            f("trailing", &trailing),
            vec!["declares"],
        ),
        (
            "bit-flip".into(),
            f("flipped", &flipped),
            vec!["safetensors"],
        ),
        (
            "not-json".into(),
            f("notjson", &st("{not json", b"")),
            vec!["not JSON"],
        ),
        (
            "json-array".into(),
            f("array", &st("[1,2]", b"")),
            vec!["not a JSON object"],
        ),
        (
            "non-utf8".into(),
            f(
                "nonutf8",
                &st("{\"\u{ff}\":1}", b"")
                    .iter()
                    .map(|&b| if b == 0xc3 { 0xff } else { b })
                    .collect::<Vec<_>>(),
            ),
            vec!["safetensors"],
        ),
        (
            "dtype-i64".into(),
            f(
                "i64",
                &st(
                    r#"{"x":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"a":{"dtype":"I64","shape":[2],"data_offsets":[16,32]},"y":{"dtype":"I64","shape":[2],"data_offsets":[32,48]},"b":{"dtype":"I64","shape":[2],"data_offsets":[48,64]}}"#,
                    &[0; 64],
                ),
            ),
            vec!["I64"],
        ),
        (
            "shape-vs-offsets".into(),
            f(
                "shape",
                &st(
                    r#"{"x":{"dtype":"F32","shape":[1000],"data_offsets":[0,4]}}"#,
                    &[0; 4],
                ),
            ),
            vec!["safetensors"],
        ),
        (
            "overlapping".into(),
            f(
                "overlap",
                &st(
                    r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    &[0; 12],
                ),
            ),
            vec!["safetensors"],
        ),
        (
            "offsets-overflow".into(),
            f(
                "overflow",
                &st(
                    r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}"#,
                    &[0; 8],
                ),
            ),
            vec!["safetensors"],
        ),
        (
            "no-tensors".into(),
            f("none", &st("{}", b"")),
            vec!["no tensor named"],
        ),
        (
            "wrong-names".into(),
            f("names", &valid(&[("zzz", &[2, 2])], 1.0)),
            vec!["no tensor named", "zzz"],
        ),
    ]
}

#[test]
fn op_inputs_that_are_not_valid_files() {
    let dir = Scratch::new("op-in");
    let mut cases = Vec::new();
    for (op, tensors) in ops() {
        let good = valid(&tensors, 0.5);
        let out = dir.path(&format!("{op}-out.safetensors"));
        let out_s = out.display().to_string();
        for (label, path, needles) in bad_inputs(&dir, op, &good) {
            let mut args = vec![
                "op",
                op,
                "--in",
                &path,
                "--out",
                &out_s,
                "--executor",
                "cpu",
            ];
            if op == "cast" {
                args.extend(["--dtype-out", "bf16"]);
            }
            cases.push(
                Case::new(format!("op {op} --in {label}"), &args, refused(&needles))
                    .clean_dir(&dir.0),
            );
        }
    }
    run_all(cases);
}

#[test]
fn op_inputs_with_odd_but_legal_contents() {
    let dir = Scratch::new("op-odd");
    let mut cases = Vec::new();
    let odd: Vec<(&str, Vec<u8>, Expect)> = vec![
        // NaN and infinity are values like any other: the op computes them (and says nothing absurd).
        ("nan-inf", nan_file(), Expect::Ok),
        (
            "one-element",
            valid(
                &[("x", &[1, 1]), ("y", &[1]), ("a", &[1, 1]), ("b", &[1, 1])],
                2.0,
            ),
            Expect::Ok,
        ),
        (
            "empty-rows",
            valid(
                &[("x", &[0, 5]), ("y", &[5]), ("a", &[0, 5]), ("b", &[5, 3])],
                1.0,
            ),
            Expect::OkOrFail(vec!["at least 1".into()]),
        ),
        (
            "empty-axis",
            valid(
                &[("x", &[3, 0]), ("y", &[0]), ("a", &[3, 0]), ("b", &[0, 3])],
                1.0,
            ),
            Expect::OkOrFail(vec!["empty".into()]),
        ),
        (
            "scalar",
            valid(&[("x", &[]), ("y", &[]), ("a", &[]), ("b", &[])], 1.0),
            Expect::OkOrFail(vec![]),
        ),
        (
            "rank-5",
            valid(
                &[
                    ("x", &[2, 1, 2, 1, 3]),
                    ("y", &[3]),
                    ("a", &[2, 2, 2, 1, 3]),
                    ("b", &[3, 2]),
                ],
                1.0,
            ),
            Expect::OkOrFail(vec![]),
        ),
        (
            "huge-values",
            valid(
                &[("x", &[3, 5]), ("y", &[5]), ("a", &[4, 8]), ("b", &[8, 4])],
                3.0e38,
            ),
            Expect::Ok,
        ),
        (
            "tiny-values",
            valid(
                &[("x", &[3, 5]), ("y", &[5]), ("a", &[4, 8]), ("b", &[8, 4])],
                1.0e-45,
            ),
            Expect::Ok,
        ),
    ];
    for (op, _) in ops() {
        for (label, bytes, expect) in &odd {
            let path = dir.file(&format!("{op}-{label}.safetensors"), bytes);
            let out = dir
                .path(&format!("{op}-{label}-out.safetensors"))
                .display()
                .to_string();
            let mut args = vec![
                "op",
                op,
                "--in",
                &path,
                "--out",
                &out,
                "--executor",
                "cpu",
                "--json",
            ];
            if op == "cast" {
                args.extend(["--dtype-out", "bf16"]);
            }
            let expect = match (op, label) {
                // A matmul of a [0, 5] A is refused, as every dimension must be at least 1.
                ("matmul", &"empty-rows" | &"empty-axis") => refused(&["at least 1"]),
                _ => expect.clone(),
            };
            cases.push(Case::new(format!("op {op} {label}"), &args, expect).clean_dir(&dir.0));
        }
    }
    run_all(cases);
}

/// x: NaN, +inf, -inf, -0 and finite values; the other tensors finite.
fn nan_file() -> Vec<u8> {
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1.5];
    let x: Vec<u8> = (0..15)
        .flat_map(|i| specials[i % 5].to_le_bytes())
        .collect();
    let rest: Vec<u8> = (0..(5 + 32 + 32))
        .flat_map(|_| 0.25f32.to_le_bytes())
        .collect();
    let (ex, e1) = f32_entry("x", &[3, 5], 0);
    let (ey, e2) = f32_entry("y", &[5], e1);
    let (ea, e3) = f32_entry("a", &[4, 8], e2);
    let (eb, _) = f32_entry("b", &[8, 4], e3);
    let mut data = x;
    data.extend(rest);
    st(&format!("{{{ex},{ey},{ea},{eb}}}"), &data)
}

#[test]
fn outputs_that_cannot_be_written_leave_nothing_behind() {
    let dir = Scratch::new("op-out");
    let input = dir.file("x.safetensors", &valid(&[("x", &[3, 5]), ("y", &[5])], 1.0));
    let existing = dir.path("existing.safetensors");
    std::fs::write(&existing, b"an earlier result").unwrap();
    let existing_s = existing.display().to_string();
    let ro = dir.path("read-only");
    std::fs::create_dir_all(&ro).unwrap();
    let ro_out = ro.join("out.safetensors").display().to_string();
    let readonly = std::process::Command::new("chmod")
        .arg("555")
        .arg(&ro)
        .status()
        .is_ok();
    let folder = dir.0.display().to_string();
    let missing = dir
        .path("no/such/folder/out.safetensors")
        .display()
        .to_string();
    let bad_in = dir.file("bad.safetensors", b"12345678garbage");
    let mut cases = Vec::new();
    for op in ["exp", "softmax", "add", "sum", "layernorm"] {
        // A failed run (bad input) must not touch the existing output.
        cases.push(
            Case::new(
                format!("{op} bad input, existing out"),
                &[
                    "op",
                    op,
                    "--in",
                    &bad_in,
                    "--out",
                    &existing_s,
                    "--executor",
                    "cpu",
                ],
                refused(&["bad.safetensors"]),
            )
            .untouched(&existing)
            .clean_dir(&dir.0),
        );
        // A missing tensor: refused before anything is written.
        cases.push(
            Case::new(
                format!("{op} missing tensor, existing out"),
                &[
                    "op",
                    op,
                    "--in",
                    &input,
                    "--map",
                    "x=nope",
                    "--out",
                    &existing_s,
                    "--executor",
                    "cpu",
                ],
                refused(&["nope"]),
            )
            .untouched(&existing)
            .clean_dir(&dir.0),
        );
        cases.push(
            Case::new(
                format!("{op} out is a folder"),
                &[
                    "op",
                    op,
                    "--in",
                    &input,
                    "--out",
                    &folder,
                    "--executor",
                    "cpu",
                ],
                refused(&["is a directory"]),
            )
            .clean_dir(&dir.0),
        );
        cases.push(
            Case::new(
                format!("{op} out in a missing folder"),
                &[
                    "op",
                    op,
                    "--in",
                    &input,
                    "--out",
                    &missing,
                    "--executor",
                    "cpu",
                ],
                refused(&["no/such/folder"]),
            )
            .clean_dir(&dir.0),
        );
        cases.push(Case::new(
            format!("{op} out is /dev/full"),
            &[
                "op",
                op,
                "--in",
                &input,
                "--out",
                "/dev/full",
                "--executor",
                "cpu",
            ],
            refused(&["/dev/full"]),
        ));
        // Root ignores permissions, so a read-only folder only fails for other users.
        if readonly {
            cases.push(
                Case::new(
                    format!("{op} out in a read-only folder"),
                    &[
                        "op",
                        op,
                        "--in",
                        &input,
                        "--out",
                        &ro_out,
                        "--executor",
                        "cpu",
                    ],
                    Expect::OkOrFail(vec!["read-only".into()]),
                )
                .clean_dir(&ro),
            );
        }
    }
    for (label, trace) in [
        ("folder", folder.as_str()),
        ("missing folder", missing.as_str()),
    ] {
        for args in [
            vec!["predict", "matmul", "64", "64", "64", "--trace", trace],
            vec![
                "cluster",
                "prefill",
                "--model",
                "minilm",
                "--cluster",
                "atlas800-a2",
                "--plan",
                "dp=8",
                "--batch",
                "8",
                "--seq",
                "16",
                "--trace",
                trace,
            ],
            vec![
                "demo",
                "--hidden",
                "64",
                "--heads",
                "2",
                "--kv-heads",
                "2",
                "--ffn",
                "64",
                "--seq",
                "16",
                "--executor",
                "cpu",
                "--trace",
                trace,
            ],
        ] {
            cases.push(
                Case::new(
                    format!("{} --trace {label}", args[0]),
                    &args,
                    refused(&["trace"]),
                )
                .clean_dir(&dir.0),
            );
        }
    }
    run_all(cases);
    let _ = std::process::Command::new("chmod")
        .arg("755")
        .arg(&ro)
        .status();
}

#[test]
fn bert_weights_that_are_not_valid() {
    let dir = Scratch::new("bert");
    let good = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/minilm/weights_layer0_and_embed_ln.safetensors"
    ))
    .unwrap();
    let mut cases = Vec::new();
    for (label, path, needles) in bad_inputs(&dir, "bert", &good) {
        let needles: Vec<&str> = needles
            .into_iter()
            .map(|n| match n {
                // The weights loader looks for model.safetensors in a folder, and names the tensor
                // the model needs.
                "is a directory" => "no .safetensors",
                "zzz" => "word_embeddings",
                n => n,
            })
            .collect();
        let expect = if label == "directory" {
            refused(&[])
        } else {
            refused(&needles)
        };
        cases.push(Case::new(
            format!("bert --weights {label}"),
            &[
                "bert",
                "--weights",
                &path,
                "--tokens",
                "101,2023,102",
                "--executor",
                "cpu",
            ],
            expect,
        ));
    }
    // A folder whose config.json is absurd, or not a file.
    for (label, config) in [
        (
            "config-huge-vocab",
            r#"{"vocab_size": 1e30, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512}"#,
        ),
        (
            "config-zero-heads",
            r#"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 0, "intermediate_size": 1536, "max_position_embeddings": 512}"#,
        ),
        (
            "config-10e9-layers",
            r#"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 1000000000, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512}"#,
        ),
        (
            "config-negative-eps",
            r#"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512, "layer_norm_eps": -1}"#,
        ),
        ("config-not-json", "{"),
    ] {
        let d = dir.path(label);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("model.safetensors"), &good).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        cases.push(Case::new(
            format!("bert {label}"),
            &[
                "bert",
                "--weights",
                d.to_str().unwrap(),
                "--tokens",
                "101,2023,102",
                "--executor",
                "cpu",
            ],
            refused(&["config.json"]),
        ));
    }
    let d = dir.path("config-fifo");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("model.safetensors"), &good).unwrap();
    dir.fifo("config-fifo/config.json");
    cases.push(Case::new(
        "bert config.json is a FIFO",
        &[
            "bert",
            "--weights",
            d.to_str().unwrap(),
            "--tokens",
            "101,2023,102",
            "--executor",
            "cpu",
        ],
        refused(&["not a regular file"]),
    ));
    run_all(cases);
}

#[test]
fn op_results_beyond_host_memory_are_refused_before_allocating() {
    // Two small inputs that broadcast to 4e10 elements (160 GB of f32): refused up front, on any host this
    // suite runs on (and always under the harness's address-space limit).
    let dir = Scratch::new("op-mem");
    let input = dir.file(
        "wide.safetensors",
        &valid(&[("x", &[1, 200_000]), ("y", &[200_000, 1])], 1.0),
    );
    let out = dir.path("out.safetensors").display().to_string();
    let mut cases = Vec::new();
    for op in ["add", "sub", "mul", "div", "max", "min"] {
        for exec in ["cpu", "auto"] {
            cases.push(
                Case::new(
                    format!("op {op} broadcast to 4e10 elements ({exec})"),
                    &["op", op, "--in", &input, "--out", &out, "--executor", exec],
                    refused(&["memory"]),
                )
                .clean_dir(&dir.0),
            );
        }
    }
    run_all(cases);
}

#[test]
fn hostile_inputs_on_the_gpu_executor() {
    // The same rules with the machine's adapter (lavapipe in CI): `--executor gpu` and `both`. Without an
    // adapter, `gpu` is refused with a message that says so, which the rules accept.
    let dir = Scratch::new("gpu");
    let nan = dir.file("nan.safetensors", &nan_file());
    let one = dir.file(
        "one.safetensors",
        &valid(
            &[("x", &[1, 1]), ("y", &[1]), ("a", &[1, 1]), ("b", &[1, 1])],
            2.0,
        ),
    );
    let empty_axis = dir.file(
        "empty-axis.safetensors",
        &valid(
            &[("x", &[3, 0]), ("y", &[0]), ("a", &[3, 0]), ("b", &[0, 3])],
            1.0,
        ),
    );
    let wide = dir.file(
        "wide.safetensors",
        &valid(&[("x", &[1, 200_000]), ("y", &[200_000, 1])], 1.0),
    );
    let out = dir.path("out.safetensors").display().to_string();
    let info = std::process::Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args(["info", "--json"])
        .env_remove("DAVINCI_ADAPTER")
        .output()
        .expect("davinci info runs");
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("info --json");
    let has_gpu = info["gpu_available"] == true;
    let mut cases = Vec::new();
    for exec in ["gpu", "both"] {
        for op in [
            "exp",
            "softmax",
            "layernorm",
            "rmsnorm",
            "add",
            "sum",
            "matmul",
        ] {
            for (label, file, expect) in [
                ("nan-inf", &nan, Expect::OkOrFail(vec!["GPU".into()])),
                ("one-element", &one, Expect::OkOrFail(vec!["GPU".into()])),
                ("empty-axis", &empty_axis, refused(&[])),
            ] {
                // Elementwise ops on an empty tensor give an empty result; reductions over an empty
                // axis and a matmul with K = 0 are refused.
                let expect = match (op, label) {
                    ("exp" | "add", "empty-axis") if has_gpu => Expect::Ok,
                    ("exp" | "add", "empty-axis") => refused(&["GPU adapter"]),
                    _ => expect,
                };
                let args = [
                    "op",
                    op,
                    "--in",
                    file,
                    "--out",
                    &out,
                    "--executor",
                    exec,
                    "--json",
                ];
                cases.push(
                    Case::new(format!("{exec} {op} {label}"), &args, expect)
                        .on_gpu()
                        .clean_dir(&dir.0),
                );
            }
        }
        cases.push(
            Case::new(
                format!("{exec} add broadcast to 4e10 elements"),
                &[
                    "op",
                    "add",
                    "--in",
                    &wide,
                    "--out",
                    &out,
                    "--executor",
                    exec,
                ],
                refused(&[]),
            )
            .on_gpu(),
        );
        for mkn in [["1", "1", "1"], ["17", "33", "65"], ["1", "70000", "1"]] {
            let args = [
                "matmul",
                mkn[0],
                mkn[1],
                mkn[2],
                "--executor",
                exec,
                "--repeat",
                "1",
                "--json",
            ];
            cases.push(
                Case::new(
                    format!("{exec} matmul {}", mkn.join("x")),
                    &args,
                    Expect::OkOrFail(vec!["GPU".into()]),
                )
                .on_gpu()
                .timeout(120),
            );
        }
        cases.push(
            Case::new(
                format!("{exec} matmul beyond memory"),
                &["matmul", "1099511627776", "1", "1", "--executor", exec],
                refused(&[]),
            )
            .on_gpu(),
        );
    }
    run_all(cases);
}

//! Hostile chip, cluster and model files (rules in `tests/hostile_common`): every numeric field of each,
//! set in turn to zero, a negative, a tiny, a huge, a non-finite or a non-numeric value, on top of a real
//! preset (`base = ...`), then used by the commands that read them (`davinci chips FILE`, `predict
//! matmul --chip FILE`, `clusters FILE`, `cluster ... --cluster FILE`, `models FILE`, `cluster ...
//! --model FILE`). Each run must either answer with sane figures or refuse with a message naming the
//! field; never a panic, a hang, a `null` or a figure like 1e305 us. Plus files that are not files and
//! malformed TOML and JSON.

use crate::hostile_common;
use hostile_common::{Case, Expect, Scratch, refused, run_all, usage};

/// Values tried in every numeric field, with the TOML that writes them.
const VALUES: &[(&str, &str)] = &[
    ("zero", "0"),
    ("negative", "-1"),
    ("tiny", "1e-9"),
    ("huge", "1e300"),
    ("nan", "nan"),
    ("inf", "inf"),
    ("text", "\"fast\""),
    ("int-max", "9223372036854775807"),
];

/// The numeric fields of a chip file (those `davinci chips 910c` lists).
const CHIP_FIELDS: &[&str] = &[
    "dies",
    "cube_cores_per_die",
    "vector_cores_per_die",
    "clock_mhz",
    "cube_macs_per_cycle",
    "cube_f32_macs_per_cycle",
    "l1_kib",
    "l0a_kib",
    "l0c_kib",
    "ub_kib",
    "l2_mib_per_die",
    "hbm_gib_per_die",
    "hbm_gb_per_s_per_die",
    "mte2_bytes_per_cycle",
    "l2_bytes_per_cycle",
    "fixpipe_bytes_per_cycle",
    "vec_one_input_bytes_per_cycle",
    "vec_reduce_bytes_per_cycle",
    "die_link_gb_per_s",
    "die_link_latency_us",
    "launch_overhead_us",
    "power_w",
];

const CLUSTER_FIELDS: &[&str] = &[
    "nodes",
    "chips_per_node",
    "node_gb_per_s",
    "node_latency_us",
    "fabric_gb_per_s",
    "fabric_latency_us",
    "rdma_gb_per_s",
    "optics",
    "optics_w",
    "other_power_kw",
];

const MODEL_FIELDS: &[&str] = &[
    "layers",
    "hidden",
    "heads",
    "ffn",
    "vocab",
    "experts",
    "top_k",
    "expert_ffn",
    "dense_layers",
    "q_lora",
    "kv_lora",
];

/// Whether a failure for this value must name the field (a type error from the TOML layer names it too).
fn value_cases(
    dir: &Scratch,
    kind: &str,
    base: &str,
    fields: &[&str],
) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for f in fields {
        for (label, toml) in VALUES {
            let name = format!("{kind}-{f}-{label}");
            let text = format!("name = \"{name}\"\nbase = \"{base}\"\n{f} = {toml}\n");
            let path = dir.file(&format!("{name}.toml"), text.as_bytes());
            v.push((name, path, f.to_string()));
        }
    }
    v
}

#[test]
fn chip_files_with_absurd_values() {
    let dir = Scratch::new("chips");
    let mut cases = Vec::new();
    for (name, path, field) in value_cases(&dir, "chip", "910c", CHIP_FIELDS) {
        let expect = Expect::OkOrFail(vec![field.clone()]);
        cases.push(Case::new(
            format!("chips {name}"),
            &["chips", &path, "--json"],
            expect.clone(),
        ));
        cases.push(Case::new(
            format!("predict {name}"),
            &[
                "predict", "matmul", "4096", "4096", "4096", "--chip", &path, "--json",
            ],
            expect,
        ));
    }
    run_all(cases);
}

#[test]
fn cluster_files_with_absurd_values() {
    let dir = Scratch::new("clusters");
    let mut cases = Vec::new();
    for (name, path, field) in value_cases(&dir, "cluster", "atlas800-a2", CLUSTER_FIELDS) {
        let expect = Expect::OkOrFail(vec![field.clone()]);
        cases.push(Case::new(
            format!("clusters {name}"),
            &["clusters", &path, "--json"],
            expect.clone(),
        ));
        // A plan of 8 chips fits the preset; a changed node count makes it a clear plan error.
        cases.push(Case::new(
            format!("cluster prefill {name}"),
            &[
                "cluster",
                "prefill",
                "--model",
                "llama3-8b",
                "--cluster",
                &path,
                "--plan",
                "dp=8",
                "--batch",
                "8",
                "--seq",
                "512",
                "--json",
            ],
            Expect::OkOrFail(vec![]),
        ));
    }
    run_all(cases);
}

#[test]
fn model_files_with_absurd_values() {
    let dir = Scratch::new("models");
    let mut cases = Vec::new();
    for (name, path, field) in value_cases(&dir, "model", "deepseek-v3", MODEL_FIELDS) {
        cases.push(Case::new(
            format!("models {name}"),
            &["models", &path, "--json"],
            Expect::OkOrFail(vec![field.clone()]),
        ));
        cases.push(Case::new(
            format!("cluster decode {name}"),
            &[
                "cluster", "decode", "--model", &path, "--plan", "dp=384", "--batch", "768",
                "--kv", "1024", "--json",
            ],
            Expect::OkOrFail(vec![]),
        ));
    }
    run_all(cases);
}

#[test]
fn config_files_that_are_not_valid() {
    let dir = Scratch::new("configs");
    let fifo = dir.fifo("fifo.toml");
    let garbage = dir.file("garbage.toml", b"\x00\xff\xfe not toml at all [[[");
    let unclosed = dir.file("unclosed.toml", b"name = \"x\nbase = ");
    let json_bad = dir.file("bad.json", b"{\"name\": \"x\", \"layers\": }");
    let json_array = dir.file("array.json", b"[1, 2, 3]");
    let empty = dir.file("empty.toml", b"");
    let dir_toml = dir.path("folder.toml");
    std::fs::create_dir_all(&dir_toml).unwrap();
    let dir_toml = dir_toml.display().to_string();
    let big = dir.file("big.toml", &vec![b'#'; 17 << 20]);
    let mut cases = Vec::new();
    for (label, path, needle) in [
        ("fifo", fifo.as_str(), "not a regular file"),
        ("dev-zero", "/dev/zero", "not a regular file"),
        ("folder", dir_toml.as_str(), "is a directory"),
        ("garbage", garbage.as_str(), "garbage.toml"),
        ("unclosed", unclosed.as_str(), "unclosed.toml"),
        ("empty", empty.as_str(), "empty.toml"),
        ("oversized", big.as_str(), "bytes"),
    ] {
        cases.push(Case::new(
            format!("chips {label}"),
            &["chips", path, "--json"],
            refused(&[needle]),
        ));
        cases.push(Case::new(
            format!("predict --chip {label}"),
            &["predict", "matmul", "64", "64", "64", "--chip", path],
            refused(&[needle]),
        ));
        cases.push(Case::new(
            format!("clusters {label}"),
            &["clusters", path],
            refused(&[needle]),
        ));
        cases.push(Case::new(
            format!("models {label}"),
            &["models", path],
            refused(&[needle]),
        ));
        cases.push(Case::new(
            format!("demo --chip {label}"),
            &[
                "demo",
                "--chip",
                path,
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
            ],
            refused(&[needle]),
        ));
    }
    for (label, path) in [("bad-json", &json_bad), ("json-array", &json_array)] {
        cases.push(Case::new(
            format!("models {label}"),
            &["models", path],
            refused(&[path.as_str()]),
        ));
    }
    run_all(cases);
}

#[test]
fn sweeps_on_the_largest_cluster_finish_or_say_why_not() {
    // 2^20 chips, the most a cluster file may have; one more node is refused.
    let dir = Scratch::new("sweep");
    let huge = dir.file(
        "huge.toml",
        b"name = \"huge\"\nbase = \"cloudmatrix384\"\nnodes = 65536\nchips_per_node = 16\n",
    );
    let over = dir.file(
        "over.toml",
        b"name = \"over\"\nbase = \"cloudmatrix384\"\nnodes = 65537\nchips_per_node = 16\n",
    );
    let mut cases = Vec::new();
    for model in ["llama3-8b", "deepseek-v3", "llama3-70b"] {
        let sweep = |batch: &'static str, expect: Expect| {
            Case::new(
                format!("sweep {model} on 2^20 chips, batch {batch}"),
                &[
                    "cluster",
                    "train",
                    "--model",
                    model,
                    "--cluster",
                    &huge,
                    "--sweep",
                    "--top",
                    "3",
                    "--batch",
                    batch,
                    "--seq",
                    "4096",
                    "--json",
                ],
                expect,
            )
            .timeout(60)
        };
        cases.push(sweep("1048576", Expect::Ok));
        cases.push(sweep("4194304", usage(&["tokens in one step"])));
        cases.push(Case::new(
            format!("sweep {model} on 2^20 + 16 chips"),
            &[
                "cluster",
                "train",
                "--model",
                model,
                "--cluster",
                &over,
                "--sweep",
                "--json",
            ],
            refused(&["1048592 chips"]),
        ));
    }
    run_all(cases);
}

//! Hostile arguments to every subcommand (rules in `tests/hostile_common`): sizes of 0, 1, not multiples
//! of 16, beyond memory, near `usize::MAX` and past it; batch counts of 2^40; negative, non-numeric and
//! non-finite numbers; malformed shapes, plans, token lists and masks; an all-zero attention mask; unknown
//! names; contradictory flags. Each either runs and answers sanely, or is refused with a message that
//! names the problem, quickly.

use crate::hostile_common;
use hostile_common::{Case, Expect, refused, run_all, usage};

const MAX: &str = "18446744073709551615";
const PAST_MAX: &str = "18446744073709551616";
const TWO_40: &str = "1099511627776";

fn case(args: &[&str], expect: Expect) -> Case {
    Case::new(args.join(" "), args, expect)
}

#[test]
fn matmul_sizes_and_flags() {
    let mut cases = Vec::new();
    for (mkn, expect) in [
        (["0", "4", "4"], usage(&["at least 1"])),
        (["4", "0", "4"], usage(&["at least 1"])),
        (["4", "4", "0"], usage(&["at least 1"])),
        (["-1", "4", "4"], usage(&["-1"])),
        (["x", "4", "4"], usage(&["x"])),
        (["1e3", "4", "4"], usage(&["1e3"])),
        ([PAST_MAX, "1", "1"], usage(&[PAST_MAX])),
        ([MAX, MAX, "2"], refused(&["too large"])),
        ([MAX, "1", "1"], refused(&["memory"])),
        ([TWO_40, "1", "1"], refused(&["memory"])),
        (["1", TWO_40, "1"], refused(&["memory"])),
        (["65536", "65536", "65536"], refused(&["memory"])),
        (["1", "1", "1"], Expect::Ok),
        (["17", "33", "65"], Expect::Ok),
        (["1", "4096", "1"], Expect::Ok),
    ] {
        let mut args = vec![
            "matmul",
            mkn[0],
            mkn[1],
            mkn[2],
            "--executor",
            "cpu",
            "--repeat",
            "1",
        ];
        cases.push(case(&args, expect.clone()));
        args.push("--json");
        cases.push(case(&args, expect));
    }
    for (extra, expect) in [
        (&["--batch", "0"][..], usage(&["batch"])),
        (&["--batch", TWO_40][..], refused(&["memory"])),
        (&["--batch", MAX][..], refused(&["too large"])),
        (&["--batch", "-3"][..], usage(&["-3"])),
        (&["--repeat", "0"][..], usage(&["repeat"])),
        (&["--repeat", "100001"][..], usage(&["repeat"])),
        (&["--seed", "-1"][..], usage(&["-1"])),
        (&["--seed", MAX][..], Expect::Ok),
        (&["--executor", "tpu"][..], usage(&["tpu"])),
        (&["--dtype-out", "f64"][..], usage(&["f64"])),
        (&["--dtype-out", "f16"][..], Expect::Ok),
        // i32 is int8's raw accumulator; a bf16 matmul refuses it, naming both.
        (&["--dtype-out", "i32"][..], usage(&["bf16", "i32"])),
        (&["--dtype", "int4"][..], usage(&["int4"])),
        (&["--dtype", "int8", "--dtype-out", "i32"][..], Expect::Ok),
        (&["--accumulate", "kahan"][..], usage(&["kahan"])),
        (&["--trans-a", "--trans-b"][..], Expect::Ok),
        (
            &[
                "--batch",
                "3",
                "--dtype-out",
                "bf16",
                "--accumulate",
                "sequential",
            ][..],
            Expect::Ok,
        ),
        (&["--predict"][..], Expect::Ok),
        (&["--predict", "--chip", "nope"][..], usage(&["nope"])),
    ] {
        let mut args = vec!["matmul", "8", "24", "40", "--repeat", "1", "--json"];
        if !extra.contains(&"--executor") {
            args.extend(["--executor", "cpu"]);
        }
        args.extend(extra);
        cases.push(case(&args, expect));
    }
    run_all(cases);
}

#[test]
fn demo_sizes_and_flags() {
    let small = [
        "--hidden",
        "64",
        "--heads",
        "2",
        "--kv-heads",
        "2",
        "--ffn",
        "64",
    ];
    let mut cases = Vec::new();
    for (extra, expect) in [
        (&["--seq", "0"][..], usage(&["seq"])),
        (&["--seq", "65537"][..], usage(&["seq"])),
        (&["--seq", "-1"][..], usage(&["-1"])),
        (&["--seq", "1"][..], Expect::Ok),
        (&["--seq", "3"][..], Expect::Ok),
        (&["--seq", "17", "--dtype", "f32"][..], Expect::Ok),
        (&["--seq", "16", "--dtype", "f64"][..], usage(&["f64"])),
        (
            &["--seq", "16", "--no-check", "--executor", "both"][..],
            usage(&["--no-check"]),
        ),
        (&["--seq", "16", "--chip", "nope"][..], usage(&["nope"])),
        (&["--seq", "16", "--seed", MAX][..], Expect::Ok),
    ] {
        let mut args = vec!["demo", "--json"];
        if !extra.contains(&"--executor") {
            args.extend(["--executor", "cpu"]);
        }
        args.extend(small);
        args.extend(extra);
        args.extend(["--trace", "/dev/null/never"]);
        // Every successful run writes its trace; here into a path that cannot exist, so successes
        // become a clear trace error, which the next list leaves out.
        let expect = match expect {
            Expect::Ok => refused(&["trace"]),
            e => e,
        };
        cases.push(case(&args, expect));
    }
    let trace =
        std::env::temp_dir().join(format!("davinci-hostile-demo-{}.json", std::process::id()));
    let trace = trace.display().to_string();
    for (sizes, expect) in [
        (["0", "2", "2", "64"], usage(&["positive"])),
        (["64", "0", "2", "64"], usage(&["positive"])),
        (["64", "2", "0", "64"], usage(&["positive"])),
        (["64", "2", "2", "0"], usage(&["positive"])),
        (["3", "3", "3", "8"], usage(&["even"])),
        (["64", "4", "3", "64"], usage(&["kv-heads"])),
        (["64", "3", "3", "64"], usage(&["heads"])),
        (["2", "1", "1", "1"], Expect::Ok),
        (["48", "3", "1", "40"], Expect::Ok),
        ([MAX, "1", "1", "1"], usage(&["hidden"])),
        (["64", "2", "2", MAX], usage(&["ffn"])),
        (["4294967296", "1", "1", "1"], usage(&["hidden"])),
        (["1048578", "2", "2", "2"], usage(&["hidden"])),
        (["65536", "2", "2", "65536"], refused(&["memory"])),
        (["64", MAX, "2", "64"], usage(&["heads"])),
        (["64", "2", MAX, "64"], usage(&["kv-heads"])),
    ] {
        let args = [
            "demo",
            "--executor",
            "cpu",
            "--json",
            "--seq",
            "8",
            "--hidden",
            sizes[0],
            "--heads",
            sizes[1],
            "--kv-heads",
            sizes[2],
            "--ffn",
            sizes[3],
            "--trace",
            &trace,
        ];
        cases.push(case(&args, expect));
    }
    run_all(cases);
    let _ = std::fs::remove_file(&trace);
}

#[test]
fn predict_shapes_and_sizes() {
    let mut cases = Vec::new();
    for (mkn, extra, expect) in [
        (["1", "1", "1"], &[][..], Expect::Ok),
        (["4096", "4096", "4096"], &[][..], Expect::Ok),
        (["17", "33", "65"], &["--dtype-out", "bf16"][..], Expect::Ok),
        (["0", "1", "1"], &[][..], usage(&["at least 1"])),
        ([MAX, MAX, MAX], &[][..], refused(&["too large"])),
        (["1", "1", "1"], &["--batch", MAX][..], refused(&["batch"])),
        (
            ["1", "1", "1"],
            &["--batch", TWO_40][..],
            refused(&["batch"]),
        ),
        (["1", "1", "1"], &["--batch", "0"][..], usage(&["batch"])),
        (
            ["65536", "65536", "65536"],
            &["--batch", "4096"][..],
            Expect::OkOrFail(vec!["batch".into()]),
        ),
        (
            ["1", "1", "1"],
            &["--chip", "/nonexistent/chip.toml"][..],
            refused(&["chip.toml"]),
        ),
    ] {
        let mut args = vec!["predict", "matmul", mkn[0], mkn[1], mkn[2], "--json"];
        args.extend(extra);
        cases.push(case(&args, expect));
    }
    for (op, shape, expect) in [
        ("softmax", "4096x4096", Expect::Ok),
        ("softmax", "1x1", Expect::Ok),
        ("softmax", "1", Expect::Ok),
        ("exp", "0x5", usage(&["0x5"])),
        ("exp", "x", usage(&["shape"])),
        ("exp", "5x", usage(&["shape"])),
        ("exp", "5xx5", usage(&["shape"])),
        ("exp", "-5", usage(&["-5"])),
        ("exp", "", usage(&["shape"])),
        ("exp", "99999999999999999999", usage(&["shape"])),
        ("exp", "4294967296x4294967296", refused(&["elements"])),
        (
            "layernorm",
            "4294967296x4294967296x4294967296",
            refused(&["elements"]),
        ),
        ("sum", "4096x1", Expect::Ok),
        ("frobnicate", "4x4", usage(&["frobnicate"])),
        ("cast", "7x9", Expect::Ok),
        ("silu", "3x5x7x9x11", Expect::Ok),
    ] {
        cases.push(case(
            &["predict", "op", op, shape, "--json"],
            expect.clone(),
        ));
        cases.push(case(&["predict", "op", op, shape], expect));
    }
    for (other, expect) in [
        ("4x5", refused(&["broadcast"])),
        ("5", Expect::Ok),
        ("1x1x1x1x1x1x5", Expect::OkOrFail(vec!["dimension".into()])),
        ("65536x65536x65536", refused(&["broadcast"])),
        ("4294967296x4294967296x1x5", refused(&["elements"])),
        ("0", usage(&["0"])),
    ] {
        cases.push(case(
            &["predict", "op", "add", "3x5", "--other", other, "--json"],
            expect,
        ));
    }
    run_all(cases);
}

#[test]
fn cluster_plans_and_workloads() {
    let mut cases = Vec::new();
    let base = [
        "cluster",
        "prefill",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--json",
    ];
    for (plan, expect) in [
        ("dp=8", Expect::Ok),
        ("dp=2,tp=4", Expect::Ok),
        ("dp=0", usage(&["dp"])),
        ("dp=-1", usage(&["dp"])),
        ("dp=abc", usage(&["abc"])),
        ("tp=3", usage(&["tp"])),
        ("dp=4", usage(&["8 chips"])),
        ("dp=8,pp=2", usage(&["8 chips"])),
        ("dp=8,zero=4", usage(&["zero"])),
        ("dp=8,mb=0", usage(&["mb"])),
        ("dp=8,ep=0", usage(&["ep"])),
        ("dp=8,foo=1", usage(&["foo"])),
        ("", usage(&["plan"])),
        ("dp=8,dp=8", usage(&["dp"])),
        (&format!("dp={MAX}"), usage(&["dp"])),
        (&format!("dp=8,mb={MAX}"), Expect::Ok),
    ] {
        let mut args = base.to_vec();
        args.extend(["--plan", plan, "--batch", "16", "--seq", "128"]);
        cases.push(case(&args, expect));
    }
    for (extra, expect) in [
        (&["--batch", "0"][..], usage(&["batch"])),
        (&["--seq", "0"][..], usage(&["at least 1"])),
        (&["--batch", MAX][..], usage(&["at most"])),
        (&["--seq", MAX][..], usage(&["at most"])),
        (
            &["--batch", "16777216", "--seq", "16777216"][..],
            usage(&["tokens"]),
        ),
        (&["--batch", "-1"][..], usage(&["-1"])),
        (
            &["--top", "0", "--sweep"][..],
            Expect::OkOrFail(vec!["top".into()]),
        ),
        (&["--sweep", "--top", MAX][..], Expect::Ok),
        (&["--sweep", "--batch", MAX][..], refused(&["batch"])),
        (&["--execute", "--plan", "dp=8"][..], usage(&["minilm"])),
    ] {
        let mut args = base.to_vec();
        if !extra.contains(&"--sweep") && !extra.contains(&"--plan") {
            args.extend(["--plan", "dp=8"]);
        }
        args.extend(extra);
        cases.push(case(&args, expect));
    }
    for (extra, expect) in [
        (&["--kv", "0"][..], Expect::Ok),
        (&["--kv", MAX][..], usage(&["at most"])),
        (&["--batch", TWO_40][..], usage(&["at most"])),
    ] {
        let mut args = vec![
            "cluster",
            "decode",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=768,ep=256",
        ];
        args.push("--json");
        if !extra.contains(&"--batch") {
            args.extend(["--batch", "12288"]);
        }
        if !extra.contains(&"--kv") {
            args.extend(["--kv", "4096"]);
        }
        args.extend(extra);
        cases.push(case(&args, expect));
    }
    for (args, expect) in [
        (
            vec!["cluster", "train", "--model", "nope"],
            usage(&["nope"]),
        ),
        (
            vec!["cluster", "train", "--cluster", "nope"],
            usage(&["nope"]),
        ),
        (
            vec!["cluster", "decode", "--model", "minilm", "--plan", "dp=384"],
            usage(&["encoder"]),
        ),
        (
            vec![
                "cluster",
                "prefill",
                "--model",
                "minilm",
                "--cluster",
                "atlas800-a2",
                "--plan",
                "dp=8",
                "--execute",
                "--weights",
                "/dev/zero",
                "--executor",
                "cpu",
            ],
            refused(&["/dev/zero"]),
        ),
        (
            vec![
                "cluster",
                "train",
                "--model",
                "deepseek-v3",
                "--sweep",
                "--top",
                "3",
                "--json",
            ],
            Expect::Ok,
        ),
        (vec!["clusters", "nope"], usage(&["nope"])),
        (vec!["models", "nope"], usage(&["nope"])),
        (vec!["chips", "nope"], usage(&["nope"])),
        (vec!["clusters", "--json"], Expect::Ok),
        (vec!["models", "--json"], Expect::Ok),
        (vec!["chips", "--json"], Expect::Ok),
    ] {
        cases.push(case(&args, expect).timeout(120));
    }
    run_all(cases);
}

#[test]
fn bert_tokens_and_masks() {
    // The golden layer-0 file holds no word embeddings, so a run that passes every check ends there;
    // the checks of tokens and masks come first.
    let w = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/minilm/weights_layer0_and_embed_ln.safetensors"
    );
    let mut cases = Vec::new();
    let long: String = vec!["101"; 513].join(",");
    for (tokens, mask, needle) in [
        ("", None, "token"),
        ("abc", None, "abc"),
        ("1,,2", None, "token"),
        ("-1", None, "-1"),
        ("4294967296", None, "4294967296"),
        ("30522", None, "vocabulary"),
        (long.as_str(), None, "position"),
        (";", None, "token"),
        ("101,2023,102", Some("0,0,0"), "all zeros"),
        (
            "101,2023,102;101,2023,102",
            Some("1,1,1;0,0,0"),
            "all zeros",
        ),
        ("101,2023,102", Some("1,1"), "mask"),
        ("101,2023,102", Some("2,1,1"), "mask"),
        ("101,2023,102", Some(""), "mask"),
        ("101,2023,102", Some("1,1,1;1,1,1"), "mask"),
        ("101,2023,102", None, "word_embeddings"),
    ] {
        let mut args = vec![
            "bert",
            "--weights",
            w,
            "--tokens",
            tokens,
            "--executor",
            "cpu",
        ];
        if let Some(m) = mask {
            args.extend(["--mask", m]);
        }
        cases.push(Case::new(
            format!("bert --tokens {:.40} --mask {mask:?}", tokens),
            &args,
            refused(&[needle]),
        ));
    }
    for (extra, needle) in [
        (&["--dtype", "f64"][..], "f64"),
        (&["--executor", "tpu"][..], "tpu"),
        (&["--chip", "nope", "--predict"][..], "nope"),
    ] {
        let mut args = vec!["bert", "--weights", w, "--tokens", "101,102"];
        args.extend(extra);
        cases.push(case(&args, usage(&[needle])));
    }
    run_all(cases);
}

#[test]
fn train_demo_op_flags_and_the_rest() {
    let x = std::env::temp_dir().join(format!(
        "davinci-hostile-flags-{}.safetensors",
        std::process::id()
    ));
    let t = davinci::tensor::random::gen_bf16(3, [4, 8], 1.0);
    davinci::tensor::safetensors_io::save(&x, &[("x", &t), ("y", &t), ("a", &t)], None).unwrap();
    let out = x.with_extension("out.safetensors");
    let (x, out) = (x.display().to_string(), out.display().to_string());
    let mut cases = Vec::new();
    for (extra, expect) in [
        (&["--steps", "0"][..], usage(&["steps"])),
        (&["--steps", "1000000000000"][..], usage(&["steps"])),
        (&["--lr", "-1"][..], usage(&["learning rate"])),
        (&["--lr", "inf"][..], usage(&["learning rate"])),
        (&["--lr", "nan"][..], usage(&["learning rate"])),
        (&["--lr", "abc"][..], usage(&["abc"])),
        (&["--chip", "/dev/zero"][..], refused(&["/dev/zero"])),
        (&["--cluster", "nope"][..], usage(&["nope"])),
        (&["--steps", "1", "--lr", "1e38"][..], Expect::Ok),
    ] {
        let mut args = vec!["train-demo", "--executor", "cpu", "--json"];
        args.extend(extra);
        cases.push(case(&args, expect).timeout(120));
    }
    for (op, extra, expect) in [
        ("exp", &["--map", "x"][..], usage(&["x"])),
        ("exp", &["--map", "=x"][..], usage(&["="])),
        ("exp", &["--map", "q=x"][..], usage(&["q"])),
        ("layernorm", &["--eps", "-1"][..], refused(&["eps"])),
        ("layernorm", &["--eps", "nan"][..], refused(&["eps"])),
        ("rmsnorm", &["--eps", "1e300"][..], refused(&["eps"])),
        ("rmsnorm", &["--eps", "inf"][..], refused(&["eps"])),
        ("cast", &["--dtype-out", "f64"][..], usage(&["f64"])),
        ("frobnicate", &[][..], usage(&["frobnicate"])),
        (
            "exp",
            &["--trans-a"][..],
            usage(&["--trans-a", "matmul only"]),
        ),
        (
            "softmax",
            &["--activation", "relu"][..],
            usage(&["--activation"]),
        ),
        ("exp", &["--chip", "910c"][..], usage(&["--predict"])),
        (
            "matmul",
            &["--map", "b=x", "--trans-b", "--scale", "nan"][..],
            refused(&["scale"]),
        ),
        (
            "matmul",
            &["--map", "b=x", "--trans-b", "--scale", "inf"][..],
            refused(&["scale"]),
        ),
        (
            "matmul",
            &["--map", "b=x", "--activation", "swish"][..],
            usage(&["swish"]),
        ),
        ("matmul", &["--map", "b=x", "--trans-b"][..], Expect::Ok),
        ("matmul", &["--map", "b=x"][..], refused(&["K"])),
        ("add", &[][..], Expect::Ok),
        ("softmax", &["--map", "mask=y"][..], Expect::Ok),
        (
            "exp",
            &["--predict", "--chip", "nope"][..],
            usage(&["nope"]),
        ),
    ] {
        let mut args = vec![
            "op",
            op,
            "--in",
            &x,
            "--out",
            &out,
            "--executor",
            "cpu",
            "--json",
        ];
        args.extend(extra);
        cases.push(case(&args, expect));
    }
    for (args, expect) in [
        (vec![], usage(&["Usage"])),
        (vec!["frobnicate"], usage(&["frobnicate"])),
        (vec!["--json"], usage(&["Usage"])),
        (vec!["info", "--json"], Expect::Ok),
        (vec!["info"], Expect::Ok),
        (vec!["matmul"], usage(&["<M>"])),
        (vec!["op"], usage(&["Usage"])),
        (vec!["op", "exp"], usage(&["--in"])),
        (vec!["predict"], usage(&["Usage"])),
        (vec!["cluster"], usage(&["Usage"])),
        (vec!["bert"], usage(&["--weights"])),
    ] {
        cases.push(case(&args, expect));
    }
    run_all(cases);
    let _ = std::fs::remove_file(&x);
    let _ = std::fs::remove_file(&out);
}

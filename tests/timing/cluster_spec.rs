//! Cluster, model and plan descriptions: the presets' totals, sources on every number, files, and the
//! errors bad input gets.

use davinci::cluster::model_presets::MODEL_NAMES;
use davinci::cluster::models::Attn;
use davinci::cluster::topology::CLUSTER_FIELDS;
use davinci::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};

#[test]
fn cloudmatrix384_totals_match_the_published_figures() {
    let c = ClusterSpec::preset("cloudmatrix384").unwrap();
    assert_eq!(c.chips(), 384);
    assert_eq!(c.nodes(), 48);
    assert_eq!(c.dies(), 768);
    // About 300 PFLOPS dense bf16 [Press]; 49.2 TB HBM; about 559 kW.
    let pf = c.peak_bf16() / 1e15;
    assert!((pf / 300.0 - 1.0).abs() < 0.01, "{pf} PFLOPS");
    // The press counts 128 GB (decimal) per chip; the preset holds 64 GiB per die (CANN ini), 7% more.
    let tib = c.chips() as f64 * c.chip.hbm_capacity().0 / (1u64 << 40) as f64;
    assert!((tib / 48.0 - 1.0).abs() < 1e-9, "{tib} TiB");
    let kw = c.power().0 / 1e3;
    assert!((kw / 559.0 - 1.0).abs() < 0.01, "{kw} kW");
    let parts: f64 = c.power_breakdown().iter().map(|(_, w, _)| w.0).sum();
    assert_eq!(parts, c.power().0);
    assert!(
        c.power_breakdown()
            .iter()
            .all(|(_, w, src)| w.0 >= 0.0 && src.len() > 8)
    );
}

#[test]
fn every_cluster_field_has_a_source() {
    for c in ClusterSpec::presets() {
        c.validate().unwrap();
        for f in CLUSTER_FIELDS {
            let s = c.field(f.key).unwrap();
            assert!(s.source.len() > 8, "{}: {} has no source", c.name, f.key);
        }
    }
    let a2 = ClusterSpec::preset("atlas800-a2").unwrap();
    assert_eq!((a2.chips(), a2.chip.name()), (8, "910b2"));
}

#[test]
fn custom_clusters_from_toml() {
    let c = ClusterSpec::from_toml(
        "name = \"cm-half\"\nbase = \"cloudmatrix384\"\nnodes = 24\nfabric_latency_us = { value = 1.7, source = \"paper\" }\n",
        "half.toml",
    )
    .unwrap();
    assert_eq!(c.chips(), 192);
    assert_eq!(c.fabric_latency_us.source, "paper");
    assert_eq!(c.nodes.source, "cluster file half.toml");
    let c = ClusterSpec::from_toml(
        "name = \"b3\"\nbase = \"atlas800-a2\"\nchip = \"910b3\"\nnodes = 4\n",
        "b3.toml",
    )
    .unwrap();
    assert_eq!((c.chips(), c.chip.name()), (32, "910b3"));
    for (text, want) in [
        ("base = \"cloudmatrix384\"\n", "'name' is missing"),
        (
            "name = \"x\"\nbase = \"nvl36\"\n",
            "unknown cluster 'nvl36'",
        ),
        (
            "name = \"x\"\nbase = \"cloudmatrix384\"\nnodez = 2\n",
            "unknown field 'nodez'",
        ),
        (
            "name = \"x\"\nbase = \"cloudmatrix384\"\nnodes = 2.5\n",
            "nodes = 2.5",
        ),
        (
            "name = \"x\"\nbase = \"cloudmatrix384\"\nnode_gb_per_s = 0\n",
            "node_gb_per_s",
        ),
        ("name = \"x\"\nnodes = 2\n", "missing field(s) chip"),
        (
            "name = \"x\"\nbase = \"cloudmatrix384\"\nchip = \"a100\"\n",
            "unknown chip 'a100'",
        ),
    ] {
        let e = ClusterSpec::from_toml(text, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(want) && e.contains("bad.toml"), "{text:?}: {e}");
    }
    let e = ClusterSpec::resolve("nvl36").unwrap_err().to_string();
    assert!(
        e.contains("cloudmatrix384") && e.contains("atlas800-a2"),
        "{e}"
    );
}

#[test]
fn model_presets_have_their_published_sizes() {
    let b = |name: &str| ModelSpec::preset(name).unwrap().params() / 1e9;
    // DeepSeek-V3: 671B total (without the 14B multi-token-prediction module), 37B active.
    assert!(
        (b("deepseek-v3") / 671.0 - 1.0).abs() < 0.01,
        "{}",
        b("deepseek-v3")
    );
    let ds = ModelSpec::preset("deepseek-v3").unwrap();
    assert!(
        (ds.active_params() / 1e9 / 37.0 - 1.0).abs() < 0.03,
        "{}",
        ds.active_params() / 1e9
    );
    assert_eq!(ds.layer_counts(), (3, 58));
    assert!(matches!(
        ds.attn,
        Attn::Mla {
            q_lora: 1536,
            kv_lora: 512,
            rope: 64,
            nope: 128,
            v: 128
        }
    ));
    assert!((b("llama3-8b") / 8.03 - 1.0).abs() < 0.01);
    assert!((b("llama3-70b") / 70.6 - 1.0).abs() < 0.01);
    // BERT-base 110M and MiniLM-L6 22.7M, less position and type embeddings and biases.
    assert!((b("bert-base") / 0.110 - 1.0).abs() < 0.05);
    assert!((b("minilm") / 0.0227 - 1.0).abs() < 0.05);
    assert_eq!(ModelSpec::presets().len(), MODEL_NAMES.len());
}

#[test]
fn models_from_toml_and_json_files() {
    let dir = std::env::temp_dir().join(format!("davinci-cluster-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("tiny.toml");
    std::fs::write(&toml, "name = \"tiny\"\nlayers = 4\nhidden = 512\nheads = 8\nkv_heads = 2\nffn = 1536\nvocab = 32000\n").unwrap();
    let m = ModelSpec::resolve(toml.to_str().unwrap()).unwrap();
    assert_eq!(
        (m.layers, m.hidden, m.attn),
        (
            4,
            512,
            Attn::Mha {
                kv_heads: 2,
                head_dim: 64
            }
        )
    );
    let json = dir.join("ds-small.json");
    std::fs::write(&json, r#"{"name": "ds-small", "base": "deepseek-v3", "layers": 8, "experts": 64, "dense_layers": 1}"#).unwrap();
    let m = ModelSpec::resolve(json.to_str().unwrap()).unwrap();
    assert_eq!(
        (m.layers, m.moe.unwrap().experts, m.moe.unwrap().top_k),
        (8, 64, 8)
    );
    assert!(matches!(m.attn, Attn::Mla { .. }));
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\nlayers = 4\nhidden = 512\nheads = 8\nkv_heads = 3\nffn = 10\nvocab = 10\n",
    )
    .unwrap();
    let e = ModelSpec::resolve(bad.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("key/value heads"), "{e}");
    std::fs::write(&bad, "name = \"bad\"\nlayer = 4\n").unwrap();
    let e = ModelSpec::resolve(bad.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown key 'layer'"), "{e}");
    let e = ModelSpec::resolve("gpt-5").unwrap_err().to_string();
    assert!(
        e.contains("unknown model 'gpt-5'") && e.contains("deepseek-v3"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_plans_get_clear_errors() {
    let cm = ClusterSpec::preset("cloudmatrix384").unwrap();
    let ds = ModelSpec::preset("deepseek-v3").unwrap();
    let llama = ModelSpec::preset("llama3-8b").unwrap();
    let w = Workload::Decode {
        batch: 4096,
        kv: 1024,
        mtp: None,
    };
    let err = |m: &ModelSpec, plan: &str| {
        predict_step(m, &cm, &Plan::parse(plan).unwrap(), &w)
            .unwrap_err()
            .to_string()
    };
    let e = err(&ds, "dp=50,tp=8");
    assert!(
        e.contains("400 devices") && e.contains("384 chips") && e.contains("768 dies"),
        "{e}"
    );
    let e = err(&ds, "dp=128,tp=3");
    assert!(
        e.contains("tp=3 does not divide the 128 attention heads"),
        "{e}"
    );
    let e = err(&ds, "dp=384,ep=384");
    assert!(
        e.contains("ep=384 is larger than the 256 routed experts"),
        "{e}"
    );
    let e = err(&llama, "dp=384,ep=2");
    assert!(e.contains("has no experts"), "{e}");
    let e = err(&llama, "dp=1,tp=8,pp=48");
    assert!(e.contains("pp=48 exceeds the 32 layers"), "{e}");
    for (text, want) in [
        ("dp=0", "dp must be at least 1"),
        ("tp=x", "needs a whole number"),
        ("dq=2", "unknown key 'dq'"),
        ("zero=5", "zero must be"),
    ] {
        let e = Plan::parse(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text}: {e}");
    }
    let p = Plan::parse("tp=8, dp=48, ep=8, recompute, zero=1, mb=4").unwrap();
    assert_eq!(p.to_string(), "dp=48,tp=8,pp=1,ep=8,mb=4,zero=1,recompute");
    // Too small a batch for the replicas; an encoder cannot decode.
    let e = predict_step(
        &ds,
        &cm,
        &Plan::parse("dp=384").unwrap(),
        &Workload::Decode {
            batch: 8,
            kv: 16,
            mtp: None,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot feed dp=384"), "{e}");
    let bert = ModelSpec::preset("bert-base").unwrap();
    let e = predict_step(&bert, &cm, &Plan::parse("dp=384").unwrap(), &w)
        .unwrap_err()
        .to_string();
    assert!(e.contains("encoder"), "{e}");
}

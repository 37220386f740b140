//! The descriptions and predictions serialise (serde) with the values they hold, so that library and
//! Python users get them as data: every chip field with its source, the cluster's and model's sizes, a
//! prediction's totals and per-op figures, a cluster step's time and plan.

use davinci::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};
use davinci::{ChipSpec, MatmulOptions, Tensor, predict_matmul};

#[test]
fn descriptions_and_predictions_serialise_with_their_values() {
    let chip = ChipSpec::resolve("910c").unwrap();
    let v = serde_json::to_value(&chip).unwrap();
    assert_eq!(v["name"], "910c");
    assert_eq!(v["clock_mhz"]["value"], chip.clock_mhz.value);
    for f in davinci::chip::FIELDS {
        let s = &v[f.key]["source"];
        assert!(s.as_str().is_some_and(|s| !s.is_empty()), "{}: {s}", f.key);
    }

    let a = Tensor::from_f32([256, 512], vec![0.0; 256 * 512])
        .unwrap()
        .to_bf16();
    let b = Tensor::from_f32([512, 128], vec![0.0; 512 * 128])
        .unwrap()
        .to_bf16();
    let pred = predict_matmul(&a, &b, MatmulOptions::default(), &chip).unwrap();
    let v = serde_json::to_value(&pred).unwrap();
    assert_eq!(v["total"], pred.total.0, "units serialise as their number");
    assert_eq!(v["flops"], 2.0 * 256.0 * 512.0 * 128.0);
    assert_eq!(v["ops"].as_array().unwrap().len(), pred.ops.len());
    assert_eq!(v["chip"]["name"], "910c");

    let cluster = ClusterSpec::resolve("cloudmatrix384").unwrap();
    let model = ModelSpec::resolve("llama3-8b").unwrap();
    let c = serde_json::to_value(&cluster).unwrap();
    assert_eq!(c["name"], "cloudmatrix384");
    let m = serde_json::to_value(&model).unwrap();
    assert_eq!(m["layers"], model.layers);
    assert_eq!(m["hidden"], model.hidden);
    let plan = Plan::parse("dp=384,tp=1,pp=1,ep=1").unwrap();
    let w = Workload::Decode {
        batch: 768,
        kv: 1024,
        mtp: None,
    };
    let step = predict_step(&model, &cluster, &plan, &w).unwrap();
    let s = serde_json::to_value(&step).unwrap();
    assert_eq!(s["step"], step.step.0);
    assert_eq!(s["plan"]["dp"], 384);
    assert_eq!(s["tokens_per_s"], step.tokens_per_s);
}

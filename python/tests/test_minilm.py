"""Layer 0 of sentence-transformers' all-MiniLM-L6-v2 (the repository's golden, tests/golden/minilm),
built op by op through the Python API, within the bounds the Rust test holds the library to: in f32
(the Cube's fp32 mode) every intermediate within 1e-4 relative (Frobenius) error of the float64
reference; in bf16 within 1.5 x the error of torch's own bf16 run at the same intermediate. And the GPU
executor gives the CPU twin's bits."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import davinci
from conftest import GOLDEN, assert_same_bits, executors

S, H, HEADS, D, FFN, EPS = 8, 384, 12, 32, 1536, 1e-12
NAMES = ["q", "k", "v", "context", "attn_dense", "attn_ln", "ffn_pre_gelu", "ffn_gelu", "ffn_out_dense", "out"]


def rel(got: np.ndarray, want: np.ndarray) -> float:
    g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    return float(np.linalg.norm(g - w) / np.linalg.norm(w))


def layer(dt) -> tuple[davinci.Program, list[np.ndarray]]:
    """The encoder layer as a Program on inputs (hidden, mask, weights...) and their values."""
    w = davinci.load(GOLDEN / "minilm" / "weights_layer0_and_embed_ln.safetensors")
    pre = "encoder.layer.0."
    p, feeds = davinci.Program(), []

    def inp(name: str, value: np.ndarray) -> davinci.Value:
        feeds.append(value)
        return p.input(name, value.shape, value.dtype)

    def weight(name: str) -> davinci.Value:  # matmul operands in the compute dtype, the rest f32
        v = w[pre + name]
        return inp(name, v.astype(dt) if name.endswith("weight") and v.ndim == 2 else v)

    golden = davinci.load(GOLDEN / "minilm" / ("layer0_fp32.safetensors" if dt == np.float32 else "layer0_bf16.safetensors"))
    x = inp("hidden", golden["input_hidden"].reshape(S, H))
    mask = inp("mask", golden["attention_mask_additive"].reshape(1, 1, S))

    def linear(x, name, act=None, residual=None, out=dt):
        return p.matmul(x, weight(name + ".weight"), trans_b=True, bias=weight(name + ".bias"), activation=act,
                        residual=residual, out_dtype=out)

    def heads(t):  # [S, H] -> [HEADS, S, D]
        return p.permute(p.reshape(t, (S, HEADS, D)), (1, 0, 2))

    q, k, v = (linear(x, f"attention.self.{n}") for n in ("query", "key", "value"))
    scores = p.matmul(heads(q), heads(k), trans_b=True, scale=D ** -0.5, out_dtype="float32")
    probs = p.softmax(scores, mask, out_dtype=dt)
    ctx = p.reshape(p.permute(p.matmul(probs, heads(v), out_dtype=dt), (1, 0, 2)), (S, H))
    attn_dense = linear(ctx, "attention.output.dense", out="float32")
    x32 = x if dt == np.float32 else p.cast(x, "float32")
    attn_ln32 = p.layernorm(p.add(attn_dense, x32), weight("attention.output.LayerNorm.weight"),
                            weight("attention.output.LayerNorm.bias"), EPS, out_dtype="float32")
    attn_ln = attn_ln32 if dt == np.float32 else p.cast(attn_ln32, dt)
    pre_gelu = linear(attn_ln, "intermediate.dense")
    gelu = p.gelu(pre_gelu)
    ffn_out = linear(gelu, "output.dense", out="float32")
    out = p.layernorm(p.add(ffn_out, attn_ln32), weight("output.LayerNorm.weight"), weight("output.LayerNorm.bias"),
                      EPS, out_dtype="float32")
    p.output(q, k, v, ctx, attn_dense, attn_ln, pre_gelu, gelu, ffn_out, out)
    return p, feeds, golden


@pytest.mark.parametrize("dt", [np.float32, ml_dtypes.bfloat16], ids=["f32", "bf16"])
def test_layer0_through_the_python_api(dt):
    p, feeds, golden = layer(dt)
    runs = {e: p.run(feeds, executor=e) for e in executors()}
    got = dict(zip(NAMES, runs["cpu"]))
    ref = davinci.load(GOLDEN / "minilm" / "layer0_fp32.safetensors")
    for name in NAMES:
        want = ref[f"ref64.{name}"].reshape(got[name].shape)
        err = rel(got[name], want)
        if dt == np.float32:
            bound = 1e-4
        else:
            bound = 1.5 * rel(golden[f"torch.{name}"].reshape(got[name].shape), want)
        print(f"{np.dtype(dt).name} {name}: relative error {err:.2e} (bound {bound:.2e})")
        assert err <= bound, f"{name}: relative error {err:.3e} > {bound:.3e}"
    for e, outs in runs.items():
        for name, o in zip(NAMES, outs):
            assert_same_bits(o, got[name], f"{name} on {e}")

"""Programs from Python: several ops and outputs run on every executor with one set of bits; the
prediction has the fields and figures of the CLI's `davinci predict` JSON; traces are written."""

from __future__ import annotations

import json
import subprocess

import ml_dtypes
import numpy as np
import pytest

import davinci
from conftest import assert_same_bits, executors


def attention_program(s: int, d: int) -> davinci.Program:
    p = davinci.Program()
    q, k, v = (p.input(n, (s, d), ml_dtypes.bfloat16) for n in "qkv")
    scores = p.matmul(q, k, trans_b=True, scale=d ** -0.5, out_dtype="bfloat16")
    probs = p.softmax(scores)
    p.output(p.matmul(probs, v), probs)
    return p


def test_a_program_runs_with_the_same_bits_on_every_executor():
    rng = np.random.default_rng(0)
    qkv = [rng.standard_normal((24, 40)).astype(ml_dtypes.bfloat16) for _ in range(3)]
    p = attention_program(24, 40)
    assert p.ops == ["cube_matmul", "vector_softmax", "cube_matmul"]
    runs = {e: p.run(qkv, executor=e) for e in executors()}
    out, probs = runs["cpu"]
    assert out.shape == (24, 40) and out.dtype == np.float32
    assert probs.dtype == ml_dtypes.bfloat16
    # The rows of softmax sum to one within bf16's rounding of each entry.
    assert np.allclose(probs.astype(np.float64).sum(-1), 1.0, atol=24 * 2 ** -8)
    ref = (qkv[0].astype(np.float64) @ qkv[1].astype(np.float64).T) * 40 ** -0.5
    ref = np.exp(ref - ref.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    assert np.abs(probs.astype(np.float64) - ref).max() < 2e-2
    for e, (o, pr) in runs.items():
        assert_same_bits(o, out, f"output on {e}")
        assert_same_bits(pr, probs, f"probs on {e}")
    if "gpu" in runs:
        assert_same_bits(p.run(qkv, executor="both")[0], out, "both")


def test_values_of_values_report_shape_and_dtype():
    p = davinci.Program()
    x = p.input("x", (3, 4, 5), "bf16")
    y = p.permute(x, (2, 0, 1))
    assert y.shape == (5, 3, 4) and y.dtype == ml_dtypes.bfloat16
    assert p.sum(p.exp(p.cast(y, np.float32))).shape == (5, 3)
    with pytest.raises(AttributeError, match="no attribute or Vector op 'expo'"):
        p.expo(x)


def test_predict_matches_the_cli(cli):
    p = davinci.Program()
    x = p.input("x", (512, 1024), "float32")
    p.output(p.softmax(x))
    pred = p.predict("910c")
    r = subprocess.run([cli, "predict", "op", "softmax", "512x1024", "--dtype", "f32", "--chip", "910c", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = json.loads(r.stdout)
    assert set(pred) == set(want), set(pred) ^ set(want)
    assert pred.time_us == pytest.approx(want["time_us"], rel=1e-12)
    assert pred.bound == want["bound"] and pred.ops[0].kernel == "vector_softmax"
    assert "predicted on 910c" in str(pred)
    # An NVIDIA GPU preset is predicted by the GPU model, with the same top-level time field.
    gpu = p.predict("h100-sxm")
    assert gpu.chip == "h100-sxm" and gpu.time_us > 0
    # Framework launches add the host's dispatch to a short op.
    assert p.predict("910c", launch="framework").time_us > pred.time_us


def test_trace_is_chrome_json(tmp_path):
    p = attention_program(128, 64)
    n = p.trace(tmp_path / "t.json")
    events = json.loads((tmp_path / "t.json").read_text())
    assert n == len(events) > 10
    assert {"cube_matmul", "vector_softmax"} <= {e.get("name") for e in events}


def test_save_and_load_keep_every_dtype(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "bf16": rng.standard_normal(7).astype(ml_dtypes.bfloat16),
        "f16": rng.standard_normal((1, 1)).astype(np.float16),
        "i8": rng.integers(-128, 127, (4, 4)).astype(np.int8),
        "i32": rng.integers(-2**31, 2**31 - 1, 3).astype(np.int32),
        "e4m3": rng.standard_normal(5).astype(ml_dtypes.float8_e4m3fn),
    }
    davinci.save(tmp_path / "a.safetensors", arrays)
    back = davinci.load(tmp_path / "a.safetensors")
    assert set(back) == set(arrays)
    for n, a in arrays.items():
        assert_same_bits(back[n], a, n)


def test_presets_are_reachable():
    chips = davinci.chips()
    assert "910c" in {c.name for c in chips.chips} and "h100-sxm" in {g.name for g in chips.gpus}
    assert davinci.chip("910b2").fields.clock_mhz.source
    assert "cloudmatrix384" in {c.name for c in davinci.cluster.presets().clusters}
    assert "deepseek-v3" in {m.name for m in davinci.cluster.models().models}
    v = davinci.validate()
    assert v.median_abs_error <= v.median_bound and not v.failed


def test_validate_draws_its_plot(tmp_path):
    path = tmp_path / "v.svg"
    v = davinci.validate(filter="fa-hand", plot=path)
    assert v.plot == str(path) and "predicted = measured" in path.read_text()


def test_every_op_has_a_type_hint_and_a_docstring():
    import ast
    import inspect
    import pathlib

    stub = ast.parse((pathlib.Path(davinci.__file__).parent / "vector.pyi").read_text())
    hinted = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    for family in davinci.ops().values():
        for name in family:
            assert name in hinted, f"vector.pyi lacks {name}"
            assert getattr(davinci, name).__doc__, f"davinci.{name} has no docstring"
    for name in davinci.__all__:
        obj = getattr(davinci, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__, f"davinci.{name} has no docstring"

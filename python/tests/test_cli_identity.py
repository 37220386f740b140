"""Every op through the Python API gives the `davinci op` CLI's result bit for bit, on the same inputs
(written with davinci.save, read back with davinci.load), on the CPU twin and, where an adapter opens,
the GPU executor. The inputs mix ordinary values with the special ones (NaN, infinities, signed zeros,
subnormals) and use sizes that are not multiples of 16."""

from __future__ import annotations

import json
import subprocess

import ml_dtypes
import numpy as np
import pytest

import davinci
from conftest import assert_same_bits, executors

SHAPE = (5, 37)
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 88.7, -103.0, 1.0], np.float32)


def values(seed: int, dtype) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32) * 3
    x.ravel()[: SPECIAL.size] = SPECIAL
    return x.astype(dtype)


def tag(dtype) -> str:
    return {np.dtype(np.float32): "f32", np.dtype(ml_dtypes.bfloat16): "bf16"}[np.dtype(dtype)]


def run_cli(cli: str, tmp_path, op: str, inputs: dict, *flags: str) -> np.ndarray:
    src, dst = tmp_path / f"{op}.in.safetensors", tmp_path / f"{op}.out.safetensors"
    davinci.save(src, inputs)
    r = subprocess.run([cli, "op", op, "--in", str(src), "--out", str(dst), "--executor", "cpu", "--json", *flags],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"davinci op {op} failed: {r.stderr}"
    json.loads(r.stdout)  # one JSON object on stdout
    return davinci.load(dst)["out"]


FAMILIES = davinci.ops()


@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16], ids=["f32", "bf16"])
@pytest.mark.parametrize("name", sorted(FAMILIES["unary"]))
def test_unary(cli, tmp_path, name, dtype):
    x = values(1, dtype)
    want = run_cli(cli, tmp_path, name, {"x": x}, "--dtype-out", tag(dtype))
    for e in executors():
        assert_same_bits(getattr(davinci, name)(x, executor=e), want, f"{name} on {e}")


@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16], ids=["f32", "bf16"])
@pytest.mark.parametrize("name", sorted(FAMILIES["binary"]))
def test_binary(cli, tmp_path, name, dtype):
    x, y = values(2, dtype), values(3, dtype)[:, :1].copy()  # y broadcast along the last axis
    want = run_cli(cli, tmp_path, name, {"x": x, "y": y}, "--dtype-out", tag(dtype))
    for e in executors():
        assert_same_bits(getattr(davinci, name)(x, y, executor=e), want, f"{name} on {e}")


@pytest.mark.parametrize("name", sorted(FAMILIES["reduce"]))
def test_reduce(cli, tmp_path, name):
    x = values(4, np.float32)
    want = run_cli(cli, tmp_path, name, {"x": x}, "--dtype-out", "f32")
    for e in executors():
        assert_same_bits(getattr(davinci, name)(x, executor=e), want, f"{name} on {e}")


def test_rows(cli, tmp_path):
    x = np.random.default_rng(5).standard_normal(SHAPE).astype(np.float32)
    mask = np.where(np.arange(SHAPE[1]) % 5 == 0, -1e9, 0.0).astype(np.float32)
    gamma = np.random.default_rng(6).standard_normal(SHAPE[1]).astype(np.float32)
    beta = np.random.default_rng(7).standard_normal(SHAPE[1]).astype(np.float32)
    cases = [
        ("softmax", {"x": x, "mask": mask}, [], lambda e: davinci.softmax(x, mask, executor=e)),
        ("layernorm", {"x": x, "gamma": gamma, "beta": beta}, ["--eps", "1e-12"],
         lambda e: davinci.layernorm(x, gamma, beta, 1e-12, executor=e)),
        ("rmsnorm", {"x": x, "gamma": gamma}, ["--eps", "1e-6"], lambda e: davinci.rmsnorm(x, gamma, 1e-6, executor=e)),
    ]
    for name, inputs, flags, py in cases:
        want = run_cli(cli, tmp_path, name, inputs, "--dtype-out", "f32", *flags)
        for e in executors():
            assert_same_bits(py(e), want, f"{name} on {e}")


@pytest.mark.parametrize("accumulate", ["tree16", "sequential", "bf16-every4"])
def test_matmul(cli, tmp_path, accumulate):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((37, 40)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((24, 40)).astype(ml_dtypes.bfloat16)  # [N, K]: a torch Linear weight
    bias = rng.standard_normal(24).astype(np.float32)
    want = run_cli(cli, tmp_path, "matmul", {"a": a, "b": b, "bias": bias}, "--trans-b", "--accumulate",
                   accumulate, "--scale", "0.5", "--activation", "gelu", "--dtype-out", "bf16")
    for e in executors():
        got = davinci.matmul(a, b, trans_b=True, accumulate=accumulate, scale=0.5, bias=bias, activation="gelu",
                             out_dtype="bfloat16", executor=e)
        assert_same_bits(got, want, f"matmul {accumulate} on {e}")


def test_cast(cli, tmp_path):
    x = values(9, np.float32)
    want = run_cli(cli, tmp_path, "cast", {"x": x}, "--dtype-out", "bf16")
    for e in executors():
        assert_same_bits(davinci.cast(x, "bfloat16", executor=e), want, f"cast on {e}")
    # ml_dtypes rounds f32 -> bf16 to nearest even too: the same bits, NaN payloads aside.
    ok = ~np.isnan(x)
    assert_same_bits(want[ok], x.astype(ml_dtypes.bfloat16)[ok], "cast against ml_dtypes")

"""Bad input raises the right exception with the library's message, never a panic or a wrong answer."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import davinci
from davinci import _native
from conftest import executors

F = np.float32


@pytest.mark.parametrize(
    "call, kind, words",
    [
        (lambda: davinci.matmul(np.zeros((3, 4), F), np.zeros((5, 6), F)), davinci.ShapeError, "K dimensions differ"),
        (lambda: davinci.matmul(np.zeros((0, 4), F), np.zeros((4, 6), F)), davinci.ShapeError, "at least 1"),
        (lambda: davinci.add(np.zeros((3, 4), F), np.zeros((3, 5), F)), davinci.ShapeError, "do not broadcast"),
        (lambda: davinci.layernorm(np.zeros((3, 4), F), np.zeros(5, F)), davinci.ShapeError, "gamma must have shape [4]"),
        (lambda: davinci.exp(np.zeros((4, 3), F).T), davinci.ShapeError, "not C-contiguous"),
        (lambda: davinci.exp(np.zeros((4, 3), F)[:, ::2]), davinci.ShapeError, "not C-contiguous"),
        (lambda: davinci.exp(np.zeros((3, 4))), davinci.DTypeError, "float64"),
        (lambda: davinci.exp([1.0, 2.0]), davinci.DTypeError, "expected a numpy array"),
        (lambda: davinci.matmul(np.zeros((4, 4), F), np.zeros((4, 4), ml_dtypes.bfloat16)), davinci.DTypeError,
         "cast them first"),
        (lambda: davinci.exp(np.zeros(3, F), out_dtype="int32"), davinci.DTypeError, "exp"),
        (lambda: davinci.exp(np.zeros(3, F), executor="tpu"), davinci.UsageError, "expected auto, gpu, cpu or both"),
        (lambda: davinci.exp(np.zeros(3, F), out_dtype="float64"), davinci.UsageError, "unknown dtype"),
        (lambda: davinci.matmul(np.zeros((4, 4), F), np.zeros((4, 4), F), accumulate="tree8"), davinci.UsageError,
         "tree8"),
        (lambda: davinci.linear(np.zeros((4, 4), F), np.zeros((4, 4), F), activation="swish"), davinci.UsageError,
         "unknown activation 'swish'"),
        (lambda: davinci.layernorm(np.zeros((3, 4), F), eps=float("nan")), davinci.UsageError, "eps"),
        (lambda: davinci.load("/nonexistent/x.safetensors"), davinci.FileError, "/nonexistent/x.safetensors"),
        (lambda: davinci.load("/dev/zero"), davinci.FileError, "/dev/zero"),
        (lambda: davinci.chip("a100"), davinci.UsageError, "unknown chip 'a100'"),
        (lambda: davinci.cluster.predict("deepseek-v3", plan="dp=7"), davinci.UsageError, "7"),
        (lambda: davinci.cluster.predict("deepseek-v3", "serve", plan="dp=768"), davinci.UsageError, "workload"),
    ],
)
def test_bad_input_raises_the_library_error(call, kind, words):
    with pytest.raises(kind) as e:
        call()
    assert words in str(e.value), str(e.value)
    assert isinstance(e.value, davinci.DavinciError) and type(e.value).__module__ == "davinci"


def test_program_misuse(tmp_path):
    p, q = davinci.Program(), davinci.Program()
    x = p.input("x", (2, 3))
    with pytest.raises(davinci.ProgramError, match="another program"):
        q.exp(x)
    p.output(p.exp(x))
    with pytest.raises(davinci.ProgramError, match="takes 1 inputs"):
        p.run([], executor="cpu")
    with pytest.raises(davinci.ProgramError, match=r"declared f32 \[2, 3\] but a f32 \[3, 2\]"):
        p.run([np.zeros((3, 2), F)], executor="cpu")
    with pytest.raises(davinci.UsageError):
        p.predict("910x")
    (tmp_path / "sub").mkdir()
    with pytest.raises(davinci.FileError):
        p.trace(tmp_path / "sub")  # a directory, not a file


def test_a_lost_device_raises_device_error_and_the_next_call_reopens():
    if "gpu" not in executors():
        pytest.skip("no GPU adapter")
    x = np.arange(12, dtype=F).reshape(3, 4)
    want = davinci.exp(x, executor="cpu")
    assert (davinci.exp(x, executor="gpu") == want).all()
    assert _native._lose_gpu()
    with pytest.raises(davinci.DeviceError, match="lost"):
        davinci.exp(x, executor="gpu")
    # A new context serves the next call, with the same bits.
    assert (davinci.exp(x, executor="gpu").view(np.uint32) == want.view(np.uint32)).all()

"""A numpy training loop on the emulator learns, gives the same loss curve to the bit on the GPU and the
CPU twin, and reports a failing forward pass as its own exception."""

from __future__ import annotations

import numpy as np
import pytest

import davinci
from davinci import train
from conftest import executors


def problem():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 8)).astype(np.float32)
    targets = [int(np.argmax(r[:4])) for r in x]  # the class: where the largest of the first four is
    params = {
        "w1": (rng.standard_normal((32, 8)) * 0.35).astype(np.float32),
        "b1": np.zeros(32, np.float32),
        "w2": (rng.standard_normal((4, 32)) * 0.18).astype(np.float32),
    }

    def forward(tape: train.Tape) -> davinci.Value:
        h = tape.cast(tape.input("x", x), tape.compute_dtype)
        h = tape.linear(h, tape.param("w1"), tape.param("b1"), activation="gelu", out_dtype=tape.compute_dtype)
        return tape.cross_entropy(tape.linear(h, tape.param("w2")), targets)

    return params, forward


def losses(executor: str, steps: int = 40) -> tuple[list[float], dict]:
    params, forward = problem()
    t = train.Trainer(params, train.AdamW(lr=2e-2, weight_decay=0.0), keep_grads=True)
    out = [t.step(forward, executor=executor) for _ in range(steps)]
    assert out[-1].step == steps and set(out[-1].grads) == {"w1", "b1", "w2"}
    return [r.loss for r in out], t.params


def test_a_small_model_learns_with_the_same_bits_on_every_executor():
    curves = {e: losses(e) for e in executors()}
    loss, params = curves["cpu"]
    assert loss[-1] < 0.5 * loss[0], loss
    for e, (other, p) in curves.items():
        assert other == loss, f"{e}: the loss curve differs from the CPU twin's"
        for n in params:
            assert (p[n].view(np.uint32) == params[n].view(np.uint32)).all(), f"{e}: parameter {n}"


def test_sgd_and_a_learning_rate_schedule():
    params, forward = problem()
    t = train.Trainer(params, train.SGD(lr=0.5, momentum=0.9), compute="float32")
    first = t.step(forward, executor="cpu").loss
    t.learning_rate = 0.1
    assert t.learning_rate == pytest.approx(0.1)
    for _ in range(20):
        last = t.step(forward, executor="cpu").loss
    assert last < first and t.steps_done == 21


def test_a_failing_forward_raises_its_own_error_and_changes_nothing():
    params, forward = problem()
    t = train.Trainer(params, train.AdamW(lr=1e-2))

    def broken(tape):
        raise KeyError("no such layer")

    with pytest.raises(KeyError, match="no such layer"):
        t.step(broken, executor="cpu")
    with pytest.raises(davinci.UsageError, match="no parameter named|unknown parameter|w9"):
        t.step(lambda tape: tape.param("w9"), executor="cpu")
    assert t.steps_done == 0 and (t.params["w1"] == params["w1"]).all()
    with pytest.raises(davinci.UsageError, match="commits its update once"):
        t.step(forward, executor="both")
    with pytest.raises(davinci.UsageError, match="AdamW or SGD"):
        train.Trainer(params, "adam")
    with pytest.raises(davinci.UsageError, match="learning rate"):
        train.Trainer(params, train.AdamW(lr=float("nan")))

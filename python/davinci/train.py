"""Training on the emulated 910C from numpy: named f32 parameters, a ``forward(tape)`` that records the
loss, and ``Trainer.step``, which records backward and the optimizer's update into the same program and
runs the whole step (mixed precision as Ascend training runs it: bf16 on the Cube, f32 master weights,
gradients and optimizer state)::

    params = {"w": np.random.randn(4, 8).astype(np.float32) * 0.3}
    trainer = davinci.train.Trainer(params, davinci.train.AdamW(lr=2e-2))
    def forward(tape):
        x = tape.cast(tape.input("x", X), tape.compute_dtype)
        return tape.cross_entropy(tape.linear(x, tape.param("w")), targets)
    for _ in range(40):
        report = trainer.step(forward, executor="cpu")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from . import _native
from ._arrays import DTypeLike, from_native, numpy_dtype, tag, to_native
from ._program import Program, Value


@dataclass(frozen=True)
class AdamW:
    """AdamW with decoupled weight decay, as Vector-unit ops on the f32 state."""
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01

    def _native(self) -> tuple[str, list[float]]:
        return "adamw", [self.lr, self.beta1, self.beta2, self.eps, self.weight_decay]


@dataclass(frozen=True)
class SGD:
    """SGD with momentum and weight decay."""
    lr: float = 1e-2
    momentum: float = 0.0
    weight_decay: float = 0.0

    def _native(self) -> tuple[str, list[float]]:
        return "sgd", [self.lr, self.momentum, self.weight_decay]


class Tape(Program):
    """The forward pass of one step: a Program whose inputs carry values, with the parameters and the
    loss. Every recording method of Program works on it."""

    @property
    def compute_dtype(self) -> np.dtype:
        """bfloat16 under mixed precision, else float32: cast inputs to it before the Cube."""
        return numpy_dtype(_native.tape_compute_dtype(self._rec))

    def input(self, name: str, value: np.ndarray, dtype: DTypeLike = None) -> Value:  # type: ignore[override]
        """Binds a value (data, targets' one-hots, a mask) to the tape; it needs no gradient."""
        if dtype is not None and tag(dtype) != tag(value.dtype):
            raise _native.DTypeError(f"input {name}: the value is {value.dtype}, not {np.dtype(numpy_dtype(tag(dtype)))}")
        arr, t = to_native(value, name)
        return self._v(_native.tape_input(self._rec, name, arr, t))

    def param(self, name: str) -> Value:
        """Parameter ``name`` in the compute dtype (its bf16 copy under mixed precision)."""
        return self._v(_native.tape_param(self._rec, name))

    def cross_entropy(self, logits: Value, targets: Sequence[int]) -> Value:
        """The mean cross-entropy of ``logits`` ``[T, V]`` against ``targets`` (T class ids), f32 ``[1]``."""
        return self._v(_native.tape_cross_entropy(self._rec, self._id(logits), [int(t) for t in targets]))


@dataclass
class StepReport:
    """What one step did."""
    step: int
    loss: float
    grad_norm: float
    skipped: bool
    loss_scale: Optional[float]
    grads: dict[str, np.ndarray] = field(default_factory=dict)


class Trainer:
    """Parameters (f32 masters), an optimizer and its state. ``compute``: bfloat16 (mixed precision) or
    float32; ``loss_scale=(initial, growth_interval)`` turns on dynamic loss scaling; ``keep_grads``
    returns every parameter's gradient with each step."""

    def __init__(self, params: dict[str, np.ndarray], optimizer: "AdamW | SGD" = AdamW(), *,
                 compute: DTypeLike = "bfloat16", loss_scale: Optional[tuple[float, int]] = None,
                 keep_grads: bool = False) -> None:
        if not isinstance(optimizer, (AdamW, SGD)):
            raise _native.UsageError(f"optimizer must be davinci.train.AdamW or SGD, got {type(optimizer).__name__}")
        native = [(n, *to_native(a, n)) for n, a in params.items()]
        kind, hyper = optimizer._native()
        ls = None if loss_scale is None else (float(loss_scale[0]), int(loss_scale[1]))
        self._t = _native.NativeTrainer(native, kind, [float(h) for h in hyper], tag(compute), ls, keep_grads)

    def step(self, forward: Callable[[Tape], Value], executor: str = "auto") -> StepReport:
        """Records ``forward(tape)`` (which returns the loss), backward and the update, runs the step on
        ``executor`` (gpu or cpu; auto picks) with the GIL released, and keeps the new weights."""
        def native_forward(rec: object) -> int:
            tape = Tape(rec)
            loss = forward(tape)
            return tape._id(loss)
        step, loss, norm, skipped, scale, grads = self._t.step(native_forward, executor)
        return StepReport(step, loss, norm, skipped, scale, {n: from_native(a, t) for n, a, t in grads})

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The f32 master weights, by name (copies)."""
        return dict(self._t.params())

    @property
    def learning_rate(self) -> float:
        return self._t.learning_rate()

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        self._t.set_learning_rate(float(lr))

    @property
    def steps_done(self) -> int:
        return self._t.steps_done()

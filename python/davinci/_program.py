"""``davinci.Program``: ops recorded on symbolic tensors (``Value``), run on an executor or predicted on a
chip. Every op has the library's kernel and bits; see ``davinci.ops()`` for the Vector unit's names."""

from __future__ import annotations

import os
from typing import Callable, Optional, Sequence, Union

import numpy as np

from . import _native
from ._arrays import DTypeLike, from_native, tag, to_native
from ._record import Record, from_json

Activation = Optional[str]


_FAMILIES: dict[str, str] = {}


def _families() -> dict[str, str]:
    if not _FAMILIES:
        _FAMILIES.update({name: family for family, name, _ in _native.vector_ops()})
    return _FAMILIES


class Value:
    """A tensor of a program: an input, or the result of a recorded op."""

    __slots__ = ("program", "id")

    def __init__(self, program: "Program", id: int) -> None:
        self.program = program
        self.id = id

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.program._rec.shape(self.id))

    @property
    def dtype(self) -> np.dtype:
        from ._arrays import numpy_dtype

        return numpy_dtype(self.program._rec.dtype(self.id))

    def __repr__(self) -> str:
        return f"Value(id={self.id}, shape={self.shape}, dtype={self.dtype})"


class Program:
    """Ops recorded in order; ``run`` computes them, ``predict`` times them on a 910C (or another chip)."""

    def __init__(self, _recorder: Optional[object] = None) -> None:
        self._rec = _recorder if _recorder is not None else _native.Recorder()

    # -- helpers -------------------------------------------------------------------------------------
    def _id(self, v: Optional[Value]) -> Optional[int]:
        if v is None:
            return None
        if not isinstance(v, Value):
            raise _native.ProgramError(f"expected a Value of this program, got {type(v).__name__}")
        if v.program._rec is not self._rec:
            raise _native.ProgramError("this Value belongs to another program")
        return v.id

    def _v(self, id: int) -> Value:
        return Value(self, id)

    def _out(self, x: Value, out_dtype: DTypeLike) -> str:
        return tag(out_dtype) if out_dtype is not None else self._rec.dtype(self._id(x))

    # -- inputs and outputs --------------------------------------------------------------------------
    def input(self, name: str, shape: Sequence[int], dtype: DTypeLike = "float32") -> Value:
        """Declares an input fed to ``run`` (in declaration order)."""
        return self._v(self._rec.input(name, [int(d) for d in shape], tag(dtype)))

    def output(self, *values: Value) -> None:
        """Marks values as outputs, in the order ``run`` returns them."""
        for v in values:
            self._rec.output(self._id(v))

    @property
    def ops(self) -> list[str]:
        """The kernel of every recorded op, in order."""
        return list(self._rec.ops())

    # -- the Cube ------------------------------------------------------------------------------------
    def matmul(
        self,
        a: Value,
        b: Value,
        *,
        trans_a: bool = False,
        trans_b: bool = False,
        accumulate: str = "tree16",
        out_dtype: DTypeLike = "float32",
        format: Optional[str] = None,
        scale: Optional[float] = None,
        bias: Optional[Value] = None,
        activation: Activation = None,
        residual: Optional[Value] = None,
    ) -> Value:
        """``act(scale * (a @ b) + bias) + residual`` on the Cube: 16x16x16 fractals, f32 accumulation in
        ``accumulate`` order (tree16, sequential, bf16-everyN, f16-everyN), rounded once to ``out_dtype``.
        ``format`` is the Cube format (bf16, fp16, int8, hf32, fp32, fp8_e4m3, fp8_e5m2); by default the
        operands'. ``trans_a``: ``a`` is stored ``[K, M]``; ``trans_b``: ``b`` is ``[N, K]``. Operands may
        carry batch dimensions (numpy broadcasting)."""
        return self._v(
            self._rec.matmul(
                self._id(a), self._id(b), trans_a, trans_b, accumulate, tag(out_dtype), format,
                None if scale is None else float(scale), self._id(bias), activation, self._id(residual),
            )
        )

    def linear(
        self,
        x: Value,
        weight: Value,
        bias: Optional[Value] = None,
        *,
        activation: Activation = None,
        out_dtype: DTypeLike = "float32",
        accumulate: str = "tree16",
    ) -> Value:
        """``act(x @ weight.T + bias)`` with ``weight`` stored ``[out, in]`` as torch stores it; one fused
        op. ``activation``: relu, gelu (erf), gelu_tanh, silu or None."""
        return self.matmul(x, weight, trans_b=True, bias=bias, activation=activation,
                           out_dtype=out_dtype, accumulate=accumulate)

    # -- the Vector unit -----------------------------------------------------------------------------
    def unary(self, fn: str, x: Value, *, out_dtype: DTypeLike = None) -> Value:
        """The unary op named ``fn`` (see ``davinci.ops()['unary']``)."""
        return self._v(self._rec.unary(fn, self._id(x), self._out(x, out_dtype)))

    def binary(self, fn: str, x: Value, y: Value, *, out_dtype: DTypeLike = None) -> Value:
        """The binary op named ``fn``, numpy broadcasting ``y`` to ``x``."""
        return self._v(self._rec.binary(fn, self._id(x), self._id(y), self._out(x, out_dtype)))

    def reduce(self, fn: str, x: Value, *, out_dtype: DTypeLike = None) -> Value:
        """The reduction named ``fn`` over the last axis (sum, mean, amax, sumsq)."""
        return self._v(self._rec.reduce(fn, self._id(x), self._out(x, out_dtype)))

    def softmax(self, x: Value, mask: Optional[Value] = None, *, out_dtype: DTypeLike = None) -> Value:
        """Softmax over the last axis of ``x + mask`` (the additive mask broadcast to ``x``)."""
        return self._v(self._rec.softmax(self._id(x), self._id(mask), self._out(x, out_dtype)))

    def layernorm(self, x: Value, gamma: Optional[Value] = None, beta: Optional[Value] = None,
                  eps: float = 1e-5, *, out_dtype: DTypeLike = None) -> Value:
        """Layer norm over the last axis (biased variance), with optional gamma and beta of its length."""
        return self._v(self._rec.layernorm(self._id(x), self._id(gamma), self._id(beta), float(eps),
                                           self._out(x, out_dtype)))

    def rmsnorm(self, x: Value, gamma: Optional[Value] = None, eps: float = 1e-6, *,
                out_dtype: DTypeLike = None) -> Value:
        """RMS norm over the last axis, with an optional gamma of its length."""
        return self._v(self._rec.rmsnorm(self._id(x), self._id(gamma), float(eps), self._out(x, out_dtype)))

    def cast(self, x: Value, dtype: DTypeLike) -> Value:
        """``x`` in ``dtype`` (f32 -> bf16/f16/fp8 round to nearest even; widening is exact)."""
        return self._v(self._rec.cast(self._id(x), tag(dtype)))

    # -- data movement (MTE) -------------------------------------------------------------------------
    def reshape(self, x: Value, shape: Sequence[int]) -> Value:
        return self._v(self._rec.reshape(self._id(x), [int(d) for d in shape]))

    def permute(self, x: Value, perm: Sequence[int]) -> Value:
        return self._v(self._rec.permute(self._id(x), [int(d) for d in perm]))

    def concat(self, a: Value, b: Value, axis: int) -> Value:
        return self._v(self._rec.concat(self._id(a), self._id(b), int(axis)))

    def gather_rows(self, table: Value, ids: Sequence[int]) -> Value:
        """Rows ``ids`` of a ``[rows, width]`` table (an embedding lookup)."""
        return self._v(self._rec.gather_rows(self._id(table), [int(i) for i in ids]))

    def __getattr__(self, name: str) -> Callable[..., Value]:
        """The Vector ops by name: ``p.exp(x)``, ``p.add(x, y)``, ``p.sum(x)`` (``davinci.ops()``)."""
        family = _families().get(name)
        if family == "unary":
            return lambda x, *, out_dtype=None: self.unary(name, x, out_dtype=out_dtype)
        if family == "binary":
            return lambda x, y, *, out_dtype=None: self.binary(name, x, y, out_dtype=out_dtype)
        if family == "reduce":
            return lambda x, *, out_dtype=None: self.reduce(name, x, out_dtype=out_dtype)
        raise AttributeError(f"Program has no attribute or Vector op '{name}'")

    # -- running and timing --------------------------------------------------------------------------
    def run(self, inputs: Union[Sequence[np.ndarray], dict], executor: str = "auto") -> list[np.ndarray]:
        """Computes the outputs from ``inputs`` (a list in declaration order, or a dict by input name) on
        ``executor``: auto, gpu, cpu, or both (the GPU's result, after checking it equals the CPU twin's
        bit for bit). The GIL is released while it runs."""
        if isinstance(inputs, dict):
            raise _native.UsageError("pass the inputs as a list, in the order the program declared them")
        native = [to_native(a, f"input {i}") for i, a in enumerate(inputs)]
        return [from_native(a, t) for a, t in self._rec.run(native, executor)]

    def predict(self, chip: str = "910c", *, launch: str = "device", title: str = "program") -> Record:
        """The timing model's prediction on ``chip`` (an Ascend preset or chip file, or an NVIDIA GPU
        preset such as h100-sxm): the CLI's JSON (``time_us``, ``bound``, ``ops`` with per-op time, rates
        and bound) as a Record; ``str()`` of it is the CLI's table. ``launch``: device (a captured graph)
        or framework (torch_npu-style dispatch per op)."""
        text, human = self._rec.predict(chip, launch, title)
        return from_json(text, human)

    def plot_roofline(self, path: Union[str, os.PathLike], chip: str = "910c", *, launch: str = "device") -> None:
        """Draws the roofline of the predicted ops on ``chip`` as SVG: achieved TFLOPS against FLOP per HBM
        byte, under the chip's compute and HBM roofs."""
        self._rec.plot(os.fspath(path), "roofline", chip, launch, None)

    def plot_timeline(self, path: Union[str, os.PathLike], chip: str = "910c", *, op: Optional[int] = None,
                      launch: str = "device") -> None:
        """Draws one op's predicted per-core timeline (MTE2, MTE1, Cube, FixPipe or MTE2, Vector, MTE3 per
        core) as SVG: op ``op`` (its index in the program), else the longest."""
        self._rec.plot(os.fspath(path), "timeline", chip, launch, op)

    def trace(self, path: Union[str, os.PathLike], chip: str = "910c", *, launch: str = "device") -> int:
        """Writes the predicted timeline (per core: MTE2, MTE1, Cube, FixPipe, Vector lanes) as a Chrome
        trace for Perfetto; returns the number of events."""
        return self._rec.trace(os.fspath(path), chip, launch)

"""One op at a time on numpy arrays: ``davinci.matmul(a, b)``, ``davinci.linear(x, w, b)``, ``davinci.cast``,
and every Vector-unit op by its kernel's function name (``davinci.exp``, ``davinci.add``,
``davinci.softmax``, ``davinci.layernorm``, ...; ``davinci.ops()`` lists them with what they compute).
Each records a one-op Program and runs it, so the result has the program's bits on every executor.
The functions are made from the library's own op table; ``vector.pyi`` gives their signatures."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _native
from ._arrays import DTypeLike, to_native
from ._program import Program, Value

_OPS = [(family, name, doc) for family, name, doc in _native.vector_ops()]


def ops() -> dict[str, dict[str, str]]:
    """Every Vector op's name and what it computes, by family (unary, binary, reduce, rows)."""
    out: dict[str, dict[str, str]] = {}
    for family, name, doc in _OPS:
        out.setdefault(family, {})[name] = doc
    return out


def _run1(build: Callable[..., Value], named: list[tuple[str, Optional[np.ndarray]]], executor: str) -> np.ndarray:
    for n, a in named:
        if a is not None:
            to_native(a, n)  # the dtype and layout checks, with the input's name
    p = Program()
    vals = [None if a is None else p.input(n, a.shape, a.dtype) for n, a in named]
    p.output(build(p, *vals))
    return p.run([a for _, a in named if a is not None], executor=executor)[0]


def matmul(a: np.ndarray, b: np.ndarray, *, trans_a: bool = False, trans_b: bool = False,
           accumulate: str = "tree16", out_dtype: DTypeLike = "float32", format: Optional[str] = None,
           scale: Optional[float] = None, bias: Optional[np.ndarray] = None, activation: Optional[str] = None,
           residual: Optional[np.ndarray] = None, executor: str = "auto") -> np.ndarray:
    """The Cube's ``act(scale * (a @ b) + bias) + residual``; see ``Program.matmul``."""
    def build(p: Program, a: Value, b: Value, bias: Optional[Value], res: Optional[Value]) -> Value:
        return p.matmul(a, b, trans_a=trans_a, trans_b=trans_b, accumulate=accumulate, out_dtype=out_dtype,
                        format=format, scale=scale, bias=bias, activation=activation, residual=res)
    return _run1(build, [("a", a), ("b", b), ("bias", bias), ("residual", residual)], executor)


def linear(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None, *,
           activation: Optional[str] = None, out_dtype: DTypeLike = "float32", accumulate: str = "tree16",
           executor: str = "auto") -> np.ndarray:
    """``act(x @ weight.T + bias)``, ``weight`` stored ``[out, in]`` as torch stores it; one fused op."""
    def build(p: Program, x: Value, w: Value, b: Optional[Value]) -> Value:
        return p.linear(x, w, b, activation=activation, out_dtype=out_dtype, accumulate=accumulate)
    return _run1(build, [("x", x), ("weight", weight), ("bias", bias)], executor)


def cast(x: np.ndarray, dtype: DTypeLike, *, executor: str = "auto") -> np.ndarray:
    """``x`` in ``dtype``: f32 -> bf16 / f16 / fp8 round to nearest even; widening is exact."""
    return _run1(lambda p, x: p.cast(x, dtype), [("x", x)], executor)


def _unary(name: str, doc: str) -> Callable[..., np.ndarray]:
    def f(x: np.ndarray, *, out_dtype: DTypeLike = None, executor: str = "auto") -> np.ndarray:
        return _run1(lambda p, x: p.unary(name, x, out_dtype=out_dtype), [("x", x)], executor)
    f.__doc__ = f"{doc} (the Vector unit's {name}; elementwise)"
    return f


def _binary(name: str, doc: str) -> Callable[..., np.ndarray]:
    def f(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = None, executor: str = "auto") -> np.ndarray:
        return _run1(lambda p, x, y: p.binary(name, x, y, out_dtype=out_dtype), [("x", x), ("y", y)], executor)
    f.__doc__ = f"{doc} (the Vector unit's {name})"
    return f


def _reduce(name: str, doc: str) -> Callable[..., np.ndarray]:
    def f(x: np.ndarray, *, out_dtype: DTypeLike = None, executor: str = "auto") -> np.ndarray:
        return _run1(lambda p, x: p.reduce(name, x, out_dtype=out_dtype), [("x", x)], executor)
    f.__doc__ = f"{doc} (the Vector unit's {name})"
    return f


def softmax(x: np.ndarray, mask: Optional[np.ndarray] = None, *, out_dtype: DTypeLike = None,
            executor: str = "auto") -> np.ndarray:
    """Softmax over the last axis of ``x + mask`` (the additive mask optional, broadcast to ``x``)."""
    return _run1(lambda p, x, m: p.softmax(x, m, out_dtype=out_dtype), [("x", x), ("mask", mask)], executor)


def layernorm(x: np.ndarray, gamma: Optional[np.ndarray] = None, beta: Optional[np.ndarray] = None,
              eps: float = 1e-5, *, out_dtype: DTypeLike = None, executor: str = "auto") -> np.ndarray:
    """Layer norm over the last axis (biased variance), gamma and beta optional."""
    return _run1(lambda p, x, g, b: p.layernorm(x, g, b, eps, out_dtype=out_dtype),
                 [("x", x), ("gamma", gamma), ("beta", beta)], executor)


def rmsnorm(x: np.ndarray, gamma: Optional[np.ndarray] = None, eps: float = 1e-6, *,
            out_dtype: DTypeLike = None, executor: str = "auto") -> np.ndarray:
    """RMS norm over the last axis, gamma optional."""
    return _run1(lambda p, x, g: p.rmsnorm(x, g, eps, out_dtype=out_dtype), [("x", x), ("gamma", gamma)],
                 executor)


_MAKERS = {"unary": _unary, "binary": _binary, "reduce": _reduce}
__all__ = ["ops", "matmul", "linear", "cast", "softmax", "layernorm", "rmsnorm"]
for _family, _name, _doc in _OPS:
    if _family in _MAKERS:
        _f: Any = _MAKERS[_family](_name, _doc)
        _f.__name__ = _f.__qualname__ = _name
        globals()[_name] = _f
        __all__.append(_name)

"""davinci: Huawei's DaVinci AI core (the Ascend 910C) emulated on any GPU or the CPU, from numpy.

Every op gives the exact values a 910C computes (the Cube's 16x16x16 fractals with f32 accumulation, the
Vector unit's functions; the GPU executor and the CPU twin agree bit for bit) and, through
``Program.predict``, how long it would take on a 910C::

    import numpy as np, ml_dtypes, davinci
    a = np.random.rand(64, 128).astype(ml_dtypes.bfloat16)
    b = np.random.rand(128, 32).astype(ml_dtypes.bfloat16)
    c = davinci.matmul(a, b)                      # float32 [64, 32], the Cube's bits
    p = davinci.Program()
    x, y = p.input("a", a.shape, a.dtype), p.input("b", b.shape, b.dtype)
    p.output(p.softmax(p.matmul(x, y)))
    out, = p.run([a, b], executor="auto")
    print(p.predict("910c"))                     # time, rates and the binding resource per op

Submodules: ``davinci.cluster`` (the CloudMatrix and NVIDIA system models), ``davinci.train`` (tapes,
backward, AdamW). Errors are ``davinci.DavinciError`` and its subclasses, with the library's messages.
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np

from . import _native
from ._arrays import DTypeLike, from_native, to_native
from ._native import (
    DavinciError,
    DeviceError,
    DTypeError,
    FileError,
    ProgramError,
    ShapeError,
    UsageError,
)
from ._program import Program, Value
from ._record import Record, from_json
from .vector import *  # noqa: F401,F403  (matmul, linear, cast, ops and every Vector op)
from .vector import __all__ as _vector_all

__version__ = _native.__version__


def executor(name: str = "auto") -> str:
    """Which executor ``name`` runs on here: "gpu" or "cpu" ("both" for both). ``auto`` measures once
    and warns once when it falls back to the CPU twin."""
    return _native.resolve_executor(name)


def adapter() -> Union[str, None]:
    """The GPU adapter's name, or None where no adapter opens."""
    return _native.adapter()


def chips() -> Record:
    """The chip presets: ``.chips`` (Ascend) and ``.gpus`` (NVIDIA), each with its headline figures."""
    return from_json(_native.chips(None))


def chip(name: str) -> Record:
    """Every field of one chip (an Ascend preset, a chip .toml file, or an NVIDIA GPU preset), with its
    unit and source."""
    return from_json(_native.chips(name))


def validate(
    filter: Union[str, None] = None, plot: Union[str, os.PathLike, None] = None
) -> Record:
    """The timing model against published Ascend measurements (``davinci validate``): every row with
    measured, predicted, error and tolerance, and the summary; ``plot="v.svg"`` also draws predicted
    against measured on log axes."""
    return from_json(_native.validate(filter, None if plot is None else os.fspath(plot)))


def load(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, by name (bf16 and fp8 as ml_dtypes' types)."""
    return {n: from_native(a, t) for n, a, t in _native.load(os.fspath(path))}


def save(path: Union[str, os.PathLike], tensors: dict[str, np.ndarray]) -> None:
    """Writes arrays to a safetensors file atomically (a failed write leaves nothing behind)."""
    native = [(n, *to_native(a, n)) for n, a in tensors.items()]
    _native.save(os.fspath(path), native)


from . import cluster, train  # noqa: E402  (they import the names above)

__all__ = [
    "DavinciError", "ShapeError", "DTypeError", "DeviceError", "FileError", "ProgramError", "UsageError",
    "Program", "Value", "Record", "DTypeLike", "executor", "adapter", "chips", "chip", "validate", "load",
    "save", "cluster", "train", *_vector_all,
]

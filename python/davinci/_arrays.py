"""numpy dtypes as davinci names them, and the views that carry bf16 and fp8 arrays across to the
compiled module (as same-sized unsigned integers, without a copy)."""

from __future__ import annotations

from typing import Any, Union

import ml_dtypes
import numpy as np

from . import _native

DTypeLike = Union[str, np.dtype, type, None]

# numpy dtype -> the compiled module's tag.
_TAG = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(ml_dtypes.bfloat16): "bf16",
    np.dtype(np.int8): "i8",
    np.dtype(np.int32): "i32",
    np.dtype(ml_dtypes.float8_e4m3fn): "f8e4m3",
    np.dtype(ml_dtypes.float8_e5m2): "f8e5m2",
}
_NUMPY = {tag: dt for dt, tag in _TAG.items()}
# Tags whose arrays cross as unsigned views (numpy has no bf16 or fp8 of its own).
_VIEW = {"bf16": np.uint16, "f8e4m3": np.uint8, "f8e5m2": np.uint8}
# Names people write for the tags.
_NAMES = {
    "f32": "f32", "float32": "f32", "fp32": "f32",
    "f16": "f16", "float16": "f16", "fp16": "f16", "half": "f16",
    "bf16": "bf16", "bfloat16": "bf16",
    "i8": "i8", "int8": "i8",
    "i32": "i32", "int32": "i32",
    "f8e4m3": "f8e4m3", "float8_e4m3fn": "f8e4m3", "fp8_e4m3": "f8e4m3",
    "f8e5m2": "f8e5m2", "float8_e5m2": "f8e5m2", "fp8_e5m2": "f8e5m2",
}
SUPPORTED = "float32, float16, ml_dtypes.bfloat16, int8, int32, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2"


def tag(dtype: DTypeLike) -> str:
    """The tag of a dtype given as a name ("bfloat16", "bf16", "float32"), a numpy dtype or a type."""
    if isinstance(dtype, str):
        t = _NAMES.get(dtype.lower())
        if t is None:
            raise _native.UsageError(f"unknown dtype '{dtype}': expected one of {SUPPORTED}")
        return t
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise _native.UsageError(f"unknown dtype {dtype!r}: expected one of {SUPPORTED}") from None
    t = _TAG.get(dt)
    if t is None:
        raise _native.DTypeError(f"dtype {dt} is not one davinci computes with: {SUPPORTED}")
    return t


def numpy_dtype(t: str) -> np.dtype:
    """The numpy dtype of a tag."""
    return _NUMPY[t]


def to_native(x: Any, name: str) -> tuple[np.ndarray, str]:
    """`x` as the compiled module takes it: (array or its unsigned view, tag)."""
    if not isinstance(x, np.ndarray):
        raise _native.DTypeError(
            f"{name}: expected a numpy array, got {type(x).__name__} (wrap it with numpy.asarray(x, "
            f"dtype=numpy.float32))"
        )
    t = _TAG.get(x.dtype)
    if t is None:
        raise _native.DTypeError(
            f"{name}: dtype {x.dtype} is not one davinci computes with: {SUPPORTED} (cast it with "
            f"x.astype(numpy.float32))"
        )
    if not x.flags.c_contiguous:
        raise _native.ShapeError(
            f"{name}: the array {x.shape} is not C-contiguous (a transposed or sliced view); pass "
            f"numpy.ascontiguousarray(x), or use trans_a / trans_b for a transposed matmul operand"
        )
    if t in _VIEW:
        x = x.view(_VIEW[t])
    return x, t


def from_native(arr: np.ndarray, t: str) -> np.ndarray:
    """An array from the compiled module as its real dtype (a view, no copy)."""
    return arr.view(_NUMPY[t]) if t in _VIEW else arr

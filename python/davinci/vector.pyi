"""Signatures of davinci.vector (its functions are made at import from the library's op table).

Every Vector op takes ``out_dtype`` (the input's by default; float32 or bfloat16) and ``executor``
(auto, gpu, cpu or both)."""

from typing import Optional

import numpy as np

from ._arrays import DTypeLike

__all__: list[str]

def ops() -> dict[str, dict[str, str]]: ...
def matmul(a: np.ndarray, b: np.ndarray, *, trans_a: bool = ..., trans_b: bool = ..., accumulate: str = ...,
           out_dtype: DTypeLike = ..., format: Optional[str] = ..., scale: Optional[float] = ...,
           bias: Optional[np.ndarray] = ..., activation: Optional[str] = ..., residual: Optional[np.ndarray] = ...,
           executor: str = ...) -> np.ndarray: ...
def linear(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = ..., *, activation: Optional[str] = ...,
           out_dtype: DTypeLike = ..., accumulate: str = ..., executor: str = ...) -> np.ndarray: ...
def cast(x: np.ndarray, dtype: DTypeLike, *, executor: str = ...) -> np.ndarray: ...
def softmax(x: np.ndarray, mask: Optional[np.ndarray] = ..., *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray: ...
def layernorm(x: np.ndarray, gamma: Optional[np.ndarray] = ..., beta: Optional[np.ndarray] = ..., eps: float = ..., *,
              out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray: ...
def rmsnorm(x: np.ndarray, gamma: Optional[np.ndarray] = ..., eps: float = ..., *, out_dtype: DTypeLike = ...,
            executor: str = ...) -> np.ndarray: ...

def neg(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """-x"""
def abs(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """|x|"""
def exp(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """e^x"""
def log(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """ln x"""
def sqrt(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """sqrt x, correctly rounded"""
def rsqrt(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """1 / sqrt x"""
def recip(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """1 / x, correctly rounded"""
def tanh(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """tanh x"""
def sigmoid(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """1 / (1 + e^-x)"""
def relu(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """max(x, 0)"""
def silu(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """x * sigmoid(x)"""
def gelu(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """GELU, exact: 0.5 x erfc(-x / sqrt 2)"""
def gelu_tanh(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """GELU, tanh approximation"""
def erf(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """erf x (the error function)"""
def add(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """x + y (numpy broadcasting)"""
def sub(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """x - y (numpy broadcasting)"""
def mul(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """x * y (numpy broadcasting)"""
def div(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """x / y, correctly rounded (numpy broadcasting)"""
def max(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """max(x, y), NaN if either is NaN (numpy broadcasting)"""
def min(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """min(x, y), NaN if either is NaN (numpy broadcasting)"""
def relu_grad(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """dy where x > 0, else 0 (relu's backward; y holds dy)"""
def silu_grad(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """dy * silu'(x) (silu's backward; y holds dy)"""
def gelu_grad(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """dy * gelu'(x) (exact GELU's backward; y holds dy)"""
def gelu_tanh_grad(x: np.ndarray, y: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """dy * gelu_tanh'(x) (y holds dy)"""
def sum(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """sum over the last axis (which the result drops)"""
def mean(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """mean over the last axis"""
def amax(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """maximum over the last axis"""
def sumsq(x: np.ndarray, *, out_dtype: DTypeLike = ..., executor: str = ...) -> np.ndarray:
    """sum of squares over the last axis"""

"""Shared helpers of the Python tests: the repository's goldens, the CLI binary, the executors to check.

Skips follow the Rust tests' conventions: a GPU test without an adapter skips with the reason, and fails
instead under DAVINCI_REQUIRE_GPU=1; a test that needs the `davinci` binary skips without one, and fails
under DAVINCI_REQUIRE_TOOLS=1 (CI sets both)."""

from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np
import pytest

import davinci

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"


def require(var: str, reason: str) -> None:
    if os.environ.get(var) == "1":
        pytest.fail(f"{reason} ({var}=1 turns this skip into a failure)")
    pytest.skip(reason)


def executors() -> list[str]:
    """cpu, and gpu where an adapter opens (required under DAVINCI_REQUIRE_GPU=1)."""
    if davinci.adapter() is not None:
        return ["cpu", "gpu"]
    if os.environ.get("DAVINCI_REQUIRE_GPU") == "1":
        pytest.fail("no GPU adapter opens, and DAVINCI_REQUIRE_GPU=1")
    print("no GPU adapter: the GPU executor's checks are skipped")
    return ["cpu"]


@pytest.fixture(scope="session")
def cli() -> str:
    """The davinci binary: $DAVINCI_BIN, else the repository's target/release or target/debug build."""
    env = os.environ.get("DAVINCI_BIN")
    if env:
        if not pathlib.Path(env).is_file():
            pytest.fail(f"DAVINCI_BIN={env} is not a file")
        return env
    # The newer of the two builds: an old release binary must not stand in for this checkout's code.
    built = [p for p in (REPO / "target" / d / "davinci" for d in ("release", "debug")) if p.is_file()]
    if built:
        return str(max(built, key=lambda p: p.stat().st_mtime))
    found = shutil.which("davinci")
    if found:
        return found
    require("DAVINCI_REQUIRE_TOOLS", "no davinci binary: build it with `cargo build` or set DAVINCI_BIN")
    raise AssertionError("unreachable")


def bits(a: np.ndarray) -> np.ndarray:
    """The raw bits of an array, for bit-for-bit comparisons (NaN payloads included)."""
    return np.ascontiguousarray(a).view({1: np.uint8, 2: np.uint16, 4: np.uint32}[a.dtype.itemsize])


def assert_same_bits(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    diff = np.flatnonzero(bits(got).ravel() != bits(want).ravel())
    assert diff.size == 0, (
        f"{what}: {diff.size} of {got.size} elements differ; first at {diff[0]}: "
        f"{got.ravel()[diff[0]]!r} vs {want.ravel()[diff[0]]!r}"
    )

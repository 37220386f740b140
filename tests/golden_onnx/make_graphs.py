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


def save(name, nodes, inits, inputs, outputs, feeds, opset=17, check=True):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_graphs.py")
    m.ir_version = 8 if opset <= 17 else 9
    if check:
        onnx.checker.check_model(m)
    onnx.save(m, OUT + name + ".onnx")
    sess = ort.InferenceSession(OUT + name + ".onnx", providers=["CPUExecutionProvider"])
    got = sess.run(None, feeds)
    tensors = {f"in.{k}": v for k, v in feeds.items()}
    tensors.update({f"out.{o.name}": r for o, r in zip(outputs, got)})
    # np.ascontiguousarray would make a scalar 1-D; copy keeps its rank.
    save_file({k: np.asarray(v).copy(order="C") for k, v in tensors.items()}, OUT + name + ".safetensors")


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


def n(op, ins, outs, name, **kw):
    return helper.make_node(op, ins, outs, name=name, **kw)


def f32(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def decoder():
    # A LLaMA-style causal decoder block as PyTorch exports one: RMSNorm written out (Pow, ReduceMean, Add,
    # Sqrt, Reciprocal, Mul), one fused QKV projection split in three, rotary embeddings whose cos/sin
    # tables are computed in the graph from the sequence length (Shape, Gather, Range, Cast, Unsqueeze,
    # Mul, Concat, Cos, Sin) and applied with rotate_half (Slice, Neg, Concat), grouped-query attention
    # (2 KV heads for 4 query heads, repeated with Unsqueeze, Expand, Reshape), a causal mask from
    # ConstantOfShape and Trilu, and a SiLU MLP (Sigmoid, Mul); dynamic batch and sequence.
    hid, h, hk, d = 32, 4, 2, 8
    half = d // 2
    inv_freq = (1.0 / (10000 ** (np.arange(0, half) / half))).astype(np.float32)
    nodes = [
        # RMSNorm
        n("Pow", ["x", "two"], ["x2"], "rms/pow"),
        n("ReduceMean", ["x2"], ["ms"], "rms/mean", axes=[-1], keepdims=1),
        n("Add", ["ms", "eps"], ["mse"], "rms/add_eps"),
        n("Sqrt", ["mse"], ["rms"], "rms/sqrt"),
        n("Reciprocal", ["rms"], ["inv"], "rms/recip"),
        n("Mul", ["x", "inv"], ["xn"], "rms/mul"),
        n("Mul", ["xn", "ln_w"], ["hn"], "rms/weight"),
        # QKV
        n("MatMul", ["hn", "w_qkv"], ["qkv"], "qkv_proj"),
        n("Split", ["qkv", "qkv_sizes"], ["q", "k", "v"], "qkv_split", axis=-1),
        n("Reshape", ["q", "q_heads"], ["q4"], "q_heads"),
        n("Reshape", ["k", "kv_heads"], ["k4"], "k_heads"),
        n("Reshape", ["v", "kv_heads"], ["v4"], "v_heads"),
        n("Transpose", ["q4"], ["qt"], "q_t", perm=[0, 2, 1, 3]),
        n("Transpose", ["k4"], ["kt"], "k_t", perm=[0, 2, 1, 3]),
        n("Transpose", ["v4"], ["vt"], "v_t", perm=[0, 2, 1, 3]),
        # rotary tables from the sequence length
        n("Shape", ["x"], ["xs"], "shape"),
        n("Gather", ["xs", "one"], ["seq"], "seq_len", axis=0),
        n("Range", ["zero", "seq", "one"], ["pos"], "positions"),
        n("Cast", ["pos"], ["posf"], "positions_f", to=TensorProto.FLOAT),
        n("Unsqueeze", ["posf", "axis1"], ["pos2"], "positions_col"),
        n("Mul", ["pos2", "inv_freq"], ["freqs"], "freqs"),
        n("Concat", ["freqs", "freqs"], ["emb"], "emb", axis=-1),
        n("Cos", ["emb"], ["cos"], "cos"),
        n("Sin", ["emb"], ["sin"], "sin"),
    ]
    for t in ["q", "k"]:
        src = t + "t"
        nodes += [
            n("Slice", [src, "s0", "s_half", "s_axis"], [t + "1"], f"{t}/x1"),
            n("Slice", [src, "s_half", "s_end", "s_axis"], [t + "2"], f"{t}/x2"),
            n("Neg", [t + "2"], [t + "2n"], f"{t}/neg"),
            n("Concat", [t + "2n", t + "1"], [t + "rot"], f"{t}/rotate_half", axis=-1),
            n("Mul", [src, "cos"], [t + "c"], f"{t}/mul_cos"),
            n("Mul", [t + "rot", "sin"], [t + "s"], f"{t}/mul_sin"),
            n("Add", [t + "c", t + "s"], [t + "r"], f"{t}/rope"),
        ]
    nodes += [
        # GQA: repeat each KV head for its group
        n("Shape", ["kr"], ["kshape"], "k_shape"),
        n("Gather", ["kshape", "zero"], ["bsz"], "batch"),
        n("Unsqueeze", ["bsz", "axis0"], ["bsz1"], "batch_1"),
        n("Unsqueeze", ["seq", "axis0"], ["seq1"], "seq_1"),
        n("Concat", ["bsz1", "kv_rep_mid", "seq1", "dim1"], ["rep_shape"], "rep_shape", axis=0),
        n("Concat", ["bsz1", "heads1", "seq1", "dim1"], ["merged_shape"], "merged_shape", axis=0),
    ]
    for t in ["kr", "vt"]:
        nodes += [
            n("Unsqueeze", [t, "axis2"], [t + "5"], f"{t}/unsq"),
            n("Expand", [t + "5", "rep_shape"], [t + "e"], f"{t}/expand"),
            n("Reshape", [t + "e", "merged_shape"], [t + "g"], f"{t}/merge"),
        ]
    nodes += [
        # causal attention
        n("Transpose", ["krg"], ["kT"], "k_T", perm=[0, 1, 3, 2]),
        n("MatMul", ["qr", "kT"], ["scores"], "scores"),
        n("Div", ["scores", "sqrt_d"], ["scaled"], "scale"),
        n("Concat", ["seq1", "seq1"], ["sq"], "mask_shape", axis=0),
        n("ConstantOfShape", ["sq"], ["full"], "mask_full", value=numpy_helper.from_array(np.array([-np.inf], np.float32))),
        n("Trilu", ["full", "one"], ["mask"], "mask", upper=1),
        n("Add", ["scaled", "mask"], ["masked"], "apply_mask"),
        n("Softmax", ["masked"], ["probs"], "softmax", axis=-1),
        n("MatMul", ["probs", "vtg"], ["ctx"], "context"),
        n("Transpose", ["ctx"], ["ctx_t"], "ctx_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx_t", "merge"], ["merged"], "merge"),
        n("MatMul", ["merged", "w_o"], ["attn_out"], "o_proj"),
        n("Add", ["attn_out", "x"], ["h1"], "residual1"),
        # SiLU MLP
        n("MatMul", ["h1", "w_gate"], ["gate"], "gate_proj"),
        n("Sigmoid", ["gate"], ["gs"], "silu/sigmoid"),
        n("Mul", ["gate", "gs"], ["silu"], "silu/mul"),
        n("MatMul", ["h1", "w_up"], ["up"], "up_proj"),
        n("Mul", ["silu", "up"], ["act"], "act"),
        n("MatMul", ["act", "w_down"], ["down"], "down_proj"),
        n("Add", ["down", "h1"], ["y"], "residual2"),
    ]
    inits = [
        f32("two", 2.0), f32("eps", 1e-6), init("ln_w", [hid], 1.0),
        init("w_qkv", [hid, (h + 2 * hk) * d], 0.15), ints("qkv_sizes", [h * d, hk * d, hk * d]),
        ints("q_heads", [0, 0, h, d]), ints("kv_heads", [0, 0, hk, d]),
        numpy_helper.from_array(np.array(1, np.int64), "one"), numpy_helper.from_array(np.array(0, np.int64), "zero"),
        ints("axis0", [0]), ints("axis1", [1]), ints("axis2", [2]),
        numpy_helper.from_array(inv_freq, "inv_freq"),
        ints("s0", [0]), ints("s_half", [half]), ints("s_end", [d]), ints("s_axis", [-1]),
        ints("kv_rep_mid", [hk, h // hk]), ints("heads1", [h]), ints("dim1", [d]),
        f32("sqrt_d", np.sqrt(d)), ints("merge", [0, 0, h * d]),
        init("w_o", [h * d, hid], 0.15), init("w_gate", [hid, 48], 0.15), init("w_up", [hid, 48], 0.15),
        init("w_down", [48, hid], 0.15),
    ]
    x = rng.standard_normal((2, 7, hid)).astype(np.float32)
    save("decoder", nodes, inits, [vi("x", ["batch", "seq", hid])], [vi("y", ["batch", "seq", hid])], {"x": x})


def ops():
    # The rest of the op set, each once: Flatten, Squeeze, Clip, LogSoftmax and Softmax on a middle
    # axis, ReduceMax over axis 0, ReduceSum over all axes, Gather of one position on the device (CLS
    # pooling), Slice with a negative step, Equal/Where/Expand on host values, an int64 input used as a
    # mask (Cast), Max/Min of three inputs, SimplifiedLayerNormalization (onnxruntime's op of the
    # default domain), Gelu (opset 20) in both forms, and a graph output that is a shape (int64).
    nodes = [
        n("Softmax", ["x"], ["sm1"], "softmax_axis1", axis=1),
        n("LogSoftmax", ["x"], ["lsm"], "log_softmax", axis=-1),
        n("ReduceMax", ["x", "axes0"], ["mx0"], "max_axis0", keepdims=1),
        n("ReduceSum", ["x"], ["total"], "sum_all", keepdims=0),
        n("Gather", ["x", "zero"], ["cls"], "cls", axis=1),
        n("Slice", ["x", "sl_start", "sl_end", "sl_axis", "sl_step"], ["rev"], "reverse_slice"),
        n("Flatten", ["x"], ["flat"], "flatten", axis=2),
        n("Unsqueeze", ["x", "axis0"], ["x1"], "unsqueeze"),
        n("Squeeze", ["x1", "axis0"], ["x_back"], "squeeze"),
        n("Clip", ["x_back", "lo", "hi"], ["clipped"], "clip"),
        n("Cast", ["m"], ["mf"], "mask_f", to=TensorProto.FLOAT),
        n("Equal", ["m", "zero"], ["is_pad"], "is_pad"),
        n("Where", ["is_pad", "neg_big", "zero_f"], ["add_mask"], "additive_mask"),
        n("Unsqueeze", ["add_mask", "axis2"], ["am3"], "mask_col"),
        n("Expand", ["am3", "x_shape"], ["am_full"], "mask_full"),
        n("Shape", ["x"], ["x_shape"], "x_shape"),
        n("Add", ["x", "am_full"], ["xm"], "apply_mask"),
        n("Mul", ["xm", "mf3"], ["xmm"], "mask_mul"),
        n("Unsqueeze", ["mf", "axis2"], ["mf3"], "mask_f_col"),
        n("Max", ["x", "clipped", "xmm"], ["mx3"], "max3"),
        n("Min", ["x", "clipped", "xmm"], ["mn3"], "min3"),
        n("SimplifiedLayerNormalization", ["x", "rms_w"], ["rms"], "rmsnorm", axis=-1, epsilon=1e-5),
        n("Gelu", ["x"], ["gelu"], "gelu"),
        n("Gelu", ["x"], ["gelu_t"], "gelu_tanh", approximate="tanh"),
    ]
    # Topological order: each node after the nodes whose outputs it reads.
    done, ordered = {"x", "m"} | {i.name for i in []}, []
    init_names = {"axes0", "zero", "sl_start", "sl_end", "sl_axis", "sl_step", "axis0", "axis2", "lo", "hi",
                  "neg_big", "zero_f", "rms_w"}
    done |= init_names
    while nodes:
        ready = next(x for x in nodes if all(i in done for i in x.input if i))
        ordered.append(ready)
        done |= set(ready.output)
        nodes.remove(ready)
    nodes = ordered
    inits = [
        ints("axes0", [0]), numpy_helper.from_array(np.array(0, np.int64), "zero"),
        ints("sl_start", [-1]), ints("sl_end", [-100]), ints("sl_axis", [2]), ints("sl_step", [-2]),
        ints("axis0", [0]), ints("axis2", [2]), f32("lo", -0.5), f32("hi", 0.75),
        f32("neg_big", -1e4), f32("zero_f", 0.0), init("rms_w", [6], 1.0),
    ]
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    m = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int64)
    outs = [vi(o, None) for o in ["sm1", "lsm", "mx0", "total", "cls", "rev", "flat", "mx3", "mn3", "rms", "gelu", "gelu_t"]]
    outs.append(helper.make_tensor_value_info("x_shape", TensorProto.INT64, [3]))
    ins = [vi("x", ["batch", 5, 6]), helper.make_tensor_value_info("m", TensorProto.INT64, ["batch", 5])]
    save("ops", nodes, inits, ins, outs, {"x": x, "m": m}, opset=20, check=False)


def patterns():
    # What older exporters write out and ATC fuses (opset 18: ReduceMean's axes as an input): a LayerNorm
    # pattern with Pow and its weight and bias, one with Mul(d, d) and neither; MatMul + bias + erf GELU,
    # MatMul + scale, MatMul + Relu without a bias; RMSNorm as x / sqrt(..) and as x * Div(1, sqrt(..))
    # with a length-1 weight; a standalone SiLU; Softmax(x + mask) on the last axis, on axis 1, and with a
    # mask that grows x; a bias Add that is a graph output (so the Relu after it stays separate).
    hid, f = 16, 24
    nodes = [
        n("ReduceMean", ["x", "ax_last"], ["mu"], "ln1/mean"),
        n("Sub", ["x", "mu"], ["d"], "ln1/sub"),
        n("Pow", ["d", "two"], ["d2"], "ln1/pow"),
        n("ReduceMean", ["d2", "ax_last"], ["var"], "ln1/var"),
        n("Add", ["var", "eps"], ["ve"], "ln1/add_eps"),
        n("Sqrt", ["ve"], ["sd"], "ln1/sqrt"),
        n("Div", ["d", "sd"], ["xn"], "ln1/div"),
        n("Mul", ["xn", "ln_g"], ["xg"], "ln1/weight"),
        n("Add", ["xg", "ln_b"], ["ln1"], "ln1/bias"),
        n("MatMul", ["ln1", "w1"], ["h1"], "fc1"),
        n("Add", ["h1", "b1"], ["h1b"], "fc1/bias"),
        n("Div", ["h1b", "sqrt2"], ["h1s"], "gelu/div"),
        n("Erf", ["h1s"], ["h1e"], "gelu/erf"),
        n("Add", ["h1e", "one_f"], ["h1p"], "gelu/add"),
        n("Mul", ["h1b", "h1p"], ["h1m"], "gelu/mul"),
        n("Mul", ["h1m", "half_f"], ["gel"], "gelu/half"),
        n("MatMul", ["gel", "w2"], ["h2"], "fc2"),
        n("Mul", ["h2", "half_f"], ["h2s"], "fc2/scale"),
        n("ReduceMean", ["h2s", "ax_last"], ["mu2"], "ln2/mean"),
        n("Sub", ["h2s", "mu2"], ["e"], "ln2/sub"),
        n("Mul", ["e", "e"], ["e2"], "ln2/square"),
        n("ReduceMean", ["e2", "ax_last"], ["var2"], "ln2/var"),
        n("Add", ["var2", "eps"], ["ve2"], "ln2/add_eps"),
        n("Sqrt", ["ve2"], ["sd2"], "ln2/sqrt"),
        n("Div", ["e", "sd2"], ["ln2"], "ln2/div"),
        n("Mul", ["x", "x"], ["xx"], "rms1/square"),
        n("ReduceMean", ["xx", "ax_last"], ["ms"], "rms1/mean"),
        n("Add", ["eps", "ms"], ["mse"], "rms1/add_eps"),
        n("Sqrt", ["mse"], ["rt"], "rms1/sqrt"),
        n("Div", ["x", "rt"], ["xr"], "rms1/div"),
        n("Mul", ["rms_g", "xr"], ["rms1"], "rms1/weight"),
        n("Pow", ["ln2", "two"], ["l2"], "rms2/pow"),
        n("ReduceMean", ["l2", "ax_last"], ["ms2"], "rms2/mean"),
        n("Add", ["ms2", "eps"], ["mse2"], "rms2/add_eps"),
        n("Sqrt", ["mse2"], ["rt2"], "rms2/sqrt"),
        n("Div", ["one_f", "rt2"], ["inv2"], "rms2/inv"),
        n("Mul", ["inv2", "ln2"], ["lr"], "rms2/mul"),
        n("Mul", ["lr", "g1"], ["rms2"], "rms2/weight"),
        n("Sigmoid", ["ln2"], ["sg"], "silu/sigmoid"),
        n("Mul", ["sg", "ln2"], ["silu"], "silu/mul"),
        n("MatMul", ["x", "w3"], ["h3"], "fc3"),
        n("Relu", ["h3"], ["relu3"], "fc3/relu"),
        n("MatMul", ["x", "w4"], ["h4"], "fc4"),
        n("Add", ["h4", "b4"], ["lin4"], "fc4/bias"),
        n("Relu", ["lin4"], ["relu4"], "fc4/relu"),
        n("Transpose", ["ln1"], ["ln1t"], "ln1_t", perm=[0, 2, 1]),
        n("MatMul", ["ln1", "ln1t"], ["sc"], "scores"),
        n("Div", ["sc", "four"], ["scd"], "scores/scale"),
        n("Add", ["scd", "mask"], ["scm"], "scores/mask"),
        n("Softmax", ["scm"], ["probs"], "softmax", axis=-1),
        n("Add", ["scd", "mask"], ["scm1"], "scores/mask_axis1"),
        n("Softmax", ["scm1"], ["probs1"], "softmax_axis1", axis=1),
        n("ReduceMax", ["scd", "ax1"], ["row"], "row_max", keepdims=1),
        n("Add", ["row", "mask3"], ["grown"], "grown/mask"),
        n("Softmax", ["grown"], ["probs_grown"], "softmax_grown", axis=-1),
    ]
    inits = [
        ints("ax_last", [-1]), ints("ax1", [1]), f32("two", 2.0), f32("eps", 1e-5),
        init("ln_g", [hid], 1.0), init("ln_b", [hid], 0.5),
        init("w1", [hid, f], 0.3), init("b1", [f], 0.3), f32("sqrt2", np.sqrt(2.0)),
        f32("one_f", 1.0), f32("half_f", 0.5), init("w2", [f, hid], 0.3),
        init("rms_g", [hid], 1.0), init("g1", [1], 1.0), init("w3", [hid, 8], 0.3),
        init("w4", [hid, 8], 0.3), init("b4", [8], 0.3), f32("four", 4.0),
        numpy_helper.from_array(np.triu(np.full((5, 5), -1e4, np.float32), 1)[None], "mask"),
        numpy_helper.from_array((rng.standard_normal((2, 5, 5)) * 0.5).astype(np.float32), "mask3"),
    ]
    x = rng.standard_normal((2, 5, hid)).astype(np.float32)
    shapes = {"gel": f, "ln2": hid, "rms1": hid, "rms2": hid, "silu": hid, "relu3": 8, "lin4": 8, "relu4": 8,
              "probs": 5, "probs1": 5, "probs_grown": 5}
    outs = [vi(o, [2, 5, last]) for o, last in shapes.items()]
    save("patterns", nodes, inits, [vi("x", [2, 5, hid])], outs, {"x": x}, opset=18)


def matmul_bcast():
    # numpy's MatMul rules: broadcast batch dimensions on either side, and 1-D operands on either side.
    nodes = [
        n("MatMul", ["x", "y"], ["o_bcast_b"], "bcast_b"),
        n("MatMul", ["w", "z"], ["o_bcast_a"], "bcast_a"),
        n("MatMul", ["v", "x5"], ["o_vec_a"], "vec_a"),
        n("MatMul", ["x", "v"], ["o_vec_b"], "vec_b"),
        n("MatMul", ["v", "v"], ["o_dot"], "dot"),
        n("MatMul", ["p", "q"], ["o_outer_batch"], "outer_batch"),
    ]
    feeds = {
        "x": rng.standard_normal((2, 3, 4, 5)).astype(np.float32),
        "y": rng.standard_normal((1, 3, 5, 6)).astype(np.float32),
        "w": rng.standard_normal((4, 5)).astype(np.float32),
        "z": rng.standard_normal((2, 5, 6)).astype(np.float32),
        "v": rng.standard_normal((5,)).astype(np.float32),
        "x5": rng.standard_normal((2, 3, 5, 4)).astype(np.float32),
        "p": rng.standard_normal((2, 1, 4, 5)).astype(np.float32),
        "q": rng.standard_normal((3, 5, 6)).astype(np.float32),
    }
    ins = [vi(k, list(v.shape)) for k, v in feeds.items()]
    shapes = {"o_bcast_b": [2, 3, 4, 6], "o_bcast_a": [2, 4, 6], "o_vec_a": [2, 3, 4], "o_vec_b": [2, 3, 4],
              "o_dot": [], "o_outer_batch": [2, 3, 4, 6]}
    outs = [vi(o, s) for o, s in shapes.items()]
    save("matmul_bcast", nodes, [], ins, outs, feeds)


if __name__ == "__main__":
    mlp()
    attention()
    erf()
    decoder()
    ops()
    patterns()
    matmul_bcast()
    print(json.dumps({"onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__}))

"""Makes the number-format goldens in this folder with ml_dtypes and numpy (see README.md).

Run from this folder: python3 make_goldens.py. Everything written here is computed by ml_dtypes (the
conversions) and numpy (the matmul references); nothing from davinci is used.
"""
import json
import numpy as np
import ml_dtypes
from safetensors.numpy import save_file

rng = np.random.default_rng(20261202)
F16, E4M3, E5M2, BF16 = np.float16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, ml_dtypes.bfloat16


def codes(dtype, bits):
    return np.arange(1 << bits, dtype=np.uint16 if bits == 16 else np.uint8).view(dtype)


def f32_inputs():
    """f32 inputs of every class: edges of each target, ties and their neighbours, random bit patterns."""
    xs = [0.0, -0.0, np.inf, -np.inf, 1.0, -1.0]
    bits = [0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0xFF800123, 0x00000001, 0x80000001,
            0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF]
    for dt, nbits in [(F16, 16), (E4M3, 8), (E5M2, 8)]:
        c = codes(dt, nbits).astype(np.float32)
        pos = np.unique(c[np.isfinite(c) & (c >= 0)])
        if nbits == 16:  # a sample of fp16's 31,744 finite values
            pos = np.unique(np.concatenate([pos[:200], pos[-200:], rng.choice(pos, 1000)]))
        mids = ((pos[:-1].astype(np.float64) + pos[1:]) / 2).astype(np.float32)  # exact: ties
        mx = float(pos[-1])
        beyond = np.array([mx * 1.0625, mx * 1.125, mx * 1.1875, mx * 2, mx * 1e3], np.float32)
        for v in [pos, -pos, mids, -mids, beyond, -beyond]:
            xs.extend(v.tolist())
            u = np.asarray(v, np.float32).view(np.uint32)
            bits.extend((u + 1).tolist())  # one f32 ulp above and below each
            bits.extend((u - 1).tolist())
    x = np.concatenate([np.array(xs, np.float32).view(np.uint32), np.array(bits, np.uint32),
                        rng.integers(0, 2**32, 8000, dtype=np.uint64).astype(np.uint32),
                        # log-uniform in the fp8 and fp16 ranges, both signs
                        (rng.choice([-1, 1], 8000) * np.exp2(rng.uniform(-26, 17, 8000)))
                        .astype(np.float32).view(np.uint32)])
    return np.unique(x).view(np.float32)


def main():
    x = f32_inputs()
    with np.errstate(all="ignore"):
        casts = {
            "f32_in": x,
            "f32_to_fp16": x.astype(F16),
            "f32_to_e4m3": x.astype(E4M3),
            "f32_to_e5m2": x.astype(E5M2),
            # The all-codes inputs are code i at position i, not stored (the test makes them).
            "fp16_all_to_f32": codes(F16, 16).astype(np.float32),
            "fp16_all_to_e4m3": codes(F16, 16).astype(E4M3),
            "fp16_all_to_e5m2": codes(F16, 16).astype(E5M2),
            "bf16_all_to_fp16": codes(BF16, 16).astype(F16),
            "bf16_all_to_e4m3": codes(BF16, 16).astype(E4M3),
            "e4m3_all_to_f32": codes(E4M3, 8).astype(np.float32),
            "e4m3_all_to_e5m2": codes(E4M3, 8).astype(E5M2),
            "e5m2_all_to_f32": codes(E5M2, 8).astype(np.float32),
            "e5m2_all_to_e4m3": codes(E5M2, 8).astype(E4M3),
        }
    save_file({k: np.ascontiguousarray(v) for k, v in casts.items()}, "casts.safetensors")

    mm = {}
    # fp16 x fp16 with f64 accumulation: the reference and the rigorous bound's sum of |a*b|.
    for (m, k, n) in [(17, 33, 65), (64, 300, 48)]:
        a = (rng.standard_normal((m, k)) * 2.0).astype(F16)
        b = (rng.standard_normal((k, n)) * 2.0).astype(F16)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        mm[f"fp16_{m}x{k}x{n}_a"], mm[f"fp16_{m}x{k}x{n}_b"] = a, b
        mm[f"fp16_{m}x{k}x{n}_c_ref_f32"] = (a64 @ b64).astype(np.float32)
        mm[f"fp16_{m}x{k}x{n}_abs_sum_f32"] = (np.abs(a64) @ np.abs(b64)).astype(np.float32)
    # int8 x int8 in int64, and W8A8's dequantisation in f32: (f32(acc) * scale[n]) * token_scale[m].
    for (m, k, n) in [(19, 70, 33), (24, 1100, 16)]:
        a = rng.integers(-128, 128, (m, k), dtype=np.int8)
        b = rng.integers(-128, 128, (k, n), dtype=np.int8)
        a[0, :], b[:, 0] = -128, -128  # one sum of 16384 * K: past 2^24 for the larger K
        acc = a.astype(np.int64) @ b.astype(np.int64)
        assert np.abs(acc).max() < 2**31
        s_n = (rng.uniform(0.5, 2.0, n) / 127).astype(np.float32)
        s_m = (rng.uniform(0.5, 2.0, m) / 127).astype(np.float32)
        deq = (acc.astype(np.float32) * s_n[None, :]) * s_m[:, None]
        name = f"int8_{m}x{k}x{n}"
        mm.update({f"{name}_a": a, f"{name}_b": b, f"{name}_c_i64_as_i32": acc.astype(np.int32),
                   f"{name}_channel_scale": s_n, f"{name}_token_scale": s_m, f"{name}_dequant_f32": deq})
    save_file({k: np.ascontiguousarray(v) for k, v in mm.items()}, "matmul.safetensors")
    versions = {"ml_dtypes": ml_dtypes.__version__, "numpy": np.__version__}
    with open("versions.json", "w") as f:
        json.dump(versions, f, indent=1)
        f.write("\n")
    print(versions, len(x), "f32 inputs")


if __name__ == "__main__":
    main()

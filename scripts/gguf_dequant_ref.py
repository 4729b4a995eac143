#!/usr/bin/env python3
"""Writes testdata/gguf/dequant_ref.json: reference quantized blocks and their
dequantized values, computed by the `gguf` PyPI package (gguf-py, llama.cpp's
Python library), for runtime/gguf's TestDequantizeReference.

    python3 -m pip install gguf==0.19.0 numpy
    python3 scripts/gguf_dequant_ref.py            # from the repository root

Two kinds of case per type:
  "quant": random float32 input (seeded) quantized by gguf.quants.quantize;
           the Go quantizer must give the same bytes, the Go dequantizer the
           same floats. Only for the types gguf-py can quantize.
  "raw":   random block bytes (seeded) with the f16 scale fields replaced by
           finite values, so every bit pattern of the quants is exercised;
           the Go dequantizer must give the same floats.
Floats are stored as base64 of little-endian float32, bytes as base64.
"""
import base64
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

SEED = 20240601
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "gguf", "dequant_ref.json")

# type -> (blocks per case, byte offsets of f16 scale fields within a block)
RAW = {
    T.F16: (64, []),
    T.BF16: (64, []),
    T.Q8_0: (4, [0]),
    T.Q4_0: (4, [0]),
    T.Q4_1: (4, [0, 2]),
    T.Q5_0: (4, [0]),
    T.Q5_1: (4, [0, 2]),
    T.Q2_K: (2, [80, 82]),
    T.Q3_K: (2, [108]),
    T.Q4_K: (2, [0, 2]),
    T.Q5_K: (2, [0, 2]),
    T.Q6_K: (2, [208]),
}
SPECIAL = np.array([65504, 65519, 65520, 1e6, -np.inf, np.inf, -0.0, 1e-8, 6e-8, 3e-8, 2.98e-8,
                    1.00048828125, 1.000732421875, 3.0e38, 1.0039062, 1.00390625, 1.01171875, 1e-40],
                   dtype=np.float32)
QUANT = [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def f32le(a: np.ndarray) -> str:
    return b64(np.asarray(a, dtype="<f4"))


def quant_input(rng: np.random.Generator, n_blocks: int, block: int) -> np.ndarray:
    x = rng.standard_normal((n_blocks, block)).astype(np.float32)
    x *= rng.uniform(0.001, 3.0, size=(n_blocks, 1)).astype(np.float32)
    x[0] = 0.0  # all zero: scale 0
    if n_blocks > 1:
        x[1] = np.float32(0.25)  # constant block: max == min
    if n_blocks > 2:
        x[2] += np.float32(5.0)  # all positive, offset
    return x.reshape(-1)


def main() -> None:
    rng = np.random.default_rng(SEED)
    cases = []
    for t in QUANT:
        block, _ = GGML_QUANT_SIZES[t]
        x = quant_input(rng, 8, 32)
        if block == 1:  # plain floats: add edge cases of the conversion
            x[32:32 + len(SPECIAL)] = SPECIAL
        with np.errstate(over="ignore"):  # 1e6 etc. overflow to inf in F16 on purpose
            q = gguf.quants.quantize(x, t)
        y = gguf.quants.dequantize(q, t)
        cases.append({"kind": "quant", "type": t.name, "type_id": int(t), "n": int(x.size),
                      "input": f32le(x), "bytes": b64(q), "want": f32le(y)})
    for t, (n_blocks, f16_fields) in RAW.items():
        block, size = GGML_QUANT_SIZES[t]
        raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
        if t == T.F16:  # no NaN bit patterns: Go and numpy may quiet them differently
            h = raw.view("<u2")
            h[(h & 0x7C00) == 0x7C00] &= 0xFBFF
        if t == T.BF16:
            h = raw.view("<u2")
            h[(h & 0x7F80) == 0x7F80] &= 0xFF7F
        for off in f16_fields:
            scale = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
            raw[:, off:off + 2] = scale.view(np.uint8).reshape(n_blocks, 2)
        q = raw.reshape(-1)
        n = n_blocks * block
        y = gguf.quants.dequantize(q, t)
        assert y.size == n, (t, y.size, n)
        cases.append({"kind": "raw", "type": t.name, "type_id": int(t), "n": int(n),
                      "bytes": b64(q), "want": f32le(y)})
    doc = {
        "generator": "scripts/gguf_dequant_ref.py",
        "gguf_py_version": getattr(gguf, "__version__", None) or _pkg_version(),
        "numpy_version": np.__version__,
        "seed": SEED,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)}: {len(cases)} cases, {os.path.getsize(OUT)} bytes", file=sys.stderr)


def _pkg_version() -> str:
    from importlib.metadata import version
    return version("gguf")


if __name__ == "__main__":
    main()

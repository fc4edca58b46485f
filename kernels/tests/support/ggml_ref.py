#!/usr/bin/env python3
"""Independent reference for GGML's Q8_0 / Q4_0 reference quantizers.

Follows ggml-quants.c (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `dequantize_row_q8_0`,
`dequantize_row_q4_0`) line by line in plain Python, with float32 arithmetic emulated exactly:
every intermediate is rounded to binary32 with `struct` (a product or sum of two binary32
values is exact in binary64 or correctly rounded by it, and binary64 -> binary32 rounding after
one +,-,*,/ is innocuous, so each step equals the C float operation). The f16 scale uses
struct's 'e' format (round-to-nearest-even, as GGML_FP32_TO_FP16).

Where GGML's C has undefined behaviour (1/d overflows to infinity, only when |d| < 2^-128, and
then an infinite or NaN float is converted to int8), mycel's rule applies: id = 0 (spec/kernels.md
section 2). Those cases are marked "mycel-rule" in the output.

Run once, output committed: python3 kernels/tests/support/ggml_ref.py > kernels/tests/data/ggml_golden.txt
Each line: `<format> <case name> <input: 32 f32 little-endian, hex> <block bytes, hex>
<dequantized: 32 f32 little-endian, hex>`. The inputs are generated here (seeded), not by Rust.
"""
import math
import random
import struct


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def f16_bytes(x):
    # struct 'e' rounds half to even; it raises OverflowError above the f16 range where C
    # gives infinity, so handle that case like IEEE: |x| >= 65520 rounds to infinity.
    try:
        return struct.pack("<e", x)
    except OverflowError:
        return struct.pack("<H", 0x7C00 if x > 0 else 0xFC00)


def f16_value(b):
    return struct.unpack("<e", b)[0]


def recip(d):
    # const float id = d ? 1.0f/d : 0.0f;  (mycel-rule: an infinite 1/d is taken as 0)
    if d == 0.0:
        return 0.0, False
    try:
        id_ = f32(1.0 / d)
    except OverflowError:
        return 0.0, True
    if math.isinf(id_):
        return 0.0, True
    return id_, False


def roundf(v):
    # C roundf: half away from zero. |v| < 2^23 here, so |v| + 0.5 is exact in binary64.
    r = math.floor(abs(v) + 0.5)
    return -r if v < 0 else r


def quantize_q8_0(x):
    amax = 0.0
    for v in x:
        a = abs(v)
        amax = amax if amax > a else a  # MAX(amax, fabsf(v))
    d = f32(amax / 127.0)               # amax / ((1 << 7) - 1)
    id_, ub = recip(d)
    out = f16_bytes(d)
    for v in x:
        x0 = f32(v * id_)
        q = int(roundf(x0))
        out += struct.pack("<b", q)
    return out, ub


def quantize_q4_0(x):
    amax = 0.0
    mx = 0.0
    for v in x:
        if amax < abs(v):
            amax = abs(v)
            mx = v
    d = f32(mx / -8.0)
    id_, ub = recip(d)
    out = f16_bytes(d)
    qs = []
    for j in range(16):
        x0 = f32(x[j] * id_)
        x1 = f32(x[16 + j] * id_)
        xi0 = min(15, int(f32(x0 + 8.5)))  # (int8_t) truncates toward zero
        xi1 = min(15, int(f32(x1 + 8.5)))
        qs.append(xi0 | (xi1 << 4))
    return out + bytes(qs), ub


def dequantize_q8_0(b):
    d = f16_value(b[0:2])
    return [f32(q * d) for q in struct.unpack("<32b", b[2:34])]


def dequantize_q4_0(b):
    d = f16_value(b[0:2])
    lo = [f32(((q & 0x0F) - 8) * d) for q in b[2:18]]
    hi = [f32(((q >> 4) - 8) * d) for q in b[2:18]]
    return lo + hi


def hexf(vals):
    return b"".join(struct.pack("<f", v) for v in vals).hex()


def cases():
    rng = random.Random(20261124)
    out = []
    out.append(("zeros", [0.0] * 32))
    out.append(("neg_zeros", [-0.0] * 32))
    out.append(("ramp", [f32(i - 16) for i in range(32)]))
    out.append(("ramp_scaled", [f32((i - 15.5) * 0.03125) for i in range(32)]))
    # Q8_0 ties: amax = 127 gives d = 1, id = 1, so x*id = x exactly; .5 rounds away from zero.
    out.append(("q8_ties", [127.0, -127.0] + [f32(k + 0.5) for k in range(-15, 15)]))
    # Q4_0 ties: max = -8 gives d = 1, id = 1: x + 8.5 truncated; halves hit exact integers.
    out.append(("q4_ties", [-8.0] + [f32(k * 0.5) for k in range(-15, 16)]))
    out.append(("q4_max_positive", [8.0] + [f32(k * 0.25) for k in range(-15, 16)]))
    out.append(("first_of_equal_abs", [-3.0, 3.0] + [f32(0.1 * k) for k in range(30)]))
    out.append(("f32_max", [f32_bits(0x7F7FFFFF), f32_bits(0xFF7FFFFF)] + [1.0] * 30))
    out.append(("f16_overflow", [1.0e7] + [f32(k * 1000.0) for k in range(31)]))
    out.append(("f16_subnormal_scale", [f32(1e-6 * (k - 16)) for k in range(32)]))
    out.append(("subnormals_with_normal", [1.0] + [f32_bits(k * 977 + 1) for k in range(31)]))
    out.append(("all_subnormal", [f32_bits(0x007FFFFF)] + [f32_bits(k * 1000 + 3) for k in range(31)]))
    out.append(("tiny_normal", [f32_bits(0x00800000 + k * 12345) for k in range(32)]))
    out.append(("one_hot", [0.0] * 7 + [-0.75] + [0.0] * 24))
    for i in range(24):
        scale = 10.0 ** rng.uniform(-4, 4)
        out.append((f"gauss_{i}", [f32(rng.gauss(0.0, 1.0) * scale) for _ in range(32)]))
    for i in range(8):
        out.append((f"uniform_{i}", [f32(rng.uniform(-1.0, 1.0)) for _ in range(32)]))
    return out


def main():
    print("# generated by kernels/tests/support/ggml_ref.py; do not edit")
    for name, x in cases():
        assert len(x) == 32
        for fmt, quant, deq in (("q8_0", quantize_q8_0, dequantize_q8_0), ("q4_0", quantize_q4_0, dequantize_q4_0)):
            block, ub = quant(x)
            label = name + ("/mycel-rule" if ub else "")
            print(fmt, label, hexf(x), block.hex(), hexf(deq(block)))


if __name__ == "__main__":
    main()

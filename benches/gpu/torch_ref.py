#!/usr/bin/env python3
"""PyTorch reference numbers for the mycel GPU benchmarks, measured in the same run.

Prints one JSON object per line (like benches/cuda.rs): device copy bandwidth, the int8 matmul
peak (torch._int_mm), the bf16 matmul and the dequantize-Q4_0-then-bf16 path at the prefill
shape, and scaled_dot_product_attention (bf16, 32 heads / 8 KV heads, head_dim 128) for prefill
(seq 2048, causal) and decode (q_len 1, kv_len 8192). Timing: CUDA events, median of rounds.
"""
import json
import sys

import torch
import torch.nn.functional as F


def emit(bench, value, unit, **extra):
    rec = {"bench": bench, "value": round(float(value), 6), "unit": unit, **extra}
    print(json.dumps(rec), flush=True)
    print(f"{bench:<44} {value:>12.3f} {unit}  {extra if extra else ''}", file=sys.stderr)


def time_ms(fn, warmup=3, rounds=7, iters=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    times.sort()
    return times[len(times) // 2]


def guarded(name, fn):
    """Run one measurement; a failure is reported and does not stop the others."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any failure of one reference must not stop the rest
        print(json.dumps({"bench": name, "value": 0, "unit": "error", "error": repr(e)[:300]}), flush=True)
        print(f"{name}: FAILED {e!r}", file=sys.stderr)
    torch.cuda.empty_cache()


def main():
    if not torch.cuda.is_available():
        print("torch_ref: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    emit("torch_device", 0, "-", name=torch.cuda.get_device_name(0), torch=torch.__version__,
         cuda=torch.version.cuda)

    def copy():
        src = torch.empty(256 << 20, dtype=torch.float32, device=dev)
        dst = torch.empty_like(src)
        ms = time_ms(lambda: dst.copy_(src))
        emit("torch_d2d_copy_1GiB", 2 * src.numel() * 4 / (ms * 1e-3) / 1e9, "GB/s", note="read+write bytes")

    guarded("torch_d2d_copy_1GiB", copy)

    # int8 peak: torch._int_mm (cuBLASLt int8 -> int32)
    for (m, k, n) in [(8192, 8192, 8192), (512, 4096, 11008)]:
        def int_mm(m=m, k=k, n=n):
            a = torch.randint(-127, 128, (m, k), dtype=torch.int8, device=dev)
            b = torch.randint(-127, 128, (k, n), dtype=torch.int8, device=dev)
            ms = time_ms(lambda: torch._int_mm(a, b))
            emit(f"torch_int_mm_{m}x{k}x{n}", 2 * m * n * k / (ms * 1e-3) / 1e12, "TOPS", ms=round(ms, 4))

        guarded(f"torch_int_mm_{m}x{k}x{n}", int_mm)

    # prefill shape, bf16 matmul on already-dequantized weights, and dequantize-then-matmul
    def prefill():
        m, k, n = 512, 4096, 11008
        x = torch.randn(m, k, dtype=torch.bfloat16, device=dev)
        nb = k // 32
        qs = torch.randint(0, 256, (n, nb, 16), dtype=torch.uint8, device=dev)  # Q4_0 nibbles
        d = (torch.rand(n, nb, 1, device=dev) * 0.01).to(torch.float16)

        def dequant():
            lo = (qs & 0x0F).to(torch.int8) - 8
            hi = (qs >> 4).to(torch.int8) - 8
            vals = torch.cat([lo, hi], dim=2).to(torch.bfloat16)  # GGML order: low nibbles first
            return (vals * d.to(torch.bfloat16)).reshape(n, k)

        w = dequant()
        ms = time_ms(lambda: x @ w.t())
        emit("torch_bf16_matmul_m512_k4096_n11008", 2 * m * n * k / (ms * 1e-3) / 1e12, "TFLOP/s",
             ms=round(ms, 4))
        ms = time_ms(lambda: x @ dequant().t())
        emit("torch_dequant_q4_0_then_bf16_m512", 2 * m * n * k / (ms * 1e-3) / 1e12, "TFLOP/s",
             ms=round(ms, 4))

    guarded("torch_prefill", prefill)

    # attention: bf16, 32 heads, 8 KV heads, head_dim 128
    h, hkv, dh = 32, 8, 128

    def sdpa_prefill():
        s = 2048
        q = torch.randn(1, h, s, dh, dtype=torch.bfloat16, device=dev)
        kk = torch.randn(1, hkv, s, dh, dtype=torch.bfloat16, device=dev)
        vv = torch.randn(1, hkv, s, dh, dtype=torch.bfloat16, device=dev)
        ms = time_ms(lambda: F.scaled_dot_product_attention(q, kk, vv, is_causal=True, enable_gqa=True))
        flops = 4 * s * s * dh * h / 2  # causal: half of QK^T and PV
        emit("torch_sdpa_bf16_h32_kv8_d128_s2048_causal", flops / (ms * 1e-3) / 1e12, "TFLOP/s",
             ms=round(ms, 4))

    guarded("torch_sdpa_bf16_h32_kv8_d128_s2048_causal", sdpa_prefill)

    def sdpa_decode():
        kv = 8192
        q1 = torch.randn(1, h, 1, dh, dtype=torch.bfloat16, device=dev)
        kd = torch.randn(1, hkv, kv, dh, dtype=torch.bfloat16, device=dev)
        vd = torch.randn(1, hkv, kv, dh, dtype=torch.bfloat16, device=dev)
        ms = time_ms(lambda: F.scaled_dot_product_attention(q1, kd, vd, enable_gqa=True), iters=50)
        kv_bytes = 2 * hkv * kv * dh * 2
        emit("torch_sdpa_decode_bf16_kv8192", kv_bytes / (ms * 1e-3) / 1e9, "GB/s", us=round(ms * 1e3, 2),
             note="K+V bytes read per call")

    guarded("torch_sdpa_decode_bf16_kv8192", sdpa_decode)
    return 0


if __name__ == "__main__":
    sys.exit(main())

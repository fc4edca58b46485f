#!/usr/bin/env python3
"""Combine bench.jsonl (mycel) and torch.jsonl (PyTorch) from one gpu-check run into report.md:
the issue-5 goals as ratios measured in the same run."""
import json
import sys
from pathlib import Path


def load(p):
    out = {}
    path = Path(p)
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rec = json.loads(line)
                out[rec["bench"]] = rec
            except (ValueError, KeyError):
                pass
    return out


def val(d, k):
    r = d.get(k)
    return None if r is None else r["value"]


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt(v, unit="", pct=False):
    if v is None:
        return "not measured"
    return f"{100 * v:.1f} %" if pct else f"{v:.2f} {unit}".strip()


def main(out_dir):
    out = Path(out_dir)
    b = load(out / "bench.jsonl")
    t = load(out / "torch.jsonl")
    lines = ["# mycel GPU check report", ""]
    dev = b.get("device", {}).get("name") or t.get("torch_device", {}).get("name", "unknown device")
    lines += [f"Device: {dev}", ""]
    tests = (out / "tests.log").read_text() if (out / "tests.log").exists() else ""
    summary = [ln for ln in tests.splitlines() if ln.startswith("test result") or "cases equal" in ln
               or ln.startswith("SKIP") or "panicked" in ln]
    lines += ["## Tests (bit identity with the CPU scalar reference)", "", "```"] + summary + ["```", ""]
    copy = val(b, "d2d_copy_1GiB")
    rows = [
        ("Q4_0 matvec K=4096 N=11008 (GB/s of weights)", val(b, "matvec_q4_0_m1_k4096_n11008"), "GB/s",
         ratio(val(b, "matvec_q4_0_m1_k4096_n11008"), copy), "≥ 80 % of d2d copy"),
        ("Q8_0 matvec K=4096 N=11008 (GB/s of weights)", val(b, "matvec_q8_0_m1_k4096_n11008"), "GB/s",
         ratio(val(b, "matvec_q8_0_m1_k4096_n11008"), copy), "≥ 80 % of d2d copy"),
        ("Q4_0 prefill M=512 (TFLOP/s)", val(b, "prefill_q4_0_m512_k4096_n11008"), "TFLOP/s",
         ratio(val(b, "prefill_q4_0_m512_k4096_n11008"), val(t, "torch_int_mm_8192x8192x8192")),
         "≥ 50 % of torch._int_mm peak"),
        ("Q8_0 prefill M=512 (TFLOP/s)", val(b, "prefill_q8_0_m512_k4096_n11008"), "TFLOP/s",
         ratio(val(b, "prefill_q8_0_m512_k4096_n11008"), val(t, "torch_int_mm_8192x8192x8192")),
         "≥ 50 % of torch._int_mm peak"),
        ("Q4_0 prefill vs torch dequantize+bf16 (speed-up)", val(b, "prefill_q4_0_m512_k4096_n11008"), "TFLOP/s",
         ratio(val(b, "prefill_q4_0_m512_k4096_n11008"), val(t, "torch_dequant_q4_0_then_bf16_m512")), "> 100 %"),
    ]
    sdpa = val(t, "torch_sdpa_bf16_h32_kv8_d128_s2048_causal")
    ver = val(b, "attention_verifiable_h32_kv8_d128_s2048_causal")
    fast = val(b, "attention_fast_h32_kv8_d128_s2048_causal")
    rows += [
        ("Attention fast, h32/kv8 d128 s2048 causal (TFLOP/s) vs SDPA", fast, "TFLOP/s", ratio(fast, sdpa),
         "≥ 50 % of SDPA"),
        ("Attention verifiable, same shape, vs fast", ver, "TFLOP/s", ratio(ver, fast),
         "≥ 50 % (within 2x of fast)"),
        ("Attention fast decode kv 8192 (GB/s of f32 K+V)", val(b, "attention_fast_decode_kv8192"),
         "GB/s", ratio(val(b, "attention_fast_decode_kv8192"), copy), "≥ 70 % of HBM bandwidth"),
        ("Attention verifiable decode kv 8192 (GB/s of f32 K+V)", val(b, "attention_verifiable_decode_kv8192"),
         "GB/s", ratio(val(b, "attention_verifiable_decode_kv8192"), copy), "≥ 70 % of HBM bandwidth"),
    ]
    lines += ["## Goals (issues 5 and 6), same run", "", "| measure | mycel | ratio | goal |", "|---|---|---|---|"]
    for name, v, unit, r, goal in rows:
        lines.append(f"| {name} | {fmt(v, unit)} | {fmt(r, pct=True)} | {goal} |")
    lines += ["", "## All numbers", "", "| bench | value | unit | details |", "|---|---|---|---|"]
    for d in (b, t):
        for k, r in d.items():
            extra = {x: y for x, y in r.items() if x not in ("bench", "value", "unit")}
            lines.append(f"| {k} | {r['value']} | {r['unit']} | {json.dumps(extra) if extra else ''} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

"""Speed of the mycel wheel against the Rust calls it wraps, measured in one process.

For each case the same inputs are timed twice: through the Python API (``time.perf_counter``
around each call) and inside Rust (``mycel._mycel._time_rust``: the same Rust function in a
loop, timed with ``Instant``, GIL released). Python and Rust samples alternate (ABAB); medians per call; the difference is what the
binding costs (argument conversion, output array, GIL hand-off). Cases:

* per-call overhead: ``leaf_hash(b"")``, the smallest call there is;
* matmul on the benches' shapes (K = 4096, N = 4096, M in {1, 16, 64}, Q4_0 and Q8_0, 2 threads);
* verifiable attention on the benches' shapes (32 heads, 8 KV heads, head_dim 128, prefill
  q = kv = 512, decode q = 1 against kv = 2048; f32 and f16);
* receipts verified per second through ``verify_batch`` (batches of 64 and 256).

Run: ``python bindings-python/bench/bench.py [--quick]`` with the wheel installed. On a
loaded machine repeat it and read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np

import mycel
from mycel import _mycel


def py_median(fn: Callable[[], Any], iters: int) -> float:
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def interleaved(fn: Callable[[], Any], op: str, iters: int, *args: Any) -> tuple[float, float]:
    """Medians of Python-timed calls and Rust-timed calls, alternated one by one (ABAB) so that
    load drifting during the run hits both alike."""
    py, rust = [], []
    fn()  # warm-up
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        py.append(time.perf_counter() - t)
        rust.append(_mycel._time_rust(op, 1, *args))
    return statistics.median(py), statistics.median(rust)


def overhead(iters: int) -> None:
    # Many calls per sample: one call is below the timer's resolution.
    reps = 1000

    def batch() -> None:
        for _ in range(reps):
            mycel.leaf_hash(b"")

    py = py_median(batch, iters) / reps
    rust = _mycel._time_rust("leaf_hash", iters * reps, b"")
    print(f"| tiny call (leaf_hash of b'') | {py * 1e6:.2f} µs | {rust * 1e6:.2f} µs | {(py - rust) * 1e6:+.2f} µs |")


def row(name: str, py: float, rust: float, unit: Callable[[float], str]) -> None:
    # Positive: the call through Python takes longer than the Rust call.
    print(f"| {name} | {unit(py)} | {unit(rust)} | {100 * (py / rust - 1):+.1f} % time |")


def matmul_cases(quick: bool, iters: int) -> None:
    rng = np.random.default_rng(0)
    k, n = 4096, 4096
    for fmt in ("q4_0", "q8_0"):
        w = mycel.generate_weights(bytes(32), fmt, n, k)
        for m in (1, 16) if quick else (1, 16, 64):
            x = rng.standard_normal((m, k)).astype(np.float32)
            py, rust = interleaved(lambda: mycel.matmul(x, w, fmt, threads=2), "matmul", iters, x, w, fmt, 2)
            flops = 2.0 * m * n * k
            row(f"matmul {fmt} M={m} N={n} K={k}", py, rust, lambda s: f"{flops / s / 1e9:.1f} GFLOP/s")


def attention_cases(quick: bool, iters: int) -> None:
    rng = np.random.default_rng(1)
    shapes = [(512, 512, True), (1, 2048, False)]
    for dtype in ("float32", "float16"):
        for q_len, kv_len, causal in shapes:
            q = rng.uniform(-1, 1, (32, q_len, 128)).astype(dtype)
            k = rng.uniform(-1, 1, (8, kv_len, 128)).astype(dtype)
            v = rng.uniform(-1, 1, (8, kv_len, 128)).astype(dtype)
            py, rust = interleaved(
                lambda: mycel.attention(q, k, v, causal=causal, threads=2), "attention", iters, q, k, v, causal, 2
            )
            row(f"attention {dtype} q={q_len} kv={kv_len}", py, rust, lambda s: f"{s * 1e3:.2f} ms")
            if quick:
                break


def receipts(iters: int) -> None:
    task = mycel.TaskSpec("matmul-q8_0", m=8, n=64, k=128, input_seed=bytes(32))
    for size in (64, 256):
        rs = []
        for i in range(size):
            kp = mycel.Keypair.from_seed(i.to_bytes(32, "little"))
            r = mycel.WorkReceipt.for_task(task, miner=kp.hotkey, assigner=bytes(32),
                                           output_commitment=bytes(32), output_tile_root=bytes(32), nonce=i)
            rs.append(r.sign(kp))
        py, rust = interleaved(lambda: mycel.verify_batch(rs), "verify_batch", iters, rs)
        row(f"verify_batch of {size}", py, rust, lambda s: f"{size / s:,.0f} receipts/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer shapes and samples")
    args = ap.parse_args()
    iters = 5 if args.quick else 15
    print(f"mycel {mycel.__version__}, CPU path {mycel.resolve_backend()}")
    print()
    print("| case | through Python | Rust call | Python vs Rust |")
    print("|---|---|---|---|")
    overhead(iters * 20)
    matmul_cases(args.quick, iters)
    attention_cases(args.quick, iters)
    receipts(iters)


if __name__ == "__main__":
    main()

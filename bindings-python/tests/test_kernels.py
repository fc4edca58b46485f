"""Kernels on numpy arrays: GGML bytes equal the gguf package's own quantizer, matmul and
attention equal the CLI bit for bit, backends agree, bfloat16/float16 inputs, task execution
equal to `mycel task run`, the GIL released while a kernel runs."""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mycel

gguf = pytest.importorskip("gguf")
from gguf import quants  # noqa: E402

Q8, Q4 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0
BACKENDS = ["scalar", "auto"] + (["avx2"] if mycel.resolve_backend("auto") != "scalar" else [])


def data(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_ggml_bytes_equal_gguf_quantizer(seed: int) -> None:
    scale = [1.0, 1e-3, 1e3, 1e-30, 7.0, 1e-6][seed]
    x = data(seed, (5, 256), scale)
    if seed == 5:
        # An all-zero block and a huge value (the f16 scale overflows to infinity). Blocks of
        # -0.0 only are left out on purpose: there gguf's numpy quantizer takes the sign of the
        # first element, while ggml's C reference (and mycel) computes d = 0.0f / -8 = -0.0.
        x[2, :32] = 0.0
        x[3, 40] = 1e30
    q8 = mycel.quantize_q8_0(x)
    q4 = mycel.quantize_q4_0(x)
    assert q8.dtype == np.uint8 and q8.shape == (5, 256 // 32 * 34)
    assert q4.shape == (5, 256 // 32 * 18)
    assert np.array_equal(q8, quants.quantize(x, Q8))
    assert np.array_equal(q4, quants.quantize(x, Q4))
    # equal_nan: an infinite scale times a zero quant is NaN in both.
    assert np.array_equal(mycel.dequantize(q8, "q8_0"), quants.dequantize(q8, Q8), equal_nan=True)
    assert np.array_equal(mycel.dequantize(q4, "q4_0"), quants.dequantize(q4, Q4), equal_nan=True)
    # bytes and 1-D input with an explicit k give the same matrix.
    assert mycel.dequantize(q8.tobytes(), "q8_0", k=256).tobytes() == mycel.dequantize(q8, "q8_0").tobytes()


def test_matmul_matches_cli_and_backends_agree(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    x = data(10, (7, 128))
    for fmt, quant in (("q8_0", mycel.quantize_q8_0), ("q4_0", mycel.quantize_q4_0)):
        w = quant(data(11, (33, 128)))
        ys = [mycel.matmul(x, w, fmt, backend=b, threads=t) for b in BACKENDS for t in (1, 3)]
        for y in ys:
            assert y.shape == (7, 33) and y.dtype == np.float32
            assert y.tobytes() == ys[0].tobytes()
        np.save(tmp_path / "x.npy", x)
        (tmp_path / "w.bin").write_bytes(w.tobytes())
        cli("kernel", "matmul", "--format", fmt, str(tmp_path / "x.npy"), str(tmp_path / "w.bin"),
            str(tmp_path / "y.npy"))
        assert np.load(tmp_path / "y.npy").tobytes() == ys[0].tobytes()
        # One row in, one row out.
        assert mycel.matmul(x[0].copy(), w, fmt).tobytes() == ys[0][0].tobytes()
        # Close to the float product (the values are quantized, so not equal).
        ref = x @ mycel.dequantize(w, fmt).T
        assert np.allclose(ys[0], ref, rtol=0.1, atol=0.5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_attention_matches_cli(cli, tmp_path: Path, causal: bool, dtype: str) -> None:  # type: ignore[no-untyped-def]
    q = data(20, (4, 9, 64)).astype(dtype)
    k = data(21, (2, 13, 64)).astype(dtype)
    v = data(22, (2, 13, 64)).astype(dtype)
    outs = [mycel.attention(q, k, v, causal=causal, backend=b, threads=t) for b in BACKENDS for t in (1, 2)]
    for o in outs:
        assert o.shape == (4, 9, 64) and o.dtype == np.float32
        assert o.tobytes() == outs[0].tobytes()
    for name, a in (("q", q), ("k", k), ("v", v)):
        np.save(tmp_path / f"{name}.npy", a)
    args = ["kernel", "attention", "--mode", "verifiable"] + (["--causal"] if causal else [])
    cli(*args, *(str(tmp_path / f"{n}.npy") for n in ("q", "k", "v", "o")))
    assert np.load(tmp_path / "o.npy").tobytes() == outs[0].tobytes()
    fast = mycel.attention(q, k, v, causal=causal, mode="fast")
    assert np.allclose(fast, outs[0], atol=1e-3)
    scaled = mycel.attention(q, k, v, causal=causal, scale=0.5)
    assert scaled.tobytes() != outs[0].tobytes()


def test_half_inputs_are_widened_exactly() -> None:
    q = data(30, (2, 5, 128)).astype(np.float16)
    k = data(31, (1, 5, 128)).astype(np.float16)
    v = data(32, (1, 5, 128)).astype(np.float16)
    wide = mycel.attention(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32))
    assert mycel.attention(q, k, v).tobytes() == wide.tobytes()
    ml_dtypes = pytest.importorskip("ml_dtypes")
    qb, kb, vb = (a.astype(np.float32).astype(ml_dtypes.bfloat16) for a in (q, k, v))
    wide_b = mycel.attention(qb.astype(np.float32), kb.astype(np.float32), vb.astype(np.float32))
    assert mycel.attention(qb, kb, vb).tobytes() == wide_b.tobytes()


def ref_commitment(arr: np.ndarray) -> bytes:
    head = b"mycel/v1/tensor\x00" + bytes([0x01, arr.ndim]) + b"".join(struct.pack("<Q", d) for d in arr.shape)
    return hashlib.sha256(head + arr.astype("<f4").tobytes()).digest()


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_attention_task_equals_cli(cli, tmp_path: Path, dtype: str) -> None:  # type: ignore[no-untyped-def]
    task = mycel.TaskSpec("attention", n_heads=4, n_kv_heads=2, q_len=16, kv_len=40, head_dim=64,
                          causal=True, dtype=dtype, input_seed=bytes(range(1, 33)), epoch=5)
    res = mycel.execute_task(task)
    assert res.output.shape == (4, 16, 64)
    assert res.commitment == ref_commitment(res.output)
    assert mycel.execute_task(task.encode(), "scalar").commitment == res.commitment
    (tmp_path / "t.bin").write_bytes(task.encode())
    out = cli("task", "run", str(tmp_path / "t.bin"))
    assert out.stdout.decode().strip() == res.commitment.hex()
    assert res.tile_root.hex() in out.stderr.decode()
    # Attention takes no weights: given ones are refused (as by `mycel task run`), not ignored.
    for kw in ({"weights_seed": b"\x01" * 32}, {"weights": b"\x00" * 34}):
        with pytest.raises(mycel.ArgumentError, match="takes no weights") as e:
            mycel.execute_task(task, **kw)  # type: ignore[arg-type]
        assert e.value.code == "node.invalid_argument"


@pytest.mark.parametrize("fmt", ["q8_0", "q4_0"])
def test_matmul_task_equals_cli(cli, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    seed = bytes([7]) * 32
    w = mycel.generate_weights(seed, fmt, 48, 96)
    assert w.shape == (48, 96 // 32 * (34 if fmt == "q8_0" else 18))
    assert mycel.weights_digest(w) == hashlib.sha256(w.tobytes()).digest()
    task = mycel.TaskSpec(f"matmul-{fmt}", m=5, n=48, k=96, weights_digest=mycel.weights_digest(w),
                          input_seed=b"\x09" * 32)
    res = mycel.execute_task(task, weights=w)
    assert res.output.shape == (5, 48)
    assert mycel.execute_task(task, weights_seed=seed).commitment == res.commitment
    assert mycel.execute_task(task, weights=w.tobytes(), backend="scalar").tile_root == res.tile_root
    (tmp_path / "t.bin").write_bytes(task.encode())
    out = cli("task", "run", str(tmp_path / "t.bin"), "--weights-seed", seed.hex())
    assert out.stdout.decode().strip() == res.commitment.hex()
    other = mycel.generate_weights(b"\x08" * 32, fmt, 48, 96)
    with pytest.raises(mycel.WeightsDigestError) as e:
        mycel.execute_task(task, weights=other)
    assert e.value.code == "weights_digest"
    with pytest.raises(mycel.ArgumentError) as e2:  # its weights are not derived from its seed
        mycel.execute_task(task)
    assert e2.value.code == "node.invalid_argument"
    with pytest.raises(mycel.ArgumentError):
        mycel.execute_task(task, weights=w, weights_seed=seed)


def test_the_gil_is_released_during_compute() -> None:
    q = data(40, (8, 256, 128))
    k = data(41, (8, 1024, 128))
    v = data(42, (8, 1024, 128))
    t0 = time.perf_counter()
    mycel.attention(q, k, v, backend="scalar", threads=1)
    duration = time.perf_counter() - t0
    done = threading.Event()

    def work() -> None:
        mycel.attention(q, k, v, backend="scalar", threads=1)
        done.set()

    th = threading.Thread(target=work)
    stamps = [time.perf_counter()]
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    th.join()
    gaps = np.diff(stamps)
    # With the GIL held, this loop would stall for the whole call.
    assert len(stamps) > 10 and gaps.max() < 0.5 * duration, (duration, gaps.max())


@pytest.mark.parametrize(
    "kernel, args",
    [
        ("matmul-q4_0", {"m": 3, "n": 64, "k": 128}),
        ("matmul-q8_0", {}),
        ("attention", {"heads": 4, "kv_heads": 1, "q_len": 8, "kv_len": 24, "dtype": "bf16", "causal": True}),
    ],
)
def test_one_task_every_host(cli, tmp_path: Path, kernel: str, args: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    """`mycel task new` and `new_task` write the same bytes; the task alone executes to the same
    commitment in Python as in `mycel task run`."""
    seed = bytes(range(100, 132))
    flags = {"heads": "--heads", "kv_heads": "--kv-heads", "q_len": "--q-len", "kv_len": "--kv-len",
             "m": "--m", "n": "--n", "k": "--k", "dtype": "--dtype"}
    argv = ["task", "new", "--kernel", kernel, "--seed", seed.hex(), "--epoch", "4",
            "--out", str(tmp_path / "t.bin")]
    for key, value in args.items():
        argv += ["--causal"] if key == "causal" else [flags[key], str(value)]
    cli(*argv)
    task = mycel.new_task(kernel, seed, epoch=4, **args)
    assert (tmp_path / "t.bin").read_bytes() == task.encode()
    res = mycel.execute_task(task.encode())
    out = cli("task", "run", str(tmp_path / "t.bin"))
    assert out.stdout.decode().strip() == res.commitment.hex()
    assert mycel.execute_task(task, "scalar").tile_root == res.tile_root

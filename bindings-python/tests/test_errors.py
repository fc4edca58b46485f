"""Bad input everywhere: wrong types, dtypes, shapes, non-contiguous arrays, truncated and
oversized bytes raise the typed exception (naming the argument) and never crash; the
hierarchy and its codes."""

from __future__ import annotations

import pickle
from typing import Any, Callable

import numpy as np
import pytest

import mycel
from mycel import exceptions


def test_hierarchy() -> None:
    for name in exceptions.__all__:
        cls = getattr(mycel, name)
        assert issubclass(cls, mycel.MycelError) and cls is getattr(exceptions, name)
        assert cls.__doc__
    assert issubclass(mycel.ShapeError, ValueError) and issubclass(mycel.DtypeError, TypeError)
    assert issubclass(mycel.BackendUnavailable, mycel.KernelError)
    e = mycel.ShapeError("x: bad", "shape_mismatch")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is mycel.ShapeError and again.code == "shape_mismatch" and str(again) == "x: bad"


X = np.ones((2, 64), dtype=np.float32)
W = mycel.quantize_q8_0(np.ones((3, 64), dtype=np.float32))
Q = np.ones((2, 3, 64), dtype=np.float32)
KV = np.ones((1, 5, 64), dtype=np.float32)

# (call, expected class, expected code or None, text the message must contain)
CASES: list[tuple[str, Callable[[], Any], type[BaseException], str | None, str]] = [
    ("matmul f64", lambda: mycel.matmul(X.astype(np.float64), W), mycel.DtypeError, "dtype_mismatch", "x"),
    ("matmul list", lambda: mycel.matmul([[1.0] * 64], W), mycel.DtypeError, "dtype_mismatch", "x"),
    ("matmul strided", lambda: mycel.matmul(np.ones((2, 128), np.float32)[:, ::2], W), mycel.ShapeError, "not_contiguous", "x"),
    ("matmul 3-d", lambda: mycel.matmul(np.ones((1, 2, 64), np.float32), W), mycel.ShapeError, "shape_mismatch", "x"),
    ("matmul k", lambda: mycel.matmul(np.ones((2, 32), np.float32), W), mycel.ShapeError, "shape_mismatch", "w"),
    ("matmul w dtype", lambda: mycel.matmul(X, W.astype(np.int8)), mycel.DtypeError, "dtype_mismatch", "w"),
    ("matmul w str", lambda: mycel.matmul(X, "w"), mycel.DtypeError, "dtype_mismatch", "w"),
    ("matmul w truncated", lambda: mycel.matmul(X, W.tobytes()[:-1]), mycel.ShapeError, None, "w"),
    ("matmul nan", lambda: mycel.matmul(np.full((1, 64), np.nan, np.float32), W), mycel.NonFiniteError, "non_finite", ""),
    ("matmul format", lambda: mycel.matmul(X, W, "q5_0"), mycel.ArgumentError, "invalid_argument", "format"),
    ("matmul backend", lambda: mycel.matmul(X, W, backend="tpu"), mycel.ArgumentError, "invalid_argument", "backend"),
    ("matmul cuda", lambda: mycel.matmul(X, W, backend="cuda:99"), mycel.BackendUnavailable, None, "cuda"),
    ("quantize k", lambda: mycel.quantize_q8_0(np.ones((2, 33), np.float32)), mycel.ShapeError, "shape_mismatch", "x"),
    ("quantize 0-d", lambda: mycel.quantize_q4_0(np.float32(1.0)), mycel.DtypeError, "dtype_mismatch", "x"),
    ("quantize inf", lambda: mycel.quantize_q8_0(np.full(32, np.inf, np.float32)), mycel.NonFiniteError, "non_finite", ""),
    ("dequantize rows", lambda: mycel.dequantize(np.zeros((2, 35), np.uint8), "q8_0"), mycel.ShapeError, "shape_mismatch", "blocks"),
    ("dequantize k", lambda: mycel.dequantize(W, "q8_0", k=32), mycel.ShapeError, "shape_mismatch", "blocks"),
    ("dequantize empty", lambda: mycel.dequantize(b"", "q4_0"), mycel.ShapeError, "shape_mismatch", "blocks"),
    ("attention q dtype", lambda: mycel.attention(Q.astype(np.int32), KV, KV), mycel.DtypeError, "dtype_mismatch", "q"),
    ("attention k rank", lambda: mycel.attention(Q, KV[0], KV), mycel.ShapeError, "shape_mismatch", "k"),
    ("attention v shape", lambda: mycel.attention(Q, KV, np.ones((1, 4, 64), np.float32)), mycel.ShapeError, "shape_mismatch", "v"),
    ("attention head dim", lambda: mycel.attention(Q, np.ones((1, 5, 32), np.float32), np.ones((1, 5, 32), np.float32)), mycel.ShapeError, "shape_mismatch", "k"),
    ("attention d 96", lambda: mycel.attention(np.ones((1, 1, 96), np.float32), np.ones((1, 1, 96), np.float32), np.ones((1, 1, 96), np.float32)), mycel.ShapeError, "unsupported_head_dim", "96"),
    ("attention heads", lambda: mycel.attention(np.ones((3, 3, 64), np.float32), np.ones((2, 5, 64), np.float32), np.ones((2, 5, 64), np.float32)), mycel.ShapeError, "head_config", ""),
    ("attention causal", lambda: mycel.attention(np.ones((1, 6, 64), np.float32), KV, KV, causal=True), mycel.ShapeError, "shape_mismatch", "causal"),
    ("attention scale", lambda: mycel.attention(Q, KV, KV, scale=float("nan")), mycel.ArgumentError, "invalid_scale", ""),
    ("attention mode", lambda: mycel.attention(Q, KV, KV, mode="exact"), mycel.ArgumentError, "invalid_argument", "mode"),
    ("attention strided", lambda: mycel.attention(Q, np.ones((1, 10, 64), np.float32)[:, ::2], KV), mycel.ShapeError, "not_contiguous", "k"),
    ("task kernel", lambda: mycel.TaskSpec("conv"), mycel.ArgumentError, "invalid_argument", "kernel"),
    ("task missing m", lambda: mycel.TaskSpec("matmul-q8_0", n=1, k=32), mycel.ArgumentError, "invalid_argument", "m"),
    ("task k", lambda: mycel.TaskSpec("matmul-q8_0", m=1, n=1, k=33), mycel.TaskError, "task.k_not_block_aligned", ""),
    ("task zero", lambda: mycel.TaskSpec("matmul-q4_0", m=0, n=1, k=32), mycel.TaskError, "task.zero_dimension", ""),
    ("task network", lambda: mycel.TaskSpec("matmul-q8_0", m=1, n=1, k=32, network=b"\0" * 31), mycel.ArgumentError, "invalid_argument", "network"),
    ("task dtype", lambda: mycel.TaskSpec("attention", n_heads=1, n_kv_heads=1, q_len=1, kv_len=1, head_dim=64, dtype="f64"), mycel.ArgumentError, "invalid_argument", "dtype"),
    ("task head_dim", lambda: mycel.TaskSpec("attention", n_heads=1, n_kv_heads=1, q_len=1, kv_len=1, head_dim=96), mycel.TaskError, "task.unsupported_head_dim", ""),
    ("execute task type", lambda: mycel.execute_task(42), mycel.DtypeError, "dtype_mismatch", "task"),  # type: ignore[arg-type]
    ("execute bad bytes", lambda: mycel.execute_task(b"\x01\x01\x00"), mycel.DecodeError, None, ""),
    ("receipt label", lambda: mycel.WorkReceipt(network=bytes(32), subnet=0, epoch=0, task_digest=bytes(32), assigner=bytes(32), miner=bytes(32), output_commitment=bytes(32), output_tile_root=bytes(32), compute_units=1, backend="\n"), mycel.ReceiptError, "receipt.bad_backend_label", ""),
    ("receipt times", lambda: mycel.WorkReceipt(network=bytes(32), subnet=0, epoch=0, task_digest=bytes(32), assigner=bytes(32), miner=bytes(32), output_commitment=bytes(32), output_tile_root=bytes(32), compute_units=1, started_at_ms=2, finished_at_ms=1), mycel.ReceiptError, "receipt.times_reversed", ""),
    ("receipt short id", lambda: mycel.WorkReceipt(network=bytes(32), subnet=0, epoch=0, task_digest=bytes(33), assigner=bytes(32), miner=bytes(32), output_commitment=bytes(32), output_tile_root=bytes(32), compute_units=1), mycel.ArgumentError, "invalid_argument", "task_digest"),
    ("verdict outcome", lambda: mycel.Verdict(validator=bytes(32), receipt_id=bytes(32), outcome="maybe"), mycel.ArgumentError, "invalid_argument", "outcome"),
    ("proof path", lambda: mycel.InclusionProof(index=0, tree_size=1, path=[b"x"]), mycel.ArgumentError, "invalid_argument", "path"),
    ("weights seed", lambda: mycel.generate_weights(b"", "q8_0", 1, 32), mycel.ArgumentError, "invalid_argument", "seed"),
    ("weights k", lambda: mycel.generate_weights(bytes(32), "q8_0", 1, 31), mycel.ShapeError, "shape_mismatch", "k"),
    ("commitment dtype", lambda: mycel.tensor_commitment(b"", "f64", (1,)), mycel.ArgumentError, "invalid_argument", "dtype"),
    ("decode empty", lambda: mycel.TaskSpec.decode(b""), mycel.DecodeError, "decode.missing_header", ""),
    ("decode version", lambda: mycel.SignedVerdict.decode(b"\x02\x03"), mycel.DecodeError, "decode.unsupported_version", ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_typed_error(case: tuple[str, Callable[[], Any], type[BaseException], str | None, str]) -> None:
    _, call, cls, code, text = case
    with pytest.raises(cls) as e:
        call()
    assert isinstance(e.value, mycel.MycelError)
    if code is not None:
        assert e.value.code == code, str(e.value)
    assert text in str(e.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mycel.verify_signature("pk", b"", b""),  # type: ignore[arg-type]
        lambda: mycel.Keypair.from_seed(None),  # type: ignore[arg-type]
        lambda: mycel.verify_batch([b"not a receipt"]),  # type: ignore[list-item]
        lambda: mycel.merkle_root([1, 2]),  # type: ignore[list-item]
        lambda: mycel.TaskSpec("matmul-q8_0", m=-1, n=1, k=32),
        lambda: mycel.TaskSpec("matmul-q8_0", m=2**40, n=1, k=32),
    ],
)
def test_wrong_python_types_raise_type_or_overflow_errors(call: Callable[[], Any]) -> None:
    # Argument conversion failures of scalar and bytes parameters come from the binding layer
    # as TypeError / OverflowError naming the argument (DtypeError is itself a TypeError).
    with pytest.raises((TypeError, OverflowError)):
        call()


def test_garbage_never_crashes() -> None:
    rng = np.random.default_rng(3)
    funcs: list[Callable[[Any], Any]] = [
        mycel.TaskSpec.decode, mycel.SignedReceipt.decode, mycel.SignedVerdict.decode,
        mycel.ReceiptBatch.decode, mycel.inspect, mycel.execute_task,
        lambda b: mycel.dequantize(b, "q4_0"), lambda b: mycel.dequantize(b, "q8_0"),
    ]
    raised = 0
    for i in range(600):
        blob = rng.integers(0, 256, size=int(rng.integers(0, 120)), dtype=np.uint8).tobytes()
        if i % 3 == 0 and blob:
            blob = b"\x01" + bytes([1 + i % 4]) + blob
        for f in funcs:
            try:
                f(blob)
            except mycel.MycelError:
                raised += 1
    assert raised > 0

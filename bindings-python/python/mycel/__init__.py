"""mycel: sign, verify and re-execute decentralised-AI work from Python.

Everything here wraps the Rust crates ``mycel-protocol``, ``mycel-kernels`` and ``mycel-node`` (the native
module ``mycel._mycel``): the same bytes, verdicts and commitments as the ``mycel`` CLI on
every host.

* Signatures: :func:`verify_signature`, :func:`verify_signatures`, :class:`Keypair`.
* Messages: :class:`TaskSpec`, :class:`WorkReceipt`, :class:`SignedReceipt`,
  :class:`Verdict`, :class:`SignedVerdict`, :class:`ReceiptBatch`, :func:`verify_batch`,
  :func:`inspect`.
* Commitments: :func:`merkle_root`, :class:`MerkleTree`, :class:`InclusionProof`,
  :func:`tensor_commitment`.
* Emission: :func:`yuma_epoch` on numpy arrays.
* Kernels: :func:`quantize_q8_0`, :func:`quantize_q4_0`, :func:`dequantize`, :func:`matmul`,
  :func:`attention`, :func:`execute_task` (GIL released while they run).
* Roles: :class:`Miner`, :class:`Validator` (each epoch step a method), :class:`WeightPool`,
  :class:`FraudProof`, :class:`TileProof` (one opened output tile, recomputed alone),
  :func:`simulate` (the subnet simulation of ``mycel simulate``).
* Errors: :class:`MycelError` and its subclasses (:mod:`mycel.exceptions`), each with ``code``.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _mycel
from ._emission import EpochResult, yuma_epoch
from ._mycel import (
    CommittedBatch,
    ConfirmedFraud,
    ConfirmedTile,
    CreditLedger,
    FraudProof,
    InclusionProof,
    IssuedTasks,
    Judgement,
    Keypair,
    MerkleTree,
    Miner,
    ReceiptBatch,
    SignedReceipt,
    SignedVerdict,
    Simulation,
    TaskResult,
    TaskSpec,
    TileProof,
    Validator,
    Verdict,
    WeightPool,
    WorkReceipt,
    attention,
    dequantize,
    execute_task,
    generate_weights,
    inspect,
    leaf_hash,
    matmul,
    max_upscale,
    merkle_root,
    new_task,
    node_hash,
    resolve_backend,
    sample_receipts,
    sample_seed,
    score,
    signature_error,
    simulate,
    validate_hotkey,
    verify_batch,
    verify_reveal,
    verify_signature,
    verify_signatures,
    weights_commitment,
    weights_digest,
    weights_from_scores,
    yuma_epoch_json,
)
from .exceptions import (
    ArgumentError,
    BackendUnavailable,
    CommitmentError,
    CudaError,
    DecodeError,
    DtypeError,
    EmissionError,
    EncodeError,
    FraudError,
    KernelError,
    KeyMaterialError,
    MerkleError,
    MycelError,
    NonFiniteError,
    ReceiptError,
    ScenarioError,
    ScoringError,
    ShapeError,
    SignatureError,
    StateError,
    TaskError,
    UnsupportedKernel,
    WeightsDigestError,
)

__version__: str = _mycel.__version__


def quantize_q8_0(x: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Quantizes float32 ``x[..., K]`` (K a multiple of 32) to GGML Q8_0 block bytes
    ``uint8[..., K/32*34]``, with GGML's reference quantizer."""
    return _mycel.quantize(x, "q8_0")


def quantize_q4_0(x: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Quantizes float32 ``x[..., K]`` (K a multiple of 32) to GGML Q4_0 block bytes
    ``uint8[..., K/32*18]``, with GGML's reference quantizer."""
    return _mycel.quantize(x, "q4_0")


def quantize(x: npt.NDArray[np.float32], format: str) -> npt.NDArray[np.uint8]:
    """Quantizes float32 ``x[..., K]`` to ``format`` (``"q8_0"`` or ``"q4_0"``) block bytes."""
    return _mycel.quantize(x, format)


def tensor_commitment(
    tensor: Union[npt.NDArray[Any], bytes],
    dtype: Optional[str] = None,
    shape: Optional[tuple[int, ...]] = None,
) -> bytes:
    """The tensor commitment (spec/commitments.md) of a float32/float16/bfloat16 numpy array
    (its own shape), or of raw little-endian ``bytes`` given with ``dtype`` (``f32``, ``f16``,
    ``bf16``, ``q8_0``, ``q4_0``) and ``shape``."""
    if isinstance(tensor, (bytes, bytearray, memoryview)):
        if dtype is None or shape is None:
            raise ArgumentError(
                "dtype, shape: required when the tensor is given as bytes", "invalid_argument"
            )
        return _mycel.tensor_commitment_bytes(dtype, list(shape), bytes(tensor))
    if dtype is not None or shape is not None:
        raise ArgumentError(
            "dtype, shape: only for bytes; an array carries its own", "invalid_argument"
        )
    return _mycel.tensor_commitment_array(tensor)


__all__ = [
    "__version__",
    # signatures and keys
    "Keypair",
    "verify_signature",
    "verify_signatures",
    "signature_error",
    "validate_hotkey",
    # messages
    "TaskSpec",
    "WorkReceipt",
    "SignedReceipt",
    "Verdict",
    "SignedVerdict",
    "ReceiptBatch",
    "verify_batch",
    "inspect",
    # commitments
    "leaf_hash",
    "node_hash",
    "merkle_root",
    "MerkleTree",
    "InclusionProof",
    "tensor_commitment",
    # scoring, sampling, crediting
    "score",
    "weights_from_scores",
    "weights_commitment",
    "verify_reveal",
    "sample_seed",
    "sample_receipts",
    "CreditLedger",
    # emission
    "max_upscale",
    "yuma_epoch",
    "yuma_epoch_json",
    "EpochResult",
    # kernels
    "resolve_backend",
    "quantize",
    "quantize_q8_0",
    "quantize_q4_0",
    "dequantize",
    "matmul",
    "attention",
    "execute_task",
    "new_task",
    "TaskResult",
    "generate_weights",
    "weights_digest",
    # roles
    "Miner",
    "Validator",
    "WeightPool",
    "IssuedTasks",
    "CommittedBatch",
    "Judgement",
    "FraudProof",
    "ConfirmedFraud",
    "TileProof",
    "ConfirmedTile",
    "simulate",
    "Simulation",
    # errors
    "MycelError",
    "DecodeError",
    "EncodeError",
    "SignatureError",
    "TaskError",
    "ReceiptError",
    "CommitmentError",
    "MerkleError",
    "KeyMaterialError",
    "EmissionError",
    "ScoringError",
    "KernelError",
    "ShapeError",
    "DtypeError",
    "NonFiniteError",
    "ArgumentError",
    "BackendUnavailable",
    "CudaError",
    "UnsupportedKernel",
    "WeightsDigestError",
    "FraudError",
    "ScenarioError",
    "StateError",
]

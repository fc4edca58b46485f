"""Type stubs of the native module ``mycel._mycel`` (use the public names of ``mycel``)."""

from os import PathLike
from typing import Any, Optional, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "CommittedBatch",
    "ConfirmedFraud",
    "ConfirmedTile",
    "CreditLedger",
    "FraudProof",
    "InclusionProof",
    "IssuedTasks",
    "Judgement",
    "Keypair",
    "MerkleTree",
    "Miner",
    "ReceiptBatch",
    "SignedReceipt",
    "SignedVerdict",
    "Simulation",
    "TaskResult",
    "TaskSpec",
    "TileProof",
    "Validator",
    "Verdict",
    "WeightPool",
    "WorkReceipt",
    "__version__",
    "_time_rust",
    "_yuma_epoch",
    "attention",
    "dequantize",
    "execute_task",
    "generate_weights",
    "inspect",
    "leaf_hash",
    "matmul",
    "max_upscale",
    "merkle_root",
    "new_task",
    "node_hash",
    "quantize",
    "quantize_q4",
    "quantize_q8",
    "resolve_backend",
    "sample_receipts",
    "sample_seed",
    "score",
    "signature_error",
    "simulate",
    "tensor_commitment_array",
    "tensor_commitment_bytes",
    "validate_hotkey",
    "verify_batch",
    "verify_signature",
    "verify_reveal",
    "verify_signatures",
    "weights_commitment",
    "weights_digest",
    "weights_from_scores",
    "yuma_epoch_json",
]

_FloatArray = Union[npt.NDArray[np.float32], npt.NDArray[np.float16], npt.NDArray[Any]]
_ByteArray = Union[bytes, npt.NDArray[np.uint8]]

# Keys and the raw signature rule.

@final
class Keypair:
    """An ed25519 signing key (RFC 8032 32-byte seed)."""

    @staticmethod
    def generate() -> Keypair: ...
    @staticmethod
    def from_seed(seed: bytes) -> Keypair: ...
    @property
    def hotkey(self) -> bytes: ...
    def seed(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...

def verify_signature(pk: bytes, msg: bytes, sig: bytes) -> bool: ...
def verify_signatures(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]: ...
def signature_error(pk: bytes, msg: bytes, sig: bytes) -> Optional[str]: ...
def validate_hotkey(hotkey: bytes) -> None: ...

# Messages.

@final
class TaskSpec:
    """One unit of work anyone can re-execute bit for bit."""

    def __new__(
        cls,
        kernel: str,
        *,
        network: Optional[bytes] = None,
        subnet: int = 0,
        epoch: int = 0,
        weights_digest: Optional[bytes] = None,
        input_seed: Optional[bytes] = None,
        m: Optional[int] = None,
        n: Optional[int] = None,
        k: Optional[int] = None,
        n_heads: Optional[int] = None,
        n_kv_heads: Optional[int] = None,
        q_len: Optional[int] = None,
        kv_len: Optional[int] = None,
        head_dim: Optional[int] = None,
        causal: bool = False,
        dtype: str = "f32",
        mode: str = "verifiable",
        kernel_version: int = 1,
    ) -> TaskSpec: ...
    @staticmethod
    def decode(data: bytes) -> TaskSpec: ...
    def encode(self) -> bytes: ...
    @property
    def digest(self) -> bytes: ...
    @property
    def id(self) -> bytes: ...
    @property
    def compute_units(self) -> int: ...
    @property
    def network(self) -> bytes: ...
    @property
    def subnet(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def kernel(self) -> str: ...
    @property
    def kernel_version(self) -> int: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def weights_digest(self) -> bytes: ...
    @property
    def input_seed(self) -> bytes: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class WorkReceipt:
    """A miner's claim to have executed one task."""

    def __new__(
        cls,
        *,
        network: bytes,
        subnet: int,
        epoch: int,
        task_digest: bytes,
        assigner: bytes,
        miner: bytes,
        output_commitment: bytes,
        output_tile_root: bytes,
        compute_units: int,
        started_at_ms: int = 0,
        finished_at_ms: int = 0,
        nonce: int = 0,
        backend: str = "cpu",
    ) -> WorkReceipt: ...
    @staticmethod
    def for_task(
        task: TaskSpec,
        *,
        miner: bytes,
        assigner: bytes,
        output_commitment: bytes,
        output_tile_root: bytes,
        started_at_ms: int = 0,
        finished_at_ms: int = 0,
        nonce: int = 0,
        backend: str = "cpu",
    ) -> WorkReceipt: ...
    def sign(self, keypair: Keypair) -> SignedReceipt: ...
    def signed_bytes(self) -> bytes: ...
    def check_task(self, task: TaskSpec) -> None: ...
    @property
    def network(self) -> bytes: ...
    @property
    def subnet(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def task_digest(self) -> bytes: ...
    @property
    def assigner(self) -> bytes: ...
    @property
    def miner(self) -> bytes: ...
    @property
    def output_commitment(self) -> bytes: ...
    @property
    def output_tile_root(self) -> bytes: ...
    @property
    def compute_units(self) -> int: ...
    @property
    def started_at_ms(self) -> int: ...
    @property
    def finished_at_ms(self) -> int: ...
    @property
    def nonce(self) -> int: ...
    @property
    def backend(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SignedReceipt:
    """A work receipt with the miner's signature."""

    @staticmethod
    def decode(data: bytes) -> SignedReceipt: ...
    def encode(self) -> bytes: ...
    def verify(self) -> None: ...
    def is_valid(self) -> bool: ...
    @property
    def id(self) -> bytes: ...
    @property
    def body(self) -> WorkReceipt: ...
    @property
    def signature(self) -> bytes: ...
    @property
    def signer(self) -> bytes: ...
    def check_task(self, task: TaskSpec) -> None: ...
    def with_signature(self, signature: bytes) -> SignedReceipt: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Verdict:
    """A validator's answer to one receipt."""

    def __new__(
        cls,
        *,
        validator: bytes,
        receipt_id: bytes,
        outcome: str,
        recomputed_commitment: Optional[bytes] = None,
    ) -> Verdict: ...
    def sign(self, keypair: Keypair) -> SignedVerdict: ...
    @property
    def validator(self) -> bytes: ...
    @property
    def receipt_id(self) -> bytes: ...
    @property
    def outcome(self) -> str: ...
    @property
    def recomputed_commitment(self) -> Optional[bytes]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SignedVerdict:
    """A verdict with the validator's signature."""

    @staticmethod
    def decode(data: bytes) -> SignedVerdict: ...
    def encode(self) -> bytes: ...
    def verify(self) -> None: ...
    def is_valid(self) -> bool: ...
    @property
    def id(self) -> bytes: ...
    @property
    def body(self) -> Verdict: ...
    @property
    def signature(self) -> bytes: ...
    def check_receipt(self, receipt: SignedReceipt) -> None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ReceiptBatch:
    """Signed receipts of one network, subnet and epoch under one Merkle root."""

    def __new__(
        cls, *, network: bytes, subnet: int, epoch: int, receipts: Sequence[SignedReceipt]
    ) -> ReceiptBatch: ...
    @staticmethod
    def decode(data: bytes) -> ReceiptBatch: ...
    def encode(self) -> bytes: ...
    @property
    def receipts(self) -> list[SignedReceipt]: ...
    @property
    def root(self) -> bytes: ...
    def proof(self, index: int) -> InclusionProof: ...
    def __len__(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

def verify_batch(receipts: Sequence[SignedReceipt]) -> list[tuple[int, str]]: ...
def inspect(data: bytes) -> dict[str, Any]: ...

# Commitments.

def leaf_hash(data: bytes) -> bytes: ...
def node_hash(left: bytes, right: bytes) -> bytes: ...
def merkle_root(leaves: Sequence[bytes]) -> bytes: ...

@final
class MerkleTree:
    """An RFC 6962 Merkle tree over leaf data."""

    def __new__(cls, leaves: Sequence[bytes]) -> MerkleTree: ...
    @property
    def root(self) -> bytes: ...
    def proof(self, index: int) -> InclusionProof: ...
    def __len__(self) -> int: ...

@final
class InclusionProof:
    """An RFC 6962 inclusion proof."""

    def __new__(cls, *, index: int, tree_size: int, path: Sequence[bytes]) -> InclusionProof: ...
    @property
    def index(self) -> int: ...
    @property
    def tree_size(self) -> int: ...
    @property
    def path(self) -> list[bytes]: ...
    def verify(self, leaf_data: bytes, root: bytes) -> None: ...
    def root_for(self, leaf_data: bytes) -> bytes: ...
    def __eq__(self, value: object, /) -> bool: ...

def tensor_commitment_array(tensor: _FloatArray) -> bytes: ...
def tensor_commitment_bytes(dtype: str, shape: Sequence[int], data: bytes) -> bytes: ...

# Emission.

def _yuma_epoch(inputs: dict[str, Any]) -> dict[str, Any]: ...
def yuma_epoch_json(input_json: str) -> dict[str, Any]: ...

# Kernels.

def resolve_backend(backend: str = "auto") -> str: ...
def quantize(x: npt.NDArray[np.float32], format: str) -> npt.NDArray[np.uint8]: ...
def quantize_q8(x: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]: ...
def quantize_q4(x: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]: ...
def dequantize(
    blocks: _ByteArray, format: str, k: Optional[int] = None
) -> npt.NDArray[np.float32]: ...
def matmul(
    x: npt.NDArray[np.float32],
    w: _ByteArray,
    format: str = "q8_0",
    *,
    backend: str = "auto",
    threads: int = 0,
) -> npt.NDArray[np.float32]: ...
def attention(
    q: _FloatArray,
    k: _FloatArray,
    v: _FloatArray,
    *,
    causal: bool = True,
    mode: str = "verifiable",
    scale: Optional[float] = None,
    backend: str = "auto",
    threads: int = 0,
) -> npt.NDArray[np.float32]: ...

@final
class TaskResult:
    """The output commitment, tile root and output of one executed task."""

    @property
    def commitment(self) -> bytes: ...
    @property
    def tile_root(self) -> bytes: ...
    @property
    def output(self) -> npt.NDArray[np.float32]: ...

def execute_task(
    task: Union[TaskSpec, bytes],
    backend: str = "auto",
    *,
    weights: Optional[_ByteArray] = None,
    weights_seed: Optional[bytes] = None,
    threads: int = 0,
) -> TaskResult: ...
def generate_weights(seed: bytes, format: str, n: int, k: int) -> npt.NDArray[np.uint8]: ...
def weights_digest(weights: _ByteArray) -> bytes: ...

# Roles (mycel-node).

@final
class Miner:
    """A miner: executes tasks and signs receipts for them."""

    def __new__(cls, keypair: Keypair) -> Miner: ...
    @property
    def hotkey(self) -> bytes: ...
    def run(
        self,
        task: TaskSpec,
        weights: Optional[_ByteArray] = None,
        backend: str = "auto",
        *,
        assigner: bytes,
        weights_seed: Optional[bytes] = None,
        nonce: int = 0,
        started_at_ms: int = 0,
        finished_at_ms: int = 0,
        label: str = "cpu",
        threads: int = 0,
    ) -> SignedReceipt: ...
    def sign(
        self,
        task: TaskSpec,
        commitment: bytes,
        tile_root: bytes,
        *,
        assigner: bytes,
        nonce: int = 0,
        started_at_ms: int = 0,
        finished_at_ms: int = 0,
        label: str = "cpu",
    ) -> SignedReceipt: ...

@final
class WeightPool:
    """The subnet's public weight matrices for a run seed and a task mix."""

    def __new__(cls, seed: int, tasks: Optional[dict[str, Any]] = None) -> WeightPool: ...
    def weights_for(self, task: TaskSpec) -> Optional[bytes]: ...
    def source_for(self, task: TaskSpec) -> Optional[dict[str, Any]]: ...
    @property
    def tasks(self) -> dict[str, Any]: ...

@final
class CommittedBatch:
    """A receipt batch as a validator committed it."""

    @property
    def root(self) -> bytes: ...
    @property
    def ids(self) -> list[bytes]: ...
    @property
    def batch(self) -> ReceiptBatch: ...
    def encode(self) -> bytes: ...
    def proof(self, index: int) -> InclusionProof: ...
    def __len__(self) -> int: ...

@final
class Validator:
    """A validator: each step of an epoch is a method."""

    def __new__(cls, keypair: Keypair, ema_alpha: Optional[float] = None) -> Validator: ...
    @staticmethod
    def from_state(keypair: Keypair, state: str) -> Validator: ...
    def state(self) -> str: ...
    @property
    def hotkey(self) -> bytes: ...
    def issue_task(
        self,
        pool: WeightPool,
        *,
        network: bytes,
        subnet: int,
        epoch: int,
        beacon: bytes,
        miner: bytes,
        index: int,
    ) -> TaskSpec: ...
    def commit_batch(
        self, receipts: Sequence[SignedReceipt], *, network: bytes, subnet: int, epoch: int
    ) -> CommittedBatch: ...
    def verify_batch(
        self, batch: CommittedBatch, seed: Optional[bytes] = None
    ) -> list[tuple[int, str]]: ...
    def sample_seed(self, beacon: bytes, batch: CommittedBatch, secret: bytes) -> bytes: ...
    @staticmethod
    def secret_commitment(secret: bytes) -> bytes: ...
    @staticmethod
    def check_secret(commitment: bytes, secret: bytes) -> bool: ...
    @staticmethod
    def sample(
        seed: bytes, batch: CommittedBatch, indices: Sequence[int], rate: float, min: int = 0
    ) -> list[int]: ...
    def reexecute(
        self,
        task: TaskSpec,
        weights: Optional[_ByteArray] = None,
        backend: str = "auto",
        *,
        weights_seed: Optional[bytes] = None,
        threads: int = 0,
    ) -> tuple[bytes, bytes]: ...
    def judge(self, receipt: SignedReceipt, truth: tuple[bytes, bytes]) -> Judgement: ...
    def unchecked(self, receipt: SignedReceipt) -> SignedVerdict: ...
    def fraud_proof(
        self,
        batch: CommittedBatch,
        index: int,
        task: TaskSpec,
        verdict: SignedVerdict,
        weights_source: Optional[dict[str, Any]] = None,
        note: str = "",
    ) -> FraudProof: ...
    def ban(self, miner: bytes, until: int) -> None: ...
    def is_banned(self, miner: bytes, epoch: int) -> bool: ...
    def update_scores(self, scores: Sequence[tuple[int, int]]) -> None: ...
    def weights(self, keep: Optional[Sequence[int]] = None) -> list[tuple[int, int]]: ...
    def commit_weights(
        self,
        network: bytes,
        subnet: int,
        epoch: int,
        weights: Sequence[tuple[int, int]],
        salt: bytes,
    ) -> bytes: ...
    def due_reveals(self, epoch: int, delay: int) -> list[dict[str, Any]]: ...

@final
class Judgement:
    """What re-executing a receipt found."""

    @property
    def outcome(self) -> str: ...
    @property
    def is_match(self) -> bool: ...
    @property
    def verdict(self) -> Optional[SignedVerdict]: ...
    @property
    def recomputed_tile_root(self) -> Optional[bytes]: ...

@final
class IssuedTasks:
    """The tasks a validator issued in one epoch."""

    def __new__(cls, *, network: bytes, subnet: int, epoch: int) -> IssuedTasks: ...
    def issue(self, miner: bytes, task: TaskSpec, issued_ms: int = 0) -> bytes: ...
    def admit(self, me: bytes, receipt: SignedReceipt) -> Optional[str]: ...
    def credited(self, me: bytes) -> list[bytes]: ...
    def __len__(self) -> int: ...

def new_task(
    kernel: str,
    seed: bytes,
    *,
    m: int = 8,
    n: int = 256,
    k: int = 256,
    heads: int = 4,
    kv_heads: int = 2,
    q_len: int = 16,
    kv_len: int = 256,
    head_dim: int = 64,
    dtype: str = "f32",
    mode: str = "verifiable",
    causal: bool = False,
    network: Optional[bytes] = None,
    subnet: int = 1,
    epoch: int = 0,
) -> TaskSpec: ...

@final
class ConfirmedFraud:
    """What a fraud proof that holds establishes."""

    @property
    def task(self) -> TaskSpec: ...
    @property
    def receipt(self) -> SignedReceipt: ...
    @property
    def verdict(self) -> SignedVerdict: ...
    @property
    def recomputed(self) -> bytes: ...
    @property
    def batch_root(self) -> Optional[bytes]: ...

@final
class FraudProof:
    """A fraud proof (mycel-fraud-proof/v1 JSON)."""

    @staticmethod
    def from_json(text: str) -> FraudProof: ...
    def to_json(self) -> str: ...
    def check(self) -> ConfirmedFraud: ...
    @property
    def note(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class ConfirmedTile:
    """What a tile fraud proof that holds establishes."""

    @property
    def task(self) -> TaskSpec: ...
    @property
    def receipt(self) -> SignedReceipt: ...
    @property
    def tile(self) -> int: ...
    @property
    def rect(self) -> tuple[int, int, int, int]: ...
    @property
    def claimed_leaf(self) -> bytes: ...
    @property
    def recomputed_leaf(self) -> bytes: ...
    @property
    def batch_root(self) -> Optional[bytes]: ...

@final
class TileProof:
    """A tile fraud proof (mycel-fraud-proof/v2 JSON)."""

    @staticmethod
    def from_json(text: str) -> TileProof: ...
    def to_json(self) -> str: ...
    def check(self) -> ConfirmedTile: ...
    @property
    def note(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Simulation:
    """The result of simulate: the epoch log and the files a run writes."""

    @property
    def log(self) -> dict[str, Any]: ...
    @property
    def log_json(self) -> str: ...
    @property
    def fraud_proofs(self) -> list[tuple[str, FraudProof]]: ...
    @property
    def receipt_batches(self) -> list[tuple[str, bytes]]: ...

def simulate(
    scenario: Union[dict[str, Any], str, PathLike[str], None] = None,
    *,
    seed: Optional[int] = None,
    epochs: Optional[int] = None,
    threads: int = 0,
) -> Simulation: ...

# Scoring, weight normalisation, sampling, crediting.
def score(
    *,
    uid: int,
    verified: int,
    mismatched: int,
    unchecked: int,
    compute_units: int,
    latency_ms: int,
    latency_target_ms: int = 2000,
) -> int: ...
def weights_from_scores(scores: Sequence[tuple[int, int]]) -> list[tuple[int, int]]: ...
def max_upscale(values: Sequence[int]) -> list[int]: ...
def weights_commitment(
    network: bytes,
    hotkey: bytes,
    subnet: int,
    epoch: int,
    weights: Sequence[tuple[int, int]],
    salt: bytes,
) -> bytes: ...
def verify_reveal(commit: dict[str, Any], reveal: dict[str, Any]) -> None: ...
def sample_seed(beacon: bytes, root: bytes, validator: bytes, secret: bytes) -> bytes: ...
def sample_receipts(
    seed: bytes, ids: Sequence[bytes], indices: Sequence[int], rate_ppm: int, min: int = 0
) -> list[int]: ...
@final
class CreditLedger:
    """The receipts a validator has credited (one execution at most once)."""
    def __new__(cls, max_entries: int = ...) -> CreditLedger: ...
    def credit(
        self,
        receipt: SignedReceipt,
        *,
        network: bytes,
        subnet: int,
        epoch: int,
        assigner: bytes,
        miner: bytes,
        task_digest: bytes,
    ) -> None: ...
    def __len__(self) -> int: ...

# Benchmark support (bench/bench.py).

def _time_rust(op: str, iters: int, *args: Any) -> float: ...

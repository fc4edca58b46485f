"""The exception hierarchy of mycel.

Every error raised by the native module is an instance of :class:`MycelError` (or of one of its
subclasses below) and carries ``code``: the stable machine-readable code of the Rust error it
maps (``"decode.trailing_bytes"``, ``"shape_mismatch"``, ...). Match on the class or on
``code``, never on the message, which is for people and may change.
"""

from __future__ import annotations

__all__ = [
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


class MycelError(Exception):
    """Base class of every mycel error; ``code`` is the Rust error's stable code."""

    code: str

    def __init__(self, message: str, code: str = "mycel") -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type[MycelError], tuple[str, str]]:
        return (type(self), (str(self), self.code))


class DecodeError(MycelError, ValueError):
    """Bytes that are not a canonical mycel envelope (codes ``decode.*``)."""


class EncodeError(MycelError):
    """A message that could not be encoded (codes ``encode.*``)."""


class SignatureError(MycelError):
    """A signature or key that fails the verification rule (codes ``signature.*``)."""


class TaskError(MycelError, ValueError):
    """A TaskSpec that breaks a rule (codes ``task.*``)."""


class ReceiptError(MycelError, ValueError):
    """An inconsistent receipt, verdict or batch (codes ``receipt.*``)."""


class CommitmentError(MycelError, ValueError):
    """A tensor commitment that cannot be computed (codes ``commit.*``)."""


class MerkleError(MycelError):
    """A Merkle proof that is malformed or does not verify (codes ``merkle.*``)."""


class KeyMaterialError(MycelError, ValueError):
    """Key material of the wrong length, or no OS randomness (codes ``key.*``)."""


class EmissionError(MycelError, ValueError):
    """A Yuma epoch input that breaks the schema (codes ``emission.*``)."""


class ScoringError(MycelError, ValueError):
    """Scores or a weight reveal that break a rule (codes ``scoring.*``)."""


class KernelError(MycelError):
    """A kernel failure without a more specific class."""


class ShapeError(KernelError, ValueError):
    """Shapes that do not fit, wrong buffer lengths, non-contiguous arrays (``shape_mismatch``,
    ``buffer_length``, ``size_overflow``, ``head_config``, ``unsupported_head_dim``,
    ``not_contiguous``)."""


class DtypeError(KernelError, TypeError):
    """An argument of the wrong type or dtype (``dtype_mismatch``, ``misaligned``)."""


class NonFiniteError(KernelError, ValueError):
    """NaN or an infinity where finite values are required (``non_finite``)."""


class ArgumentError(MycelError, ValueError):
    """An argument value the binding cannot use: an unknown name, a wrong byte length, a
    non-finite scale (``invalid_argument``, ``invalid_scale``)."""


class BackendUnavailable(KernelError):
    """The backend is not compiled in or not present on this machine
    (``backend_unavailable``, ``cuda_no_driver``, ``cuda_no_device``, ...)."""


class CudaError(KernelError):
    """A failure of the CUDA backend itself (``cuda_compile``, ``cuda_driver``, ...)."""


class UnsupportedKernel(KernelError):
    """A task naming a kernel this build cannot execute (``unsupported_kernel``)."""


class WeightsDigestError(KernelError, ValueError):
    """Weights whose SHA-256 differs from the task's weights digest (``weights_digest``)."""


class FraudError(MycelError):
    """A fraud proof that does not hold, naming the first rule that fails (codes ``fraud.*``)."""


class ScenarioError(MycelError, ValueError):
    """A simulation scenario that breaks a rule or cannot be read (``node.scenario``)."""


class StateError(MycelError, ValueError):
    """A saved validator state that cannot be restored (``node.state``)."""

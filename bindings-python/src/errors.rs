//! Error mapping: every Rust error becomes an instance of one class of the hierarchy defined in
//! `python/mycel/exceptions.py` (`MycelError` and its subclasses), carrying the Rust error's
//! stable `code()` string. The class is chosen by matching on the error's variant, never by
//! parsing its message.
//!
//! The classes live in Python (so that `ShapeError` can also be a `ValueError`, `DtypeError` a
//! `TypeError`, ...); this module looks them up by name in `mycel.exceptions`.

use mycel_kernels::error::CudaError;
use mycel_protocol::emission::EmissionError;
use mycel_protocol::scoring::ScoringError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Code of binding-level errors about an argument's value (an unknown backend name, ...).
pub const INVALID_ARGUMENT: &str = "invalid_argument";
/// Code of an array that is not C-contiguous where the binding reads it without copying.
pub const NOT_CONTIGUOUS: &str = "not_contiguous";

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception class `name` of `mycel.exceptions`.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module = MODULE.get_or_try_init(py, || py.import("mycel.exceptions").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// An error of class `name` (a subclass of `mycel.MycelError`) with `code` and `message`.
pub fn error(class_name: &'static str, code: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    let code = code.to_owned();
    Python::attach(|py| match class(py, class_name) {
        Ok(ty) => PyErr::from_type(ty, (message, code)),
        Err(e) => PyRuntimeError::new_err(format!(
            "mycel.exceptions.{class_name} is unavailable ({e}); original error [{code}]: {message}"
        )),
    })
}

/// A wrong argument value (`ArgumentError`, also a `ValueError`).
pub fn argument(message: impl Into<String>) -> PyErr {
    error("ArgumentError", INVALID_ARGUMENT, message)
}

/// A wrong dtype for argument `name` (`DtypeError`, also a `TypeError`).
pub fn dtype(name: &str, expected: &str, actual: &str) -> PyErr {
    error(
        "DtypeError",
        "dtype_mismatch",
        format!("{name}: expected {expected}, got {actual}"),
    )
}

/// A wrong shape for argument `name` (`ShapeError`, also a `ValueError`).
pub fn shape(name: &str, message: impl core::fmt::Display) -> PyErr {
    error("ShapeError", "shape_mismatch", format!("{name}: {message}"))
}

/// A non-contiguous array passed as `name` (`ShapeError`).
pub fn not_contiguous(name: &str) -> PyErr {
    error(
        "ShapeError",
        NOT_CONTIGUOUS,
        format!("{name}: the array is not C-contiguous (use numpy.ascontiguousarray)"),
    )
}

/// The class of a protocol error, by its area.
fn protocol_class(e: &mycel_protocol::Error) -> &'static str {
    use mycel_protocol::Error as E;
    match e {
        E::Decode(_) => "DecodeError",
        E::Encode(_) => "EncodeError",
        E::Signature(_) => "SignatureError",
        E::Task(_) => "TaskError",
        E::Receipt(_) => "ReceiptError",
        E::Commit(_) => "CommitmentError",
        E::Merkle(_) => "MerkleError",
        E::Key(_) => "KeyMaterialError",
        // The enum is non_exhaustive: an area added later maps to the base class until it
        // gets its own (tests/test_errors.py lists every class a code may map to).
        _ => "MycelError",
    }
}

/// Converts a protocol error.
pub fn protocol(e: mycel_protocol::Error) -> PyErr {
    error(protocol_class(&e), e.code(), e.to_string())
}

/// Converts a signature error of the bare rule.
pub fn signature(e: mycel_protocol::error::SignatureError) -> PyErr {
    error("SignatureError", e.code(), e.to_string())
}

/// Converts an emission (Yuma epoch input) error.
pub fn emission(e: EmissionError) -> PyErr {
    error("EmissionError", e.code(), e.to_string())
}

/// Converts a scoring error.
pub fn scoring(e: ScoringError) -> PyErr {
    error("ScoringError", e.code(), e.to_string())
}

/// The class of a CUDA error (a missing driver or device is already `BackendUnavailable`
/// in the kernels crate): a missing capability or NVRTC means the backend
/// is unavailable here; anything else is a failure of the backend itself.
fn cuda_class(e: &CudaError) -> &'static str {
    match e {
        CudaError::UnsupportedDevice { .. } | CudaError::NvrtcUnavailable => "BackendUnavailable",
        _ => "CudaError",
    }
}

/// Converts a kernels error.
pub fn kernel(e: mycel_kernels::Error) -> PyErr {
    use mycel_kernels::Error as E;
    let class = match &e {
        E::BackendUnavailable(_) => "BackendUnavailable",
        E::ShapeMismatch(_)
        | E::BufferLength { .. }
        | E::SizeOverflow(_)
        | E::UnsupportedHeadDim(_)
        | E::HeadConfig { .. } => "ShapeError",
        E::Misaligned { .. } | E::DtypeMismatch { .. } => "DtypeError",
        E::NonFinite { .. } => "NonFiniteError",
        E::InvalidScale => "ArgumentError",
        E::UnsupportedKernel(_) => "UnsupportedKernel",
        E::WeightsDigest { .. } => "WeightsDigestError",
        E::Cuda(c) => cuda_class(c),
        E::Protocol(text) => {
            // The kernels crate keeps a protocol error as "<protocol code>: <message>" so that
            // the stable code survives; the code's area names the class.
            let code = text.split_once(": ").map_or(text.as_str(), |(c, _)| c);
            let class = match code.split_once('.').map(|(area, _)| area) {
                Some("decode") => "DecodeError",
                Some("encode") => "EncodeError",
                Some("signature") => "SignatureError",
                Some("task") => "TaskError",
                Some("receipt") => "ReceiptError",
                Some("commit") => "CommitmentError",
                Some("merkle") => "MerkleError",
                Some("key") => "KeyMaterialError",
                _ => "MycelError",
            };
            return error(class, code, e.to_string());
        }
        _ => "KernelError",
    };
    error(class, e.code(), e.to_string())
}

/// Converts a fraud-proof error (codes `fraud.*`).
pub fn fraud(e: mycel_node::FraudError) -> PyErr {
    error("FraudError", e.code(), e.to_string())
}

/// Converts a mycel-node error: wrapped protocol, scoring, emission, kernel and fraud errors
/// keep their own class and code; the node's own (`node.*`) get theirs.
pub fn node(e: mycel_node::Error) -> PyErr {
    use mycel_node::Error as E;
    match e {
        E::Protocol(e) => protocol(e),
        E::Scoring(e) => scoring(e),
        E::Emission(e) => emission(e),
        E::Kernels(e) => kernel(e),
        E::Fraud(e) => fraud(e),
        other => {
            let class = match &other {
                E::Scenario(_) => "ScenarioError",
                E::State(_) => "StateError",
                E::InvalidArgument(_) => "ArgumentError",
                E::Json(_) => "EncodeError",
                _ => "MycelError",
            };
            error(class, other.code(), other.to_string())
        }
    }
}

/// `?`-friendly conversions for the two crates' results.
pub trait IntoPyResult<T> {
    /// Maps the error to its Python exception.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, mycel_protocol::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(protocol)
    }
}

impl<T> IntoPyResult<T> for Result<T, mycel_kernels::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(kernel)
    }
}

impl<T> IntoPyResult<T> for Result<T, EmissionError> {
    fn py(self) -> PyResult<T> {
        self.map_err(emission)
    }
}

impl<T> IntoPyResult<T> for Result<T, ScoringError> {
    fn py(self) -> PyResult<T> {
        self.map_err(scoring)
    }
}

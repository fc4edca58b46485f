//! The kernels crate's one error type.

/// Every way a kernel call can fail. The set of variants does not change with features.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested backend is not compiled in or not present on this machine.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(&'static str),
    /// Shapes that do not fit together or break an operation's rule (e.g. K not a multiple of
    /// 32, a dimension of zero, inner dimensions that differ). The message says which.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A buffer whose length does not match what its dtype and shape require.
    #[error("buffer length mismatch: expected {expected} bytes, got {actual}")]
    BufferLength {
        /// The length the dtype and shape require, in bytes.
        expected: usize,
        /// The length given, in bytes.
        actual: usize,
    },
    /// A byte buffer that is not aligned for the element type it is read as.
    #[error("misaligned buffer: {dtype} needs {align}-byte alignment")]
    Misaligned {
        /// The element type the buffer was read as.
        dtype: &'static str,
        /// The alignment it needs, in bytes.
        align: usize,
    },
    /// A size computation (a shape's element count or byte length) overflowed `usize`, or
    /// exceeds a documented limit. Checked before any allocation.
    #[error("size overflow: {0}")]
    SizeOverflow(&'static str),
    /// NaN or an infinity in an input that must be finite (quantization input, generated data).
    #[error("non-finite value (NaN or infinity) at element {index}")]
    NonFinite {
        /// The flat index of the first non-finite element.
        index: usize,
    },
    /// A tensor of the wrong element type for this operation.
    #[error("dtype mismatch: expected {expected}, got {actual}")]
    DtypeMismatch {
        /// The dtype the operation needs.
        expected: &'static str,
        /// The dtype given.
        actual: &'static str,
    },
    /// A task names a kernel this build cannot execute.
    #[error("unsupported kernel: {0}")]
    UnsupportedKernel(String),
    /// Weights whose digest differs from the one the task commits to.
    #[error("weights digest mismatch: the task names {expected}, the weights hash to {actual}")]
    WeightsDigest {
        /// The digest in the task, hex.
        expected: String,
        /// The digest of the weights given, hex.
        actual: String,
    },
    /// An error from the protocol crate (commitments, task decoding), by its stable code.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl Error {
    /// A stable machine-readable code for this error (bindings map on it).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BackendUnavailable(_) => "backend_unavailable",
            Error::ShapeMismatch(_) => "shape_mismatch",
            Error::BufferLength { .. } => "buffer_length",
            Error::Misaligned { .. } => "misaligned",
            Error::SizeOverflow(_) => "size_overflow",
            Error::NonFinite { .. } => "non_finite",
            Error::DtypeMismatch { .. } => "dtype_mismatch",
            Error::UnsupportedKernel(_) => "unsupported_kernel",
            Error::WeightsDigest { .. } => "weights_digest",
            Error::Protocol(_) => "protocol",
        }
    }
}

/// `Result` with the kernels [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

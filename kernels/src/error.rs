//! The kernels crate's one error type.

/// Every way a kernel call can fail. The set of variants does not change with features.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested backend is not compiled in or not present on this machine: a CPU without
    /// the instructions, or, for `Backend::Cuda(i)`, a build without the `cuda` feature, no
    /// loadable CUDA driver, or no device `i`. This is the one "no such backend / no device"
    /// error of every entry point (spec/kernels.md §4.5); the message says which case.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(&'static str),
    /// A job on the worker pool panicked (a bug: the kernels do not panic on any input); the
    /// other jobs of the call still ran, no output is returned. Holds the panic message.
    #[error("a worker thread panicked: {0}")]
    WorkerPanicked(String),
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
    /// A CUDA backend failure on a device that exists: too old, NVRTC missing or failing, out
    /// of memory, or another driver error (no driver or no such device is
    /// [`Error::BackendUnavailable`]). Defined in every build (with or without the `cuda`
    /// feature); the CPU backends stay usable whatever it says.
    #[error("cuda: {0}")]
    Cuda(CudaError),
    /// An attention head dimension this build has no kernel for (supported: 64 and 128).
    #[error("unsupported attention head_dim {0} (supported: 64, 128)")]
    UnsupportedHeadDim(usize),
    /// Attention head counts that do not fit: both must be at least 1 and `n_kv_heads` must
    /// divide `n_heads`.
    #[error(
        "bad attention head configuration: n_heads {n_heads}, n_kv_heads {n_kv_heads} (n_kv_heads must divide n_heads, both >= 1)"
    )]
    HeadConfig {
        /// Query heads.
        n_heads: usize,
        /// Key/value heads.
        n_kv_heads: usize,
    },
    /// An attention scale that is NaN or infinite.
    #[error("attention scale must be finite")]
    InvalidScale,
}

/// Why the CUDA backend could not do what was asked ([`Error::Cuda`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CudaError {
    /// The device is older than the backend supports (compute capability 8.0: int8 `mma.sync`).
    #[error(
        "CUDA device of compute capability {major}.{minor} is not supported (needs 8.0 or newer)"
    )]
    UnsupportedDevice {
        /// Compute capability, major part.
        major: u32,
        /// Compute capability, minor part.
        minor: u32,
    },
    /// The NVRTC library (`libnvrtc.so.13`) could not be loaded: kernels are compiled at run
    /// time and need it (it ships with a CUDA toolkit and with PyTorch's CUDA wheels).
    #[error("NVRTC (libnvrtc.so.13) not found: install a CUDA 13 toolkit or nvidia-cuda-nvrtc")]
    NvrtcUnavailable,
    /// NVRTC rejected a kernel source; `log` is the compiler's output.
    #[error("NVRTC failed to compile {kernel}: {log}")]
    Compile {
        /// The embedded source that failed.
        kernel: &'static str,
        /// The compiler log.
        log: String,
    },
    /// The device could not allocate `bytes` more bytes.
    #[error("CUDA device out of memory allocating {bytes} bytes")]
    OutOfMemory {
        /// The size of the failed allocation.
        bytes: usize,
    },
    /// Any other driver call failure, with the call and the driver's error name.
    #[error("CUDA driver call {call} failed: {code}")]
    Driver {
        /// The operation that failed.
        call: &'static str,
        /// The driver's error name (e.g. `CUDA_ERROR_ILLEGAL_ADDRESS`).
        code: String,
    },
}

impl CudaError {
    /// A stable machine-readable code for this error (bindings map on it).
    pub fn code(&self) -> &'static str {
        match self {
            CudaError::UnsupportedDevice { .. } => "cuda_unsupported_device",
            CudaError::NvrtcUnavailable => "cuda_nvrtc_unavailable",
            CudaError::Compile { .. } => "cuda_compile",
            CudaError::OutOfMemory { .. } => "cuda_out_of_memory",
            CudaError::Driver { .. } => "cuda_driver",
        }
    }
}

impl From<mycel_protocol::Error> for Error {
    /// Kept as `"<protocol code>: <message>"` so the protocol's stable code survives.
    fn from(e: mycel_protocol::Error) -> Self {
        Error::Protocol(format!("{}: {e}", e.code()))
    }
}

impl From<CudaError> for Error {
    fn from(e: CudaError) -> Self {
        Error::Cuda(e)
    }
}

impl Error {
    /// A stable machine-readable code for this error (bindings map on it).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BackendUnavailable(_) => "backend_unavailable",
            Error::WorkerPanicked(_) => "worker_panicked",
            Error::ShapeMismatch(_) => "shape_mismatch",
            Error::BufferLength { .. } => "buffer_length",
            Error::Misaligned { .. } => "misaligned",
            Error::SizeOverflow(_) => "size_overflow",
            Error::NonFinite { .. } => "non_finite",
            Error::DtypeMismatch { .. } => "dtype_mismatch",
            Error::UnsupportedKernel(_) => "unsupported_kernel",
            Error::WeightsDigest { .. } => "weights_digest",
            Error::Protocol(_) => "protocol",
            Error::Cuda(e) => e.code(),
            Error::UnsupportedHeadDim(_) => "unsupported_head_dim",
            Error::HeadConfig { .. } => "head_config",
            Error::InvalidScale => "invalid_scale",
        }
    }
}

/// `Result` with the kernels [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

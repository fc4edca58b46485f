//! The kernels crate's one error type.

/// Every way a kernel call can fail. The set of variants does not change with features.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested backend is not compiled in or not present on this machine.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(&'static str),
}

impl Error {
    /// A stable machine-readable code for this error (bindings map on it).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BackendUnavailable(_) => "backend_unavailable",
        }
    }
}

/// `Result` with the kernels [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

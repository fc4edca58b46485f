//! The network crate's one error type.

use std::string::String;

/// Every way a network node can fail, each variant with a stable [`Error::code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the roles (a phase that failed, a key not in the roster, a bad scenario).
    #[error("{0}")]
    Node(#[from] mycel_node::Error),
    /// A message that breaks a wire rule (spec/net.md), with what is wrong.
    #[error("wire: {0}")]
    Wire(String),
    /// libp2p could not be set up (transport, listen address, behaviour).
    #[error("libp2p: {0}")]
    Libp2p(String),
    /// A file of the node (its saved state) could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A node's saved state is behind the subnet: it missed an epoch's messages and, without a
    /// chain, cannot rebuild that epoch.
    #[error(
        "state: this node closed epochs up to {closed} but the subnet is in epoch {current}; a node that missed an epoch cannot rebuild it without a chain"
    )]
    Behind {
        /// The next epoch the node's state would close.
        closed: u64,
        /// The subnet's current epoch.
        current: u64,
    },
    /// An argument out of range (the message names it).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// A stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Node(e) => e.code(),
            Self::Wire(_) => "net.wire",
            Self::Libp2p(_) => "net.libp2p",
            Self::Io { .. } => "net.io",
            Self::Behind { .. } => "net.behind",
            Self::InvalidArgument(_) => "net.invalid_argument",
        }
    }
}

/// `Result` with the network [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

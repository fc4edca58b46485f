//! # mycel-net
//!
//! A mycel subnet across processes and machines: each miner and validator is its own node on
//! [rust-libp2p](https://github.com/libp2p/rust-libp2p), driving the sans-IO roles of
//! `mycel-node` (its hosted mode, [`mycel_node::sim::hosted`]) over the network.
//!
//! - **Identity**: a node's libp2p key is its mycel signing key ([`identity`]), so its
//!   `PeerId` and its hotkey name the same party.
//! - **Transport**: TCP with noise and yamux ([`transport`]), optionally wrapped by a
//!   fault injector that delays writes and drops connections (tests).
//! - **Protocols** ([`wire`], spec/net.md): request-response `/mycel/task/1` (a `TaskSpec`
//!   envelope out, the `SignedReceipt` envelope back) and gossipsub topics per subnet for
//!   receipt roots, verdict summaries, fraud proofs, and weight commitments and reveals, each
//!   a signed, canonical, size-bounded envelope. A peer that sends anything malformed,
//!   oversized, replayed or unauthorised is disconnected and blocked ([`node`]); identify
//!   announces the protocol version and peers with another are refused.
//! - **Chainless emission**: epochs run on wall-clock time from a shared genesis; every node
//!   runs the Yuma epoch itself over the reveals it received and reports the digest of the
//!   result ([`node::EpochReport`]).
//! - **Limits** ([`limits::Limits`]): message size bounds, per-peer request rate, connection
//!   limits, request timeouts.
//!
//! The `mycel node` and `mycel localnet` commands of the CLI are this crate plus argument
//! parsing and process management.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod error;
pub mod identity;
pub mod limits;
pub mod node;
pub mod transport;
pub mod wire;

pub use error::{Error, Result};
pub use libp2p::{Multiaddr, PeerId};
pub use limits::Limits;
pub use node::{Config, EpochReport, Event, run};
pub use transport::Faults;

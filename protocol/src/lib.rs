//! # mycel-protocol
//!
//! The protocol core of mycel: identities, canonical wire formats, signed work receipts,
//! commitments, scoring and the Yuma emission math, as a `#![no_std]` + `alloc` library.
//!
//! This crate does no I/O, spawns no threads and uses no floats in consensus-critical math.
//! Time and randomness are passed in by the caller; the `std` feature (on by default) only adds
//! conveniences such as drawing keys from OS randomness.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | OS randomness (`getrandom`) for key generation and batch coefficients |
//!
//! ## Receipts in one example
//!
//! A miner signs a receipt for a task; anyone decodes it canonically, checks it against the
//! task and verifies the signature (one by one or as a batch that names the failures):
//!
//! ```
//! use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
//! use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
//! use mycel_protocol::sign::{Signed, verify_signed_batch_with_seed};
//! use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
//! use mycel_protocol::wire::{decode, encode};
//!
//! let task = TaskSpec {
//!     network: NetworkId([1; 32]),
//!     subnet: SubnetId(1),
//!     epoch: Epoch(7),
//!     kernel: KernelId::MatmulQ8_0,
//!     kernel_version: KERNEL_VERSION,
//!     params: KernelParams::Matmul { m: 8, n: 64, k: 128 },
//!     weights_digest: Digest([2; 32]),
//!     input_seed: [3; 32],
//! };
//! let miner = SigningKey::from_seed(&[4; 32]);
//! let receipt = WorkReceipt {
//!     network: task.network,
//!     subnet: task.subnet,
//!     epoch: task.epoch,
//!     task_digest: task.digest()?,
//!     assigner: SigningKey::from_seed(&[5; 32]).hotkey(),
//!     miner: miner.hotkey(),
//!     output_commitment: Digest([6; 32]),
//!     output_tile_root: Digest([7; 32]),
//!     compute_units: task.compute_units()?, // 2·m·n·k
//!     started_at_ms: 1_000,
//!     finished_at_ms: 1_250,
//!     nonce: 1,
//!     backend: BackendLabel::new("cpu-scalar")?,
//! };
//! let bytes = encode(&Signed::sign(receipt, &miner)?)?; // the envelope on the wire
//!
//! let got: SignedReceipt = decode(&bytes)?; // canonical: one encoding per value
//! got.body.check_task(&task)?;
//! let id = got.verify_and_id()?; // SHA-256 of the tagged body
//! let results = verify_signed_batch_with_seed(&[got.clone(), got], &[0; 32]);
//! assert!(results.iter().all(Result::is_ok));
//! # let _ = id;
//! # Ok::<(), mycel_protocol::Error>(())
//! ```
//!
//! The normative description of every byte is in the repository's `spec/` folder (wire.md,
//! signatures.md, receipts.md, commitments.md).
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod commit;
pub mod emission;
pub mod error;
pub mod ids;
pub mod opening;
pub mod receipt;
pub mod scoring;
pub mod sign;
pub mod task;
pub mod wire;

pub use error::{Error, Result};

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
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod commit;
pub mod emission;
pub mod error;
pub mod ids;
pub mod receipt;
pub mod scoring;
pub mod sign;
pub mod task;
pub mod wire;

pub use error::{Error, Result};

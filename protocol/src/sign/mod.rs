//! Signatures: domain tags, the one verification rule, batch verification
//! (spec/signatures.md).

pub mod verify;

pub use verify::{check_public_key, verify, verify_slices};

//! Signatures: domain tags, the one verification rule, batch verification
//! (spec/signatures.md).
//!
//! * [`verify()`]: the bare rule on raw bytes (strict encodings + cofactored equation);
//! * [`verify_batch_with_seed`] / [`verify_batch`]: the same verdicts for many signatures at
//!   once, naming the failures;
//! * [`sign_message`] / [`verify_message`]: protocol messages under their domain tag.

pub mod batch;
pub mod domain;
pub mod verify;

#[cfg(feature = "std")]
pub use batch::verify_batch;
pub use batch::{BatchItem, BatchVerdict, verify_batch_with_seed};
pub use domain::{TAG_SEPARATOR, sign_message, signed_bytes, tagged_bytes, verify_message};
pub use verify::{check_public_key, verify, verify_slices};

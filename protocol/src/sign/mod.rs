//! Signatures: domain tags, the one verification rule, batch verification, signed messages
//! (spec/signatures.md).
//!
//! * [`verify()`]: the bare rule on raw bytes (strict encodings + cofactored equation);
//! * [`verify_batch_with_seed`] / [`verify_batch`]: the same verdicts for many signatures at
//!   once, naming the failures;
//! * [`Signed`]: a receipt or verdict body with its signer's signature under the body's domain
//!   tag, verified one by one or as a batch.

pub mod batch;
pub mod domain;
pub mod signed;
pub mod verify;

pub use batch::{
    BatchItem, BatchVerdict, SliceItem, verify_batch_slices_with_seed, verify_batch_with_seed,
};
#[cfg(feature = "std")]
pub use batch::{verify_batch, verify_batch_slices};
pub use domain::{Signable, TAG_SEPARATOR, body_bytes, signed_bytes, tagged_bytes};
#[cfg(feature = "std")]
pub use signed::verify_signed_batch;
pub use signed::{Signed, verify_signed_batch_with_seed};
pub use verify::{check_public_key, verify, verify_slices};

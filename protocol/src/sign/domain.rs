//! Domain separation: what exactly is signed and hashed (spec/signatures.md §Signed bytes).
//!
//! The signed bytes of a message body are its kind's ASCII tag `mycel/v1/<kind>`, one 0x00
//! byte, then the canonical postcard body (not the envelope header, not the signature). The tag
//! makes a signature on one kind useless as a signature on another, and the 0x00 ends the tag
//! unambiguously (no tag contains 0x00).

use alloc::vec::Vec;

use serde::Serialize;

use crate::error::{EncodeError, Result};
use crate::ids::Hotkey;
use crate::wire::{HEADER_LEN, MessageKind};

/// The byte that ends every domain tag.
pub const TAG_SEPARATOR: u8 = 0x00;

/// A message body that is signed (receipts, verdicts).
pub trait Signable: Serialize {
    /// The kind whose domain tag covers the body (and whose envelope carries it, signed).
    const KIND: MessageKind;

    /// The hotkey that must sign the body.
    fn signer(&self) -> &Hotkey;

    /// Structural rules of the body (bounds, consistency between fields).
    fn check(&self) -> Result<()>;
}

/// `tag(kind) || 0x00 || body`.
pub fn tagged_bytes(kind: MessageKind, body: &[u8]) -> Vec<u8> {
    let tag = kind.domain_tag();
    let mut out = Vec::with_capacity(tag.len() + 1 + body.len());
    out.extend_from_slice(tag);
    out.push(TAG_SEPARATOR);
    out.extend_from_slice(body);
    out
}

/// The canonical postcard body of `body`, after its structural check.
pub fn body_bytes<T: Signable>(body: &T) -> Result<Vec<u8>> {
    body.check()?;
    let bytes = postcard::to_allocvec(body).map_err(|_| EncodeError::Serializer)?;
    let max = T::KIND.max_envelope_len() - HEADER_LEN;
    if bytes.len() > max {
        return Err(EncodeError::TooLarge {
            len: bytes.len(),
            max,
        }
        .into());
    }
    Ok(bytes)
}

/// The signed bytes of `body`: its tag, 0x00, its canonical encoding.
pub fn signed_bytes<T: Signable>(body: &T) -> Result<Vec<u8>> {
    Ok(tagged_bytes(T::KIND, &body_bytes(body)?))
}

//! Domain separation: what exactly is signed and hashed (spec/signatures.md §Signed bytes).
//!
//! The signed bytes of a message are its kind's ASCII tag `mycel/v1/<kind>`, one 0x00 byte,
//! then the canonical postcard body (not the envelope header). The tag makes a signature on one
//! kind useless as a signature on another, and the 0x00 ends the tag unambiguously (no tag
//! contains 0x00).

use alloc::vec::Vec;

use crate::error::Result;
use crate::ids::{Hotkey, Signature, SigningKey};
use crate::wire::{Message, MessageKind, encode_body};

/// The byte that ends every domain tag.
pub const TAG_SEPARATOR: u8 = 0x00;

/// `tag(kind) || 0x00 || body`.
pub fn tagged_bytes(kind: MessageKind, body: &[u8]) -> Vec<u8> {
    let tag = kind.domain_tag();
    let mut out = Vec::with_capacity(tag.len() + 1 + body.len());
    out.extend_from_slice(tag);
    out.push(TAG_SEPARATOR);
    out.extend_from_slice(body);
    out
}

/// The signed bytes of `msg`: its tag, 0x00, its canonical body.
pub fn signed_bytes<M: Message>(msg: &M) -> Result<Vec<u8>> {
    Ok(tagged_bytes(M::KIND, &encode_body(msg)?))
}

/// Signs `msg` under its domain tag.
pub fn sign_message<M: Message>(key: &SigningKey, msg: &M) -> Result<Signature> {
    Ok(key.sign_raw(&signed_bytes(msg)?))
}

/// Verifies a signature on `msg` under its domain tag with the mycel rule.
pub fn verify_message<M: Message>(signer: &Hotkey, msg: &M, signature: &Signature) -> Result<()> {
    crate::sign::verify::verify(&signer.0, &signed_bytes(msg)?, &signature.0).map_err(Into::into)
}

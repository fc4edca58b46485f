//! Canonical body decoding: postcard alone accepts over-long varints and ignores trailing bytes,
//! so the decoder takes the value, rejects leftovers, re-encodes and compares.

use crate::error::{DecodeError, Result};
use crate::wire::envelope::Message;

/// Decodes `body` as `M`: exactly one canonical encoding is accepted, then `M::check` runs.
pub fn decode_body<M: Message>(body: &[u8]) -> Result<M> {
    let (msg, rest) = postcard::take_from_bytes::<M>(body).map_err(map_postcard)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes.into());
    }
    let again = postcard::to_allocvec(&msg).map_err(|_| DecodeError::Malformed)?;
    if again != body {
        return Err(DecodeError::NonCanonical.into());
    }
    msg.check()?;
    Ok(msg)
}

/// Maps postcard's error to ours: running out of input is truncation, anything else malformed.
fn map_postcard(e: postcard::Error) -> DecodeError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
        _ => DecodeError::Malformed,
    }
}

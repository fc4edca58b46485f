//! The envelope: protocol version, message kind, canonical postcard body (spec/wire.md).

use alloc::vec::Vec;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, EncodeError, Result};
use crate::wire::canonical;
use crate::wire::kind::{MAX_ENVELOPE_LEN, MessageKind};

/// The protocol version this implementation speaks: the envelope's first byte.
pub const PROTOCOL_VERSION: u8 = 1;

/// Length of the envelope header (version byte, kind byte).
pub const HEADER_LEN: usize = 2;

/// A message that travels in an envelope.
pub trait Message: Serialize + DeserializeOwned {
    /// The registry entry of this message.
    const KIND: MessageKind;

    /// Structural rules beyond the encoding (bounds, consistency between fields). Run by
    /// [`encode`] and [`decode`]; a value failing them never appears on the wire.
    fn check(&self) -> Result<()>;
}

/// An envelope split into header and body, with the header and size bound checked but the body
/// not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The protocol version (always [`PROTOCOL_VERSION`] after a successful parse).
    pub version: u8,
    /// The message kind.
    pub kind: MessageKind,
    /// The postcard body.
    pub body: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Checks the header and size bounds, in this order: global bound, header present,
    /// version, kind, bound for the kind.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_ENVELOPE_LEN,
            }
            .into());
        }
        let (version, kind, body) = match bytes {
            [version, kind, body @ ..] => (*version, *kind, body),
            _ => return Err(DecodeError::MissingHeader.into()),
        };
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let kind = MessageKind::from_code(kind).ok_or(DecodeError::UnknownKind(kind))?;
        let max = kind.max_envelope_len();
        if bytes.len() > max {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max,
            }
            .into());
        }
        Ok(Self {
            version,
            kind,
            body,
        })
    }

    /// Decodes the body as `M`, which must be the envelope's kind.
    pub fn decode_body<M: Message>(&self) -> Result<M> {
        if self.kind != M::KIND {
            return Err(DecodeError::KindMismatch {
                expected: M::KIND.code(),
                found: self.kind.code(),
            }
            .into());
        }
        canonical::decode_body(self.body)
    }
}

/// Encodes `msg` as an envelope: `[PROTOCOL_VERSION, kind] || postcard(msg)`.
pub fn encode<M: Message>(msg: &M) -> Result<Vec<u8>> {
    msg.check()?;
    let mut out = Vec::with_capacity(64);
    out.push(PROTOCOL_VERSION);
    out.push(M::KIND.code());
    let out = postcard::to_extend(msg, out).map_err(|_| EncodeError::Serializer)?;
    let max = M::KIND.max_envelope_len();
    if out.len() > max {
        return Err(EncodeError::TooLarge {
            len: out.len(),
            max,
        }
        .into());
    }
    Ok(out)
}

/// Encodes only the canonical body of `msg` (what domain-tagged signatures and ids cover).
pub fn encode_body<M: Message>(msg: &M) -> Result<Vec<u8>> {
    msg.check()?;
    let body = postcard::to_allocvec(msg).map_err(|_| EncodeError::Serializer)?;
    let max = M::KIND.max_envelope_len() - HEADER_LEN;
    if body.len() > max {
        return Err(EncodeError::TooLarge {
            len: body.len() + HEADER_LEN,
            max: max + HEADER_LEN,
        }
        .into());
    }
    Ok(body)
}

/// Decodes an envelope that must hold an `M`, canonically (spec/wire.md §Decoding).
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M> {
    Envelope::parse(bytes)?.decode_body()
}

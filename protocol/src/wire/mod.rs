//! Wire formats: the envelope, the message-kind registry and canonical decoding
//! (spec/wire.md).

pub mod any;
pub mod canonical;
pub mod envelope;
pub mod kind;

pub use any::AnyMessage;
pub use envelope::{Envelope, HEADER_LEN, Message, PROTOCOL_VERSION, decode, encode, encode_body};
pub use kind::{MAX_ENVELOPE_LEN, MessageKind};

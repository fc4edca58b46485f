//! Decoding an envelope of any kind.

use serde::Serialize;

use crate::error::Result;
use crate::receipt::{ReceiptBatch, SignedReceipt, SignedVerdict};
use crate::task::TaskSpec;
use crate::wire::envelope::{Envelope, encode};
use crate::wire::kind::MessageKind;

/// A decoded message of any registered kind.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum AnyMessage {
    /// A task specification.
    Task(TaskSpec),
    /// A signed work receipt.
    Receipt(SignedReceipt),
    /// A signed verdict.
    Verdict(SignedVerdict),
    /// A receipt batch.
    ReceiptBatch(ReceiptBatch),
}

impl AnyMessage {
    /// Decodes an envelope of any registered kind, canonically.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let env = Envelope::parse(bytes)?;
        Ok(match env.kind {
            MessageKind::TaskSpec => AnyMessage::Task(env.decode_body()?),
            MessageKind::Receipt => AnyMessage::Receipt(env.decode_body()?),
            MessageKind::Verdict => AnyMessage::Verdict(env.decode_body()?),
            MessageKind::ReceiptBatch => AnyMessage::ReceiptBatch(env.decode_body()?),
        })
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            AnyMessage::Task(_) => MessageKind::TaskSpec,
            AnyMessage::Receipt(_) => MessageKind::Receipt,
            AnyMessage::Verdict(_) => MessageKind::Verdict,
            AnyMessage::ReceiptBatch(_) => MessageKind::ReceiptBatch,
        }
    }

    /// Encodes the message in its envelope.
    pub fn encode(&self) -> Result<alloc::vec::Vec<u8>> {
        match self {
            AnyMessage::Task(m) => encode(m),
            AnyMessage::Receipt(m) => encode(m),
            AnyMessage::Verdict(m) => encode(m),
            AnyMessage::ReceiptBatch(m) => encode(m),
        }
    }
}

//! The message-kind registry (spec/wire.md §Message kinds).

use core::fmt;

/// Every message kind this protocol version defines. The numeric code is the envelope's second
/// byte; codes not listed here are rejected ([`DecodeError::UnknownKind`]). Later protocol
/// revisions add kinds (weights and score messages are reserved as 0x05 and 0x06) without
/// renumbering existing ones.
///
/// [`DecodeError::UnknownKind`]: crate::error::DecodeError::UnknownKind
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MessageKind {
    /// A [`TaskSpec`](crate::task::TaskSpec): one unit of re-checkable work.
    TaskSpec = 0x01,
    /// A [`SignedReceipt`](crate::receipt::SignedReceipt): a miner's signed claim of work.
    Receipt = 0x02,
    /// A [`SignedVerdict`](crate::receipt::SignedVerdict): a validator's signed check result.
    Verdict = 0x03,
    /// A [`ReceiptBatch`](crate::receipt::ReceiptBatch): signed receipts committed to one Merkle
    /// root.
    ReceiptBatch = 0x04,
}

/// Bound on any envelope, whatever its kind: 1 MiB plus the two header bytes.
pub const MAX_ENVELOPE_LEN: usize = (1 << 20) + 2;

impl MessageKind {
    /// Every defined kind, in code order.
    pub const ALL: [MessageKind; 4] = [
        MessageKind::TaskSpec,
        MessageKind::Receipt,
        MessageKind::Verdict,
        MessageKind::ReceiptBatch,
    ];

    /// The kind's one-byte code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The kind with this code, if it is defined.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(MessageKind::TaskSpec),
            0x02 => Some(MessageKind::Receipt),
            0x03 => Some(MessageKind::Verdict),
            0x04 => Some(MessageKind::ReceiptBatch),
            _ => None,
        }
    }

    /// The kind's name as used in domain tags and JSON (`task`, `receipt`, `verdict`,
    /// `receipt-batch`).
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::TaskSpec => "task",
            MessageKind::Receipt => "receipt",
            MessageKind::Verdict => "verdict",
            MessageKind::ReceiptBatch => "receipt-batch",
        }
    }

    /// The ASCII domain tag `mycel/v1/<name>` that prefixes (followed by 0x00) every signed or
    /// hashed body of this kind.
    pub const fn domain_tag(self) -> &'static [u8] {
        match self {
            MessageKind::TaskSpec => b"mycel/v1/task",
            MessageKind::Receipt => b"mycel/v1/receipt",
            MessageKind::Verdict => b"mycel/v1/verdict",
            MessageKind::ReceiptBatch => b"mycel/v1/receipt-batch",
        }
    }

    /// The largest envelope (header included) a decoder accepts for this kind; checked before
    /// the body is decoded.
    pub const fn max_envelope_len(self) -> usize {
        match self {
            MessageKind::TaskSpec => 256,
            MessageKind::Receipt => 512,
            MessageKind::Verdict => 256,
            MessageKind::ReceiptBatch => MAX_ENVELOPE_LEN,
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

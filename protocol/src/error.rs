//! The crate's one error type.
//!
//! [`Error`] groups failures by area in nested enums ([`DecodeError`], [`SignatureError`], …).
//! Every leaf has a stable [`code`](Error::code) string (`"decode.trailing_bytes"`, …) that
//! bindings map to their host's idiom; the `Display` text is for humans and may change.

use thiserror::Error as ThisError;

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// Every way an operation of this crate can fail.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum Error {
    /// Bytes could not be decoded as a canonical message (spec/wire.md).
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// A signature or key failed the verification rule (spec/signatures.md).
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    /// A task specification is invalid (spec/receipts.md, task section).
    #[error("task: {0}")]
    Task(#[from] TaskError),
    /// A receipt or verdict is inconsistent (spec/receipts.md).
    #[error("receipt: {0}")]
    Receipt(#[from] ReceiptError),
    /// A tensor commitment could not be computed (spec/commitments.md).
    #[error("commitment: {0}")]
    Commit(#[from] CommitError),
    /// A Merkle proof is malformed or does not verify (spec/commitments.md).
    #[error("merkle: {0}")]
    Merkle(#[from] MerkleError),
    /// A key could not be created.
    #[error("key: {0}")]
    Key(#[from] KeyError),
    /// A tile opening does not fit its task's output (spec/receipts.md §8b).
    #[error("tile opening: {0}")]
    Opening(#[from] OpeningError),
}

impl Error {
    /// The stable machine-readable code of this error's leaf, e.g. `"decode.trailing_bytes"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Decode(e) => e.code(),
            Error::Encode(e) => e.code(),
            Error::Signature(e) => e.code(),
            Error::Task(e) => e.code(),
            Error::Receipt(e) => e.code(),
            Error::Commit(e) => e.code(),
            Error::Merkle(e) => e.code(),
            Error::Key(e) => e.code(),
            Error::Opening(e) => e.code(),
        }
    }
}

/// Why bytes were rejected by the canonical decoder (spec/wire.md §Decoding).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum DecodeError {
    /// Fewer bytes than the two-byte envelope header.
    #[error("input shorter than the envelope header")]
    MissingHeader,
    /// The envelope is longer than the bound for its kind (checked before decoding the body).
    #[error("{len} bytes exceed the {max}-byte bound for this message kind")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The bound that applies.
        max: usize,
    },
    /// The protocol version byte is not one this implementation speaks.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// The message kind byte is not in the registry.
    #[error("unknown message kind {0:#04x}")]
    UnknownKind(u8),
    /// The kind byte names a different message than the one asked for.
    #[error("expected message kind {expected:#04x}, found {found:#04x}")]
    KindMismatch {
        /// The kind the caller asked for.
        expected: u8,
        /// The kind in the envelope.
        found: u8,
    },
    /// The body ended before the message was complete.
    #[error("body truncated")]
    Truncated,
    /// The body is not a valid encoding of the message (bad varint, bool, option or enum tag,
    /// invalid UTF-8, …).
    #[error("body malformed")]
    Malformed,
    /// Bytes remain after the message.
    #[error("trailing bytes after the message")]
    TrailingBytes,
    /// The body decodes but is not the canonical encoding (e.g. an over-long varint).
    #[error("non-canonical encoding")]
    NonCanonical,
}

impl DecodeError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::MissingHeader => "decode.missing_header",
            DecodeError::TooLarge { .. } => "decode.too_large",
            DecodeError::UnsupportedVersion(_) => "decode.unsupported_version",
            DecodeError::UnknownKind(_) => "decode.unknown_kind",
            DecodeError::KindMismatch { .. } => "decode.kind_mismatch",
            DecodeError::Truncated => "decode.truncated",
            DecodeError::Malformed => "decode.malformed",
            DecodeError::TrailingBytes => "decode.trailing_bytes",
            DecodeError::NonCanonical => "decode.non_canonical",
        }
    }
}

/// Why a message could not be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum EncodeError {
    /// The serializer failed (never expected for this crate's types).
    #[error("serializer failed")]
    Serializer,
    /// The encoding is longer than the bound for its kind.
    #[error("{len} bytes exceed the {max}-byte bound for this message kind")]
    TooLarge {
        /// Length of the encoding.
        len: usize,
        /// The bound that applies.
        max: usize,
    },
}

impl EncodeError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            EncodeError::Serializer => "encode.serializer",
            EncodeError::TooLarge { .. } => "encode.too_large",
        }
    }
}

/// Why a signature or public key was rejected (spec/signatures.md, checked in this order).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum SignatureError {
    /// The public key is not exactly 32 bytes.
    #[error("public key is not 32 bytes")]
    KeyLength,
    /// The signature is not exactly 64 bytes.
    #[error("signature is not 64 bytes")]
    SignatureLength,
    /// S (signature bytes 32..64) is not below the group order L.
    #[error("S is not reduced modulo L")]
    ScalarNotReduced,
    /// The public key A is not a canonical point encoding.
    #[error("public key encoding is not canonical")]
    NonCanonicalKey,
    /// The public key A is not the encoding of a curve point.
    #[error("public key is not a curve point")]
    KeyNotOnCurve,
    /// The public key A is one of the 8 small-order points.
    #[error("public key has small order")]
    SmallOrderKey,
    /// R (signature bytes 0..32) is not a canonical point encoding.
    #[error("R encoding is not canonical")]
    NonCanonicalR,
    /// R is not the encoding of a curve point.
    #[error("R is not a curve point")]
    RNotOnCurve,
    /// R is one of the 8 small-order points.
    #[error("R has small order")]
    SmallOrderR,
    /// The cofactored verification equation does not hold.
    #[error("verification equation does not hold")]
    Equation,
    /// A signed message names a signer other than the key that signs it.
    #[error("signing key does not match the message's signer")]
    SignerMismatch,
}

impl SignatureError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::KeyLength => "signature.key_length",
            SignatureError::SignatureLength => "signature.signature_length",
            SignatureError::ScalarNotReduced => "signature.scalar_not_reduced",
            SignatureError::NonCanonicalKey => "signature.non_canonical_key",
            SignatureError::KeyNotOnCurve => "signature.key_not_on_curve",
            SignatureError::SmallOrderKey => "signature.small_order_key",
            SignatureError::NonCanonicalR => "signature.non_canonical_r",
            SignatureError::RNotOnCurve => "signature.r_not_on_curve",
            SignatureError::SmallOrderR => "signature.small_order_r",
            SignatureError::Equation => "signature.equation",
            SignatureError::SignerMismatch => "signature.signer_mismatch",
        }
    }
}

/// Why a [`TaskSpec`](crate::task::TaskSpec) is invalid.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum TaskError {
    /// The kernel id and the parameter variant disagree (e.g. a matmul kernel with attention
    /// parameters).
    #[error("kernel id does not match the parameter kind")]
    KernelParamsMismatch,
    /// The kernel version is not one this implementation defines.
    #[error("unsupported kernel version {0}")]
    UnsupportedKernelVersion(u16),
    /// The kernel version exists but not for this kernel (version 2 is for matmul only).
    #[error("kernel version {version} applies to matmul kernels only")]
    KernelVersionForKernel {
        /// The version.
        version: u16,
    },
    /// A dimension is zero.
    #[error("dimension `{0}` is zero")]
    ZeroDimension(&'static str),
    /// A dimension exceeds its bound.
    #[error("dimension `{name}` = {value} exceeds the bound {max}")]
    DimensionTooLarge {
        /// Which parameter.
        name: &'static str,
        /// Its value.
        value: u32,
        /// The bound.
        max: u32,
    },
    /// The matmul inner dimension k is not a multiple of the 32-element block.
    #[error("k = {0} is not a multiple of 32")]
    KNotBlockAligned(u32),
    /// n_kv_heads does not divide n_heads.
    #[error("n_kv_heads = {n_kv_heads} does not divide n_heads = {n_heads}")]
    KvHeadsDoNotDivide {
        /// Query heads.
        n_heads: u32,
        /// Key/value heads.
        n_kv_heads: u32,
    },
    /// head_dim is not one of the supported values (64, 128).
    #[error("head_dim = {0} is not 64 or 128")]
    UnsupportedHeadDim(u32),
    /// A causal attention task has more queries than keys.
    #[error("causal attention needs q_len <= kv_len")]
    CausalQueryLongerThanKeys,
    /// The compute-unit formula exceeds the per-task bound (or overflows u64).
    #[error("task exceeds the compute-unit bound")]
    TooMuchCompute,
    /// The task's memory measure (`KernelParams::memory_bytes`: inputs, weights, output and
    /// scratch) exceeds the per-task bound `MAX_TASK_MEMORY`.
    #[error(
        "task exceeds the memory bound of {max} bytes: its inputs, weights, output and scratch need {bytes} bytes"
    )]
    TooMuchMemory {
        /// The task's memory measure (saturated at `u64::MAX`).
        bytes: u64,
        /// The bound.
        max: u64,
    },
}

impl TaskError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            TaskError::KernelParamsMismatch => "task.kernel_params_mismatch",
            TaskError::UnsupportedKernelVersion(_) => "task.unsupported_kernel_version",
            TaskError::KernelVersionForKernel { .. } => "task.kernel_version_for_kernel",
            TaskError::ZeroDimension(_) => "task.zero_dimension",
            TaskError::DimensionTooLarge { .. } => "task.dimension_too_large",
            TaskError::KNotBlockAligned(_) => "task.k_not_block_aligned",
            TaskError::KvHeadsDoNotDivide { .. } => "task.kv_heads_do_not_divide",
            TaskError::UnsupportedHeadDim(_) => "task.unsupported_head_dim",
            TaskError::CausalQueryLongerThanKeys => "task.causal_query_longer_than_keys",
            TaskError::TooMuchCompute => "task.too_much_compute",
            TaskError::TooMuchMemory { .. } => "task.too_much_memory",
        }
    }
}

/// Why a receipt, verdict or receipt batch is inconsistent.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum ReceiptError {
    /// The backend label is longer than the bound or has characters outside printable ASCII.
    #[error("backend label is longer than 32 bytes or not printable ASCII")]
    BadBackendLabel,
    /// The advisory finish time is before the start time.
    #[error("finish time is before start time")]
    TimesReversed,
    /// The receipt's network id differs from the task's (or from the settling validator's).
    #[error("network id differs from the task's or the expected one")]
    NetworkMismatch,
    /// The receipt's subnet differs from the task's (or from the settling validator's).
    #[error("subnet differs from the task's or the expected one")]
    SubnetMismatch,
    /// The receipt's epoch differs from the task's.
    #[error("epoch differs from the task's")]
    EpochMismatch,
    /// The receipt's task digest is not the digest of the given task.
    #[error("task digest differs from the task's")]
    TaskDigestMismatch,
    /// The receipt's compute units differ from the task's formula.
    #[error("compute units {claimed} differ from the task formula {expected}")]
    ComputeUnitsMismatch {
        /// What the receipt says.
        claimed: u64,
        /// What the formula gives.
        expected: u64,
    },
    /// A verdict's outcome and recomputed commitment disagree (Match/Mismatch need one,
    /// Unchecked must have none).
    #[error("verdict outcome and recomputed commitment disagree")]
    VerdictInconsistent,
    /// A verdict refers to a different receipt id.
    #[error("verdict refers to another receipt")]
    VerdictReceiptMismatch,
    /// A receipt batch has more receipts than the bound.
    #[error("receipt batch holds {len} receipts, more than {max}")]
    BatchTooLarge {
        /// Number of receipts.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A receipt in a batch belongs to another network, subnet or epoch than the batch.
    #[error("receipt {0} does not belong to the batch's network, subnet and epoch")]
    BatchMemberMismatch(usize),
    /// The receipt is for another epoch than the one being settled (an old receipt replayed).
    #[error("receipt is for epoch {receipt}, the epoch being settled is {settling}")]
    WrongEpoch {
        /// The receipt's epoch.
        receipt: u64,
        /// The epoch being settled.
        settling: u64,
    },
    /// The receipt names another validator as its assigner than the one crediting it.
    #[error("receipt was assigned by another validator")]
    AssignerMismatch,
    /// The receipt is signed by another miner than the one the task was issued to.
    #[error("receipt is from another miner than the one the task was issued to")]
    MinerMismatch,
    /// The receipt's task digest is not that of the task this validator issued to this miner.
    #[error("receipt names a task that was not issued to this miner")]
    TaskNotIssued,
    /// A receipt for this (assigner, task digest) has been credited already (a re-signed or
    /// replayed execution).
    #[error("a receipt for this task has been credited already")]
    AlreadyCredited,
    /// The credit ledger holds its maximum number of entries.
    #[error("the credit ledger holds {max} entries already")]
    LedgerFull {
        /// The ledger's bound.
        max: usize,
    },
}

impl ReceiptError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::BadBackendLabel => "receipt.bad_backend_label",
            ReceiptError::TimesReversed => "receipt.times_reversed",
            ReceiptError::NetworkMismatch => "receipt.network_mismatch",
            ReceiptError::SubnetMismatch => "receipt.subnet_mismatch",
            ReceiptError::EpochMismatch => "receipt.epoch_mismatch",
            ReceiptError::TaskDigestMismatch => "receipt.task_digest_mismatch",
            ReceiptError::ComputeUnitsMismatch { .. } => "receipt.compute_units_mismatch",
            ReceiptError::VerdictInconsistent => "receipt.verdict_inconsistent",
            ReceiptError::VerdictReceiptMismatch => "receipt.verdict_receipt_mismatch",
            ReceiptError::BatchTooLarge { .. } => "receipt.batch_too_large",
            ReceiptError::BatchMemberMismatch(_) => "receipt.batch_member_mismatch",
            ReceiptError::WrongEpoch { .. } => "receipt.wrong_epoch",
            ReceiptError::AssignerMismatch => "receipt.assigner_mismatch",
            ReceiptError::MinerMismatch => "receipt.miner_mismatch",
            ReceiptError::TaskNotIssued => "receipt.task_not_issued",
            ReceiptError::AlreadyCredited => "receipt.already_credited",
            ReceiptError::LedgerFull { .. } => "receipt.ledger_full",
        }
    }
}

/// Why a tensor commitment could not be computed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum CommitError {
    /// The shape's rank is outside 1..=8.
    #[error("rank {0} is outside 1..=8")]
    Rank(usize),
    /// A dimension is zero.
    #[error("a dimension is zero")]
    ZeroDimension,
    /// The element count or byte length overflows u64.
    #[error("shape size overflows")]
    SizeOverflow,
    /// A block-quantized tensor's last dimension is not a multiple of 32.
    #[error("last dimension is not a multiple of the 32-element block")]
    NotBlockAligned,
    /// The data length differs from what dtype and shape require.
    #[error("data is {actual} bytes, dtype and shape need {expected}")]
    LengthMismatch {
        /// Bytes required.
        expected: u64,
        /// Bytes given.
        actual: u64,
    },
}

impl CommitError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            CommitError::Rank(_) => "commit.rank",
            CommitError::ZeroDimension => "commit.zero_dimension",
            CommitError::SizeOverflow => "commit.size_overflow",
            CommitError::NotBlockAligned => "commit.not_block_aligned",
            CommitError::LengthMismatch { .. } => "commit.length_mismatch",
        }
    }
}

/// Why a Merkle proof was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum MerkleError {
    /// The tree is empty: there is nothing to prove.
    #[error("empty tree has no inclusion proofs")]
    EmptyTree,
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The audit path has the wrong length for the index and tree size.
    #[error("audit path has the wrong length")]
    PathLength,
    /// The recomputed root differs from the expected root.
    #[error("recomputed root differs")]
    RootMismatch,
    /// A range proof's range is empty or reaches past the tree.
    #[error("leaf range {start}..{end} is empty or not within a tree of {size} leaves")]
    RangeOutOfBounds {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf.
        end: u64,
        /// The tree size.
        size: u64,
    },
    /// A range proof was given another number of leaves than its range holds.
    #[error("the range holds {expected} leaves, {found} were given")]
    LeafCount {
        /// Leaves in the range.
        expected: u64,
        /// Leaves given.
        found: u64,
    },
}

impl MerkleError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            MerkleError::EmptyTree => "merkle.empty_tree",
            MerkleError::IndexOutOfRange { .. } => "merkle.index_out_of_range",
            MerkleError::PathLength => "merkle.path_length",
            MerkleError::RootMismatch => "merkle.root_mismatch",
            MerkleError::RangeOutOfBounds { .. } => "merkle.range_out_of_bounds",
            MerkleError::LeafCount { .. } => "merkle.leaf_count",
        }
    }
}

/// Why a key could not be created.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum KeyError {
    /// The operating system's random source failed.
    #[error("operating-system randomness unavailable")]
    Randomness,
    /// Key material has the wrong length.
    #[error("key material is not 32 bytes")]
    Length,
}

impl KeyError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Randomness => "key.randomness",
            KeyError::Length => "key.length",
        }
    }
}

/// Why a tile opening does not fit its task's output grid.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum OpeningError {
    /// The tile index is not below the grid's tile count.
    #[error("tile {index} does not exist: the output has {count} tiles")]
    TileIndex {
        /// The index.
        index: u64,
        /// The grid's tile count.
        count: u64,
    },
    /// The opening's tree size is not the grid's tile count.
    #[error("the opening's tree has {found} tiles, the task's output has {expected}")]
    TileCount {
        /// The grid's tile count.
        expected: u64,
        /// The opening's tree size.
        found: u64,
    },
    /// The tile's byte length is not that of its place in the grid.
    #[error("the tile holds {found} bytes, its place in the output holds {expected}")]
    TileLength {
        /// Bytes of the tile at that index.
        expected: u64,
        /// Bytes given.
        found: u64,
    },
}

impl OpeningError {
    /// The stable code of this leaf.
    pub fn code(&self) -> &'static str {
        match self {
            OpeningError::TileIndex { .. } => "opening.tile_index",
            OpeningError::TileCount { .. } => "opening.tile_count",
            OpeningError::TileLength { .. } => "opening.tile_length",
        }
    }
}

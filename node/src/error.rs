//! The node crate's one error type.
//!
//! Every failure of a role, a fraud-proof check or the simulation is a variant of [`Error`],
//! with a stable [`Error::code`] string that bindings map on (never on the message). Errors of
//! the protocol and kernels crates are carried whole, so their own codes survive.

use std::string::String;

/// Every way a node operation can fail.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the protocol crate (decoding, signatures, tasks, receipts, Merkle proofs).
    #[error("{0}")]
    Protocol(#[from] mycel_protocol::Error),
    /// An error of the protocol crate's scoring and commit-reveal.
    #[error("{0}")]
    Scoring(#[from] mycel_protocol::scoring::ScoringError),
    /// An error of the protocol crate's Yuma epoch.
    #[error("{0}")]
    Emission(#[from] mycel_protocol::emission::EmissionError),
    /// An error of the kernels crate (execution, shapes, backends).
    #[error("{0}")]
    Kernels(#[from] mycel_kernels::Error),
    /// A fraud proof that does not hold, with the rule it breaks.
    #[error("{0}")]
    Fraud(#[from] FraudError),
    /// A scenario that breaks a rule; the message starts with the field's name.
    #[error("scenario: {0}")]
    Scenario(String),
    /// Saved role state that cannot be restored.
    #[error("state: {0}")]
    State(String),
    /// An argument outside what the operation accepts (the message names it).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A simulation worker thread panicked (a bug, reported instead of propagated).
    #[error("worker thread panicked: {0}")]
    WorkerPanicked(String),
    /// The log or a fraud proof could not be written as JSON.
    #[error("encoding JSON: {0}")]
    Json(String),
}

/// Why a fraud proof does not hold (spec/receipts.md section 8), one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FraudError {
    /// The text is not a fraud proof file (not JSON of the right shape).
    #[error("not a fraud proof: {0}")]
    NotAProof(String),
    /// The proof file's text is longer than the largest proof file of any version
    /// ([`crate::proof_file::MAX_PROOF_LEN`]); refused before it is parsed.
    #[error("not a fraud proof: {len} bytes, more than any proof file holds ({max})")]
    TooLarge {
        /// The text's length, bytes.
        len: u64,
        /// The bound, bytes.
        max: u64,
    },
    /// A field of the proof file is missing, unknown, or not of its type (the same code as
    /// [`FraudError::NotAProof`]: such a file is not a proof either).
    #[error("not a fraud proof: field `{field}`: {reason}")]
    Field {
        /// The field's name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `format` field names another format.
    #[error("format: expected {expected:?}, found {found:?}")]
    Format {
        /// The supported format.
        expected: &'static str,
        /// The format found.
        found: String,
    },
    /// A field that must be hex is not.
    #[error("{field}: not hex")]
    NotHex {
        /// The field.
        field: &'static str,
    },
    /// An envelope that does not decode canonically.
    #[error("{field}: not a valid {field} envelope: {reason} ({code})")]
    Envelope {
        /// The field (`task`, `receipt` or `verdict`).
        field: &'static str,
        /// The protocol error's message.
        reason: String,
        /// The protocol error's code.
        code: &'static str,
    },
    /// The receipt's signature does not verify.
    #[error("receipt: bad signature: {0}")]
    ReceiptSignature(String),
    /// The receipt does not belong to the task.
    #[error("receipt: does not belong to the task: {0}")]
    ReceiptTask(String),
    /// The verdict's signature does not verify.
    #[error("verdict: bad signature: {0}")]
    VerdictSignature(String),
    /// The verdict names another receipt or is inconsistent.
    #[error("verdict: does not match the receipt: {0}")]
    VerdictReceipt(String),
    /// The verdict's outcome is not `Mismatch`.
    #[error("verdict: outcome is {0}, not Mismatch")]
    NotMismatch(&'static str),
    /// The verdict carries no recomputed commitment.
    #[error("verdict: no recomputed commitment")]
    NoRecomputed,
    /// The batch inclusion proof does not place the receipt under the root.
    #[error("batch: the receipt is not under root {root}: {reason}")]
    NotInBatch {
        /// The claimed root, hex.
        root: String,
        /// Why the proof fails.
        reason: String,
    },
    /// The weights source is malformed or unsupported.
    #[error("weights.{field}: {reason}")]
    WeightsSource {
        /// The field of the weights source.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A matmul proof without a weights source.
    #[error("weights: a matmul task needs a weights source")]
    WeightsMissing,
    /// The regenerated weights hash to another digest than the task names.
    #[error("weights: regenerated weights hash to {actual}, the task names {expected}")]
    WeightsDigest {
        /// The task's weights digest, hex.
        expected: String,
        /// The regenerated weights' digest, hex.
        actual: String,
    },
    /// The task is Fast-mode attention, whose output bits are not defined (spec/kernels.md):
    /// it cannot be convicted by commitment (spec/receipts.md section 8).
    #[error(
        "task: Fast-mode work cannot be convicted by commitment (its output bits are not defined; spec/receipts.md section 8)"
    )]
    FastMode,
    /// Re-executing the task would exceed the verifier's compute budget.
    #[error(
        "task: {units} compute units exceed this verifier's budget of {budget} (raise it with --max-units)"
    )]
    OverBudget {
        /// The task's compute units.
        units: u64,
        /// The budget.
        budget: u64,
    },
    /// Re-executing the task failed.
    #[error("re-execution failed: {0}")]
    Execution(String),
    /// Re-execution gives the receipt's own commitment: the receipt is correct.
    #[error("re-execution gives {0}, the commitment the receipt claims: the receipt is correct")]
    ReceiptCorrect(String),
    /// The tile opening does not decode, does not fit the task's output, or its path does not
    /// lead to the receipt's signed tile root.
    #[error("opening: not a tile the receipt commits to: {0}")]
    TileOpening(String),
    /// The weight rows are not the ones the task's weights root commits to.
    #[error("weights: the rows are not the task's committed rows: {0}")]
    WeightsRoot(String),
    /// Recomputing the tile gives the opened tile: the miner's tile is correct.
    #[error(
        "tile {index}: recomputing it gives the tile the miner committed (leaf {leaf}): the miner is innocent of this tile"
    )]
    TileMatches {
        /// The tile index.
        index: u64,
        /// Its leaf hash, hex.
        leaf: String,
    },
    /// Re-execution gives neither the receipt's nor the verdict's commitment.
    #[error(
        "re-execution gives {recomputed}, but the verdict claims {claimed}: the verdict is wrong too"
    )]
    VerdictWrong {
        /// What re-execution gives, hex.
        recomputed: String,
        /// What the verdict claims, hex.
        claimed: String,
    },
}

impl FraudError {
    /// A stable machine-readable code for this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotAProof(_) | Self::Field { .. } => "fraud.not_a_proof",
            Self::TooLarge { .. } => "fraud.too_large",
            Self::Format { .. } => "fraud.format",
            Self::NotHex { .. } => "fraud.not_hex",
            Self::Envelope { .. } => "fraud.envelope",
            Self::ReceiptSignature(_) => "fraud.receipt_signature",
            Self::ReceiptTask(_) => "fraud.receipt_task",
            Self::VerdictSignature(_) => "fraud.verdict_signature",
            Self::VerdictReceipt(_) => "fraud.verdict_receipt",
            Self::NotMismatch(_) => "fraud.not_mismatch",
            Self::NoRecomputed => "fraud.no_recomputed",
            Self::NotInBatch { .. } => "fraud.not_in_batch",
            Self::WeightsSource { .. } => "fraud.weights_source",
            Self::WeightsMissing => "fraud.weights_missing",
            Self::WeightsDigest { .. } => "fraud.weights_digest",
            Self::FastMode => "fraud.fast_mode",
            Self::OverBudget { .. } => "fraud.over_budget",
            Self::Execution(_) => "fraud.execution",
            Self::ReceiptCorrect(_) => "fraud.receipt_correct",
            Self::VerdictWrong { .. } => "fraud.verdict_wrong",
            Self::TileOpening(_) => "fraud.tile_opening",
            Self::WeightsRoot(_) => "fraud.weights_root",
            Self::TileMatches { .. } => "fraud.tile_matches",
        }
    }
}

impl Error {
    /// A stable machine-readable code for this error: the inner crate's code for wrapped
    /// protocol, scoring, emission, kernels and fraud errors, `node.*` for the others.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Protocol(e) => e.code(),
            Self::Scoring(e) => e.code(),
            Self::Emission(e) => e.code(),
            Self::Kernels(e) => e.code(),
            Self::Fraud(e) => e.code(),
            Self::Scenario(_) => "node.scenario",
            Self::State(_) => "node.state",
            Self::InvalidArgument(_) => "node.invalid_argument",
            Self::WorkerPanicked(_) => "node.worker_panicked",
            Self::Json(_) => "node.json",
        }
    }
}

/// `Result` with the node [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

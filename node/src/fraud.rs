//! Fraud proofs: the type, its JSON file format and its check.
//!
//! A fraud proof is what a validator publishes when re-executing a receipt gave another output
//! commitment than the miner signed. It holds everything needed to settle the dispute without
//! trusting anyone: the task, the miner's signed receipt, the validator's signed verdict, and
//! where the public weights come from. Anyone re-executes the task and compares.
//!
//! # File format (`mycel-fraud-proof/v1`, JSON)
//!
//! ```text
//! {
//!   "format":   "mycel-fraud-proof/v1",
//!   "task":     hex of the TaskSpec envelope (spec/wire.md),
//!   "receipt":  hex of the signed WorkReceipt envelope,
//!   "verdict":  hex of the signed Verdict envelope (outcome Mismatch),
//!   "weights":  null for attention; for matmul {"generator": "mycel-kernels/generate_weights",
//!               "seed": 64 hex digits, "format": "q8_0" | "q4_0", "rows": n, "cols": k},
//!   "batch":    null, or {"root": hex, "proof": {"index": i, "tree_size": n, "path": [hex…]}}:
//!               the receipt's RFC 6962 inclusion proof (leaf data = receipt id) in the receipt
//!               batch whose root the validator committed before drawing its sample,
//!   "note":     free text for people (ignored by verification)
//! }
//! ```
//!
//! The proof **holds** when all of these are true, checked in this order:
//! 1. the three envelopes decode canonically;
//! 2. the receipt's signature is valid (spec/signatures.md) and the receipt belongs to the task
//!    (network, subnet, epoch, task digest, compute units);
//! 3. the task is bit-defined: not Fast-mode attention ([`FraudError::FastMode`]: Fast-mode work
//!    cannot be convicted by commitment), and its compute units are within the verifier's budget
//!    ([`CheckOptions`], default [`DEFAULT_MAX_PROOF_UNITS`]);
//! 4. the verdict's signature is valid, it names this receipt, and its outcome is `Mismatch`;
//! 5. if `batch` is present, its inclusion proof places the receipt id under its root;
//! 6. the weights regenerate to the task's weights digest (matmul only; SHA-256 for kernel
//!    version 1, the Merkle root over the rows for kernel version 2);
//! 7. re-executing the task gives a commitment that differs from the receipt's and equals the
//!    verdict's recomputed commitment.
//!
//! [`FraudProof::check`] returns what a proof that holds establishes, or the [`FraudError`] of
//! the first rule that fails. Hosts read the file themselves (`mycel fraud verify` bounds a
//! version-1 file to [`MAX_FILE_LEN`] bytes) and pass its text to [`FraudProof::from_json`]
//! (the reader both versions share, [`crate::proof_file`], bounds any text by
//! [`crate::proof_file::MAX_PROOF_LEN`] before parsing it).

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weight_format, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::commit::InclusionProof;
use mycel_protocol::ids::Digest;
use mycel_protocol::receipt::{Outcome, SignedReceipt, SignedVerdict};
use mycel_protocol::task::{AttnMode, KernelParams, TaskSpec};
use mycel_protocol::wire::{decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::FraudError;

/// The `format` string of a version-1 fraud proof file.
pub const FORMAT: &str = "mycel-fraud-proof/v1";
/// The `generator` string naming `mycel_kernels::exec::generate_weights`.
pub const GENERATOR: &str = "mycel-kernels/generate_weights";
/// Largest fraud proof file a host should read, in bytes.
pub const MAX_FILE_LEN: u64 = 64 * 1024;
/// Largest weight matrix (rows x cols values) [`WeightsSource::generate`] regenerates: 2^26
/// (8192 x 8192 Q8_0 is about 71 MB).
pub const MAX_REGENERATED_WEIGHTS: u64 = 1 << 26;

/// The default compute budget of a fraud-proof check: 2^36 compute units (about 69 G
/// operations, tens of seconds on one CPU core at worst).
pub const DEFAULT_MAX_PROOF_UNITS: u64 = 1 << 36;

/// Options of [`FraudProof::check_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Refuse to re-execute tasks of more compute units than this
    /// ([`FraudError::OverBudget`]).
    pub max_compute_units: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            max_compute_units: DEFAULT_MAX_PROOF_UNITS,
        }
    }
}

/// Where the public weights of a matmul task come from: the deterministic generator of the
/// kernels crate, keyed by a seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSource {
    /// Always [`GENERATOR`].
    pub generator: String,
    /// The generator seed, hex.
    pub seed: String,
    /// `q8_0` or `q4_0`.
    pub format: String,
    /// Weight rows (the task's `n`).
    pub rows: u32,
    /// Inner dimension (the task's `k`).
    pub cols: u32,
}

impl WeightsSource {
    /// The source for generated weights.
    #[must_use]
    pub fn new(seed: &[u8; 32], format: QuantFormat, rows: u32, cols: u32) -> Self {
        Self {
            generator: GENERATOR.into(),
            seed: hex::encode(seed),
            format: format.name().into(),
            rows,
            cols,
        }
    }

    /// Regenerates the weights (bare GGML blocks), refusing matrices over
    /// [`MAX_REGENERATED_WEIGHTS`] values before allocating anything.
    ///
    /// # Errors
    /// [`FraudError::WeightsSource`] naming the bad field.
    pub fn generate(&self) -> Result<Vec<u8>, FraudError> {
        let bad = |field: &'static str, reason: String| FraudError::WeightsSource { field, reason };
        if self.generator != GENERATOR {
            return Err(bad(
                "generator",
                format!("unknown generator {:?}", self.generator),
            ));
        }
        let seed: [u8; 32] = hex::decode(&self.seed)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("seed", "expected 64 hex digits".into()))?;
        let format = QuantFormat::parse(&self.format)
            .ok_or_else(|| bad("format", "expected q8_0 or q4_0".into()))?;
        if self.rows == 0 || self.rows > 65_536 || self.cols == 0 || self.cols > 65_536 {
            return Err(bad("rows", "rows and cols must be in 1..=65536".into()));
        }
        if u64::from(self.rows) * u64::from(self.cols) > MAX_REGENERATED_WEIGHTS {
            return Err(bad(
                "rows",
                format!(
                    "rows x cols is larger than a v1 proof regenerates ({MAX_REGENERATED_WEIGHTS} values); a tile proof (mycel-fraud-proof/v2) proves tasks of any size"
                ),
            ));
        }
        generate_weights(&seed, format, self.rows as usize, self.cols as usize)
            .map_err(|e| bad("generator", format!("{e} ({})", e.code())))
    }
}

/// A receipt's place in a committed receipt batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchMembership {
    /// The batch's Merkle root (what the validator committed).
    pub root: Digest,
    /// The receipt's inclusion proof under `root` (leaf data = the receipt id).
    pub proof: InclusionProof,
}

impl BatchMembership {
    /// Checks that the inclusion proof places `receipt`'s id under the root.
    ///
    /// # Errors
    /// [`FraudError::NotInBatch`].
    pub fn check(&self, receipt: &SignedReceipt) -> Result<(), FraudError> {
        let not_in = |reason: String| FraudError::NotInBatch {
            root: self.root.to_string(),
            reason,
        };
        let id = receipt.id().map_err(|e| not_in(with_code(&e)))?;
        self.proof
            .verify(id.as_bytes(), &self.root)
            .map_err(|e| not_in(with_code(&e)))
    }
}

// The checks both proof versions make, in the words of their errors.

/// A protocol error's text with its code, as the fraud errors carry it.
pub(crate) fn with_code(e: &mycel_protocol::Error) -> String {
    format!("{e} ({})", e.code())
}

/// The bytes of the hex field `field`.
pub(crate) fn hex_field(field: &'static str, s: &str) -> Result<Vec<u8>, FraudError> {
    hex::decode(s).map_err(|_| FraudError::NotHex { field })
}

/// An envelope of field `field` that does not decode.
pub(crate) fn envelope(field: &'static str, e: &mycel_protocol::Error) -> FraudError {
    FraudError::Envelope {
        field,
        reason: e.to_string(),
        code: e.code(),
    }
}

/// The proof's `task` field, decoded.
pub(crate) fn decode_task(hex: &str) -> Result<TaskSpec, FraudError> {
    TaskSpec::decode(&hex_field("task", hex)?).map_err(|e| envelope("task", &e))
}

/// The proof's `receipt` field, decoded.
pub(crate) fn decode_receipt(hex: &str) -> Result<SignedReceipt, FraudError> {
    decode(&hex_field("receipt", hex)?).map_err(|e| envelope("receipt", &e))
}

/// The receipt's signature is valid and it belongs to the task.
pub(crate) fn check_receipt(receipt: &SignedReceipt, task: &TaskSpec) -> Result<(), FraudError> {
    receipt
        .verify()
        .map_err(|e| FraudError::ReceiptSignature(with_code(&e)))?;
    receipt
        .body
        .check_task(task)
        .map_err(|e| FraudError::ReceiptTask(with_code(&e)))
}

/// The task's output bits are defined: not Fast-mode attention.
pub(crate) fn refuse_fast_mode(task: &TaskSpec) -> Result<(), FraudError> {
    if matches!(
        task.params,
        KernelParams::Attention {
            mode: AttnMode::Fast,
            ..
        }
    ) {
        return Err(FraudError::FastMode);
    }
    Ok(())
}

/// A fraud proof file (read by [`FraudProof::from_json`], written by [`FraudProof::to_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudProof {
    /// Always [`FORMAT`].
    pub format: String,
    /// The TaskSpec envelope, hex.
    pub task: String,
    /// The signed receipt envelope, hex.
    pub receipt: String,
    /// The signed verdict envelope, hex.
    pub verdict: String,
    /// The weights source (matmul tasks), or null.
    pub weights: Option<WeightsSource>,
    /// Where the receipt sits in the validator's committed receipt batch, or null.
    #[serde(default)]
    pub batch: Option<BatchMembership>,
    /// Free text for people; not verified.
    #[serde(default)]
    pub note: String,
}

/// What a proof that holds establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The task.
    pub task: TaskSpec,
    /// The receipt.
    pub receipt: SignedReceipt,
    /// The verdict.
    pub verdict: SignedVerdict,
    /// The commitment re-execution gives.
    pub recomputed: Digest,
    /// The committed batch root the receipt was shown to be under, if the proof carries one.
    pub batch_root: Option<Digest>,
}

impl FraudProof {
    /// Builds a proof from its parts.
    pub fn new(
        task: &TaskSpec,
        receipt: &SignedReceipt,
        verdict: &SignedVerdict,
        weights: Option<WeightsSource>,
        batch: Option<BatchMembership>,
        note: String,
    ) -> crate::Result<Self> {
        Ok(Self {
            format: FORMAT.into(),
            task: hex::encode(task.encode()?),
            receipt: hex::encode(encode(receipt)?),
            verdict: hex::encode(encode(verdict)?),
            weights,
            batch,
            note,
        })
    }

    /// Parses a proof file's text (the reader of both versions: [`crate::proof_file`]).
    ///
    /// # Errors
    /// [`FraudError::TooLarge`] over [`crate::proof_file::MAX_PROOF_LEN`] bytes,
    /// [`FraudError::NotAProof`] or
    /// [`FraudError::Field`] for text that is not a proof file, [`FraudError::Format`] for
    /// another version's.
    pub fn from_json(text: &str) -> Result<Self, FraudError> {
        crate::proof_file::read(text, FORMAT)
    }

    /// The proof as pretty-printed JSON (the file format), ending in a newline.
    ///
    /// # Errors
    /// [`crate::Error::Json`] (not expected for a well-formed proof).
    pub fn to_json(&self) -> crate::Result<String> {
        crate::proof_file::to_json(self)
    }

    /// Checks every rule of the module docs, in order; `Err` names the first that fails.
    ///
    /// # Errors
    /// The [`FraudError`] of the failing rule.
    pub fn check(&self) -> Result<Confirmed, FraudError> {
        self.check_with(&CheckOptions::default())
    }

    /// [`FraudProof::check`] with explicit options (the compute budget).
    ///
    /// # Errors
    /// The [`FraudError`] of the failing rule.
    pub fn check_with(&self, options: &CheckOptions) -> Result<Confirmed, FraudError> {
        let task = decode_task(&self.task)?;
        let receipt = decode_receipt(&self.receipt)?;
        let verdict: SignedVerdict =
            decode(&hex_field("verdict", &self.verdict)?).map_err(|e| envelope("verdict", &e))?;
        check_receipt(&receipt, &task)?;
        verdict
            .verify()
            .map_err(|e| FraudError::VerdictSignature(with_code(&e)))?;
        verdict
            .body
            .check_receipt(&receipt)
            .map_err(|e| FraudError::VerdictReceipt(with_code(&e)))?;
        refuse_fast_mode(&task)?;
        let units = task
            .compute_units()
            .map_err(|e| FraudError::ReceiptTask(with_code(&e)))?;
        if units > options.max_compute_units {
            return Err(FraudError::OverBudget {
                units,
                budget: options.max_compute_units,
            });
        }
        match verdict.body.outcome {
            Outcome::Mismatch => {}
            Outcome::Match => return Err(FraudError::NotMismatch("Match")),
            Outcome::Unchecked => return Err(FraudError::NotMismatch("Unchecked")),
            _ => return Err(FraudError::NotMismatch("an unknown outcome")),
        }
        let claimed_by_validator = verdict
            .body
            .recomputed_commitment
            .ok_or(FraudError::NoRecomputed)?;
        if let Some(b) = &self.batch {
            b.check(&receipt)?;
        }
        let weights = match (&self.weights, weight_format(task.kernel)) {
            (Some(src), _) => {
                let w = src.generate()?;
                // The task's kind of digest: SHA-256 (kernel version 1) or the row root (2).
                let d = match weight_format(task.kernel) {
                    Some(format) => mycel_kernels::tile::task_weights_digest(&task, format, &w)
                        .map_err(|e| FraudError::WeightsSource {
                            field: "rows",
                            reason: format!("{e} ({})", e.code()),
                        })?,
                    None => weights_digest(&w),
                };
                if d != task.weights_digest {
                    return Err(FraudError::WeightsDigest {
                        expected: task.weights_digest.to_string(),
                        actual: d.to_string(),
                    });
                }
                Some(w)
            }
            (None, Some(_)) => return Err(FraudError::WeightsMissing),
            (None, None) => None,
        };
        let out = execute(&task, weights.as_deref(), Backend::Auto, 0)
            .map_err(|e| FraudError::Execution(format!("{e} ({})", e.code())))?;
        if out.commitment == receipt.body.output_commitment {
            return Err(FraudError::ReceiptCorrect(out.commitment.to_string()));
        }
        if out.commitment != claimed_by_validator {
            return Err(FraudError::VerdictWrong {
                recomputed: out.commitment.to_string(),
                claimed: claimed_by_validator.to_string(),
            });
        }
        Ok(Confirmed {
            task,
            receipt,
            verdict,
            recomputed: out.commitment,
            batch_root: self.batch.as_ref().map(|b| b.root),
        })
    }
}

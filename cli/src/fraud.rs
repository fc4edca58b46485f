//! Fraud proofs and `mycel fraud verify FILE`.
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
//! 3. the verdict's signature is valid, it names this receipt, and its outcome is `Mismatch`;
//! 4. if `batch` is present, its inclusion proof places the receipt id under its root;
//! 5. the weights regenerate to the task's weights digest (matmul only);
//! 6. re-executing the task gives a commitment that differs from the receipt's and equals the
//!    verdict's recomputed commitment.
//!
//! `mycel fraud verify` exits 0 when the proof holds and 1 when it does not (or the file is
//! unreadable), saying which rule failed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::commit::InclusionProof;
use mycel_protocol::ids::Digest;
use mycel_protocol::receipt::{Outcome, SignedReceipt, SignedVerdict};
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{decode, encode};
use serde::{Deserialize, Serialize};

use crate::CliResult;

/// The `format` string of a version-1 fraud proof file.
pub const FORMAT: &str = "mycel-fraud-proof/v1";
/// The `generator` string naming `mycel_kernels::exec::generate_weights`.
pub const GENERATOR: &str = "mycel-kernels/generate_weights";
/// Largest fraud proof file read, in bytes.
pub const MAX_FILE_LEN: u64 = 64 * 1024;

/// Arguments of `mycel fraud`.
#[derive(Debug, clap::Args)]
pub struct FraudArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: FraudCommand,
}

/// `mycel fraud` operations.
#[derive(Debug, clap::Subcommand)]
pub enum FraudCommand {
    /// Re-execute the task of a fraud proof and confirm the mismatch (exit 0 if the proof holds).
    Verify(VerifyArgs),
}

/// Arguments of `mycel fraud verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Fraud proof files (JSON, `mycel-fraud-proof/v1`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
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
    pub fn new(seed: &[u8; 32], format: QuantFormat, rows: u32, cols: u32) -> Self {
        Self {
            generator: GENERATOR.into(),
            seed: hex::encode(seed),
            format: format.name().into(),
            rows,
            cols,
        }
    }

    /// Regenerates the weights (bare GGML blocks).
    pub fn generate(&self) -> Result<Vec<u8>, String> {
        if self.generator != GENERATOR {
            return Err(format!(
                "weights.generator: unknown generator {:?}",
                self.generator
            ));
        }
        let seed: [u8; 32] = hex::decode(&self.seed)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or("weights.seed: expected 64 hex digits")?;
        let format =
            QuantFormat::parse(&self.format).ok_or("weights.format: expected q8_0 or q4_0")?;
        if self.rows == 0 || self.rows > 65_536 || self.cols == 0 || self.cols > 65_536 {
            return Err("weights.rows/cols: out of range".into());
        }
        // Bound the allocation before generating: 8192 x 8192 Q8_0 is ~71 MB.
        if u64::from(self.rows) * u64::from(self.cols) > 1 << 26 {
            return Err(
                "weights.rows x cols: larger than this tool regenerates (2^26 values)".into(),
            );
        }
        generate_weights(&seed, format, self.rows as usize, self.cols as usize)
            .map_err(|e| format!("weights: {e}"))
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

/// A fraud proof file.
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
    ) -> Result<Self, mycel_protocol::Error> {
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

    /// Parses a proof file's text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let p: FraudProof =
            serde_json::from_str(text).map_err(|e| format!("not a fraud proof: {e}"))?;
        if p.format != FORMAT {
            return Err(format!("format: expected {FORMAT:?}, found {:?}", p.format));
        }
        Ok(p)
    }

    /// Checks every rule of the module docs; `Err` says which rule fails.
    pub fn check(&self) -> Result<Confirmed, String> {
        let hexbytes =
            |field: &str, s: &str| hex::decode(s).map_err(|e| format!("{field}: not hex: {e}"));
        let task = TaskSpec::decode(&hexbytes("task", &self.task)?)
            .map_err(|e| format!("task: not a valid task envelope: {e} ({})", e.code()))?;
        let receipt: SignedReceipt = decode(&hexbytes("receipt", &self.receipt)?)
            .map_err(|e| format!("receipt: not a valid receipt envelope: {e} ({})", e.code()))?;
        let verdict: SignedVerdict = decode(&hexbytes("verdict", &self.verdict)?)
            .map_err(|e| format!("verdict: not a valid verdict envelope: {e} ({})", e.code()))?;
        receipt
            .verify()
            .map_err(|e| format!("receipt: bad signature: {e} ({})", e.code()))?;
        receipt
            .body
            .check_task(&task)
            .map_err(|e| format!("receipt: does not belong to the task: {e} ({})", e.code()))?;
        verdict
            .verify()
            .map_err(|e| format!("verdict: bad signature: {e} ({})", e.code()))?;
        verdict
            .body
            .check_receipt(&receipt)
            .map_err(|e| format!("verdict: does not match the receipt: {e} ({})", e.code()))?;
        if verdict.body.outcome != Outcome::Mismatch {
            return Err(format!(
                "verdict: outcome is {:?}, not Mismatch",
                verdict.body.outcome
            ));
        }
        let claimed_by_validator = verdict
            .body
            .recomputed_commitment
            .ok_or("verdict: no recomputed commitment")?;
        if let Some(b) = &self.batch {
            let id = receipt
                .id()
                .map_err(|e| format!("receipt: no id: {e} ({})", e.code()))?;
            b.proof.verify(id.as_bytes(), &b.root).map_err(|e| {
                format!(
                    "batch: the receipt is not under root {}: {e} ({})",
                    b.root,
                    e.code()
                )
            })?;
        }
        let weights = match &self.weights {
            Some(src) => {
                let w = src.generate()?;
                let d = weights_digest(&w);
                if d != task.weights_digest {
                    return Err(format!(
                        "weights: regenerated weights hash to {d}, the task names {}",
                        task.weights_digest
                    ));
                }
                Some(w)
            }
            None => None,
        };
        let out = execute(&task, weights.as_deref(), Backend::Auto, 0)
            .map_err(|e| format!("re-execution failed: {e} ({})", e.code()))?;
        if out.commitment == receipt.body.output_commitment {
            return Err(format!(
                "re-execution gives {}, the commitment the receipt claims: the receipt is correct",
                out.commitment
            ));
        }
        if out.commitment != claimed_by_validator {
            return Err(format!(
                "re-execution gives {}, but the verdict claims {claimed_by_validator}: the verdict is wrong too",
                out.commitment
            ));
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

/// Reads a proof file (size-bounded).
pub fn read(path: &Path) -> Result<FraudProof, String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_FILE_LEN {
        return Err(format!(
            "{}: {} bytes, more than a fraud proof ({MAX_FILE_LEN})",
            path.display(),
            meta.len()
        ));
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    FraudProof::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `mycel fraud`.
pub fn run(args: FraudArgs) -> CliResult {
    match args.command {
        FraudCommand::Verify(v) => verify_files(&v.files),
    }
}

fn verify_files(files: &[PathBuf]) -> CliResult {
    let mut failed = 0usize;
    for path in files {
        match read(path).and_then(|p| p.check()) {
            Ok(c) => println!(
                "{}: fraud proof holds: miner {} claimed {} for task {} (epoch {}); re-execution gives {}, as validator {} said{}",
                path.display(),
                c.receipt.body.miner,
                c.receipt.body.output_commitment,
                c.receipt.body.task_digest,
                c.task.epoch.0,
                c.recomputed,
                c.verdict.body.validator,
                c.batch_root
                    .map(|r| format!("; the receipt is in the batch with root {r}"))
                    .unwrap_or_default(),
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{}: fraud proof does NOT hold: {e}", path.display());
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `mycel fraud verify FILE...`: reads fraud proof files of either version (size-bounded) and
//! checks each (spec/receipts.md sections 8 and 8b): a `mycel-fraud-proof/v1` proof by
//! re-executing the whole task, a `mycel-fraud-proof/v2` tile proof by recomputing one tile.
//!
//! `mycel fraud prove --task T --receipt R --opening O --out FILE`: a validator builds a tile
//! proof from a miner's opening of one tile, checks that it holds, and writes it.
//!
//! `verify` exits 0 when every proof holds and 1 when one does not (or a file is unreadable),
//! saying which rule failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mycel_node::fraud::MAX_FILE_LEN;
use mycel_node::tile_proof::{AnyProof, Checked, MAX_FILE_LEN_V2, TileProof};
use mycel_protocol::opening::TileOpening;
use mycel_protocol::receipt::SignedReceipt;

use crate::CliResult;

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
    /// Check fraud proofs (v1: re-execute the task; v2: recompute the opened tile); exit 0 if
    /// every proof holds.
    Verify(VerifyArgs),
    /// Build a tile fraud proof (v2) from a miner's opening of one tile, check it, write it.
    Prove(ProveArgs),
}

/// Arguments of `mycel fraud verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Fraud proof files (JSON, `mycel-fraud-proof/v1` or `mycel-fraud-proof/v2`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Refuse proofs that need more compute units than this: the whole task for v1, one tile
    /// (plus regenerated v1 weights) for v2 (a proof over it is reported as over budget, not
    /// as false).
    #[arg(long, value_name = "UNITS", default_value_t = mycel_node::fraud::DEFAULT_MAX_PROOF_UNITS)]
    pub max_units: u64,
}

/// Arguments of `mycel fraud prove`.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    /// The task envelope.
    #[arg(long, value_name = "FILE")]
    pub task: PathBuf,
    /// The miner's signed receipt envelope.
    #[arg(long, value_name = "FILE")]
    pub receipt: PathBuf,
    /// The miner's tile opening (from `mycel task open`).
    #[arg(long, value_name = "FILE")]
    pub opening: PathBuf,
    /// The task's weights as bare GGML blocks (the proof carries the tile's rows).
    #[arg(long, value_name = "FILE", conflicts_with = "weights_seed")]
    pub weights: Option<PathBuf>,
    /// The generator seed of the task's weights (64 hex digits; the proof carries the seed).
    /// Default for matmul: the task's seeded weights (`mycel task new`).
    #[arg(long, value_name = "HEX")]
    pub weights_seed: Option<String>,
    /// Free text stored in the proof's `note`.
    #[arg(long, default_value = "")]
    pub note: String,
    /// Where to write the proof (JSON; must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Reads a proof file of either version (size-bounded: a v1 file by [`MAX_FILE_LEN`], a v2
/// file by [`MAX_FILE_LEN_V2`]).
fn read(path: &Path) -> Result<AnyProof, String> {
    let bytes = crate::fsio::read_limited(path, MAX_FILE_LEN_V2, "a fraud proof")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: not UTF-8 text, not a fraud proof", path.display()))?;
    let proof = AnyProof::from_json(&text).map_err(|e| format!("{e} ({})", e.code()))?;
    if matches!(proof, AnyProof::V1(_)) && text.len() as u64 > MAX_FILE_LEN {
        return Err(format!(
            "{}: {} bytes, more than a v1 fraud proof ({MAX_FILE_LEN})",
            path.display(),
            text.len()
        ));
    }
    Ok(proof)
}

/// Runs `mycel fraud`.
pub fn run(args: FraudArgs) -> CliResult {
    match args.command {
        FraudCommand::Verify(v) => verify_files(&v.files, v.max_units),
        FraudCommand::Prove(p) => prove(p),
    }
}

fn verify_files(files: &[PathBuf], max_units: u64) -> CliResult {
    let options = mycel_node::fraud::CheckOptions {
        max_compute_units: max_units,
    };
    let mut failed = 0usize;
    for path in files {
        match read(path).and_then(|p| {
            p.check_with(&options)
                .map_err(|e| format!("{e} ({})", e.code()))
        }) {
            Ok(Checked::Commitment(c)) => println!(
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
            Ok(Checked::Tile(c)) => println!(
                "{}: tile fraud proof holds: miner {} committed tile {} (rows {}..{}, columns {}..{}) of task {} (epoch {}) as leaf {}; recomputing it gives leaf {}{}",
                path.display(),
                c.receipt.body.miner,
                c.tile,
                c.rect.row0,
                c.rect.row1,
                c.rect.col0,
                c.rect.col1,
                c.receipt.body.task_digest,
                c.task.epoch.0,
                c.claimed_leaf,
                c.recomputed_leaf,
                c.batch_root
                    .map(|r| format!("; the receipt is in the batch with root {r}"))
                    .unwrap_or_default(),
            ),
            Ok(_) => println!("{}: fraud proof holds", path.display()),
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

fn prove(a: ProveArgs) -> CliResult {
    let task = crate::task::read_task(&a.task)?;
    let read = |p: &Path, limit: u64, what: &str| crate::fsio::read_limited(p, limit, what);
    let receipt: SignedReceipt = mycel_protocol::wire::decode(&read(
        &a.receipt,
        crate::fsio::ENVELOPE_FILE_LIMIT,
        "an envelope",
    )?)
    .map_err(|e| {
        format!(
            "{}: not a valid receipt envelope: {e} ({})",
            a.receipt.display(),
            e.code()
        )
    })?;
    let opening = TileOpening::decode(&read(
        &a.opening,
        mycel_protocol::opening::MAX_OPENING_LEN as u64,
        "a tile opening",
    )?)
    .map_err(|e| {
        format!(
            "{}: not a tile opening: {e} ({})",
            a.opening.display(),
            e.code()
        )
    })?;
    let bytes = a
        .weights
        .as_deref()
        .map(|p| read(p, crate::fsio::BLOCKS_FILE_LIMIT, "a weights file"))
        .transpose()?;
    let weights = crate::task::weights_source(bytes.as_deref(), a.weights_seed.as_deref())?
        .proof_input(&task)?;
    let proof = TileProof::new(&task, &receipt, &opening, weights, None, a.note)?;
    let confirmed = proof
        .check()
        .map_err(|e| format!("no proof written: it would not hold: {e} ({})", e.code()))?;
    let text = proof.to_json()?;
    crate::fsio::write_new(&a.out, text.as_bytes(), false)?;
    println!("{}", a.out.display());
    eprintln!(
        "tile {} of miner {}: committed leaf {}, recomputed leaf {}; {} bytes",
        confirmed.tile,
        confirmed.receipt.body.miner,
        confirmed.claimed_leaf,
        confirmed.recomputed_leaf,
        text.len()
    );
    Ok(ExitCode::SUCCESS)
}

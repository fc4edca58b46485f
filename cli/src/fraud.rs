//! `mycel fraud verify FILE...`: reads fraud proof files (size-bounded) and checks each with
//! [`mycel_node::FraudProof::check`] (the rules are in spec/receipts.md section 8).
//!
//! Exits 0 when every proof holds and 1 when one does not (or a file is unreadable), saying
//! which rule failed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mycel_node::FraudProof;
use mycel_node::fraud::MAX_FILE_LEN;

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

/// Reads a proof file (size-bounded).
fn read(path: &Path) -> Result<FraudProof, String> {
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
        match read(path).and_then(|p| p.check().map_err(|e| format!("{e} ({})", e.code()))) {
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

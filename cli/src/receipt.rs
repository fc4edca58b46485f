//! `mycel receipt sign` and `mycel receipt verify` (spec/receipts.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use mycel_protocol::Error;
use mycel_protocol::ids::{Digest, Hotkey};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
use mycel_protocol::sign::{Signed, verify_signed_batch};
use mycel_protocol::wire::{AnyMessage, encode};

use crate::CliResult;

/// Arguments of `mycel receipt`.
#[derive(Debug, clap::Args)]
pub struct ReceiptArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: ReceiptCommand,
}

/// `mycel receipt` operations.
#[derive(Debug, clap::Subcommand)]
pub enum ReceiptCommand {
    /// Sign a work receipt for a task with a miner key and write the receipt envelope.
    Sign(SignArgs),
    /// Verify receipt files (receipt or receipt-batch envelopes); names every failing receipt.
    Verify(VerifyArgs),
}

/// Arguments of `mycel receipt sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The miner's key file (from `mycel keygen`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The task envelope the receipt is for (network, subnet, epoch, digest and compute units
    /// are taken from it).
    #[arg(long, value_name = "FILE")]
    pub task: PathBuf,
    /// Hotkey (hex) of the validator that assigned the task.
    #[arg(long, value_name = "HEX")]
    pub assigner: String,
    /// Tensor commitment of the output (hex, 32 bytes).
    #[arg(long, value_name = "HEX")]
    pub output_commitment: String,
    /// Merkle root of the output tiles (hex, 32 bytes).
    #[arg(long, value_name = "HEX")]
    pub tile_root: String,
    /// Nonce (default: the current time in nanoseconds).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Advisory start time in ms since the Unix epoch (default: now).
    #[arg(long, value_name = "MS")]
    pub started_ms: Option<u64>,
    /// Advisory finish time in ms since the Unix epoch (default: the start time).
    #[arg(long, value_name = "MS")]
    pub finished_ms: Option<u64>,
    /// Diagnostic backend label (≤ 32 printable ASCII bytes).
    #[arg(long, default_value = "cli")]
    pub backend: String,
    /// Where to write the signed receipt envelope (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Arguments of `mycel receipt verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Receipt or receipt-batch envelope files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also check every receipt against this task envelope (network, subnet, epoch, task digest,
    /// compute units).
    #[arg(long, value_name = "FILE")]
    pub task: Option<PathBuf>,
    /// Verify signatures one by one instead of as one batch (same verdicts, slower).
    #[arg(long)]
    pub single: bool,
}

fn digest_arg(name: &str, s: &str) -> Result<Digest, String> {
    Digest::from_hex(s.trim()).ok_or_else(|| format!("--{name}: expected 64 hex digits"))
}

fn now() -> core::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn sign(args: SignArgs) -> CliResult {
    let key = crate::keys::load(&args.key)?;
    let task = crate::task::read_task(&args.task)?;
    let assigner =
        Hotkey::from_hex(args.assigner.trim()).ok_or("--assigner: expected 64 hex digits")?;
    let started = args
        .started_ms
        .unwrap_or_else(|| u64::try_from(now().as_millis()).unwrap_or(u64::MAX));
    let receipt = WorkReceipt {
        network: task.network,
        subnet: task.subnet,
        epoch: task.epoch,
        task_digest: task.digest()?,
        assigner,
        miner: key.hotkey(),
        output_commitment: digest_arg("output-commitment", &args.output_commitment)?,
        output_tile_root: digest_arg("tile-root", &args.tile_root)?,
        compute_units: task.compute_units()?,
        started_at_ms: started,
        finished_at_ms: args.finished_ms.unwrap_or(started),
        nonce: args
            .nonce
            .unwrap_or_else(|| u64::try_from(now().as_nanos()).unwrap_or(u64::MAX)),
        backend: BackendLabel::new(&args.backend).map_err(|e| format!("--backend: {e}"))?,
    };
    let signed = Signed::sign(receipt, &key)?;
    let bytes = encode(&signed)?;
    crate::fsio::write_new(&args.out, &bytes, false)?;
    eprintln!(
        "wrote signed receipt {} ({} bytes)",
        args.out.display(),
        bytes.len()
    );
    println!("{}", signed.id()?);
    Ok(ExitCode::SUCCESS)
}

/// Why one receipt failed.
fn reason(e: &Error) -> String {
    format!("{e} ({})", e.code())
}

fn verify(args: VerifyArgs) -> CliResult {
    let task = args
        .task
        .as_deref()
        .map(crate::task::read_task)
        .transpose()?;
    // (label for messages, receipt)
    let mut receipts: Vec<(String, SignedReceipt)> = Vec::new();
    let mut bad_files = 0usize;
    for path in &args.files {
        let name = path.display().to_string();
        let decoded =
            crate::fsio::read_limited(path, crate::fsio::ENVELOPE_FILE_LIMIT, "an envelope")
                .and_then(|b| AnyMessage::decode(&b).map_err(|e| reason(&e)));
        match decoded {
            Ok(AnyMessage::Receipt(r)) => receipts.push((name, r)),
            Ok(AnyMessage::ReceiptBatch(b)) => {
                println!(
                    "{name}: receipt batch of {}, root {}",
                    b.receipts.len(),
                    b.root()?
                );
                receipts.extend(
                    b.receipts
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| (format!("{name}[{i}]"), r)),
                );
            }
            Ok(other) => {
                println!("{name}: FAILED: a {} envelope, not a receipt", other.kind());
                bad_files += 1;
            }
            Err(e) => {
                println!("{name}: FAILED: {e}");
                bad_files += 1;
            }
        }
    }
    let bodies: Vec<SignedReceipt> = receipts.iter().map(|(_, r)| r.clone()).collect();
    let results = if args.single {
        bodies.iter().map(Signed::verify).collect()
    } else {
        verify_signed_batch(&bodies)?
    };
    let mut failed = 0usize;
    for ((name, r), sig) in receipts.iter().zip(results) {
        let verdict = sig.and_then(|()| task.as_ref().map_or(Ok(()), |t| r.body.check_task(t)));
        match verdict {
            Ok(()) => println!("{name}: ok {}", r.id()?),
            Err(e) => {
                println!("{name}: FAILED: {}", reason(&e));
                failed += 1;
            }
        }
    }
    if failed == 0 && bad_files == 0 {
        eprintln!("all {} receipts verified", receipts.len());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{failed} of {} receipts failed; {bad_files} files unreadable",
            receipts.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `mycel receipt ...`.
pub fn run(args: ReceiptArgs) -> CliResult {
    match args.command {
        ReceiptCommand::Sign(a) => sign(a),
        ReceiptCommand::Verify(a) => verify(a),
    }
}

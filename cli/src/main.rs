//! `mycel`: the command-line face of the mycel SDK.
//!
//! Data goes to stdout, progress and errors to stderr. Every subcommand lives in its own
//! module; `main` only parses and dispatches. A failing command prints `error: ...` on stderr
//! and exits with status 1 (status 2 is clap's usage error).
// Doc comments on clap arguments are the `--help` text, where `[M, K]` is shape notation,
// not an intra-doc link.
#![allow(rustdoc::broken_intra_doc_links)]
// The protocol crate's deny list: no unwrap, expect, panic or unchecked indexing outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
use std::process::ExitCode;

mod conformance;
mod epoch;
mod fraud;
mod fsio;
mod inspect;
mod kernel;
mod kernel_attention;
mod keys;
mod localnet;
mod node;
mod npy;
mod receipt;
mod sig;
mod simulate;
mod task;

use clap::{Parser, Subcommand};

/// The result every subcommand returns: an exit code, or an error to print.
pub type CliResult = Result<ExitCode, Box<dyn core::error::Error>>;

/// The mycel command-line tool.
#[derive(Debug, Parser)]
#[command(
    name = "mycel",
    version,
    about = "mycel: keys, receipts, epochs, kernels, local subnet simulation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Every subcommand, one variant each.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run one Yuma epoch on a JSON input (spec/emission.md).
    Epoch(epoch::EpochArgs),
    /// Run the work kernels on files: quantize, dequantize, matmul (spec/kernels.md).
    Kernel(kernel::KernelArgs),
    /// Execute a TaskSpec and print its output commitment (spec/kernels.md §5).
    Task(task::TaskArgs),
    /// Create an ed25519 key file (mode 0600) and print its hotkey.
    Keygen(keys::KeygenArgs),
    /// Sign and verify work receipts (spec/receipts.md).
    Receipt(receipt::ReceiptArgs),
    /// Decode any envelope and print it as JSON (spec/wire.md).
    Inspect(inspect::InspectArgs),
    /// The raw ed25519 rule on JSON lines (spec/signatures.md).
    Sig(sig::SigArgs),
    /// Run a local subnet: real kernels, signed receipts, spot checks, fraud proofs, Yuma emission.
    Simulate(simulate::SimulateArgs),
    /// Check fraud proofs by re-executing their task.
    Fraud(fraud::FraudArgs),
    /// Run one miner or validator node on the network (libp2p).
    Node(node::NodeArgs),
    /// Run a whole subnet as node processes on 127.0.0.1 and write localnet.json.
    Localnet(localnet::LocalnetArgs),
    /// Check an implementation against the conformance vectors (conformance/README.md).
    Conformance(conformance::ConformanceArgs),
}

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Epoch(args) => epoch::run(args),
        Command::Kernel(args) => kernel::run(args),
        Command::Task(args) => task::run(args),
        Command::Keygen(args) => keys::run(args),
        Command::Receipt(args) => receipt::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Sig(args) => sig::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Fraud(args) => fraud::run(args),
        Command::Node(args) => node::run(args),
        Command::Localnet(args) => localnet::run(args),
        Command::Conformance(args) => conformance::run(args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

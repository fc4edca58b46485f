//! `mycel`: the command-line face of the mycel SDK.
use clap::Parser;

/// The mycel command-line tool.
#[derive(Debug, Parser)]
#[command(name = "mycel", version, about = "mycel: keys, receipts, epochs, kernels, local subnet simulation")]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}

//! `mycel sig verify`: the raw signature rule (spec/signatures.md) for implementers.
//!
//! Reads JSON lines `{"pk": HEX, "msg": HEX, "sig": HEX}` on stdin and prints one line per input
//! line on stdout: `valid`, or `invalid: <reason> (<code>)`. A line that is not such an object
//! prints `invalid: bad input: <detail>`. Blank lines are skipped. `--batch` checks all lines as
//! one batch (spec/signatures.md §4) and prints the same verdicts. Exit status 0 when every line
//! is valid, 1 otherwise.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use mycel_protocol::error::SignatureError;
use mycel_protocol::sign::{SliceItem, verify_batch_slices, verify_slices};
use serde::Deserialize;

use crate::CliResult;

/// Arguments of `mycel sig`.
#[derive(Debug, clap::Args)]
pub struct SigArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: SigCommand,
}

/// `mycel sig` operations.
#[derive(Debug, clap::Subcommand)]
pub enum SigCommand {
    /// Verify JSON lines {"pk","msg","sig"} (hex) from stdin: one `valid` / `invalid: ...` line each.
    Verify {
        /// Verify all lines as one batch (same verdicts as one by one).
        #[arg(long)]
        batch: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    pk: String,
    msg: String,
    sig: String,
}

/// One parsed input line.
enum Input {
    /// Decoded bytes.
    Bytes {
        pk: Vec<u8>,
        msg: Vec<u8>,
        sig: Vec<u8>,
    },
    /// Not a valid input line.
    Bad(String),
}

fn parse(line: &str) -> Input {
    let l: Line = match serde_json::from_str(line) {
        Ok(l) => l,
        Err(e) => return Input::Bad(format!("not a {{\"pk\",\"msg\",\"sig\"}} object: {e}")),
    };
    let field = |name: &str, v: &str| hex::decode(v).map_err(|e| format!("{name}: {e}"));
    match (
        field("pk", &l.pk),
        field("msg", &l.msg),
        field("sig", &l.sig),
    ) {
        (Ok(pk), Ok(msg), Ok(sig)) => Input::Bytes { pk, msg, sig },
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Input::Bad(e),
    }
}

fn verdict_line(r: &Result<(), SignatureError>) -> String {
    match r {
        Ok(()) => "valid".to_owned(),
        Err(e) => format!("invalid: {e} ({})", e.code()),
    }
}

/// `mycel sig ...`.
pub fn run(args: SigArgs) -> CliResult {
    let SigCommand::Verify { batch } = args.command;
    let mut inputs = Vec::new();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        inputs.push(parse(&line));
    }
    let mut lines: Vec<String> = Vec::with_capacity(inputs.len());
    if batch {
        // One batch over the decoded lines (wrong lengths are refused first, item by item).
        let slices: Vec<SliceItem<'_>> = inputs
            .iter()
            .filter_map(|input| match input {
                Input::Bytes { pk, msg, sig } => {
                    Some((pk.as_slice(), msg.as_slice(), sig.as_slice()))
                }
                Input::Bad(_) => None,
            })
            .collect();
        let mut verdicts = verify_batch_slices(&slices)?.into_results().into_iter();
        for input in &inputs {
            lines.push(match input {
                Input::Bad(e) => format!("invalid: bad input: {e}"),
                Input::Bytes { .. } => verdicts
                    .next()
                    .map_or_else(|| "invalid: bad input".to_owned(), |r| verdict_line(&r)),
            });
        }
    } else {
        for input in &inputs {
            lines.push(match input {
                Input::Bad(e) => format!("invalid: bad input: {e}"),
                Input::Bytes { pk, msg, sig } => verdict_line(&verify_slices(pk, msg, sig)),
            });
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let mut all_valid = true;
    for l in &lines {
        all_valid &= l == "valid";
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    eprintln!(
        "{} of {} valid",
        lines.iter().filter(|l| *l == "valid").count(),
        lines.len()
    );
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

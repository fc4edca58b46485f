//! `mycel epoch`: run one Yuma epoch (spec/emission.md) on a JSON input.
//!
//! `mycel epoch --input FILE.json` (or stdin when `--input` is absent or `-`) reads one input
//! object and prints one output object; `--jsonl` reads one input per line and writes one
//! output per line. Errors go to stderr and name the offending field (and line, with `--jsonl`).

use std::fs;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use mycel_protocol::emission::{EpochInput, epoch};

use crate::CliResult;

/// Arguments of `mycel epoch`.
#[derive(Debug, clap::Args)]
pub struct EpochArgs {
    /// Input JSON file (`-` or absent: stdin).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Read one input object per line and write one output object per line.
    #[arg(long)]
    pub jsonl: bool,
}

/// An error on one input, with its position.
#[derive(Debug)]
struct InputError {
    line: Option<usize>,
    message: String,
}

impl core::fmt::Display for InputError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl core::error::Error for InputError {}

fn one(text: &str, line: Option<usize>) -> Result<String, InputError> {
    let input: EpochInput = serde_json::from_str(text).map_err(|e| InputError {
        line,
        message: format!("invalid input: {e}"),
    })?;
    let output = epoch(&input).map_err(|e| InputError {
        line,
        message: format!("{e} [{}]", e.code()),
    })?;
    serde_json::to_string(&output).map_err(|e| InputError {
        line,
        message: format!("encoding output: {e}"),
    })
}

/// Runs `mycel epoch`.
///
/// # Errors
/// Unreadable input, invalid JSON, or an input that violates the schema.
pub fn run(args: EpochArgs) -> CliResult {
    let reader: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        _ => Box::new(io::stdin().lock()),
    };
    // Bounded: a larger input is refused below instead of filling memory.
    let limit = crate::fsio::EPOCH_INPUT_LIMIT;
    let reader = reader.take(limit + 1);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.jsonl {
        for (idx, line) in io::BufReader::new(reader).lines().enumerate() {
            let line = line?;
            if line.len() as u64 > limit {
                return Err(
                    format!("line {}: larger than the {limit}-byte input limit", idx + 1).into(),
                );
            }
            if line.trim().is_empty() {
                continue;
            }
            let s = one(&line, Some(idx + 1))?;
            out.write_all(s.as_bytes())?;
            out.write_all(b"\n")?;
        }
    } else {
        let mut text = String::new();
        io::BufReader::new(reader).read_to_string(&mut text)?;
        if text.len() as u64 > limit {
            return Err(format!("input: larger than the {limit}-byte limit").into());
        }
        let s = one(&text, None)?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

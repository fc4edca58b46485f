//! `mycel conformance run --vectors DIR [--adapter CMD] [--long] [--area NAME]...`: checks an
//! implementation against the conformance vectors (conformance/README.md).
//!
//! Without `--adapter` the implementation checked is this binary's own (the reference crates).
//! With it, `CMD` is started through `sh -c` and spoken to in the JSON-lines adapter protocol
//! ([`mycel_conformance::adapter`]): one request per case on its stdin, one response per line on
//! its stdout. Prints `<area>.json: N passed, N failed` per file, each failing `tcId` with the
//! reason before it, and exits 1 when any case fails.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use mycel_conformance::adapter::Adapter;
use mycel_conformance::{Request, Response, load_dir, reference, run_file};

use crate::CliResult;

/// Arguments of `mycel conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: ConformanceCommand,
}

/// `mycel conformance` operations.
#[derive(Debug, clap::Subcommand)]
pub enum ConformanceCommand {
    /// Run the vectors against this binary or an adapter; exit 1 when a case fails.
    Run(RunArgs),
    /// Serve this binary's reference implementation as an adapter (requests on stdin,
    /// responses on stdout), e.g. to try an adapter-driven runner against a known-good side.
    Serve,
}

/// Arguments of `mycel conformance run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The folder of vector files (conformance/vectors).
    #[arg(long, value_name = "DIR")]
    pub vectors: PathBuf,
    /// The implementation under test: a command line run through `sh -c` that speaks the
    /// adapter protocol (absent: this binary's reference implementation).
    #[arg(long, value_name = "CMD")]
    pub adapter: Option<String>,
    /// Also run the cases flagged `Long` (the 100,000-task kernel stream).
    #[arg(long)]
    pub long: bool,
    /// Only these areas (file names without `.json`); repeatable.
    #[arg(long, value_name = "NAME")]
    pub area: Vec<String>,
}

/// Runs `mycel conformance`.
pub fn run(args: ConformanceArgs) -> CliResult {
    let a = match args.command {
        ConformanceCommand::Run(a) => a,
        ConformanceCommand::Serve => return serve(),
    };
    let mut files = load_dir(&a.vectors)?;
    if !a.area.is_empty() {
        files.retain(|f| a.area.contains(&f.area));
        if files.is_empty() {
            return Err(format!("no vector file for the areas {}", a.area.join(", ")).into());
        }
    }
    let mut adapter = a.adapter.as_deref().map(Adapter::start).transpose()?;
    let mut failed = 0usize;
    let mut passed = 0usize;
    for f in &files {
        let mut respond = |req: &Request| -> mycel_conformance::Result<Response> {
            match adapter.as_mut() {
                Some(ad) => ad.ask(req),
                None => Ok(reference::respond(req)),
            }
        };
        let report = run_file(f, &mut respond, a.long);
        let comments: std::collections::BTreeMap<u64, &str> = f
            .test_groups
            .iter()
            .flat_map(|g| g.tests.iter().map(|c| (c.tc_id, c.comment.as_str())))
            .collect();
        for x in &report.failed {
            println!(
                "  FAIL {}.json tcId {} ({}): {}",
                f.area,
                x.tc_id,
                comments.get(&x.tc_id).copied().unwrap_or(""),
                x.reason
            );
        }
        if report.skipped_long > 0 {
            println!(
                "  {}.json: {} long case(s) not run (--long runs them)",
                f.area, report.skipped_long
            );
        }
        println!("{report}");
        if !report.failed.is_empty() {
            let ids: Vec<String> = report.failed.iter().map(|x| x.tc_id.to_string()).collect();
            println!("  failing tcIds in {}.json: {}", f.area, ids.join(", "));
        }
        passed += report.passed;
        failed += report.failed.len();
    }
    if let Some(why) = adapter.and_then(Adapter::finish) {
        eprintln!("warning: {why}");
    }
    println!("total: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `mycel conformance serve`: the adapter protocol over the reference implementation.
fn serve() -> CliResult {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let req: Request = serde_json::from_str(&line)?;
        serde_json::to_writer(&mut out, &reference::respond(&req))?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

//! # mycel-conformance
//!
//! Language-neutral test vectors for mycel (`conformance/vectors/*.json`), the generator that
//! writes them from the reference crates, the reference responder that answers every case, and
//! the runner that checks any responder against the vectors: the Rust crates here, an outside
//! implementation through the JSON-lines adapter protocol of `mycel conformance run`
//! ([`adapter`]), or the Python, Node and browser runners beside this crate.
//!
//! The format, the versioning rules and how to add a case are in `conformance/README.md`.
//!
//! ```
//! use mycel_conformance::{load_dir, reference, run_file};
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors");
//! let files = load_dir(std::path::Path::new(dir))?;
//! let merkle = files.iter().find(|f| f.area == "merkle").expect("merkle.json");
//! let report = run_file(merkle, &mut |req| Ok(reference::respond(req)), false);
//! assert_eq!(report.failed.len(), 0);
//! # Ok::<(), mycel_conformance::Error>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod adapter;
pub mod areas;
pub mod generate;
pub mod reference;
pub mod stream;
mod util;

use core::fmt;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The suite's name, in every file's header.
pub const SUITE: &str = "mycel-conformance";
/// The suite version: its major number is the protocol version the vectors test
/// (spec/README.md, "Versioning"); the minor grows when cases are added, the patch when a
/// comment or flag changes.
pub const SUITE_VERSION: &str = "1.0.0";
/// The protocol version the vectors test (the envelope's first byte).
pub const PROTOCOL_VERSION: u8 = mycel_protocol::wire::PROTOCOL_VERSION;
/// The flag of cases that the runners run only when asked for long runs (`--long`).
pub const LONG_FLAG: &str = "Long";

/// The vector files, one per area, in the order runners report them.
pub const AREAS: [&str; 11] = [
    "wire",
    "signatures",
    "receipts",
    "merkle",
    "commitments",
    "tasks",
    "kernels",
    "scoring",
    "emission",
    "sampling",
    "fraud",
];

/// An error of the harness itself (a file that cannot be read or parsed, an adapter that
/// cannot be started), as opposed to a case that fails.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for Error {}

/// Shorthand for harness results.
pub type Result<T> = core::result::Result<T, Error>;

/// One vector file (`conformance/vectors/<area>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorFile {
    /// Always [`SUITE`].
    pub suite: String,
    /// [`SUITE_VERSION`] when written.
    pub suite_version: String,
    /// The protocol version tested.
    pub protocol_version: u8,
    /// The area (the file name without `.json`).
    pub area: String,
    /// The id of the JSON Schema the file follows (`conformance/schema/<area>.schema.json`).
    pub schema: String,
    /// The spec sections the cases test (paths from the repository root, with anchors).
    pub spec: Vec<String>,
    /// What the file covers, for people.
    pub header: Vec<String>,
    /// The number of cases in all groups.
    pub number_of_tests: usize,
    /// What each flag used in the file means.
    pub notes: BTreeMap<String, String>,
    /// The groups.
    pub test_groups: Vec<TestGroup>,
}

/// Cases that share an operation and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestGroup {
    /// The operation every case of the group asks for (README: "Operations").
    pub op: String,
    /// What the group covers.
    pub comment: String,
    /// Parameters shared by the group's cases (an object; often empty).
    pub params: Value,
    /// The cases.
    pub tests: Vec<TestCase>,
}

/// The expected outcome of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The operation succeeds with the expected output.
    Valid,
    /// The operation is refused with the expected error code.
    Invalid,
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestCase {
    /// The case id, unique within the file (1, 2, …).
    pub tc_id: u64,
    /// What the case tests.
    pub comment: String,
    /// The edge cases it exercises (defined in the file's `notes`).
    pub flags: Vec<String>,
    /// The operation's input (an object).
    pub input: Value,
    /// Valid or invalid.
    pub result: Outcome,
    /// The expected output of a valid case (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The expected error code of an invalid case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an implementation is asked: one case (the adapter protocol's request line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The area (vector file).
    pub area: String,
    /// The operation.
    pub op: String,
    /// The case id.
    pub tc_id: u64,
    /// The group's parameters.
    pub params: Value,
    /// The case's input.
    pub input: Value,
}

/// What an implementation answers (the adapter protocol's response line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The case id the response is for.
    pub tc_id: u64,
    /// Valid or invalid.
    pub result: Outcome,
    /// The output of a valid outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error code of an invalid outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A valid outcome with `output`.
    pub fn valid(tc_id: u64, output: Value) -> Self {
        Self {
            tc_id,
            result: Outcome::Valid,
            output: Some(output),
            error: None,
        }
    }

    /// An invalid outcome with error `code`.
    pub fn invalid(tc_id: u64, code: &str) -> Self {
        Self {
            tc_id,
            result: Outcome::Invalid,
            output: None,
            error: Some(code.into()),
        }
    }
}

/// A case that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The case id.
    pub tc_id: u64,
    /// What differed.
    pub reason: String,
}

/// The outcome of running one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The area.
    pub area: String,
    /// Cases that gave the expected outcome.
    pub passed: usize,
    /// Cases that did not.
    pub failed: Vec<Failure>,
    /// Cases flagged [`LONG_FLAG`] that were not run.
    pub skipped_long: usize,
}

impl fmt::Display for Report {
    /// The closing line every runner prints: `<area>.json: N passed, N failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.json: {} passed, {} failed",
            self.area,
            self.passed,
            self.failed.len()
        )
    }
}

/// Compares an answer with a case's expectation; `None` when it passes.
pub fn judge(case: &TestCase, got: &Response) -> Option<String> {
    if got.tc_id != case.tc_id {
        return Some(format!(
            "response is for tcId {}, expected {}",
            got.tc_id, case.tc_id
        ));
    }
    match (case.result, got.result) {
        (Outcome::Valid, Outcome::Valid) => {
            let want = case.output.as_ref().unwrap_or(&Value::Null);
            let have = got.output.as_ref().unwrap_or(&Value::Null);
            (want != have).then(|| format!("output {have} differs from the expected {want}"))
        }
        (Outcome::Invalid, Outcome::Invalid) => (case.error != got.error).then(|| {
            format!(
                "error {} differs from the expected {}",
                got.error.as_deref().unwrap_or("(none)"),
                case.error.as_deref().unwrap_or("(none)")
            )
        }),
        (Outcome::Valid, Outcome::Invalid) => Some(format!(
            "refused with {} but the case is valid",
            got.error.as_deref().unwrap_or("(no code)")
        )),
        (Outcome::Invalid, Outcome::Valid) => Some(format!(
            "accepted but the case is invalid ({})",
            case.error.as_deref().unwrap_or("(no code)")
        )),
    }
}

/// Runs every case of `file` through `respond` and compares; `long` also runs the cases
/// flagged [`LONG_FLAG`]. A responder error fails the case with its message.
pub fn run_file(
    file: &VectorFile,
    respond: &mut dyn FnMut(&Request) -> Result<Response>,
    long: bool,
) -> Report {
    let mut report = Report {
        area: file.area.clone(),
        ..Report::default()
    };
    for g in &file.test_groups {
        for case in &g.tests {
            if !long && case.flags.iter().any(|f| f == LONG_FLAG) {
                report.skipped_long += 1;
                continue;
            }
            let req = Request {
                area: file.area.clone(),
                op: g.op.clone(),
                tc_id: case.tc_id,
                params: g.params.clone(),
                input: case.input.clone(),
            };
            let verdict = match respond(&req) {
                Ok(got) => judge(case, &got),
                Err(e) => Some(e.0),
            };
            match verdict {
                None => report.passed += 1,
                Some(reason) => report.failed.push(Failure {
                    tc_id: case.tc_id,
                    reason,
                }),
            }
        }
    }
    report
}

/// Reads one vector file.
///
/// # Errors
/// When the file cannot be read or is not a vector file.
pub fn load_file(path: &Path) -> Result<VectorFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| Error(format!("{}: {e}", path.display())))
}

/// Reads the vector files of every area in `dir` (those present, in [`AREAS`] order; at least
/// one must be).
///
/// # Errors
/// When a present file cannot be read or parsed, or none is present.
pub fn load_dir(dir: &Path) -> Result<Vec<VectorFile>> {
    let mut out = Vec::new();
    for area in AREAS {
        let path = dir.join(format!("{area}.json"));
        if path.exists() {
            out.push(load_file(&path)?);
        }
    }
    if out.is_empty() {
        return Err(Error(format!(
            "{}: no vector files ({}.json, …)",
            dir.display(),
            AREAS.join(".json, ")
        )));
    }
    Ok(out)
}

/// Renders a vector file as the generator writes it: pretty JSON (two-space indent, object
/// keys of inputs and outputs sorted) and a final newline.
///
/// # Errors
/// Not expected (serialisation of plain values).
pub fn render(file: &VectorFile) -> Result<String> {
    let mut s = serde_json::to_string_pretty(file).map_err(|e| Error(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

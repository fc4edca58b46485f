//! The areas: for each, the drafted cases ([`drafts`]), what its file says about itself
//! ([`meta`]) and the reference answer to each operation ([`respond`]).

use serde_json::Value;

use crate::generate::{DraftGroup, Meta};
use crate::util::Answer;
use crate::{Error, Result};

pub mod commitments;
pub mod emission;
pub mod fixtures;
pub mod fraud;
pub mod kernels;
pub mod merkle;
pub mod receipts;
pub mod sampling;
pub mod scoring;
pub mod signatures;
pub mod tasks;
pub mod wire;

fn unknown(area: &str) -> Error {
    Error(format!("unknown area {area}"))
}

/// The drafted groups of `area`.
///
/// # Errors
/// An unknown area, or a fixture that cannot be built.
pub fn drafts(area: &str) -> Result<Vec<DraftGroup>> {
    match area {
        "wire" => wire::drafts(),
        "signatures" => signatures::drafts(),
        "receipts" => receipts::drafts(),
        "merkle" => merkle::drafts(),
        "commitments" => commitments::drafts(),
        "tasks" => tasks::drafts(),
        "kernels" => kernels::drafts(),
        "scoring" => scoring::drafts(),
        "emission" => emission::drafts(),
        "sampling" => sampling::drafts(),
        "fraud" => fraud::drafts(),
        other => Err(unknown(other)),
    }
}

/// What `area`'s file says about itself.
///
/// # Errors
/// An unknown area.
pub fn meta(area: &str) -> Result<Meta> {
    Ok(match area {
        "wire" => wire::meta(),
        "signatures" => signatures::meta(),
        "receipts" => receipts::meta(),
        "merkle" => merkle::meta(),
        "commitments" => commitments::meta(),
        "tasks" => tasks::meta(),
        "kernels" => kernels::meta(),
        "scoring" => scoring::meta(),
        "emission" => emission::meta(),
        "sampling" => sampling::meta(),
        "fraud" => fraud::meta(),
        other => return Err(unknown(other)),
    })
}

/// Notes built at generation time (Wycheproof's flags in `signatures.json`).
///
/// # Errors
/// An imported file that does not parse.
pub fn extra_notes(area: &str) -> Result<Vec<(String, String)>> {
    match area {
        "signatures" => signatures::wycheproof_notes(),
        _ => Ok(Vec::new()),
    }
}

/// The reference answer to operation `op` of `area`: the output of a valid outcome, or the
/// error code of an invalid one (`harness: …` when the input itself is malformed).
pub fn respond(area: &str, op: &str, params: &Value, input: &Value) -> Answer {
    match area {
        "wire" => wire::respond(op, params, input),
        "signatures" => signatures::respond(op, params, input),
        "receipts" => receipts::respond(op, params, input),
        "merkle" => merkle::respond(op, params, input),
        "commitments" => commitments::respond(op, params, input),
        "tasks" => tasks::respond(op, params, input),
        "kernels" => kernels::respond(op, params, input),
        "scoring" => scoring::respond(op, params, input),
        "emission" => emission::respond(op, params, input),
        "sampling" => sampling::respond(op, params, input),
        "fraud" => fraud::respond(op, params, input),
        other => Err(format!("harness: unknown area {other}")),
    }
}

/// The answer to an operation the area does not define.
pub(crate) fn unknown_op(op: &str) -> String {
    format!("harness: unknown op {op}")
}

//! The JSON file format that fraud proofs of both versions share (spec/receipts.md §8, §8b):
//! one JSON object whose `format` string names the version, read and written here for
//! [`crate::fraud::FraudProof`] (`mycel-fraud-proof/v1`) and [`crate::tile_proof::TileProof`]
//! (`mycel-fraud-proof/v2`).
//!
//! Reading goes in this order, each step with its own typed error:
//! 1. the text is at most [`MAX_PROOF_LEN`] bytes, the largest proof file of any version,
//!    before anything is parsed ([`FraudError::TooLarge`]; a host reading files may bound a
//!    version-1 file by its own [`crate::fraud::MAX_FILE_LEN`], as `mycel fraud verify` does);
//! 2. it is a JSON object with a `format` string ([`FraudError::NotAProof`]);
//! 3. the format is the one expected ([`FraudError::Format`]: a file of another version is
//!    named as such);
//! 4. the version's fields: a missing, unknown or repeated field is a [`FraudError::Field`]
//!    naming it, a value of the wrong type a [`FraudError::NotAProof`] giving its line and
//!    column.
//!
//! Each version's type derives its reader (`serde`), so the one JSON parser the crate links
//! serves every field: the WASM package, which checks proofs in a browser, stays small.

use std::string::{String, ToString};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FraudError;

/// Largest proof file text of any version, in bytes ([`crate::tile_proof::MAX_FILE_LEN_V2`]):
/// what a reader bounds the text by before it knows the version.
pub const MAX_PROOF_LEN: u64 = crate::tile_proof::MAX_FILE_LEN_V2;

/// Only the `format` field, to dispatch on.
#[derive(serde::Deserialize)]
struct FormatOnly {
    format: String,
}

/// The `format` field of a proof file's text (steps 1 and 2 of the module docs).
///
/// # Errors
/// [`FraudError::TooLarge`] for a text over [`MAX_PROOF_LEN`] bytes; [`FraudError::NotAProof`]
/// for text that is not a JSON object with a `format` string.
pub fn format_of(text: &str) -> Result<String, FraudError> {
    let len = text.len() as u64;
    if len > MAX_PROOF_LEN {
        return Err(FraudError::TooLarge {
            len,
            max: MAX_PROOF_LEN,
        });
    }
    serde_json::from_str::<FormatOnly>(text)
        .map(|f| f.format)
        .map_err(|e| FraudError::NotAProof(e.to_string()))
}

/// A proof file's text of format `expected` as its type `T` (every step of the module docs).
///
/// # Errors
/// As [`format_of`]; [`FraudError::Format`] for another format; [`FraudError::Field`] or
/// [`FraudError::NotAProof`] for its fields.
pub(crate) fn read<T: DeserializeOwned>(
    text: &str,
    expected: &'static str,
) -> Result<T, FraudError> {
    let found = format_of(text)?;
    if found != expected {
        return Err(FraudError::Format { expected, found });
    }
    serde_json::from_str(text).map_err(|e| field_error(&e))
}

/// The reader's error as a [`FraudError::Field`] where it names a missing, unknown or repeated
/// field, else as a [`FraudError::NotAProof`].
fn field_error(e: &serde_json::Error) -> FraudError {
    let reason = e.to_string();
    for kind in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(field) = reason
            .strip_prefix(kind)
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_string())
        {
            return FraudError::Field { field, reason };
        }
    }
    FraudError::NotAProof(reason)
}

/// A proof as its file's text: pretty-printed JSON ending in a newline.
///
/// # Errors
/// [`crate::Error::Json`] (not expected for a well-formed proof).
pub(crate) fn to_json<T: Serialize>(proof: &T) -> crate::Result<String> {
    let mut s =
        serde_json::to_string_pretty(proof).map_err(|e| crate::Error::Json(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

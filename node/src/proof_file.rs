//! The JSON file format that fraud proofs of both versions share (spec/receipts.md §8, §8b):
//! one JSON object whose `format` string names the version, read and written here for
//! [`crate::fraud::FraudProof`] (`mycel-fraud-proof/v1`) and [`crate::tile_proof::TileProof`]
//! (`mycel-fraud-proof/v2`).
//!
//! Reading goes in this order, each step with its own typed error:
//! 1. the text is at most [`MAX_PROOF_LEN`] bytes, the largest proof file of any version,
//!    before anything is parsed ([`FraudError::TooLarge`]; a host reading files may bound a
//!    version-1 file by its own [`crate::fraud::MAX_FILE_LEN`], as `mycel fraud verify` does);
//! 2. it is one JSON object with no repeated key and a `format` string
//!    ([`FraudError::NotAProof`]);
//! 3. the format is the one expected ([`FraudError::Format`]: a file of another version is
//!    named as such);
//! 4. each field the version defines is taken by name, and none is left over
//!    ([`FraudError::Field`] naming the missing, unknown or malformed field).

use std::collections::BTreeMap;
use std::fmt;
use std::format;
use std::string::{String, ToString};

use serde::de::{DeserializeOwned, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::FraudError;

/// Largest proof file text of any version, in bytes ([`crate::tile_proof::MAX_FILE_LEN_V2`]):
/// what a reader bounds the text by before it knows the version.
pub const MAX_PROOF_LEN: u64 = crate::tile_proof::MAX_FILE_LEN_V2;

/// A JSON object's members, each key once (a repeated key is an error, not "the last wins").
struct Members(BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if members.contains_key(&key) {
                        return Err(A::Error::custom(format!("duplicate field `{key}`")));
                    }
                    members.insert(key, value);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Object)
    }
}

/// A proof file's text parsed into its members, its `format` known, its fields not yet taken.
#[derive(Debug)]
pub(crate) struct ProofObject {
    /// The `format` string.
    format: String,
    /// The other members, taken one by one by [`ProofObject::take`].
    members: BTreeMap<String, Value>,
}

impl ProofObject {
    /// Steps 1 and 2 of the module docs.
    pub(crate) fn parse(text: &str) -> Result<Self, FraudError> {
        let len = text.len() as u64;
        if len > MAX_PROOF_LEN {
            return Err(FraudError::TooLarge {
                len,
                max: MAX_PROOF_LEN,
            });
        }
        let Members(mut members) =
            serde_json::from_str(text).map_err(|e| FraudError::NotAProof(e.to_string()))?;
        let format = match members.remove("format") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(FraudError::NotAProof("`format` is not a string".into())),
            None => return Err(FraudError::NotAProof("missing field `format`".into())),
        };
        Ok(Self { format, members })
    }

    /// The `format` string.
    pub(crate) fn format(&self) -> &str {
        &self.format
    }

    /// Step 3 of the module docs: the format is `expected`.
    pub(crate) fn expect(&self, expected: &'static str) -> Result<(), FraudError> {
        if self.format != expected {
            return Err(FraudError::Format {
                expected,
                found: self.format.clone(),
            });
        }
        Ok(())
    }

    /// Takes the field `name`: absent reads as `null` (so an `Option` field may be left out,
    /// and any other is missing), a value of the wrong shape is refused naming the field.
    pub(crate) fn take<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<T, FraudError> {
        let bad = |reason: String| FraudError::Field {
            field: name.into(),
            reason,
        };
        match self.members.remove(name) {
            Some(v) => serde_json::from_value(v).map_err(|e| bad(e.to_string())),
            None => serde_json::from_value(Value::Null).map_err(|_| bad("missing".into())),
        }
    }

    /// Takes the field `name`, or `T::default()` where it is absent.
    pub(crate) fn take_or_default<T: DeserializeOwned + Default>(
        &mut self,
        name: &'static str,
    ) -> Result<T, FraudError> {
        if self.members.contains_key(name) {
            self.take(name)
        } else {
            Ok(T::default())
        }
    }

    /// Step 4's end: every field was taken (an unknown one is refused by name).
    pub(crate) fn finish(self) -> Result<(), FraudError> {
        match self.members.into_keys().next() {
            None => Ok(()),
            Some(field) => Err(FraudError::Field {
                field,
                reason: "unknown field".into(),
            }),
        }
    }
}

/// The `format` field of a proof file's text (after the size bound).
///
/// # Errors
/// [`FraudError::TooLarge`] for a text over [`MAX_PROOF_LEN`] bytes; [`FraudError::NotAProof`]
/// for text that is not a JSON object with a `format` string.
pub fn format_of(text: &str) -> Result<String, FraudError> {
    ProofObject::parse(text).map(|p| p.format)
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

//! The generator: every area's drafted cases, answered by the reference responder, written as
//! vector files. `cargo run -p mycel-conformance --bin generate` writes them to
//! `conformance/vectors/`; the tests check that the committed files equal a fresh generation
//! byte for byte.
//!
//! A draft case states what its author expects (valid, or invalid with a code, or "whatever the
//! reference says" for imported cases such as Wycheproof's); generation fails when the
//! reference disagrees, so a mistake in a hand-built case cannot slip into the files.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, Outcome, Result, SUITE, SUITE_VERSION, TestCase, TestGroup, VectorFile};

/// What the author of a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Valid (the output is the reference's).
    Valid,
    /// Invalid with this code.
    Invalid(&'static str),
    /// Whatever the reference answers (imported cases, cross-checked independently).
    Reference,
}

/// One drafted case.
#[derive(Debug, Clone)]
pub struct Draft {
    /// What the case tests.
    pub comment: String,
    /// Its flags.
    pub flags: Vec<String>,
    /// The input object.
    pub input: Value,
    /// The author's expectation.
    pub expect: Expect,
}

impl Draft {
    /// A case expected valid.
    pub fn valid(comment: impl Into<String>, flags: &[&str], input: Value) -> Self {
        Self::new(comment, flags, input, Expect::Valid)
    }

    /// A case expected invalid with `code`.
    pub fn invalid(
        comment: impl Into<String>,
        flags: &[&str],
        input: Value,
        code: &'static str,
    ) -> Self {
        Self::new(comment, flags, input, Expect::Invalid(code))
    }

    /// A case with any expectation.
    pub fn new(comment: impl Into<String>, flags: &[&str], input: Value, expect: Expect) -> Self {
        Self {
            comment: comment.into(),
            flags: flags.iter().map(|f| (*f).to_string()).collect(),
            input,
            expect,
        }
    }
}

/// One drafted group.
#[derive(Debug, Clone)]
pub struct DraftGroup {
    /// The operation.
    pub op: &'static str,
    /// What the group covers.
    pub comment: String,
    /// Shared parameters.
    pub params: Value,
    /// The cases.
    pub cases: Vec<Draft>,
}

impl DraftGroup {
    /// A group without parameters.
    pub fn new(op: &'static str, comment: impl Into<String>, cases: Vec<Draft>) -> Self {
        Self {
            op,
            comment: comment.into(),
            params: Value::Object(serde_json::Map::new()),
            cases,
        }
    }
}

/// What an area's file says about itself.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Spec sections.
    pub spec: Vec<&'static str>,
    /// Description lines.
    pub header: Vec<&'static str>,
    /// Flag → meaning.
    pub notes: Vec<(&'static str, &'static str)>,
}

/// Generates one area's file: drafts, answered by the reference, checked against the
/// authors' expectations.
///
/// # Errors
/// When a draft's expectation differs from the reference's answer, a flag has no note, or the
/// reference reports a harness error.
pub fn generate_area(area: &str) -> Result<VectorFile> {
    let meta = crate::areas::meta(area)?;
    let groups = crate::areas::drafts(area)?;
    let mut notes: BTreeMap<String, String> = meta
        .notes
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    notes.extend(crate::areas::extra_notes(area)?);
    let mut tc_id = 0u64;
    let mut test_groups = Vec::new();
    for g in groups {
        let mut tests = Vec::new();
        for d in g.cases {
            tc_id += 1;
            for f in &d.flags {
                if !notes.contains_key(f) {
                    return Err(Error(format!("{area}: flag {f} has no note")));
                }
            }
            let answer = crate::areas::respond(area, g.op, &g.params, &d.input);
            let (result, output, error) = match answer {
                Ok(out) => (Outcome::Valid, Some(out), None),
                Err(code) if code.starts_with("harness:") => {
                    return Err(Error(format!(
                        "{area} tcId {tc_id} ({}): {code}",
                        d.comment
                    )));
                }
                Err(code) => (Outcome::Invalid, None, Some(code)),
            };
            let agrees = match &d.expect {
                Expect::Valid => result == Outcome::Valid,
                Expect::Invalid(c) => error.as_deref() == Some(*c),
                Expect::Reference => true,
            };
            if !agrees {
                return Err(Error(format!(
                    "{area} tcId {tc_id} ({}): expected {:?}, the reference gives {:?} {}",
                    d.comment,
                    d.expect,
                    result,
                    error.as_deref().unwrap_or("")
                )));
            }
            tests.push(TestCase {
                tc_id,
                comment: d.comment,
                flags: d.flags,
                input: d.input,
                result,
                output,
                error,
            });
        }
        test_groups.push(TestGroup {
            op: g.op.to_string(),
            comment: g.comment,
            params: g.params,
            tests,
        });
    }
    Ok(VectorFile {
        suite: SUITE.into(),
        suite_version: SUITE_VERSION.into(),
        protocol_version: crate::PROTOCOL_VERSION,
        area: area.into(),
        schema: format!("mycel-conformance/v1/schema/{area}.schema.json"),
        spec: meta.spec.iter().map(|s| (*s).to_string()).collect(),
        header: meta.header.iter().map(|s| (*s).to_string()).collect(),
        number_of_tests: usize::try_from(tc_id).unwrap_or(usize::MAX),
        notes,
        test_groups,
    })
}

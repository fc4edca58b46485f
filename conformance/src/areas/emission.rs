//! `emission.json`: one Yuma epoch (spec/emission.md), bit for bit with the subtensor chain:
//! every chain vector the project has (Yuma 2, Yuma 3, liquid alpha, tao weight; the derived
//! dropped-weights vectors marked as derived), and inputs the epoch refuses.
//!
//! Operation `epoch` `{inputJson}` → the output object of `mycel epoch` (the input and output
//! hold integers beyond 2^53, so the input travels as JSON text, exactly as `mycel epoch` reads
//! it, and in the output every integer above 2^53 is a decimal string).
#![allow(clippy::indexing_slicing)] // drafts index JSON values they built (serde_json indexing)

use mycel_protocol::emission::{EpochInput, epoch};
use serde_json::{Value, json};

use crate::generate::{Draft, DraftGroup, Expect, Meta};
use crate::util::{Answer, text};
use crate::{Error, Result};

const EXAMPLES: &str = include_str!("../../../protocol/tests/vectors/yuma_examples.jsonl");
const WEIGHTS: &str = include_str!("../../../protocol/tests/vectors/yuma_weight_vectors.jsonl");
const DROPPED: &str = include_str!("../../../protocol/tests/vectors/yuma_dropped_weights.jsonl");

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/emission.md#2-input",
            "spec/emission.md#3-the-epoch-s1s13",
            "spec/emission.md#4-weight-normalisation-at-set_weights",
        ],
        header: vec![
            "One Yuma epoch in the chain's fixed-point types: stake-weighted median consensus, clipping, bonds EMA (Yuma 2) or Yuma 3 bonds, liquid alpha, incentive, dividends, emission.",
            "Operation max_upscale {values} -> {values}: the chain's u16 normalisation at set_weights.",
            "Operation epoch {inputJson} -> the output of `mycel epoch` (keys as there; Q32 values as raw I32F32 bits; every integer above 2^53 as a decimal string). The chain's expected outputs are checked equal to these when the file is generated.",
        ],
        notes: vec![
            (
                "Chain",
                "A vector computed by the subtensor chain's own code (protocol/tests/vectors/).",
            ),
            (
                "Derived",
                "Derived from a chain vector by a rule of YUMA.md (weights on uids >= n dropped), not computed by the chain.",
            ),
            ("Yuma3", "Yuma 3 bonds."),
            (
                "LiquidAlpha",
                "Liquid alpha (per-pair bond EMA coefficients).",
            ),
            (
                "Refused",
                "An input the epoch refuses before computing (lengths, duplicate uids, ranges).",
            ),
        ],
    }
}

/// Integers above 2^53 as decimal strings, recursively.
pub fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(u) if u > (1u64 << 53) => Value::String(u.to_string()),
            _ => match n.as_i64() {
                Some(i) if i < -(1i64 << 53) => Value::String(i.to_string()),
                _ => Value::Number(n),
            },
        },
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn lines(text: &str, source: &str, derived: bool) -> Result<Vec<Draft>> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value =
            serde_json::from_str(line).map_err(|e| Error(format!("{source}:{}: {e}", i + 1)))?;
        let input = v.get("input").cloned().unwrap_or(Value::Null);
        let inj = serde_json::to_string(&input).map_err(|e| Error(e.to_string()))?;
        let mut flags = vec![if derived { "Derived" } else { "Chain" }];
        if input.get("yuma3").and_then(Value::as_bool) == Some(true) {
            flags.push("Yuma3");
        }
        if input.get("liquid_alpha").and_then(Value::as_bool) == Some(true) {
            flags.push("LiquidAlpha");
        }
        let case = json!({"inputJson": inj});
        // The chain's expected values must be the reference's, field by field.
        if let Some(exp) = v.get("expected").and_then(Value::as_object) {
            let got = respond("epoch", &Value::Null, &case)
                .map_err(|c| Error(format!("{source}:{}: {c}", i + 1)))?;
            for (k, want) in exp {
                if got.get(k) != Some(&normalize(want.clone())) {
                    return Err(Error(format!(
                        "{source}:{}: field {k} differs from the chain's",
                        i + 1
                    )));
                }
            }
        }
        let comment = match v.get("derived").and_then(Value::as_str) {
            Some(d) => format!("{source} line {}: {d}", i + 1),
            None => format!(
                "{source} line {}: n = {}",
                i + 1,
                input.get("n").cloned().unwrap_or(Value::Null)
            ),
        };
        out.push(Draft::new(comment, &flags, case, Expect::Valid));
    }
    Ok(out)
}

fn upscale(text: &str, source: &str) -> Result<Vec<Draft>> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value =
            serde_json::from_str(line).map_err(|e| Error(format!("{source}:{}: {e}", i + 1)))?;
        let values = v["input"]["values"].clone();
        let case = json!({"values": values});
        let got = respond("max_upscale", &Value::Null, &case)
            .map_err(|c| Error(format!("{source}:{}: {c}", i + 1)))?;
        if got["values"] != v["expected"]["values"] {
            return Err(Error(format!(
                "{source}:{}: differs from the chain's",
                i + 1
            )));
        }
        out.push(Draft::valid(
            format!(
                "{source} line {}: {} values",
                i + 1,
                values.as_array().map_or(0, Vec::len)
            ),
            &["Chain"],
            case,
        ));
    }
    Ok(out)
}

fn refused() -> Result<Vec<Draft>> {
    let base: Value = EXAMPLES
        .lines()
        .nth(1)
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|v| v.get("input").cloned())
        .ok_or_else(|| Error("no base input".into()))?;
    let mk = |f: &dyn Fn(&mut Value)| -> Result<Value> {
        let mut v = base.clone();
        f(&mut v);
        Ok(json!({"inputJson": serde_json::to_string(&v).map_err(|e| Error(e.to_string()))?}))
    };
    Ok(vec![
        Draft::invalid(
            "stake has n - 1 entries",
            &["Refused"],
            mk(&|v| {
                if let Some(a) = v["stake"].as_array_mut() {
                    a.pop();
                }
            })?,
            "emission.length_mismatch",
        ),
        Draft::invalid(
            "last_update has n + 1 entries",
            &["Refused"],
            mk(&|v| {
                if let Some(a) = v["last_update"].as_array_mut() {
                    a.push(json!(1));
                }
            })?,
            "emission.length_mismatch",
        ),
        Draft::invalid(
            "weights has n - 1 rows",
            &["Refused"],
            mk(&|v| {
                if let Some(a) = v["weights"].as_array_mut() {
                    a.pop();
                }
            })?,
            "emission.length_mismatch",
        ),
        Draft::invalid(
            "a weight row naming uid 1 twice",
            &["Refused"],
            mk(&|v| {
                v["weights"][0] = json!([[1, 100], [1, 200]]);
            })?,
            "emission.duplicate_uid",
        ),
        Draft::valid(
            "a bond on uid 60000 >= n: accepted, the entry filtered out as the chain does",
            &["Derived"],
            mk(&|v| {
                v["bonds"][0] = json!([[60000, 5]]);
            })?,
        ),
        Draft::invalid(
            "one stake of 2^63 rao",
            &["Refused"],
            mk(&|v| {
                v["stake"][0] = json!(1u64 << 63);
            })?,
            "emission.stake_out_of_range",
        ),
    ])
}

/// Draft cases.
///
/// # Errors
/// A chain vector that does not parse, or whose expected output differs from the reference's.
pub fn drafts() -> Result<Vec<DraftGroup>> {
    Ok(vec![
        DraftGroup::new(
            "epoch",
            "The chain's example epochs (protocol/tests/vectors/yuma_examples.jsonl).",
            lines(EXAMPLES, "yuma_examples.jsonl", false)?,
        ),
        DraftGroup::new(
            "max_upscale",
            "The chain's weight normalisation at set_weights (protocol/tests/vectors/yuma_weight_vectors.jsonl).",
            upscale(WEIGHTS, "yuma_weight_vectors.jsonl")?,
        ),
        DraftGroup::new(
            "epoch",
            "Derived: weight entries on uids >= n, dropped as the chain drops them (protocol/tests/vectors/yuma_dropped_weights.jsonl).",
            lines(DROPPED, "yuma_dropped_weights.jsonl", true)?,
        ),
        DraftGroup::new("epoch", "Inputs the epoch refuses.", refused()?),
    ])
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    if op == "max_upscale" {
        let values = crate::util::uint_list(input, "values")?
            .into_iter()
            .map(|v| u16::try_from(v).map_err(|_| crate::util::bad("values")))
            .collect::<core::result::Result<Vec<u16>, String>>()?;
        return Ok(json!({"values": mycel_protocol::emission::max_upscale_u16(&values)}));
    }
    if op != "epoch" {
        return Err(super::unknown_op(op));
    }
    let input: EpochInput = serde_json::from_str(text(input, "inputJson")?)
        .map_err(|e| format!("harness: bad input inputJson: {e}"))?;
    let out = epoch(&input).map_err(|e| e.code().to_string())?;
    Ok(normalize(
        serde_json::to_value(&out).map_err(|e| format!("harness: {e}"))?,
    ))
}

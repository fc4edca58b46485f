//! The JSON Schema of each vector file (`conformance/schema/<area>.schema.json`, draft
//! 2020-12): the common layout (header, groups, cases) and, per operation, the keys and types
//! of its inputs and valid outputs. Written by the generator; the Python runner validates every
//! file against its schema.

use serde_json::{Map, Value, json};

/// A field type in the schemas.
#[derive(Debug, Clone, Copy)]
enum T {
    /// Lowercase hex, any length.
    Hex,
    /// 32 bytes of lowercase hex.
    H32,
    /// 32 bytes of hex, or null.
    H32OrNull,
    /// An unsigned integer: a number up to 2^53, a decimal string beyond.
    Uint,
    /// A boolean.
    Bool,
    /// A string.
    Str,
    /// A string or null.
    StrOrNull,
    /// Any array.
    Arr,
    /// Any object.
    Obj,
}

fn ty(t: T) -> Value {
    match t {
        T::Hex => json!({"type": "string", "pattern": "^([0-9a-f]{2})*$"}),
        T::H32 => json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
        T::H32OrNull => {
            json!({"oneOf": [{"type": "string", "pattern": "^[0-9a-f]{64}$"}, {"type": "null"}]})
        }
        T::Uint => {
            json!({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+$"}]})
        }
        T::Bool => json!({"type": "boolean"}),
        T::Str => json!({"type": "string"}),
        T::StrOrNull => json!({"type": ["string", "null"]}),
        T::Arr => json!({"type": "array"}),
        T::Obj => json!({"type": "object"}),
    }
}

/// (op, input fields (name, type, required), output fields (name, type); None: any object).
type OpSpec = (
    &'static str,
    &'static [(&'static str, T, bool)],
    Option<&'static [(&'static str, T)]>,
);

fn ops(area: &str) -> &'static [OpSpec] {
    use T::*;
    match area {
        "wire" => &[(
            "decode",
            &[("envelope", Hex, true), ("expect", StrOrNull, true)],
            Some(&[("kind", Str), ("id", H32)]),
        )],
        "signatures" => &[
            (
                "verify",
                &[("pk", Hex, true), ("msg", Hex, true), ("sig", Hex, true)],
                Some(&[]),
            ),
            (
                "verify_batch",
                &[("items", Arr, true)],
                Some(&[("valid", Arr)]),
            ),
            (
                "sign",
                &[("seed", H32, true), ("msg", Hex, true)],
                Some(&[("pk", H32), ("sig", Hex)]),
            ),
        ],
        "receipts" => &[
            (
                "verify",
                &[("kind", Str, true), ("envelope", Hex, true)],
                Some(&[("id", H32)]),
            ),
            (
                "check_task",
                &[("receipt", Hex, true), ("task", Hex, true)],
                Some(&[]),
            ),
            (
                "check_verdict",
                &[("verdict", Hex, true), ("receipt", Hex, true)],
                Some(&[]),
            ),
            (
                "verify_batch",
                &[("batch", Hex, true)],
                Some(&[("root", H32), ("results", Arr)]),
            ),
            ("credit", &[("steps", Arr, true)], Some(&[("results", Arr)])),
        ],
        "merkle" => &[
            ("root", &[("leaves", Arr, true)], Some(&[("root", H32)])),
            (
                "proof",
                &[("leaves", Arr, true), ("index", Uint, true)],
                Some(&[("index", Uint), ("treeSize", Uint), ("path", Arr)]),
            ),
            (
                "verify",
                &[
                    ("leaf", Hex, true),
                    ("index", Uint, true),
                    ("treeSize", Uint, true),
                    ("path", Arr, true),
                    ("root", H32, true),
                ],
                Some(&[]),
            ),
        ],
        "commitments" => &[
            (
                "tensor",
                &[
                    ("dtype", Str, true),
                    ("shape", Arr, true),
                    ("data", Hex, true),
                ],
                Some(&[("commitment", H32)]),
            ),
            (
                "weights_digest",
                &[("weights", Hex, true)],
                Some(&[("digest", H32)]),
            ),
        ],
        "tasks" => &[
            (
                "derive",
                &[
                    ("kernel", Str, true),
                    ("seed", H32, true),
                    ("network", H32, true),
                    ("subnet", Uint, true),
                    ("epoch", Uint, true),
                    ("m", Uint, false),
                    ("n", Uint, false),
                    ("k", Uint, false),
                    ("heads", Uint, false),
                    ("kvHeads", Uint, false),
                    ("qLen", Uint, false),
                    ("kvLen", Uint, false),
                    ("headDim", Uint, false),
                    ("dtype", Str, false),
                    ("mode", Str, false),
                    ("causal", Bool, false),
                ],
                Some(&[
                    ("task", Hex),
                    ("digest", H32),
                    ("computeUnits", Uint),
                    ("weightsDigest", H32),
                ]),
            ),
            (
                "execute",
                &[("task", Hex, true)],
                Some(&[("commitment", H32), ("tileRoot", H32)]),
            ),
        ],
        "kernels" => &[
            (
                "quantize",
                &[
                    ("format", Str, true),
                    ("k", Uint, true),
                    ("values", Hex, true),
                ],
                Some(&[("blocks", Hex)]),
            ),
            (
                "matmul",
                &[
                    ("format", Str, true),
                    ("m", Uint, true),
                    ("k", Uint, true),
                    ("x", Hex, true),
                    ("w", Hex, true),
                ],
                Some(&[("commitment", H32)]),
            ),
            (
                "attention",
                &[
                    ("nHeads", Uint, true),
                    ("nKvHeads", Uint, true),
                    ("qLen", Uint, true),
                    ("kvLen", Uint, true),
                    ("headDim", Uint, true),
                    ("causal", Bool, true),
                    ("q", Hex, true),
                    ("k", Hex, true),
                    ("v", Hex, true),
                ],
                Some(&[("commitment", H32)]),
            ),
            (
                "accumulate",
                &[("seed", H32, true), ("count", Uint, true)],
                Some(&[("digest", H32)]),
            ),
        ],
        "scoring" => &[
            (
                "score",
                &[
                    ("uid", Uint, true),
                    ("verified", Uint, true),
                    ("mismatched", Uint, true),
                    ("unchecked", Uint, true),
                    ("computeUnits", Uint, true),
                    ("latencyMs", Uint, true),
                    ("latencyTargetMs", Uint, true),
                ],
                Some(&[("score", Uint)]),
            ),
            (
                "weights",
                &[("scores", Arr, true)],
                Some(&[("weights", Arr)]),
            ),
            (
                "pay",
                &[
                    ("results", Arr, true),
                    ("latencyTargetMs", Uint, true),
                    ("banned", Arr, true),
                ],
                Some(&[("scores", Arr), ("weights", Arr)]),
            ),
            (
                "commitment",
                &[
                    ("network", H32, true),
                    ("hotkey", H32, true),
                    ("subnet", Uint, true),
                    ("epoch", Uint, true),
                    ("weights", Arr, true),
                    ("salt", H32, true),
                ],
                Some(&[("commitment", H32)]),
            ),
            (
                "reveal",
                &[("commit", Obj, true), ("reveal", Obj, true)],
                Some(&[]),
            ),
        ],
        "emission" => &[
            ("epoch", &[("inputJson", Str, true)], None),
            (
                "max_upscale",
                &[("values", Arr, true)],
                Some(&[("values", Arr)]),
            ),
        ],
        "sampling" => &[
            (
                "secret_commitment",
                &[("secret", H32, true)],
                Some(&[("commitment", H32)]),
            ),
            (
                "seed",
                &[
                    ("beacon", H32, true),
                    ("root", H32, true),
                    ("validator", H32, true),
                    ("secret", H32, true),
                ],
                Some(&[("seed", H32)]),
            ),
            (
                "sample",
                &[
                    ("seed", H32, true),
                    ("ids", Arr, false),
                    ("list", Arr, true),
                    ("ratePpm", Uint, true),
                    ("min", Uint, true),
                ],
                Some(&[("picks", Arr)]),
            ),
        ],
        "fraud" => &[(
            "check",
            &[("proof", Str, true)],
            Some(&[("recomputed", H32), ("batchRoot", H32OrNull)]),
        )],
        _ => &[],
    }
}

fn object(fields: &[(&str, Value, bool)], closed: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (k, v, req) in fields {
        props.insert((*k).to_string(), v.clone());
        if *req {
            required.push(Value::String((*k).to_string()));
        }
    }
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": !closed})
}

fn group_for(spec: &OpSpec) -> Value {
    let (op, input, output) = spec;
    let input = object(
        &input
            .iter()
            .map(|(k, t, r)| (*k, ty(*t), *r))
            .collect::<Vec<_>>(),
        true,
    );
    let output = match output {
        Some(o) => object(
            &o.iter()
                .map(|(k, t)| (*k, ty(*t), true))
                .collect::<Vec<_>>(),
            true,
        ),
        None => json!({"type": "object"}),
    };
    let case = json!({
        "type": "object",
        "required": ["tcId", "comment", "flags", "input", "result"],
        "additionalProperties": false,
        "properties": {
            "tcId": {"type": "integer", "minimum": 1},
            "comment": {"type": "string"},
            "flags": {"type": "array", "items": {"type": "string"}},
            "input": input,
            "result": {"enum": ["valid", "invalid"]},
            "output": output,
            "error": {"type": "string", "pattern": "^[a-z0-9_]+(\\.[a-z0-9_]+)*$"},
        },
        "oneOf": [
            {"properties": {"result": {"const": "valid"}}, "required": ["output"], "not": {"required": ["error"]}},
            {"properties": {"result": {"const": "invalid"}}, "required": ["error"], "not": {"required": ["output"]}},
        ],
    });
    json!({
        "type": "object",
        "required": ["op", "comment", "params", "tests"],
        "additionalProperties": false,
        "properties": {
            "op": {"const": op},
            "comment": {"type": "string"},
            "params": {"type": "object"},
            "tests": {"type": "array", "items": case},
        },
    })
}

/// The schema of `area`'s vector file.
pub fn schema(area: &str) -> Value {
    let groups: Vec<Value> = ops(area).iter().map(group_for).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("mycel-conformance/v1/schema/{area}.schema.json"),
        "title": format!("mycel conformance vectors: {area}"),
        "type": "object",
        "additionalProperties": false,
        "required": ["suite", "suiteVersion", "protocolVersion", "area", "schema", "spec", "header", "numberOfTests", "notes", "testGroups"],
        "properties": {
            "suite": {"const": crate::SUITE},
            "suiteVersion": {"type": "string", "pattern": format!("^{}\\.[0-9]+\\.[0-9]+$", crate::PROTOCOL_VERSION)},
            "protocolVersion": {"const": crate::PROTOCOL_VERSION},
            "area": {"const": area},
            "schema": {"const": format!("mycel-conformance/v1/schema/{area}.schema.json")},
            "spec": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^spec/[a-z]+\\.md#[a-z0-9_-]+$"}},
            "header": {"type": "array", "items": {"type": "string"}},
            "numberOfTests": {"type": "integer", "minimum": 1},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
            "testGroups": {"type": "array", "minItems": 1, "items": {"oneOf": groups}},
        },
    })
}

/// The schema as the generator writes it (pretty JSON, final newline).
///
/// # Errors
/// Not expected.
pub fn render(area: &str) -> crate::Result<String> {
    let mut s =
        serde_json::to_string_pretty(&schema(area)).map_err(|e| crate::Error(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

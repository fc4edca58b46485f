//! Small helpers shared by the areas: hex in and out of JSON, typed access to case inputs,
//! SHA-256, and the fixtures (keys, network id) the generator builds cases from.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// An error code or a harness problem, as the reference responder reports it.
pub type Answer = core::result::Result<Value, String>;

/// Lowercase hex of `b` as a JSON string.
pub fn hx(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

/// SHA-256 of the concatenated parts.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A harness error (the vector itself is malformed): never a protocol error code.
pub fn bad(what: &str) -> String {
    format!("harness: bad input {what}")
}

/// `input[key]` as a JSON value.
pub fn field<'a>(input: &'a Value, key: &str) -> core::result::Result<&'a Value, String> {
    input.get(key).ok_or_else(|| bad(key))
}

/// `input[key]` decoded from hex.
pub fn bytes(input: &Value, key: &str) -> core::result::Result<Vec<u8>, String> {
    field(input, key)?
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| bad(key))
}

/// `input[key]` as exactly `N` bytes from hex.
pub fn array<const N: usize>(input: &Value, key: &str) -> core::result::Result<[u8; N], String> {
    <[u8; N]>::try_from(bytes(input, key)?).map_err(|_| bad(key))
}

/// `input[key]` as an unsigned integer (a JSON number, or a decimal string for values beyond
/// 2^53).
pub fn uint(input: &Value, key: &str) -> core::result::Result<u64, String> {
    let v = field(input, key)?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| bad(key))
}

/// `input[key]` as a string.
pub fn text<'a>(input: &'a Value, key: &str) -> core::result::Result<&'a str, String> {
    field(input, key)?.as_str().ok_or_else(|| bad(key))
}

/// `input[key]` as a list of byte strings (hex).
pub fn byte_list(input: &Value, key: &str) -> core::result::Result<Vec<Vec<u8>>, String> {
    field(input, key)?
        .as_array()
        .ok_or_else(|| bad(key))?
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| bad(key))
        })
        .collect()
}

/// `input[key]` as a list of unsigned integers.
pub fn uint_list(input: &Value, key: &str) -> core::result::Result<Vec<u64>, String> {
    field(input, key)?
        .as_array()
        .ok_or_else(|| bad(key))?
        .iter()
        .map(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| bad(key))
        })
        .collect()
}

/// A u64 as JSON: a number up to 2^53, a decimal string beyond (JSON readers in some hosts
/// hold numbers as binary64).
pub fn big(v: u64) -> Value {
    if v <= (1u64 << 53) {
        Value::from(v)
    } else {
        Value::String(v.to_string())
    }
}

/// f32 values from little-endian bytes (a length not a multiple of 4 is a harness error).
pub fn f32_values(b: &[u8]) -> core::result::Result<Vec<f32>, String> {
    if !b.len().is_multiple_of(4) {
        return Err(bad("f32 bytes"));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(<[u8; 4]>::try_from(c).unwrap_or([0; 4])))
        .collect())
}

/// Deterministic f32 values in roughly [-scale, scale): from [`stream_bytes`].
pub fn stream_f32(label: &str, len: usize, scale: f32) -> Vec<f32> {
    stream_bytes(label, len * 4)
        .chunks_exact(4)
        .map(|c| {
            let u = u32::from_le_bytes(<[u8; 4]>::try_from(c).unwrap_or([0; 4])) >> 8;
            (u as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Little-endian bytes of f32 values.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A deterministic byte stream for case inputs: SHA-256 in counter mode over `label`.
pub fn stream_bytes(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&sha256(&[label.as_bytes(), &i.to_le_bytes()]));
        i += 1;
    }
    out.truncate(len);
    out
}

/// A 32-byte value named by `label` (seeds, salts, ids in cases).
pub fn b32(label: &str) -> [u8; 32] {
    sha256(&[b"mycel/conformance/v1/fixture", &[0], label.as_bytes()])
}

//! `commitments.json`: tensor commitments (spec/commitments.md §1) and weights digests.
//!
//! Operations: `tensor` `{dtype, shape, data}` → `{commitment}` or a `commit.*` code;
//! `weights_digest` `{weights}` → `{digest}` (SHA-256 of the bare GGML blocks).
#![allow(clippy::indexing_slicing)] // drafts index JSON values they built (serde_json indexing)

use mycel_protocol::commit::{TensorDtype, tensor_commitment};
use serde_json::{Value, json};

use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, bad, bytes, f32_bytes, hx, stream_bytes, text, uint_list};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec!["spec/commitments.md#1-tensor-commitment"],
        header: vec![
            "Tensor commitment = SHA-256(\"mycel/v1/tensor\" || 0x00 || dtype code || rank || each dimension as u64 LE || data), over the raw little-endian bytes (so -0.0 and +0.0, and NaN payloads, commit differently).",
            "Operations: tensor {dtype, shape, data} -> {commitment} or commit.*; weights_digest {weights} -> {digest}.",
        ],
        notes: vec![
            ("Valid", "A commitment that is computed."),
            ("Rank", "Rank outside 1..=8."),
            ("ZeroDimension", "A dimension of 0."),
            (
                "NotBlockAligned",
                "A quantized tensor whose last dimension is not a multiple of 32.",
            ),
            (
                "Length",
                "Data shorter or longer than dtype and shape need.",
            ),
            (
                "RawBits",
                "Values whose bits differ though they compare equal (or are NaN): the commitment is over bits.",
            ),
        ],
    }
}

fn case(dtype: &str, shape: &[u64], data: &[u8]) -> Value {
    json!({"dtype": dtype, "shape": shape, "data": hx(data)})
}

/// Draft cases.
///
/// # Errors
/// Not expected.
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let mut t = Vec::new();
    for (dtype, unit) in [("f32", 4usize), ("f16", 2), ("bf16", 2)] {
        for shape in [
            vec![1u64],
            vec![3],
            vec![2, 3],
            vec![1, 1, 1, 1, 1, 1, 1, 5],
            vec![4, 1, 2],
        ] {
            let n: u64 = shape.iter().product();
            let data = stream_bytes(&format!("commit {dtype} {shape:?}"), n as usize * unit);
            t.push(Draft::valid(
                format!("{dtype} {shape:?}"),
                &["Valid"],
                case(dtype, &shape, &data),
            ));
        }
    }
    for (dtype, bb) in [("q8_0", 34usize), ("q4_0", 18)] {
        for shape in [vec![32u64], vec![2, 64], vec![3, 1, 96]] {
            let blocks: u64 = shape.iter().product::<u64>() / 32;
            let data = stream_bytes(&format!("commit {dtype} {shape:?}"), blocks as usize * bb);
            t.push(Draft::valid(
                format!("{dtype} {shape:?}"),
                &["Valid"],
                case(dtype, &shape, &data),
            ));
        }
        t.push(Draft::invalid(
            format!("{dtype} with last dimension 48"),
            &["NotBlockAligned"],
            case(dtype, &[2, 48], &vec![0; bb * 3]),
            "commit.not_block_aligned",
        ));
    }
    t.push(Draft::valid(
        "f32 +0.0",
        &["RawBits"],
        case("f32", &[1], &f32_bytes(&[0.0])),
    ));
    t.push(Draft::valid(
        "f32 -0.0 (another commitment than +0.0)",
        &["RawBits"],
        case("f32", &[1], &f32_bytes(&[-0.0])),
    ));
    t.push(Draft::valid(
        "f32 quiet NaN 0x7fc00000",
        &["RawBits"],
        case("f32", &[1], &[0, 0, 0xc0, 0x7f]),
    ));
    t.push(Draft::valid(
        "f32 NaN with payload 0x7fc00001",
        &["RawBits"],
        case("f32", &[1], &[1, 0, 0xc0, 0x7f]),
    ));
    t.push(Draft::invalid(
        "rank 0",
        &["Rank"],
        case("f32", &[], &[0; 4]),
        "commit.rank",
    ));
    t.push(Draft::invalid(
        "rank 9",
        &["Rank"],
        case("f32", &[1; 9], &[0; 4]),
        "commit.rank",
    ));
    t.push(Draft::invalid(
        "shape [2, 0]",
        &["ZeroDimension"],
        case("f32", &[2, 0], &[]),
        "commit.zero_dimension",
    ));
    t.push(Draft::invalid(
        "f32 [2, 3] with 20 bytes",
        &["Length"],
        case("f32", &[2, 3], &[0; 20]),
        "commit.length_mismatch",
    ));
    t.push(Draft::invalid(
        "f32 [2, 3] with 28 bytes",
        &["Length"],
        case("f32", &[2, 3], &[0; 28]),
        "commit.length_mismatch",
    ));
    t.push(Draft::invalid(
        "f16 [3] with 4 bytes",
        &["Length"],
        case("f16", &[3], &[0; 4]),
        "commit.length_mismatch",
    ));
    t.push(Draft::invalid(
        "q8_0 [64] with 34 bytes (one block of two)",
        &["Length"],
        case("q8_0", &[64], &[0; 34]),
        "commit.length_mismatch",
    ));

    let mut w = Vec::new();
    for (i, len) in [0usize, 18, 34, 34 * 64].iter().enumerate() {
        w.push(Draft::valid(
            format!("{len} bytes of weights"),
            &["Valid"],
            json!({"weights": hx(&stream_bytes(&format!("weights {i}"), *len))}),
        ));
    }
    Ok(vec![
        DraftGroup::new(
            "tensor",
            "Tensor commitments of every dtype, and the shapes and lengths refused.",
            t,
        ),
        DraftGroup::new(
            "weights_digest",
            "Weights digests (SHA-256 of the bare blocks).",
            w,
        ),
    ])
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    match op {
        "tensor" => {
            let dtype = match text(input, "dtype")? {
                "f32" => TensorDtype::F32,
                "f16" => TensorDtype::F16,
                "bf16" => TensorDtype::Bf16,
                "q8_0" => TensorDtype::Q8_0,
                "q4_0" => TensorDtype::Q4_0,
                _ => return Err(bad("dtype")),
            };
            let shape = uint_list(input, "shape")?;
            let data = bytes(input, "data")?;
            tensor_commitment(dtype, &shape, &data)
                .map(|d| json!({"commitment": hx(&d.0)}))
                .map_err(|e| e.code().to_string())
        }
        "weights_digest" => {
            let w = bytes(input, "weights")?;
            Ok(json!({"digest": hx(&mycel_kernels::exec::weights_digest(&w).0)}))
        }
        other => Err(super::unknown_op(other)),
    }
}

//! `kernels.json`: the kernels on explicit inputs (spec/kernels.md §2, §4, attention): GGML
//! quantization bytes, matmul and attention output commitments, and the accumulated stream.
//!
//! Operations: `quantize` `{format, k, values}` → `{blocks}`; `matmul` `{format, m, k, x, w}`
//! → `{commitment}` (of the f32 `[m, n]` output); `attention` `{nHeads, nKvHeads, qLen, kvLen,
//! headDim, causal, q, k, v}` → `{commitment}` (f32 `[nHeads, qLen, headDim]`, verifiable
//! mode); `accumulate` `{seed, count}` → `{digest}` ([`crate::stream`]). Float inputs are
//! little-endian f32 bytes in hex.
#![allow(clippy::indexing_slicing)] // drafts index blocks they built, of known layout

use mycel_kernels::Backend;
use mycel_kernels::matmul::{Weights, matmul};
use mycel_kernels::quant::{QuantFormat, quantize_q4_0, quantize_q8_0};
use mycel_kernels::tensor::Tensor;
use mycel_kernels::{AttentionMode, AttentionParams, AttnInput, attention};
use serde_json::{Value, json};

use super::fixtures::e;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{
    Answer, array, b32, bad, bytes, f32_bytes, f32_values, field, hx, stream_f32, text, uint,
};
use crate::{LONG_FLAG, Result};

/// The seed of the accumulated stream's cases.
pub const STREAM_SEED: &str = "kernel stream";

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/kernels.md#2-formats",
            "spec/kernels.md#4-matmul",
            "spec/kernels.md#attention",
        ],
        header: vec![
            "GGML Q8_0/Q4_0 blocks from GGML's reference quantizer; matmul Y = X W^T with X quantized to Q8_0 and the per-output contract of spec/kernels.md section 4.2; attention in verifiable mode. Outputs are compared by tensor commitment (f32, row-major).",
            "Operations: quantize {format, k, values} -> {blocks}; matmul {format, m, k, x, w} -> {commitment}; attention {nHeads, nKvHeads, qLen, kvLen, headDim, causal, q, k, v} -> {commitment}; accumulate {seed, count} -> {digest} (the accumulated stream, conformance/README.md).",
        ],
        notes: vec![
            ("Valid", "Computed."),
            (
                "Specials",
                "Edge values: zeros, ties, huge and subnormal values, -128 weights, special block scales.",
            ),
            ("Shape", "Inputs whose lengths do not fit the shape."),
            ("NonFinite", "NaN or infinite activations (refused)."),
            (
                "GQA",
                "Grouped-query attention (fewer KV heads than query heads).",
            ),
            ("Causal", "Causal mask, aligned bottom-right."),
            (
                "Stream",
                "The accumulated stream: one digest over many seeded tasks' commitments and tile roots.",
            ),
            (
                LONG_FLAG,
                "Run only in long mode (--long, MYCEL_CONFORMANCE_LONG=1).",
            ),
        ],
    }
}

fn quant(format: QuantFormat, x: &[f32], k: usize) -> Result<Vec<u8>> {
    Ok(match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(x, k).map_err(e)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(x, k).map_err(e)?).to_vec(),
    })
}

fn qcase(format: &str, k: usize, values: &[f32]) -> Value {
    json!({"format": format, "k": k, "values": hx(&f32_bytes(values))})
}

fn mcase(format: &str, m: usize, k: usize, x: &[f32], w: &[u8]) -> Value {
    json!({"format": format, "m": m, "k": k, "x": hx(&f32_bytes(x)), "w": hx(w)})
}

#[allow(clippy::too_many_arguments)]
fn acase(
    h: usize,
    kv: usize,
    q: usize,
    kvl: usize,
    hd: usize,
    causal: bool,
    label: &str,
    scale: f32,
) -> Value {
    json!({"nHeads": h, "nKvHeads": kv, "qLen": q, "kvLen": kvl, "headDim": hd, "causal": causal,
        "q": hx(&f32_bytes(&stream_f32(&format!("{label} q"), h * q * hd, scale))),
        "k": hx(&f32_bytes(&stream_f32(&format!("{label} k"), kv * kvl * hd, scale))),
        "v": hx(&f32_bytes(&stream_f32(&format!("{label} v"), kv * kvl * hd, scale)))})
}

/// Draft cases.
///
/// # Errors
/// Fixture failures.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let mut q = Vec::new();
    for format in ["q8_0", "q4_0"] {
        for (rows, k, scale) in [
            (1usize, 32usize, 1.0f32),
            (2, 64, 10.0),
            (3, 256, 0.01),
            (4, 128, 1000.0),
        ] {
            let x = stream_f32(&format!("quant {format} {rows} {k}"), rows * k, scale);
            q.push(Draft::valid(
                format!("{format}: {rows} rows of {k}, values within ±{scale}"),
                &["Valid"],
                qcase(format, k, &x),
            ));
        }
        q.push(Draft::valid(
            format!("{format}: all zeros (scale 0)"),
            &["Specials"],
            qcase(format, 32, &[0.0; 32]),
        ));
        q.push(Draft::valid(
            format!("{format}: all equal to -3"),
            &["Specials"],
            qcase(format, 32, &[-3.0; 32]),
        ));
        let ramp: Vec<f32> = (0..64).map(|i| i as f32 - 31.5).collect();
        q.push(Draft::valid(
            format!("{format}: the ramp -31.5..31.5 (ties)"),
            &["Specials"],
            qcase(format, 64, &ramp),
        ));
        let mut big: Vec<f32> = stream_f32(&format!("{format} big"), 32, 1.0);
        big[5] = 3.0e38;
        big[6] = -2.5e38;
        q.push(Draft::valid(
            format!("{format}: values near f32::MAX (scale overflows f16)"),
            &["Specials"],
            qcase(format, 32, &big),
        ));
        let tiny: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) * 1.0e-41).collect();
        q.push(Draft::valid(
            format!("{format}: subnormal values"),
            &["Specials"],
            qcase(format, 32, &tiny),
        ));
        let mut neg = vec![0.5f32; 32];
        neg[9] = -4.0;
        q.push(Draft::valid(
            format!("{format}: the largest magnitude negative"),
            &["Specials"],
            qcase(format, 32, &neg),
        ));
        q.push(Draft::invalid(
            format!("{format}: a NaN value"),
            &["NonFinite"],
            qcase(format, 32, &[&[f32::NAN][..], &[1.0; 31][..]].concat()),
            "non_finite",
        ));
        q.push(Draft::invalid(
            format!("{format}: an infinite value"),
            &["NonFinite"],
            qcase(format, 32, &[&[1.0; 31][..], &[f32::INFINITY][..]].concat()),
            "non_finite",
        ));
        q.push(Draft::invalid(
            format!("{format}: k = 48"),
            &["Shape"],
            qcase(format, 48, &[1.0; 48]),
            "shape_mismatch",
        ));
        q.push(Draft::invalid(
            format!("{format}: 40 values in rows of 32"),
            &["Shape"],
            qcase(format, 32, &[1.0; 40]),
            "shape_mismatch",
        ));
    }

    let mut mm = Vec::new();
    for (format, qf) in [("q8_0", QuantFormat::Q8_0), ("q4_0", QuantFormat::Q4_0)] {
        for (m, n, k) in [
            (1usize, 1usize, 32usize),
            (2, 3, 64),
            (5, 17, 96),
            (16, 40, 256),
            (33, 9, 128),
        ] {
            let x = stream_f32(&format!("mm {format} x {m} {n} {k}"), m * k, 2.0);
            let w = quant(
                qf,
                &stream_f32(&format!("mm {format} w {m} {n} {k}"), n * k, 0.5),
                k,
            )?;
            mm.push(Draft::valid(
                format!("{format}: m {m}, n {n}, k {k}"),
                &["Valid"],
                mcase(format, m, k, &x, &w),
            ));
        }
        let x = stream_f32(&format!("mm {format} zero"), 2 * 64, 2.0);
        mm.push(Draft::valid(
            format!("{format}: zero activations"),
            &["Specials"],
            mcase(
                format,
                2,
                64,
                &vec![0.0; 128],
                &quant(qf, &stream_f32("zw", 4 * 64, 1.0), 64)?,
            ),
        ));
        let mut w = quant(
            qf,
            &stream_f32(&format!("mm {format} special"), 3 * 32, 1.0),
            32,
        )?;
        let bb = qf.block_bytes();
        w[0..2].copy_from_slice(&[0, 0]); // block 0: scale +0
        w[bb..bb + 2].copy_from_slice(&0x7bffu16.to_le_bytes()); // block 1: scale 65504 (f16 max)
        w[2 * bb..2 * bb + 2].copy_from_slice(&0x0001u16.to_le_bytes()); // block 2: smallest subnormal
        mm.push(Draft::valid(
            format!("{format}: block scales 0, 65504 and the smallest f16 subnormal"),
            &["Specials"],
            mcase(format, 2, 32, &x[..64], &w),
        ));
        let w = quant(qf, &stream_f32("short", 2 * 64, 1.0), 64)?;
        mm.push(Draft::invalid(
            format!("{format}: weights one byte short"),
            &["Shape"],
            mcase(format, 1, 64, &x[..64], &w[..w.len() - 1]),
            "shape_mismatch",
        ));
        mm.push(Draft::invalid(
            format!("{format}: activations of 63 values for k 64"),
            &["Shape"],
            mcase(format, 1, 64, &x[..63], &w),
            "shape_mismatch",
        ));
        mm.push(Draft::invalid(
            format!("{format}: a NaN activation"),
            &["NonFinite"],
            mcase(format, 1, 64, &[&[f32::NAN][..], &x[1..64]].concat(), &w),
            "non_finite",
        ));
    }
    // -128 in Q8_0 weights (GGML files can hold it).
    let mut w = quant(QuantFormat::Q8_0, &stream_f32("m128", 2 * 64, 1.0), 64)?;
    for b in 0..4 {
        for j in [0usize, 7, 31] {
            w[b * 34 + 2 + j] = 0x80;
        }
    }
    let x = stream_f32("m128 x", 3 * 64, 3.0);
    mm.push(Draft::valid(
        "q8_0: weights holding -128",
        &["Specials"],
        mcase("q8_0", 3, 64, &x, &w),
    ));
    let w: Vec<u8> = (0..2)
        .flat_map(|_| {
            let mut b = vec![0x00, 0x3c];
            b.extend([0x80u8; 32]);
            b
        })
        .collect();
    let xm: Vec<f32> = (0..32)
        .map(|i| if i % 2 == 0 { -127.0 } else { 127.0 })
        .collect();
    mm.push(Draft::valid(
        "q8_0: every weight -128 (scale 1.0) against ±127 activations",
        &["Specials"],
        mcase("q8_0", 1, 32, &xm, &w),
    ));

    let at = vec![
        Draft::valid(
            "1 head, 1 query, 1 key, head_dim 64",
            &["Valid"],
            acase(1, 1, 1, 1, 64, false, "a1", 1.0),
        ),
        Draft::valid(
            "2 heads, 4 queries, 9 keys, head_dim 64",
            &["Valid"],
            acase(2, 2, 4, 9, 64, false, "a2", 1.0),
        ),
        Draft::valid(
            "4 heads over 2 KV heads, causal, 5 queries, 66 keys (two key tiles)",
            &["GQA", "Causal"],
            acase(4, 2, 5, 66, 64, true, "a3", 1.0),
        ),
        Draft::valid(
            "2 heads over 1 KV head, head_dim 128, 3 queries, 66 keys",
            &["GQA"],
            acase(2, 1, 3, 66, 128, false, "a4", 2.0),
        ),
        Draft::valid(
            "causal with q_len = kv_len = 8",
            &["Causal"],
            acase(1, 1, 8, 8, 64, true, "a5", 1.0),
        ),
        Draft::valid(
            "large scores (inputs within ±30)",
            &["Specials"],
            acase(1, 1, 2, 16, 64, false, "a6", 30.0),
        ),
        Draft::invalid(
            "head_dim 96",
            &["Shape"],
            acase(1, 1, 1, 4, 96, false, "a7", 1.0),
            "unsupported_head_dim",
        ),
        Draft::invalid(
            "3 heads over 2 KV heads",
            &["Shape"],
            acase(3, 2, 1, 4, 64, false, "a8", 1.0),
            "head_config",
        ),
        Draft::invalid(
            "q one value short",
            &["Shape"],
            {
                let mut c = acase(1, 1, 2, 4, 64, false, "a9", 1.0);
                let qv = c["q"].as_str().unwrap_or("").to_string();
                c["q"] = Value::String(qv[..qv.len() - 8].to_string());
                c
            },
            "buffer_length",
        ),
    ];

    let seed = hx(&b32(STREAM_SEED));
    let acc = vec![
        Draft::valid(
            "the first task of the stream",
            &["Stream"],
            json!({"seed": seed, "count": 1}),
        ),
        Draft::valid(
            "the first 100 tasks",
            &["Stream"],
            json!({"seed": seed, "count": 100}),
        ),
        Draft::valid(
            "the first 10,000 tasks",
            &["Stream"],
            json!({"seed": seed, "count": 10_000}),
        ),
        Draft::valid(
            "the first 100,000 tasks",
            &["Stream", LONG_FLAG],
            json!({"seed": seed, "count": 100_000}),
        ),
    ];
    Ok(vec![
        DraftGroup::new("quantize", "GGML's reference quantizer, byte for byte.", q),
        DraftGroup::new("matmul", "Quantized matmul output commitments.", mm),
        DraftGroup::new(
            "attention",
            "Attention (verifiable mode) output commitments.",
            at,
        ),
        DraftGroup::new("accumulate", "The accumulated kernel stream.", acc),
    ])
}

fn format_of(input: &Value) -> core::result::Result<QuantFormat, String> {
    QuantFormat::parse(text(input, "format")?).ok_or_else(|| bad("format"))
}

fn usize_of(input: &Value, key: &str) -> core::result::Result<usize, String> {
    usize::try_from(uint(input, key)?).map_err(|_| bad(key))
}

fn commit(shape: &[usize], y: Vec<f32>) -> Answer {
    let t = Tensor::from_f32(shape, y).map_err(|e| e.code().to_string())?;
    let c = t.commitment().map_err(|e| e.code().to_string())?;
    Ok(json!({"commitment": hx(&c.0)}))
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    let code = |e: mycel_kernels::Error| e.code().to_string();
    match op {
        "quantize" => {
            let x = f32_values(&bytes(input, "values")?)?;
            let k = usize_of(input, "k")?;
            let b = match format_of(input)? {
                QuantFormat::Q8_0 => {
                    bytemuck::cast_slice(&quantize_q8_0(&x, k).map_err(code)?).to_vec()
                }
                QuantFormat::Q4_0 => {
                    bytemuck::cast_slice(&quantize_q4_0(&x, k).map_err(code)?).to_vec()
                }
            };
            Ok(json!({"blocks": hx(&b)}))
        }
        "matmul" => {
            let x = f32_values(&bytes(input, "x")?)?;
            let wb = bytes(input, "w")?;
            let (m, k) = (usize_of(input, "m")?, usize_of(input, "k")?);
            let w = Weights::from_bytes(format_of(input)?, &wb, k).map_err(code)?;
            let y = matmul(&x, m, &w, Backend::Auto, 1).map_err(code)?;
            commit(&[m, w.n()], y)
        }
        "attention" => {
            let mut p = AttentionParams::new(
                usize_of(input, "nHeads")?,
                usize_of(input, "nKvHeads")?,
                usize_of(input, "qLen")?,
                usize_of(input, "kvLen")?,
                usize_of(input, "headDim")?,
            );
            p.causal = field(input, "causal")?
                .as_bool()
                .ok_or_else(|| bad("causal"))?;
            let (q, k, v) = (
                f32_values(&bytes(input, "q")?)?,
                f32_values(&bytes(input, "k")?)?,
                f32_values(&bytes(input, "v")?)?,
            );
            let y = attention(
                &p,
                AttnInput::F32(&q),
                AttnInput::F32(&k),
                AttnInput::F32(&v),
                AttentionMode::Verifiable,
                Backend::Auto,
                1,
            )
            .map_err(code)?;
            commit(&[p.n_heads, p.q_len, p.head_dim], y)
        }
        "accumulate" => {
            let seed = array::<32>(input, "seed")?;
            let d = crate::stream::digest(&seed, uint(input, "count")?)?;
            Ok(json!({"digest": hx(&d)}))
        }
        other => Err(super::unknown_op(other)),
    }
}

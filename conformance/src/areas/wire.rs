//! `wire.json`: envelopes decoded canonically (spec/wire.md §4), valid and invalid.
//!
//! Operation `decode`: input `{envelope: hex, expect: kind name | null}`; output
//! `{kind, id}` where `id` is the message's id: the task digest, the receipt or verdict id
//! (SHA-256 of the tagged body), or the batch's Merkle root.
#![allow(clippy::indexing_slicing)] // drafts index envelopes they built, of known layout

use mycel_protocol::receipt::{BackendLabel, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict};
use mycel_protocol::task::{AttnDtype, AttnMode, KernelParams, TaskSpec};
use mycel_protocol::wire::{AnyMessage, MessageKind, decode, encode};
use serde_json::{Value, json};

use super::fixtures::{self as fx, e};
use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, bytes, hx};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/wire.md#1-envelope",
            "spec/wire.md#2-message-kind-registry",
            "spec/wire.md#3-encoding-rules",
            "spec/wire.md#4-decoding",
        ],
        header: vec![
            "Envelopes of every message kind decoded canonically: the decoding steps of spec/wire.md section 4 in order, each rejection with its code.",
            "Operation decode: input {envelope, expect}; expect names the kind the caller asks for (task, receipt, verdict, receipt-batch) or is null for any kind. Output {kind, id}: id is the task digest, the receipt or verdict id, or the batch root.",
        ],
        notes: vec![
            ("Valid", "A canonical envelope."),
            (
                "Header",
                "The envelope header: too short, wrong version, unknown kind.",
            ),
            (
                "SizeBound",
                "Longer than the kind's maximum envelope length (checked before the body).",
            ),
            (
                "KindMismatch",
                "A valid envelope of another kind than the one asked for.",
            ),
            ("Truncated", "The body ends early."),
            ("TrailingBytes", "Bytes after a complete message."),
            (
                "NonCanonical",
                "Decodes under a lenient reader but is not the canonical encoding (over-long varint).",
            ),
            (
                "Malformed",
                "An invalid tag, bool, enum index, varint or UTF-8 string.",
            ),
            (
                "Structural",
                "Decodes canonically but breaks a structural rule of the message (step 10).",
            ),
        ],
    }
}

fn kind_name(k: MessageKind) -> &'static str {
    k.name()
}

fn case(env: &[u8], expect: Option<&str>) -> Value {
    json!({"envelope": hx(env), "expect": expect})
}

/// Draft cases.
///
/// # Errors
/// Fixture failures.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let b = fx::basics()?;
    let task = b.task.encode().map_err(e)?;
    let receipt = encode(&b.receipt).map_err(e)?;
    let verdict = encode(&b.verdict).map_err(e)?;
    let batch = encode(&b.batch).map_err(e)?;
    let attn = fx::attention(
        (2, 1),
        3,
        5,
        64,
        true,
        AttnDtype::F16,
        AttnMode::Verifiable,
        "wire attn",
    )?;
    let attn_env = attn.encode().map_err(e)?;
    let unchecked = fx::sign(
        fx::verdict(
            &b.validator,
            b.receipt.id().map_err(e)?,
            Outcome::Unchecked,
            None,
        ),
        &b.validator,
    )?;
    let unchecked_env = encode(&unchecked).map_err(e)?;
    let empty_batch = encode(&ReceiptBatch {
        network: fx::network(),
        subnet: fx::SUBNET,
        epoch: fx::EPOCH,
        receipts: vec![],
    })
    .map_err(e)?;

    let mut valid = Vec::new();
    for (name, env) in [
        ("task", &task),
        ("receipt", &receipt),
        ("verdict", &verdict),
        ("receipt-batch", &batch),
    ] {
        valid.push(Draft::valid(
            format!("a canonical {name} envelope, any kind asked for"),
            &["Valid"],
            case(env, None),
        ));
        valid.push(Draft::valid(
            format!("a canonical {name} envelope, its kind asked for"),
            &["Valid"],
            case(env, Some(name)),
        ));
    }
    valid.push(Draft::valid(
        "an attention task (causal, f16)",
        &["Valid"],
        case(&attn_env, Some("task")),
    ));
    valid.push(Draft::valid(
        "an Unchecked verdict (no recomputed commitment)",
        &["Valid"],
        case(&unchecked_env, None),
    ));
    valid.push(Draft::valid(
        "an empty receipt batch (the empty tree's root)",
        &["Valid"],
        case(&empty_batch, None),
    ));

    let mut header = vec![
        Draft::invalid(
            "empty input",
            &["Header"],
            case(&[], None),
            "decode.missing_header",
        ),
        Draft::invalid(
            "one byte",
            &["Header"],
            case(&[1], None),
            "decode.missing_header",
        ),
    ];
    for v in [0u8, 2, 0xff] {
        let mut x = task.clone();
        x[0] = v;
        header.push(Draft::invalid(
            format!("version byte {v:#04x}"),
            &["Header"],
            case(&x, None),
            "decode.unsupported_version",
        ));
    }
    for k in [0u8, 5, 6, 0x80, 0xff] {
        let mut x = task.clone();
        x[1] = k;
        header.push(Draft::invalid(
            format!("kind byte {k:#04x} (unregistered or reserved)"),
            &["Header"],
            case(&x, None),
            "decode.unknown_kind",
        ));
    }
    header.push(Draft::invalid(
        "header only, unknown kind 0x07",
        &["Header"],
        case(&[1, 7], None),
        "decode.unknown_kind",
    ));

    let mut size = Vec::new();
    for (name, env, max) in [
        ("task", &task, 256usize),
        ("receipt", &receipt, 512),
        ("verdict", &verdict, 256),
    ] {
        let mut x = env.clone();
        x.resize(max + 1, 0);
        size.push(Draft::invalid(
            format!(
                "a {name} envelope padded to {} bytes (bound {max})",
                max + 1
            ),
            &["SizeBound"],
            case(&x, None),
            "decode.too_large",
        ));
        let mut y = env.clone();
        y.resize(max + 1, 0);
        y[2] = 0xff;
        size.push(Draft::invalid(
            format!(
                "a {name} envelope of {} bytes whose body is garbage: the bound is checked first",
                max + 1
            ),
            &["SizeBound"],
            case(&y, Some(name)),
            "decode.too_large",
        ));
    }

    let mut mismatch = Vec::new();
    for (name, env, ask) in [
        ("task", &task, "receipt"),
        ("receipt", &receipt, "verdict"),
        ("verdict", &verdict, "receipt"),
        ("receipt-batch", &batch, "task"),
    ] {
        mismatch.push(Draft::invalid(
            format!("a {name} envelope where a {ask} is expected"),
            &["KindMismatch"],
            case(env, Some(ask)),
            "decode.kind_mismatch",
        ));
    }

    let mut trunc = Vec::new();
    for (name, env) in [
        ("task", &task),
        ("receipt", &receipt),
        ("verdict", &verdict),
        ("receipt-batch", &batch),
    ] {
        for cut in [2usize, 3, 33, env.len() / 2, env.len() - 1] {
            trunc.push(Draft::invalid(
                format!("a {name} envelope cut to {cut} of {} bytes", env.len()),
                &["Truncated"],
                case(&env[..cut], None),
                "decode.truncated",
            ));
        }
    }

    let mut trailing = Vec::new();
    for (name, env) in [
        ("task", &task),
        ("receipt", &receipt),
        ("verdict", &verdict),
        ("receipt-batch", &batch),
    ] {
        let mut x = env.clone();
        x.push(0);
        trailing.push(Draft::invalid(
            format!("a {name} envelope with one 0x00 byte appended"),
            &["TrailingBytes"],
            case(&x, None),
            "decode.trailing_bytes",
        ));
        if name == "receipt" || name == "verdict" {
            continue; // twice the envelope exceeds the kind's bound
        }
        let mut y = env.clone();
        y.extend_from_slice(env);
        trailing.push(Draft::invalid(
            format!("a {name} envelope followed by a copy of itself"),
            &["TrailingBytes"],
            case(&y, None),
            "decode.trailing_bytes",
        ));
    }

    // Body offsets of a TaskSpec: network (32), subnet varint at 32 (3 = 0x03), epoch varint at
    // 33 (7 = 0x07), kernel index at 34, kernel_version varint at 35, params index at 36, then
    // the dimensions as varints.
    let body = |env: &[u8]| env[2..].to_vec();
    let tb = body(&task);
    let with = |b: &[u8], at: usize, repl: &[u8]| {
        let mut out = vec![1u8, 1];
        out.extend_from_slice(&b[..at]);
        out.extend_from_slice(repl);
        out.extend_from_slice(&b[at + 1..]);
        out
    };
    let noncanon = vec![
        Draft::invalid(
            "subnet 3 as the over-long varint 0x83 0x00",
            &["NonCanonical"],
            case(&with(&tb, 32, &[0x83, 0x00]), None),
            "decode.non_canonical",
        ),
        Draft::invalid(
            "epoch 7 as the over-long varint 0x87 0x80 0x00",
            &["NonCanonical"],
            case(&with(&tb, 33, &[0x87, 0x80, 0x00]), None),
            "decode.non_canonical",
        ),
        Draft::invalid(
            "kernel_version 1 as 0x81 0x00",
            &["NonCanonical"],
            case(&with(&tb, 35, &[0x81, 0x00]), Some("task")),
            "decode.non_canonical",
        ),
        Draft::invalid(
            "kernel index 0 as 0x80 0x00",
            &["NonCanonical"],
            case(&with(&tb, 34, &[0x80, 0x00]), None),
            "decode.non_canonical",
        ),
    ];

    let ab = body(&attn_env);
    // Attention params end with causal (bool), dtype (index), mode (index), then 64 bytes.
    let causal_at = ab.len() - 64 - 3;
    let rb = body(&receipt);
    let label_end = rb.len() - 64;
    let vb = body(&verdict);
    let mut malformed = vec![
        Draft::invalid(
            "subnet varint 0x80 0x80 0x04 (65536) does not fit u16",
            &["Malformed"],
            case(&with(&tb, 32, &[0x80, 0x80, 0x04]), None),
            "decode.malformed",
        ),
        Draft::invalid(
            "kernel index 9 (no such kernel)",
            &["Malformed"],
            case(&with(&tb, 34, &[9]), None),
            "decode.malformed",
        ),
        Draft::invalid(
            "params index 5 (no such parameter kind)",
            &["Malformed"],
            case(&with(&tb, 36, &[5]), None),
            "decode.malformed",
        ),
        Draft::invalid(
            "causal flag 0x02 (bool is 0x00 or 0x01)",
            &["Malformed"],
            case(&with(&ab, causal_at, &[2]), None),
            "decode.malformed",
        ),
        Draft::invalid(
            "attention dtype index 3 (f32, f16, bf16 only)",
            &["Malformed"],
            case(&with(&ab, causal_at + 1, &[3]), None),
            "decode.malformed",
        ),
        Draft::invalid(
            "attention mode index 2 (verifiable, fast only)",
            &["Malformed"],
            case(&with(&ab, causal_at + 2, &[2]), None),
            "decode.malformed",
        ),
    ];
    let mut bad_utf8 = vec![1u8, 2];
    bad_utf8.extend_from_slice(&rb[..label_end - 1]);
    bad_utf8.push(0xff);
    bad_utf8.extend_from_slice(&rb[label_end..]);
    malformed.push(Draft::invalid(
        "backend label with the byte 0xff (invalid UTF-8)",
        &["Malformed"],
        case(&bad_utf8, None),
        "decode.malformed",
    ));
    let mut vtag = vec![1u8, 3];
    vtag.extend_from_slice(&vb);
    vtag[2 + 65] = 2;
    malformed.push(Draft::invalid(
        "verdict option tag 0x02 for the recomputed commitment",
        &["Malformed"],
        case(&vtag, None),
        "decode.malformed",
    ));
    let mut vout = vec![1u8, 3];
    vout.extend_from_slice(&vb);
    vout[2 + 64] = 3;
    malformed.push(Draft::invalid(
        "verdict outcome index 3 (match, mismatch, unchecked only)",
        &["Malformed"],
        case(&vout, None),
        "decode.malformed",
    ));

    // Structural rules (step 10): canonical encodings of values the rules refuse.
    let mut structural = Vec::new();
    let mut t = b.task;
    t.params = KernelParams::Matmul { m: 2, n: 32, k: 48 };
    structural.push(Draft::invalid(
        "matmul task with k = 48 (not a multiple of 32)",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.k_not_block_aligned",
    ));
    let mut t = b.task;
    t.params = KernelParams::Matmul { m: 0, n: 32, k: 64 };
    structural.push(Draft::invalid(
        "matmul task with m = 0",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.zero_dimension",
    ));
    let mut t = b.task;
    t.kernel_version = 99;
    structural.push(Draft::invalid(
        "task with kernel_version 99",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.unsupported_kernel_version",
    ));
    let mut t = attn;
    t.kernel = b.task.kernel;
    structural.push(Draft::invalid(
        "a matmul kernel id with attention parameters",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.kernel_params_mismatch",
    ));
    let mut t = attn;
    if let KernelParams::Attention { head_dim, .. } = &mut t.params {
        *head_dim = 96;
    }
    structural.push(Draft::invalid(
        "attention with head_dim 96",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.unsupported_head_dim",
    ));
    let mut t = attn;
    if let KernelParams::Attention {
        n_heads,
        n_kv_heads,
        ..
    } = &mut t.params
    {
        *n_heads = 3;
        *n_kv_heads = 2;
    }
    structural.push(Draft::invalid(
        "attention with 3 heads over 2 KV heads",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.kv_heads_do_not_divide",
    ));
    let mut t = attn;
    if let KernelParams::Attention { q_len, kv_len, .. } = &mut t.params {
        *q_len = 6;
        *kv_len = 5;
    }
    structural.push(Draft::invalid(
        "causal attention with q_len 6 > kv_len 5",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.causal_query_longer_than_keys",
    ));
    let mut t = b.task;
    t.params = KernelParams::Matmul {
        m: 65_536,
        n: 65_536,
        k: 65_536,
    };
    structural.push(Draft::invalid(
        "matmul 65536^3 (2^49 compute units)",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.too_much_compute",
    ));
    let mut t = b.task;
    t.params = KernelParams::Matmul {
        m: 65_536,
        n: 65_536,
        k: 32,
    };
    structural.push(Draft::invalid(
        "matmul with a 16 GiB output (memory bound)",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::TaskSpec, &t)?, None),
        "task.too_much_memory",
    ));

    let mut r = b.receipt.body.clone();
    r.backend = BackendLabel::new("cpu").map_err(e)?;
    let label_ok = fx::sign_raw(r.clone(), MessageKind::Receipt, &b.miner)?;
    let mut env = fx::raw_envelope(MessageKind::Receipt, &label_ok)?;
    let at = env.len() - 64 - 2;
    env[at] = 0x07;
    structural.push(Draft::invalid(
        "backend label with the control byte 0x07",
        &["Structural"],
        case(&env, None),
        "receipt.bad_backend_label",
    ));
    let mut r = b.receipt.body.clone();
    r.finished_at_ms = r.started_at_ms - 1;
    structural.push(Draft::invalid(
        "receipt finishing before it starts",
        &["Structural"],
        case(
            &fx::raw_envelope(
                MessageKind::Receipt,
                &fx::sign_raw(r, MessageKind::Receipt, &b.miner)?,
            )?,
            None,
        ),
        "receipt.times_reversed",
    ));
    let v = fx::verdict(
        &b.validator,
        b.receipt.id().map_err(e)?,
        Outcome::Match,
        None,
    );
    structural.push(Draft::invalid(
        "Match verdict without a recomputed commitment",
        &["Structural"],
        case(
            &fx::raw_envelope(
                MessageKind::Verdict,
                &fx::sign_raw(v, MessageKind::Verdict, &b.validator)?,
            )?,
            None,
        ),
        "receipt.verdict_inconsistent",
    ));
    let v = fx::verdict(
        &b.validator,
        b.receipt.id().map_err(e)?,
        Outcome::Unchecked,
        Some(b.receipt.body.output_commitment),
    );
    structural.push(Draft::invalid(
        "Unchecked verdict with a recomputed commitment",
        &["Structural"],
        case(
            &fx::raw_envelope(
                MessageKind::Verdict,
                &fx::sign_raw(v, MessageKind::Verdict, &b.validator)?,
            )?,
            None,
        ),
        "receipt.verdict_inconsistent",
    ));
    let mut bt = b.batch.clone();
    bt.epoch = mycel_protocol::ids::Epoch(8);
    structural.push(Draft::invalid(
        "a batch of epoch 8 holding receipts of epoch 7",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::ReceiptBatch, &bt)?, None),
        "receipt.batch_member_mismatch",
    ));
    let mut bt = b.batch.clone();
    bt.subnet = mycel_protocol::ids::SubnetId(4);
    structural.push(Draft::invalid(
        "a batch of subnet 4 holding receipts of subnet 3",
        &["Structural"],
        case(&fx::raw_envelope(MessageKind::ReceiptBatch, &bt)?, None),
        "receipt.batch_member_mismatch",
    ));

    Ok(vec![
        DraftGroup::new("decode", "Canonical envelopes of every kind.", valid),
        DraftGroup::new("decode", "Header checks (steps 2-4).", header),
        DraftGroup::new(
            "decode",
            "Size bounds per kind (step 5), before any body byte is read.",
            size,
        ),
        DraftGroup::new("decode", "The kind asked for (step 6).", mismatch),
        DraftGroup::new("decode", "Bodies that end early (step 7).", trunc),
        DraftGroup::new("decode", "Bytes after the message (step 8).", trailing),
        DraftGroup::new("decode", "Non-canonical encodings (step 9).", noncanon),
        DraftGroup::new("decode", "Malformed bodies (step 7).", malformed),
        DraftGroup::new(
            "decode",
            "Structural rules of the messages (step 10).",
            structural,
        ),
    ])
}

fn id_of(m: &AnyMessage) -> core::result::Result<Vec<u8>, mycel_protocol::Error> {
    Ok(match m {
        AnyMessage::Task(t) => t.digest()?.0.to_vec(),
        AnyMessage::Receipt(r) => r.id()?.0.to_vec(),
        AnyMessage::Verdict(v) => v.id()?.0.to_vec(),
        AnyMessage::ReceiptBatch(b) => b.root()?.0.to_vec(),
        _ => Vec::new(),
    })
}

fn decode_as(
    env: &[u8],
    expect: Option<&str>,
) -> core::result::Result<AnyMessage, mycel_protocol::Error> {
    Ok(match expect {
        None => AnyMessage::decode(env)?,
        Some("task") => AnyMessage::Task(decode::<TaskSpec>(env)?),
        Some("receipt") => AnyMessage::Receipt(decode::<SignedReceipt>(env)?),
        Some("verdict") => AnyMessage::Verdict(decode::<SignedVerdict>(env)?),
        Some(_) => AnyMessage::ReceiptBatch(decode::<ReceiptBatch>(env)?),
    })
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    if op != "decode" {
        return Err(super::unknown_op(op));
    }
    let env = bytes(input, "envelope")?;
    let expect = input.get("expect").and_then(Value::as_str);
    let m = decode_as(&env, expect).map_err(|e| e.code().to_string())?;
    let id = id_of(&m).map_err(|e| e.code().to_string())?;
    Ok(json!({"kind": kind_name(m.kind()), "id": hx(&id)}))
}

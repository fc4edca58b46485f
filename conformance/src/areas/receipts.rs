//! `receipts.json`: signed receipts and verdicts (spec/receipts.md §3–7): domain-separated
//! signatures, the binding of a receipt to its task, verdict consistency, batch verification
//! naming each failure, and crediting (replayed nonces, epochs, assigners, miners).
//!
//! Operations: `verify` `{kind, envelope}` → `{id}`; `check_task` `{receipt, task}` → `{}`;
//! `check_verdict` `{verdict, receipt}` → `{}`; `verify_batch` `{batch}` →
//! `{root, results: [null | code]}`; `credit` `{steps: [{receipt, network, subnet, epoch,
//! assigner, miner, taskDigest}]}` → `{results: [null | code]}` with one ledger across the steps.
#![allow(clippy::indexing_slicing)] // drafts index envelopes they built, of known layout

use mycel_kernels::quant::QuantFormat;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, Signature, SubnetId};
use mycel_protocol::receipt::{
    CreditLedger, Outcome, ReceiptBatch, ReceiptBinding, SignedReceipt, SignedVerdict,
};
use mycel_protocol::sign::{Signed, verify_signed_batch};
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{MessageKind, decode, encode};
use serde_json::{Value, json};

use super::fixtures::{self as fx, e};
use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, array, bad, bytes, field, hx, text, uint};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/receipts.md#3-work-receipt",
            "spec/receipts.md#4-receipt-id",
            "spec/receipts.md#5-verdict",
            "spec/receipts.md#6-receipt-batch",
            "spec/receipts.md#7-crediting-and-replay",
            "spec/signatures.md#3-signed-bytes-domain-separation",
        ],
        header: vec![
            "Signed receipts and verdicts: the signature covers tag || 0x00 || body with the kind's tag (mycel/v1/receipt, mycel/v1/verdict); the id is SHA-256 of those bytes.",
            "Operations: verify {kind, envelope} -> {id}; check_task {receipt, task} -> {}; check_verdict {verdict, receipt} -> {}; verify_batch {batch} -> {root, results}; credit {steps} -> {results} (one credit ledger across the steps, rules 2-6 of section 7).",
        ],
        notes: vec![
            ("Valid", "Accepted."),
            (
                "WrongDomain",
                "Signed over another kind's tag, another version's tag, no tag, or a tag without the 0x00 separator.",
            ),
            ("Tampered", "A signed field changed after signing."),
            (
                "SignatureRule",
                "The signature itself breaks the rule (small-order key, S >= L).",
            ),
            (
                "Binding",
                "A receipt that does not belong to the task or assignment given.",
            ),
            (
                "Verdict",
                "A verdict that names another receipt or contradicts the receipt's commitment.",
            ),
            (
                "Batch",
                "A receipt batch verified as a whole, each failure named by index.",
            ),
            (
                "Replay",
                "A receipt replayed: a fresh nonce over the same execution, another epoch, another validator.",
            ),
        ],
    }
}

fn env<T: mycel_protocol::wire::Message>(m: &T) -> Result<Value> {
    Ok(hx(&encode(m).map_err(e)?))
}

fn raw_receipt(r: &SignedReceipt) -> Result<Value> {
    Ok(hx(&fx::raw_envelope(MessageKind::Receipt, r)?))
}

fn step(r: &SignedReceipt, b: &ReceiptBinding) -> Result<Value> {
    Ok(json!({
        "receipt": env(r)?,
        "network": hx(&b.network.0),
        "subnet": b.subnet.0,
        "epoch": b.epoch.0,
        "assigner": hx(&b.assigner.0),
        "miner": hx(&b.miner.0),
        "taskDigest": hx(&b.task_digest.0),
    }))
}

/// Draft cases.
///
/// # Errors
/// Fixture failures.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let b = fx::basics()?;
    let r = &b.receipt;
    let body_bytes = postcard::to_allocvec(&r.body).map_err(e)?;
    let resign = |bytes: &[u8]| -> Signed<mycel_protocol::receipt::WorkReceipt> {
        Signed {
            body: r.body.clone(),
            signature: fx::sig_over(&b.miner, bytes),
        }
    };
    let tagged = |tag: &[u8], sep: bool| {
        let mut m = tag.to_vec();
        if sep {
            m.push(0);
        }
        m.extend_from_slice(&body_bytes);
        m
    };
    let mut verify = vec![
        Draft::valid(
            "an honest receipt",
            &["Valid"],
            json!({"kind": "receipt", "envelope": env(r)?}),
        ),
        Draft::valid(
            "a Match verdict",
            &["Valid"],
            json!({"kind": "verdict", "envelope": env(&b.verdict)?}),
        ),
    ];
    for (what, bytes) in [
        (
            "the verdict tag mycel/v1/verdict",
            tagged(b"mycel/v1/verdict", true),
        ),
        (
            "the tag mycel/v2/receipt",
            tagged(b"mycel/v2/receipt", true),
        ),
        (
            "the tag without the 0x00 separator",
            tagged(b"mycel/v1/receipt", false),
        ),
        ("the bare body (no tag)", body_bytes.clone()),
        ("the whole envelope", encode(&b.task).map_err(e)?),
    ] {
        verify.push(Draft::invalid(
            format!("receipt signed over {what}"),
            &["WrongDomain"],
            json!({"kind": "receipt", "envelope": raw_receipt(&resign(&bytes))?}),
            "signature.equation",
        ));
    }
    let mut t = r.clone();
    t.body.nonce += 1;
    verify.push(Draft::invalid(
        "nonce changed after signing",
        &["Tampered"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.equation",
    ));
    let mut t = r.clone();
    t.body.output_commitment.0[0] ^= 1;
    verify.push(Draft::invalid(
        "output commitment changed after signing",
        &["Tampered"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.equation",
    ));
    let mut t = r.clone();
    t.body.miner = fx::hotkey("someone else");
    verify.push(Draft::invalid(
        "miner field replaced by another hotkey",
        &["Tampered"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.equation",
    ));
    let mut t = r.clone();
    t.signature = b.verdict.signature;
    verify.push(Draft::invalid(
        "another message's signature",
        &["Tampered"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.equation",
    ));
    let mut t = r.clone();
    t.body.miner = Hotkey([0; 32]);
    t.body.miner.0[0] = 1;
    verify.push(Draft::invalid(
        "miner hotkey is the identity point (small order)",
        &["SignatureRule"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.small_order_key",
    ));
    let mut t = r.clone();
    let mut s = [0u8; 64];
    s.copy_from_slice(&t.signature.0);
    s[63] |= 0xf0;
    t.signature = Signature(s);
    verify.push(Draft::invalid(
        "S with its top bits set",
        &["SignatureRule"],
        json!({"kind": "receipt", "envelope": raw_receipt(&t)?}),
        "signature.scalar_not_reduced",
    ));
    let mut v = b.verdict.clone();
    v.body.outcome = Outcome::Mismatch;
    let vv = fx::raw_envelope(MessageKind::Verdict, &v)?;
    verify.push(Draft::invalid(
        "verdict outcome changed after signing",
        &["Tampered"],
        json!({"kind": "verdict", "envelope": hx(&vv)}),
        "signature.equation",
    ));
    let vr = Signed {
        body: b.verdict.body.clone(),
        signature: fx::sig_over(&b.validator, &{
            let mut m = b"mycel/v1/receipt\0".to_vec();
            m.extend(postcard::to_allocvec(&b.verdict.body).map_err(e)?);
            m
        }),
    };
    verify.push(Draft::invalid(
        "verdict signed over the receipt tag",
        &["WrongDomain"],
        json!({"kind": "verdict", "envelope": hx(&fx::raw_envelope(MessageKind::Verdict, &vr)?)}),
        "signature.equation",
    ));

    // check_task
    let task_env = hx(&b.task.encode().map_err(e)?);
    let mut check = vec![Draft::valid(
        "the receipt of its task",
        &["Valid"],
        json!({"receipt": env(r)?, "task": task_env}),
    )];
    let mut mutate = |what: &str, f: &dyn Fn(&mut TaskSpec), code: &'static str| -> Result<()> {
        let mut t = b.task;
        f(&mut t);
        check.push(Draft::invalid(
            format!("the task with {what}"),
            &["Binding"],
            json!({"receipt": env(r)?, "task": hx(&t.encode().map_err(e)?)}),
            code,
        ));
        Ok(())
    };
    mutate(
        "another network",
        &|t| t.network = fx::other_network(),
        "receipt.network_mismatch",
    )?;
    mutate(
        "another subnet",
        &|t| t.subnet = SubnetId(4),
        "receipt.subnet_mismatch",
    )?;
    mutate(
        "another epoch",
        &|t| t.epoch = Epoch(8),
        "receipt.epoch_mismatch",
    )?;
    mutate(
        "another input seed",
        &|t| t.input_seed[0] ^= 1,
        "receipt.task_digest_mismatch",
    )?;
    let other = fx::matmul(QuantFormat::Q8_0, 2, 32, 64, "receipts other task")?;
    let mut body = r.body.clone();
    body.task_digest = other.digest().map_err(e)?;
    let wrong_units = fx::sign(body, &b.miner)?;
    let mut body = r.body.clone();
    body.compute_units += 1;
    let inflated = fx::sign(body, &b.miner)?;
    check.push(Draft::invalid(
        "compute units one above the formula",
        &["Binding"],
        json!({"receipt": env(&inflated)?, "task": task_env}),
        "receipt.compute_units_mismatch",
    ));
    check.push(Draft::valid(
        "a receipt naming another task, checked against that task",
        &["Valid"],
        json!({"receipt": env(&wrong_units)?, "task": hx(&other.encode().map_err(e)?)}),
    ));

    // check_verdict
    let id = r.id().map_err(e)?;
    let c = r.body.output_commitment;
    let mut flipped = c;
    flipped.0[31] ^= 0x80;
    let mk = |o: Outcome, rc: Option<Digest>, rid: Digest| {
        fx::sign(fx::verdict(&b.validator, rid, o, rc), &b.validator)
    };
    let mut other_id = id;
    other_id.0[0] ^= 1;
    let verdicts = vec![
        Draft::valid(
            "Match with the receipt's commitment",
            &["Valid"],
            json!({"verdict": env(&b.verdict)?, "receipt": env(r)?}),
        ),
        Draft::valid(
            "Mismatch with another commitment",
            &["Valid"],
            json!({"verdict": env(&mk(Outcome::Mismatch, Some(flipped), id)?)?, "receipt": env(r)?}),
        ),
        Draft::valid(
            "Unchecked",
            &["Valid"],
            json!({"verdict": env(&mk(Outcome::Unchecked, None, id)?)?, "receipt": env(r)?}),
        ),
        Draft::invalid(
            "Match with another commitment",
            &["Verdict"],
            json!({"verdict": env(&mk(Outcome::Match, Some(flipped), id)?)?, "receipt": env(r)?}),
            "receipt.verdict_inconsistent",
        ),
        Draft::invalid(
            "Mismatch with the receipt's own commitment",
            &["Verdict"],
            json!({"verdict": env(&mk(Outcome::Mismatch, Some(c), id)?)?, "receipt": env(r)?}),
            "receipt.verdict_inconsistent",
        ),
        Draft::invalid(
            "a verdict on another receipt id",
            &["Verdict"],
            json!({"verdict": env(&mk(Outcome::Match, Some(c), other_id)?)?, "receipt": env(r)?}),
            "receipt.verdict_receipt_mismatch",
        ),
    ];

    // verify_batch
    let mut bad_batch = b.batch.clone();
    bad_batch.receipts[1].body.nonce += 1;
    let mut three = b.batch.clone();
    three.receipts.push(inflated.clone());
    let mut small = b.batch.clone();
    small.receipts[0].body.miner = Hotkey([0; 32]);
    small.receipts[0].body.miner.0[0] = 1;
    let batches = vec![
        Draft::valid(
            "a batch of two honest receipts",
            &["Batch", "Valid"],
            json!({"batch": env(&b.batch)?}),
        ),
        Draft::valid(
            "the second receipt tampered: results name index 1",
            &["Batch", "Tampered"],
            json!({"batch": hx(&fx::raw_envelope(MessageKind::ReceiptBatch, &bad_batch)?)}),
        ),
        Draft::valid(
            "three receipts, all signed (signature checks do not look at compute units)",
            &["Batch"],
            json!({"batch": env(&three)?}),
        ),
        Draft::valid(
            "a small-order miner key at index 0",
            &["Batch", "SignatureRule"],
            json!({"batch": hx(&fx::raw_envelope(MessageKind::ReceiptBatch, &small)?)}),
        ),
        Draft::invalid(
            "a batch envelope with a trailing byte",
            &["Batch"],
            json!({"batch": hx(&[encode(&b.batch).map_err(e)?, vec![0]].concat())}),
            "decode.trailing_bytes",
        ),
    ];

    // credit
    let me = b.validator.hotkey();
    let binding = ReceiptBinding {
        network: fx::network(),
        subnet: fx::SUBNET,
        epoch: fx::EPOCH,
        assigner: me,
        miner: b.miner.hotkey(),
        task_digest: b.task.digest().map_err(e)?,
    };
    let mut renonce = r.body.clone();
    renonce.nonce = 99;
    let renonced = fx::sign(renonce, &b.miner)?;
    let old_task = {
        let mut t = b.task;
        t.epoch = Epoch(6);
        t
    };
    let (oc, ot) = fx::truth(&old_task)?;
    let old = fx::sign(
        fx::receipt_body(&old_task, &b.miner, &b.validator, (oc, ot), 1)?,
        &b.miner,
    )?;
    let other_v = fx::key("validator 2");
    let elsewhere = fx::sign(
        fx::receipt_body(&b.task, &b.miner, &other_v, (c, r.body.output_tile_root), 1)?,
        &b.miner,
    )?;
    let thief = fx::key("miner thief");
    let stolen = fx::sign(
        fx::receipt_body(
            &b.task,
            &thief,
            &b.validator,
            (c, r.body.output_tile_root),
            1,
        )?,
        &thief,
    )?;
    let never = fx::sign(
        fx::receipt_body(&other, &b.miner, &b.validator, fx::truth(&other)?, 1)?,
        &b.miner,
    )?;
    let mut other_net_task = b.task;
    other_net_task.network = fx::other_network();
    let other_net = fx::sign(
        fx::receipt_body(
            &other_net_task,
            &b.miner,
            &b.validator,
            fx::truth(&other_net_task)?,
            1,
        )?,
        &b.miner,
    )?;
    let mut other_sub_task = b.task;
    other_sub_task.subnet = SubnetId(4);
    let other_sub = fx::sign(
        fx::receipt_body(
            &other_sub_task,
            &b.miner,
            &b.validator,
            fx::truth(&other_sub_task)?,
            1,
        )?,
        &b.miner,
    )?;
    let credit = vec![
        Draft::valid(
            "credited once",
            &["Valid"],
            json!({"steps": [step(r, &binding)?]}),
        ),
        Draft::valid(
            "the same receipt twice: the second is already credited",
            &["Replay"],
            json!({"steps": [step(r, &binding)?, step(r, &binding)?]}),
        ),
        Draft::valid(
            "the same execution re-signed with a fresh nonce: already credited",
            &["Replay"],
            json!({"steps": [step(r, &binding)?, step(&renonced, &binding)?]}),
        ),
        Draft::valid(
            "a receipt of epoch 6 offered while settling epoch 7",
            &["Replay"],
            json!({"steps": [step(&old, &ReceiptBinding { task_digest: old_task.digest().map_err(e)?, ..binding })?]}),
        ),
        Draft::valid(
            "a receipt assigned by another validator",
            &["Replay"],
            json!({"steps": [step(&elsewhere, &binding)?]}),
        ),
        Draft::valid(
            "another miner's signed copy of the output",
            &["Replay"],
            json!({"steps": [step(&stolen, &binding)?]}),
        ),
        Draft::valid(
            "a task this validator never issued to the miner",
            &["Replay"],
            json!({"steps": [step(&never, &binding)?]}),
        ),
        Draft::valid(
            "a receipt of another network",
            &["Replay"],
            json!({"steps": [step(&other_net, &binding)?]}),
        ),
        Draft::valid(
            "a receipt of another subnet",
            &["Replay"],
            json!({"steps": [step(&other_sub, &binding)?]}),
        ),
        Draft::valid(
            "a refused receipt records nothing: the honest one is credited after it",
            &["Replay"],
            json!({"steps": [step(&elsewhere, &binding)?, step(r, &binding)?, step(&renonced, &binding)?]}),
        ),
    ];

    Ok(vec![
        DraftGroup::new("verify", "Signatures over the kind's domain tag.", verify),
        DraftGroup::new("check_task", "A receipt belongs to its task.", check),
        DraftGroup::new(
            "check_verdict",
            "A verdict names its receipt and agrees with its outcome.",
            verdicts,
        ),
        DraftGroup::new(
            "verify_batch",
            "Receipt batches verified as one, failures named by index.",
            batches,
        ),
        DraftGroup::new("credit", "Crediting and replay (section 7).", credit),
    ])
}

fn code(e: &mycel_protocol::Error) -> String {
    e.code().to_string()
}

fn binding_of(s: &Value) -> core::result::Result<ReceiptBinding, String> {
    Ok(ReceiptBinding {
        network: NetworkId(array::<32>(s, "network")?),
        subnet: SubnetId(u16::try_from(uint(s, "subnet")?).map_err(|_| bad("subnet"))?),
        epoch: Epoch(uint(s, "epoch")?),
        assigner: Hotkey(array::<32>(s, "assigner")?),
        miner: Hotkey(array::<32>(s, "miner")?),
        task_digest: Digest(array::<32>(s, "taskDigest")?),
    })
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    match op {
        "verify" => {
            let envelope = bytes(input, "envelope")?;
            let id = match text(input, "kind")? {
                "receipt" => decode::<SignedReceipt>(&envelope).and_then(|r| r.verify_and_id()),
                "verdict" => decode::<SignedVerdict>(&envelope).and_then(|v| v.verify_and_id()),
                _ => return Err(bad("kind")),
            }
            .map_err(|e| code(&e))?;
            Ok(json!({"id": hx(&id.0)}))
        }
        "check_task" => {
            let r: SignedReceipt = decode(&bytes(input, "receipt")?).map_err(|e| code(&e))?;
            let t = TaskSpec::decode(&bytes(input, "task")?).map_err(|e| code(&e))?;
            r.body
                .check_task(&t)
                .map(|()| json!({}))
                .map_err(|e| code(&e))
        }
        "check_verdict" => {
            let v: SignedVerdict = decode(&bytes(input, "verdict")?).map_err(|e| code(&e))?;
            let r: SignedReceipt = decode(&bytes(input, "receipt")?).map_err(|e| code(&e))?;
            v.body
                .check_receipt(&r)
                .map(|()| json!({}))
                .map_err(|e| code(&e))
        }
        "verify_batch" => {
            let b: ReceiptBatch = decode(&bytes(input, "batch")?).map_err(|e| code(&e))?;
            let root = b.root().map_err(|e| code(&e))?;
            let results: Vec<Value> = verify_signed_batch(&b.receipts)
                .map_err(|e| code(&e))?
                .iter()
                .map(|r| {
                    r.as_ref()
                        .err()
                        .map_or(Value::Null, |e| Value::String(code(e)))
                })
                .collect();
            Ok(json!({"root": hx(&root.0), "results": results}))
        }
        "credit" => {
            let mut ledger = CreditLedger::default();
            let mut results = Vec::new();
            for s in field(input, "steps")?
                .as_array()
                .ok_or_else(|| bad("steps"))?
            {
                let r: SignedReceipt = decode(&bytes(s, "receipt")?).map_err(|e| code(&e))?;
                let b = binding_of(s)?;
                results.push(match ledger.credit(&r.body, &b) {
                    Ok(()) => Value::Null,
                    Err(e) => Value::String(code(&e)),
                });
            }
            Ok(json!({"results": results}))
        }
        other => Err(super::unknown_op(other)),
    }
}

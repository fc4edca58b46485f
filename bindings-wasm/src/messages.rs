//! Messages: decode any envelope, encode tasks and batches, sign and verify receipts and
//! verdicts, verify receipt batches naming every failure (spec/wire.md, spec/receipts.md).

use js_sys::{Array, Object};
use mycel_protocol::error::DecodeError;
use mycel_protocol::ids::Digest;
use mycel_protocol::receipt::{ReceiptBatch, SignedReceipt, SignedVerdict, Verdict, WorkReceipt};
use mycel_protocol::sign::{Signed, verify_signed_batch};
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{AnyMessage, Envelope, MessageKind, decode, encode};
use wasm_bindgen::prelude::*;

use crate::convert::{byte_list, bytes, from_json, set, to_js_bytes, to_json};
use crate::error::Fail;
use crate::keys::Keypair;

/// Decodes any envelope canonically into its JSON form `{ kind, message }` (what
/// `mycel inspect` prints; byte strings as hex). Throws `decode.*` on malformed bytes.
#[wasm_bindgen(
    js_name = decodeMessage,
    unchecked_return_type = "{ kind: \"task\" | \"receipt\" | \"verdict\" | \"receipt-batch\", message: any }"
)]
pub fn decode_message(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes_: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let b = bytes(&bytes_, "bytes")?;
    to_json(&AnyMessage::decode(&b)?)
}

/// Decodes an envelope canonically (as the kind `expect` when given: `"task"`, `"receipt"`,
/// `"verdict"`, `"receipt-batch"`) and returns `{ kind, id }`: the task digest, the receipt or
/// verdict id (SHA-256 of the tagged body; the signature is not checked) or the batch root.
#[wasm_bindgen(js_name = decodeId, unchecked_return_type = "{ kind: string, id: Uint8Array }")]
pub fn decode_id(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes_: JsValue,
    expect: Option<String>,
) -> core::result::Result<JsValue, Fail> {
    let b = bytes(&bytes_, "bytes")?;
    // Steps 1-6 of spec/wire.md section 4 on the header alone, then the body as any kind.
    let env = Envelope::parse(&b)?;
    if let Some(want) = expect.as_deref() {
        let expected = MessageKind::ALL
            .into_iter()
            .find(|k| k.name() == want)
            .ok_or_else(|| Fail::input_value(format!("unknown message kind {want:?}")))?;
        if expected != env.kind {
            return Err(mycel_protocol::Error::from(DecodeError::KindMismatch {
                expected: expected.code(),
                found: env.kind.code(),
            })
            .into());
        }
    }
    let m = AnyMessage::decode(&b)?;
    let id = match &m {
        AnyMessage::Task(t) => t.digest()?,
        AnyMessage::Receipt(r) => r.id()?,
        AnyMessage::Verdict(v) => v.id()?,
        AnyMessage::ReceiptBatch(x) => x.root()?,
        _ => return Err(Fail::input_value("unknown message kind")),
    };
    let o = Object::new();
    set(&o, "kind", m.kind().name());
    set(&o, "id", to_js_bytes(id.as_bytes()));
    Ok(o.into())
}

/// Re-encodes a message from its JSON form (`{ kind, message }`, as `decodeMessage` returns
/// it) into its canonical envelope.
#[wasm_bindgen(js_name = encodeMessage, unchecked_return_type = "Uint8Array")]
pub fn encode_message(
    #[wasm_bindgen(unchecked_param_type = "{ kind: string, message: any }")] msg: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let kind = crate::convert::prop(&msg, "kind")
        .as_string()
        .ok_or_else(|| Fail::input_type("msg.kind must be a string"))?;
    let body = crate::convert::prop(&msg, "message");
    let bytes = match kind.as_str() {
        "task" => encode(&from_json::<TaskSpec>(&body, "message")?)?,
        "receipt" => encode(&from_json::<SignedReceipt>(&body, "message")?)?,
        "verdict" => encode(&from_json::<SignedVerdict>(&body, "message")?)?,
        "receipt-batch" => encode(&from_json::<ReceiptBatch>(&body, "message")?)?,
        other => {
            return Err(Fail::input_value(format!(
                "unknown message kind {other:?} (task, receipt, verdict, receipt-batch)"
            )));
        }
    };
    Ok(to_js_bytes(&bytes))
}

/// The canonical envelope of a `TaskSpec` given in its JSON form (validated first).
#[wasm_bindgen(js_name = encodeTask, unchecked_return_type = "Uint8Array")]
pub fn encode_task(
    #[wasm_bindgen(unchecked_param_type = "object | string")] task: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let t: TaskSpec = from_json(&task, "task")?;
    Ok(to_js_bytes(&t.encode()?))
}

/// The task digest (SHA-256 of the canonical TaskSpec envelope) that receipts name.
#[wasm_bindgen(js_name = taskDigest, unchecked_return_type = "Uint8Array")]
pub fn task_digest(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] task: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let t = TaskSpec::decode(&bytes(&task, "task")?)?;
    Ok(to_js_bytes(t.digest()?.as_bytes()))
}

/// The compute units a task is worth (the spec's formula; receipts must carry exactly this),
/// as a `BigInt`.
#[wasm_bindgen(js_name = taskComputeUnits)]
pub fn task_compute_units(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] task: JsValue,
) -> core::result::Result<u64, Fail> {
    let t = TaskSpec::decode(&bytes(&task, "task")?)?;
    Ok(t.compute_units()?)
}

/// Signs a `WorkReceipt` (its JSON form: the `body` of a decoded receipt) with `key`; returns
/// the signed receipt envelope. The key must be the receipt's miner.
#[wasm_bindgen(js_name = signReceipt, unchecked_return_type = "Uint8Array")]
pub fn sign_receipt(
    #[wasm_bindgen(unchecked_param_type = "object | string")] receipt: JsValue,
    key: &Keypair,
) -> core::result::Result<JsValue, Fail> {
    let r: WorkReceipt = from_json(&receipt, "receipt")?;
    Ok(to_js_bytes(&encode(&Signed::sign(r, key.key())?)?))
}

/// Signs a `Verdict` (JSON form) with `key` (the verdict's validator); returns the envelope.
#[wasm_bindgen(js_name = signVerdict, unchecked_return_type = "Uint8Array")]
pub fn sign_verdict(
    #[wasm_bindgen(unchecked_param_type = "object | string")] verdict: JsValue,
    key: &Keypair,
) -> core::result::Result<JsValue, Fail> {
    let v: Verdict = from_json(&verdict, "verdict")?;
    Ok(to_js_bytes(&encode(&Signed::sign(v, key.key())?)?))
}

/// Verifies a signed receipt envelope (canonical decoding, field rules, signature) and returns
/// its id (32 bytes). Throws with the failing rule's code.
#[wasm_bindgen(js_name = verifyReceipt, unchecked_return_type = "Uint8Array")]
pub fn verify_receipt(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] receipt: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let r: SignedReceipt = decode(&bytes(&receipt, "receipt")?)?;
    Ok(to_js_bytes(r.verify_and_id()?.as_bytes()))
}

/// Verifies a signed verdict envelope and returns its id.
#[wasm_bindgen(js_name = verifyVerdict, unchecked_return_type = "Uint8Array")]
pub fn verify_verdict(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] verdict: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let v: SignedVerdict = decode(&bytes(&verdict, "verdict")?)?;
    Ok(to_js_bytes(v.verify_and_id()?.as_bytes()))
}

/// Checks a receipt against its task (network, subnet, epoch, task digest, compute units).
#[wasm_bindgen(js_name = checkReceiptTask)]
pub fn check_receipt_task(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] receipt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] task: JsValue,
) -> core::result::Result<(), Fail> {
    let r: SignedReceipt = decode(&bytes(&receipt, "receipt")?)?;
    let t = TaskSpec::decode(&bytes(&task, "task")?)?;
    Ok(r.body.check_task(&t)?)
}

/// A receipt batch envelope from signed receipt envelopes (all of one network, subnet, epoch).
#[wasm_bindgen(js_name = encodeReceiptBatch, unchecked_return_type = "Uint8Array")]
pub fn encode_receipt_batch(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] receipts: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let receipts = byte_list(&receipts, "receipts")?
        .iter()
        .map(|b| decode::<SignedReceipt>(b))
        .collect::<mycel_protocol::Result<Vec<_>>>()?;
    let first = receipts
        .first()
        .ok_or_else(|| Fail::input_length("a receipt batch needs at least one receipt"))?;
    let batch = ReceiptBatch {
        network: first.body.network,
        subnet: first.body.subnet,
        epoch: first.body.epoch,
        receipts,
    };
    Ok(to_js_bytes(&encode(&batch)?))
}

/// One receipt of a verified batch, as [`verify_receipt_batch`] reports it.
fn receipt_entry(i: usize, r: &SignedReceipt, verdict: &mycel_protocol::Result<()>) -> Object {
    let o = Object::new();
    set(&o, "index", i as u32);
    let id = r.id().unwrap_or(Digest([0; 32]));
    set(&o, "id", to_js_bytes(id.as_bytes()));
    set(&o, "miner", to_js_bytes(r.body.miner.as_bytes()));
    set(&o, "assigner", to_js_bytes(r.body.assigner.as_bytes()));
    set(&o, "taskDigest", to_js_bytes(r.body.task_digest.as_bytes()));
    set(
        &o,
        "outputCommitment",
        to_js_bytes(r.body.output_commitment.as_bytes()),
    );
    set(
        &o,
        "outputTileRoot",
        to_js_bytes(r.body.output_tile_root.as_bytes()),
    );
    set(
        &o,
        "computeUnits",
        js_sys::BigInt::from(r.body.compute_units),
    );
    set(&o, "backend", r.body.backend.as_str());
    set(&o, "valid", verdict.is_ok());
    match verdict {
        Ok(()) => {
            set(&o, "code", JsValue::NULL);
            set(&o, "message", JsValue::NULL);
        }
        Err(e) => {
            set(&o, "code", e.code());
            set(&o, "message", e.to_string());
        }
    }
    o
}

/// Decodes a receipt batch envelope and verifies every receipt's signature as one batch (the
/// same verdicts as one by one). Returns `{ network, subnet, epoch, root, receipts: [{ index,
/// id, miner, assigner, taskDigest, outputCommitment, outputTileRoot, computeUnits, backend,
/// valid, code, message }] }`: every failure is named by index and code. Throws only when the
/// batch itself does not decode.
#[wasm_bindgen(js_name = verifyReceiptBatch, unchecked_return_type = "ReceiptBatchReport")]
pub fn verify_receipt_batch(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] batch: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let b: ReceiptBatch = decode(&bytes(&batch, "batch")?)?;
    let verdicts = verify_signed_batch(&b.receipts)?;
    let o = Object::new();
    set(&o, "network", to_js_bytes(b.network.as_bytes()));
    set(&o, "subnet", b.subnet.0);
    set(&o, "epoch", js_sys::BigInt::from(b.epoch.0));
    set(&o, "root", to_js_bytes(b.root()?.as_bytes()));
    let list = Array::new();
    for (i, (r, v)) in b.receipts.iter().zip(&verdicts).enumerate() {
        list.push(&receipt_entry(i, r, v));
    }
    set(&o, "receipts", list);
    Ok(o.into())
}

/// The signed receipt envelopes of a batch, in order (to pass one on, e.g. in a fraud proof).
#[wasm_bindgen(js_name = receiptBatchReceipts, unchecked_return_type = "Uint8Array[]")]
pub fn receipt_batch_receipts(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] batch: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let b: ReceiptBatch = decode(&bytes(&batch, "batch")?)?;
    let out = Array::new();
    for r in &b.receipts {
        out.push(&to_js_bytes(&encode(r)?));
    }
    Ok(out.into())
}

/// The inclusion proof of receipt `index` in a batch (leaf data = the receipt id), as
/// `{ index, treeSize, path }`.
#[wasm_bindgen(js_name = receiptBatchProof, unchecked_return_type = "InclusionProof")]
pub fn receipt_batch_proof(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] batch: JsValue,
    index: u32,
) -> core::result::Result<JsValue, Fail> {
    let b: ReceiptBatch = decode(&bytes(&batch, "batch")?)?;
    Ok(crate::merkle::proof_to_js(&b.proof(u64::from(index))?))
}

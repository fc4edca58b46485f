//! Scoring, the chain's weight normalisation, verdict checks and crediting (spec/scoring.md,
//! spec/emission.md §4, spec/receipts.md §5 and §7). Inputs in their JSON forms (snake_case,
//! byte ids as hex, salts and commitments as arrays of 32 numbers); conversion only.

use mycel_protocol::emission::max_upscale_u16;
use mycel_protocol::receipt::{CreditLedger, ReceiptBinding, SignedReceipt, SignedVerdict};
use mycel_protocol::scoring::{
    MinerEpochResult, ScoreParams, WeightCommit, WeightReveal, score as rscore, verify_reveal,
    weights_commitment as rcommitment, weights_from_scores as rweights,
};
use mycel_protocol::wire::decode;
use wasm_bindgen::prelude::*;

use crate::convert::{bytes, from_json, list, to_js_bytes, to_json};
use crate::error::Fail;

impl From<mycel_protocol::scoring::ScoringError> for Fail {
    fn from(e: mycel_protocol::scoring::ScoringError) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

/// A miner's score for one epoch (spec/scoring.md §2) from `{ uid, verified, mismatched,
/// unchecked, compute_units, latency_ms }` and `{ latency_target_ms }`, as a `BigInt`.
#[wasm_bindgen]
pub fn score(
    #[wasm_bindgen(unchecked_param_type = "object | string")] result: JsValue,
    #[wasm_bindgen(unchecked_param_type = "object | string")] params: JsValue,
) -> core::result::Result<u64, Fail> {
    let r: MinerEpochResult = from_json(&result, "result")?;
    let p: ScoreParams = from_json(&params, "params")?;
    Ok(rscore(&r, &p))
}

/// Scores `[[uid, score], …]` to u16 weights `[[uid, weight], …]` (spec/scoring.md §3).
#[wasm_bindgen(js_name = weightsFromScores, unchecked_return_type = "Array<[number, number]>")]
pub fn weights_from_scores(
    #[wasm_bindgen(unchecked_param_type = "Array<[number, number]> | string")] scores: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let s: Vec<(u16, u64)> = from_json(&scores, "scores")?;
    to_json(&rweights(&s)?)
}

/// The chain's u16 normalisation at `set_weights` (spec/emission.md §4).
#[wasm_bindgen(js_name = maxUpscale, unchecked_return_type = "number[]")]
pub fn max_upscale(
    #[wasm_bindgen(unchecked_param_type = "number[]")] values: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let v: Vec<u16> = from_json(&values, "values")?;
    to_json(&max_upscale_u16(&v))
}

/// The commitment to a weight vector (spec/scoring.md §4) from a reveal's JSON form
/// `{ network, hotkey, subnet, epoch, weights, salt }`.
#[wasm_bindgen(js_name = weightsCommitment, unchecked_return_type = "Uint8Array")]
pub fn weights_commitment(
    #[wasm_bindgen(unchecked_param_type = "object | string")] reveal: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let r: WeightReveal = from_json(&reveal, "reveal")?;
    Ok(to_js_bytes(&rcommitment(
        &r.network, &r.hotkey, r.subnet, r.epoch, &r.weights, &r.salt,
    )?))
}

/// Checks a reveal against its commitment (`{ network, hotkey, subnet, epoch, commitment }`);
/// throws with the first failing rule's code (`scoring.*`).
#[wasm_bindgen(js_name = verifyReveal)]
pub fn verify_reveal_js(
    #[wasm_bindgen(unchecked_param_type = "object | string")] commit: JsValue,
    #[wasm_bindgen(unchecked_param_type = "object | string")] reveal: JsValue,
) -> core::result::Result<(), Fail> {
    let c: WeightCommit = from_json(&commit, "commit")?;
    let r: WeightReveal = from_json(&reveal, "reveal")?;
    Ok(verify_reveal(&c, &r)?)
}

/// Checks a verdict against the receipt it judges (same id; a Match carries the receipt's
/// commitment, a Mismatch another); throws `receipt.*`.
#[wasm_bindgen(js_name = checkVerdictReceipt)]
pub fn check_verdict_receipt(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] verdict: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] receipt: JsValue,
) -> core::result::Result<(), Fail> {
    let v: SignedVerdict = decode(&bytes(&verdict, "verdict")?)?;
    let r: SignedReceipt = decode(&bytes(&receipt, "receipt")?)?;
    Ok(v.body.check_receipt(&r)?)
}

/// Credits receipts in order against their expected assignments (`{ network, subnet, epoch,
/// assigner, miner, task_digest }`, spec/receipts.md §7) with one fresh ledger: per receipt
/// `null` when credited, else the refusal's code (`receipt.already_credited`, …).
#[wasm_bindgen(js_name = creditReceipts, unchecked_return_type = "(string | null)[]")]
pub fn credit_receipts(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] receipts: JsValue,
    #[wasm_bindgen(unchecked_param_type = "object[]")] expected: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let receipts = list(&receipts, "receipts")?;
    let expected = list(&expected, "expected")?;
    if receipts.len() != expected.len() {
        return Err(Fail::input_length("receipts and expected differ in length"));
    }
    let mut ledger = CreditLedger::default();
    let out = js_sys::Array::new();
    for (r, b) in receipts.iter().zip(&expected) {
        let r: SignedReceipt = decode(&bytes(r, "receipts[]")?)?;
        let b: ReceiptBinding = from_json(b, "expected[]")?;
        out.push(&match ledger.credit(&r.body, &b) {
            Ok(()) => JsValue::NULL,
            Err(e) => JsValue::from_str(e.code()),
        });
    }
    Ok(out.into())
}

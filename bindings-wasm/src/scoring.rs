//! Scoring, the chain's weight normalisation, verdict checks and crediting (spec/scoring.md,
//! spec/emission.md §4, spec/receipts.md §5 and §7): conversion only. Objects are read field
//! by field (no serde here, to keep the module small); 64-bit fields accept a safe-integer
//! number or a decimal string. A refused argument is `input.value` with the field's name.

use mycel_protocol::emission::max_upscale_u16;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::{CreditLedger, ReceiptBinding, SignedReceipt, SignedVerdict};
use mycel_protocol::scoring::{
    MinerEpochResult, ScoreParams, WeightCommit, WeightReveal, score as rscore, verify_reveal,
    weights_commitment as rcommitment, weights_from_scores as rweights,
};
use mycel_protocol::wire::decode;
use wasm_bindgen::prelude::*;

use crate::convert::{array, bytes, list, prop, to_js_bytes};
use crate::error::{Fail, Result};

impl From<mycel_protocol::scoring::ScoringError> for Fail {
    /// The code alone: the rule is named by the code (the Display text would add to the module
    /// size, which is capped).
    fn from(e: mycel_protocol::scoring::ScoringError) -> Fail {
        Fail::new(e.code(), e.code())
    }
}

/// A u64 from a `BigInt`, a safe-integer number or a decimal string.
fn u64_of(v: &JsValue, name: &str) -> Result<u64> {
    if let Some(s) = v.as_string() {
        return s
            .parse()
            .map_err(|_| Fail::input_value(format!("{name}: not a decimal u64")));
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&f) {
            return Ok(f as u64);
        }
        return Err(Fail::input_value(format!(
            "{name}: not a safe non-negative integer"
        )));
    }
    u64::try_from(v.clone()).map_err(|_| Fail::input_type(format!("{name}: expected an integer")))
}

fn narrow<T: TryFrom<u64>>(v: &JsValue, name: &str) -> Result<T> {
    T::try_from(u64_of(v, name)?).map_err(|_| Fail::input_value(format!("{name}: out of range")))
}

fn pairs<T: TryFrom<u64>>(v: &JsValue, name: &str) -> Result<Vec<(u16, T)>> {
    list(v, name)?
        .iter()
        .map(|p| {
            Ok((
                narrow(
                    &js_sys::Reflect::get(p, &0.into()).unwrap_or_default(),
                    name,
                )?,
                narrow(
                    &js_sys::Reflect::get(p, &1.into()).unwrap_or_default(),
                    name,
                )?,
            ))
        })
        .collect()
}

fn pairs_to_js(w: &[(u16, u16)]) -> JsValue {
    w.iter()
        .map(|&(a, b)| js_sys::Array::of2(&a.into(), &b.into()))
        .collect::<js_sys::Array>()
        .into()
}

/// A miner's score for one epoch (spec/scoring.md §2) from `{ uid, verified, mismatched,
/// unchecked, computeUnits, latencyMs }` and the latency target, as a `BigInt`.
#[wasm_bindgen]
pub fn score(
    #[wasm_bindgen(
        unchecked_param_type = "{ uid: number, verified: number, mismatched: number, unchecked: number, computeUnits: number | string, latencyMs: number | string }"
    )]
    result: JsValue,
    #[wasm_bindgen(js_name = latencyTargetMs, unchecked_param_type = "number | string")]
    latency_target_ms: JsValue,
) -> core::result::Result<u64, Fail> {
    let r = MinerEpochResult {
        uid: narrow(&prop(&result, "uid"), "uid")?,
        verified: narrow(&prop(&result, "verified"), "verified")?,
        mismatched: narrow(&prop(&result, "mismatched"), "mismatched")?,
        unchecked: narrow(&prop(&result, "unchecked"), "unchecked")?,
        compute_units: u64_of(&prop(&result, "computeUnits"), "computeUnits")?,
        latency_ms: u64_of(&prop(&result, "latencyMs"), "latencyMs")?,
    };
    let p = ScoreParams {
        latency_target_ms: u64_of(&latency_target_ms, "latencyTargetMs")?,
    };
    Ok(rscore(&r, &p))
}

/// Scores `[[uid, score], …]` to u16 weights `[[uid, weight], …]` (spec/scoring.md §3).
#[wasm_bindgen(js_name = weightsFromScores, unchecked_return_type = "Array<[number, number]>")]
pub fn weights_from_scores(
    #[wasm_bindgen(unchecked_param_type = "Array<[number, number | string]>")] scores: JsValue,
) -> core::result::Result<JsValue, Fail> {
    Ok(pairs_to_js(&rweights(&pairs::<u64>(&scores, "scores")?)?))
}

/// The chain's u16 normalisation at `set_weights` (spec/emission.md §4).
#[wasm_bindgen(js_name = maxUpscale)]
pub fn max_upscale(values: Vec<u16>) -> Vec<u16> {
    max_upscale_u16(&values)
}

fn reveal_of(r: &JsValue) -> Result<WeightReveal> {
    Ok(WeightReveal {
        network: NetworkId(array(&prop(r, "network"), "network")?),
        hotkey: Hotkey(array(&prop(r, "hotkey"), "hotkey")?),
        subnet: SubnetId(narrow(&prop(r, "subnet"), "subnet")?),
        epoch: Epoch(u64_of(&prop(r, "epoch"), "epoch")?),
        weights: pairs::<u16>(&prop(r, "weights"), "weights")?,
        salt: array(&prop(r, "salt"), "salt")?,
    })
}

/// The commitment to a weight vector (spec/scoring.md §4) from `{ network, hotkey, subnet,
/// epoch, weights, salt }` (byte fields as `Uint8Array`).
#[wasm_bindgen(js_name = weightsCommitment, unchecked_return_type = "Uint8Array")]
pub fn weights_commitment(
    #[wasm_bindgen(
        unchecked_param_type = "{ network: Uint8Array, hotkey: Uint8Array, subnet: number, epoch: number | string, weights: Array<[number, number]>, salt: Uint8Array }"
    )]
    reveal: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let r = reveal_of(&reveal)?;
    Ok(to_js_bytes(&rcommitment(
        &r.network, &r.hotkey, r.subnet, r.epoch, &r.weights, &r.salt,
    )?))
}

/// Checks a reveal against its commitment (`{ network, hotkey, subnet, epoch, commitment }`);
/// throws with the first failing rule's code (`scoring.*`).
#[wasm_bindgen(js_name = verifyReveal)]
pub fn verify_reveal_js(
    #[wasm_bindgen(
        unchecked_param_type = "{ network: Uint8Array, hotkey: Uint8Array, subnet: number, epoch: number | string, commitment: Uint8Array }"
    )]
    commit: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{ network: Uint8Array, hotkey: Uint8Array, subnet: number, epoch: number | string, weights: Array<[number, number]>, salt: Uint8Array }"
    )]
    reveal: JsValue,
) -> core::result::Result<(), Fail> {
    let c = WeightCommit {
        network: NetworkId(array(&prop(&commit, "network"), "network")?),
        hotkey: Hotkey(array(&prop(&commit, "hotkey"), "hotkey")?),
        subnet: SubnetId(narrow(&prop(&commit, "subnet"), "subnet")?),
        epoch: Epoch(u64_of(&prop(&commit, "epoch"), "epoch")?),
        commitment: array(&prop(&commit, "commitment"), "commitment")?,
    };
    Ok(verify_reveal(&c, &reveal_of(&reveal)?)?)
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

/// Credits receipts in order, each against its expected assignment `{ network, subnet, epoch,
/// assigner, miner, taskDigest }` (spec/receipts.md §7), with one fresh ledger: per receipt
/// `null` when credited, else the refusal's code (`receipt.already_credited`, …).
#[wasm_bindgen(js_name = creditReceipts, unchecked_return_type = "(string | null)[]")]
pub fn credit_receipts(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] receipts: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "Array<{ network: Uint8Array, subnet: number, epoch: number | string, assigner: Uint8Array, miner: Uint8Array, taskDigest: Uint8Array }>"
    )]
    expected: JsValue,
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
        let b = ReceiptBinding {
            network: NetworkId(array(&prop(b, "network"), "network")?),
            subnet: SubnetId(narrow(&prop(b, "subnet"), "subnet")?),
            epoch: Epoch(u64_of(&prop(b, "epoch"), "epoch")?),
            assigner: Hotkey(array(&prop(b, "assigner"), "assigner")?),
            miner: Hotkey(array(&prop(b, "miner"), "miner")?),
            task_digest: Digest(array(&prop(b, "taskDigest"), "taskDigest")?),
        };
        out.push(&match ledger.credit(&r.body, &b) {
            Ok(()) => JsValue::NULL,
            Err(e) => JsValue::from_str(e.code()),
        });
    }
    Ok(out.into())
}

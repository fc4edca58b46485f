//! The validator's steps from `mycel-node`: draw the spot-check sample after the batch root is
//! committed, judge a receipt against the re-executed truth, build a fraud proof, check one.

use js_sys::Object;
use mycel_node::fraud::{FraudProof, WeightsSource};
use mycel_node::miner::Claim;
use mycel_node::validator::{Validator as NodeValidator, sample as nsample};
use mycel_protocol::ids::{Digest, Hotkey, SigningKey};
use mycel_protocol::receipt::{ReceiptBatch, SignedReceipt, SignedVerdict};
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{decode, encode};
use wasm_bindgen::prelude::*;

use crate::convert::{array, byte_list, bytes, from_json, list, set, to_js_bytes};
use crate::error::{Fail, Result};

impl From<mycel_node::Error> for Fail {
    fn from(e: mycel_node::Error) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

impl From<mycel_node::FraudError> for Fail {
    fn from(e: mycel_node::FraudError) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

/// A validator's signing role (`mycel-node`'s `Validator`): verdicts and fraud proofs.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Validator {
    inner: NodeValidator,
}

#[wasm_bindgen]
impl Validator {
    /// The validator with this 32-byte secret seed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    ) -> core::result::Result<Validator, Fail> {
        let seed: [u8; 32] = array(&seed, "seed")?;
        let inner = NodeValidator::new(
            SigningKey::from_seed(&seed),
            mycel_protocol::scoring::DEFAULT_EMA_ALPHA,
        )?;
        Ok(Validator { inner })
    }

    /// The validator's hotkey, 32 bytes.
    #[wasm_bindgen(getter, unchecked_return_type = "Uint8Array")]
    pub fn hotkey(&self) -> JsValue {
        to_js_bytes(self.inner.hotkey().as_bytes())
    }

    /// The signed verdict (envelope) on a receipt given the commitment and tile root
    /// re-execution produced: `Match` when both equal the receipt's, `Mismatch` when the
    /// commitment differs; `null` when only the tile root differs (the receipt earns nothing,
    /// but a version-1 verdict cannot carry a tile root, so none is signed).
    #[wasm_bindgen(unchecked_return_type = "Uint8Array | null")]
    pub fn judge(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] receipt: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] commitment: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] tile_root: JsValue,
    ) -> core::result::Result<JsValue, Fail> {
        let r: SignedReceipt = decode(&bytes(&receipt, "receipt")?)?;
        let truth = Claim {
            commitment: Digest(array::<32>(&commitment, "commitment")?),
            tile_root: Digest(array::<32>(&tile_root, "tileRoot")?),
        };
        match self.inner.judge(r.id()?, &r, truth)?.verdict() {
            Some(v) => Ok(to_js_bytes(&encode(v)?)),
            None => Ok(JsValue::NULL),
        }
    }

    /// The fraud proof (`mycel-fraud-proof/v1` JSON text) for the mismatching receipt at
    /// `index` of a receipt batch envelope, with its inclusion proof under the batch root.
    /// `weights` names generated matmul weights `{ seed, format, rows, cols }` (null for
    /// attention and seeded tasks).
    #[wasm_bindgen(js_name = fraudProof)]
    pub fn fraud_proof(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] batch: JsValue,
        index: u32,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] task: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] verdict: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "{ seed: string, format: string, rows: number, cols: number } | null | undefined"
        )]
        weights: JsValue,
        note: Option<String>,
    ) -> core::result::Result<String, Fail> {
        let b: ReceiptBatch = decode(&bytes(&batch, "batch")?)?;
        let committed = self
            .inner
            .commit_batch(b.network, b.subnet, b.epoch, b.receipts)?;
        let task = TaskSpec::decode(&bytes(&task, "task")?)?;
        let verdict: SignedVerdict = decode(&bytes(&verdict, "verdict")?)?;
        let weights = weights_source(&weights)?;
        let proof = self.inner.fraud_proof(
            &committed,
            index as usize,
            &task,
            &verdict,
            weights,
            note.unwrap_or_default(),
        )?;
        Ok(proof.to_json()?)
    }
}

/// A weights source from `{ seed, format, rows, cols }` (hex seed), or none.
fn weights_source(v: &JsValue) -> Result<Option<WeightsSource>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Src {
        seed: String,
        format: String,
        rows: u32,
        cols: u32,
    }
    let s: Src = from_json(v, "weights")?;
    let seed = Digest::from_hex(&s.seed)
        .ok_or_else(|| Fail::input_value("weights.seed must be 64 hex digits"))?;
    let format = crate::task::parse_format(&s.format)?;
    Ok(Some(WeightsSource::new(&seed.0, format, s.rows, s.cols)))
}

/// The spot-check seed of a validator for one epoch (spec/sampling.md): fixed only once its
/// receipt batch root is committed and its sample secret (committed before any receipt
/// arrived) is revealed.
#[wasm_bindgen(js_name = sampleSeed, unchecked_return_type = "Uint8Array")]
pub fn sample_seed(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] beacon: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] root: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] validator: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let beacon = array::<32>(&beacon, "beacon")?;
    let root = Digest(array::<32>(&root, "root")?);
    let validator = Hotkey(array::<32>(&validator, "validator")?);
    let secret = array::<32>(&secret, "secret")?;
    Ok(to_js_bytes(&nsample::sample_seed(
        &beacon, &root, &validator, &secret,
    )))
}

/// The commitment a validator publishes to its 32-byte sample secret before receipts arrive.
#[wasm_bindgen(js_name = sampleSecretCommitment, unchecked_return_type = "Uint8Array")]
pub fn sample_secret_commitment(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let secret = array::<32>(&secret, "secret")?;
    Ok(to_js_bytes(nsample::secret_commitment(&secret).as_bytes()))
}

/// The spot-check sample among one miner's receipts: `list` holds indices into `ids` (the
/// batch's receipt ids); returns the indices to re-execute (`rate · len` rounded
/// stochastically from the seed, at least `min`).
#[wasm_bindgen(unchecked_return_type = "number[]")]
pub fn sample(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] ids: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number[]")] list_: JsValue,
    rate: f64,
    min: u32,
) -> core::result::Result<JsValue, Fail> {
    let seed = array::<32>(&seed, "seed")?;
    let ids = byte_list(&ids, "ids")?
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let len = b.len();
            <[u8; 32]>::try_from(b)
                .map(Digest)
                .map_err(|_| Fail::input_length(format!("ids[{i}] must be 32 bytes, got {len}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let picks = list(&list_, "list")?
        .iter()
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| Fail::input_type("list entries must be numbers"))
                .and_then(|f| crate::convert::dim(f, "list entry"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(
        nsample::sample(&seed, &ids, &picks, nsample::rate_ppm(rate), min)
            .into_iter()
            .map(|i| JsValue::from_f64(i as f64))
            .collect::<js_sys::Array>()
            .into(),
    )
}

/// Checks a fraud proof file's text by the rules of `mycel fraud verify` (re-executing its
/// task). Returns `{ holds: true, recomputed, batchRoot }` or `{ holds: false, code, reason }`
/// naming the first rule that fails.
#[wasm_bindgen(
    js_name = checkFraudProof,
    unchecked_return_type = "{ holds: boolean, code?: string, reason?: string, recomputed?: Uint8Array, batchRoot?: Uint8Array | null }"
)]
pub fn check_fraud_proof(text: &str) -> JsValue {
    let o = Object::new();
    match FraudProof::from_json(text).and_then(|p| p.check()) {
        Ok(c) => {
            set(&o, "holds", true);
            set(&o, "recomputed", to_js_bytes(c.recomputed.as_bytes()));
            set(
                &o,
                "batchRoot",
                c.batch_root
                    .map_or(JsValue::NULL, |r| to_js_bytes(r.as_bytes())),
            );
        }
        Err(e) => {
            set(&o, "holds", false);
            set(&o, "code", e.code());
            set(&o, "reason", e.to_string());
        }
    }
    o.into()
}

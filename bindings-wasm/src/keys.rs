//! Keys and the raw signature rule (`verifySignature`, `verifySignatures`).

use mycel_protocol::error::SignatureError;
use mycel_protocol::ids::SigningKey;
use mycel_protocol::sign::{SliceItem, verify_batch_slices, verify_slices};
use wasm_bindgen::prelude::*;

use crate::convert::{array, byte_list, bytes, to_js_bytes};
use crate::error::{Fail, Result};

/// An ed25519 key pair (a miner's or validator's hotkey and its secret seed).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Keypair {
    key: SigningKey,
}

#[wasm_bindgen]
impl Keypair {
    /// A new key from the platform's secure randomness (`crypto.getRandomValues`).
    pub fn generate() -> core::result::Result<Keypair, Fail> {
        Ok(Keypair {
            key: SigningKey::generate()?,
        })
    }

    /// The key with this 32-byte secret seed.
    #[wasm_bindgen(js_name = fromSeed)]
    pub fn from_seed(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    ) -> core::result::Result<Keypair, Fail> {
        let seed: [u8; 32] = array(&seed, "seed")?;
        Ok(Keypair {
            key: SigningKey::from_seed(&seed),
        })
    }

    /// The public key (hotkey), 32 bytes.
    #[wasm_bindgen(getter, unchecked_return_type = "Uint8Array")]
    pub fn hotkey(&self) -> JsValue {
        to_js_bytes(self.key.hotkey().as_bytes())
    }

    /// The secret seed, 32 bytes (keep it secret).
    #[wasm_bindgen(unchecked_return_type = "Uint8Array")]
    pub fn seed(&self) -> JsValue {
        to_js_bytes(self.key.to_seed().as_ref())
    }

    /// A raw ed25519 signature (64 bytes) over `message` (no domain tag; protocol messages are
    /// signed with `signReceipt` / `signVerdict`).
    #[wasm_bindgen(unchecked_return_type = "Uint8Array")]
    pub fn sign(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] message: JsValue,
    ) -> core::result::Result<JsValue, Fail> {
        let m = bytes(&message, "message")?;
        Ok(to_js_bytes(self.key.sign_raw(&m).as_bytes()))
    }
}

impl Keypair {
    /// The signing key inside.
    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }
}

/// The raw signature rule exactly as `mycel sig verify` applies it (spec/signatures.md): strict
/// encodings, cofactored equation. Keys or signatures of the wrong length are `false`, never an
/// error; arguments that are not `Uint8Array`s throw (`input.type`).
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] pk: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] msg: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] sig: JsValue,
) -> core::result::Result<bool, Fail> {
    let (pk, msg, sig) = (bytes(&pk, "pk")?, bytes(&msg, "msg")?, bytes(&sig, "sig")?);
    Ok(verify_slices(&pk, &msg, &sig).is_ok())
}

/// Verdicts of a batch (`None` = valid, else the reason), as `mycel sig verify --batch` computes
/// them: wrong lengths are rejected first, the rest is one cofactored batch with random
/// coefficients, whose verdicts equal the single rule's.
pub fn batch_verdicts(
    pks: &[Vec<u8>],
    msgs: &[Vec<u8>],
    sigs: &[Vec<u8>],
) -> Result<Vec<core::result::Result<(), SignatureError>>> {
    if pks.len() != msgs.len() || pks.len() != sigs.len() {
        return Err(Fail::input_length(format!(
            "pks, msgs and sigs must have the same length ({}, {}, {})",
            pks.len(),
            msgs.len(),
            sigs.len()
        )));
    }
    let slices: Vec<SliceItem<'_>> = pks
        .iter()
        .zip(msgs)
        .zip(sigs)
        .map(|((pk, msg), sig)| (pk.as_slice(), msg.as_slice(), sig.as_slice()))
        .collect();
    Ok(verify_batch_slices(&slices)?.into_results())
}

/// [`verify_signature`] for many signatures at once, verified as one batch (same verdicts as
/// one by one): `pks`, `msgs` and `sigs` are arrays of `Uint8Array` of equal length.
#[wasm_bindgen(js_name = verifySignatures, unchecked_return_type = "boolean[]")]
pub fn verify_signatures(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] pks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] msgs: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] sigs: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let r = batch_verdicts(
        &byte_list(&pks, "pks")?,
        &byte_list(&msgs, "msgs")?,
        &byte_list(&sigs, "sigs")?,
    )?;
    Ok(r.iter()
        .map(|x| JsValue::from_bool(x.is_ok()))
        .collect::<js_sys::Array>()
        .into())
}

/// The failures of a batch, named: `[{ index, code, message }]` for every invalid signature
/// (empty when all are valid).
#[wasm_bindgen(
    js_name = signatureFailures,
    unchecked_return_type = "Array<{ index: number, code: string, message: string }>"
)]
pub fn signature_failures(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] pks: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] msgs: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] sigs: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let r = batch_verdicts(
        &byte_list(&pks, "pks")?,
        &byte_list(&msgs, "msgs")?,
        &byte_list(&sigs, "sigs")?,
    )?;
    let out = js_sys::Array::new();
    for (i, x) in r.iter().enumerate() {
        if let Err(e) = x {
            let o = js_sys::Object::new();
            crate::convert::set(&o, "index", i as u32);
            crate::convert::set(&o, "code", e.code());
            crate::convert::set(&o, "message", e.to_string());
            out.push(&o);
        }
    }
    Ok(out.into())
}

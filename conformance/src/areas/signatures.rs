//! `signatures.json`: the mycel Ed25519 rule (spec/signatures.md): all 151 Wycheproof ed25519
//! cases under mycel's rule, mycel's own edge cases (small-order and mixed-order points,
//! non-canonical encodings, S ≥ L, wrong lengths), batches whose verdicts must equal the single
//! rule's, and deterministic signing.
//!
//! Operations: `verify` `{pk, msg, sig}` → `{}` or the failing rule's code; `verify_batch`
//! `{items: [{pk, msg, sig}]}` → `{valid: [bool]}`; `sign` `{seed, msg}` → `{pk, sig}`.
#![allow(clippy::indexing_slicing)] // drafts index fixtures of fixed, known length

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use mycel_protocol::ids::SigningKey;
use mycel_protocol::sign::verify_slices;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha512};

use crate::generate::{Draft, DraftGroup, Expect, Meta};
use crate::util::{Answer, array, b32, bytes, field, hx};
use crate::{Error, Result};

/// The Wycheproof ed25519 vectors (Apache-2.0, C2SP/wycheproof), as committed in
/// protocol/tests/vectors/.
const WYCHEPROOF: &str =
    include_str!("../../../protocol/tests/vectors/wycheproof_ed25519_test.json");

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec![
            "spec/signatures.md#1-keys-and-signing",
            "spec/signatures.md#2-verification-rule",
            "spec/signatures.md#4-batch-verification",
        ],
        header: vec![
            "The mycel Ed25519 rule: strict encodings (S < L, canonical A and R), A and R not of small order, the cofactored equation [8]([S]B - R - [k]A) = O with k = SHA-512(R || A || M) mod L over the raw bytes.",
            "Wycheproof's ed25519 cases keep their tcId and their own result in the comment, their flags as Wycheproof:<flag>; result is mycel's verdict, which differs where mycel's rule differs.",
            "Operations: verify {pk, msg, sig} -> {} or the failing rule's code; verify_batch {items} -> {valid: [bool]} equal to the single rule item by item; sign {seed, msg} -> {pk, sig} (RFC 8032).",
        ],
        notes: vec![
            (
                "Wycheproof",
                "Imported from Wycheproof's ed25519 test file (the comment carries its tcId and result).",
            ),
            ("Valid", "A signature mycel accepts."),
            (
                "SmallOrderKey",
                "A public key of small order (one of the 8 torsion points).",
            ),
            ("SmallOrderR", "R of small order."),
            (
                "MixedOrder",
                "A point with a torsion component but not of small order: only a cofactored equation accepts the signature, and mycel's does.",
            ),
            (
                "NonCanonicalKey",
                "A public key encoding with y >= p, or x = 0 with the sign bit set.",
            ),
            (
                "NonCanonicalR",
                "An R encoding with y >= p, or x = 0 with the sign bit set.",
            ),
            ("NotOnCurve", "A y for which no x exists."),
            ("NonCanonicalS", "S >= L."),
            ("Length", "A key or signature of the wrong length."),
            (
                "Equation",
                "Well-formed, but the equation fails (another message or key).",
            ),
            (
                "Batch",
                "A batch whose verdicts must equal the single verifier's.",
            ),
            ("Sign", "Deterministic RFC 8032 signing from a seed."),
        ],
    }
}

fn item(pk: &[u8], msg: &[u8], sig: &[u8]) -> Value {
    json!({"pk": hx(pk), "msg": hx(msg), "sig": hx(sig)})
}

fn h512(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A signature under key scalar `a` (public point `pk_point`, encoded `pk`) with nonce point
/// `R = r·B + t` (t a torsion point or the identity): `S = r + k·a`.
fn forge(a: &Scalar, pk: &[u8; 32], r: &Scalar, t: EdwardsPoint, msg: &[u8]) -> [u8; 64] {
    let big_r = (EdwardsPoint::mul_base(r) + t).compress().to_bytes();
    let k = h512(&[&big_r, pk, msg]);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig
}

/// Adds L to the little-endian 256-bit S (S + L < 2^256 for S < L).
fn add_l(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = (v & 0xff) as u8;
        carry = v >> 8;
    }
    out
}

/// The smallest y ≥ 2 (little-endian, byte 0) whose encoding is no curve point.
fn off_curve() -> [u8; 32] {
    let mut y = [0u8; 32];
    for v in 2u8..=255 {
        y[0] = v;
        if CompressedEdwardsY(y).decompress().is_none() {
            return y;
        }
    }
    y
}

/// p + d, little-endian (p = 2^255 - 19), for d < 19: a non-canonical encoding of y = d.
fn p_plus(d: u8) -> [u8; 32] {
    let mut y = [0xffu8; 32];
    y[0] = 0xed + d;
    y[31] = 0x7f;
    y
}

/// Wycheproof's flags as notes of this file (`Wycheproof:<flag>`).
///
/// # Errors
/// A Wycheproof file that does not parse.
pub fn wycheproof_notes() -> Result<Vec<(String, String)>> {
    let v: Value = serde_json::from_str(WYCHEPROOF).map_err(|e| Error(e.to_string()))?;
    Ok(v["notes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| {
            (
                format!("Wycheproof:{k}"),
                format!(
                    "Wycheproof's flag {k}: {}",
                    n["description"].as_str().unwrap_or("")
                ),
            )
        })
        .collect())
}

fn wycheproof() -> Result<Vec<DraftGroup>> {
    let v: Value = serde_json::from_str(WYCHEPROOF).map_err(|e| Error(e.to_string()))?;
    let mut groups = Vec::new();
    for g in v["testGroups"].as_array().into_iter().flatten() {
        let pk = g["publicKey"]["pk"].as_str().unwrap_or("");
        let pk = hex::decode(pk).map_err(|e| Error(e.to_string()))?;
        let mut cases = Vec::new();
        for t in g["tests"].as_array().into_iter().flatten() {
            let id = t["tcId"].as_u64().unwrap_or(0);
            let mut flags = vec!["Wycheproof".to_string()];
            for f in t["flags"].as_array().into_iter().flatten() {
                flags.push(format!("Wycheproof:{}", f.as_str().unwrap_or("")));
            }
            let msg =
                hex::decode(t["msg"].as_str().unwrap_or("")).map_err(|e| Error(e.to_string()))?;
            let sig =
                hex::decode(t["sig"].as_str().unwrap_or("")).map_err(|e| Error(e.to_string()))?;
            let comment = format!(
                "Wycheproof tcId {id}: {} (Wycheproof result: {})",
                t["comment"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                    .unwrap_or("no comment"),
                t["result"].as_str().unwrap_or("?")
            );
            cases.push(Draft {
                comment,
                flags,
                input: item(&pk, &msg, &sig),
                expect: Expect::Reference,
            });
        }
        groups.push(DraftGroup::new(
            "verify",
            format!("Wycheproof ed25519, public key {}", hex::encode(&pk)),
            cases,
        ));
    }
    Ok(groups)
}

/// Draft cases.
///
/// # Errors
/// A Wycheproof file that does not parse.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let mut groups = wycheproof()?;
    let a = Scalar::from_bytes_mod_order(b32("signatures key scalar"));
    let pk_point = EdwardsPoint::mul_base(&a);
    let pk = pk_point.compress().to_bytes();
    let r = Scalar::from_bytes_mod_order(b32("signatures nonce"));
    let msg = b"mycel conformance message".to_vec();
    let good = forge(&a, &pk, &r, EdwardsPoint::default(), &msg);
    let id = EdwardsPoint::default();

    let mut own = vec![
        Draft::valid("a valid signature", &["Valid"], item(&pk, &msg, &good)),
        Draft::valid(
            "a valid signature over the empty message",
            &["Valid"],
            item(&pk, &[], &forge(&a, &pk, &r, id, &[])),
        ),
        Draft::invalid(
            "the message with one bit flipped",
            &["Equation"],
            item(&pk, b"mycel conformance messagf", &good),
            "signature.equation",
        ),
        Draft::invalid(
            "another key's signature",
            &["Equation"],
            item(
                &EdwardsPoint::mul_base(&(a + Scalar::ONE))
                    .compress()
                    .to_bytes(),
                &msg,
                &good,
            ),
            "signature.equation",
        ),
    ];
    // S + L and S with high bits set.
    let mut s_plus_l = good;
    s_plus_l[32..].copy_from_slice(&add_l(&good[32..]));
    own.push(Draft::invalid(
        "S + L (the same S modulo L, not reduced)",
        &["NonCanonicalS"],
        item(&pk, &msg, &s_plus_l),
        "signature.scalar_not_reduced",
    ));
    let mut s_l = good;
    s_l[32..].copy_from_slice(&L);
    own.push(Draft::invalid(
        "S = L",
        &["NonCanonicalS"],
        item(&pk, &msg, &s_l),
        "signature.scalar_not_reduced",
    ));
    let mut s_top = good;
    s_top[63] |= 0xe0;
    own.push(Draft::invalid(
        "S with its three top bits set",
        &["NonCanonicalS"],
        item(&pk, &msg, &s_top),
        "signature.scalar_not_reduced",
    ));
    // Small-order keys and R.
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let enc = t.compress().to_bytes();
        own.push(Draft::invalid(
            format!("public key: torsion point {i} ({})", hex::encode(enc)),
            &["SmallOrderKey"],
            item(&enc, &msg, &good),
            "signature.small_order_key",
        ));
    }
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        let enc = t.compress().to_bytes();
        let mut sig = good;
        sig[..32].copy_from_slice(&enc);
        own.push(Draft::invalid(
            format!("R: torsion point {i}"),
            &["SmallOrderR"],
            item(&pk, &msg, &sig),
            "signature.small_order_r",
        ));
    }
    // Mixed-order key and R: accepted by the cofactored equation.
    for i in [1usize, 2, 4] {
        let t = EIGHT_TORSION[i];
        let mixed = (pk_point + t).compress().to_bytes();
        let sig = forge(&a, &mixed, &r, id, &msg);
        own.push(Draft::valid(
            format!("public key A + T{i} (mixed order), S = r + k·a: cofactored equation holds"),
            &["MixedOrder", "Valid"],
            item(&mixed, &msg, &sig),
        ));
        let sig_r = forge(&a, &pk, &r, t, &msg);
        own.push(Draft::valid(
            format!("R = rB + T{i} (mixed order): cofactored equation holds"),
            &["MixedOrder", "Valid"],
            item(&pk, &msg, &sig_r),
        ));
    }
    // Non-canonical encodings.
    for d in [0u8, 1, 2, 3] {
        let enc = p_plus(d);
        own.push(Draft::invalid(
            format!("public key y = p + {d} (non-canonical)"),
            &["NonCanonicalKey"],
            item(&enc, &msg, &good),
            "signature.non_canonical_key",
        ));
        let mut sig = good;
        sig[..32].copy_from_slice(&enc);
        own.push(Draft::invalid(
            format!("R with y = p + {d} (non-canonical)"),
            &["NonCanonicalR"],
            item(&pk, &msg, &sig),
            "signature.non_canonical_r",
        ));
    }
    let mut ident_sign = [0u8; 32];
    ident_sign[0] = 1;
    ident_sign[31] = 0x80;
    own.push(Draft::invalid(
        "public key: the identity (x = 0) with the sign bit set",
        &["NonCanonicalKey"],
        item(&ident_sign, &msg, &good),
        "signature.non_canonical_key",
    ));
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    own.push(Draft::invalid(
        "public key: (0, -1) with the sign bit set",
        &["NonCanonicalKey"],
        item(&minus_one, &msg, &good),
        "signature.non_canonical_key",
    ));
    let mut sig = good;
    sig[..32].copy_from_slice(&ident_sign);
    own.push(Draft::invalid(
        "R: the identity with the sign bit set",
        &["NonCanonicalR"],
        item(&pk, &msg, &sig),
        "signature.non_canonical_r",
    ));
    let oc = off_curve();
    own.push(Draft::invalid(
        format!("public key y = {} (no curve point)", oc[0]),
        &["NotOnCurve"],
        item(&oc, &msg, &good),
        "signature.key_not_on_curve",
    ));
    let mut sig = good;
    sig[..32].copy_from_slice(&oc);
    own.push(Draft::invalid(
        format!("R with y = {} (no curve point)", oc[0]),
        &["NotOnCurve"],
        item(&pk, &msg, &sig),
        "signature.r_not_on_curve",
    ));
    // Lengths.
    own.push(Draft::invalid(
        "31-byte public key",
        &["Length"],
        item(&pk[..31], &msg, &good),
        "signature.key_length",
    ));
    let mut pk33 = pk.to_vec();
    pk33.push(0);
    own.push(Draft::invalid(
        "33-byte public key",
        &["Length"],
        item(&pk33, &msg, &good),
        "signature.key_length",
    ));
    own.push(Draft::invalid(
        "empty public key",
        &["Length"],
        item(&[], &msg, &good),
        "signature.key_length",
    ));
    own.push(Draft::invalid(
        "63-byte signature",
        &["Length"],
        item(&pk, &msg, &good[..63]),
        "signature.signature_length",
    ));
    let mut sig65 = good.to_vec();
    sig65.push(0);
    own.push(Draft::invalid(
        "65-byte signature",
        &["Length"],
        item(&pk, &msg, &sig65),
        "signature.signature_length",
    ));
    own.push(Draft::invalid(
        "wrong-length key and signature: the key is reported",
        &["Length"],
        item(&pk[..31], &msg, &good[..63]),
        "signature.key_length",
    ));
    own.push(Draft::invalid(
        "S not reduced and the key of small order: S is checked first",
        &["NonCanonicalS", "SmallOrderKey"],
        item(&EIGHT_TORSION[0].compress().to_bytes(), &msg, &s_plus_l),
        "signature.scalar_not_reduced",
    ));
    own.push(Draft::invalid(
        "non-canonical key and small-order R: the key is checked first",
        &["NonCanonicalKey", "SmallOrderR"],
        item(&p_plus(1), &msg, &{
            let mut s = good;
            s[..32].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes());
            s
        }),
        "signature.non_canonical_key",
    ));
    groups.push(DraftGroup::new(
        "verify",
        "mycel's own edge cases of the rule.",
        own,
    ));

    // Batches.
    let all: Vec<Value> = groups
        .iter()
        .flat_map(|g| g.cases.iter().map(|c| c.input.clone()))
        .collect();
    let valid_only: Vec<Value> = groups
        .iter()
        .flat_map(|g| g.cases.iter())
        .filter(|c| c.flags.iter().any(|f| f == "Valid"))
        .map(|c| c.input.clone())
        .take(20)
        .collect();
    let mut one_bad = valid_only.clone();
    one_bad.insert(7, item(&pk, b"tampered", &good));
    let batches = vec![
        Draft::valid("an empty batch", &["Batch"], json!({"items": []})),
        Draft::valid(
            "one valid signature",
            &["Batch"],
            json!({"items": [item(&pk, &msg, &good)]}),
        ),
        Draft::valid(
            "twenty valid signatures",
            &["Batch", "Valid"],
            json!({"items": valid_only}),
        ),
        Draft::valid(
            "twenty valid signatures and one bad one at index 7",
            &["Batch", "Equation"],
            json!({"items": one_bad}),
        ),
        Draft::valid(
            "every verify case of this file in one batch (mixed-order points included)",
            &["Batch", "MixedOrder"],
            json!({"items": all}),
        ),
    ];
    groups.push(DraftGroup::new(
        "verify_batch",
        "Batch verdicts equal the single rule's.",
        batches,
    ));

    let mut sign = Vec::new();
    for (i, m) in [&b""[..], b"r", b"mycel", &[0xffu8; 300][..]]
        .iter()
        .enumerate()
    {
        let seed = b32(&format!("sign seed {i}"));
        sign.push(Draft::valid(
            format!("sign a {}-byte message", m.len()),
            &["Sign"],
            json!({"seed": hx(&seed), "msg": hx(m)}),
        ));
    }
    groups.push(DraftGroup::new(
        "sign",
        "Deterministic signing (RFC 8032).",
        sign,
    ));
    Ok(groups)
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    match op {
        "verify" => {
            let (pk, msg, sig) = (
                bytes(input, "pk")?,
                bytes(input, "msg")?,
                bytes(input, "sig")?,
            );
            verify_slices(&pk, &msg, &sig)
                .map(|()| json!({}))
                .map_err(|e| e.code().to_string())
        }
        "verify_batch" => {
            let items = field(input, "items")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut owned = Vec::new();
            for it in &items {
                owned.push((bytes(it, "pk")?, bytes(it, "msg")?, bytes(it, "sig")?));
            }
            let valid: Vec<bool> = batch_verdicts(&owned);
            Ok(json!({ "valid": valid }))
        }
        "sign" => {
            let seed = array::<32>(input, "seed")?;
            let msg = bytes(input, "msg")?;
            let k = SigningKey::from_seed(&seed);
            Ok(json!({"pk": hx(&k.hotkey().0), "sig": hx(&k.sign_raw(&msg).0)}))
        }
        other => Err(super::unknown_op(other)),
    }
}

/// Batch verdicts through the protocol's batch verifier (fixed coefficient seed); items of the
/// wrong length are refused individually, as the single rule refuses them.
fn batch_verdicts(items: &[(Vec<u8>, Vec<u8>, Vec<u8>)]) -> Vec<bool> {
    use mycel_protocol::sign::{BatchItem, verify_batch_with_seed};
    let mut out = vec![false; items.len()];
    let mut batch = Vec::new();
    let mut at = Vec::new();
    for (i, (pk, msg, sig)) in items.iter().enumerate() {
        if let (Ok(pk), Ok(sig)) = (
            <&[u8; 32]>::try_from(pk.as_slice()),
            <&[u8; 64]>::try_from(sig.as_slice()),
        ) {
            batch.push(BatchItem {
                public_key: pk,
                message: msg,
                signature: sig,
            });
            at.push(i);
        }
    }
    let verdict = verify_batch_with_seed(&batch, &b32("batch coefficients"));
    for (i, r) in at.iter().zip(verdict.results()) {
        if let Some(slot) = out.get_mut(*i) {
            *slot = r.is_ok();
        }
    }
    out
}

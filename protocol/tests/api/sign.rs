//! The signature rule, batch verification and domain tags; Wycheproof vectors.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use mycel_protocol::error::SignatureError;
use mycel_protocol::ids::SigningKey;
use mycel_protocol::sign::{
    BatchItem, verify, verify_batch, verify_batch_slices, verify_batch_slices_with_seed,
    verify_batch_with_seed, verify_slices,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha512};

#[derive(Deserialize)]
struct Wycheproof {
    #[serde(rename = "numberOfTests")]
    number_of_tests: usize,
    #[serde(rename = "testGroups")]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(rename = "publicKey")]
    public_key: PublicKey,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct PublicKey {
    pk: String,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "tcId")]
    tc_id: u32,
    msg: String,
    sig: String,
    result: String,
}

/// (tcId, pk, msg, sig, expected valid)
type Vector = (u32, Vec<u8>, Vec<u8>, Vec<u8>, bool);
/// A vector with fixed-length key and signature.
type Sized = (u32, [u8; 32], Vec<u8>, [u8; 64], bool);

fn wycheproof() -> Vec<Vector> {
    let text = include_str!("../vectors/wycheproof_ed25519_test.json");
    let file: Wycheproof = serde_json::from_str(text).unwrap();
    let mut out = Vec::new();
    for g in &file.groups {
        let pk = hex::decode(&g.public_key.pk).unwrap();
        for t in &g.tests {
            let expected = match t.result.as_str() {
                "valid" => true,
                "invalid" => false,
                other => panic!("tc {}: unexpected result {other}", t.tc_id),
            };
            out.push((
                t.tc_id,
                pk.clone(),
                hex::decode(&t.msg).unwrap(),
                hex::decode(&t.sig).unwrap(),
                expected,
            ));
        }
    }
    assert_eq!(out.len(), file.number_of_tests);
    assert_eq!(out.len(), 151);
    out
}

#[test]
fn wycheproof_single() {
    for (tc, pk, msg, sig, expected) in wycheproof() {
        let got = verify_slices(&pk, &msg, &sig);
        assert_eq!(got.is_ok(), expected, "tc {tc}: {got:?}");
    }
}

/// A fixed-seed shuffle (xorshift) so batches see the vectors in many orders.
fn shuffle<T>(v: &mut [T], mut state: u64) {
    for i in (1..v.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

#[test]
fn wycheproof_batched_matches_single() {
    let vectors = wycheproof();
    // Wrong-length signatures cannot enter a batch (they fail the length rule first).
    let sized: Vec<Sized> = vectors
        .iter()
        .filter_map(|(tc, pk, msg, sig, ok)| {
            Some((
                *tc,
                pk.as_slice().try_into().ok()?,
                msg.clone(),
                sig.as_slice().try_into().ok()?,
                *ok,
            ))
        })
        .collect();
    for round in 0..24u64 {
        let mut order: Vec<usize> = (0..sized.len()).collect();
        shuffle(&mut order, 0x9e37_79b9_7f4a_7c15 ^ round);
        // Batches of varying size, each mixing valid and invalid vectors.
        let size = [151, 64, 17, 5, 2, 1][round as usize % 6];
        for chunk in order.chunks(size) {
            let items: Vec<BatchItem<'_>> = chunk
                .iter()
                .map(|&i| BatchItem {
                    public_key: &sized[i].1,
                    message: &sized[i].2,
                    signature: &sized[i].3,
                })
                .collect();
            let verdict = verify_batch_with_seed(&items, &[round as u8; 32]);
            for (&i, got) in chunk.iter().zip(verdict.results()) {
                let (tc, pk, msg, sig, expected) = &sized[i];
                assert_eq!(got.is_ok(), *expected, "tc {tc} round {round}");
                assert_eq!(
                    *got,
                    verify(pk, msg, sig),
                    "tc {tc}: batch reason differs from single"
                );
            }
        }
    }
}

fn honest(n: usize) -> Vec<([u8; 32], Vec<u8>, [u8; 64])> {
    (0..n)
        .map(|i| {
            let key = SigningKey::from_seed(&[i as u8 + 1; 32]);
            let msg = format!("message {i}").into_bytes();
            let sig = key.sign_raw(&msg);
            (key.hotkey().0, msg, sig.0)
        })
        .collect()
}

fn items(v: &[([u8; 32], Vec<u8>, [u8; 64])]) -> Vec<BatchItem<'_>> {
    v.iter()
        .map(|(pk, m, s)| BatchItem {
            public_key: pk,
            message: m,
            signature: s,
        })
        .collect()
}

#[test]
fn honest_signatures_verify_single_and_batch() {
    let v = honest(20);
    for (pk, m, s) in &v {
        verify(pk, m, s).unwrap();
    }
    assert!(verify_batch_with_seed(&items(&v), &[7; 32]).all_valid());
    assert!(verify_batch(&items(&v)).unwrap().all_valid());
    assert!(verify_batch_with_seed(&[], &[0; 32]).all_valid());
}

#[test]
fn batch_names_one_bad_signature_in_the_middle() {
    for n in [3usize, 9, 64, 65] {
        let mut v = honest(n);
        let mid = n / 2;
        v[mid].2[5] ^= 0x01; // tamper R: still canonical? may fail either way, but never verify
        let verdict = verify_batch_with_seed(&items(&v), &[1; 32]);
        let failures: Vec<_> = verdict.failures().collect();
        assert_eq!(failures.len(), 1, "n {n}: {failures:?}");
        assert_eq!(failures[0].0, mid);
        assert_eq!(
            failures[0].1,
            verify(&v[mid].0, &v[mid].1, &v[mid].2).unwrap_err()
        );
    }
}

#[test]
fn batch_names_several_bad_signatures() {
    let mut v = honest(40);
    let bad = [0usize, 13, 14, 39];
    for &i in &bad {
        v[i].1.push(b'!'); // message changed after signing: equation fails
    }
    let verdict = verify_batch_with_seed(&items(&v), &[2; 32]);
    let failures: Vec<_> = verdict.failures().collect();
    assert_eq!(
        failures,
        bad.iter()
            .map(|&i| (i, SignatureError::Equation))
            .collect::<Vec<_>>()
    );
}

#[test]
fn tampered_signature_and_message_fail() {
    let v = honest(1);
    let (pk, msg, sig) = &v[0];
    let mut bad = *sig;
    bad[40] ^= 0x01;
    assert_eq!(verify(pk, msg, &bad), Err(SignatureError::Equation));
    assert_eq!(verify(pk, b"other", sig), Err(SignatureError::Equation));
}

#[test]
fn lengths_are_checked() {
    let v = honest(1);
    let (pk, msg, sig) = &v[0];
    assert_eq!(
        verify_slices(&pk[..31], msg, sig),
        Err(SignatureError::KeyLength)
    );
    assert_eq!(
        verify_slices(pk, msg, &sig[..63]),
        Err(SignatureError::SignatureLength)
    );
    let mut long = sig.to_vec();
    long.push(0);
    assert_eq!(
        verify_slices(pk, msg, &long),
        Err(SignatureError::SignatureLength)
    );
}

#[test]
fn batch_of_slices_refuses_lengths_first_and_matches_the_single_rule() {
    let mut v = honest(6);
    v[4].1.push(b'!'); // message changed after signing: equation fails
    let (pk, sig) = (v[1].0, v[1].2);
    let mut long = sig.to_vec();
    long.push(0);
    let slices: Vec<(&[u8], &[u8], &[u8])> = vec![
        (&v[0].0, &v[0].1, &v[0].2),
        (&pk[..31], &v[1].1, &sig),    // key too short
        (&pk, &v[1].1, &sig[..63]),    // signature too short
        (&v[2].0[..31], &v[2].1, &[]), // both wrong: the key is checked first
        (&v[4].0, &v[4].1, &v[4].2),   // a bad equation among sized items
        (&pk, &v[1].1, &long),         // signature too long
        (&v[5].0, &v[5].1, &v[5].2),
    ];
    let expected = [
        Ok(()),
        Err(SignatureError::KeyLength),
        Err(SignatureError::SignatureLength),
        Err(SignatureError::KeyLength),
        Err(SignatureError::Equation),
        Err(SignatureError::SignatureLength),
        Ok(()),
    ];
    for seed in [[0u8; 32], [9; 32]] {
        let verdict = verify_batch_slices_with_seed(&slices, &seed);
        assert_eq!(verdict.results(), expected.as_slice());
    }
    assert_eq!(
        verify_batch_slices(&slices).unwrap().results(),
        expected.as_slice()
    );
    for (item, want) in slices.iter().zip(&expected) {
        assert_eq!(verify_slices(item.0, item.1, item.2), *want);
    }
    assert!(verify_batch_slices_with_seed(&[], &[1; 32]).all_valid());
}

/// L, the group order, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

#[test]
fn s_not_reduced_is_rejected() {
    let v = honest(1);
    let (pk, msg, sig) = &v[0];
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    let mut mall = *sig;
    mall[32..].copy_from_slice(&add_le(&s, &L)); // S + L: same point, malleated
    assert_eq!(
        verify(pk, msg, &mall),
        Err(SignatureError::ScalarNotReduced)
    );
}

#[test]
fn non_canonical_and_small_order_keys_are_rejected() {
    let msg = b"m";
    let sig = [0u8; 64]; // R = 0000..00 would also be rejected, but A is checked first
    // y = p (non-canonical encoding of y = 0).
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert_eq!(verify(&p, msg, &sig), Err(SignatureError::NonCanonicalKey));
    // y = 1 with the sign bit set: x = 0 cannot carry a sign.
    let mut neg_identity = [0u8; 32];
    neg_identity[0] = 1;
    neg_identity[31] = 0x80;
    assert_eq!(
        verify(&neg_identity, msg, &sig),
        Err(SignatureError::NonCanonicalKey)
    );
    // The identity (y = 1): small order. With R = identity and S = 0 every message would verify
    // under a cofactorless-lenient rule.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut sig_id = [0u8; 64];
    sig_id[0] = 1;
    assert_eq!(
        verify(&identity, msg, &sig_id),
        Err(SignatureError::SmallOrderKey)
    );
    // Every 8-torsion point, as key and as R.
    let good = honest(1);
    for t in EIGHT_TORSION.iter() {
        let enc = t.compress().0;
        assert_eq!(verify(&enc, msg, &sig), Err(SignatureError::SmallOrderKey));
        let mut s = good[0].2;
        s[..32].copy_from_slice(&enc);
        assert_eq!(
            verify(&good[0].0, &good[0].1, &s),
            Err(SignatureError::SmallOrderR)
        );
    }
    // y = 2 is not on the curve (x² = (y²−1)/(dy²+1) has no square root).
    let mut two = [0u8; 32];
    two[0] = 2;
    assert_eq!(verify(&two, msg, &sig), Err(SignatureError::KeyNotOnCurve));
    let mut s = good[0].2;
    s[..32].copy_from_slice(&p);
    assert_eq!(
        verify(&good[0].0, &good[0].1, &s),
        Err(SignatureError::NonCanonicalR)
    );
    s[..32].copy_from_slice(&two);
    assert_eq!(
        verify(&good[0].0, &good[0].1, &s),
        Err(SignatureError::RNotOnCurve)
    );
}

/// A signature whose R carries a torsion component: R' = rB + T. The cofactored equation
/// accepts it (a cofactorless one would not); batch verification must agree with single.
fn torsion_r_signature(seed: u8, torsion: usize, msg: &[u8]) -> ([u8; 32], [u8; 64]) {
    let h: [u8; 64] = Sha512::digest([seed; 32]).into();
    let mut a_bytes: [u8; 32] = h[..32].try_into().unwrap();
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let pk = (ED25519_BASEPOINT_POINT * a).compress().0;
    assert_eq!(pk, SigningKey::from_seed(&[seed; 32]).hotkey().0);
    let r = Scalar::from_bytes_mod_order([seed ^ 0x5a; 32]);
    let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[torsion])
        .compress()
        .0;
    let mut hk = Sha512::new();
    hk.update(big_r);
    hk.update(pk);
    hk.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&hk.finalize().into());
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(s.as_bytes());
    (pk, sig)
}

#[test]
fn mixed_order_r_is_accepted_single_and_batch() {
    let msg = b"torsion";
    let mut cases = Vec::new();
    for t in 1..8 {
        let (pk, sig) = torsion_r_signature(t as u8, t, msg);
        assert_eq!(verify(&pk, msg, &sig), Ok(()), "torsion {t}");
        cases.push((pk, msg.to_vec(), sig));
    }
    cases.extend(honest(5));
    for seed in 0..16u8 {
        assert!(verify_batch_with_seed(&items(&cases), &[seed; 32]).all_valid());
    }
}

#[test]
fn keys_from_seed_are_rfc8032() {
    // RFC 8032 §7.1 TEST 1.
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let key = SigningKey::from_seed(&seed);
    assert_eq!(
        key.hotkey().to_string(),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    assert_eq!(
        hex::encode(key.sign_raw(b"").0),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    let debug = format!("{key:?}");
    assert!(!debug.contains("9d61b19d"), "{debug}");
    assert!(debug.contains("d75a9801"), "{debug}");
    assert_eq!(key.hotkey().validate(), Ok(()));
}

#[test]
fn hotkey_validation_applies_the_key_rules() {
    use mycel_protocol::Error;
    use mycel_protocol::ids::Hotkey;
    assert_eq!(
        Hotkey([0; 32]).validate(),
        Err(Error::Signature(SignatureError::SmallOrderKey))
    );
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    assert_eq!(
        Hotkey(p).validate(),
        Err(Error::Signature(SignatureError::NonCanonicalKey))
    );
    let mut two = [0; 32];
    two[0] = 2;
    assert_eq!(
        Hotkey(two).validate(),
        Err(Error::Signature(SignatureError::KeyNotOnCurve))
    );
    assert_eq!(SigningKey::from_seed(&[5; 32]).hotkey().validate(), Ok(()));
}

//! The signature rule (spec/signatures.md): batch verification gives every item exactly the
//! verdict single verification gives it, on random keys, signatures and messages, and on
//! valid signatures and their mutations (bit flips, `S + L`, torsion on R or on the key,
//! small-order and non-canonical encodings, keys repeated across items).

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use mycel_protocol::error::SignatureError;
use mycel_protocol::ids::SigningKey;
use mycel_protocol::sign::{BatchItem, verify, verify_batch_with_seed, verify_slices};
use sha2::{Digest as _, Sha512};

/// ℓ, the group order, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Encodings every rule must handle: y = p and y = p + 1 (non-canonical), the identity with
/// and without a sign bit, y = 0 (order 4), y = 2 (not on the curve), all-ones.
fn special_encoding(which: u8) -> [u8; 32] {
    let mut e = [0u8; 32];
    match which % 7 {
        0 => {
            e = [0xff; 32];
            e[0] = 0xed;
            e[31] = 0x7f;
        }
        1 => {
            e = [0xff; 32];
            e[0] = 0xee;
            e[31] = 0x7f;
        }
        2 => e[0] = 1,
        3 => {
            e[0] = 1;
            e[31] = 0x80;
        }
        4 => {}
        5 => e[0] = 2,
        _ => e = [0xff; 32],
    }
    e
}

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

/// A signature made from the secret scalar directly: `R = rB + T_r`, key `A = aB + T_a`
/// (`T` an 8-torsion point, index 0 is the identity), `S = r + k·a`. The cofactored rule
/// accepts it whatever the torsion.
fn torsion_signature(
    seed: &[u8; 32],
    r_seed: &[u8; 32],
    t_r: usize,
    t_a: usize,
    msg: &[u8],
) -> ([u8; 32], [u8; 64]) {
    let h: [u8; 64] = Sha512::digest(seed).into();
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let pk = (ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[t_a % 8])
        .compress()
        .0;
    // r = 0 would make R the bare torsion point, which the rule rightly refuses (small order).
    let r = Scalar::from_bytes_mod_order(*r_seed);
    let r = if r == Scalar::ZERO { Scalar::ONE } else { r };
    let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[t_r % 8])
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

/// One item and what single verification must say about it, where the construction fixes it.
struct Item {
    pk: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
    expect: Option<core::result::Result<(), SignatureError>>,
}

fn item(u: &mut Unstructured<'_>) -> Result<Item> {
    let msg_len = u.int_in_range(0usize..=48)?;
    let msg = u.bytes(msg_len)?.to_vec();
    // Few distinct keys, so batches merge terms of one key.
    let key = SigningKey::from_seed(&[u.int_in_range(0u8..=5)?; 32]);
    let valid = |msg: &[u8]| (key.hotkey().0, key.sign_raw(msg).0);
    Ok(match u.int_in_range(0u8..=7)? {
        0 => Item {
            pk: u.arbitrary()?,
            sig: u.arbitrary()?,
            msg,
            expect: None,
        },
        1 => {
            let (pk, sig) = valid(&msg);
            Item {
                pk,
                msg,
                sig,
                expect: Some(Ok(())),
            }
        }
        2 => {
            // Bit flips anywhere in key, signature or message.
            let (mut pk, mut sig) = valid(&msg);
            let mut msg = msg;
            for _ in 0..u.int_in_range(1u8..=3)? {
                let bit = u.int_in_range(0usize..=8 * (32 + 64 + msg.len()) - 1)?;
                let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
                if byte < 32 {
                    pk[byte] ^= mask;
                } else if byte < 96 {
                    sig[byte - 32] ^= mask;
                } else {
                    msg[byte - 96] ^= mask;
                }
            }
            Item {
                pk,
                msg,
                sig,
                expect: None,
            }
        }
        3 => {
            // S + ℓ: the same point equation, but S is not reduced.
            let (pk, mut sig) = valid(&msg);
            let mut s = [0u8; 32];
            s.copy_from_slice(&sig[32..]);
            sig[32..].copy_from_slice(&add_le(&s, &L));
            Item {
                pk,
                msg,
                sig,
                expect: Some(Err(SignatureError::ScalarNotReduced)),
            }
        }
        4 => {
            // Torsion on R and/or on the key: accepted by the cofactored rule.
            let seed: [u8; 32] = u.arbitrary()?;
            let r_seed: [u8; 32] = u.arbitrary()?;
            let (t_r, t_a) = (u.int_in_range(0..=7)?, u.int_in_range(0..=7)?);
            let (pk, sig) = torsion_signature(&seed, &r_seed, t_r, t_a, &msg);
            Item {
                pk,
                msg,
                sig,
                expect: Some(Ok(())),
            }
        }
        5 => {
            // A special or small-order encoding as key or as R.
            let (mut pk, mut sig) = valid(&msg);
            let enc = if u.arbitrary()? {
                special_encoding(u.arbitrary()?)
            } else {
                EIGHT_TORSION[u.int_in_range(0usize..=7)?].compress().0
            };
            if u.arbitrary()? {
                pk = enc;
            } else {
                sig[..32].copy_from_slice(&enc);
            }
            Item {
                pk,
                msg,
                sig,
                expect: None,
            }
        }
        6 => {
            // A valid signature presented under another message or key.
            let (pk, sig) = valid(&msg);
            let other = SigningKey::from_seed(&[u.int_in_range(6u8..=9)?; 32]);
            let (pk, msg) = if u.arbitrary()? {
                (other.hotkey().0, msg)
            } else {
                let mut m = msg;
                m.push(u.arbitrary()?);
                (pk, m)
            };
            Item {
                pk,
                msg,
                sig,
                expect: Some(Err(SignatureError::Equation)),
            }
        }
        _ => {
            // Random S under a valid R and key: the equation decides.
            let (pk, mut sig) = valid(&msg);
            let s: [u8; 32] = u.arbitrary()?;
            sig[32..].copy_from_slice(&s);
            Item {
                pk,
                msg,
                sig,
                expect: None,
            }
        }
    })
}

/// One structured run; `Err` only when the input ran out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let seed: [u8; 32] = u.arbitrary()?;
    let n = u.int_in_range(1usize..=20)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(item(u)?);
    }
    let singles: Vec<_> = items
        .iter()
        .map(|i| verify(&i.pk, &i.msg, &i.sig))
        .collect();
    for (i, (it, single)) in items.iter().zip(&singles).enumerate() {
        if let Some(e) = &it.expect {
            assert_eq!(single, e, "item {i}: single verdict");
        }
        assert_eq!(verify_slices(&it.pk, &it.msg, &it.sig), *single);
    }
    let batch: Vec<BatchItem<'_>> = items
        .iter()
        .map(|i| BatchItem {
            public_key: &i.pk,
            message: &i.msg,
            signature: &i.sig,
        })
        .collect();
    let verdict = verify_batch_with_seed(&batch, &seed);
    assert_eq!(
        verdict.results(),
        singles.as_slice(),
        "batch verdicts differ from single ones"
    );
    assert_eq!(verdict.all_valid(), singles.iter().all(|r| r.is_ok()));
    Ok(())
}

//! The spot-check sample: which of a miner's receipts a validator re-executes (spec/sampling.md).
//!
//! Before any receipt of an epoch arrives, the validator draws a 32-byte secret and publishes
//! its commitment ([`secret_commitment`]) with its tasks. After it committed its receipt batch's
//! Merkle root it reveals the secret, and the sample seed is [`sample_seed`]`(beacon, root,
//! validator, secret)`. A miner cannot predict the sample while it signs (it does not know the
//! secret), so re-rolling nonces to steer the sample away from its bad receipts (grinding) gains
//! nothing; the validator cannot choose the sample after seeing the root (the secret was
//! committed before). Anyone can check a revealed secret against its commitment
//! ([`check_secret`]) and recompute the sample.
//!
//! Among one miner's receipts the sample is drawn by [`sample`]: `rate · len` receipts rounded
//! stochastically in exact integer arithmetic, at least `min`, at most all, taking those with
//! the smallest pick key `SHA-256("mycel/v1/sample-pick" ‖ 0x00 ‖ seed ‖ receipt id)`.

use core::cmp::Reverse;
use std::collections::BinaryHeap;
use std::vec::Vec;

use mycel_protocol::ids::{Digest, Hotkey};
use sha2::{Digest as _, Sha256};

/// Domain tag of the sample secret's commitment.
pub const SECRET_TAG: &[u8] = b"mycel/v1/sample-secret";
/// Domain tag of the sample seed.
pub const SEED_TAG: &[u8] = b"mycel/v1/sample";
/// Domain tag of a receipt's pick key.
pub const PICK_TAG: &[u8] = b"mycel/v1/sample-pick";
/// Domain tag of the stochastic-rounding draw.
pub const ROUND_TAG: &[u8] = b"mycel/v1/sample-round";
/// Rates are parts per million.
pub const PPM: u32 = 1_000_000;

fn tagged(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The commitment to a sample secret: `SHA-256("mycel/v1/sample-secret" ‖ 0x00 ‖ secret)`.
#[must_use]
pub fn secret_commitment(secret: &[u8; 32]) -> Digest {
    Digest(tagged(SECRET_TAG, &[secret]))
}

/// Whether `secret` opens `commitment`.
#[must_use]
pub fn check_secret(commitment: &Digest, secret: &[u8; 32]) -> bool {
    secret_commitment(secret) == *commitment
}

/// The sample seed of a validator for one epoch:
/// `SHA-256("mycel/v1/sample" ‖ 0x00 ‖ beacon ‖ root ‖ validator hotkey ‖ secret)`.
#[must_use]
pub fn sample_seed(
    beacon: &[u8; 32],
    root: &Digest,
    validator: &Hotkey,
    secret: &[u8; 32],
) -> [u8; 32] {
    tagged(
        SEED_TAG,
        &[beacon, root.as_bytes(), validator.as_bytes(), secret],
    )
}

/// A rate in `[0, 1]` as parts per million, rounded to nearest (NaN counts as 0).
#[must_use]
pub fn rate_ppm(rate: f64) -> u32 {
    if rate.is_nan() {
        return 0;
    }
    (rate.clamp(0.0, 1.0) * f64::from(PPM)).round() as u32
}

/// The sample among one miner's receipts `list` (indices into `ids`): with `e = len · rate_ppm`,
/// `floor(e / 10^6)` receipts, plus one more when the round draw `d` (the first 8 bytes, little
/// endian, of `SHA-256("mycel/v1/sample-round" ‖ 0x00 ‖ seed ‖ id of the list's first receipt)`)
/// satisfies `d · 10^6 < (e mod 10^6) · 2^64`; then at least `min` and at most `len`; the
/// receipts with the smallest pick keys, returned in ascending key order. Indices not in `ids`
/// are skipped; a rate above 10^6 ppm counts as 10^6.
#[must_use]
pub fn sample(
    seed: &[u8; 32],
    ids: &[Digest],
    list: &[usize],
    rate_ppm: u32,
    min: u32,
) -> Vec<usize> {
    let list: Vec<(usize, &Digest)> = list
        .iter()
        .filter_map(|&i| ids.get(i).map(|d| (i, d)))
        .collect();
    let Some(&(_, first)) = list.first() else {
        return Vec::new();
    };
    let e = (list.len() as u128) * u128::from(rate_ppm.min(PPM));
    let base = (e / u128::from(PPM)) as usize;
    let rem = e % u128::from(PPM);
    let draw = tagged(ROUND_TAG, &[seed, first.as_bytes()]);
    let mut low = [0u8; 8];
    low.copy_from_slice(draw.get(..8).unwrap_or(&[0; 8]));
    let d = u128::from(u64::from_le_bytes(low));
    let extra = d * u128::from(PPM) < rem << 64;
    let k = (base + usize::from(extra))
        .max(min as usize)
        .min(list.len());
    // The k smallest (key, index) pairs in ascending order: heapify (linear) and pop k times,
    // the same answer as sorting them all (the pairs are totally ordered) with far less code
    // in the WASM module than a monomorphised quicksort over 40-byte tuples, and O(n + k log n).
    let mut ranked: BinaryHeap<Reverse<([u8; 32], usize)>> = list
        .iter()
        .map(|&(i, id)| Reverse((tagged(PICK_TAG, &[seed, id.as_bytes()]), i)))
        .collect();
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let Some(Reverse((_, i))) = ranked.pop() else {
            break;
        };
        out.push(i);
    }
    out
}

/// The probability that [`sample`] picks none of `cheats` wrong receipts among a miner's
/// `receipts` (spec/scoring.md section 2.1): the sample size is `floor(rate · receipts)` or one
/// more (with the fractional part's probability), at least `min`, at most `receipts`, and
/// `C(receipts − cheats, k) / C(receipts, k)` is the chance a uniform k-subset misses them all.
/// For reporting and planning (floating point, never consensus).
#[must_use]
pub fn escape_probability(receipts: u32, cheats: u32, rate_ppm: u32, min: u32) -> f64 {
    let r = f64::from(receipts);
    let c = f64::from(cheats.min(receipts));
    let rate = f64::from(rate_ppm.min(PPM)) / f64::from(PPM);
    let expected = r * rate;
    let base = expected.floor();
    let frac = expected - base;
    let size = |k: f64| k.max(f64::from(min)).min(r);
    let miss = |k: f64| {
        let mut p = 1.0;
        let mut i = 0.0;
        while i < k {
            p *= ((r - c - i) / (r - i)).max(0.0);
            i += 1.0;
        }
        p
    };
    (1.0 - frac) * miss(size(base)) + frac * miss(size(base + 1.0))
}

/// The probability that at least one checking validator samples a wrong receipt in an epoch,
/// given `(receipts, cheats)` per checking validator: `1 − Π escape_probability`.
#[must_use]
pub fn detection_probability(per_validator: &[(u32, u32)], rate_ppm: u32, min: u32) -> f64 {
    1.0 - per_validator
        .iter()
        .map(|&(r, c)| escape_probability(r, c, rate_ppm, min))
        .product::<f64>()
}

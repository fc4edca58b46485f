//! Batch verification that accepts exactly the set single verification accepts, and names the
//! failures (spec/signatures.md §Batch verification).
//!
//! Every item first passes the same encoding checks as [`verify`](crate::sign::verify()); then one
//! random linear combination of the cofactored equations is checked with a multiscalar
//! multiplication:
//!
//! `[8]( [Σ zᵢSᵢ]B − Σ [zᵢ]Rᵢ − Σ [zᵢkᵢ]Aᵢ ) = O`
//!
//! with 128-bit coefficients `zᵢ` (terms of one public key merged into one, each distinct key
//! decoded once). Because the equation is multiplied by the cofactor, torsion
//! components of mixed-order points vanish exactly as in the single check, so an item that passes
//! alone always passes in a batch, and a batch containing a failing item passes with probability
//! at most about 2⁻¹²⁵. When the combination fails, the batch is split in halves until the failing
//! items are isolated and checked one by one.
//!
//! The coefficients are the first 16 bytes of
//! `SHA-512("mycel/v1/batch-coefficient" || 0x00 || seed || transcript || i as u64 LE)`
//! (low bit set so none is zero), where the transcript is a SHA-512 over every item's R, A, S and
//! k. The seed should be fresh randomness ([`verify_batch`] draws it from the OS); because the
//! transcript binds every input, even a fixed seed leaves no practical way to choose inputs that
//! cancel.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use sha2::Digest as _;

use crate::error::SignatureError;
use crate::sign::verify::{Prepared, check_public_key, equation_holds, prepare_with};

/// Below this many items a failing sub-batch is checked item by item instead of split again.
const SPLIT_FLOOR: usize = 4;

/// One signature to check: public key, message, signature.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's public key A.
    pub public_key: &'a [u8; 32],
    /// The exact signed bytes.
    pub message: &'a [u8],
    /// The signature (R ‖ S).
    pub signature: &'a [u8; 64],
}

/// Per-item results of a batch, in input order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchVerdict {
    results: Vec<Result<(), SignatureError>>,
}

impl BatchVerdict {
    /// One result per item, in input order.
    pub fn results(&self) -> &[Result<(), SignatureError>] {
        &self.results
    }

    /// The per-item results, owned.
    pub fn into_results(self) -> Vec<Result<(), SignatureError>> {
        self.results
    }

    /// Whether every item verified (true for an empty batch).
    pub fn all_valid(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }

    /// The failing items: index and reason.
    pub fn failures(&self) -> impl Iterator<Item = (usize, SignatureError)> + '_ {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.err().map(|e| (i, e)))
    }
}

/// Verifies `items` as one batch with coefficients derived from `seed` (see the module docs).
/// The verdicts equal those of verifying each item alone.
pub fn verify_batch_with_seed(items: &[BatchItem<'_>], seed: &[u8; 32]) -> BatchVerdict {
    // Each distinct public key is decoded once; its index groups the [zᵢkᵢ]A terms.
    let mut keys: BTreeMap<[u8; 32], (usize, Result<EdwardsPoint, SignatureError>)> =
        BTreeMap::new();
    let mut key_of: Vec<usize> = Vec::with_capacity(items.len());
    let mut prepared: Vec<Result<Prepared, SignatureError>> = Vec::with_capacity(items.len());
    for it in items {
        let next = keys.len();
        let (key, _) = *keys
            .entry(*it.public_key)
            .or_insert_with(|| (next, check_public_key(it.public_key)));
        key_of.push(key);
        prepared.push(prepare_with(
            it.public_key,
            it.message,
            it.signature,
            |pk| {
                keys.get(pk)
                    .map_or_else(|| check_public_key(pk), |(_, a)| *a)
            },
        ));
    }

    let mut transcript = sha2::Sha512::new();
    transcript.update(b"mycel/v1/batch-transcript\x00");
    transcript.update((items.len() as u64).to_le_bytes());
    for (item, p) in items.iter().zip(&prepared) {
        if let Ok(p) = p {
            transcript.update(item.signature);
            transcript.update(item.public_key);
            transcript.update(p.k.as_bytes());
        } else {
            transcript.update([0u8; 128]);
        }
    }
    let transcript: [u8; 64] = transcript.finalize().into();

    let mut candidates: Vec<Candidate> = Vec::with_capacity(items.len());
    for (i, (p, &key)) in prepared.iter().zip(&key_of).enumerate() {
        if let Ok(p) = p {
            let mut h = sha2::Sha512::new();
            h.update(b"mycel/v1/batch-coefficient\x00");
            h.update(seed);
            h.update(transcript);
            h.update((i as u64).to_le_bytes());
            let wide: [u8; 64] = h.finalize().into();
            let mut z = [0u8; 32];
            for (dst, src) in z.iter_mut().zip(wide.iter().take(16)) {
                *dst = *src;
            }
            z[0] |= 1;
            candidates.push(Candidate {
                index: i,
                key,
                prepared: *p,
                z: Scalar::from_bytes_mod_order(z),
            });
        }
    }

    let mut results: Vec<Result<(), SignatureError>> = prepared
        .iter()
        .map(|p| p.as_ref().map(|_| ()).map_err(|e| *e))
        .collect();
    let mut failed = Vec::new();
    isolate_failures(&candidates, keys.len(), &mut failed);
    for i in failed {
        if let Some(r) = results.get_mut(i) {
            *r = Err(SignatureError::Equation);
        }
    }
    BatchVerdict { results }
}

/// Verifies `items` as one batch with a seed from the operating system's random source.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub fn verify_batch(items: &[BatchItem<'_>]) -> crate::Result<BatchVerdict> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|_| crate::error::KeyError::Randomness)?;
    Ok(verify_batch_with_seed(items, &seed))
}

/// One signature as slices whose lengths are not yet known to be right: public key, message,
/// signature.
pub type SliceItem<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// [`verify_batch_with_seed`] on slices whose lengths are not yet known to be right: the batch
/// counterpart of [`verify_slices`](crate::sign::verify_slices). Lengths are the rule's first
/// check, so an item with a wrong key or signature length gets [`SignatureError::KeyLength`]
/// (checked first) or [`SignatureError::SignatureLength`] and stays out of the batch; the other
/// items are checked as one batch. One result per item, in input order, each the one
/// `verify_slices` gives.
pub fn verify_batch_slices_with_seed(items: &[SliceItem<'_>], seed: &[u8; 32]) -> BatchVerdict {
    let mut results: Vec<Result<(), SignatureError>> = vec![Ok(()); items.len()];
    let mut sized = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for (i, &(public_key, message, signature)) in items.iter().enumerate() {
        let length_error = match (
            <&[u8; 32]>::try_from(public_key),
            <&[u8; 64]>::try_from(signature),
        ) {
            (Ok(public_key), Ok(signature)) => {
                sized.push(BatchItem {
                    public_key,
                    message,
                    signature,
                });
                slots.push(i);
                continue;
            }
            (Err(_), _) => SignatureError::KeyLength,
            (_, Err(_)) => SignatureError::SignatureLength,
        };
        if let Some(r) = results.get_mut(i) {
            *r = Err(length_error);
        }
    }
    let verdict = verify_batch_with_seed(&sized, seed);
    for (slot, r) in slots.into_iter().zip(verdict.results) {
        if let Some(x) = results.get_mut(slot) {
            *x = r;
        }
    }
    BatchVerdict { results }
}

/// [`verify_batch_slices_with_seed`] with a seed from the operating system's random source.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub fn verify_batch_slices(items: &[SliceItem<'_>]) -> crate::Result<BatchVerdict> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|_| crate::error::KeyError::Randomness)?;
    Ok(verify_batch_slices_with_seed(items, &seed))
}

/// An item that passed the encoding checks, with its key group and coefficient.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// Position in the input.
    index: usize,
    /// Index of its distinct public key.
    key: usize,
    /// Decoded points and scalars.
    prepared: Prepared,
    /// Its coefficient zᵢ.
    z: Scalar,
}

/// Whether the random linear combination of the cofactored equations of `items` holds. Terms
/// of one public key are merged: `Σ [zᵢkᵢ]A = [Σ zᵢkᵢ]A`.
fn combination_holds(items: &[Candidate], n_keys: usize) -> bool {
    let mut b_coeff = Scalar::ZERO;
    let mut key_coeff: Vec<Option<(Scalar, EdwardsPoint)>> = vec![None; n_keys];
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    for c in items {
        let p = &c.prepared;
        b_coeff += c.z * p.s;
        scalars.push(-c.z);
        points.push(p.r);
        if let Some(slot) = key_coeff.get_mut(c.key) {
            let (acc, _) = slot.get_or_insert((Scalar::ZERO, p.a));
            *acc -= c.z * p.k;
        }
    }
    for (coeff, a) in key_coeff.into_iter().flatten() {
        scalars.push(coeff);
        points.push(a);
    }
    scalars.push(b_coeff);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// Pushes the input indices of the items whose equation fails, by recursive halving.
fn isolate_failures(items: &[Candidate], n_keys: usize, failed: &mut Vec<usize>) {
    if items.is_empty() || combination_holds(items, n_keys) {
        return;
    }
    if items.len() <= SPLIT_FLOOR {
        for c in items {
            if !equation_holds(&c.prepared) {
                failed.push(c.index);
            }
        }
        return;
    }
    let (left, right) = items.split_at(items.len() / 2);
    isolate_failures(left, n_keys, failed);
    isolate_failures(right, n_keys, failed);
}

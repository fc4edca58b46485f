//! Batch verification that accepts exactly the set single verification accepts, and names the
//! failures (spec/signatures.md §Batch verification).
//!
//! Every item first passes the same encoding checks as [`verify`](crate::sign::verify()); then one
//! random linear combination of the cofactored equations is checked with a multiscalar
//! multiplication:
//!
//! `[8]( [Σ zᵢSᵢ]B − Σ [zᵢ]Rᵢ − Σ [zᵢkᵢ]Aᵢ ) = O`
//!
//! with 128-bit coefficients `zᵢ`. Because the equation is multiplied by the cofactor, torsion
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

use alloc::vec::Vec;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use sha2::Digest as _;

use crate::error::SignatureError;
use crate::sign::verify::{Prepared, equation_holds, prepare};

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
    let prepared: Vec<Result<Prepared, SignatureError>> = items
        .iter()
        .map(|it| prepare(it.public_key, it.message, it.signature))
        .collect();

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

    let mut candidates: Vec<(usize, Prepared, Scalar)> = Vec::with_capacity(items.len());
    for (i, p) in prepared.iter().enumerate() {
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
            candidates.push((i, *p, Scalar::from_bytes_mod_order(z)));
        }
    }

    let mut results: Vec<Result<(), SignatureError>> = prepared
        .iter()
        .map(|p| p.as_ref().map(|_| ()).map_err(|e| *e))
        .collect();
    let mut failed = Vec::new();
    isolate_failures(&candidates, &mut failed);
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

/// Whether the random linear combination of the cofactored equations of `items` holds.
fn combination_holds(items: &[(usize, Prepared, Scalar)]) -> bool {
    let mut b_coeff = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    for (_, p, z) in items {
        b_coeff += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        scalars.push(-(z * p.k));
        points.push(p.a);
    }
    scalars.push(b_coeff);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// Pushes the input indices of the items whose equation fails, by recursive halving.
fn isolate_failures(items: &[(usize, Prepared, Scalar)], failed: &mut Vec<usize>) {
    if items.is_empty() || combination_holds(items) {
        return;
    }
    if items.len() <= SPLIT_FLOOR {
        for (i, p, _) in items {
            if !equation_holds(p) {
                failed.push(*i);
            }
        }
        return;
    }
    let (left, right) = items.split_at(items.len() / 2);
    isolate_failures(left, failed);
    isolate_failures(right, failed);
}

//! The one signature rule, "mycel-Ed25519 v1": strict encodings + cofactored equation
//! (spec/signatures.md §Verification).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity as _;
use sha2::Digest as _;

use crate::error::SignatureError;

/// p = 2^255 − 19, little-endian.
const P_LE: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether the 255-bit y of a point encoding (sign bit masked) is below p, and the encoding is
/// not one of the two with x = 0 and the sign bit set (`0100…0080`, `ecff…ffff`).
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // Compare y < p as little-endian integers, from the most significant byte down.
    let mut below = false;
    for (a, b) in y.iter().rev().zip(P_LE.iter().rev()) {
        if a != b {
            below = a < b;
            break;
        }
    }
    if !below {
        return false;
    }
    // x = 0 exactly when y = 1 or y = p − 1; then the sign bit must be clear.
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut p_minus_one = P_LE;
    p_minus_one[0] = 0xec;
    !(sign == 1 && (y == one || y == p_minus_one))
}

/// A point that passed the encoding rules: canonical, on the curve, not of small order.
fn check_point(
    bytes: &[u8; 32],
    non_canonical: SignatureError,
    not_on_curve: SignatureError,
    small_order: SignatureError,
) -> Result<EdwardsPoint, SignatureError> {
    if !is_canonical_encoding(bytes) {
        return Err(non_canonical);
    }
    let point = CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(not_on_curve)?;
    if point.is_small_order() {
        return Err(small_order);
    }
    Ok(point)
}

/// Applies the public-key rules (canonical encoding, curve point, not small order) and returns
/// the decoded point.
pub fn check_public_key(public_key: &[u8; 32]) -> Result<EdwardsPoint, SignatureError> {
    check_point(
        public_key,
        SignatureError::NonCanonicalKey,
        SignatureError::KeyNotOnCurve,
        SignatureError::SmallOrderKey,
    )
}

/// Everything of a signature that passed the encoding rules, ready for the equation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prepared {
    /// Decoded public key A.
    pub(crate) a: EdwardsPoint,
    /// Decoded R.
    pub(crate) r: EdwardsPoint,
    /// S, reduced.
    pub(crate) s: Scalar,
    /// k = SHA-512(R ‖ A ‖ M) mod L.
    pub(crate) k: Scalar,
}

/// Applies rules 1–4 of spec/signatures.md in order and computes the challenge k.
pub(crate) fn prepare(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<Prepared, SignatureError> {
    prepare_with(public_key, message, signature, check_public_key)
}

/// [`prepare`] with the public-key check supplied by the caller (a batch decodes each distinct
/// key once); `check_key` must behave exactly like [`check_public_key`].
pub(crate) fn prepare_with(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
    check_key: impl FnOnce(&[u8; 32]) -> Result<EdwardsPoint, SignatureError>,
) -> Result<Prepared, SignatureError> {
    let (r_bytes, s_bytes) = signature.split_at(32);
    let r_bytes: [u8; 32] = r_bytes
        .try_into()
        .map_err(|_| SignatureError::SignatureLength)?;
    let s_bytes: [u8; 32] = s_bytes
        .try_into()
        .map_err(|_| SignatureError::SignatureLength)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(SignatureError::ScalarNotReduced)?;
    let a = check_key(public_key)?;
    let r = check_point(
        &r_bytes,
        SignatureError::NonCanonicalR,
        SignatureError::RNotOnCurve,
        SignatureError::SmallOrderR,
    )?;
    let mut h = sha2::Sha512::new();
    h.update(r_bytes);
    h.update(public_key);
    h.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    Ok(Prepared { a, r, s, k })
}

/// The cofactored equation `[8]([S]B − R − [k]A) = O`.
pub(crate) fn equation_holds(p: &Prepared) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &(-p.a), &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

/// Verifies `signature` on the raw `message` under `public_key` by the mycel rule.
///
/// Protocol messages are verified through [`crate::sign::Signed::verify`], which adds the domain
/// tag; this function is the bare rule (what `mycel sig verify` and the Wycheproof tests
/// exercise).
pub fn verify(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), SignatureError> {
    let prepared = prepare(public_key, message, signature)?;
    if equation_holds(&prepared) {
        Ok(())
    } else {
        Err(SignatureError::Equation)
    }
}

/// [`verify`] on slices whose lengths are not yet known to be right.
pub fn verify_slices(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let public_key: &[u8; 32] = public_key
        .try_into()
        .map_err(|_| SignatureError::KeyLength)?;
    let signature: &[u8; 64] = signature
        .try_into()
        .map_err(|_| SignatureError::SignatureLength)?;
    verify(public_key, message, signature)
}

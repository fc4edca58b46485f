//! [`Signed`]: a body and its signer's signature, the envelope content of receipts and verdicts.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::{Error, Result, SignatureError};
use crate::ids::{Digest, Signature, SigningKey};
use crate::sign::batch::{BatchItem, verify_batch_with_seed};
use crate::sign::domain::{Signable, signed_bytes};
use crate::sign::verify::verify;
use crate::wire::{Message, MessageKind};

/// A body together with the signature of its signer ([`Signable::signer`]) over its signed bytes.
/// Encoded as `postcard(body) || signature (64 bytes)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    /// The signed body.
    pub body: T,
    /// Signature over `tag || 0x00 || postcard(body)`.
    pub signature: Signature,
}

impl<T: Signable> Signed<T> {
    /// Signs `body` with `key`, which must be the body's signer.
    pub fn sign(body: T, key: &SigningKey) -> Result<Self> {
        if key.hotkey() != *body.signer() {
            return Err(SignatureError::SignerMismatch.into());
        }
        let signature = key.sign_raw(&signed_bytes(&body)?);
        Ok(Self { body, signature })
    }

    /// The exact bytes the signature covers.
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        signed_bytes(&self.body)
    }

    /// The message id: SHA-256 of the signed bytes (the tagged body, never the signature).
    pub fn id(&self) -> Result<Digest> {
        Ok(Digest(sha2::Sha256::digest(self.signed_bytes()?).into()))
    }

    /// Verifies the signature with the mycel rule (spec/signatures.md).
    pub fn verify(&self) -> Result<()> {
        self.verify_and_id().map(|_| ())
    }

    /// Verifies the signature and returns the id, encoding the body once for both.
    pub fn verify_and_id(&self) -> Result<Digest> {
        let bytes = self.signed_bytes()?;
        verify(&self.body.signer().0, &bytes, &self.signature.0)?;
        Ok(Digest(sha2::Sha256::digest(&bytes).into()))
    }
}

/// Verifies many signed messages as one batch with coefficients from `seed`; one result per
/// item, equal to what [`Signed::verify`] gives for it.
pub fn verify_signed_batch_with_seed<T: Signable>(
    items: &[Signed<T>],
    seed: &[u8; 32],
) -> Vec<Result<()>> {
    let bytes: Vec<Result<Vec<u8>>> = items.iter().map(Signed::signed_bytes).collect();
    let mut batch = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for (i, (item, b)) in items.iter().zip(&bytes).enumerate() {
        if let Ok(b) = b {
            batch.push(BatchItem {
                public_key: &item.body.signer().0,
                message: b,
                signature: &item.signature.0,
            });
            slots.push(i);
        }
    }
    let verdict = verify_batch_with_seed(&batch, seed);
    let mut results: Vec<Result<()>> = bytes
        .iter()
        .map(|b| b.as_ref().map(|_| ()).map_err(Error::clone))
        .collect();
    for (slot, r) in slots.iter().zip(verdict.results()) {
        if let (Some(out), Err(e)) = (results.get_mut(*slot), r) {
            *out = Err((*e).into());
        }
    }
    results
}

/// [`verify_signed_batch_with_seed`] with a seed from the operating system's random source.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub fn verify_signed_batch<T: Signable>(items: &[Signed<T>]) -> Result<Vec<Result<()>>> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|_| crate::error::KeyError::Randomness)?;
    Ok(verify_signed_batch_with_seed(items, &seed))
}

impl<T: Signable + DeserializeOwned> Message for Signed<T> {
    const KIND: MessageKind = T::KIND;

    fn check(&self) -> Result<()> {
        self.body.check()
    }
}

//! Keys and the raw signature rule (spec/signatures.md), exactly as `mycel sig verify`
//! applies it.

use mycel_protocol::ids::SigningKey;
use mycel_protocol::sign::{SliceItem, verify_batch_slices, verify_slices};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::bytes;
use crate::errors::{self, IntoPyResult};

/// An ed25519 signing key (RFC 8032 32-byte seed). `repr()` shows only the hotkey.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug, Clone)]
pub struct Keypair {
    pub(crate) key: SigningKey,
}

#[pymethods]
impl Keypair {
    /// A fresh key from the operating system's random source.
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        Ok(Self {
            key: SigningKey::generate().py()?,
        })
    }

    /// The key whose RFC 8032 secret seed is `seed` (32 bytes; `KeyMaterialError` otherwise).
    #[staticmethod]
    fn from_seed(seed: &[u8]) -> PyResult<Self> {
        Ok(Self {
            key: SigningKey::from_seed_slice(seed).py()?,
        })
    }

    /// The public key (32 bytes): the hotkey that receipts and verdicts name.
    #[getter]
    fn hotkey<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.key.hotkey().0)
    }

    /// The 32-byte secret seed, for storing the key.
    fn seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, self.key.to_seed().as_ref())
    }

    /// Signs `message` as given (raw RFC 8032 Ed25519, no domain tag): 64 bytes.
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        bytes(py, &self.key.sign_raw(message).0)
    }

    fn __repr__(&self) -> String {
        format!("Keypair(hotkey={})", self.key.hotkey())
    }
}

/// Whether `sig` is a valid signature of `msg` under `pk` by the mycel rule. Keys and
/// signatures of the wrong length are invalid (False), as `mycel sig verify` reports them.
#[pyfunction]
pub fn verify_signature(py: Python<'_>, pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    if msg.len() > 4096 {
        py.detach(|| verify_slices(pk, msg, sig).is_ok())
    } else {
        verify_slices(pk, msg, sig).is_ok()
    }
}

/// Why `sig` is not a valid signature of `msg` under `pk`: the stable code of the first rule
/// that fails (`"signature.equation"`, ...), or None when it is valid.
#[pyfunction]
pub fn signature_error(pk: &[u8], msg: &[u8], sig: &[u8]) -> Option<&'static str> {
    verify_slices(pk, msg, sig).err().map(|e| e.code())
}

/// The verdicts of `verify_signature` for many `(pk, msg, sig)` triples, checked as one batch
/// (same verdicts as one by one; the GIL is released while verifying).
#[pyfunction]
pub fn verify_signatures(
    py: Python<'_>,
    items: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
) -> PyResult<Vec<bool>> {
    py.detach(|| {
        // Lengths are the rule's first check; only correctly sized items enter the batch.
        let slices: Vec<SliceItem<'_>> = items
            .iter()
            .map(|(pk, msg, sig)| (pk.as_slice(), msg.as_slice(), sig.as_slice()))
            .collect();
        let verdict = verify_batch_slices(&slices).py()?;
        Ok(verdict.results().iter().map(Result::is_ok).collect())
    })
}

/// Checks the public-key rules (canonical encoding, on the curve, not of small order) of a
/// hotkey; raises `SignatureError` with the failing rule's code.
#[pyfunction]
pub fn validate_hotkey(hotkey: &[u8]) -> PyResult<()> {
    let key: [u8; 32] = hotkey
        .try_into()
        .map_err(|_| errors::signature(mycel_protocol::error::SignatureError::KeyLength))?;
    mycel_protocol::sign::check_public_key(&key)
        .map(|_| ())
        .map_err(errors::signature)
}

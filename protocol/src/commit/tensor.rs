//! Tensor commitments (spec/commitments.md §Tensor commitment).
//!
//! `commitment = SHA-256("mycel/v1/tensor" || 0x00 || dtype || rank || dim₀ … dimᵣ₋₁ || data)`
//! with `dtype` and `rank` one byte each, every dimension a u64 little-endian, and `data` the
//! tensor's bytes in row-major order with little-endian elements (quantized types: their GGML
//! blocks, in order).

use sha2::{Digest as _, Sha256};

use crate::error::{CommitError, Result};
use crate::ids::Digest;

/// The domain tag of tensor commitments.
pub const TENSOR_TAG: &[u8] = b"mycel/v1/tensor";

/// Most dimensions a committed tensor may have.
pub const MAX_RANK: usize = 8;

/// Element types a commitment can name, with their one-byte header codes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TensorDtype {
    /// IEEE binary32, 4 bytes per element.
    F32 = 0x01,
    /// IEEE binary16, 2 bytes per element.
    F16 = 0x02,
    /// bfloat16, 2 bytes per element.
    Bf16 = 0x03,
    /// GGML Q8_0: 34-byte blocks of 32 elements along the last dimension.
    Q8_0 = 0x10,
    /// GGML Q4_0: 18-byte blocks of 32 elements along the last dimension.
    Q4_0 = 0x11,
}

impl TensorDtype {
    /// The header code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The dtype with this header code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(TensorDtype::F32),
            0x02 => Some(TensorDtype::F16),
            0x03 => Some(TensorDtype::Bf16),
            0x10 => Some(TensorDtype::Q8_0),
            0x11 => Some(TensorDtype::Q4_0),
            _ => None,
        }
    }

    /// `(elements, bytes)` of one storage unit: one element, or one 32-element block.
    const fn unit(self) -> (u64, u64) {
        match self {
            TensorDtype::F32 => (1, 4),
            TensorDtype::F16 | TensorDtype::Bf16 => (1, 2),
            TensorDtype::Q8_0 => (32, 34),
            TensorDtype::Q4_0 => (32, 18),
        }
    }
}

/// The data length a tensor of this dtype and shape has: rank 1..=8, no zero dimension, a
/// block-aligned last dimension for quantized types, no overflow.
pub fn tensor_byte_len(dtype: TensorDtype, shape: &[u64]) -> Result<u64> {
    if shape.is_empty() || shape.len() > MAX_RANK {
        return Err(CommitError::Rank(shape.len()).into());
    }
    if shape.contains(&0) {
        return Err(CommitError::ZeroDimension.into());
    }
    let numel = shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or(CommitError::SizeOverflow)?;
    let (unit_elems, unit_bytes) = dtype.unit();
    if shape.last().is_some_and(|last| last % unit_elems != 0) {
        return Err(CommitError::NotBlockAligned.into());
    }
    Ok((numel / unit_elems)
        .checked_mul(unit_bytes)
        .ok_or(CommitError::SizeOverflow)?)
}

/// Incremental tensor commitment, for data that arrives in pieces (e.g. from a GPU).
#[derive(Clone, Debug)]
pub struct TensorHasher {
    hasher: Sha256,
    expected: u64,
    seen: u64,
}

impl TensorHasher {
    /// Starts a commitment: checks the shape and hashes the header.
    pub fn new(dtype: TensorDtype, shape: &[u64]) -> Result<Self> {
        let expected = tensor_byte_len(dtype, shape)?;
        let mut hasher = Sha256::new();
        hasher.update(TENSOR_TAG);
        hasher.update([0x00, dtype.code(), shape.len() as u8]);
        for d in shape {
            hasher.update(d.to_le_bytes());
        }
        Ok(Self {
            hasher,
            expected,
            seen: 0,
        })
    }

    /// Hashes the next piece of data.
    pub fn update(&mut self, data: &[u8]) {
        self.seen = self.seen.saturating_add(data.len() as u64);
        self.hasher.update(data);
    }

    /// Finishes: the commitment, if exactly the required number of bytes was hashed.
    pub fn finalize(self) -> Result<Digest> {
        if self.seen != self.expected {
            return Err(CommitError::LengthMismatch {
                expected: self.expected,
                actual: self.seen,
            }
            .into());
        }
        Ok(Digest(self.hasher.finalize().into()))
    }
}

/// The commitment of a whole tensor given as little-endian bytes.
pub fn tensor_commitment(dtype: TensorDtype, shape: &[u64], data: &[u8]) -> Result<Digest> {
    let mut h = TensorHasher::new(dtype, shape)?;
    if h.expected != data.len() as u64 {
        return Err(CommitError::LengthMismatch {
            expected: h.expected,
            actual: data.len() as u64,
        }
        .into());
    }
    h.update(data);
    h.finalize()
}

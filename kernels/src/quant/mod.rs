//! GGML-compatible block quantization formats: [`BlockQ8_0`] and [`BlockQ4_0`].
//!
//! Both are byte-for-byte the blocks GGML/GGUF store (`block_q8_0`, `block_q4_0` in
//! `ggml-common.h`): 32 elements per block, a little-endian IEEE binary16 scale first. A row of
//! `K` elements is `K / 32` consecutive blocks, rows follow each other with no padding, so a
//! GGUF tensor's data loads as it is (`bytemuck::try_cast_slice`, zero copy).
//!
//! Quantization follows GGML's *reference* quantizers (`quantize_row_q8_0_ref`,
//! `quantize_row_q4_0_ref` in `ggml-quants.c`) exactly; spec/kernels.md §2 restates them as
//! the normative rule. Inputs must be finite: NaN or an infinity is [`Error::NonFinite`].

mod q4_0;
mod q8_0;

pub use q4_0::{BlockQ4_0, dequantize_q4_0, quantize_q4_0};
pub use q8_0::{BlockQ8_0, dequantize_q8_0, quantize_q8_0, quantize_q8_0_into};

use crate::error::{Error, Result};

/// Elements per block, for both formats (GGML's `QK8_0` and `QK4_0`).
pub const BLOCK_LEN: usize = 32;

/// Which quantized weight format a matrix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantFormat {
    /// GGML Q8_0: 34-byte blocks, f16 scale + 32 signed bytes.
    Q8_0,
    /// GGML Q4_0: 18-byte blocks, f16 scale + 32 four-bit values (offset 8).
    Q4_0,
}

impl QuantFormat {
    /// Bytes per 32-element block: 34 for Q8_0, 18 for Q4_0.
    pub const fn block_bytes(self) -> usize {
        match self {
            QuantFormat::Q8_0 => core::mem::size_of::<BlockQ8_0>(),
            QuantFormat::Q4_0 => core::mem::size_of::<BlockQ4_0>(),
        }
    }

    /// The lowercase name (`"q8_0"`, `"q4_0"`).
    pub const fn name(self) -> &'static str {
        match self {
            QuantFormat::Q8_0 => "q8_0",
            QuantFormat::Q4_0 => "q4_0",
        }
    }

    /// Parse `"q8_0"` or `"q4_0"`.
    pub fn parse(name: &str) -> Option<QuantFormat> {
        match name {
            "q8_0" => Some(QuantFormat::Q8_0),
            "q4_0" => Some(QuantFormat::Q4_0),
            _ => None,
        }
    }

    /// Bytes of a `[rows, k]` matrix in this format, checked: `k` must be a positive multiple
    /// of 32 and the product must not overflow.
    pub fn matrix_bytes(self, rows: usize, k: usize) -> Result<usize> {
        check_k(k)?;
        (k / BLOCK_LEN)
            .checked_mul(rows)
            .and_then(|b| b.checked_mul(self.block_bytes()))
            .ok_or(Error::SizeOverflow("quantized matrix byte length"))
    }
}

/// `k` must be a positive multiple of the block length.
pub(crate) fn check_k(k: usize) -> Result<()> {
    if k == 0 || !k.is_multiple_of(BLOCK_LEN) {
        return Err(Error::ShapeMismatch(format!(
            "row length {k} is not a positive multiple of {BLOCK_LEN}"
        )));
    }
    Ok(())
}

/// The first non-finite element, as an error.
pub(crate) fn check_finite(x: &[f32]) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { index }),
        None => Ok(()),
    }
}

/// GGML's `id = d ? 1.0f/d : 0.0f`, made total: when `1/d` overflows to infinity (only for
/// `|d| < 2^-128`, where the stored f16 scale is 0 anyway) the reciprocal is taken as 0, as for
/// `d == 0`. (GGML's C is undefined behaviour there: it converts an infinite float to an int.)
#[inline]
pub(crate) fn safe_recip(d: f32) -> f32 {
    if d == 0.0 {
        return 0.0;
    }
    let id = 1.0 / d;
    if id.is_finite() { id } else { 0.0 }
}

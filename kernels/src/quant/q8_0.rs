//! GGML Q8_0: `{ d: f16, qs: [i8; 32] }`, value = `d * qs[j]`.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::{BLOCK_LEN, check_finite, check_k, safe_recip};
use crate::error::{Error, Result};

/// One GGML `block_q8_0`: 34 bytes, the scale `d` as little-endian f16 then 32 signed bytes.
///
/// The scale is kept as raw bytes so the block has alignment 1 (any byte buffer casts to a
/// slice of blocks) and reads the same on any host; [`BlockQ8_0::d`] decodes it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct BlockQ8_0 {
    /// The scale, IEEE binary16, little-endian.
    pub d: [u8; 2],
    /// The 32 quantized values.
    pub qs: [i8; BLOCK_LEN],
}

const _: () = assert!(core::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(core::mem::align_of::<BlockQ8_0>() == 1);

impl BlockQ8_0 {
    /// The block's scale.
    #[inline]
    pub fn d(&self) -> f16 {
        f16::from_le_bytes(self.d)
    }

    /// Quantize 32 finite values with GGML's `quantize_row_q8_0_ref` rule (spec/kernels.md
    /// §2.1). The caller guarantees finiteness (checked by the public functions).
    #[inline]
    pub(crate) fn quantize_finite(x: &[f32; BLOCK_LEN]) -> BlockQ8_0 {
        // amax = MAX(amax, fabsf(v)): max is exact and order-free on finite values.
        let amax = x
            .iter()
            .fold(0.0f32, |a, v| if a > v.abs() { a } else { v.abs() });
        let d = amax / 127.0;
        let id = safe_recip(d);
        let mut qs = [0i8; BLOCK_LEN];
        for (q, v) in qs.iter_mut().zip(x) {
            // roundf: half away from zero; |v * id| <= 127.0001 so the cast never saturates.
            *q = (v * id).round() as i8;
        }
        BlockQ8_0 {
            d: f16::from_f32(d).to_le_bytes(),
            qs,
        }
    }
}

/// Quantize a row-major `[rows, k]` f32 matrix (any `rows`; `x.len()` must be a multiple of
/// `k`) into Q8_0 blocks, row after row. `k` must be a positive multiple of 32.
///
/// Errors: [`Error::ShapeMismatch`] for a bad `k` or length, [`Error::NonFinite`] for NaN or
/// an infinity (nothing is returned then).
pub fn quantize_q8_0(x: &[f32], k: usize) -> Result<Vec<BlockQ8_0>> {
    check_k(k)?;
    if !x.len().is_multiple_of(k) {
        return Err(Error::ShapeMismatch(format!(
            "{} elements do not form rows of {k}",
            x.len()
        )));
    }
    let mut out = vec![BlockQ8_0::zeroed(); x.len() / BLOCK_LEN];
    quantize_q8_0_into(x, &mut out)?;
    Ok(out)
}

/// Quantize `x` (a multiple of 32 elements) into `out` (exactly `x.len() / 32` blocks).
/// Checks everything before writing: on error `out` is untouched.
pub fn quantize_q8_0_into(x: &[f32], out: &mut [BlockQ8_0]) -> Result<()> {
    if !x.len().is_multiple_of(BLOCK_LEN) || out.len() != x.len() / BLOCK_LEN {
        return Err(Error::ShapeMismatch(format!(
            "{} elements into {} Q8_0 blocks",
            x.len(),
            out.len()
        )));
    }
    check_finite(x)?;
    let _fp = crate::fpenv::Guard::new();
    for (chunk, block) in x.chunks_exact(BLOCK_LEN).zip(out.iter_mut()) {
        if let Ok(c) = <&[f32; BLOCK_LEN]>::try_from(chunk) {
            *block = BlockQ8_0::quantize_finite(c);
        }
    }
    Ok(())
}

/// Dequantize Q8_0 blocks to f32 (`d * q`, GGML's `dequantize_row_q8_0`): 32 values per block.
pub fn dequantize_q8_0(blocks: &[BlockQ8_0]) -> Vec<f32> {
    let _fp = crate::fpenv::Guard::new();
    let mut out = Vec::with_capacity(blocks.len().saturating_mul(BLOCK_LEN));
    for b in blocks {
        let d = b.d().to_f32();
        out.extend(b.qs.iter().map(|&q| f32::from(q) * d));
    }
    out
}

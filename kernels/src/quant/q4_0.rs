//! GGML Q4_0: `{ d: f16, qs: [u8; 16] }`; element `j < 16` is the low nibble of `qs[j]`,
//! element `j + 16` the high nibble, value = `d * (nibble - 8)`.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::{BLOCK_LEN, check_finite, check_k, safe_recip};
use crate::error::{Error, Result};

/// One GGML `block_q4_0`: 18 bytes, the scale `d` as little-endian f16 then 16 bytes of
/// nibbles (low nibbles hold elements 0..16, high nibbles elements 16..32).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct BlockQ4_0 {
    /// The scale, IEEE binary16, little-endian.
    pub d: [u8; 2],
    /// Packed nibbles: `qs[j] = q[j] | q[j + 16] << 4`.
    pub qs: [u8; BLOCK_LEN / 2],
}

const _: () = assert!(core::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(core::mem::align_of::<BlockQ4_0>() == 1);

impl BlockQ4_0 {
    /// The block's scale.
    #[inline]
    pub fn d(&self) -> f16 {
        f16::from_le_bytes(self.d)
    }

    /// The 32 signed values `nibble - 8` in element order (each in -8..=7).
    #[inline]
    pub fn values(&self) -> [i8; BLOCK_LEN] {
        let mut v = [0i8; BLOCK_LEN];
        let (lo, hi) = v.split_at_mut(BLOCK_LEN / 2);
        for ((l, h), &b) in lo.iter_mut().zip(hi.iter_mut()).zip(&self.qs) {
            // A nibble is 0..=15, so nibble − 8 lies in −8..=7: no overflow.
            *l = ((b & 0x0F) as i8).wrapping_sub(8);
            *h = ((b >> 4) as i8).wrapping_sub(8);
        }
        v
    }

    /// Quantize 32 finite values with GGML's `quantize_row_q4_0_ref` rule (spec/kernels.md
    /// §2.2). The caller guarantees finiteness.
    #[inline]
    pub(crate) fn quantize_finite(x: &[f32; BLOCK_LEN]) -> BlockQ4_0 {
        // The first element with the strictly largest |v|, keeping its sign.
        let mut amax = 0.0f32;
        let mut max = 0.0f32;
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = safe_recip(d);
        let q = |v: f32| -> u8 {
            // (int8_t)(x*id + 8.5f) truncates toward zero; the sum lies in [0.49, 16.6].
            let t = (v * id + 8.5) as i8;
            t.clamp(0, 15) as u8
        };
        let mut qs = [0u8; BLOCK_LEN / 2];
        let (lo, hi) = x.split_at(BLOCK_LEN / 2);
        for ((b, &l), &h) in qs.iter_mut().zip(lo).zip(hi) {
            *b = q(l) | (q(h) << 4);
        }
        BlockQ4_0 {
            d: f16::from_f32(d).to_le_bytes(),
            qs,
        }
    }
}

/// Quantize a row-major `[rows, k]` f32 matrix into Q4_0 blocks, row after row. `k` must be a
/// positive multiple of 32 and `x.len()` a multiple of `k`.
///
/// Errors: [`Error::ShapeMismatch`], [`Error::NonFinite`] (nothing is returned then).
pub fn quantize_q4_0(x: &[f32], k: usize) -> Result<Vec<BlockQ4_0>> {
    check_k(k)?;
    if !x.len().is_multiple_of(k) {
        return Err(Error::ShapeMismatch(format!(
            "{} elements do not form rows of {k}",
            x.len()
        )));
    }
    check_finite(x)?;
    let _fp = crate::fpenv::Guard::new();
    Ok(x.chunks_exact(BLOCK_LEN)
        .filter_map(|c| <&[f32; BLOCK_LEN]>::try_from(c).ok())
        .map(BlockQ4_0::quantize_finite)
        .collect())
}

/// Dequantize Q4_0 blocks to f32 (`d * (nibble - 8)`, GGML's `dequantize_row_q4_0`).
pub fn dequantize_q4_0(blocks: &[BlockQ4_0]) -> Vec<f32> {
    let _fp = crate::fpenv::Guard::new();
    let mut out = Vec::with_capacity(blocks.len().saturating_mul(BLOCK_LEN));
    for b in blocks {
        let d = b.d().to_f32();
        out.extend(b.values().iter().map(|&q| f32::from(q) * d));
    }
    out
}

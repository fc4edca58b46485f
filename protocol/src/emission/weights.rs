//! The chain's u16 weight normalisation at `set_weights` (spec/emission.md section 3):
//! max-upscale so that the largest weight becomes 65535.

use alloc::vec::Vec;

use super::fixed::{HALF, U16_MAX_Q32, div_safe, from_u16, mul};

/// Round half away from zero, to an integer (raw Q32 bits in, integer out), then clamp to u16.
fn round_to_u16(x: i64) -> u16 {
    let r = if x >= 0 {
        x.saturating_add(HALF) >> 32
    } else {
        -((x.saturating_neg().saturating_add(HALF)) >> 32)
    };
    r.clamp(0, i64::from(u16::MAX)) as u16
}

/// Max-upscales u16 weights exactly as the chain's `vec_u16_max_upscale_to_u16`:
/// with `M = max v` (as Q32 integers): all zero when `M = 0`; `v ⊗ (65535 ⊘ M)` when
/// `M > 32768`; `(v ⊗ 65535) ⊘ M` otherwise; then round half away from zero.
#[must_use]
pub fn max_upscale_u16(values: &[u16]) -> Vec<u16> {
    let Some(&max) = values.iter().max() else {
        return Vec::new();
    };
    let m = from_u16(max);
    if m == 0 {
        return values.iter().map(|_| 0).collect();
    }
    if m > from_u16(32_768) {
        let scale = div_safe(U16_MAX_Q32, m);
        values
            .iter()
            .map(|&v| round_to_u16(mul(from_u16(v), scale)))
            .collect()
    } else {
        values
            .iter()
            .map(|&v| round_to_u16(div_safe(mul(from_u16(v), U16_MAX_Q32), m)))
            .collect()
    }
}

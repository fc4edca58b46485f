//! The AVX2 (+FMA, +F16C) matmul. Same bits as [`super::scalar`] by construction:
//!
//! * block sums are exact in i32 whatever the order of the integer adds (|sumi| ≤ 32·128·127,
//!   and every `vpmaddubsw` pair sum stays below 2^15: ≤ 2·128·127 for Q8_0, where the weight is
//!   the unsigned operand as `|w|` so that −128 is exact, and ≤ 2·15·127 for Q4_0, where the
//!   raw nibble is the unsigned operand and `8·Σq_x` is subtracted afterwards);
//! * each output lane then gets exactly the contract's float operations, in block order:
//!   `acc = fma(d_w·d_x, f32(sumi), acc)` with `vmulps` (exact) and `vfmadd231ps`;
//! * NaN outputs are canonicalised as in the scalar reference.
//!
//! Layout of the work: one accumulator lane per weight row, 8 weight rows per pass (as ggml's
//! repacked Q4_0 gemv, but reading GGML's plain row-major blocks), and up to [`MR`] activation
//! rows per pass so each weight block is loaded once per `MR` rows in prefill.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::NR;
use crate::matmul::{Acts, QWeights, Weights};
use crate::quant::{BlockQ4_0, BlockQ8_0};

/// Activation rows per pass (register tile height).
pub const MR: usize = 4;

/// A weight block format the AVX2 kernel handles.
trait WBlock: Copy {
    /// Q4_0 (nibbles, offset 8) rather than Q8_0.
    const Q4: bool;
    fn qs_ptr(&self) -> *const u8;
    fn d_bits(&self) -> u16;
}

impl WBlock for BlockQ8_0 {
    const Q4: bool = false;
    #[inline(always)]
    fn qs_ptr(&self) -> *const u8 {
        self.qs.as_ptr().cast()
    }
    #[inline(always)]
    fn d_bits(&self) -> u16 {
        u16::from_le_bytes(self.d)
    }
}

impl WBlock for BlockQ4_0 {
    const Q4: bool = true;
    #[inline(always)]
    fn qs_ptr(&self) -> *const u8 {
        self.qs.as_ptr()
    }
    #[inline(always)]
    fn d_bits(&self) -> u16 {
        u16::from_le_bytes(self.d)
    }
}

/// Computes `out[(m − m0)·(n1 − n0) + (n − n0)]` for `m in m0..m1`, `n in n0..n1`.
///
/// Callers must have checked (through [`crate::Backend::resolve`]) that the CPU has AVX2, FMA
/// and F16C; the ranges are within `acts` and `w`, and `out` has the right length.
pub(crate) fn matmul(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &Weights<'_>,
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    if !super::avx2_available() {
        return;
    }
    // SAFETY: AVX2, FMA and F16C were detected just above.
    unsafe {
        match w.blocks() {
            QWeights::Q8_0(wb) => run::<BlockQ8_0>(acts, m0, m1, wb, n0, n1, out),
            QWeights::Q4_0(wb) => run::<BlockQ4_0>(acts, m0, m1, wb, n0, n1, out),
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn run<W: WBlock>(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &[W],
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    let nb = acts.nb;
    let n_len = n1 - n0;
    if out.len() != (m1 - m0) * n_len || w.len() < n1 * nb || acts.blocks.len() < m1 * nb {
        return;
    }
    let mut n = n0;
    while n < n1 {
        let rows = (n1 - n).min(NR);
        // Pad a short group with copies of its first row; their lanes are discarded.
        let wrows: [&[W]; NR] = core::array::from_fn(|r| {
            let row = n + if r < rows { r } else { 0 };
            w.get(row * nb..(row + 1) * nb).unwrap_or_default()
        });
        let mut m = m0;
        while m < m1 {
            let mr = (m1 - m).min(MR);
            let mut acc = [[0.0f32; NR]; MR];
            // SAFETY: every row slice has exactly `nb` blocks (checked above); the target
            // features of `run` are those of the tiles.
            unsafe {
                match mr {
                    4 => tile::<W, 4>(acts, m, &wrows, nb, &mut acc),
                    3 => tile::<W, 3>(acts, m, &wrows, nb, &mut acc),
                    2 => tile::<W, 2>(acts, m, &wrows, nb, &mut acc),
                    _ => tile::<W, 1>(acts, m, &wrows, nb, &mut acc),
                }
            }
            for (i, lanes) in acc.iter().take(mr).enumerate() {
                let base = (m + i - m0) * n_len + (n - n0);
                if let Some(dst) = out.get_mut(base..base + rows) {
                    dst.copy_from_slice(&lanes[..rows]);
                }
            }
            m += mr;
        }
        n += rows;
    }
}

/// Sums each of eight 8×i32 vectors: lane `r` of the result is the sum of `p[r]`'s lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn reduce8(p: &[__m256i; 8]) -> __m256i {
    let h01 = _mm256_hadd_epi32(p[0], p[1]);
    let h23 = _mm256_hadd_epi32(p[2], p[3]);
    let h45 = _mm256_hadd_epi32(p[4], p[5]);
    let h67 = _mm256_hadd_epi32(p[6], p[7]);
    let h0123 = _mm256_hadd_epi32(h01, h23);
    let h4567 = _mm256_hadd_epi32(h45, h67);
    let lo = _mm256_permute2x128_si256(h0123, h4567, 0x20);
    let hi = _mm256_permute2x128_si256(h0123, h4567, 0x31);
    _mm256_add_epi32(lo, hi)
}

/// The weight block as the unsigned `vpmaddubsw` operand's source: Q8_0 raw bytes, Q4_0 the 32
/// nibbles in element order (low nibbles = elements 0..16 in the low 128 bits).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_w<W: WBlock>(b: &W) -> __m256i {
    if W::Q4 {
        // SAFETY: a Q4_0 block has 16 bytes of nibbles at qs_ptr.
        let t = unsafe { _mm_loadu_si128(b.qs_ptr().cast()) };
        let v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
        _mm256_and_si256(v, _mm256_set1_epi8(0x0F))
    } else {
        // SAFETY: a Q8_0 block has 32 bytes of values at qs_ptr.
        unsafe { _mm256_loadu_si256(b.qs_ptr().cast()) }
    }
}

/// Eight i32 partial sums of the block product (exact).
#[inline]
#[target_feature(enable = "avx2")]
fn dot<W: WBlock>(w: __m256i, x: __m256i) -> __m256i {
    let ones = _mm256_set1_epi16(1);
    if W::Q4 {
        _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), ones)
    } else {
        _mm256_madd_epi16(
            _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)),
            ones,
        )
    }
}

/// `MR_` activation rows starting at `m` × the 8 weight rows, all blocks, into `acc`.
///
/// # Safety
/// Every `wrows[r]` has at least `nb` blocks, and `acts` has rows `m..m + MR_`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile<W: WBlock, const MR_: usize>(
    acts: &Acts<'_>,
    m: usize,
    wrows: &[&[W]; NR],
    nb: usize,
    acc_out: &mut [[f32; NR]; MR],
) {
    let (Some(xs), Some(dxs), Some(sxs)) = (
        acts.blocks.get(m * nb..(m + MR_) * nb),
        acts.dx.get(m * nb..(m + MR_) * nb),
        acts.sx.get(m * nb..(m + MR_) * nb),
    ) else {
        return;
    };
    let mut acc = [_mm256_setzero_ps(); MR_];
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    for b in 0..nb {
        // SAFETY: b < nb <= every row's length (caller contract).
        let wb: [&W; NR] = core::array::from_fn(|r| unsafe { wrows[r].get_unchecked(b) });
        // SAFETY: as above.
        let wv: [__m256i; NR] = core::array::from_fn(|r| unsafe { load_w(wb[r]) });
        let dw = _mm256_cvtph_ps(_mm_set_epi16(
            wb[7].d_bits() as i16,
            wb[6].d_bits() as i16,
            wb[5].d_bits() as i16,
            wb[4].d_bits() as i16,
            wb[3].d_bits() as i16,
            wb[2].d_bits() as i16,
            wb[1].d_bits() as i16,
            wb[0].d_bits() as i16,
        ));
        for (i, a) in acc.iter_mut().enumerate() {
            let j = i * nb + b;
            // SAFETY: j < MR_ * nb = xs.len() = dxs.len() = sxs.len().
            let (xb, dx, sx) = unsafe {
                (
                    xs.get_unchecked(j),
                    *dxs.get_unchecked(j),
                    *sxs.get_unchecked(j),
                )
            };
            // SAFETY: a Q8_0 block has 32 bytes of values.
            let xv = unsafe { _mm256_loadu_si256(xb.qs.as_ptr().cast()) };
            let p: [__m256i; NR] = core::array::from_fn(|r| dot::<W>(wv[r], xv));
            let mut s = reduce8(&p);
            if W::Q4 {
                s = _mm256_sub_epi32(s, _mm256_set1_epi32(8 * sx));
            }
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx));
            *a = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), *a);
        }
    }
    for (a, dst) in acc.iter().zip(acc_out.iter_mut()) {
        let nan = _mm256_cmp_ps(*a, *a, _CMP_UNORD_Q);
        let v = _mm256_blendv_ps(*a, canon, nan);
        // SAFETY: dst is 8 f32.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
    }
}

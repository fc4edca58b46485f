//! The AVX2 (+FMA, +F16C) matmul. Same bits as [`super::scalar`] by construction:
//!
//! * block sums are exact in i32 whatever the order of the integer adds (|sumi| ≤ 32·128·128,
//!   and no `vpmaddubsw` pair sum saturates: for Q8_0 the weight is the unsigned operand as
//!   `|w|` (exact for w = −128) against `sign(x, w)`, which is −128 for x = −128 whatever the
//!   sign of w, so pair sums lie in −2·128·128..=2·128·127, and blocks holding x = −128 add
//!   `256·|w|` where w < 0 afterwards; for Q4_0 the raw nibble is the unsigned operand,
//!   pair sums ≤ 2·15·128, and `8·Σq_x` is subtracted afterwards; [`decode`] adds Q4_0's
//!   partials in 16 bits up to 16 products, |Σ| ≤ 16·15·128 = 30720, before widening);
//! * each output lane then gets exactly the contract's float operations, in block order:
//!   `acc = fma(d_w·d_x, f32(sumi), acc)` with `vmulps` (exact) and `vfmadd231ps`;
//! * NaN outputs are canonicalised as in the scalar reference.
//!
//! Layout of the work: one accumulator lane per weight row, 8 weight rows per pass (as ggml's
//! repacked Q4_0 gemv, but reading GGML's plain row-major blocks), and up to [`MR`] activation
//! rows per pass so each weight block is loaded once per `MR` rows in prefill. Decode (one
//! activation row) runs whole 8-row groups through [`decode`], a loop cut down to the
//! instructions the products need (on the Zen 3 of benches/README.md it is bound by them, not
//! by memory); short groups go through [`tile`].
//!
//! Plain-AVX2 Q8_0 prefill ([`tile_q8w`]) multiplies in i16 instead: weights and activations
//! sign-extended, one `vpmaddwd` per pair of values and eight rows, so no `vpsignb`, no −128
//! case and no `vphaddd` (each of which costs a multiply-port µop or two cycles on Zen 3).

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::NR;
use crate::matmul::{Acts, QWeights, Weights};
use crate::quant::{BlockQ4_0, BlockQ8_0};

/// Activation rows per pass (register tile height).
pub const MR: usize = 4;

/// Activation rows per cache chunk: 64 rows of K = 4096 are 272 KiB of Q8_0 blocks (L2).
const MC: usize = 64;

/// A weight block format the AVX2 kernel handles.
trait WBlock: Copy + bytemuck::Pod {
    /// Q4_0 (nibbles, offset 8) rather than Q8_0.
    const Q4: bool;
    /// Software prefetch distance in decode, in blocks ahead on each row, where the next group
    /// is not prefetched linearly ([`super::linear_decode_prefetch`]): 16 for both formats
    /// (288 / 544 bytes). Measured on the Xeon of benches/README.md (1 thread, K = N = 4096,
    /// cold): Q8_0 at 8/16/32/64 blocks, with and without the linear prefetch: 16 without it
    /// was fastest, 12.3–13.3 GB/s per fastest call against 9.8–10.6 with it.
    const PF_BLOCKS: usize;
    /// The distance alongside the linear prefetch (measured best of 4/8/16/32 on the AMD
    /// development machine: 16 for Q4_0, 32 for Q8_0): in [`decode`] only for the first group
    /// of a range (the others were requested linearly while the previous group ran); in
    /// [`tile`]'s decode (short groups) for every group.
    const PF_BLOCKS_LINEAR: usize;
    fn qs_ptr(&self) -> *const u8;
    fn d_bits(&self) -> u16;
}

impl WBlock for BlockQ8_0 {
    const Q4: bool = false;
    const PF_BLOCKS: usize = 16;
    const PF_BLOCKS_LINEAR: usize = 32;
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
    const PF_BLOCKS: usize = 16;
    const PF_BLOCKS_LINEAR: usize = 16;
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
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &Weights<'_>,
    n0: usize,
    n1: usize,
    out: &mut [f32],
    vnni: bool,
) {
    if !super::avx2_available() {
        return;
    }
    let vnni = vnni && super::avx_vnni_available();
    // SAFETY: AVX2, FMA and F16C were detected just above (and AVX-VNNI where `vnni`).
    unsafe {
        match (w.blocks(), vnni) {
            (QWeights::Q8_0(wb), false) => run::<BlockQ8_0, false>(acts, m0, m1, wb, n0, n1, out),
            (QWeights::Q4_0(wb), false) => run::<BlockQ4_0, false>(acts, m0, m1, wb, n0, n1, out),
            (QWeights::Q8_0(wb), true) => run::<BlockQ8_0, true>(acts, m0, m1, wb, n0, n1, out),
            (QWeights::Q4_0(wb), true) => run::<BlockQ4_0, true>(acts, m0, m1, wb, n0, n1, out),
        }
    }
}

/// `acc + Σ_{4 bytes} u8(a)·i8(b)` per i32 lane: AVX-VNNI `vpdpbusd` (VEX-encoded), through
/// `asm!` so the crate keeps its minimum Rust version. Exact: no saturation, |lane| < 2^31.
///
/// # Safety
/// The CPU must have AVX-VNNI ([`super::avx_vnni_available`]).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dpbusd(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    let mut r = acc;
    // SAFETY: the caller guarantees AVX-VNNI; the instruction only reads and writes registers.
    unsafe {
        core::arch::asm!(
            "{{vex}} vpdpbusd {r}, {a}, {b}",
            r = inout(ymm_reg) r,
            a = in(ymm_reg) a,
            b = in(ymm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    r
}

/// Lane order of the accumulators: lane `i` holds weight row `PERM[i]` of the group (what the
/// two-level `vphaddd` reduction of row pairs produces; see [`tile`]).
const PERM: [usize; NR] = [0, 2, 4, 6, 1, 3, 5, 7];

/// Decode's software prefetch for one 8-row group (hints only: no result depends on them).
struct DecodePrefetch<'a> {
    /// The next group's bytes (adjacent rows: one contiguous range), requested linearly over
    /// this group's blocks; empty: none.
    next: &'a [u8],
    /// Each of the group's rows is prefetched this many blocks ahead at every block; 0: not.
    rows_ahead: usize,
    /// The linear prefetch requests into L2 (`prefetcht1`) rather than L1 (`prefetcht0`): AMD
    /// CPUs with AVX-512 ([`super::amd_avx512`], where the measurements are).
    l2: bool,
}

impl<'a> DecodePrefetch<'a> {
    /// With the linear prefetch (AMD, [`super::linear_decode_prefetch`]): the next group
    /// linearly, and the rows themselves only in the first group of a range (the others were
    /// requested while the previous group ran). Otherwise each row [`WBlock::PF_BLOCKS`] ahead.
    fn new<W: WBlock>(next: &'a [u8], linear: bool, first: bool) -> DecodePrefetch<'a> {
        let rows_ahead = if !linear {
            W::PF_BLOCKS
        } else if first {
            W::PF_BLOCKS_LINEAR
        } else {
            0
        };
        DecodePrefetch {
            next,
            rows_ahead,
            l2: linear && super::amd_avx512(),
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), and the
// integer block sums are bounded by 32·128·128 < 2^31 (module doc): nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
fn run<W: WBlock, const V: bool>(
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
    let mut scales: Vec<[u16; NR]> = vec![[0; NR]; nb];
    // Plain-AVX2 Q8_0 prefill repacks each weight group into register layout (`PK` registers
    // per block, see [`pack_q8`]) and widens each chunk's activations to i16 (`XW` registers
    // per block, see [`widen_acts`]); an allocation failure leaves them empty and the rows are
    // read directly instead (same bits, slower).
    let mut pack: Vec<__m256i> = Vec::new();
    let mut xw: Vec<__m256i> = Vec::new();
    if !V && W::Q4 && m1 - m0 > 1 && pack.try_reserve_exact(nb.saturating_mul(PK4)).is_ok() {
        // Plain-AVX2 Q4_0 prefill: each weight group unpacked into register layout (`PK4`
        // registers per block, see [`pack_q4`]); the activations are read as they are.
        pack.resize(nb * PK4, _mm256_setzero_si256());
    }
    if !V && !W::Q4 && m1 - m0 > 1 {
        let chunk = (m1 - m0).min(MC_W);
        if pack.try_reserve_exact(nb.saturating_mul(PK)).is_ok()
            && xw
                .try_reserve_exact(nb.saturating_mul(XW).saturating_mul(chunk))
                .is_ok()
        {
            pack.resize(nb * PK, _mm256_setzero_si256());
            xw.resize(nb * XW * chunk, _mm256_setzero_si256());
        }
    }
    // Activation rows in chunks (their blocks stay in L2 while every weight group passes over
    // them), weight rows in groups of 8 within a chunk.
    let mc = if pack.is_empty() { MC } else { MC_W };
    for mc0 in (m0..m1).step_by(mc) {
        let mc1 = (mc0 + mc).min(m1);
        group_pass::<W, V>(
            acts,
            m0,
            mc0,
            mc1,
            w,
            n0,
            n1,
            out,
            &mut scales,
            &mut pack,
            &mut xw,
        );
    }
}

/// Rows `mc0..mc1` of the output (`m0` is the first row of `out`) for all weight rows.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), and the
// integer block sums are bounded by 32·128·128 < 2^31 (module doc): nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
fn group_pass<W: WBlock, const V: bool>(
    acts: &Acts<'_>,
    m0: usize,
    mc0: usize,
    mc1: usize,
    w: &[W],
    n0: usize,
    n1: usize,
    out: &mut [f32],
    scales: &mut [[u16; NR]],
    pack: &mut [__m256i],
    xw: &mut [__m256i],
) {
    let nb = acts.nb;
    let n_len = n1 - n0;
    let (m0_, m1) = (mc0, mc1);
    let linear = super::linear_decode_prefetch();
    // Plain-AVX2 Q8_0 prefill: the chunk's activations widened to i16 once, for every group.
    let packed =
        m1 - m0_ > 1 && !V && !W::Q4 && pack.len() == nb * PK && xw.len() >= (m1 - m0_) * nb * XW;
    // Plain-AVX2 Q4_0 prefill: nibbles unpacked once per group and chunk ([`tile_q4w`]).
    let packed4 = m1 - m0_ > 1 && !V && W::Q4 && pack.len() == nb * PK4;
    if packed {
        // SAFETY: rows mc0..mc1 are within `acts` (checked in `run`); `xw` holds
        // (mc1 − mc0)·nb·XW entries (checked just above).
        unsafe { widen_acts(acts, m0_, m1, xw) };
    }
    let mut n = n0;
    while n < n1 {
        let rows = (n1 - n).min(NR);
        // Pad a short group with copies of its first row; their lanes are discarded.
        let wrows: [&[W]; NR] = core::array::from_fn(|r| {
            let row = n + if r < rows { r } else { 0 };
            w.get(row * nb..(row + 1) * nb).unwrap_or_default()
        });
        // The group's f16 scales, block by block, in accumulator lane order: gathered once per
        // group when several activation rows share them (prefill), inline otherwise (decode:
        // a separate pass over the rows would cost more than it saves).
        let pre = m1 - m0_ > 1;
        // Plain-AVX2 Q8_0 prefill: the group (values widened to i16, and scales) in register
        // layout, once per group and chunk.
        if packed {
            // SAFETY: every row slice has `nb` blocks of 32 value bytes; `pack` has nb·PK
            // entries (checked just above).
            unsafe { pack_q8(&wrows, pack) };
        } else if packed4 {
            // SAFETY: every row slice has `nb` blocks of 16 value bytes; `pack` has nb·PK4
            // entries (checked just above).
            unsafe { pack_q4(&wrows, pack) };
        } else if pre {
            for (b, sc) in scales.iter_mut().enumerate() {
                for (lane, s) in sc.iter_mut().enumerate() {
                    *s = wrows[PERM[lane]].get(b).map_or(0, WBlock::d_bits);
                }
            }
        }
        let mut m = m0_;
        while m < m1 {
            let mr = (m1 - m).min(MR);
            let mut acc = [[0.0f32; NR]; MR];
            // SAFETY: every row slice and `scales` have exactly `nb` entries (checked above),
            // `pack` nb·PK when `packed`; the target features of `run` are those of the tiles.
            unsafe {
                match mr {
                    4 if packed => tile_q8w::<4>(acts, m, m - m0_, xw, pack, &mut acc),
                    3 if packed => tile_q8w::<3>(acts, m, m - m0_, xw, pack, &mut acc),
                    2 if packed => tile_q8w::<2>(acts, m, m - m0_, xw, pack, &mut acc),
                    1 if packed => tile_q8w::<1>(acts, m, m - m0_, xw, pack, &mut acc),
                    4 if packed4 => tile_q4w::<4>(acts, m, pack, &mut acc),
                    3 if packed4 => tile_q4w::<3>(acts, m, pack, &mut acc),
                    2 if packed4 => tile_q4w::<2>(acts, m, pack, &mut acc),
                    1 if packed4 => tile_q4w::<1>(acts, m, pack, &mut acc),
                    4 => tile::<W, 4, true, V>(acts, m, &wrows, scales, &[], &mut acc),
                    3 => tile::<W, 3, true, V>(acts, m, &wrows, scales, &[], &mut acc),
                    2 => tile::<W, 2, true, V>(acts, m, &wrows, scales, &[], &mut acc),
                    _ if pre => tile::<W, 1, true, V>(acts, m, &wrows, scales, &[], &mut acc),
                    _ => {
                        // AMD: the next group of this range, as bytes, for linear prefetch.
                        let next: &[u8] = if linear {
                            let next_end = (n + rows + NR).min(n1);
                            bytemuck::cast_slice(
                                w.get((n + rows) * nb..next_end * nb).unwrap_or_default(),
                            )
                        } else {
                            &[]
                        };
                        match w.get(n * nb..(n + NR) * nb) {
                            Some(group) if rows == NR => {
                                let pf = DecodePrefetch::new::<W>(next, linear, n == n0);
                                decode::<W, V>(acts, m, group, &pf, &mut acc[0]);
                            }
                            _ => tile::<W, 1, false, V>(acts, m, &wrows, scales, next, &mut acc),
                        }
                    }
                }
            }
            for (i, lanes) in acc.iter().take(mr).enumerate() {
                let base = (m + i - m0) * n_len + (n - n0);
                if let Some(dst) = out.get_mut(base..base + rows) {
                    for (lane, &v) in lanes.iter().enumerate() {
                        if let Some(o) = dst.get_mut(PERM[lane]) {
                            *o = v;
                        }
                    }
                }
            }
            m += mr;
        }
        n += rows;
    }
}

/// `256·Σ|w_j|` per i32 lane (four bytes each) over the bytes where `x_j = −128` and `w_j < 0`:
/// the exact correction of the `|w| · sign(x, w)` product for `x = −128` (see [`tile`]).
/// Each masked `|w_j|` ≤ 128, pair sums ≤ 256, lane sums ≤ 2·256·256: no overflow anywhere.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn min_fix(x: __m256i, w: __m256i) -> __m256i {
    let bad = _mm256_and_si256(
        _mm256_cmpeq_epi8(x, _mm256_set1_epi8(i8::MIN)),
        _mm256_cmpgt_epi8(_mm256_setzero_si256(), w),
    );
    let aw = _mm256_and_si256(bad, _mm256_abs_epi8(w));
    _mm256_madd_epi16(
        _mm256_maddubs_epi16(aw, _mm256_set1_epi8(1)),
        _mm256_set1_epi16(256),
    )
}

/// `[a | b]`: two 16-byte loads in one register.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_pair(a: *const u8, b: *const u8) -> __m256i {
    // SAFETY: the caller passes pointers to 16 readable bytes each.
    unsafe {
        _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(a.cast())),
            _mm_loadu_si128(b.cast()),
            1,
        )
    }
}

/// `MR_` activation rows starting at `m` × the 8 weight rows, all blocks, into `acc_out`
/// (lane `i` = weight row `PERM[i]`).
///
/// Rows are handled in pairs `(2p, 2p + 1)`: `lo[p]` holds elements 0..16 of both rows (one per
/// 128-bit half), `hi[p]` elements 16..32, against activations broadcast to both halves. One
/// `vpmaddwd` then leaves four i32 partials per row, and two levels of `vphaddd` over the four
/// pairs give all eight `sumi` in `PERM` order. Integer sums are exact in any order; the float
/// operations per lane are exactly the contract's.
///
/// # Safety
/// Every `wrows[r]` and `scales` have `scales.len()` entries, and `acts` has rows `m..m + MR_`.
/// With `PRE`, `scales` holds the group's scales in lane order; without, they are read inline,
/// and `next` (empty, or the next group's bytes, prefetched linearly) only steers prefetching.
/// With `V`, the CPU has AVX-VNNI: products use `vpdpbusd` (Q8_0: `x + 128` unsigned against
/// signed `w`, the accumulator started at `−128·Σw` so the result is `Σ x·w` exactly).
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), and the
// integer block sums are bounded by 32·128·128 < 2^31 (module doc): nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn tile<W: WBlock, const MR_: usize, const PRE: bool, const V: bool>(
    acts: &Acts<'_>,
    m: usize,
    wrows: &[&[W]; NR],
    scales: &[[u16; NR]],
    next: &[u8],
    acc_out: &mut [[f32; NR]; MR],
) {
    let nb = scales.len();
    // Cache lines of `next` to prefetch per block (none when it is empty).
    let lines = next.len().div_ceil(64).div_ceil(nb.max(1));
    let pf = if next.is_empty() {
        W::PF_BLOCKS
    } else {
        W::PF_BLOCKS_LINEAR
    };
    let (Some(xs), Some(dxs), Some(sxs), Some(mins)) = (
        acts.blocks.get(m * nb..(m + MR_) * nb),
        acts.dx.get(m * nb..(m + MR_) * nb),
        acts.sx.get(m * nb..(m + MR_) * nb),
        acts.has_min.get(m * nb..(m + MR_) * nb),
    ) else {
        return;
    };
    let ones = _mm256_set1_epi16(1);
    let nib = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); MR_];
    for (b, sc) in scales.iter().enumerate() {
        // SAFETY: b < nb <= every row's length (caller contract).
        let wb: [*const u8; NR] =
            core::array::from_fn(|r| unsafe { wrows[r].get_unchecked(b).qs_ptr() });
        if !PRE {
            // AMD: request the next 8-row group (one contiguous range) linearly while this one
            // runs, so that it is all in flight by the end of this group.
            for l in 0..lines {
                if let Some(a) = next.get((b * lines + l) * 64) {
                    _mm_prefetch::<_MM_HINT_T0>(core::ptr::from_ref(a).cast());
                }
            }
            // Decode streams 8 rows from DRAM at once: prefetch each row `pf` blocks ahead (a
            // hint only; it never faults, so running past a row's end is harmless).
            for &p in &wb {
                let ahead = p.wrapping_add(pf * core::mem::size_of::<W>());
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            }
        }
        let mut lo = [_mm256_setzero_si256(); 4];
        let mut hi = [_mm256_setzero_si256(); 4];
        for p in 0..4 {
            // SAFETY: Q4_0 blocks have 16 bytes at qs_ptr, Q8_0 blocks 32.
            unsafe {
                if W::Q4 {
                    let v = load_pair(wb[2 * p], wb[2 * p + 1]);
                    lo[p] = _mm256_and_si256(v, nib);
                    hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
                } else {
                    lo[p] = load_pair(wb[2 * p], wb[2 * p + 1]);
                    hi[p] = load_pair(wb[2 * p].add(16), wb[2 * p + 1].add(16));
                }
            }
        }
        // Q8_0 with VNNI: −128·Σw per i32 lane (four bytes each), the dot's starting value.
        let mut neg_corr = [_mm256_setzero_si256(); 4];
        if V && !W::Q4 {
            let b80 = _mm256_set1_epi8(-128);
            for p in 0..4 {
                // SAFETY: AVX-VNNI is present when V (checked in `matmul`).
                let c = unsafe { dpbusd(dpbusd(_mm256_setzero_si256(), b80, lo[p]), b80, hi[p]) };
                neg_corr[p] = _mm256_sub_epi32(_mm256_setzero_si256(), c);
            }
        }
        let dw = if PRE {
            // SAFETY: 8 u16 = 16 bytes.
            _mm256_cvtph_ps(unsafe { _mm_loadu_si128(sc.as_ptr().cast()) })
        } else {
            // SAFETY: as above, b < every row's length.
            let d = |lane: usize| unsafe { wrows[PERM[lane]].get_unchecked(b).d_bits() as i16 };
            _mm256_cvtph_ps(_mm_set_epi16(
                d(7),
                d(6),
                d(5),
                d(4),
                d(3),
                d(2),
                d(1),
                d(0),
            ))
        };
        for (i, a) in acc.iter_mut().enumerate() {
            let j = i * nb + b;
            // SAFETY: j < MR_ * nb = xs.len() = dxs.len() = sxs.len() = mins.len().
            let (xb, dx, sx, has_min) = unsafe {
                (
                    xs.get_unchecked(j),
                    *dxs.get_unchecked(j),
                    *sxs.get_unchecked(j),
                    *mins.get_unchecked(j),
                )
            };
            let xp: *const u8 = xb.qs.as_ptr().cast();
            // SAFETY: a Q8_0 block has 32 bytes of values.
            let (xl, xh) = unsafe {
                (
                    _mm256_broadcastsi128_si256(_mm_loadu_si128(xp.cast())),
                    _mm256_broadcastsi128_si256(_mm_loadu_si128(xp.add(16).cast())),
                )
            };
            let q: [__m256i; 4] = core::array::from_fn(|p| {
                if V && W::Q4 {
                    // SAFETY: AVX-VNNI is present when V. Nibbles unsigned, x signed.
                    unsafe { dpbusd(dpbusd(_mm256_setzero_si256(), lo[p], xl), hi[p], xh) }
                } else if V {
                    // x + 128 (bit flip) unsigned against signed w, from −128·Σw: Σ x·w.
                    let b80 = _mm256_set1_epi8(-128);
                    let (xul, xuh) = (_mm256_xor_si256(xl, b80), _mm256_xor_si256(xh, b80));
                    // SAFETY: AVX-VNNI is present when V.
                    unsafe { dpbusd(dpbusd(neg_corr[p], xul, lo[p]), xuh, hi[p]) }
                } else if W::Q4 {
                    // Pair sums ≤ 2·15·127 each, ≤ 7620 after the add: no i16 overflow.
                    _mm256_madd_epi16(
                        _mm256_add_epi16(
                            _mm256_maddubs_epi16(lo[p], xl),
                            _mm256_maddubs_epi16(hi[p], xh),
                        ),
                        ones,
                    )
                } else {
                    // |w| unsigned (exact for w = −128), sign moved onto x. `vpsignb` maps
                    // x = −128 to −128 whatever the sign of w, so each signed operand lies in
                    // −128..=127 and pair sums in −2·128·128..=2·128·127: no saturation.
                    let l =
                        _mm256_maddubs_epi16(_mm256_abs_epi8(lo[p]), _mm256_sign_epi8(xl, lo[p]));
                    let h =
                        _mm256_maddubs_epi16(_mm256_abs_epi8(hi[p]), _mm256_sign_epi8(xh, hi[p]));
                    let s =
                        _mm256_add_epi32(_mm256_madd_epi16(l, ones), _mm256_madd_epi16(h, ones));
                    if has_min {
                        // Where x = −128 and w < 0 the product came out as −128·|w| instead of
                        // +128·|w|: add 256·|w| for each such pair (blocks without −128, all
                        // that the quantizer writes, skip this).
                        _mm256_add_epi32(
                            s,
                            _mm256_add_epi32(min_fix(xl, lo[p]), min_fix(xh, hi[p])),
                        )
                    } else {
                        s
                    }
                }
            });
            let mut s =
                _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
            if W::Q4 {
                s = _mm256_sub_epi32(s, _mm256_set1_epi32(8 * sx));
            }
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx));
            *a = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), *a);
        }
    }
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    for (a, dst) in acc.iter().zip(acc_out.iter_mut()) {
        let nan = _mm256_cmp_ps(*a, *a, _CMP_UNORD_Q);
        let v = _mm256_blendv_ps(*a, canon, nan);
        // SAFETY: dst is 8 f32.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
    }
}

/// The eight exact `sumi` of one activation block (halves `xl`, `xh` broadcast to both 128-bit
/// lanes) against one weight block of eight rows held as four row pairs (`lo[p]`, `hi[p]`: the
/// low and high half-blocks of rows `2p`, `2p + 1`, Q4_0 already split into nibbles), in `PERM`
/// lane order: the products and reduction of [`tile`], for [`decode`]. `sx` is the block's
/// `Σx`. With `FIX` (plain Q8_0 only), the exact correction for activations of −128.
///
/// # Safety
/// With `V`, the CPU has AVX-VNNI.
#[inline]
#[target_feature(enable = "avx2")]
// `p < 4` indexes arrays of 4; `8·Σx` of a block is at most 8·32·128 < 2^31.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn pair_sums<W: WBlock, const V: bool, const FIX: bool>(
    lo: &[__m256i; 4],
    hi: &[__m256i; 4],
    xl: __m256i,
    xh: __m256i,
    sx: i32,
) -> __m256i {
    let ones = _mm256_set1_epi16(1);
    let b80 = _mm256_set1_epi8(-128);
    if W::Q4 && !V {
        // Nibble (0..=15) times x (−128..=127): |product| ≤ 1920, so a sum of 16 products
        // fits an i16 (≤ 30720): two levels of `vphaddw` over the row pairs' 16-bit partials
        // (8 products each) leave 16-product sums, and one `vpmaddwd` the 32-product `sumi`
        // in `PERM` lane order.
        let t: [__m256i; 4] = core::array::from_fn(|p| {
            _mm256_add_epi16(
                _mm256_maddubs_epi16(lo[p], xl),
                _mm256_maddubs_epi16(hi[p], xh),
            )
        });
        let h = _mm256_hadd_epi16(_mm256_hadd_epi16(t[0], t[1]), _mm256_hadd_epi16(t[2], t[3]));
        return _mm256_sub_epi32(_mm256_madd_epi16(h, ones), _mm256_set1_epi32(8 * sx));
    }
    let q: [__m256i; 4] = core::array::from_fn(|p| {
        if V && W::Q4 {
            // SAFETY: AVX-VNNI is present when V (caller contract). Nibbles unsigned, x signed.
            unsafe { dpbusd(dpbusd(_mm256_setzero_si256(), lo[p], xl), hi[p], xh) }
        } else if V {
            // x + 128 (bit flip) unsigned against signed w, from −128·Σw: Σ x·w.
            // SAFETY: as above.
            let neg = unsafe { dpbusd(dpbusd(_mm256_setzero_si256(), b80, lo[p]), b80, hi[p]) };
            let (xul, xuh) = (_mm256_xor_si256(xl, b80), _mm256_xor_si256(xh, b80));
            let start = _mm256_sub_epi32(_mm256_setzero_si256(), neg);
            // SAFETY: as above.
            unsafe { dpbusd(dpbusd(start, xul, lo[p]), xuh, hi[p]) }
        } else if W::Q4 {
            // Pair sums ≤ 2·15·127 each, ≤ 7620 after the add: no i16 overflow.
            _mm256_madd_epi16(
                _mm256_add_epi16(
                    _mm256_maddubs_epi16(lo[p], xl),
                    _mm256_maddubs_epi16(hi[p], xh),
                ),
                ones,
            )
        } else {
            // |w| unsigned against sign(x, w), as in `tile`: no saturation.
            let l = _mm256_maddubs_epi16(_mm256_abs_epi8(lo[p]), _mm256_sign_epi8(xl, lo[p]));
            let h = _mm256_maddubs_epi16(_mm256_abs_epi8(hi[p]), _mm256_sign_epi8(xh, hi[p]));
            let s = _mm256_add_epi32(_mm256_madd_epi16(l, ones), _mm256_madd_epi16(h, ones));
            if FIX {
                // The exact −128 correction of `tile`.
                _mm256_add_epi32(s, _mm256_add_epi32(min_fix(xl, lo[p]), min_fix(xh, hi[p])))
            } else {
                s
            }
        }
    });
    let s = _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
    if W::Q4 {
        _mm256_sub_epi32(s, _mm256_set1_epi32(8 * sx))
    } else {
        s
    }
}

/// Decode: activation row `m` against one full group of eight adjacent weight rows (`group`:
/// `NR·nb` blocks, row after row), into `acc_out` (lane `i` = weight row `PERM[i]`). The same
/// sums and float operations as [`tile`] with one activation row, so the same bits. Only the
/// instruction count differs (the loop is bound by it, not by memory, on the Zen 3 of
/// benches/README.md): the eight rows are addressed from one block pointer and the row stride,
/// two blocks per iteration; the eight f16 scales are gathered in two general-purpose registers
/// (integer ports, idle here) instead of eight `vpinsrw`; the linear prefetch is a fixed number
/// of lines per block; and the −128 correction is compiled in only for an activation row that
/// holds −128 (never one §4.1's quantizer writes).
///
/// # Safety
/// `acts` has row `m`; `group` has `NR·acts.nb` blocks; with `V` the CPU has AVX-VNNI.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn decode<W: WBlock, const V: bool>(
    acts: &Acts<'_>,
    m: usize,
    group: &[W],
    pf: &DecodePrefetch<'_>,
    acc_out: &mut [f32; NR],
) {
    let nb = acts.nb;
    let fix = !V
        && !W::Q4
        && acts
            .has_min
            .get(m.saturating_mul(nb)..m.saturating_add(1).saturating_mul(nb))
            .is_some_and(|r| r.contains(&true));
    // SAFETY: the caller's contract.
    unsafe {
        if fix {
            decode_row::<W, V, true>(acts, m, group, pf, acc_out);
        } else {
            decode_row::<W, V, false>(acts, m, group, pf, acc_out);
        }
    }
}

/// [`decode`], with the −128 correction compiled in (`FIX`) or not.
///
/// # Safety
/// As [`decode`]; without `FIX`, activation row `m` holds no −128 (or the format is Q4_0, or
/// `V`).
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: every pointer stays inside `group` (`b < nb`, `r < NR`, checked on entry), and
// the integer block sums are bounded by 32·128·128 < 2^31 (module doc): nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn decode_row<W: WBlock, const V: bool, const FIX: bool>(
    acts: &Acts<'_>,
    m: usize,
    group: &[W],
    pf: &DecodePrefetch<'_>,
    acc_out: &mut [f32; NR],
) {
    let nb = acts.nb;
    let (Some(xs), Some(dxs), Some(sxs)) = (
        acts.blocks.get(m * nb..(m + 1) * nb),
        acts.dx.get(m * nb..(m + 1) * nb),
        acts.sx.get(m * nb..(m + 1) * nb),
    ) else {
        return;
    };
    if group.len() != NR * nb {
        return;
    }
    let bs = core::mem::size_of::<W>();
    let stride = nb * bs;
    let (s1, s2, s3) = (stride, 2 * stride, 3 * stride);
    // Block b of row r starts at `g + r·stride + b·bs`: its f16 scale (two bytes), then its
    // values (both formats: `d` then `qs`, #[repr(C)], no padding).
    let g: *const u8 = group.as_ptr().cast();
    let nib = _mm256_set1_epi8(0x0F);
    // The linear prefetch: the next group has exactly `NR·bs` bytes per block of this one, so
    // block b requests the lines at `b·NR·bs + 64·l` (a line straddling two blocks' shares is
    // the next block's first).
    let npf = pf.next.as_ptr();
    let linear = pf.next.len() == NR * stride;
    let l2 = pf.l2;
    let ahead = pf.rows_ahead * bs;
    let mut acc = _mm256_setzero_ps();
    // One block (a macro: a closure here is not inlined, and passes vectors through memory).
    macro_rules! block {
        ($b:expr) => {{
            let b: usize = $b;
            let p0 = g.wrapping_add(b * bs);
            let p4 = p0.wrapping_add(4 * stride);
            let rows = [
                p0,
                p0.wrapping_add(s1),
                p0.wrapping_add(s2),
                p0.wrapping_add(s3),
                p4,
                p4.wrapping_add(s1),
                p4.wrapping_add(s2),
                p4.wrapping_add(s3),
            ];
            if linear {
                let q = npf.wrapping_add(b * NR * bs);
                for l in 0..(NR * bs).div_ceil(64) {
                    if l2 {
                        _mm_prefetch::<_MM_HINT_T1>(q.wrapping_add(l * 64).cast());
                    } else {
                        _mm_prefetch::<_MM_HINT_T0>(q.wrapping_add(l * 64).cast());
                    }
                }
            }
            if ahead > 0 {
                // A hint only: it never faults, so running past the group's end is harmless.
                for &p in &rows {
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(ahead).cast());
                }
            }
            // The scales in lane order (lanes 0..4: rows 0, 2, 4, 6; lanes 4..8: rows 1, 3, 5, 7),
            // four per u64.
            // SAFETY: each row pointer is the start of a block of `group` (2 scale bytes).
            let d = |r: usize| u64::from(unsafe { rows[r].cast::<u16>().read_unaligned() });
            let d_lo = d(0) | d(2) << 16 | d(4) << 32 | d(6) << 48;
            let d_hi = d(1) | d(3) << 16 | d(5) << 32 | d(7) << 48;
            let mut lo = [_mm256_setzero_si256(); 4];
            let mut hi = [_mm256_setzero_si256(); 4];
            for p in 0..4 {
                let (a, c) = (rows[2 * p].wrapping_add(2), rows[2 * p + 1].wrapping_add(2));
                // SAFETY: `a`, `c` point at the values of block b of two rows of `group`: 16
                // bytes (Q4_0) or 32 (Q8_0).
                unsafe {
                    if W::Q4 {
                        let v = load_pair(a, c);
                        lo[p] = _mm256_and_si256(v, nib);
                        hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
                    } else {
                        lo[p] = load_pair(a, c);
                        hi[p] = load_pair(a.add(16), c.add(16));
                    }
                }
            }
            // The bit patterns of the u64s, as i64 lanes (`as` reinterprets).
            let dw = _mm256_cvtph_ps(_mm_set_epi64x(d_hi as i64, d_lo as i64));
            // SAFETY: b < nb = xs.len() = dxs.len() = sxs.len().
            let (xb, dx, sx) = unsafe {
                (
                    xs.get_unchecked(b),
                    *dxs.get_unchecked(b),
                    *sxs.get_unchecked(b),
                )
            };
            let xp: *const u8 = xb.qs.as_ptr().cast();
            // SAFETY: a Q8_0 block has 32 bytes of values.
            let (xl, xh) = unsafe {
                (
                    _mm256_broadcastsi128_si256(_mm_loadu_si128(xp.cast())),
                    _mm256_broadcastsi128_si256(_mm_loadu_si128(xp.add(16).cast())),
                )
            };
            // SAFETY: AVX-VNNI when V; without FIX no activation of this row is −128 (caller
            // contract).
            let s = unsafe { pair_sums::<W, V, FIX>(&lo, &hi, xl, xh, sx) };
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), acc);
        }};
    }
    let mut b = 0;
    while b + 2 <= nb {
        block!(b);
        block!(b + 1);
        b += 2;
    }
    if b < nb {
        block!(b);
    }
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    let nan = _mm256_cmp_ps(acc, acc, _CMP_UNORD_Q);
    // SAFETY: acc_out is 8 f32.
    unsafe { _mm256_storeu_ps(acc_out.as_mut_ptr(), _mm256_blendv_ps(acc, canon, nan)) };
}

/// Activation rows per chunk on the widened Q8_0 prefill path ([`tile_q8w`]): each weight
/// group is packed once per chunk, so a larger chunk packs less often; 64 rows of K = 4096
/// widened to i16 are 512 KiB. Measured on the AMD EPYC (Zen 3) of benches/README.md, 1
/// thread, K = N = 4096: 64 rows were 4–5 % faster than 32 at M = 64 and 512 (CPU time), 128
/// another 2 % at M = 512 (within the noise, for twice the buffer).
const MC_W: usize = 64;

/// Registers per widened activation block: the block's 32 values as i16, 16 per register.
const XW: usize = 2;

/// Registers per weight block of a packed 8-row group: for each pair `k` of adjacent values
/// (elements `2k`, `2k + 1` of the block, k < 16) one register holding that pair of every row
/// as two i16 (lane `i` = row `PERM[i]`), then the eight f32 scales in the same lane order (see
/// [`pack_q8`]).
const PK: usize = 17;

/// 8×8 transpose of i32 elements: `out[j]` lane `i` = `r[i]` lane `j`.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose8(r: [__m256i; 8]) -> [__m256i; 8] {
    let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
    let (t0, t1) = (_mm256_unpacklo_epi32(r0, r1), _mm256_unpackhi_epi32(r0, r1));
    let (t2, t3) = (_mm256_unpacklo_epi32(r2, r3), _mm256_unpackhi_epi32(r2, r3));
    let (t4, t5) = (_mm256_unpacklo_epi32(r4, r5), _mm256_unpackhi_epi32(r4, r5));
    let (t6, t7) = (_mm256_unpacklo_epi32(r6, r7), _mm256_unpackhi_epi32(r6, r7));
    // u_j: rows 0..4 (or 4..8) of elements j (low 128-bit half) and j + 4 (high half).
    let (u0, u1) = (_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2));
    let (u2, u3) = (_mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3));
    let (v0, v1) = (_mm256_unpacklo_epi64(t4, t6), _mm256_unpackhi_epi64(t4, t6));
    let (v2, v3) = (_mm256_unpacklo_epi64(t5, t7), _mm256_unpackhi_epi64(t5, t7));
    [
        _mm256_permute2x128_si256::<0x20>(u0, v0),
        _mm256_permute2x128_si256::<0x20>(u1, v1),
        _mm256_permute2x128_si256::<0x20>(u2, v2),
        _mm256_permute2x128_si256::<0x20>(u3, v3),
        _mm256_permute2x128_si256::<0x31>(u0, v0),
        _mm256_permute2x128_si256::<0x31>(u1, v1),
        _mm256_permute2x128_si256::<0x31>(u2, v2),
        _mm256_permute2x128_si256::<0x31>(u3, v3),
    ]
}

/// Repacks an 8-row Q8_0 group into the register layout of [`tile_q8w`]: per block, register
/// `k` (k < 16) holds elements `2k`, `2k + 1` of rows `PERM[0]`, …, `PERM[7]` sign-extended to
/// i16 (one i32 lane per row), and register 16 the block's scales converted to f32 in the same
/// lane order, so that one `vpmaddwd` against a broadcast activation pair adds two exact
/// products to each row's lane.
///
/// # Safety
/// Every `wrows[r]` has at least `pack.len() / PK` blocks of 32 value bytes.
#[target_feature(enable = "avx2,f16c")]
// SIMD repack: `b < pack.len() / PK ≤` every row's length (caller contract); indices stay in
// the chunk (`8h + j < 16 < PK`).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn pack_q8<W: WBlock>(wrows: &[&[W]; NR], pack: &mut [__m256i]) {
    for (b, dst) in pack.chunks_exact_mut(PK).enumerate() {
        // SAFETY: b < every row's length (caller contract).
        let blk: [&W; NR] = core::array::from_fn(|i| unsafe { wrows[PERM[i]].get_unchecked(b) });
        for h in 0..2 {
            // Row i's elements 16h..16h + 16 as i16: eight i32 lanes of value pairs.
            // SAFETY: Q8_0 blocks have 32 bytes at qs_ptr; 16h + 16 ≤ 32.
            let r: [__m256i; 8] = core::array::from_fn(|i| unsafe {
                _mm256_cvtepi8_epi16(_mm_loadu_si128(blk[i].qs_ptr().add(16 * h).cast()))
            });
            for (j, v) in transpose8(r).into_iter().enumerate() {
                dst[8 * h + j] = v;
            }
        }
        let d = |lane: usize| blk[lane].d_bits() as i16;
        let dw = _mm256_cvtph_ps(_mm_set_epi16(
            d(7),
            d(6),
            d(5),
            d(4),
            d(3),
            d(2),
            d(1),
            d(0),
        ));
        dst[16] = _mm256_castps_si256(dw);
    }
}

/// Widens activation rows `mc0..mc1` to i16: block `b` of row `mc0 + r` becomes registers
/// `(r·nb + b)·XW` (elements 0..16) and the next (16..32), so that the i32 at byte `4k` of the
/// pair is elements `2k`, `2k + 1`.
///
/// # Safety
/// `acts` has rows `mc0..mc1`, and `xw` at least `(mc1 − mc0)·nb·XW` entries.
#[target_feature(enable = "avx2")]
// `(mc1 − mc0)·nb·XW ≤ xw.len()` and `mc1·nb ≤ acts.blocks.len()` (caller contract).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn widen_acts(acts: &Acts<'_>, mc0: usize, mc1: usize, xw: &mut [__m256i]) {
    let nb = acts.nb;
    let Some(src) = acts.blocks.get(mc0 * nb..mc1 * nb) else {
        return;
    };
    for (blk, dst) in src.iter().zip(xw.chunks_exact_mut(XW)) {
        let p: *const u8 = blk.qs.as_ptr().cast();
        // SAFETY: a Q8_0 block has 32 value bytes.
        unsafe {
            dst[0] = _mm256_cvtepi8_epi16(_mm_loadu_si128(p.cast()));
            dst[1] = _mm256_cvtepi8_epi16(_mm_loadu_si128(p.add(16).cast()));
        }
    }
}

/// Plain-AVX2 Q8_0 prefill: `MR_` activation rows starting at `m` (row `r` of the chunk
/// widened by [`widen_acts`]) × a group packed by [`pack_q8`], into `acc_out` (lane `i` =
/// weight row `PERM[i]`).
///
/// Per block and activation row: for each of the 16 value pairs, the pair broadcast as one
/// i32 (`vpbroadcastd` from the widened block) against the packed register of the eight rows'
/// pairs, one `vpmaddwd` (two exact i16 products summed into each row's i32 lane: no
/// saturation, no special case for −128) and one `vpaddd`; the sixteen partials give the eight
/// exact `sumi` with no horizontal reduction. Then, as in [`tile`], `vmulps` (d_w·d_x) and
/// `vfmadd231ps` per lane: the same bits as every other path. Each weight register is loaded
/// once per block and used for the `MR_` rows.
///
/// # Safety
/// `pack` has `acts.nb·PK` entries, `acts` has rows `m..m + MR_`, and `xw` holds the widened
/// chunk with rows `r..r + MR_` (`MR_ ≤ 4`).
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry, and the
// integer block sums are bounded by 32·128·128 < 2^31 (module doc): nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn tile_q8w<const MR_: usize>(
    acts: &Acts<'_>,
    m: usize,
    r: usize,
    xw: &[__m256i],
    pack: &[__m256i],
    acc_out: &mut [[f32; NR]; MR],
) {
    let nb = acts.nb;
    let (Some(dxs), Some(xs)) = (
        acts.dx.get(m * nb..(m + MR_) * nb),
        xw.get(r * nb * XW..(r + MR_) * nb * XW),
    ) else {
        return;
    };
    if MR_ > 4 || pack.len() < nb * PK {
        return;
    }
    // Row i's widened blocks start at xrow[i]; pair k of block b is the i32 at byte 4k of
    // block b's 64 bytes.
    let xrow: [*const u8; 4] =
        core::array::from_fn(|i| xs.as_ptr().wrapping_add(i.min(MR_ - 1) * nb * XW).cast());
    let mut acc = [_mm256_setzero_ps(); 4];
    for b in 0..nb {
        // SAFETY: b·PK + PK ≤ pack.len() (checked above).
        let wp = unsafe { pack.as_ptr().add(b * PK) };
        let mut s = [_mm256_setzero_si256(); 4];
        // The 16 pairs written out (a loop was left rolled by the compiler).
        macro_rules! pair {
            ($k:literal) => {
                // SAFETY: k < 16 < PK registers of this block.
                let wk = unsafe { *wp.add($k) };
                for i in 0..MR_ {
                    // SAFETY: row i < MR_ of the widened chunk, block b < nb, byte 4k + 4 ≤ 64.
                    let x = unsafe {
                        _mm256_set1_epi32(
                            xrow[i]
                                .add(b * XW * 32 + 4 * $k)
                                .cast::<i32>()
                                .read_unaligned(),
                        )
                    };
                    s[i] = _mm256_add_epi32(s[i], _mm256_madd_epi16(wk, x));
                }
            };
        }
        pair!(0);
        pair!(1);
        pair!(2);
        pair!(3);
        pair!(4);
        pair!(5);
        pair!(6);
        pair!(7);
        pair!(8);
        pair!(9);
        pair!(10);
        pair!(11);
        pair!(12);
        pair!(13);
        pair!(14);
        pair!(15);
        // SAFETY: entry 16 of the block holds the scales.
        let dw = _mm256_castsi256_ps(unsafe { *wp.add(16) });
        for i in 0..MR_ {
            // SAFETY: i·nb + b < MR_·nb = dxs.len().
            let dx = unsafe { *dxs.get_unchecked(i * nb + b) };
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx));
            acc[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s[i]), acc[i]);
        }
    }
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    for (a, dst) in acc.iter().zip(acc_out.iter_mut()).take(MR_) {
        let nan = _mm256_cmp_ps(*a, *a, _CMP_UNORD_Q);
        let v = _mm256_blendv_ps(*a, canon, nan);
        // SAFETY: dst is 8 f32.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
    }
}

/// Registers per weight block of an unpacked 8-row Q4_0 group: for each quad `k` of the
/// block's elements (`4k … 4k + 3`, k < 8) one register holding those four nibbles of every row
/// as bytes (lane `i` = row `PERM[i]`), then the eight f32 scales in the same lane order (see
/// [`pack_q4`]).
const PK4: usize = 9;

/// Unpacks an 8-row Q4_0 group into the register layout of [`tile_q4w`]: per block, register
/// `k` (k < 8) holds elements `4k … 4k + 3` of rows `PERM[0]`, …, `PERM[7]` as unsigned bytes
/// 0..=15 (the raw nibbles, one i32 lane per row), and register 8 the block's scales converted
/// to f32 in the same lane order, so that one `vpmaddubsw` against a broadcast activation quad
/// leaves two exact pair sums in each row's lane.
///
/// Byte `j` of a Q4_0 block holds element `j` (low nibble) and `j + 16` (high nibble), so the
/// raw quad `j` (bytes `4j … 4j + 3`, j < 4) gives element quads `j` and `j + 4`: four 128-bit
/// row pairs (rows `PERM[i]` and `PERM[i + 4]`) go through one 4×4 transpose of i32 per 128-bit
/// half, then a mask and a shift.
///
/// # Safety
/// Every `wrows[r]` has at least `pack.len() / PK4` blocks of 16 value bytes.
#[target_feature(enable = "avx2,f16c")]
// SIMD repack: `b < pack.len() / PK4 ≤` every row's length (caller contract); indices stay in
// the chunk (`j + 4 < 8 < PK4`).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn pack_q4<W: WBlock>(wrows: &[&[W]; NR], pack: &mut [__m256i]) {
    let nib = _mm256_set1_epi8(0x0F);
    for (b, dst) in pack.chunks_exact_mut(PK4).enumerate() {
        // SAFETY: b < every row's length (caller contract).
        let blk: [&W; NR] = core::array::from_fn(|i| unsafe { wrows[PERM[i]].get_unchecked(b) });
        // a[i]: the 16 value bytes of lane-row i (low half) and lane-row i + 4 (high half).
        // SAFETY: Q4_0 blocks have 16 bytes at qs_ptr.
        let a: [__m256i; 4] =
            core::array::from_fn(|i| unsafe { load_pair(blk[i].qs_ptr(), blk[i + 4].qs_ptr()) });
        let (t0, t1) = (
            _mm256_unpacklo_epi32(a[0], a[1]),
            _mm256_unpackhi_epi32(a[0], a[1]),
        );
        let (t2, t3) = (
            _mm256_unpacklo_epi32(a[2], a[3]),
            _mm256_unpackhi_epi32(a[2], a[3]),
        );
        // q[j] lane i = raw quad j of lane-row i.
        let q = [
            _mm256_unpacklo_epi64(t0, t2),
            _mm256_unpackhi_epi64(t0, t2),
            _mm256_unpacklo_epi64(t1, t3),
            _mm256_unpackhi_epi64(t1, t3),
        ];
        for (j, v) in q.into_iter().enumerate() {
            dst[j] = _mm256_and_si256(v, nib);
            dst[j + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
        }
        let d = |lane: usize| blk[lane].d_bits() as i16;
        let dw = _mm256_cvtph_ps(_mm_set_epi16(
            d(7),
            d(6),
            d(5),
            d(4),
            d(3),
            d(2),
            d(1),
            d(0),
        ));
        dst[8] = _mm256_castps_si256(dw);
    }
}

/// Plain-AVX2 Q4_0 prefill: `MR_` activation rows starting at `m` × a group unpacked by
/// [`pack_q4`], into `acc_out` (lane `i` = weight row `PERM[i]`).
///
/// Per block and activation row: for each of the 8 element quads, the activation quad
/// broadcast as one i32 (`vpbroadcastd` straight from the Q8_0 block) against the unpacked
/// register of the eight rows' nibbles, one `vpmaddubsw` (nibble 0..=15 unsigned, activation
/// signed: two products per i16 lane, |pair| ≤ 2·15·128, no saturation) and one `vpaddw`: each
/// i16 lane sums 16 products, |Σ| ≤ 16·15·128 = 30720 < 2^15, exact. One `vpmaddwd` against
/// ones then gives each row's `Σ u·x` in its i32 lane, and `8·Σx` is subtracted: the eight exact
/// `sumi` with no horizontal reduction. Then, as in [`tile`], `vmulps` (d_w·d_x) and
/// `vfmadd231ps` per lane: the same bits as every other path. Each weight register is loaded
/// once per block and used for the `MR_` rows.
///
/// # Safety
/// `pack` has `acts.nb·PK4` entries and `acts` has rows `m..m + MR_` (`MR_ ≤ 4`).
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry, and the
// integer block sums are bounded as above: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn tile_q4w<const MR_: usize>(
    acts: &Acts<'_>,
    m: usize,
    pack: &[__m256i],
    acc_out: &mut [[f32; NR]; MR],
) {
    let nb = acts.nb;
    let (Some(xs), Some(dxs), Some(sxs)) = (
        acts.blocks.get(m * nb..(m + MR_) * nb),
        acts.dx.get(m * nb..(m + MR_) * nb),
        acts.sx.get(m * nb..(m + MR_) * nb),
    ) else {
        return;
    };
    if MR_ > 4 || MR_ == 0 || pack.len() < nb * PK4 {
        return;
    }
    let ones = _mm256_set1_epi16(1);
    // Row i's blocks start at xrow[i] (rows past MR_ alias the last; they are never read).
    let xrow: [*const BlockQ8_0; 4] =
        core::array::from_fn(|i| xs.as_ptr().wrapping_add(i.min(MR_ - 1) * nb));
    let mut acc = [_mm256_setzero_ps(); 4];
    for b in 0..nb {
        // SAFETY: b·PK4 + PK4 ≤ pack.len() (checked above).
        let wp = unsafe { pack.as_ptr().add(b * PK4) };
        let mut s = [_mm256_setzero_si256(); 4];
        // The 8 quads written out (a loop may be left rolled by the compiler).
        macro_rules! quad {
            ($k:literal) => {
                // SAFETY: k < 8 < PK4 registers of this block.
                let wk = unsafe { *wp.add($k) };
                for i in 0..MR_ {
                    // SAFETY: row i < MR_, block b < nb; a Q8_0 block has 32 value bytes and
                    // 4k + 4 ≤ 32.
                    let x = unsafe {
                        _mm256_set1_epi32(
                            core::ptr::addr_of!((*xrow[i].add(b)).qs)
                                .cast::<u8>()
                                .add(4 * $k)
                                .cast::<i32>()
                                .read_unaligned(),
                        )
                    };
                    let p = _mm256_maddubs_epi16(wk, x);
                    s[i] = if $k == 0 {
                        p
                    } else {
                        _mm256_add_epi16(s[i], p)
                    };
                }
            };
        }
        quad!(0);
        quad!(1);
        quad!(2);
        quad!(3);
        quad!(4);
        quad!(5);
        quad!(6);
        quad!(7);
        // SAFETY: entry 8 of the block holds the scales.
        let dw = _mm256_castsi256_ps(unsafe { *wp.add(8) });
        for i in 0..MR_ {
            // SAFETY: i·nb + b < MR_·nb = dxs.len() = sxs.len().
            let (dx, sx) = unsafe {
                (
                    *dxs.get_unchecked(i * nb + b),
                    *sxs.get_unchecked(i * nb + b),
                )
            };
            let si = _mm256_sub_epi32(_mm256_madd_epi16(s[i], ones), _mm256_set1_epi32(8 * sx));
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(dx));
            acc[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(si), acc[i]);
        }
    }
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    for (a, dst) in acc.iter().zip(acc_out.iter_mut()).take(MR_) {
        let nan = _mm256_cmp_ps(*a, *a, _CMP_UNORD_Q);
        let v = _mm256_blendv_ps(*a, canon, nan);
        // SAFETY: dst is 8 f32.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
    }
}

//! The AVX-512 VNNI matmul (512-bit `vpdpbusd`) for Q8_0 and Q4_0 weights. Same bits as
//! [`super::scalar`] by construction:
//!
//! * block sums are exact in i32 whatever the order of the integer adds (|partial| ≤
//!   32·255·128 < 2^31, and `vpdpbusd` does not saturate). Q8_0: the activations are made
//!   unsigned (`x + 128`, a bit flip) against the signed weights, and every lane starts from
//!   `−128·Σw` of its four bytes, so the sums are `Σ x·w` exactly. Q4_0: the raw nibbles are
//!   the unsigned operand against the signed activations, and `8·Σx` of the block is
//!   subtracted from each row sum, giving `Σ (nibble − 8)·x` exactly;
//! * each output lane then gets exactly the contract's float operations, in block order:
//!   `acc = fma(d_w·d_x, f32(sumi), acc)` with `vmulps` and `vfmadd231ps` (one rounding each,
//!   as `f32::mul` and `f32::mul_add`);
//! * NaN outputs are canonicalised as in the scalar reference.
//!
//! Layout of the work: one accumulator lane per weight row, [`NW`] = 16 weight rows per pass.
//! Register `p` of a block holds 16 bytes of each of rows `4p .. 4p + 4` (one 128-bit lane
//! each), against the activation's 16 bytes broadcast to all four lanes; two levels of
//! `unpack` + `add` turn the four registers' partial sums into the 16 row sums, lane `4L + p`
//! holding row `4p + L`. For prefill the group's weights are first repacked (per cache chunk of
//! activation rows) into that register layout with the `−128·Σw` start values and the scales,
//! so the inner loop only loads; decode (one activation row) builds the registers directly
//! from the rows, with software prefetch: on AMD CPUs the next group's bytes linearly (a group
//! is one contiguous range of the weights) and, for Q8_0, each row a few blocks ahead; on
//! others each row a few blocks ahead at every block ([`super::linear_decode_prefetch`]).

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::matmul::Acts;
use crate::matmul::{QWeights, Weights};
use crate::quant::{BlockQ4_0, BlockQ8_0};

/// Weight rows per pass (one zmm accumulator lane each).
pub const NW: usize = 16;

/// Activation rows per pass (register tile height).
const MR: usize = 4;

/// Activation rows per cache chunk (their Q8_0 blocks stay in L2 while every weight group
/// passes over them).
const MC: usize = 64;

/// A weight block format this module handles.
trait WBlock: Copy + bytemuck::Pod {
    /// Q4_0 (nibbles, offset 8) rather than Q8_0.
    const Q4: bool;
    /// Decode prefetch distance, in blocks ahead on each of the 16 rows. Without the linear
    /// prefetch (not AMD) every row at every block: measured on the Xeon of benches/README.md
    /// (1 thread, K = N = 4096, cold) the linear prefetch of the whole next 16-row group into
    /// L1 (70 KiB of Q8_0, more than L1) cost a third there: Q8_0 8.3–9.5 against 13.1–13.5
    /// GB/s per fastest call, Q4_0 8.8–9.9 against 9.7–11.5.
    const PF_BLOCKS: usize;
    /// With the linear prefetch (AMD), the rows are prefetched every this many blocks (a
    /// 64-byte line holds 3.5 Q4_0 blocks, 1.9 Q8_0 blocks; a step under 64 bytes never skips
    /// a line).
    const PF_EVERY: usize;
    /// With the linear prefetch (AMD), the rows of every group are prefetched too, not only
    /// those of the first one of a range (the others were prefetched linearly while the
    /// previous group ran). Measured on the AMD development host (1 thread, K = 4096,
    /// N = 11008, cold): Q8_0 gains from both, Q4_0 runs best with the linear prefetch alone.
    const PF_ROWS: bool;
    fn qs_ptr(&self) -> *const u8;
    fn d_bits(&self) -> u16;
}

impl WBlock for BlockQ8_0 {
    const Q4: bool = false;
    const PF_BLOCKS: usize = 16;
    const PF_EVERY: usize = 1;
    const PF_ROWS: bool = true;
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
    const PF_EVERY: usize = 2;
    const PF_ROWS: bool = false;
    #[inline(always)]
    fn qs_ptr(&self) -> *const u8 {
        self.qs.as_ptr()
    }
    #[inline(always)]
    fn d_bits(&self) -> u16 {
        u16::from_le_bytes(self.d)
    }
}

/// One weight block of a 16-row group in register layout: `lo[p]`/`hi[p]` = bytes 0..16 /
/// 16..32 of rows `4p .. 4p + 4` (Q4_0: the low / high nibbles of the 16 bytes), `corr[p]` =
/// `−128·Σw` per 4-byte lane (Q8_0; zero for Q4_0), `dw` = the 16 scales in accumulator lane
/// order.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Packed {
    lo: [__m512i; 4],
    hi: [__m512i; 4],
    corr: [__m512i; 4],
    dw: __m512,
}

/// Row of the group held by accumulator lane `j`.
#[inline(always)]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn lane_row(j: usize) -> usize {
    4 * (j % 4) + j / 4
}

/// Whether this CPU runs this module: AVX-512 F/BW/VNNI on top of AVX2, FMA and F16C.
pub(crate) fn available() -> bool {
    super::avx2_available()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

/// Computes `out[(m − m0)·(n1 − n0) + (n − n0)]` for `m in m0..m1`, `n in n0..n1`
/// (`acts.nb` blocks per row). Does nothing unless [`available`]; ranges that do not fit
/// `acts`, `w` or `out` leave `out` untouched (the caller checked them).
pub(crate) fn matmul(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &Weights<'_>,
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    if !available() {
        return;
    }
    // SAFETY: the target features of `run` were detected just above.
    unsafe {
        match w.blocks() {
            QWeights::Q8_0(wb) => run(acts, m0, m1, wb, n0, n1, out),
            QWeights::Q4_0(wb) => run(acts, m0, m1, wb, n0, n1, out),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
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
    if m1 <= m0
        || n1 <= n0
        || out.len() != (m1 - m0) * n_len
        || w.len() < n1 * nb
        || acts.blocks.len() < m1 * nb
    {
        return;
    }
    let zero = Packed {
        lo: [_mm512_setzero_si512(); 4],
        hi: [_mm512_setzero_si512(); 4],
        corr: [_mm512_setzero_si512(); 4],
        dw: _mm512_setzero_ps(),
    };
    let mut pack: Vec<Packed> = if m1 - m0 > 1 {
        vec![zero; nb]
    } else {
        Vec::new()
    };
    let linear = super::linear_decode_prefetch();
    for mc0 in (m0..m1).step_by(MC) {
        let mc1 = (mc0 + MC).min(m1);
        let mut n = n0;
        while n < n1 {
            let rows = (n1 - n).min(NW);
            // Pad a short group with copies of its first row; their lanes are discarded.
            let wrows: [&[W]; NW] = core::array::from_fn(|r| {
                let row = n + if r < rows { r } else { 0 };
                w.get(row * nb..(row + 1) * nb).unwrap_or_default()
            });
            if wrows.iter().any(|r| r.len() != nb) {
                return;
            }
            let mut m = mc0;
            if !pack.is_empty() {
                for (b, pk) in pack.iter_mut().enumerate() {
                    // SAFETY: b < nb = every row's length.
                    *pk = unsafe { build(&wrows, b) };
                }
            }
            while m < mc1 {
                let mr = (mc1 - m).min(MR);
                let mut acc = [[0.0f32; NW]; MR];
                // SAFETY: rows m..m + mr are within acts (checked above), every row slice and
                // `pack` (when non-empty) have nb entries; the features are those of `run`.
                unsafe {
                    match mr {
                        4 => tile::<W, 4>(acts, m, &pack, &mut acc),
                        3 => tile::<W, 3>(acts, m, &pack, &mut acc),
                        2 => tile::<W, 2>(acts, m, &pack, &mut acc),
                        _ if !pack.is_empty() => tile::<W, 1>(acts, m, &pack, &mut acc),
                        _ => {
                            // AMD: the next group of this range, as bytes, for linear prefetch.
                            let next: &[u8] = if linear {
                                let next_end = (n + rows + NW).min(n1);
                                bytemuck::cast_slice(
                                    w.get((n + rows) * nb..next_end * nb).unwrap_or_default(),
                                )
                            } else {
                                &[]
                            };
                            decode(acts, m, &wrows, next, n == n0, &mut acc)
                        }
                    }
                }
                for (i, lanes) in acc.iter().take(mr).enumerate() {
                    let base = (m + i - m0) * n_len + (n - n0);
                    if let Some(dst) = out.get_mut(base..base + rows) {
                        for (j, &v) in lanes.iter().enumerate() {
                            if let Some(o) = dst.get_mut(lane_row(j)) {
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
}

/// Block `b` of the 16 rows in register layout.
///
/// # Safety
/// `b` < every row's length; the CPU has the features of `run`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn build<W: WBlock>(wrows: &[&[W]; NW], b: usize) -> Packed {
    // SAFETY: b < every row's length (caller contract).
    let blk = |r: usize| unsafe { wrows[r].get_unchecked(b) };
    let b80 = _mm512_set1_epi8(-128);
    let mut pk = Packed {
        lo: [_mm512_setzero_si512(); 4],
        hi: [_mm512_setzero_si512(); 4],
        corr: [_mm512_setzero_si512(); 4],
        dw: _mm512_setzero_ps(),
    };
    for p in 0..4 {
        let q: [*const u8; 4] = core::array::from_fn(|l| blk(4 * p + l).qs_ptr());
        if W::Q4 {
            // SAFETY: every Q4_0 block has 16 bytes of nibbles at `q[l]`.
            let v = unsafe { quad(q[0], q[1], q[2], q[3]) };
            let nib = _mm512_set1_epi8(0x0F);
            pk.lo[p] = _mm512_and_si512(v, nib);
            pk.hi[p] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), nib);
            continue;
        }
        // SAFETY: every Q8_0 block has 32 bytes of values at `q[l]`.
        unsafe {
            pk.lo[p] = quad(q[0], q[1], q[2], q[3]);
            pk.hi[p] = quad(q[0].add(16), q[1].add(16), q[2].add(16), q[3].add(16));
        }
        let c = _mm512_dpbusd_epi32(
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), b80, pk.lo[p]),
            b80,
            pk.hi[p],
        );
        pk.corr[p] = _mm512_sub_epi32(_mm512_setzero_si512(), c);
    }
    let d = |j: usize| blk(lane_row(j)).d_bits() as i16;
    pk.dw = _mm512_cvtph_ps(_mm256_set_epi16(
        d(15),
        d(14),
        d(13),
        d(12),
        d(11),
        d(10),
        d(9),
        d(8),
        d(7),
        d(6),
        d(5),
        d(4),
        d(3),
        d(2),
        d(1),
        d(0),
    ));
    pk
}

/// `[a | b | c | d]`: four 16-byte loads in one register.
///
/// # Safety
/// Each pointer has 16 readable bytes.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn quad(a: *const u8, b: *const u8, c: *const u8, d: *const u8) -> __m512i {
    // SAFETY: caller contract.
    unsafe {
        let v = _mm512_castsi128_si512(_mm_loadu_si128(a.cast()));
        let v = _mm512_inserti32x4::<1>(v, _mm_loadu_si128(b.cast()));
        let v = _mm512_inserti32x4::<2>(v, _mm_loadu_si128(c.cast()));
        _mm512_inserti32x4::<3>(v, _mm_loadu_si128(d.cast()))
    }
}

/// Row sums of the four partial registers: lane `4L + p` = row `4p + L` (see the module doc).
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce(q: [__m512i; 4]) -> __m512i {
    let t01 = _mm512_add_epi32(
        _mm512_unpacklo_epi32(q[0], q[1]),
        _mm512_unpackhi_epi32(q[0], q[1]),
    );
    let t23 = _mm512_add_epi32(
        _mm512_unpacklo_epi32(q[2], q[3]),
        _mm512_unpackhi_epi32(q[2], q[3]),
    );
    _mm512_add_epi32(
        _mm512_unpacklo_epi64(t01, t23),
        _mm512_unpackhi_epi64(t01, t23),
    )
}

/// The contract's float step for one activation row and block, then nothing else.
#[inline]
#[target_feature(enable = "avx512f")]
fn step(acc: &mut __m512, dw: __m512, dx: f32, s: __m512i) {
    let scale = _mm512_mul_ps(dw, _mm512_set1_ps(dx));
    *acc = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), *acc);
}

/// Canonical NaN, then store.
#[inline]
#[target_feature(enable = "avx512f")]
fn finish(acc: __m512, dst: &mut [f32; NW]) {
    let canon = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC0_0000));
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(acc, acc);
    let v = _mm512_mask_blend_ps(nan, acc, canon);
    // SAFETY: dst is 16 f32.
    unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) };
}

/// The 16 row sums of one activation block against a packed weight block: lane `4L + p` =
/// row `4p + L`, exact (see the module doc). `sx` = Σ of the activation block's values.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
fn sums<W: WBlock>(xb: &BlockQ8_0, sx: i32, pk: &Packed) -> __m512i {
    let xp: *const u8 = xb.qs.as_ptr().cast();
    // SAFETY: a Q8_0 block has 32 bytes of values.
    let (xl, xh) = unsafe {
        (
            _mm512_broadcast_i32x4(_mm_loadu_si128(xp.cast())),
            _mm512_broadcast_i32x4(_mm_loadu_si128(xp.add(16).cast())),
        )
    };
    if W::Q4 {
        // nibbles unsigned against x signed, then − 8·Σx per row.
        let q: [__m512i; 4] = core::array::from_fn(|p| {
            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(pk.corr[p], pk.lo[p], xl), pk.hi[p], xh)
        });
        _mm512_sub_epi32(reduce(q), _mm512_set1_epi32(8 * sx))
    } else {
        // x + 128 (bit flip) unsigned against w signed, from −128·Σw.
        let b80 = _mm512_set1_epi8(-128);
        let (xl, xh) = (_mm512_xor_si512(xl, b80), _mm512_xor_si512(xh, b80));
        let q: [__m512i; 4] = core::array::from_fn(|p| {
            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(pk.corr[p], xl, pk.lo[p]), xh, pk.hi[p])
        });
        reduce(q)
    }
}

/// `MR_` activation rows from `m` against a packed group (prefill).
///
/// # Safety
/// `acts` has rows `m..m + MR_`, `pack` has `acts.nb` entries; the CPU has the features.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn tile<W: WBlock, const MR_: usize>(
    acts: &Acts<'_>,
    m: usize,
    pack: &[Packed],
    acc_out: &mut [[f32; NW]; MR],
) {
    let nb = acts.nb;
    let (Some(xs), Some(dxs), Some(sxs)) = (
        acts.blocks.get(m * nb..(m + MR_) * nb),
        acts.dx.get(m * nb..(m + MR_) * nb),
        acts.sx.get(m * nb..(m + MR_) * nb),
    ) else {
        return;
    };
    if pack.len() != nb {
        return;
    }
    let mut acc = [_mm512_setzero_ps(); MR_];
    for (b, pk) in pack.iter().enumerate() {
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
            step(a, pk.dw, dx, sums::<W>(xb, sx, pk));
        }
    }
    for (a, dst) in acc.iter().zip(acc_out.iter_mut()) {
        finish(*a, dst);
    }
}

/// One activation row against 16 weight rows read directly (decode), prefetching ahead.
///
/// # Safety
/// `acts` has row `m`; every `wrows[r]` has `acts.nb` entries; the CPU has the features.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
// SIMD hot loop: index arithmetic stays within the ranges `run` checked on entry
// (`m1·nb ≤ acts.blocks.len()`, `n1·nb ≤ w.len()`, `out.len() = (m1 − m0)·(n1 − n0)`), lane
// numbers are below 16, and `8·Σx` of a block is at most 8·32·128 < 2^31: nothing overflows.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn decode<W: WBlock>(
    acts: &Acts<'_>,
    m: usize,
    wrows: &[&[W]; NW],
    next: &[u8],
    first: bool,
    acc_out: &mut [[f32; NW]; MR],
) {
    let nb = acts.nb;
    // Cache lines of the next group (adjacent rows: one contiguous range) to prefetch per
    // block, so that all of it has been requested when this group ends: one linear stream
    // for the memory system instead of sixteen strided ones. Empty `next`: rows only, at every
    // block.
    let lines = next.len().div_ceil(64).div_ceil(nb.max(1));
    let (row_pf, every) = if next.is_empty() {
        (true, 1)
    } else {
        (W::PF_ROWS || first, W::PF_EVERY)
    };
    let (Some(xs), Some(dxs), Some(sxs)) = (
        acts.blocks.get(m * nb..(m + 1) * nb),
        acts.dx.get(m * nb..(m + 1) * nb),
        acts.sx.get(m * nb..(m + 1) * nb),
    ) else {
        return;
    };
    // The linear prefetch into L2 rather than L1 where that is faster ([`super::amd_avx512`]).
    let l2 = super::amd_avx512();
    // A hint only: it never faults, whatever the address.
    let hint = |a: *const u8| {
        if l2 {
            _mm_prefetch::<_MM_HINT_T1>(a.cast());
        } else {
            _mm_prefetch::<_MM_HINT_T0>(a.cast());
        }
    };
    let mut acc = _mm512_setzero_ps();
    // Q4_0: a full next group (every group but a range's last) is requested at fixed offsets:
    // block `b` asks for the lines at `b·NW·bs + 64·l` (a line straddling two blocks' shares is
    // requested by both), a compile-time count per block with no bounds check per line, as in
    // the AVX2 loop. Measured on the AMD EPYC Zen 4 of benches/README.md (`decode_ab`, old and
    // new alternated call by call, K 4096, N 4096 and 11008, two processes each): Q4_0 faster
    // by median in 15 of 16 comparisons (1 and 2 threads, 0.99–1.06×, most 1.02–1.06×); Q8_0
    // level at N 4096 but 0.91–0.96× on one thread at N 11008, so Q8_0 (which `Backend::Auto`
    // decodes on the AVX2 loop there) and a shorter next group keep the checked per-line
    // spread below.
    let bs = core::mem::size_of::<W>();
    let full = W::Q4 && next.len() == NW * nb * bs;
    let npf = next.as_ptr();
    for (b, ((xb, &dx), &sx)) in xs.iter().zip(dxs).zip(sxs).enumerate() {
        if full {
            // Hints only: an address is never dereferenced, and every one is inside `next`.
            let q = npf.wrapping_add(b * NW * bs);
            for l in 0..(NW * bs).div_ceil(64) {
                hint(q.wrapping_add(64 * l));
            }
        } else {
            for l in 0..lines {
                if let Some(a) = next.get((b * lines + l) * 64) {
                    hint(a);
                }
            }
        }
        if row_pf && b % every == 0 {
            for r in wrows {
                // A hint only: it never faults, so running past a row's end is harmless.
                let p: *const u8 = r.as_ptr().cast();
                let ahead = p.wrapping_add((b + W::PF_BLOCKS) * core::mem::size_of::<W>());
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            }
        }
        // SAFETY: b < nb = every row's length (caller contract); features as above.
        let pk = unsafe { build(wrows, b) };
        step(&mut acc, pk.dw, dx, sums::<W>(xb, sx, &pk));
    }
    if let Some(dst) = acc_out.first_mut() {
        finish(acc, dst);
    }
}

//! The AVX2 decode loop over packed weights ([`crate::packed`], spec/kernels.md §4.6). Same
//! bits as [`super::scalar`]: the integer block sums are exact (bounds below), and each lane
//! (one weight row; lane `r` = row `r` of the group, no permutation) gets exactly the
//! contract's float operations in block order, `acc = fma(d_w·d_x, f32(sumi), acc)`.
//!
//! What the layout saves against the plain loop ([`super::avx2`]'s `decode`): a block's eight
//! scales are one 16-byte load and one `vcvtph2ps`; a 4-byte chunk of the activation block is
//! one broadcast (a load µop) that multiplies the same chunk of all eight rows, which sit in
//! one 32-byte register, so each i32 lane collects its own row's sum and no horizontal
//! reduction is needed; every weight load is one aligned 32-byte load.
//!
//! Q8_0, groups without a −128 weight (what GGML's quantizer writes): `vpmaddubsw(|x|,
//! sign(w, x))`, with `|x|` precomputed once per call (the broadcast is a load), so a weight
//! register costs `vpsignb`, `vpmaddubsw`, `vpmaddwd`, `vpaddd`. Exact for any activation:
//! `|x| ≤ 128` unsigned, `|±w| ≤ 127`, pair sums ≤ 2·128·127 < 2^15. A group holding −128
//! takes the plain loop's route, `vpmaddubsw(|w|, sign(x, w))` with its exact correction for
//! activations of −128.
//!
//! Q4_0: the raw nibbles (0..=15) are the unsigned operand; the eight `vpmaddubsw` of a block
//! are added in 16 bits (each lane then holds 16 products, |Σ| ≤ 16·15·128 = 30720 < 2^15),
//! one `vpmaddwd` widens, and `8·Σx` is subtracted.
//!
//! Two streams: a thread's range of groups is split in halves, and group `i` of the first half
//! runs in lockstep with group `i` of the second ([`q8_groups`] / [`q4_groups`] with `G = 2`),
//! so that one core keeps two far-apart read streams in flight (each with its own software
//! prefetch) and every activation broadcast serves sixteen rows. Measured on an AMD Zen 3 against
//! ggml in the same rounds, cold weights, one thread (benches/results/
//! 2026-12-06-amd-r4-decode-streams.txt): min ÷ min went from 1.44–1.59 to 1.76–1.96 for Q4_0
//! and from 1.15–1.27 to 1.32–1.57 for Q8_0; with two threads the change is inside the noise.
//! Four streams were slower than two, and so were adjacent groups instead of far-apart halves.

#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::matmul::Acts;
use crate::packed::{GROUP_ROWS, PackedWeights};
use crate::quant::{BLOCK_LEN, BlockQ8_0, QuantFormat};

/// Software prefetch distance for Q8_0, in bytes ahead of the linear position in each packed
/// stream (one group after another; within a group, `34 · 8` bytes per block). Measured with
/// two streams (results/2026-12-06-amd-r4-decode-streams.txt): 2 KiB beat 4 and 8 KiB by
/// 0.1–0.2 in the ratio to ggml, 1 KiB was level with 2 KiB.
const PF_AHEAD_Q8: usize = 2048;

/// Software prefetch distance for Q4_0 (`18 · 8` bytes per block): 4 KiB, level with 2 and
/// 8 KiB and ahead of 1 KiB in the same measurement.
const PF_AHEAD_Q4: usize = 4096;

/// The second, farther prefetch of AMD CPUs with AVX-512 ([`Ahead::far`]): 8 KiB ahead of each
/// stream, into L2.
const PF_FAR: usize = 8192;

/// Where the packed loops prefetch, in bytes ahead of each stream's linear position.
#[derive(Clone, Copy)]
struct Ahead {
    /// Into L1 (`prefetcht0`).
    near: usize,
    /// Into L2 (`prefetcht1`), farther ahead; 0: none.
    far: usize,
}

/// The prefetch of the Q4_0 (`q4`) or Q8_0 loops: [`PF_AHEAD_Q4`] or [`PF_AHEAD_Q8`] ahead
/// into L1 everywhere, and on AMD CPUs with AVX-512 (Zen 4 and later, [`super::amd_avx512`],
/// read once per process) also [`PF_FAR`] ahead into L2. Measured on an AMD EPYC Zen 4, cold
/// weights, K = 4096, N = 4096 and 11008, one and two threads, old and new prefetch alternated
/// call by call in one process with the rotation's start moving (a fixed order slows whichever
/// route runs first) and also one route per process
/// (benches/results/2026-12-07-amd-zen4-packed-prefetch-position-neutral.txt): against what it
/// replaced there, Q4_0 (`prefetcht0` 4 KiB ahead) was faster in 8 of 8 alternated pairs
/// (1.03–1.54×, median 1.24×), Q8_0 (`prefetchnta` 2 KiB ahead) level to faster (0.99–1.35×).
/// A lone `prefetcht1` at 8–34 KiB, or `prefetchnta` farther ahead, was slower than the old
/// prefetch. Other CPUs keep the single L1 prefetch they were tuned with.
fn ahead(q4: bool) -> Ahead {
    Ahead {
        near: if q4 { PF_AHEAD_Q4 } else { PF_AHEAD_Q8 },
        far: if super::amd_avx512() { PF_FAR } else { 0 },
    }
}

/// The block loop of the group kernels: blocks two at a time, each pair preceded by the linear
/// software prefetch ([`Ahead`]) of every stream start in `$streams` (`$bytes` stream bytes per
/// block, so `⌈2·$bytes / 64⌉` cache lines per pair and level), then the odd last block;
/// `$block!(b)` does block `b`.
/// Expands to unsafe operations (the prefetches, and whatever `$block!` does): callers wrap it in
/// `unsafe` under their own bounds.
macro_rules! block_pairs {
    ($nb:expr, $streams:expr, $bytes:expr, $ahead:expr, $block:ident) => {{
        const LINES: usize = (2 * $bytes as usize).div_ceil(64);
        let ahead: Ahead = $ahead;
        let mut b = 0;
        while b + 2 <= $nb {
            for s in $streams {
                let p = s.wrapping_add($bytes * b);
                for l in 0..LINES {
                    if ahead.far > 0 {
                        _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(ahead.far + 64 * l).cast());
                    }
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(ahead.near + 64 * l).cast());
                }
            }
            $block!(b);
            $block!(b + 1);
            b += 2;
        }
        if b < $nb {
            $block!(b);
        }
    }};
}

/// Activation row `m` against packed groups `g0..g1` of `w` into `out` (`8·(g1 − g0)` values,
/// row order). Does nothing unless the CPU has AVX2, FMA and F16C (callers resolve the
/// backend first) and the ranges fit.
// `g < g1` with `g1·gb ≤ bytes.len()` (checked on entry): no overflow.
#[allow(clippy::arithmetic_side_effects)]
pub(crate) fn decode(
    acts: &Acts<'_>,
    m: usize,
    w: &PackedWeights,
    g0: usize,
    g1: usize,
    out: &mut [f32],
) {
    if !super::avx2_available() {
        return;
    }
    let nb = acts.nb;
    let row = m.saturating_mul(nb)..m.saturating_add(1).saturating_mul(nb);
    let (Some(xs), Some(dxs), Some(sxs), Some(mins)) = (
        acts.blocks.get(row.clone()),
        acts.dx.get(row.clone()),
        acts.sx.get(row.clone()),
        acts.has_min.get(row),
    ) else {
        return;
    };
    let gb = w.group_bytes();
    let bytes = w.as_bytes();
    if nb == 0
        || nb != w.k() / BLOCK_LEN
        || g1 < g0
        || g1.checked_mul(gb).is_none_or(|e| e > bytes.len())
        || out.len() < (g1 - g0).saturating_mul(GROUP_ROWS)
    {
        return;
    }
    let q4 = w.format() == QuantFormat::Q4_0;
    // Q8_0: |x| of the row, per block (the fast route's unsigned operand).
    let ax: Vec<[u8; BLOCK_LEN]> = if q4 {
        Vec::new()
    } else {
        xs.iter()
            .map(|b| core::array::from_fn(|i| b.qs.get(i).map_or(0, |v| v.unsigned_abs())))
            .collect()
    };
    let fix = mins.contains(&true);
    // Two streams: group `g0 + i` together with group `g0 + h + i` (`h` = half the range), so
    // that one core keeps two far-apart read streams in flight and the two groups share every
    // activation load; the odd group out, and Q8_0 pairs holding a −128 weight, go one by one.
    let h = (g1 - g0) / 2;
    let one = |g: usize, o: &mut [f32; GROUP_ROWS]| {
        let Some(grp) = bytes.get(g * gb..(g + 1) * gb) else {
            return;
        };
        // SAFETY: AVX2, FMA and F16C detected above; `grp` is one whole group of `nb` blocks,
        // the activation slices have `nb` entries, `ax` has `nb` (Q8_0).
        unsafe {
            if q4 {
                q4_groups::<1>([grp], xs, dxs, sxs, [o]);
            } else if !w.group_has_min(g) {
                q8_groups::<1>([grp], xs, &ax, dxs, [o]);
            } else if fix {
                q8_general::<true>(grp, xs, dxs, o);
            } else {
                q8_general::<false>(grp, xs, dxs, o);
            }
        }
    };
    let (first, rest) = out.split_at_mut(h * GROUP_ROWS);
    let (second, last) = rest.split_at_mut(h * GROUP_ROWS);
    for (i, (oa, ob)) in first
        .chunks_exact_mut(GROUP_ROWS)
        .zip(second.chunks_exact_mut(GROUP_ROWS))
        .enumerate()
    {
        let (ga, gz) = (g0 + i, g0 + h + i);
        let (Ok(oa), Ok(ob)) = (
            <&mut [f32; GROUP_ROWS]>::try_from(oa),
            <&mut [f32; GROUP_ROWS]>::try_from(ob),
        ) else {
            return;
        };
        let (Some(wa), Some(wz)) = (
            bytes.get(ga * gb..(ga + 1) * gb),
            bytes.get(gz * gb..(gz + 1) * gb),
        ) else {
            return;
        };
        // SAFETY: as in `one`, for both groups.
        unsafe {
            if q4 {
                q4_groups::<2>([wa, wz], xs, dxs, sxs, [oa, ob]);
            } else if !w.group_has_min(ga) && !w.group_has_min(gz) {
                q8_groups::<2>([wa, wz], xs, &ax, dxs, [oa, ob]);
            } else {
                one(ga, oa);
                one(gz, ob);
            }
        }
    }
    if g0 + 2 * h < g1
        && let Some(Ok(o)) = last
            .get_mut(..GROUP_ROWS)
            .map(<&mut [f32; GROUP_ROWS]>::try_from)
    {
        one(g0 + 2 * h, o);
    }
}

/// Canonical NaN, then the eight lanes to `out`.
#[inline]
#[target_feature(enable = "avx2")]
fn store(acc: __m256, out: &mut [f32; GROUP_ROWS]) {
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC0_0000));
    let nan = _mm256_cmp_ps(acc, acc, _CMP_UNORD_Q);
    // SAFETY: `out` is 8 f32.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), _mm256_blendv_ps(acc, canon, nan)) };
}

/// One Q8_0 group holding a −128 weight: the plain loop's route, `vpmaddubsw(|w|, sign(x, w))`,
/// with the exact correction for activations of −128 when `FIX`.
///
/// # Safety
/// AVX2, FMA and F16C; `grp` is `8·nb·34` bytes; `xs` and `dxs` have `nb` entries.
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: every pointer stays inside `grp` and the activation slices (`b < nb`, `j < 8`;
// lengths checked by the caller); prefetches are hints (never fault). Integer sums are bounded
// (module doc).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn q8_general<const FIX: bool>(
    grp: &[u8],
    xs: &[BlockQ8_0],
    dxs: &[f32],
    out: &mut [f32; GROUP_ROWS],
) {
    let nb = xs.len();
    let sc = grp.as_ptr();
    let val = sc.wrapping_add(16 * nb);
    // The stream advances 8·34 = 272 bytes per block (the prefetch of `block_pairs!`).
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_ps();
    macro_rules! block {
        ($b:expr) => {{
            let b: usize = $b;
            // SAFETY (whole block): b < nb; 16 scale bytes at 16b, 256 value bytes at 256b.
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(sc.add(16 * b).cast()));
            let xq: *const u8 = xs.get_unchecked(b).qs.as_ptr().cast();
            let vb = val.add(256 * b);
            let mut sum = _mm256_setzero_si256();
            for j in 0..8 {
                let wj = _mm256_loadu_si256(vb.add(32 * j).cast());
                let xj = _mm256_set1_epi32(xq.add(4 * j).cast::<i32>().read_unaligned());
                let p = _mm256_maddubs_epi16(_mm256_abs_epi8(wj), _mm256_sign_epi8(xj, wj));
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, ones));
                if FIX {
                    sum = _mm256_add_epi32(sum, super::avx2::min_fix(xj, wj));
                }
            }
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dxs.get_unchecked(b)));
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sum), acc);
        }};
    }
    // SAFETY: see `block!`; prefetches are hints.
    unsafe { block_pairs!(nb, [sc], 272, ahead(false), block) };
    store(acc, out);
}

/// `G` Q8_0 groups without a −128 weight, block by block in lockstep (one read stream each):
/// `vpmaddubsw(|x|, sign(w, x))`, and each activation broadcast serves all `G` groups. Lane `r`
/// of `out[t]` is row `r` of group `t`, with exactly the operations of one group on its own.
///
/// # Safety
/// AVX2, FMA and F16C; each of `grps` is `8·nb·34` bytes; `xs`, `ax` and `dxs` have `nb`
/// entries.
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: every pointer stays inside its group and the activation slices (`b < nb`,
// `j < 8`, `t < G`; lengths checked by the caller); prefetches are hints (never fault).
// Integer sums are bounded (module doc).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn q8_groups<const G: usize>(
    grps: [&[u8]; G],
    xs: &[BlockQ8_0],
    ax: &[[u8; BLOCK_LEN]],
    dxs: &[f32],
    out: [&mut [f32; GROUP_ROWS]; G],
) {
    let nb = xs.len();
    let sc: [*const u8; G] = grps.map(<[u8]>::as_ptr);
    let val: [*const u8; G] = sc.map(|p| p.wrapping_add(16 * nb));
    // Each stream advances 8·34 = 272 bytes per block (the prefetch of `block_pairs!`).
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); G];
    macro_rules! block {
        ($b:expr) => {{
            let b: usize = $b;
            // SAFETY (whole block): b < nb; 16 scale bytes at 16b and 256 value bytes at 256b
            // of every group.
            let xq: *const u8 = xs.get_unchecked(b).qs.as_ptr().cast();
            let xa: *const u8 = ax.get_unchecked(b).as_ptr();
            let mut sum = [_mm256_setzero_si256(); G];
            for j in 0..8 {
                let xj = _mm256_set1_epi32(xq.add(4 * j).cast::<i32>().read_unaligned());
                let aj = _mm256_set1_epi32(xa.add(4 * j).cast::<i32>().read_unaligned());
                for (s, v) in sum.iter_mut().zip(&val) {
                    let wj = _mm256_loadu_si256(v.add(256 * b + 32 * j).cast());
                    let p = _mm256_maddubs_epi16(aj, _mm256_sign_epi8(wj, xj));
                    *s = _mm256_add_epi32(*s, _mm256_madd_epi16(p, ones));
                }
            }
            let dx = _mm256_set1_ps(*dxs.get_unchecked(b));
            for ((a, s), p) in acc.iter_mut().zip(&sum).zip(&sc) {
                let dw = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16 * b).cast()));
                let scale = _mm256_mul_ps(dw, dx);
                *a = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(*s), *a);
            }
        }};
    }
    // SAFETY: see `block!`; prefetches are hints.
    unsafe { block_pairs!(nb, sc, 272, ahead(false), block) };
    for (a, o) in acc.into_iter().zip(out) {
        store(a, o);
    }
}

/// `G` Q4_0 groups, block by block in lockstep (one read stream each), each activation
/// broadcast serving all `G` groups. Lane `r` of `out[t]` is row `r` of group `t`, with exactly
/// the operations of one group on its own.
///
/// # Safety
/// AVX2, FMA and F16C; each of `grps` is `8·nb·18` bytes; `xs`, `dxs` and `sxs` have `nb`
/// entries.
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: as `q8_groups`; `8·Σx` ≤ 8·32·128 < 2^31.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn q4_groups<const G: usize>(
    grps: [&[u8]; G],
    xs: &[BlockQ8_0],
    dxs: &[f32],
    sxs: &[i32],
    out: [&mut [f32; GROUP_ROWS]; G],
) {
    let nb = xs.len();
    let sc: [*const u8; G] = grps.map(<[u8]>::as_ptr);
    let val: [*const u8; G] = sc.map(|p| p.wrapping_add(16 * nb));
    // Each stream advances 8·18 = 144 bytes per block (the prefetch of `block_pairs!`).
    let ones = _mm256_set1_epi16(1);
    let nib = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); G];
    macro_rules! block {
        ($b:expr) => {{
            let b: usize = $b;
            // SAFETY (whole block): b < nb; 16 scale bytes at 16b and 128 value bytes at 128b
            // of every group.
            let xq: *const u8 = xs.get_unchecked(b).qs.as_ptr().cast();
            let mut s16 = [_mm256_setzero_si256(); G];
            for j in 0..4 {
                let xl = _mm256_set1_epi32(xq.add(4 * j).cast::<i32>().read_unaligned());
                let xh = _mm256_set1_epi32(xq.add(16 + 4 * j).cast::<i32>().read_unaligned());
                for (s, v) in s16.iter_mut().zip(&val) {
                    let v = _mm256_loadu_si256(v.add(128 * b + 32 * j).cast());
                    let lo = _mm256_and_si256(v, nib);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
                    *s = _mm256_add_epi16(
                        *s,
                        _mm256_add_epi16(
                            _mm256_maddubs_epi16(lo, xl),
                            _mm256_maddubs_epi16(hi, xh),
                        ),
                    );
                }
            }
            let dx = _mm256_set1_ps(*dxs.get_unchecked(b));
            let s8 = _mm256_set1_epi32(8 * *sxs.get_unchecked(b));
            for ((a, s), p) in acc.iter_mut().zip(&s16).zip(&sc) {
                let dw = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16 * b).cast()));
                let sumi = _mm256_sub_epi32(_mm256_madd_epi16(*s, ones), s8);
                let scale = _mm256_mul_ps(dw, dx);
                *a = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sumi), *a);
            }
        }};
    }
    // SAFETY: see `block!`; prefetches are hints.
    unsafe { block_pairs!(nb, sc, 144, ahead(true), block) };
    for (a, o) in acc.into_iter().zip(out) {
        store(a, o);
    }
}

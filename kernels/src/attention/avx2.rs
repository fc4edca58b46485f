//! AVX2 + FMA attention. Verifiable mode performs exactly the operations of the scalar
//! reference (spec/kernels.md "Attention"), vectorised without changing any rounding:
//!
//! * QKᵀ: four rows × two keys at a time; each (row, key) dot keeps its 8 spec lanes in one
//!   `ymm` register (lane `r` = elements `r, r+8, …`), and the eight registers are reduced by
//!   `vhaddps` twice then a 128-bit-half add, which is exactly the spec tree
//!   `((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))`.
//! * The running sum's 8 lanes are one `ymm`; key `u` of a tile lands in lane `u mod 8`.
//! * PV: vectorised over the head dimension, keys in order, one FMA per key per element.
//!
//! Every `unsafe` block below reads or writes through pointers whose bounds come from the
//! validated geometry (see each SAFETY comment); the functions with `#[target_feature]` are
//! only entered after run-time detection of AVX2 and FMA ([`crate::cpu::avx2_available`]).

use core::arch::x86_64::*;

use super::exp::{
    EXP_COEFFS, EXP_FAST_COEFFS, LN2, LN2_HI, LN2_LO, LOG2E, exp_fast, exp_verifiable,
};
use super::{
    AttentionMode, AttnInput, CANONICAL_NAN_BITS, FAST_TILE, Geom, Item, VERIFIABLE_TILE, tree8,
};

/// Run one work item on AVX2 (the caller resolved [`crate::Isa::Avx2`], so AVX2 and FMA are
/// present).
pub(crate) fn item(
    g: &Geom,
    mode: AttentionMode,
    item: &Item,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
    out: &mut [f32],
) {
    // SAFETY: `Isa::Avx2` is only produced by `cpu::require_avx2`/`best_isa` after
    // `is_x86_feature_detected!` found avx2, fma and f16c; the geometry was validated
    // (head_dim is 64 or 128, slices have the lengths `Geom` implies).
    unsafe {
        match (g.d, mode) {
            (64, AttentionMode::Verifiable) => item_impl::<64, false>(g, item, q, k, v, out),
            (64, AttentionMode::Fast) => item_impl::<64, true>(g, item, q, k, v, out),
            (128, AttentionMode::Verifiable) => item_impl::<128, false>(g, item, q, k, v, out),
            _ => item_impl::<128, true>(g, item, q, k, v, out),
        }
    }
}

/// Scratch rows for scores / weights: the largest tile plus one vector of padding.
const SROW: usize = FAST_TILE + 8;

#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn item_impl<const D: usize, const FAST: bool>(
    g: &Geom,
    item: &Item,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
    out: &mut [f32],
) {
    let tile = if FAST { FAST_TILE } else { VERIFIABLE_TILE };
    let rows = item.rows(g);
    if rows == 0 || out.len() != rows * D || k.len() != g.kv_len * D || v.len() != k.len() {
        return;
    }
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut lam = vec![_mm256_setzero_ps(); rows];
    let mut n_valid = Vec::with_capacity(rows);
    let mut q_off = Vec::with_capacity(rows);
    for r in 0..rows {
        let (h, i) = item.row(g, r);
        n_valid.push(g.n_valid(i));
        q_off.push((h * g.q_len + i) * D);
    }
    if q_off.iter().any(|&o| o + D > q.len()) {
        return;
    }
    // An f16/bf16 Q: this item's rows (used by no other item) widened exactly, in row order.
    let mut qbuf = Vec::new();
    let q: &[f32] = match q {
        AttnInput::F32(x) => x,
        q => {
            qbuf.resize(rows * D, 0.0f32);
            for (o, dst) in q_off.iter().zip(qbuf.chunks_exact_mut(D)) {
                widen_impl(q.slice(*o..*o + D), dst);
            }
            for (r, o) in q_off.iter_mut().enumerate() {
                *o = r * D;
            }
            &qbuf
        }
    };
    out.fill(0.0);
    let max_valid = n_valid.iter().copied().max().unwrap_or(0);
    let mut s = [[0.0f32; SROW]; 4];
    // f16/bf16 K and V are widened (exactly) one tile at a time into these buffers.
    let widen = !matches!(k, AttnInput::F32(_)) || !matches!(v, AttnInput::F32(_));
    let (mut kbuf, mut vbuf) = if widen {
        (vec![0.0f32; tile * D], vec![0.0f32; tile * D])
    } else {
        (Vec::new(), Vec::new())
    };
    let op = out.as_mut_ptr();
    let scale = _mm256_set1_ps(g.scale);

    let mut t0 = 0;
    while t0 < max_valid {
        // Rows t0..t0+nrows of K and V as f32: `kt`/`vt` point at key t0.
        let nrows = tile.min(max_valid - t0);
        let (kt, vt) = (
            tile_rows::<D>(k, t0, nrows, &mut kbuf),
            tile_rows::<D>(v, t0, nrows, &mut vbuf),
        );
        let mut b = 0;
        while b < rows {
            let nb = (rows - b).min(4);
            let mut nt = [0usize; 4];
            for r in 0..nb {
                nt[r] = n_valid[b + r].saturating_sub(t0).min(tile);
            }
            let nmax = nt.iter().copied().max().unwrap_or(0);
            if nmax == 0 {
                b += 4;
                continue;
            }
            // Q row pointers; missing rows repeat row b (computed, never used).
            let mut qp = [q.as_ptr(); 4];
            for (r, p) in qp.iter_mut().enumerate() {
                let rr = if r < nb { b + r } else { b };
                // SAFETY: q_off[rr] + D <= q.len() was checked above.
                *p = unsafe { q.as_ptr().add(q_off[rr]) };
            }
            // Step T1: scores for 4 rows × 2 keys at a time.
            let mut u = 0;
            while u < nmax {
                let u1 = if u + 1 < nmax { u + 1 } else { u };
                // SAFETY: u, u1 < nmax <= nrows, so both key rows lie inside the tile's
                // nrows · D elements at `kt`.
                let sc = unsafe { qk_4x2::<D>(qp, kt.add(u * D), kt.add(u1 * D), scale) };
                let mut tmp = [0.0f32; 8];
                // SAFETY: tmp holds 8 f32.
                unsafe { _mm256_storeu_ps(tmp.as_mut_ptr(), sc) };
                for r in 0..4 {
                    s[r][u] = tmp[2 * r];
                    if u + 1 < nmax {
                        s[r][u + 1] = tmp[2 * r + 1];
                    }
                }
                u += 2;
            }
            // Steps T2–T4 per row.
            for r in 0..nb {
                let n = nt[r];
                if n == 0 {
                    continue;
                }
                let row = b + r;
                let sr = &mut s[r];
                for x in &mut sr[n..n.next_multiple_of(8)] {
                    *x = f32::NEG_INFINITY;
                }
                let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
                let mut c = 0;
                while c < n {
                    // SAFETY: c + 8 <= next_multiple_of(n, 8) <= SROW.
                    let x = unsafe { _mm256_loadu_ps(sr.as_ptr().add(c)) };
                    // max_ps(x, acc) = x > acc ? x : acc: a NaN score never enters `mv`.
                    mv = _mm256_max_ps(x, mv);
                    c += 8;
                }
                let mt = hmax(mv);
                let m_old = m[row];
                let m_new = if mt > m_old { mt } else { m_old };
                let alpha = if FAST {
                    exp_fast(m_old - m_new)
                } else {
                    exp_verifiable(m_old - m_new)
                };
                // Multiplying by exactly 1 changes nothing, so the rescale may be skipped.
                if alpha != 1.0 {
                    let av = _mm256_set1_ps(alpha);
                    lam[row] = _mm256_mul_ps(lam[row], av);
                    // SAFETY: row < rows, so row·D + D <= out.len().
                    unsafe { scale_row::<D>(op.add(row * D), av) };
                }
                let mn = _mm256_set1_ps(m_new);
                let mut l = lam[row];
                let mut c = 0;
                while c < n {
                    // SAFETY: as above, c + 8 <= SROW.
                    let x = unsafe { _mm256_loadu_ps(sr.as_ptr().add(c)) };
                    let x = _mm256_sub_ps(x, mn);
                    let mut p = if FAST { exp_fast8(x) } else { exp8(x) };
                    if n - c < 8 {
                        // Lanes past the tile's last valid key contribute exactly +0.
                        p = _mm256_and_ps(p, tail_mask(n - c));
                    }
                    l = _mm256_add_ps(l, p);
                    // SAFETY: as above.
                    unsafe { _mm256_storeu_ps(sr.as_mut_ptr().add(c), p) };
                    c += 8;
                }
                lam[row] = l;
                m[row] = m_new;
            }
            // Step T5: PV. Rows that share the tile's key count go four at a time.
            let common = if nb == 4 {
                nt.iter().copied().min().unwrap_or(0)
            } else {
                0
            };
            if common > 0 {
                // SAFETY: rows b..b+4 < rows; keys 0..common < nrows of the tile at `vt`.
                unsafe { pv_4::<D>(op.add(b * D), &s, vt, common) };
            }
            for r in 0..nb {
                if nt[r] > common {
                    // SAFETY: row b+r < rows; keys common..nt[r] < nrows of the tile at `vt`.
                    unsafe {
                        pv_1::<D>(
                            op.add((b + r) * D),
                            &s[r][common..nt[r]],
                            vt.add(common * D),
                        )
                    };
                }
            }
            b += 4;
        }
        t0 += tile;
    }
    // Step F.
    let canon = _mm256_castsi256_ps(_mm256_set1_epi32(CANONICAL_NAN_BITS as i32));
    for (row, l) in lam.iter().enumerate() {
        let mut lanes = [0.0f32; 8];
        // SAFETY: lanes holds 8 f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *l) };
        let l = tree8(&lanes);
        let (lv, inv) = (_mm256_set1_ps(l), _mm256_set1_ps(1.0 / l));
        let mut c = 0;
        while c < D {
            // SAFETY: row < rows, c + 8 <= D: inside `out`.
            unsafe {
                let p = op.add(row * D + c);
                let x = _mm256_loadu_ps(p);
                let y = if FAST {
                    _mm256_mul_ps(x, inv)
                } else {
                    _mm256_div_ps(x, lv)
                };
                let nan = _mm256_cmp_ps(y, y, _CMP_UNORD_Q);
                _mm256_storeu_ps(p, _mm256_blendv_ps(y, canon, nan));
            }
            c += 8;
        }
    }
}

/// A pointer to rows `t0 .. t0 + nrows` of a `[kv_len, D]` tensor as f32: into the tensor
/// itself for f32, else into `buf` after an exact widening (bf16: shift into the high half;
/// f16: `vcvtph2ps`). The caller guarantees `t0 + nrows <= kv_len` and `buf.len() >= nrows·D`
/// for non-f32 input; a tensor too short for that gives a pointer to zeros in `buf`.
#[target_feature(enable = "avx2,fma,f16c")]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
fn tile_rows<const D: usize>(
    x: AttnInput<'_>,
    t0: usize,
    nrows: usize,
    buf: &mut [f32],
) -> *const f32 {
    let (a, n) = (t0 * D, nrows * D);
    match x {
        AttnInput::F32(x) => x.get(a..a + n).map_or(buf.as_ptr(), <[f32]>::as_ptr),
        x => {
            if let Some(dst) = buf.get_mut(..n) {
                widen_impl(x.slice(a..a + n), dst);
            }
            buf.as_ptr()
        }
    }
}

/// Widen `src` into `dst` exactly (f32 is copied; bf16: shift into the high half; f16:
/// `vcvtph2ps`). Does nothing unless both have the same length. The caller resolved
/// [`crate::Isa::Avx2`], so AVX2, FMA and F16C are present.
pub(crate) fn widen(src: AttnInput<'_>, dst: &mut [f32]) {
    // SAFETY: `Isa::Avx2` is only resolved after run-time detection of AVX2, FMA and F16C.
    unsafe { widen_impl(src, dst) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn widen_impl(src: AttnInput<'_>, dst: &mut [f32]) {
    if src.len() != dst.len() {
        return;
    }
    match src {
        AttnInput::F32(x) => dst.copy_from_slice(x),
        AttnInput::F16(x) => {
            let mut d8 = dst.chunks_exact_mut(8);
            let mut s8 = x.chunks_exact(8);
            for (s, d) in (&mut s8).zip(&mut d8) {
                // SAFETY: 8 f16 (16 bytes) read, 8 f32 written.
                unsafe {
                    let h = _mm_loadu_si128(s.as_ptr().cast());
                    _mm256_storeu_ps(d.as_mut_ptr(), _mm256_cvtph_ps(h));
                }
            }
            for (d, s) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
                *d = s.to_f32();
            }
        }
        AttnInput::Bf16(x) => {
            let mut d8 = dst.chunks_exact_mut(8);
            let mut s8 = x.chunks_exact(8);
            for (s, d) in (&mut s8).zip(&mut d8) {
                // SAFETY: 8 bf16 (16 bytes) read, 8 f32 written.
                unsafe {
                    let h = _mm_loadu_si128(s.as_ptr().cast());
                    let w = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h));
                    _mm256_storeu_ps(d.as_mut_ptr(), _mm256_castsi256_ps(w));
                }
            }
            for (d, s) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
                *d = s.to_f32();
            }
        }
    }
}

/// Lanes `0..n` all ones, the rest zero (`n < 8`).
#[target_feature(enable = "avx2,fma")]
fn tail_mask(n: usize) -> __m256 {
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), iota))
}

/// The maximum of 8 lanes, none NaN (any order gives the same value).
#[target_feature(enable = "avx2,fma")]
fn hmax(x: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_shuffle_ps::<0b01>(m, m));
    _mm_cvtss_f32(m)
}

/// Scores of 4 query rows × 2 keys, times `scale`, in lane order
/// `[r0k0, r0k1, r1k0, r1k1, r2k0, r2k1, r3k0, r3k1]`.
///
/// # Safety
/// Each pointer must be valid for `D` f32 reads.
#[target_feature(enable = "avx2,fma")]
#[inline]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn qk_4x2<const D: usize>(
    q: [*const f32; 4],
    k0: *const f32,
    k1: *const f32,
    scale: __m256,
) -> __m256 {
    let z = _mm256_setzero_ps();
    let mut acc = [z; 8];
    let mut c = 0;
    while c < D {
        // SAFETY: c + 8 <= D, within every row (caller's contract).
        unsafe {
            let kv0 = _mm256_loadu_ps(k0.add(c));
            let kv1 = _mm256_loadu_ps(k1.add(c));
            for r in 0..4 {
                let qv = _mm256_loadu_ps(q[r].add(c));
                acc[2 * r] = _mm256_fmadd_ps(qv, kv0, acc[2 * r]);
                acc[2 * r + 1] = _mm256_fmadd_ps(qv, kv1, acc[2 * r + 1]);
            }
        }
        c += 8;
    }
    // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
    let h01 = _mm256_hadd_ps(acc[0], acc[1]);
    let h23 = _mm256_hadd_ps(acc[2], acc[3]);
    let h45 = _mm256_hadd_ps(acc[4], acc[5]);
    let h67 = _mm256_hadd_ps(acc[6], acc[7]);
    // x = [(a0+a1)+(a2+a3) of acc0..acc3 | (a4+a5)+(a6+a7) of acc0..acc3]
    let x = _mm256_hadd_ps(h01, h23);
    let y = _mm256_hadd_ps(h45, h67);
    let lo = _mm256_permute2f128_ps::<0x20>(x, y);
    let hi = _mm256_permute2f128_ps::<0x31>(x, y);
    _mm256_mul_ps(_mm256_add_ps(lo, hi), scale)
}

/// `o[c] *= a` for one row of `D`.
///
/// # Safety
/// `o` valid for `D` f32 reads and writes.
#[target_feature(enable = "avx2,fma")]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn scale_row<const D: usize>(o: *mut f32, a: __m256) {
    let mut c = 0;
    while c < D {
        // SAFETY: c + 8 <= D.
        unsafe { _mm256_storeu_ps(o.add(c), _mm256_mul_ps(_mm256_loadu_ps(o.add(c)), a)) };
        c += 8;
    }
}

/// PV for 4 consecutive rows (`o`: 4·D) over keys `0..n` (weights `s[r][u]`, values from `v`).
///
/// # Safety
/// `o` valid for 4·D f32, `v` for n·D f32, `n <= SROW`.
#[target_feature(enable = "avx2,fma")]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn pv_4<const D: usize>(o: *mut f32, s: &[[f32; SROW]; 4], v: *const f32, n: usize) {
    let mut c = 0;
    while c < D {
        // SAFETY: c + 16 <= D; rows r·D + c + 16 <= 4·D; key rows u·D + c + 16 <= n·D.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for (r, a) in acc.iter_mut().enumerate() {
                a[0] = _mm256_loadu_ps(o.add(r * D + c));
                a[1] = _mm256_loadu_ps(o.add(r * D + c + 8));
            }
            for u in 0..n {
                let v0 = _mm256_loadu_ps(v.add(u * D + c));
                let v1 = _mm256_loadu_ps(v.add(u * D + c + 8));
                for (r, a) in acc.iter_mut().enumerate() {
                    let p = _mm256_set1_ps(*s[r].get_unchecked(u));
                    a[0] = _mm256_fmadd_ps(p, v0, a[0]);
                    a[1] = _mm256_fmadd_ps(p, v1, a[1]);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(o.add(r * D + c), a[0]);
                _mm256_storeu_ps(o.add(r * D + c + 8), a[1]);
            }
        }
        c += 16;
    }
}

/// PV for one row over the weights `p` (keys in order, values from `v`).
///
/// # Safety
/// `o` valid for D f32, `v` for `p.len()·D` f32.
#[target_feature(enable = "avx2,fma")]
// SIMD hot loop: every offset is a row, key or column of the validated geometry (`Geom`:
// head_dim 64 or 128, rows and keys within the inputs' checked lengths), so the index
// arithmetic cannot overflow and every index is in bounds.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
unsafe fn pv_1<const D: usize>(o: *mut f32, p: &[f32], v: *const f32) {
    let mut c = 0;
    while c < D {
        // SAFETY: c + 64 <= D (D is 64 or 128); key rows u·D + c + 64 <= p.len()·D.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (e, a) in acc.iter_mut().enumerate() {
                *a = _mm256_loadu_ps(o.add(c + 8 * e));
            }
            for (u, &pu) in p.iter().enumerate() {
                let pv = _mm256_set1_ps(pu);
                for (e, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(pv, _mm256_loadu_ps(v.add(u * D + c + 8 * e)), *a);
                }
            }
            for (e, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(o.add(c + 8 * e), *a);
            }
        }
        c += 64;
    }
}

/// [`exp_verifiable`] on 8 lanes, operation for operation.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn exp8(x: __m256) -> __m256 {
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(LOG2E),
    ));
    // fnmadd(a, b, c) = −(a·b) + c with one rounding = fma(−n, LN2_HI, x).
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    let c = EXP_COEFFS;
    let mut p = _mm256_set1_ps(c[7]);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[6]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[5]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[4]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[3]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[2]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[1]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[0]));
    finish_exp(n, p)
}

/// `p · 2^n`, then the special cases: `n < −126` → +0, `n > 127` → +∞ (ordered compares, so a
/// NaN lane keeps its NaN `p`).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn finish_exp(n: __m256, p: __m256) -> __m256 {
    let ni = _mm256_cvtps_epi32(n);
    let pow = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        ni,
        _mm256_set1_epi32(127),
    )));
    let y = _mm256_mul_ps(p, pow);
    let under = _mm256_cmp_ps(n, _mm256_set1_ps(-126.0), _CMP_LT_OQ);
    let over = _mm256_cmp_ps(n, _mm256_set1_ps(127.0), _CMP_GT_OQ);
    let y = _mm256_andnot_ps(under, y);
    _mm256_blendv_ps(y, _mm256_set1_ps(f32::INFINITY), over)
}

/// [`exp_fast`] on 8 lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn exp_fast8(x: __m256) -> __m256 {
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(LOG2E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2), x);
    let c = EXP_FAST_COEFFS;
    let mut p = _mm256_set1_ps(c[5]);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[4]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[3]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[2]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[1]));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[0]));
    finish_exp(n, p)
}

/// Test hook: [`exp8`] on 8 values (for the scalar-vs-vector exp parity test).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn exp8_array(x: [f32; 8]) -> [f32; 8] {
    let mut out = [0.0f32; 8];
    // SAFETY: both arrays hold 8 f32.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), exp8(_mm256_loadu_ps(x.as_ptr()))) };
    out
}

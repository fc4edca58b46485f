//! The WASM SIMD128 matmul (`wasm32` built with `-C target-feature=+simd128`): same bits as the
//! scalar reference (spec/kernels.md §4.2).
//!
//! Four weight rows per pass, one accumulator lane per row. Per block: the activation block's
//! two 16-byte halves are sign-extended to i16 once; each weight row's halves (Q8_0 bytes, or
//! Q4_0 nibbles minus 8) are sign-extended and `i32x4.dot_i16x8_s` leaves exact i32 partials
//! (each pair sum is at most 2·128·128 in magnitude), reduced to the four `sumi` by two
//! shuffle-and-add levels. Then `scale = f32x4.mul(d_w, d_x)` and `f32x4.convert_i32x4_s`.
//!
//! WebAssembly has no fused multiply-add (relaxed-simd's `madd` may or may not fuse, so it is
//! not deterministic). The contract's `fma(scale, f32(sumi), acc)` is computed exactly in f64
//! instead: `scale · f32(sumi)` is exact in f64 (24 + 24 significant bits < 53), the sum with
//! `acc` is rounded *to odd* in f64 (TwoSum gives the rounding error; a non-zero error with an
//! even last bit moves the sum one unit toward it), and rounding that to f32 is the correctly
//! rounded fma, because 53 ≥ 2·24 + 2 (Boldo and Melquiond, "Emulation of FMA and correctly
//! rounded sums: proved algorithms using rounding to odd", IEEE TC 2008). Non-finite sums are
//! left as they are (∞ and NaN propagate as in the fma; NaN is canonicalised at the end).

use core::arch::wasm32::*;

use crate::cpu::scalar::canonical_nan;
use crate::matmul::{Acts, QWeights, Weights};
use crate::quant::{BlockQ4_0, BlockQ8_0};

/// Weight rows per pass (one f32 lane each).
const ROWS: usize = 4;

/// A weight block as the kernel reads it: its f32 scale and its 32 values as two i8x16 halves
/// (elements 0..16 and 16..32).
trait SimdBlock: Copy {
    fn scale(&self) -> f32;
    fn halves(&self) -> (v128, v128);
}

/// Sixteen bytes as a vector (any alignment).
#[inline(always)]
fn load16(bytes: &[u8; 16]) -> v128 {
    // SAFETY: `bytes` is 16 readable bytes; `v128_load` has no alignment requirement.
    unsafe { v128_load(bytes.as_ptr().cast::<v128>()) }
}

/// The two 16-element halves of 32 signed bytes.
#[inline(always)]
fn split32(qs: &[i8; 32]) -> (v128, v128) {
    let bytes: &[u8; 32] = bytemuck::cast_ref(qs);
    let (lo, hi) = bytes.split_at(16);
    let lo: &[u8; 16] = lo.try_into().unwrap_or(&[0; 16]);
    let hi: &[u8; 16] = hi.try_into().unwrap_or(&[0; 16]);
    (load16(lo), load16(hi))
}

impl SimdBlock for BlockQ8_0 {
    #[inline(always)]
    fn scale(&self) -> f32 {
        self.d().to_f32()
    }

    #[inline(always)]
    fn halves(&self) -> (v128, v128) {
        split32(&self.qs)
    }
}

impl SimdBlock for BlockQ4_0 {
    #[inline(always)]
    fn scale(&self) -> f32 {
        self.d().to_f32()
    }

    #[inline(always)]
    fn halves(&self) -> (v128, v128) {
        // GGML layout: byte j holds element j in its low nibble and element j + 16 in its high
        // nibble; values are `nibble − 8` (−8 ..= 7, no overflow in i8).
        let v = load16(&self.qs);
        let eight = i8x16_splat(8);
        let lo = i8x16_sub(v128_and(v, u8x16_splat(0x0F)), eight);
        let hi = i8x16_sub(u8x16_shr(v, 4), eight);
        (lo, hi)
    }
}

/// Outputs for activation rows `m0..m1` and weight rows `n0..n1` into `out`
/// (`[(m1 − m0), (n1 − n0)]` row-major), on SIMD128.
pub(crate) fn matmul(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &Weights<'_>,
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    match w.blocks() {
        QWeights::Q8_0(wb) => run(acts, m0, m1, wb, n0, n1, out),
        QWeights::Q4_0(wb) => run(acts, m0, m1, wb, n0, n1, out),
    }
}

fn run<W: SimdBlock>(
    acts: &Acts<'_>,
    m0: usize,
    m1: usize,
    w: &[W],
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    let nb = acts.nb;
    let n_len = n1.saturating_sub(n0);
    if nb == 0 || n_len == 0 {
        return;
    }
    for (m, out_row) in (m0..m1).zip(out.chunks_exact_mut(n_len)) {
        let (Some(xr), Some(dxr)) = (
            acts.blocks.get(m * nb..(m + 1) * nb),
            acts.dx.get(m * nb..(m + 1) * nb),
        ) else {
            return;
        };
        for (g, out_group) in out_row.chunks_mut(ROWS).enumerate() {
            let n = n0 + g * ROWS;
            let rows = out_group.len();
            // Rows past the end of the group repeat its first row (their lanes are dropped).
            let row = |r: usize| {
                let nr = if r < rows { n + r } else { n };
                w.get(nr * nb..(nr + 1) * nb).unwrap_or_default()
            };
            let (w0, w1, w2, w3) = (row(0), row(1), row(2), row(3));
            if w0.len() != nb || w1.len() != nb || w2.len() != nb || w3.len() != nb {
                return;
            }
            let acc = group(xr, dxr, [w0, w1, w2, w3]);
            for (o, v) in out_group.iter_mut().zip(acc) {
                *o = canonical_nan(v);
            }
        }
    }
}

/// Exact i32 partial sums (four lanes) of the products of two 16-element halves each.
#[inline(always)]
fn partials(w: (v128, v128), x: &[v128; 4]) -> v128 {
    let [xll, xlh, xhl, xhh] = *x;
    let a = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w.0), xll);
    let b = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w.0), xlh);
    let c = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w.1), xhl);
    let d = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w.1), xhh);
    i32x4_add(i32x4_add(a, b), i32x4_add(c, d))
}

/// The four accumulators of one activation row against four weight rows, blocks in order.
#[inline(always)]
fn group<W: SimdBlock>(xr: &[BlockQ8_0], dxr: &[f32], w: [&[W]; ROWS]) -> [f32; ROWS] {
    let [w0, w1, w2, w3] = w;
    let mut acc = f32x4_splat(0.0);
    for (b, (xb, &dx)) in xr.iter().zip(dxr).enumerate() {
        let (Some(b0), Some(b1), Some(b2), Some(b3)) = (w0.get(b), w1.get(b), w2.get(b), w3.get(b))
        else {
            break;
        };
        let (xl, xh) = split32(&xb.qs);
        let x = [
            i16x8_extend_low_i8x16(xl),
            i16x8_extend_high_i8x16(xl),
            i16x8_extend_low_i8x16(xh),
            i16x8_extend_high_i8x16(xh),
        ];
        let s0 = partials(b0.halves(), &x);
        let s1 = partials(b1.halves(), &x);
        let s2 = partials(b2.halves(), &x);
        let s3 = partials(b3.halves(), &x);
        // Transpose-reduce: lane r = Σ of the four partials of row r (exact integer adds).
        let a01 = i32x4_add(
            i32x4_shuffle::<0, 4, 1, 5>(s0, s1),
            i32x4_shuffle::<2, 6, 3, 7>(s0, s1),
        );
        let a23 = i32x4_add(
            i32x4_shuffle::<0, 4, 1, 5>(s2, s3),
            i32x4_shuffle::<2, 6, 3, 7>(s2, s3),
        );
        let sumi = i32x4_add(
            i32x4_shuffle::<0, 1, 4, 5>(a01, a23),
            i32x4_shuffle::<2, 3, 6, 7>(a01, a23),
        );
        let dw = f32x4(b0.scale(), b1.scale(), b2.scale(), b3.scale());
        let scale = f32x4_mul(dw, f32x4_splat(dx));
        acc = fma4(scale, f32x4_convert_i32x4(sumi), acc);
    }
    [
        f32x4_extract_lane::<0>(acc),
        f32x4_extract_lane::<1>(acc),
        f32x4_extract_lane::<2>(acc),
        f32x4_extract_lane::<3>(acc),
    ]
}

/// Correctly rounded `fma(a, b, c)` per f32 lane, given that every `a · b` is exact in f64
/// (true here: `a` is a product of two f16 values and `b` an integer below 2^24).
#[inline(always)]
fn fma4(a: v128, b: v128, c: v128) -> v128 {
    let lo = fma2_odd(
        f64x2_promote_low_f32x4(a),
        f64x2_promote_low_f32x4(b),
        f64x2_promote_low_f32x4(c),
    );
    let hi = fma2_odd(
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(a, a)),
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(b, b)),
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(c, c)),
    );
    i32x4_shuffle::<0, 1, 4, 5>(f32x4_demote_f64x2_zero(lo), f32x4_demote_f64x2_zero(hi))
}

/// `a · b + c` per f64 lane, the product exact and the sum rounded to odd (see the module
/// docs); non-finite sums unchanged.
#[inline(always)]
fn fma2_odd(a: v128, b: v128, c: v128) -> v128 {
    let p = f64x2_mul(a, b);
    let s = f64x2_add(p, c);
    // TwoSum (Knuth): err = (p + c) − s exactly, for finite p, c, s.
    let bb = f64x2_sub(s, p);
    let err = f64x2_add(f64x2_sub(p, f64x2_sub(s, bb)), f64x2_sub(c, bb));
    let one = i64x2_splat(1);
    let inexact = v128_not(f64x2_eq(err, f64x2_splat(0.0)));
    let even = i64x2_eq(v128_and(s, one), i64x2_splat(0));
    let finite = f64x2_lt(f64x2_abs(s), f64x2_splat(f64::INFINITY));
    let adjust = v128_and(v128_and(inexact, even), finite);
    // +1 ulp of magnitude when err has the sign of s, −1 otherwise (s ≠ 0 here: a sum that
    // rounds to zero is exact). Sign bits differ ⇔ (s ^ err) < 0 ⇔ the shift gives −1.
    let step = v128_or(i64x2_shr(v128_xor(s, err), 63), one);
    i64x2_add(s, v128_and(step, adjust))
}

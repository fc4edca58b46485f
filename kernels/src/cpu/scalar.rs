//! The scalar reference matmul: spec/kernels.md §4 written as plainly as possible. This is the
//! normative implementation; every other backend must produce the same bits.

use crate::quant::{BlockQ4_0, BlockQ8_0};

/// Exact block dot product of Q8_0 weights and Q8_0 activations: Σ q_w·q_x in i32.
#[inline]
pub fn block_dot_q8_0(w: &BlockQ8_0, x: &BlockQ8_0) -> i32 {
    w.qs.iter()
        .zip(&x.qs)
        // |a·b| ≤ 2^14 and the sum of 32 of them ≤ 2^19: no overflow.
        .map(|(&a, &b)| i32::from(a).wrapping_mul(i32::from(b)))
        .sum()
}

/// Exact block dot product of Q4_0 weights and Q8_0 activations: Σ (nibble − 8)·q_x in i32.
#[inline]
pub fn block_dot_q4_0(w: &BlockQ4_0, x: &BlockQ8_0) -> i32 {
    w.values()
        .iter()
        .zip(&x.qs)
        // |a·b| ≤ 2^14 and the sum of 32 of them ≤ 2^19: no overflow.
        .map(|(&a, &b)| i32::from(a).wrapping_mul(i32::from(b)))
        .sum()
}

/// One output element: `acc = +0.0; for b in 0..nb { acc = fma(f32(d_w)·f32(d_x), f32(sumi_b),
/// acc) }`, then NaN canonicalised (spec/kernels.md §4.3).
#[inline]
pub fn dot_row<W>(
    w: &[W],
    x: &[BlockQ8_0],
    d_w: impl Fn(&W) -> f32,
    sumi: impl Fn(&W, &BlockQ8_0) -> i32,
) -> f32 {
    let mut acc = 0.0f32;
    for (wb, xb) in w.iter().zip(x) {
        let scale = d_w(wb) * xb.d().to_f32();
        acc = scale.mul_add(sumi(wb, xb) as f32, acc);
    }
    canonical_nan(acc)
}

/// The canonical NaN every backend writes for a NaN output (`0x7FC00000`).
#[inline]
pub fn canonical_nan(v: f32) -> f32 {
    if v.is_nan() {
        f32::from_bits(0x7FC0_0000)
    } else {
        v
    }
}

/// Outputs `out[(m − m0)·n_len + (n − n0)]` for `m` in `m0..m0 + out.len() / n_len`,
/// `n` in `n0..n0 + n_len`; `x` holds `nb` blocks per activation row, `w` `nb` per weight row.
pub(crate) fn matmul_q8_0(
    x: &[BlockQ8_0],
    w: &[BlockQ8_0],
    nb: usize,
    m0: usize,
    n0: usize,
    n_len: usize,
    out: &mut [f32],
) {
    if nb == 0 || n_len == 0 {
        return;
    }
    for (orow, xr) in out.chunks_mut(n_len).zip(x.chunks_exact(nb).skip(m0)) {
        for (o, wr) in orow.iter_mut().zip(w.chunks_exact(nb).skip(n0)) {
            *o = dot_row(wr, xr, |b| b.d().to_f32(), block_dot_q8_0);
        }
    }
}

/// As [`matmul_q8_0`], for Q4_0 weights.
pub(crate) fn matmul_q4_0(
    x: &[BlockQ8_0],
    w: &[BlockQ4_0],
    nb: usize,
    m0: usize,
    n0: usize,
    n_len: usize,
    out: &mut [f32],
) {
    if nb == 0 || n_len == 0 {
        return;
    }
    for (orow, xr) in out.chunks_mut(n_len).zip(x.chunks_exact(nb).skip(m0)) {
        for (o, wr) in orow.iter_mut().zip(w.chunks_exact(nb).skip(n0)) {
            *o = dot_row(wr, xr, |b| b.d().to_f32(), block_dot_q4_0);
        }
    }
}

//! The scalar reference: spec/kernels.md "Attention" steps S–F, one query row at a time.
//!
//! This file is the normative reading of the spec in code; every other backend must match it
//! bit for bit in verifiable mode. Rust never contracts `a * b + c` into an FMA, and
//! `f32::mul_add` is a correctly rounded FMA (hardware or software), so the operations below
//! are exactly the ones written.

use super::exp::{exp_fast, exp_verifiable};
use super::{AttentionMode, FAST_TILE, Geom, Item, VERIFIABLE_TILE, canonical, tree8};

/// Step D: the q·k dot product. Lane `r` (0..8) is a sequential FMA chain over elements
/// `r, r+8, r+16, …` starting from +0; the lanes are combined by [`tree8`].
#[inline]
pub(crate) fn dot(q: &[f32], k: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (qc, kc) in q.chunks_exact(8).zip(k.chunks_exact(8)) {
        for ((lane, &a), &b) in lanes.iter_mut().zip(qc).zip(kc) {
            *lane = a.mul_add(b, *lane);
        }
    }
    tree8(&lanes)
}

/// Run one work item: every row (query head × position) of it, into `out` (`rows · d`).
pub(crate) fn item(
    g: &Geom,
    mode: AttentionMode,
    item: &Item,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
) {
    for (r, out_row) in out.chunks_exact_mut(g.d).enumerate() {
        let (h, i) = item.row(g, r);
        // Within q's validated length: (h · q_len + i + 1) · d ≤ n_heads · q_len · d.
        let at = h
            .saturating_mul(g.q_len)
            .saturating_add(i)
            .saturating_mul(g.d);
        let q_row = q.get(at..at.saturating_add(g.d)).unwrap_or_default();
        match mode {
            AttentionMode::Verifiable => row(g, q_row, k, v, g.n_valid(i), out_row, false),
            AttentionMode::Fast => row(g, q_row, k, v, g.n_valid(i), out_row, true),
        }
    }
}

/// One query row against keys `0..n_valid` of one KV head (`k`, `v`: `[kv_len, d]`).
fn row(g: &Geom, q: &[f32], k: &[f32], v: &[f32], n_valid: usize, out: &mut [f32], fast: bool) {
    let d = g.d;
    if d == 0 {
        return;
    }
    let tile = if fast { FAST_TILE } else { VERIFIABLE_TILE };
    let exp = if fast { exp_fast } else { exp_verifiable };
    // Step I: running max, 8 lanes of the running sum, output accumulator.
    let mut m = f32::NEG_INFINITY;
    let mut lam = [0.0f32; 8];
    let mut o = [0.0f32; 128];
    let o = o.get_mut(..d).unwrap_or_default();
    let mut s = [0.0f32; FAST_TILE];
    // Keys 0..n_valid (within the validated `[kv_len, d]` head), one tile of keys at a time.
    let len = n_valid.saturating_mul(d);
    let (Some(k), Some(v)) = (k.get(..len), v.get(..len)) else {
        return;
    };
    let step = tile.saturating_mul(d);
    for (kt, vt) in k.chunks(step).zip(v.chunks(step)) {
        let Some(s) = s.get_mut(..kt.chunks_exact(d).len()) else {
            return;
        };
        // Step T1: scores s_u = RN(dot(q, k_j) · scale).
        for (su, kj) in s.iter_mut().zip(kt.chunks_exact(d)) {
            *su = dot(q, kj) * g.scale;
        }
        // Step T2: tile max over the non-NaN scores (exact, so any order gives it); new max.
        let mut mt = f32::NEG_INFINITY;
        for &su in s.iter() {
            if su > mt {
                mt = su;
            }
        }
        let m_new = if mt > m { mt } else { m };
        // Step T3: rescale factor, applied to the sum lanes and the accumulator (mul).
        let alpha = exp(m - m_new);
        for x in lam.iter_mut() {
            *x *= alpha;
        }
        for x in o.iter_mut() {
            *x *= alpha;
        }
        // Step T4: weights p_u = exp(RN(s_u − m_new)); lane (u mod 8) of the sum adds p_u
        // (keys in groups of 8, key u of a group into lane u).
        for group in s.chunks_mut(8) {
            for (su, l) in group.iter_mut().zip(lam.iter_mut()) {
                let p = exp(*su - m_new);
                *l += p;
                *su = p;
            }
        }
        // Step T5: o_c = fma(p_u, v_{j,c}, o_c) for keys in order.
        for (&p, vj) in s.iter().zip(vt.chunks_exact(d)) {
            for (oc, &vc) in o.iter_mut().zip(vj) {
                *oc = p.mul_add(vc, *oc);
            }
        }
        m = m_new;
    }
    // Step F: l from the lane tree, then a correctly rounded division (fast mode: reciprocal).
    let l = tree8(&lam);
    if fast {
        let inv = 1.0 / l;
        for (y, &x) in out.iter_mut().zip(o.iter()) {
            *y = canonical(x * inv);
        }
    } else {
        for (y, &x) in out.iter_mut().zip(o.iter()) {
            *y = canonical(x / l);
        }
    }
}

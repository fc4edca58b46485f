//! The exponential used by attention's softmax.
//!
//! [`exp_verifiable`] is normative (spec/kernels.md, "Attention", step E): every backend —
//! scalar, AVX2, CUDA, WASM — evaluates exactly these float operations in this order, so
//! the softmax weights agree bit for bit. It is *not* libm's `expf` (libm, CUDA `expf` and
//! `__expf` all differ from each other in the last bits).
//!
//! [`exp_fast`] is the cheaper exponential of fast mode: a degree-5 polynomial and a one-step
//! range reduction; only checked against a tolerance.

/// log2(e) rounded to f32 (bits `0x3FB8AA3B`).
pub const LOG2E: f32 = f32::from_bits(0x3FB8_AA3B);
/// The high part of ln 2 in the Cody–Waite split: 0.693359375 = 355/512 (bits `0x3F318000`),
/// short enough that `n · LN2_HI` is exact for every `|n| ≤ 2^15`.
pub const LN2_HI: f32 = f32::from_bits(0x3F31_8000);
/// The low part of ln 2: `ln 2 − LN2_HI` rounded to f32 (bits `0xB95E8083`).
pub const LN2_LO: f32 = f32::from_bits(0xB95E_8083);
/// ln 2 rounded to f32 (bits `0x3F317218`), used by [`exp_fast`] only.
pub const LN2: f32 = f32::from_bits(0x3F31_7218);

/// The polynomial coefficients of [`exp_verifiable`], `C[0]` (constant term) to `C[7]`:
/// 1, 1, then Cephes' `expf` minimax coefficients, as f32 bit patterns.
pub const EXP_COEFFS: [f32; 8] = [
    f32::from_bits(0x3F80_0000), // 1
    f32::from_bits(0x3F80_0000), // 1
    f32::from_bits(0x3F00_0000), // 0.5 (5.0000001201e-1 rounds to 0.5)
    f32::from_bits(0x3E2A_AAAA), // 1.6666665459e-1
    f32::from_bits(0x3D2A_A9C1), // 4.1665795894e-2
    f32::from_bits(0x3C08_8908), // 8.3334519073e-3
    f32::from_bits(0x3AB7_43CE), // 1.3981999507e-3
    f32::from_bits(0x3950_6967), // 1.9875691500e-4
];

/// The normative exponential of verifiable-mode attention (spec/kernels.md, step E).
///
/// 1. `t = RN(x · LOG2E)`; `n = roundTiesToEven(t)` (an integer-valued f32).
/// 2. `n < −126` → `+0` (this covers `x = −∞`); `n > 127` → `+∞`.
/// 3. `r = fma(−n, LN2_HI, x)`, then `r = fma(−n, LN2_LO, r)`.
/// 4. `p = C7`, then `p = fma(p, r, Ck)` for `k = 6, 5, …, 0`.
/// 5. Result `RN(p · 2^n)`, where `2^n` is the f32 with bits `(n + 127) << 23`.
///
/// NaN in gives NaN out (both comparisons in step 2 are false for NaN). No flush-to-zero:
/// results below `2^−126` (x ≲ −87.3) are subnormal, rounded by the final multiplication.
/// Accuracy: at most 1 ulp (measured 0.854) from the true `e^x` over `[−87, 88]` (kernels/tests/attention.rs
/// measures it against f64).
#[inline]
pub fn exp_verifiable(x: f32) -> f32 {
    let t = x * LOG2E;
    let n = t.round_ties_even();
    if n < -126.0 {
        return 0.0;
    }
    if n > 127.0 {
        return f32::INFINITY;
    }
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let [c0, c1, c2, c3, c4, c5, c6, c7] = EXP_COEFFS;
    let mut p = c7;
    p = p.mul_add(r, c6);
    p = p.mul_add(r, c5);
    p = p.mul_add(r, c4);
    p = p.mul_add(r, c3);
    p = p.mul_add(r, c2);
    p = p.mul_add(r, c1);
    p = p.mul_add(r, c0);
    p * pow2i(n)
}

/// `2^n` for an integer-valued `n` in `[−126, 127]`, built from its bits. For NaN (`as i32`
/// gives 0) it returns 1, which keeps a NaN `p` NaN in the callers.
#[inline]
fn pow2i(n: f32) -> f32 {
    // `n` is integer-valued and in [-126, 127] here (or NaN → 0), so the cast is exact and the
    // biased exponent is in [1, 254].
    let biased = (n as i32).wrapping_add(127) as u32;
    f32::from_bits(biased << 23)
}

/// The polynomial of [`exp_fast`]: degree 5, Taylor coefficients rounded to f32.
pub const EXP_FAST_COEFFS: [f32; 6] = [1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0];

/// Fast mode's exponential: one-constant range reduction and a degree-5 polynomial (relative
/// error below 4e-6 on the softmax range `x ≤ 0`). Same special cases as [`exp_verifiable`].
#[inline]
pub fn exp_fast(x: f32) -> f32 {
    let n = (x * LOG2E).round_ties_even();
    if n < -126.0 {
        return 0.0;
    }
    if n > 127.0 {
        return f32::INFINITY;
    }
    let r = (-n).mul_add(LN2, x);
    let [c0, c1, c2, c3, c4, c5] = EXP_FAST_COEFFS;
    let mut p = c5;
    p = p.mul_add(r, c4);
    p = p.mul_add(r, c3);
    p = p.mul_add(r, c2);
    p = p.mul_add(r, c1);
    p = p.mul_add(r, c0);
    p * pow2i(n)
}

//! Fixed-point arithmetic with exactly the semantics of the subtensor chain's `substrate-fixed`
//! 0.6.0 types (spec/emission.md section 1).
//!
//! The hot `I32F32` ("Q32") operations work on raw `i64` bits; they are checked bit for bit
//! against `substrate_fixed::types::I32F32` in this module's tests. The wider types (`I64F64`,
//! `U96F32`, `I96F32`) appear only in O(n) steps and use `substrate-fixed` directly.
//!
//! Rules (all exact integer operations on the raw bits):
//! * multiply: `floor(a·b / 2^32)`; saturating form clamps (MIN when signs differ, else MAX),
//!   checked form returns `None`;
//! * divide: `trunc(a·2^32 / b)`; the *safe* form returns 0 on a zero divisor **and** on
//!   overflow (pitfall P1), the saturating form clamps by sign;
//! * add / sub: saturating; plain sums (`Σ°`) wrap.

use substrate_fixed::types::{I64F64, I96F32, U96F32};

/// Raw bits of `I32F32` one (`2^32`).
pub const ONE: i64 = 1 << 32;
/// Raw bits of `I32F32` one half.
pub const HALF: i64 = 1 << 31;
/// Raw bits of `I32F32::from_num(65535)`.
pub const U16_MAX_Q32: i64 = 65_535 << 32;

/// `I32F32::saturating_from_num(v)` for an integer `v` (exact for every u16).
#[inline]
#[must_use]
pub const fn from_u16(v: u16) -> i64 {
    (v as i64) << 32
}

/// Saturating multiply `a ⊗ b` (floor).
#[inline]
#[must_use]
pub fn mul(a: i64, b: i64) -> i64 {
    let p = i128::from(a) * i128::from(b);
    // `p >> 32` fits in i64 iff bits 95..127 of `p` (bits 31..63 of its high word) are all
    // equal: one shift and one compare instead of two 128-bit comparisons.
    let top = ((p >> 64) as i64) >> 31;
    if top == 0 || top == -1 {
        (p >> 32) as i64
    } else if p < 0 {
        i64::MIN
    } else {
        i64::MAX
    }
}

/// Checked multiply: `None` when the floor product leaves the i64 range.
#[inline]
#[must_use]
pub fn mul_checked(a: i64, b: i64) -> Option<i64> {
    let p = (i128::from(a) * i128::from(b)) >> 32;
    i64::try_from(p).ok()
}

/// Safe divide `a ⊘ b`: truncating, 0 when `b = 0` or when the quotient overflows (P1).
#[inline]
#[must_use]
pub fn div_safe(a: i64, b: i64) -> i64 {
    div_checked(a, b).unwrap_or(0)
}

/// Granlund–Montgomery constants for exact unsigned division by an invariant `d ≥ 1`:
/// `(magic, shift1, shift2)` with `l = ceil(log2 d)`, `magic = floor(2^64 · (2^l − d) / d) + 1`
/// (fits in 64 bits), `shift1 = min(l, 1)`, `shift2 = max(l − 1, 0)`.
fn magic(d: u64) -> Option<(u64, u8, u8)> {
    if d == 0 {
        return None;
    }
    let l = 64 - (d - 1).leading_zeros();
    let num = ((1u128 << l) - u128::from(d)) << 64;
    let magic = u64::try_from(num / u128::from(d)).ok()?.checked_add(1)?;
    Some((magic, l.min(1) as u8, l.saturating_sub(1) as u8))
}

/// How a [`Divisor`] divides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only through [`div_safe`].
    Slow,
    /// `b > 0`, magic for `b`: `0 ≤ a < 2^32` gives `floor(a·2^32 / b)`.
    Frac,
    /// `b = D·2^32 > 0`, magic for `D`: every `a ≥ 0` gives `floor(a / D)`.
    Whole,
    /// Division skipped: the value is kept (a zero column sum in a normalisation).
    Keep,
}

/// A divisor prepared for many safe divisions `a ⊘ b` by the same `b` (normalisations).
///
/// Bit-identical to [`div_safe`]. Two exact fast paths use the Granlund–Montgomery
/// multiply-and-shift for invariant divisors: `0 ≤ a < 2^32` with `b > 0` (the quotient is
/// `floor(a·2^32 / b)` with a 64-bit numerator), and `b` a whole number `D·2^32` with `a ≥ 0`,
/// where the common factor `2^32` cancels exactly: `floor(a·2^32 / (D·2^32)) = floor(a / D)`
/// (the u16 weights and bonds the chain loads as integers). Everything else goes through
/// [`div_safe`]. 24 bytes, so that a table of one per column stays in cache.
#[derive(Debug, Clone, Copy)]
pub struct Divisor {
    b: i64,
    magic: u64,
    shift1: u8,
    shift2: u8,
    mode: Mode,
}

impl Divisor {
    /// Prepares `b` (any value; 0 makes every quotient 0, as safe division does).
    #[must_use]
    pub fn new(b: i64) -> Self {
        let slow = Self {
            b,
            magic: 0,
            shift1: 0,
            shift2: 0,
            mode: Mode::Slow,
        };
        if b <= 0 {
            return slow;
        }
        let d = b.unsigned_abs();
        let (d, mode) = if d & 0xFFFF_FFFF == 0 {
            (d >> 32, Mode::Whole)
        } else {
            (d, Mode::Frac)
        };
        match magic(d) {
            Some((magic, shift1, shift2)) => Self {
                b,
                magic,
                shift1,
                shift2,
                mode,
            },
            None => slow,
        }
    }

    /// Like [`Divisor::new`], except that `b = 0` keeps the dividend unchanged: the
    /// normalisations' "divide where the sum is non-zero".
    #[must_use]
    pub fn keep_if_zero(b: i64) -> Self {
        if b == 0 {
            Self {
                b,
                magic: 0,
                shift1: 0,
                shift2: 0,
                mode: Mode::Keep,
            }
        } else {
            Self::new(b)
        }
    }

    /// `floor(n / d)`, exact for every 64-bit `n`.
    #[inline(always)]
    fn quot(&self, n: u64) -> u64 {
        let t1 = ((u128::from(self.magic) * u128::from(n)) >> 64) as u64;
        (t1 + ((n - t1) >> self.shift1)) >> self.shift2
    }

    /// `a ⊘ b` (safe), bit-identical to [`div_safe`]`(a, b)` (or `a` itself for a divisor
    /// made by [`Divisor::keep_if_zero`]`(0)`).
    #[inline(always)]
    #[must_use]
    pub fn div_safe(&self, a: i64) -> i64 {
        match self.mode {
            // q ≤ a·2^32 < 2^64; it fits in i64 unless b is tiny (then the safe result is 0).
            Mode::Frac if (a as u64) < 1 << 32 => {
                i64::try_from(self.quot((a as u64) << 32)).unwrap_or(0)
            }
            // q ≤ a < 2^63.
            Mode::Whole if a >= 0 => self.quot(a as u64) as i64,
            Mode::Keep => a,
            _ => div_safe(a, self.b),
        }
    }
}

/// An invariant divisor `d ≥ 1` (a whole number of raw units) for the dense loops' column
/// normalisations: [`Recip::frac`] gives `floor(x · 2^32 / d)` for `0 ≤ x ≤ min(d, 2^32)` in
/// u64 arithmetic: one shift, one multiply-high, one add and one shift, no branch.
///
/// It is `x ⊘ d` (safe division) exactly there (the quotient is then at most `2^32`): the
/// normalisation of a column of non-negative values by their exact sum, or by their maximum.
/// The loops that use it prove that bound from how their sums are made;
/// `tests::recip_matches_div_safe` pins it against [`div_safe`].
///
/// Why it is exact: with `L` the bit length of `d` (`2^(L−1) ≤ d < 2^L`), `k = L + 32` (`L + 31`
/// when `d` is a power of two) and `m = ceil(2^(k+32) / d)`, `m` lies in `[2^64, 2^65)` and
/// `e = m·d − 2^(k+32)` in `[0, d)` (0 for a power of two). Then `x·m / 2^k = x·2^32/d +
/// x·e/(d·2^k)`, and `x·e < 2^32 · 2^L ≤ 2^k` keeps the excess below `1/d`, less than the gap
/// from `x·2^32/d` to the next integer: `floor(x·m / 2^k)` is the quotient. With
/// `m = 2^64 + m'`, `x' = x · 2^p` (`p = max(0, 64 − k)`, so `x' ≤ 2^63`) and `t = k + p − 64`,
/// `floor(x·m / 2^k) = (x' + floor(x'·m' / 2^64)) >> t`, and the sum cannot overflow
/// (`floor(x'·m' / 2^64) < x'`).
#[derive(Debug, Clone, Copy)]
pub struct Recip {
    /// `m − 2^64`.
    magic: u64,
    /// `p`, the shift applied to `x` first.
    pre: u32,
    /// `t`, the shift applied to the sum.
    post: u32,
}

impl Recip {
    /// Prepares `d`; `d = 0` is prepared as 1, so that `frac(0) = 0` (a zero column sum has
    /// only zero entries, whose normalisation keeps 0). A divisor past `i64::MAX` (no column sum
    /// is one) is prepared as `i64::MAX`.
    #[must_use]
    pub fn new(d: u64) -> Self {
        let d = d.clamp(1, i64::MAX.unsigned_abs());
        let l = 64 - d.leading_zeros();
        let k = if d.is_power_of_two() { l + 31 } else { l + 32 };
        // k + 32 ≤ 127: 2^(k+32) is a u128, and m < 2^65.
        let num = 1u128 << (k + 32);
        let m = num.div_ceil(u128::from(d));
        let pre = 64u32.saturating_sub(k);
        Self {
            magic: m as u64,
            pre,
            post: k + pre - 64,
        }
    }

    /// The prepared constants `(m − 2^64, p, t)`: `frac(x) = (x' + ⌊x'·(m − 2^64) / 2^64⌋) >> t`
    /// with `x' = x · 2^p` (wrapping add), for a reimplementation of [`Recip::frac`] (a vector
    /// one, say) that must give the same bits.
    #[must_use]
    pub fn parts(&self) -> (u64, u32, u32) {
        (self.magic, self.pre, self.post)
    }

    /// `floor(x · 2^32 / d)` for `0 ≤ x ≤ min(d, 2^32)` (other `x` give an unspecified value).
    #[inline(always)]
    #[must_use]
    pub fn frac(&self, x: u64) -> u64 {
        let xp = x << self.pre;
        let hi = ((u128::from(xp) * u128::from(self.magic)) >> 64) as u64;
        xp.wrapping_add(hi) >> self.post
    }
}

/// A factor `y` in [0, 1] (Q32 bits, `y ≤ 2^32`) kept as `y · 2^31` (at most 2^63), for
/// [`UnitFactor::mul`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitFactor(u64);

impl UnitFactor {
    /// Prepares `y` (`y ≤ 2^32`; a larger `y` gives an unspecified product).
    #[inline]
    pub(crate) fn new(y: u64) -> Self {
        Self(y << 31)
    }

    /// `floor(x · y / 2^32)` for `x ≤ 2^32`: the high word of `(x · 2) · (y · 2^31)`, both
    /// factors below 2^64, so one 64 × 64 multiply and no 128-bit shift.
    #[inline(always)]
    pub(crate) fn mul(self, x: u64) -> u64 {
        ((u128::from(x << 1) * u128::from(self.0)) >> 64) as u64
    }
}

/// Checked divide: `None` when `b = 0` or on overflow.
#[inline]
#[must_use]
pub fn div_checked(a: i64, b: i64) -> Option<i64> {
    if b == 0 {
        return None;
    }
    let (ua, ub) = (a.unsigned_abs(), b.unsigned_abs());
    // Fast exact paths for |a| <= 1.0 (nearly every epoch value): the magnitude quotient
    // floor(|a|·2^32 / |b|) in u64 arithmetic, then the sign (truncation toward zero).
    let q: u64 = if ua < 1 << 32 {
        (ua << 32) / ub
    } else if ua == 1 << 32 {
        recip_2_64(ub)?
    } else {
        let q = (i128::from(a) << 32) / i128::from(b);
        return i64::try_from(q).ok();
    };
    if (a < 0) != (b < 0) {
        i64::try_from(-i128::from(q)).ok()
    } else {
        i64::try_from(q).ok()
    }
}

/// `floor(2^64 / d)` for `d ≥ 1`, in u64 arithmetic: `floor((2^64 − 1) / d)`, plus one when `d`
/// divides `2^64` (the remainder is then `d − 1`); `None` for `d ≤ 1`, where it exceeds u64.
/// The quotient of [`div_checked`]'s dividend of exactly 1, and of liquid alpha's certified
/// shortcut.
#[inline(always)]
#[must_use]
pub(crate) fn recip_2_64(d: u64) -> Option<u64> {
    let q = u64::MAX.checked_div(d)?;
    q.checked_add(u64::from(u64::MAX % d == d - 1))
}

/// Saturating divide: clamps by sign on overflow. A zero divisor (a panic in
/// `substrate-fixed`) is reported as `None`; no caller on the epoch path can pass one.
#[inline]
#[must_use]
pub fn div_sat(a: i64, b: i64) -> Option<i64> {
    if b == 0 {
        return None;
    }
    let q = (i128::from(a) << 32) / i128::from(b);
    Some(match i64::try_from(q) {
        Ok(v) => v,
        Err(_) => {
            if (a < 0) != (b < 0) {
                i64::MIN
            } else {
                i64::MAX
            }
        }
    })
}

/// Saturating add `a ⊕ b`.
#[inline]
#[must_use]
pub const fn add(a: i64, b: i64) -> i64 {
    a.saturating_add(b)
}

/// Saturating sub `a ⊖ b`.
#[inline]
#[must_use]
pub const fn sub(a: i64, b: i64) -> i64 {
    a.saturating_sub(b)
}

/// Wrapping sum `Σ°` (a release-build fold with `+`, pitfall P1).
#[inline]
#[must_use]
pub fn sum_wrapping<'a>(values: impl IntoIterator<Item = &'a i64>) -> i64 {
    values.into_iter().fold(0i64, |acc, v| acc.wrapping_add(*v))
}

/// `N(v)`: normalise in place by the wrapping sum; unchanged when the sum is 0.
pub fn normalize(v: &mut [i64]) {
    let s = sum_wrapping(v.iter());
    if s == 0 {
        return;
    }
    let d = Divisor::new(s);
    for x in v.iter_mut() {
        *x = d.div_safe(*x);
    }
}

/// `r(k)`: a u16 ratio, `(k·2^32) ⊘ (65535·2^32)` (so 32767 is 0.49999237…, pitfall P8).
#[inline]
#[must_use]
pub fn ratio_u16(k: u16) -> i64 {
    div_safe(from_u16(k), U16_MAX_Q32)
}

/// The chain's u16 → proportion conversion `b ⊘ 65535` (both as `I32F32` integers), in
/// closed form: `2^32 = 65535 · 65537 + 1`, so `floor(b·2^32 / 65535) = 65537·b + floor(b / 65535)`,
/// which is `65537·b` below 65535 and exactly 1.0 at 65535 (pitfall P3's lost unit).
#[inline]
#[must_use]
pub const fn u16_proportion(b: u16) -> i64 {
    let b = b as i64;
    65_537 * b + (b == 65_535) as i64
}

/// `u16(x)`: `floor(x ⊗ 65535)` clamped to `[0, 65535]` (the chain's `fixed_proportion_to_u16`).
#[inline]
#[must_use]
pub fn to_u16(x: i64) -> u16 {
    let y = mul(x, U16_MAX_Q32) >> 32;
    if y < 0 {
        0
    } else if y > 65_535 {
        u16::MAX
    } else {
        y as u16
    }
}

/// Narrowing `I64F64 → I32F32` (floor, then clamp): `I32F32::saturating_from_num`.
#[inline]
#[must_use]
pub fn narrow(x: I64F64) -> i64 {
    let b = x.to_bits() >> 32;
    if b > i128::from(i64::MAX) {
        i64::MAX
    } else if b < i128::from(i64::MIN) {
        i64::MIN
    } else {
        b as i64
    }
}

/// Narrowing `I64F64 → I32F32` that reports overflow (`I32F32::from_num`, which panics on the
/// chain: pitfall P12).
#[inline]
#[must_use]
pub fn narrow_checked(x: I64F64) -> Option<i64> {
    i64::try_from(x.to_bits() >> 32).ok()
}

/// `I64F64::saturating_from_num(u)`: exact below `2^63`, saturates above (pitfall P1).
#[inline]
#[must_use]
pub fn q64_from_u64(u: u64) -> I64F64 {
    I64F64::saturating_from_num(u)
}

/// The tao weight as a proportion: `U96F32(tw) ⊘ U96F32(2^64 − 1)` (safe), widened to `I64F64`.
#[must_use]
pub fn tao_weight_q64(tao_weight: u64) -> I64F64 {
    let num = U96F32::saturating_from_num(tao_weight);
    let den = U96F32::saturating_from_num(u64::MAX);
    let q = num.checked_div(den).unwrap_or(U96F32::from_bits(0));
    I64F64::saturating_from_num(q)
}

/// Rao amount of a normalised share: `floor(I96F32(x) ⊗ I96F32(E))` as a saturating u64.
#[inline]
#[must_use]
pub fn rao_share(x: i64, emission: u64) -> u64 {
    let e = I96F32::saturating_from_num(emission);
    let v = I96F32::from_bits(i128::from(x)).saturating_mul(e);
    v.saturating_to_num::<u64>()
}

/// `exp*` of the liquid-alpha sigmoid (the chain's `exp_safe`): clamp to [−20, 20], then the
/// `substrate-fixed` Taylor series in Q32 (1 at 0; `e` from the crate's `I9F23` constant at
/// exactly 1; 30 terms; reciprocal for negative inputs). If the series overflows (it cannot
/// after the clamp) the result is 0 for non-positive inputs and MAX otherwise.
#[must_use]
pub fn exp_safe(z: i64) -> i64 {
    let lo = -20 * ONE;
    let hi = 20 * ONE;
    let z = z.clamp(lo, hi);
    match exp_taylor(z) {
        Some(v) => v,
        None => {
            if z <= 0 {
                0
            } else {
                i64::MAX
            }
        }
    }
}

/// [`exp_safe`] of four inputs at once, bit-identical lane by lane ([`exp_safe_lanes`]).
#[must_use]
pub fn exp_safe4(z: [i64; 4]) -> [i64; 4] {
    exp_safe_lanes(z)
}

/// [`exp_safe`] of `N` inputs at once, bit-identical lane by lane. The `N` series run in
/// lockstep so that their multiply-divide chains overlap in the CPU; a lane whose term reached 0
/// keeps adding 0, which changes nothing, and the loop stops once every term is 0.
///
/// After the clamp no step can overflow, so the checked operations of the series are plain
/// u64 ones here: with `x = |z| ≤ 20` (as a real number), term `i` is at most `x^i / i!`
/// (each step floors), at most `20^20 / 20! < 4.4·10^7`, so every term is below `2^58` raw;
/// the product before the division by `i` is at most `i · x^i / i! ≤ 20^20 / 19! < 8.7·10^8`,
/// below `2^62` raw; and the sum is at most `e^20 < 4.9·10^8`, below `2^61` raw. The checked
/// forms in [`exp_safe`] therefore never fail on a clamped input, and this function gives the
/// same bits (`exp4_matches_exp` compares them, the clamp's ends included).
///
/// Each step's `floor(t · x / 2^32)` is taken as the high word of `(t · 2^6) · (x · 2^26)`,
/// which is `floor(t · x · 2^32 / 2^64)`, the same integer: with `t < 2^58` and `x < 2^37` raw
/// both factors stay below 2^64, so it is one 64 × 64 multiply and no 128-bit shift (1.4–1.5×
/// faster on the AMD Zen 3 of benches/README.md, Emission).
#[must_use]
pub fn exp_safe_lanes<const N: usize>(z: [i64; N]) -> [i64; N] {
    let z = z.map(|v| v.clamp(-20 * ONE, 20 * ONE));
    let x: [u64; N] = z.map(i64::unsigned_abs);
    let mut term: [u64; N] = x;
    // |z| ≤ 20·2^32, so 1 + |z| cannot overflow.
    let mut result: [u64; N] = x.map(|v| v + ONE.unsigned_abs());
    // floor(t·x / 2^32) is the high word of (t·2^6)·(x·2^26): t < 2^58 and x < 2^37 keep both
    // factors below 2^64, so one 64 × 64 multiply gives it (no 128-bit shift).
    let xs: [u64; N] = x.map(|v| v << 26);
    macro_rules! steps {
        ($($i:literal)*) => {
            'series: {
                $(
                    let mut any = 0u64;
                    for ((t, r), &xk) in term.iter_mut().zip(result.iter_mut()).zip(xs.iter()) {
                        // term ⊗ x (the floor product fits: see above), then ⊘ i, which on
                        // non-negative terms is the integer quotient by the constant i.
                        let p = ((u128::from(*t << 6) * u128::from(xk)) >> 64) as u64;
                        *t = div_small::<$i>(p);
                        *r += *t;
                        any |= *t;
                    }
                    if any == 0 {
                        break 'series;
                    }
                )*
            }
        };
    }
    steps!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    let mut out = [0i64; N];
    for ((o, &zk), &r) in out.iter_mut().zip(z.iter()).zip(result.iter()) {
        let r = r as i64;
        *o = if zk == 0 {
            ONE
        } else if zk == ONE {
            22_802_600 << 9
        } else if zk < 0 {
            div_checked(ONE, r).unwrap_or(0)
        } else {
            r
        };
    }
    out
}

/// `floor(p / D)` for `p < 2^62` and `2 ≤ D ≤ 31` (the series' divisions): a shift for a power
/// of two, else one multiply-high by `m = ceil(2^(64+s) / D)` with `2^s < D < 2^(s+1)`, then a
/// shift by `s`. Exact: `m · D = 2^(64+s) + e` with `0 ≤ e < D ≤ 2^(s+1)`, so
/// `p · m / 2^(64+s) = p / D + p · e / (D · 2^(64+s))` and `p · e < 2^(63+s)` keeps the excess
/// below `1 / (2D)`, less than the gap from `p / D` to the next integer. The compiler's own
/// constant division must allow any 64-bit `p` and needs a fix-up sequence for some `D`.
#[inline(always)]
const fn div_small<const D: u64>(p: u64) -> u64 {
    let s = 63 - D.leading_zeros();
    if D.is_power_of_two() {
        p >> s
    } else {
        let m = ((1u128 << (64 + s)) - 1) / (D as u128) + 1;
        (((p as u128) * m) >> (64 + s)) as u64
    }
}

/// `|z|` (raw Q32) below which [`exp_bracket`] brackets the series: 6.0.
pub const EXP_BRACKET_LIMIT: u64 = 6 << 32;

/// 128ths of [`EXP_BRACKET_LIMIT`]'s integer part: the rows of [`EXP128`] and [`EXP_SLACK`].
const EXP_ROWS: usize = 768;

/// `floor(2^55 · e^(k/128))` for `k < 768`, from the Taylor series of `e^(k/128)` in Q110
/// integer arithmetic at compile time (each term `floor(t · k / (128 i))`, summed until a
/// term is 0). The floors lose less than `2^-100` relatively, so each entry is within 1 of the
/// true `2^55 · e^(k/128)` and never above it (`exp128_matches_series` checks the table
/// against the chain's series).
// Compile-time evaluation: an index out of range is a build error, never a run-time panic.
#[allow(clippy::indexing_slicing)]
const EXP128: [u64; EXP_ROWS] = {
    let mut out = [0u64; EXP_ROWS];
    let mut k = 0;
    while k < EXP_ROWS {
        let one: u128 = 1 << 110;
        let mut term = one;
        let mut sum = one;
        let mut i = 1u128;
        while term > 0 {
            term = term * (k as u128) / (128 * i);
            sum += term;
            i += 1;
        }
        out[k] = (sum >> 55) as u64;
        k += 1;
    }
    out
};

/// For `x` in `[k/128, (k+1)/128)`: how far below `2^32 · e^x` the chain's series sum `r(x)` can
/// lie, in raw units, rounded up, plus 1 to spare. Compile-time,
/// integer, from the bounds at `X = (k+1)/128` (every bound grows with `X`):
/// * each step floors `t_i = floor(t_{i-1} · X / i)`, so with `T_i = 2^32 · X^i / i!` the
///   deficit `δ_i = T_i − t_i` obeys `δ_i < δ_{i-1} · X / i + 1` and `δ_i ≤ T_i` (`δ_1 = 0`);
/// * the series stops after term 31, so the tail `Σ_{i ≥ 32} T_i ≤ 2 · T_32` is missing
///   (`X / 33 < 1/5` makes the tail a geometric sum below twice its first term).
///
/// The bound is `Σ_{i=2}^{31} δ_i + 2 · T_32`, each quantity carried with 32 extra fraction
/// bits and rounded up at every step.
// Compile-time evaluation: an index out of range is a build error, never a run-time panic.
#[allow(clippy::indexing_slicing)]
const EXP_SLACK: [u16; EXP_ROWS] = {
    let mut out = [0u16; EXP_ROWS];
    let mut k = 0;
    while k < EXP_ROWS {
        // X · 2^32 at the top of the row.
        let x = ((k as u128) + 1) << 25;
        let unit: u128 = 1 << 32;
        // T_1 = x raw units, carried ×2^32.
        let mut t = x << 32;
        let mut d: u128 = 0;
        let mut total: u128 = 0;
        let mut i = 2u128;
        while i <= 32 {
            let den = unit * i;
            t = (t * x).div_ceil(den);
            if i == 32 {
                total += 2 * t;
            } else {
                let grown = (d * x).div_ceil(den) + unit;
                d = if grown < t { grown } else { t };
                total += d;
            }
            i += 1;
        }
        // At most 87 (at x near 6): a u16 keeps the table small (the WASM module carries it).
        out[k] = (total.div_ceil(unit) as u16) + 1;
        k += 1;
    }
    out
};

/// Bounds `[lo, hi]` on the chain's `exp*` series sum `r(x) = 1 + x + Σ_{i=2}^{31} t_i` (the
/// value [`exp_safe`] returns for `z = x`, and whose reciprocal it returns for `z = −x`, except
/// at the special inputs 0 and exactly 1) for `0 < x <` [`EXP_BRACKET_LIMIT`], without running
/// the series: `None` outside that range.
///
/// `2^32 · e^x` is approximated from below as `E_k · p(f) / 2^86` with `x = k/128 + f`,
/// `E_k = EXP128[k]` (Q55) and `p` the degree-4 Taylor polynomial of `e^f` (`f < 1/128`)
/// in Q63 by Horner. Neither factor is above its true value (every floor and the polynomial's
/// positive remainder only lower them), so `R ≤ 2^32 · e^x`; and `E_k ≥ 2^55 e^a − 1.01`,
/// `p ≥ 2^63 e^f − 2^21.2` (remainder `< 2^63 · f^5 / 5! · 1.01 < 2^21.1`, floors a few units),
/// so `E_k · p ≥ 2^118 e^x − 2^76.2 e^a − 2^63.1` and, with `e^a < e^6 < 2^8.7`,
/// `R > 2^32 · e^x − 1.5`. The series sum lies in `[2^32 · e^x − slack, 2^32 · e^x]`
/// (`EXP_SLACK`), so `r ∈ [R − slack, R + 1.5]`: the bounds returned are `R − slack` (at
/// least `1 + x`, which `r` never goes below) and `R + 2`.
/// Integer arithmetic only; the bracket is a proof device: a caller uses it only where every
/// value in it gives the same final result, and runs the series otherwise (spec/emission.md,
/// liquid alpha).
#[must_use]
pub fn exp_bracket(x: u64) -> Option<(u64, u64)> {
    if x == 0 || x >= EXP_BRACKET_LIMIT {
        return None;
    }
    let k = (x >> 25) as usize;
    // f · 2^64 for the fraction f = (x mod 2^25) / 2^32 < 1/128.
    let f = (x & ((1 << 25) - 1)) << 32;
    let mulhi = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) >> 64) as u64;
    // floor(2^63 / i!) for i = 0..=4.
    const C: [u64; 5] = [1 << 63, 1 << 63, 1 << 62, (1 << 63) / 6, (1 << 63) / 24];
    let mut p = C[4];
    p = C[3] + mulhi(p, f);
    p = C[2] + mulhi(p, f);
    p = C[1] + mulhi(p, f);
    p = C[0] + mulhi(p, f);
    let e = *EXP128.get(k)?;
    let slack = u64::from(*EXP_SLACK.get(k)?);
    let r = ((u128::from(e) * u128::from(p)) >> 86) as u64;
    let floor = ONE.unsigned_abs() + x;
    Some((r.saturating_sub(slack).max(floor), r + 2))
}

/// The `substrate_fixed::transcendental::exp` series for `I32F32`.
fn exp_taylor(z: i64) -> Option<i64> {
    if z == 0 {
        return Some(ONE);
    }
    if z == ONE {
        // The crate's constant `E` is `I9F23` with bits 22802600 (its U2F126 constant shifted
        // right by 103; YUMA.md's 22802601 is off by one), widened exactly.
        return Some(22_802_600 << 9);
    }
    let neg = z < 0;
    let x = if neg { z.checked_neg()? } else { z };
    let mut result = x.checked_add(ONE)?;
    let mut term = x;
    // For i = 2..31: term = (term ⊗ x) ⊘ i (checked), result = result + term (checked).
    // On non-negative terms `⊘ i` is exactly the integer quotient term / i (both operands carry
    // the same 2^32 scale) and cannot overflow; once a term is 0 every later term is 0 and adds
    // nothing, so the series may stop there. Unrolled so that each division is by a constant.
    macro_rules! steps {
        ($($i:literal)*) => {
            'series: {
                $(
                    // term ⊗ x (checked: the floor product must fit in i64), then / i in u64
                    // so that the division by a constant becomes a multiplication.
                    let p = i64::try_from(
                        (u128::from(term.unsigned_abs()) * u128::from(x.unsigned_abs())) >> 32,
                    )
                    .ok()?;
                    term = (p.unsigned_abs() / $i) as i64;
                    if term == 0 {
                        break 'series;
                    }
                    result = result.checked_add(term)?;
                )*
            }
        };
    }
    steps!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    if neg {
        result = div_checked(ONE, result)?;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use substrate_fixed::transcendental::exp;
    use substrate_fixed::types::I32F32;

    fn q(b: i64) -> I32F32 {
        I32F32::from_bits(b)
    }

    /// The chain's series sum `r(x)` for `0 < x ≠ 1` (raw), by the checked reference series.
    /// (`u64::MAX` if the series overflowed, which no bracket contains.)
    fn series(x: u64) -> u64 {
        exp_taylor(x as i64).map_or(u64::MAX, |v| v as u64)
    }

    #[test]
    fn exp_bracket_contains_series() {
        let mut xs: Vec<u64> = vec![1, 2, 3, 1 << 20, EXP_BRACKET_LIMIT - 1];
        // Every row start (f = 0: the table entry alone), its neighbours and row ends.
        for k in 0..EXP_ROWS as u64 {
            for d in [0u64, 1, 2, 3, (1 << 25) - 1, (1 << 24) + 12_345] {
                xs.push((k << 25) + d);
            }
        }
        let mut s: u64 = 0x1234_5678_9ABC_DEF1;
        for _ in 0..200_000 {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            xs.push((s >> 20) % EXP_BRACKET_LIMIT);
        }
        let mut widest = 0;
        for &x in &xs {
            if x == 0 || x == ONE as u64 {
                assert_eq!(exp_bracket(x).is_some(), x != 0);
                continue;
            }
            let bracket = exp_bracket(x);
            assert!(bracket.is_some(), "x {x}: no bracket");
            let (lo, hi) = bracket.unwrap_or_default();
            let r = series(x);
            assert!(lo <= r && r <= hi, "x {x}: {r} not in [{lo}, {hi}]");
            widest = widest.max(hi - lo);
        }
        // The bracket is narrow (a few hundred raw units at most, out of 2^32 · e^x).
        assert!(widest < 400, "widest bracket {widest}");
        assert_eq!(exp_bracket(0), None);
        assert_eq!(exp_bracket(EXP_BRACKET_LIMIT), None);
        assert_eq!(exp_bracket(u64::MAX), None);
    }

    #[test]
    fn exp128_matches_series() {
        // At a row start the bracket is E_k alone: E_k / 2^23 must sit within the slack below
        // (and at most 2 above) the chain's series at k/128, an independent computation.
        for k in 1..EXP_ROWS {
            if k == 128 {
                continue;
            }
            let r = series((k as u64) << 25);
            let e = EXP128[k] >> 23;
            assert!(
                e + 2 >= r && r + u64::from(EXP_SLACK[k]) >= e,
                "k {k}: table {e}, series {r}"
            );
        }
        assert_eq!(EXP128[0], 1 << 55);
        // The slack bound grows with x and stays small (the u16 cast cannot have wrapped).
        assert!(EXP_SLACK.windows(2).all(|p| p[0] <= p[1]));
        assert!(EXP_SLACK[0] >= 2 && EXP_SLACK[EXP_ROWS - 1] < 200);
    }

    #[test]
    fn ops_match_substrate_fixed() {
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let special = [
            0i64,
            1,
            -1,
            ONE,
            -ONE,
            HALF,
            i64::MAX,
            i64::MIN,
            U16_MAX_Q32,
            3,
            65_535,
        ];
        let mut vals: Vec<i64> = special.to_vec();
        for _ in 0..400 {
            let r = next();
            let shift = (r % 64) as u32;
            vals.push(((next() as i64) >> shift) * if r & 1 == 0 { 1 } else { -1 });
        }
        for &a in &vals {
            for &b in vals.iter().take(120) {
                assert_eq!(
                    mul(a, b),
                    q(a).saturating_mul(q(b)).to_bits(),
                    "mul {a} {b}"
                );
                assert_eq!(
                    mul_checked(a, b),
                    q(a).checked_mul(q(b)).map(I32F32::to_bits)
                );
                assert_eq!(
                    div_checked(a, b),
                    q(a).checked_div(q(b)).map(I32F32::to_bits)
                );
                assert_eq!(
                    div_safe(a, b),
                    q(a).checked_div(q(b)).map_or(0, I32F32::to_bits)
                );
                if b != 0 {
                    assert_eq!(div_sat(a, b), Some(q(a).saturating_div(q(b)).to_bits()));
                }
            }
        }
    }

    #[test]
    fn divisor_matches_div_safe() {
        let mut s: u64 = 0xDEAD_BEEF_CAFE_F00D;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut divisors: Vec<i64> = vec![
            1,
            2,
            3,
            7,
            65_535,
            ONE - 1,
            ONE,
            ONE + 1,
            i64::MAX,
            -1,
            0,
            -ONE,
        ];
        for _ in 0..300 {
            let r = next();
            divisors.push((r >> (r % 63)) as i64);
            divisors.push(((r % 300_000_000) as i64) << 32);
        }
        for &b in &divisors {
            let d = Divisor::new(b);
            for a in [
                0i64,
                1,
                ONE - 1,
                ONE,
                HALF,
                -1,
                i64::MAX,
                i64::MIN,
                65_535 * ONE,
                7 * ONE,
                ONE << 30,
            ] {
                assert_eq!(d.div_safe(a), div_safe(a, b), "{a} / {b}");
            }
            let k = Divisor::keep_if_zero(b);
            for a in [0i64, 1, -1, ONE, i64::MAX, i64::MIN, 7 * ONE] {
                let want = if b == 0 { a } else { div_safe(a, b) };
                assert_eq!(k.div_safe(a), want, "keep {a} / {b}");
            }
            for _ in 0..300 {
                let r = next();
                let a = (r >> (r % 64)) as i64 >> 1;
                let a = match r & 7 {
                    0 | 1 => a % ONE,
                    2 | 3 => ((r >> 20) as i64 % 70_000) << 32,
                    _ => a,
                };
                assert_eq!(d.div_safe(a), div_safe(a, b), "{a} / {b}");
            }
        }
    }

    /// `Recip::frac` is `x ⊘ d` wherever the dense loops use it (`0 ≤ x ≤ d`, and `x ≤ 2^32`),
    /// and keeps 0 for `d = 0`.
    #[test]
    fn recip_matches_div_safe() {
        let mut s: u64 = 0x005E_ED0F_4EC1_9ACE;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut divisors: Vec<u64> = vec![
            1,
            2,
            3,
            7,
            65_535,
            65_537,
            (1 << 31) - 1,
            1 << 31,
            (1 << 32) - 1,
            1 << 32,
            (1 << 32) + 1,
            65_535 << 32,
            (1 << 48) + 12_345,
            (1 << 62) + 1,
            i64::MAX as u64,
        ];
        for _ in 0..400 {
            let r = next();
            divisors.push((r >> (r % 64)).clamp(1, i64::MAX as u64));
        }
        // Every bit length, at and around the powers of two (where the multiplier's form
        // changes).
        for l in 1..63u32 {
            let p = 1u64 << l;
            divisors.extend([p - 1, p, p + 1, p + (p >> 1)]);
        }
        for &d in &divisors {
            let r = Recip::new(d);
            let top = d.min(1 << 32);
            let mut xs = vec![0u64, 1, top, top - 1, top / 2, d.min((1 << 32) - 1)];
            for _ in 0..200 {
                xs.push(next() % (top + 1));
            }
            for x in xs {
                let want = div_safe(x as i64, d as i64);
                assert_eq!(r.frac(x) as i64, want, "{x} / {d}");
            }
        }
        assert_eq!(Recip::new(0).frac(0), 0);
        // The whole-number form: `floor(u · 2^32 / D)` is `from_u16(u) ⊘ (D · 2^32)`.
        for &(u, d) in &[
            (0u16, 1u64),
            (1, 1),
            (65_535, 65_535),
            (3, 7),
            (65_535, (1 << 31) - 1),
        ] {
            assert_eq!(
                Recip::new(d).frac(u64::from(u)) as i64,
                div_safe(from_u16(u), (d as i64) << 32)
            );
        }
    }

    /// `div_small` against `/` over its range (`p < 2^62`): the ends, values near multiples of
    /// each divisor, and random ones.
    #[test]
    fn div_small_matches_division() {
        fn check<const D: u64>(ps: &[u64]) {
            for &p in ps {
                assert_eq!(div_small::<D>(p), p / D, "{p} / {D}");
            }
        }
        let mut s: u64 = 0x0123_4567_89AB_CDEF;
        let mut ps: Vec<u64> = vec![
            0,
            1,
            2,
            (1 << 62) - 1,
            (1 << 62) - 2,
            1 << 61,
            (1 << 32) - 1,
        ];
        for k in 1..=31u64 {
            let top = ((1u64 << 62) - 1) / k * k;
            ps.extend([k, k - 1, k + 1, top, top - 1, top.saturating_sub(k)]);
        }
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ps.push((s >> 2) >> (s % 40));
        }
        macro_rules! all {
            ($($d:literal)*) => { $(check::<$d>(&ps);)* };
        }
        all!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }

    #[test]
    fn exp_matches_substrate_fixed() {
        let mut z = -20 * ONE;
        while z <= 20 * ONE {
            let want: I32F32 = exp(q(z)).unwrap_or(I32F32::from_bits(0));
            assert_eq!(exp_safe(z), want.to_bits(), "z bits {z}");
            z += 8_589_935; // about 20000 points
        }
        let mut s: u64 = 0x1234_5678_9ABC_DEF1;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let shift = (s % 40) as u32;
            let z = ((s >> 8) as i64 >> shift) % (25 * ONE);
            let want: I32F32 = exp(q(z.clamp(-20 * ONE, 20 * ONE))).unwrap_or(I32F32::from_bits(0));
            assert_eq!(exp_safe(z), want.to_bits(), "z bits {z}");
        }
        for z in [
            0,
            ONE,
            -ONE,
            HALF,
            -HALF,
            1,
            -1,
            20 * ONE,
            -20 * ONE,
            20 * ONE - 1,
            -20 * ONE + 1,
            19 * ONE,
            -19 * ONE,
        ] {
            let want: I32F32 = exp(q(z)).unwrap_or(I32F32::from_bits(0));
            assert_eq!(exp_safe(z), want.to_bits());
            assert_eq!(exp_safe_lanes([z; 8]), [want.to_bits(); 8], "lanes {z}");
        }
    }

    #[test]
    fn exp4_matches_exp() {
        let mut s: u64 = 0x0DDB_1A5E_5BAD_5EED;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for round in 0..5_000 {
            let mut z = [0i64; 4];
            for v in z.iter_mut() {
                let r = next();
                *v = match r % 9 {
                    0 => 0,
                    1 => ONE,
                    2 => -ONE,
                    3 => ((r >> 8) as i64) % (30 * ONE),
                    _ => ((r >> 8) as i64 >> (r % 40)) % (6 * ONE),
                };
            }
            assert_eq!(exp_safe4(z), z.map(exp_safe), "round {round}: {z:?}");
        }
        for round in 0..2_500 {
            let mut z = [0i64; 8];
            for v in z.iter_mut() {
                let r = next();
                *v = match r % 9 {
                    0 => 0,
                    1 => ONE,
                    2 => -ONE,
                    3 => ((r >> 8) as i64) % (30 * ONE),
                    _ => ((r >> 8) as i64 >> (r % 40)) % (6 * ONE),
                };
            }
            assert_eq!(exp_safe_lanes(z), z.map(exp_safe), "round {round}: {z:?}");
        }
        // The ends of the clamp, where terms and products are largest, and past them.
        let ends = [
            20 * ONE,
            20 * ONE - 1,
            19 * ONE + (ONE >> 1) + 12_345,
            20 * ONE + 1,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1,
        ];
        let both: [i64; 16] = core::array::from_fn(|k| {
            if k < 8 {
                ends[k]
            } else {
                ends[k - 8].wrapping_neg()
            }
        });
        assert_eq!(exp_safe_lanes(both), both.map(exp_safe));
    }

    #[test]
    fn unit_factor_is_the_floor_product() {
        let ends = [0u64, 1, 2, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32];
        let mut s: u64 = 0x005E_ED0F_F1CE;
        let mut vals: Vec<u64> = ends.to_vec();
        for _ in 0..2_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            vals.push(s % ((1 << 32) + 1));
        }
        for &x in &vals {
            for &y in ends.iter().chain(vals.iter().take(40)) {
                let want = ((u128::from(x) * u128::from(y)) >> 32) as u64;
                assert_eq!(UnitFactor::new(y).mul(x), want, "{x} · {y}");
            }
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(
            ratio_u16(32_767),
            q(from_u16(32_767))
                .checked_div(q(U16_MAX_Q32))
                .map_or(0, I32F32::to_bits)
        );
        assert_eq!(ratio_u16(65_535), ONE);
        for b in 0..=u16::MAX {
            assert_eq!(u16_proportion(b), div_safe(from_u16(b), U16_MAX_Q32), "{b}");
            assert_eq!(u16_proportion(b), ratio_u16(b));
        }
        assert_eq!(to_u16(ONE), 65_535);
        assert_eq!(to_u16(-5), 0);
        assert_eq!(to_u16(i64::MAX), 65_535);
        for b in [1u16, 2, 100, 32_767, 65_534] {
            // P3: the u16 proportion round trip loses one unit.
            assert_eq!(to_u16(div_safe(from_u16(b), U16_MAX_Q32)), b - 1);
        }
        assert_eq!(narrow(I64F64::from_num(1)), ONE);
        assert_eq!(narrow(I64F64::max_value()), i64::MAX);
        assert_eq!(narrow_checked(I64F64::max_value()), None);
        assert_eq!(rao_share(ONE, 1_000), 1_000);
        assert_eq!(rao_share(HALF, 3), 1);
        assert_eq!(tao_weight_q64(u64::MAX), I64F64::from_num(1));
    }
}

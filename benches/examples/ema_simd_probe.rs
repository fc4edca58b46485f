//! A measurement probe, not product code: what Yuma 2's bonds-EMA cell (the hottest pass of the
//! epoch, benches/README.md Emission, eighth look) would cost with AVX-512 instead of the scalar
//! 64-bit arithmetic `mycel-protocol` is limited to by design (no_std, `forbid(unsafe_code)`, no
//! run-time dispatch). It answers "how much would allowing vector code there buy?" with a
//! number from this machine.
//!
//! Both sides compute, for every cell of `n` dense aligned rows (the benches' networks), exactly
//! the u64 form of `ema2_row` in protocol/src/emission/yuma.rs:
//! `w' = clip(c_j, w)`, `x = ⌊w'·a / 2^32⌋`, `inc = ⌊α·frac_Rj(x) / 2^32⌋`,
//! `old = ⌊(1 − α)·frac_Dj(b & kept_j) / 2^32⌋`, cell `inc + old`, with `frac_d` the public
//! [`Recip::frac`] (`⌊x·2^32 / d⌋`), reading and writing the same `(u16, i64)` / `(u16, u16)`
//! rows. The vector side takes the 64 × 64 → high-64 products of `frac` from four 32 × 32-bit
//! products (`vpmuludq`), eight cells per instruction, and reads the per-column constants from
//! structure-of-arrays tables. Every vector cell is compared bit for bit with the scalar one
//! (and the scalar `frac` with `Recip::frac`) before anything is timed; a difference aborts.
//! Timing: both sides alternated, `REPS` passes each, minimum and median per pass.
//!
//! `cargo run --release -p mycel-benches --example ema_simd_probe` (environment: `N`, default
//! 1024; `REPS`, default 200). On a CPU without AVX-512 F/DQ it says so and exits.
use mycel_benches::SplitMix;
use mycel_protocol::emission::fixed::Recip;

/// One column's constants, as `ema2_row` uses them.
#[derive(Clone, Copy)]
struct Col {
    /// `max(c_j, 0)`: `clip(c, w) = min(max(c, 0), w)` for `w ≥ 0`.
    cpos: u64,
    delta: Recip,
    bond: Recip,
    kept: u64,
}

/// `Recip::frac` from the constants of [`Recip::parts`], as the vector side computes it.
fn frac_parts(p: (u64, u64, u64), x: u64) -> u64 {
    let xp = x << p.1;
    let hi = ((u128::from(xp) * u128::from(p.0)) >> 64) as u64;
    xp.wrapping_add(hi) >> p.2
}

/// A column's `Recip` constants, widened for the vector shifts.
fn recip_parts(r: &Recip) -> (u64, u64, u64) {
    let (m, pre, post) = r.parts();
    (m, u64::from(pre), u64::from(post))
}

/// The scalar cell row, as `ema2_row` computes it (u64 form).
fn row_scalar(
    w_row: &[(u16, i64)],
    b_row: &[(u16, u16)],
    cols: &[Col],
    a: u64,
    alpha: u64,
    out: &mut [(u16, i64)],
) -> bool {
    let one_minus = (1u64 << 32) - alpha;
    let mut same = true;
    for ((slot, &(j, w)), &(jb, b)) in out.iter_mut().zip(w_row).zip(b_row) {
        same &= j == jb;
        let v = match cols.get(usize::from(j)) {
            Some(col) => {
                let w = col.cpos.min(w.unsigned_abs());
                let x = w.wrapping_mul(a) >> 32;
                let inc = alpha.wrapping_mul(col.delta.frac(x)) >> 32;
                let old = one_minus.wrapping_mul(col.bond.frac(u64::from(b) & col.kept)) >> 32;
                inc.wrapping_add(old) as i64
            }
            None => 0,
        };
        *slot = (j, v);
    }
    same
}

/// Structure-of-arrays column tables for the vector side.
struct Soa {
    cpos: Vec<u64>,
    dm: Vec<u64>,
    dpre: Vec<u64>,
    dpost: Vec<u64>,
    bm: Vec<u64>,
    bpre: Vec<u64>,
    bpost: Vec<u64>,
    kept: Vec<u64>,
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use core::arch::x86_64::*;

    use super::Soa;

    /// High 64 bits of the 64 × 64-bit products, from four 32 × 32-bit ones.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mulhi(a: __m512i, b: __m512i) -> __m512i {
        let m32 = _mm512_set1_epi64(0xFFFF_FFFF);
        let ah = _mm512_srli_epi64::<32>(a);
        let bh = _mm512_srli_epi64::<32>(b);
        let ll = _mm512_mul_epu32(a, b);
        let lh = _mm512_mul_epu32(a, bh);
        let hl = _mm512_mul_epu32(ah, b);
        let hh = _mm512_mul_epu32(ah, bh);
        let mid = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_srli_epi64::<32>(ll), _mm512_and_si512(lh, m32)),
            _mm512_and_si512(hl, m32),
        );
        _mm512_add_epi64(
            _mm512_add_epi64(hh, _mm512_srli_epi64::<32>(lh)),
            _mm512_add_epi64(_mm512_srli_epi64::<32>(hl), _mm512_srli_epi64::<32>(mid)),
        )
    }

    /// `Recip::frac` on eight lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn frac(x: __m512i, m: __m512i, pre: __m512i, post: __m512i) -> __m512i {
        let xp = _mm512_sllv_epi64(x, pre);
        _mm512_srlv_epi64(_mm512_add_epi64(xp, mulhi(xp, m)), post)
    }

    /// The cell row of `row_scalar` for a dense aligned row (`w_row[k].0 == k`, length a
    /// multiple of 8 and at most the tables' length); returns whether the uids matched.
    ///
    /// # Safety
    /// The CPU has AVX-512 F and DQ; the rows and `out` have the same length, a multiple of 8,
    /// at most the length of every table of `t`.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub unsafe fn row(
        w_row: &[(u16, i64)],
        b_row: &[(u16, u16)],
        t: &Soa,
        a: u64,
        alpha: u64,
        out: &mut [(u16, i64)],
    ) -> bool {
        let va = _mm512_set1_epi64(a as i64);
        let valpha = _mm512_set1_epi64(alpha as i64);
        let vone_minus = _mm512_set1_epi64(((1u64 << 32) - alpha) as i64);
        let m16 = _mm512_set1_epi64(0xFFFF);
        let odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
        let even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
        let lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
        let hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
        let mut same: __mmask8 = 0xFF;
        let wp: *const i64 = w_row.as_ptr().cast();
        let bp: *const u32 = b_row.as_ptr().cast();
        let op: *mut i64 = out.as_mut_ptr().cast();
        let ld = |v: &Vec<u64>, k: usize| unsafe { _mm512_loadu_si512(v.as_ptr().add(k).cast()) };
        let mut k = 0;
        while k + 8 <= w_row.len() {
            // SAFETY: entries k..k+8 of every row and table exist (caller contract); (u16, i64)
            // is 16 bytes (uid, padding, value), (u16, u16) 4 bytes.
            unsafe {
                let z0 = _mm512_loadu_si512(wp.add(2 * k).cast());
                let z1 = _mm512_loadu_si512(wp.add(2 * k + 8).cast());
                let w = _mm512_permutex2var_epi64(z0, odd, z1);
                let j = _mm512_and_si512(_mm512_permutex2var_epi64(z0, even, z1), m16);
                let bd = _mm512_cvtepu32_epi64(_mm256_loadu_si256(bp.add(k).cast()));
                let jb = _mm512_and_si512(bd, m16);
                let b = _mm512_srli_epi64::<16>(bd);
                same &= _mm512_cmpeq_epi64_mask(j, jb);
                let wc = _mm512_min_epu64(ld(&t.cpos, k), w);
                let x = _mm512_srli_epi64::<32>(_mm512_mullo_epi64(wc, va));
                let q = frac(x, ld(&t.dm, k), ld(&t.dpre, k), ld(&t.dpost, k));
                let inc = _mm512_srli_epi64::<32>(_mm512_mullo_epi64(valpha, q));
                let bk = _mm512_and_si512(b, ld(&t.kept, k));
                let q2 = frac(bk, ld(&t.bm, k), ld(&t.bpre, k), ld(&t.bpost, k));
                let old = _mm512_srli_epi64::<32>(_mm512_mullo_epi64(vone_minus, q2));
                let v = _mm512_add_epi64(inc, old);
                _mm512_storeu_si512(op.add(2 * k).cast(), _mm512_permutex2var_epi64(j, lo, v));
                _mm512_storeu_si512(
                    op.add(2 * k + 8).cast(),
                    _mm512_permutex2var_epi64(j, hi, v),
                );
            }
            k += 8;
        }
        same == 0xFF
    }
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("N", 1024) / 8 * 8;
    let reps = env("REPS", 200).max(3);
    #[cfg(target_arch = "x86_64")]
    let simd_ok = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq");
    #[cfg(not(target_arch = "x86_64"))]
    let simd_ok = false;
    // The vector side reads the rows' bytes: a tuple's layout is the compiler's choice, so it
    // is checked (uid in the first 8 bytes and value in the last, and (uid, bond) in order).
    let layout = core::mem::offset_of!((u16, i64), 0) == 0
        && core::mem::offset_of!((u16, i64), 1) == 8
        && core::mem::size_of::<(u16, i64)>() == 16
        && core::mem::offset_of!((u16, u16), 0) == 0
        && core::mem::offset_of!((u16, u16), 1) == 2;
    if !simd_ok || !layout || n == 0 {
        println!(
            "ema_simd_probe: skipped (needs x86-64 with AVX-512 F/DQ, N ≥ 8 and the row layout it reads)"
        );
        return;
    }
    println!("{}", mycel_benches::cpu_line());
    // A network like the benches': every row dense, weights in [0, 1] summing to about 1 per
    // row, consensus of the same size, stakes about 1/n, u16 bonds.
    let mut rng = SplitMix(0x5EED);
    let unit = 1u64 << 32;
    let per = unit / n as u64;
    let w_rows: Vec<Vec<(u16, i64)>> = (0..n)
        .map(|_| {
            (0..n)
                .map(|j| (j as u16, (rng.next_u64() % (2 * per + 1)) as i64))
                .collect()
        })
        .collect();
    let b_rows: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|_| (0..n).map(|j| (j as u16, rng.next_u64() as u16)).collect())
        .collect();
    let stakes: Vec<u64> = (0..n).map(|_| rng.next_u64() % (2 * per)).collect();
    let cons: Vec<u64> = (0..n).map(|_| rng.next_u64() % (2 * per + 1)).collect();
    let alpha = unit / 10;
    // Column sums as the epoch has them: R_j of the clipped products, D_j of the bonds (every
    // bond column kept but every 16th).
    let kept: Vec<u64> = (0..n)
        .map(|j| if j % 16 == 5 { 0 } else { u64::MAX })
        .collect();
    let mut r = vec![0u64; n];
    let mut d = vec![0u64; n];
    for ((wr, br), &a) in w_rows.iter().zip(&b_rows).zip(&stakes) {
        for (((&(_, w), &(_, b)), (rj, dj)), (&c, &k)) in wr
            .iter()
            .zip(br)
            .zip(r.iter_mut().zip(d.iter_mut()))
            .zip(cons.iter().zip(&kept))
        {
            *rj += c.min(w.unsigned_abs()).wrapping_mul(a) >> 32;
            *dj += u64::from(b) & k;
        }
    }
    let cols: Vec<Col> = (0..n)
        .map(|j| Col {
            cpos: cons[j],
            delta: Recip::new(r[j]),
            bond: Recip::new(d[j]),
            kept: kept[j],
        })
        .collect();
    let dp: Vec<(u64, u64, u64)> = cols.iter().map(|c| recip_parts(&c.delta)).collect();
    let bpp: Vec<(u64, u64, u64)> = cols.iter().map(|c| recip_parts(&c.bond)).collect();
    let soa = Soa {
        cpos: cons.clone(),
        dm: dp.iter().map(|p| p.0).collect(),
        dpre: dp.iter().map(|p| p.1).collect(),
        dpost: dp.iter().map(|p| p.2).collect(),
        bm: bpp.iter().map(|p| p.0).collect(),
        bpre: bpp.iter().map(|p| p.1).collect(),
        bpost: bpp.iter().map(|p| p.2).collect(),
        kept: kept.clone(),
    };
    // Check: `frac` from `Recip::parts` against `Recip::frac`, then every vector cell against the
    // scalar one.
    let mut out_s = vec![(0u16, 0i64); n];
    let mut out_v = vec![(0u16, 0i64); n];
    for (i, (wr, br)) in w_rows.iter().zip(&b_rows).enumerate() {
        let a = stakes[i];
        for (j, (&(_, w), &(_, b))) in wr.iter().zip(br).enumerate() {
            let x = cons[j].min(w.unsigned_abs()).wrapping_mul(a) >> 32;
            assert_eq!(
                frac_parts(dp[j], x),
                cols[j].delta.frac(x),
                "frac (delta), column {j}"
            );
            let y = u64::from(b) & kept[j];
            assert_eq!(
                frac_parts(bpp[j], y),
                cols[j].bond.frac(y),
                "frac (bond), column {j}"
            );
        }
        assert!(row_scalar(wr, br, &cols, a, alpha, &mut out_s));
        // SAFETY: AVX-512 F/DQ detected above; rows of length n (a multiple of 8) = tables'.
        assert!(unsafe { run_simd(wr, br, &soa, a, alpha, &mut out_v) });
        assert_eq!(
            out_s, out_v,
            "row {i}: vector cells differ from the scalar ones"
        );
    }
    println!("n = {n}: {} cells, vector ≡ scalar bit for bit", n * n);
    let mut ts = Vec::new();
    let mut tv = Vec::new();
    let mut sink = 0i64;
    for rep in 0..reps {
        for side in [rep % 2, 1 - rep % 2] {
            let t0 = std::time::Instant::now();
            for (i, (wr, br)) in w_rows.iter().zip(&b_rows).enumerate() {
                if side == 0 {
                    row_scalar(wr, br, &cols, stakes[i], alpha, &mut out_s);
                } else {
                    // SAFETY: as above.
                    unsafe { run_simd(wr, br, &soa, stakes[i], alpha, &mut out_v) };
                }
            }
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            sink = sink
                .wrapping_add(out_s[n / 2].1)
                .wrapping_add(out_v[n / 3].1);
            if side == 0 { ts.push(ms) } else { tv.push(ms) }
        }
    }
    ts.sort_by(f64::total_cmp);
    tv.sort_by(f64::total_cmp);
    let (smin, smed, vmin, vmed) = (ts[0], ts[reps / 2], tv[0], tv[reps / 2]);
    let ns = |ms: f64| ms * 1e6 / (n * n) as f64;
    println!(
        "scalar (the protocol's u64 form): min {smin:.3} ms, median {smed:.3} ms ({:.2} / {:.2} ns per cell)",
        ns(smin),
        ns(smed)
    );
    println!(
        "AVX-512 (vpmuludq partial products): min {vmin:.3} ms, median {vmed:.3} ms ({:.2} / {:.2} ns per cell)",
        ns(vmin),
        ns(vmed)
    );
    println!(
        "speed-up: {:.2}× by minimum, {:.2}× by median (sink {sink})",
        smin / vmin,
        smed / vmed
    );
}

/// # Safety
/// As [`simd::row`].
#[cfg(target_arch = "x86_64")]
unsafe fn run_simd(
    w: &[(u16, i64)],
    b: &[(u16, u16)],
    t: &Soa,
    a: u64,
    alpha: u64,
    out: &mut [(u16, i64)],
) -> bool {
    // SAFETY: the caller's contract.
    unsafe { simd::row(w, b, t, a, alpha, out) }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn run_simd(
    _: &[(u16, i64)],
    _: &[(u16, u16)],
    _: &Soa,
    _: u64,
    _: u64,
    _: &mut [(u16, i64)],
) -> bool {
    false
}

//! Attention: scalar ≡ AVX2 bit parity and thread-count invariance in verifiable mode,
//! agreement with an independent f64 reference, fast-vs-verifiable tolerance (spec/kernels.md
//! "Attention"), the exp's accuracy, and typed errors.

use mycel_kernels::attention::{
    AttentionMode, AttentionParams, AttnInput, CANONICAL_NAN_BITS, attention, attention_f32_into,
    default_scale, exp_fast, exp_verifiable, exp_verifiable_slice,
};
use mycel_kernels::{Backend, Error, cpu};
use proptest::prelude::*;

const U: f64 = 1.0 / (1u64 << 24) as f64; // f32 unit roundoff

/// splitmix64 → uniform f32 in [-amp, amp).
fn rand_vec(seed: u64, n: usize, amp: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

/// The textbook definition in f64: softmax(q·kᵀ·scale + mask)·v, no tiling, libm exp.
fn reference_f64(p: &AttentionParams, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f64> {
    let d = p.head_dim;
    let group = p.n_heads / p.n_kv_heads;
    let scale = p.scale.unwrap_or(1.0 / (d as f32).sqrt()) as f64;
    let mut out = vec![0.0f64; p.n_heads * p.q_len * d];
    for h in 0..p.n_heads {
        let kvh = h / group;
        for i in 0..p.q_len {
            let n = if p.causal {
                p.kv_len - p.q_len + i + 1
            } else {
                p.kv_len
            };
            let qr = &q[(h * p.q_len + i) * d..][..d];
            let s: Vec<f64> = (0..n)
                .map(|j| {
                    let kr = &k[(kvh * p.kv_len + j) * d..][..d];
                    qr.iter()
                        .zip(kr)
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum::<f64>()
                        * scale
                })
                .collect();
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let w: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
            let l: f64 = w.iter().sum();
            let o = &mut out[(h * p.q_len + i) * d..][..d];
            for (j, wj) in w.iter().enumerate() {
                let vr = &v[(kvh * p.kv_len + j) * d..][..d];
                for (oc, &vc) in o.iter_mut().zip(vr) {
                    *oc += wj * vc as f64;
                }
            }
            for oc in o.iter_mut() {
                *oc /= l;
            }
        }
    }
    out
}

/// The spec's tolerance between fast and verifiable mode (and, as a sanity bound, between
/// verifiable mode and the exact result): `max|V| · (2^-13 + 4 · kv_len · 2^-24)`.
fn tolerance(kv_len: usize, v: &[f32]) -> f64 {
    let vmax = v.iter().fold(0.0f64, |a, &x| a.max(x.abs() as f64));
    vmax * (1.0 / 8192.0 + 4.0 * kv_len as f64 * U)
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[derive(Debug, Clone, Copy)]
enum Dt {
    F32,
    F16,
    Bf16,
}

/// Round the values to the dtype (so the f32 copy holds exactly what the dtype holds), and run.
#[allow(clippy::too_many_arguments)]
fn run_dt(
    p: &AttentionParams,
    dt: Dt,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mode: AttentionMode,
    backend: Backend,
    threads: usize,
) -> Vec<f32> {
    let r = match dt {
        Dt::F32 => attention(
            p,
            AttnInput::F32(q),
            AttnInput::F32(k),
            AttnInput::F32(v),
            mode,
            backend,
            threads,
        ),
        Dt::F16 => {
            let c = |x: &[f32]| {
                x.iter()
                    .map(|&y| half::f16::from_f32(y))
                    .collect::<Vec<_>>()
            };
            let (q, k, v) = (c(q), c(k), c(v));
            attention(
                p,
                AttnInput::F16(&q),
                AttnInput::F16(&k),
                AttnInput::F16(&v),
                mode,
                backend,
                threads,
            )
        }
        Dt::Bf16 => {
            let c = |x: &[f32]| {
                x.iter()
                    .map(|&y| half::bf16::from_f32(y))
                    .collect::<Vec<_>>()
            };
            let (q, k, v) = (c(q), c(k), c(v));
            attention(
                p,
                AttnInput::Bf16(&q),
                AttnInput::Bf16(&k),
                AttnInput::Bf16(&v),
                mode,
                backend,
                threads,
            )
        }
    };
    r.unwrap()
}

fn round_to(dt: Dt, x: &[f32]) -> Vec<f32> {
    match dt {
        Dt::F32 => x.to_vec(),
        Dt::F16 => x.iter().map(|&y| half::f16::from_f32(y).to_f32()).collect(),
        Dt::Bf16 => x
            .iter()
            .map(|&y| half::bf16::from_f32(y).to_f32())
            .collect(),
    }
}

fn avx2() -> bool {
    if cpu::avx2_available() {
        true
    } else {
        eprintln!("skipping the AVX2 half of this test: this CPU lacks AVX2/FMA/F16C");
        false
    }
}

/// A random attention configuration.
fn config() -> impl Strategy<Value = (AttentionParams, Dt, u64)> {
    (
        prop::sample::select(vec![64usize, 128]),
        1usize..=3,                               // n_kv_heads
        prop::sample::select(vec![1usize, 2, 4]), // group
        any::<bool>(),                            // causal
        0u8..3,                                   // 0 prefill, 1 decode, 2 q_len < kv_len
        1usize..=150,                             // kv_len
        prop::sample::select(vec![Dt::F32, Dt::F16, Dt::Bf16]),
        any::<u64>(),
    )
        .prop_map(|(d, nkv, grp, causal, shape, kv, dt, seed)| {
            let q_len = match shape {
                0 => kv.min(70),
                1 => 1,
                _ => (kv / 3).max(1),
            };
            let kv = if shape == 0 { q_len } else { kv };
            (
                AttentionParams::new(nkv * grp, nkv, q_len, kv, d).causal(causal),
                dt,
                seed,
            )
        })
}

fn inputs(p: &AttentionParams, dt: Dt, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let q = round_to(dt, &rand_vec(seed, p.q_elems().unwrap(), 2.0));
    let k = round_to(dt, &rand_vec(seed ^ 1, p.kv_elems().unwrap(), 2.0));
    let v = round_to(dt, &rand_vec(seed ^ 2, p.kv_elems().unwrap(), 1.0));
    (q, k, v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Verifiable mode: scalar ≡ AVX2 bit for bit, for 1 and 3 threads; f16/bf16 inputs give
    /// the same bits as their exact f32 widening; the result is within tolerance of f64.
    #[test]
    fn verifiable_parity_and_accuracy((p, dt, seed) in config()) {
        let (q, k, v) = inputs(&p, dt, seed);
        let m = AttentionMode::Verifiable;
        let reference = run_dt(&p, dt, &q, &k, &v, m, Backend::Scalar, 1);
        prop_assert_eq!(bits(&reference), bits(&run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Scalar, 1)));
        prop_assert_eq!(bits(&reference), bits(&run_dt(&p, dt, &q, &k, &v, m, Backend::Scalar, 3)));
        if avx2() {
            prop_assert_eq!(bits(&reference), bits(&run_dt(&p, dt, &q, &k, &v, m, Backend::Avx2, 1)));
            prop_assert_eq!(bits(&reference), bits(&run_dt(&p, dt, &q, &k, &v, m, Backend::Avx2, 3)));
        }
        let exact = reference_f64(&p, &q, &k, &v);
        let tol = tolerance(p.kv_len, &v);
        for (a, b) in reference.iter().zip(&exact) {
            prop_assert!((*a as f64 - b).abs() <= tol, "verifiable {} vs f64 {} (tol {})", a, b, tol);
        }
    }

    /// Fast mode (scalar and AVX2) agrees with verifiable mode within the stated tolerance.
    #[test]
    fn fast_within_tolerance((p, dt, seed) in config()) {
        let (q, k, v) = inputs(&p, dt, seed);
        let verifiable = run_dt(&p, dt, &q, &k, &v, AttentionMode::Verifiable, Backend::Scalar, 1);
        let tol = tolerance(p.kv_len, &v);
        let mut backends = vec![Backend::Scalar];
        if avx2() {
            backends.push(Backend::Avx2);
        }
        for b in backends {
            let fast = run_dt(&p, dt, &q, &k, &v, AttentionMode::Fast, b, 2);
            for (a, x) in fast.iter().zip(&verifiable) {
                prop_assert!(((a - x).abs() as f64) <= tol, "fast {} vs verifiable {} (tol {})", a, x, tol);
            }
        }
    }
}

/// Longer rows than the proptest sizes: several tiles, a GQA ratio of 8, decode over 1000 keys.
#[test]
fn long_rows_parity() {
    for (p, seed) in [
        (AttentionParams::new(8, 1, 1, 1000, 128).causal(true), 7u64),
        (AttentionParams::new(4, 2, 130, 130, 64).causal(true), 8),
        (AttentionParams::new(2, 2, 5, 333, 128), 9),
    ] {
        let (q, k, v) = inputs(&p, Dt::F32, seed);
        let m = AttentionMode::Verifiable;
        let s = run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Scalar, 1);
        if avx2() {
            assert_eq!(
                bits(&s),
                bits(&run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Avx2, 2))
            );
        }
        let exact = reference_f64(&p, &q, &k, &v);
        let tol = tolerance(p.kv_len, &v);
        let worst = s
            .iter()
            .zip(&exact)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= tol, "worst {worst} > tol {tol}");
    }
}

/// f16/bf16 prefill large enough that the inputs are widened up front in several pieces over
/// the worker threads, with zeros of both signs, subnormals and an infinity among the inputs:
/// the same bits as f32 inputs holding the same values on the same backend, for 1, 2 and 3
/// threads, and in verifiable mode the scalar reference's bits.
#[test]
fn half_inputs_widened_in_parallel() {
    let p = AttentionParams::new(8, 2, 100, 100, 128).causal(true);
    for (dt, tiny) in [(Dt::F16, 3.0e-6f32), (Dt::Bf16, 3.0e-39)] {
        let (mut q, mut k, mut v) = inputs(&p, dt, 11);
        for (i, x) in q.iter_mut().enumerate().step_by(97) {
            *x = if i % 2 == 0 { -0.0 } else { tiny };
        }
        for x in k.iter_mut().step_by(89) {
            *x = -tiny;
        }
        v[128 * 150 + 5] = f32::INFINITY;
        let (q, k, v) = (round_to(dt, &q), round_to(dt, &k), round_to(dt, &v));
        // `tiny` is a subnormal of the dtype (an f16 subnormal is a normal f32).
        let t = round_to(dt, &[tiny])[0];
        let sub = match dt {
            Dt::F16 => half::f16::from_f32(t).to_bits() & 0x7C00 == 0,
            _ => t.is_subnormal(),
        };
        assert!(t != 0.0 && sub && q.contains(&t) && k.contains(&-t));
        for mode in [AttentionMode::Verifiable, AttentionMode::Fast] {
            let reference = bits(&run_dt(&p, Dt::F32, &q, &k, &v, mode, Backend::Scalar, 1));
            for threads in [1, 2, 3] {
                let got = run_dt(&p, dt, &q, &k, &v, mode, Backend::Scalar, threads);
                assert_eq!(
                    reference,
                    bits(&got),
                    "{dt:?} {mode:?} scalar, {threads} threads"
                );
                if avx2() {
                    let f32_avx = run_dt(&p, Dt::F32, &q, &k, &v, mode, Backend::Avx2, threads);
                    let got = run_dt(&p, dt, &q, &k, &v, mode, Backend::Avx2, threads);
                    assert_eq!(
                        bits(&f32_avx),
                        bits(&got),
                        "{dt:?} {mode:?} {threads} threads"
                    );
                    if mode == AttentionMode::Verifiable {
                        assert_eq!(reference, bits(&got), "{dt:?} avx2, {threads} threads");
                    }
                }
            }
        }
    }
}

/// Non-finite inputs: the result is defined (NaN outputs are the canonical NaN) and identical
/// on every backend.
#[test]
fn non_finite_inputs_agree() {
    let p = AttentionParams::new(2, 1, 3, 70, 64).causal(true);
    let (mut q, mut k, v) = inputs(&p, Dt::F32, 3);
    q[5] = f32::INFINITY;
    k[64 * 40 + 3] = f32::NAN;
    k[64 * 2] = f32::NEG_INFINITY;
    let m = AttentionMode::Verifiable;
    let s = run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Scalar, 1);
    assert!(s.iter().any(|x| x.is_nan()));
    assert!(
        s.iter()
            .filter(|x| x.is_nan())
            .all(|x| x.to_bits() == CANONICAL_NAN_BITS)
    );
    if avx2() {
        assert_eq!(
            bits(&s),
            bits(&run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Avx2, 2))
        );
    }
}

/// Keys that all score the same weight the values equally; a single key returns its value.
#[test]
fn known_answers() {
    // One key: p = exp(0) = 1, l = 1, out = v exactly.
    let p = AttentionParams::new(1, 1, 1, 1, 64);
    let q = rand_vec(1, 64, 1.0);
    let k = rand_vec(2, 64, 1.0);
    let v = rand_vec(3, 64, 1.0);
    for b in [Backend::Scalar, Backend::Auto] {
        let out = attention(
            &p,
            AttnInput::F32(&q),
            AttnInput::F32(&k),
            AttnInput::F32(&v),
            AttentionMode::Verifiable,
            b,
            1,
        )
        .unwrap();
        assert_eq!(bits(&out), bits(&v));
    }
    // Zero queries: every weight is 1, out = (v0 + v1 + v2 + v3) / 4 summed in key order.
    let p = AttentionParams::new(1, 1, 1, 4, 64);
    let q = vec![0.0f32; 64];
    let k = rand_vec(4, 256, 1.0);
    let v: Vec<f32> = (0..256).map(|i| (i % 7) as f32 * 0.25).collect();
    let out = attention(
        &p,
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
        AttentionMode::Verifiable,
        Backend::Auto,
        1,
    )
    .unwrap();
    for c in 0..64 {
        let want = (v[c] + v[64 + c] + v[128 + c] + v[192 + c]) / 4.0;
        assert_eq!(out[c], want);
    }
}

#[test]
fn default_scale_bits() {
    assert_eq!(default_scale(64).unwrap().to_bits(), 0x3E00_0000);
    assert_eq!(default_scale(128).unwrap().to_bits(), 0x3DB5_04F3);
    assert_eq!(default_scale(96), Err(Error::UnsupportedHeadDim(96)));
}

/// ulp distance between an f32 and the exact value (in units of the f32's spacing there).
fn ulps(got: f32, exact: f64) -> f64 {
    let e = exact as f32;
    let spacing = (f32::from_bits(e.to_bits() + 1) - e) as f64;
    (got as f64 - exact).abs() / spacing
}

/// The spec's accuracy claim: at most 1 ulp over [−87, 88]; special values as specified.
#[test]
fn exp_accuracy_and_specials() {
    let mut worst = 0.0f64;
    let n = 400_000;
    for i in 0..=n {
        let x = -87.0 + 175.0 * i as f64 / n as f64;
        let x = x as f32;
        worst = worst.max(ulps(exp_verifiable(x), (x as f64).exp()));
    }
    // Dense near 0, where softmax weights live.
    for i in 0..100_000 {
        let x = -(i as f32) * 1e-4;
        worst = worst.max(ulps(exp_verifiable(x), (x as f64).exp()));
    }
    eprintln!("exp_verifiable: max error {worst:.3} ulp over [-87, 88]");
    assert!(worst <= 1.0, "exp_verifiable error {worst} ulp");
    assert_eq!(exp_verifiable(0.0).to_bits(), 1.0f32.to_bits());
    assert_eq!(exp_verifiable(-0.0).to_bits(), 1.0f32.to_bits());
    assert_eq!(exp_verifiable(f32::NEG_INFINITY).to_bits(), 0);
    assert_eq!(exp_verifiable(-200.0).to_bits(), 0);
    assert_eq!(exp_verifiable(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp_verifiable(100.0), f32::INFINITY);
    assert!(exp_verifiable(f32::NAN).is_nan());
    // Subnormal results are produced, not flushed: n = −126 and p < 1.
    let sub = exp_verifiable(-87.5);
    assert!(sub > 0.0 && !sub.is_normal());
    // Fast mode's exp: relative error below 4e-6 on the softmax range.
    let mut worst_rel = 0.0f64;
    for i in 0..=200_000 {
        let x = -80.0 * i as f32 / 200_000.0;
        let e = (x as f64).exp();
        worst_rel = worst_rel.max(((exp_fast(x) as f64) - e).abs() / e);
    }
    eprintln!("exp_fast: max relative error {worst_rel:.3e} over [-80, 0]");
    assert!(worst_rel < 4e-6);
}

/// The AVX2 exp gives the scalar's bits on every class of input.
#[test]
fn exp_backend_parity() {
    if !avx2() {
        return;
    }
    let mut xs: Vec<f32> = rand_vec(11, 100_000, 120.0);
    xs.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -87.5,
        -87.3,
        -103.0,
        -104.0,
        88.0,
        88.7,
        89.0,
        f32::MIN,
        f32::MAX,
        1e-30,
        -1e-30,
        -f32::MIN_POSITIVE,
    ]);
    xs.extend((0..20_000).map(|i| -(i as f32) * 0.004_33));
    let mut a = vec![0.0; xs.len()];
    let mut b = vec![0.0; xs.len()];
    exp_verifiable_slice(&xs, &mut a, Backend::Scalar).unwrap();
    exp_verifiable_slice(&xs, &mut b, Backend::Avx2).unwrap();
    for ((x, y), z) in xs.iter().zip(&a).zip(&b) {
        assert!(
            y.to_bits() == z.to_bits() || (y.is_nan() && z.is_nan()),
            "exp({x}): {y} vs {z}"
        );
        if !x.is_nan() {
            assert_eq!(y.to_bits(), exp_verifiable(*x).to_bits());
        }
    }
}

#[test]
fn typed_errors_and_no_partial_output() {
    let ok = AttentionParams::new(4, 2, 3, 5, 64);
    let q = vec![0.5f32; 4 * 3 * 64];
    let kv = vec![0.5f32; 2 * 5 * 64];
    let run = |p: &AttentionParams, q: &[f32], k: &[f32], v: &[f32]| {
        let mut out = vec![7.0f32; q.len()];
        let r = attention_f32_into(
            p,
            q,
            k,
            v,
            &mut out,
            AttentionMode::Verifiable,
            Backend::Auto,
            0,
        );
        if r.is_err() {
            assert!(out.iter().all(|&x| x == 7.0), "output touched on error");
        }
        r
    };
    assert_eq!(run(&ok, &q, &kv, &kv), Ok(()));
    let bad_dim = AttentionParams { head_dim: 96, ..ok };
    assert_eq!(
        run(&bad_dim, &q, &kv, &kv),
        Err(Error::UnsupportedHeadDim(96))
    );
    let bad_heads = AttentionParams { n_heads: 3, ..ok };
    assert_eq!(
        run(&bad_heads, &q, &kv, &kv),
        Err(Error::HeadConfig {
            n_heads: 3,
            n_kv_heads: 2
        })
    );
    let zero_kv = AttentionParams {
        n_kv_heads: 0,
        ..ok
    };
    assert!(matches!(
        run(&zero_kv, &q, &kv, &kv),
        Err(Error::HeadConfig { .. })
    ));
    let zero_len = AttentionParams { kv_len: 0, ..ok };
    assert!(matches!(
        run(&zero_len, &q, &kv, &kv),
        Err(Error::ShapeMismatch(_))
    ));
    let causal_long = AttentionParams {
        q_len: 6,
        causal: true,
        ..ok
    };
    let q6 = vec![0.5f32; 4 * 6 * 64];
    assert!(matches!(
        run(&causal_long, &q6, &kv, &kv),
        Err(Error::ShapeMismatch(_))
    ));
    assert_eq!(
        run(&ok, &q[1..], &kv, &kv),
        Err(Error::BufferLength {
            expected: 4 * 3 * 64 * 4,
            actual: (4 * 3 * 64 - 1) * 4
        })
    );
    assert!(matches!(
        run(&ok, &q, &kv[..100], &kv),
        Err(Error::BufferLength { .. })
    ));
    assert!(matches!(
        run(&ok, &q, &kv, &kv[..640 - 64]),
        Err(Error::BufferLength { .. })
    ));
    let nan_scale = ok.with_scale(f32::NAN);
    assert_eq!(run(&nan_scale, &q, &kv, &kv), Err(Error::InvalidScale));
    let huge = AttentionParams::new(usize::MAX / 2, 1, 4, 4, 64);
    assert!(matches!(huge.validate(), Err(Error::SizeOverflow(_))));
    assert_eq!(Error::UnsupportedHeadDim(96).code(), "unsupported_head_dim");
    assert_eq!(
        Error::HeadConfig {
            n_heads: 3,
            n_kv_heads: 2
        }
        .code(),
        "head_config"
    );
    // f16 input with a short buffer reports bytes of f16.
    let qh = vec![half::f16::ZERO; 10];
    let r = attention(
        &ok,
        AttnInput::F16(&qh),
        AttnInput::F32(&kv),
        AttnInput::F32(&kv),
        AttentionMode::Fast,
        Backend::Scalar,
        1,
    );
    assert_eq!(
        r,
        Err(Error::BufferLength {
            expected: 4 * 3 * 64 * 2,
            actual: 20
        })
    );
    // Cuda without a device is the one typed "no device" error, not a panic.
    let r = attention(
        &ok,
        AttnInput::F32(&q),
        AttnInput::F32(&kv),
        AttnInput::F32(&kv),
        AttentionMode::Verifiable,
        Backend::Cuda(0),
        1,
    );
    if !mycel_kernels::cuda::available() {
        assert!(matches!(r, Err(Error::BackendUnavailable(_))), "{r:?}");
    }
}

/// An explicit scale is used as given.
#[test]
fn explicit_scale_changes_result() {
    let p = AttentionParams::new(2, 1, 4, 9, 64).causal(true);
    let (q, k, v) = inputs(&p, Dt::F32, 5);
    let a = run_dt(
        &p,
        Dt::F32,
        &q,
        &k,
        &v,
        AttentionMode::Verifiable,
        Backend::Scalar,
        1,
    );
    let b = run_dt(
        &p.with_scale(0.125),
        Dt::F32,
        &q,
        &k,
        &v,
        AttentionMode::Verifiable,
        Backend::Scalar,
        1,
    );
    assert_eq!(bits(&a), bits(&b)); // 0.125 is the default for head_dim 64
    let c = run_dt(
        &p.with_scale(0.5),
        Dt::F32,
        &q,
        &k,
        &v,
        AttentionMode::Verifiable,
        Backend::Scalar,
        1,
    );
    assert_ne!(bits(&a), bits(&c));
    let exact = reference_f64(&p.with_scale(0.5), &q, &k, &v);
    let tol = tolerance(p.kv_len, &v);
    assert!(
        c.iter()
            .zip(&exact)
            .all(|(a, b)| (*a as f64 - b).abs() <= tol)
    );
}

/// Task execution: inputs come from the seed's Philox streams 1 (Q), 2 (K), 3 (V), rounded to
/// the dtype; verifiable tasks give the same bits on every backend and thread count.
#[test]
fn task_inputs_and_execution() {
    use mycel_kernels::attention::task::{TaskTensors, generate_inputs, run_task, task_params};
    use mycel_kernels::philox::{
        STREAM_ATTN_K, STREAM_ATTN_Q, STREAM_ATTN_V, StreamKey, u32_to_f32,
    };
    use mycel_protocol::task::{AttnDtype, AttnMode, KernelParams};

    let seed = [7u8; 32];
    for dtype in [AttnDtype::F32, AttnDtype::F16, AttnDtype::Bf16] {
        let kp = KernelParams::Attention {
            n_heads: 4,
            n_kv_heads: 2,
            q_len: 9,
            kv_len: 77,
            head_dim: 64,
            causal: true,
            dtype,
            mode: AttnMode::Verifiable,
        };
        let (p, dt, mode) = task_params(&kp).unwrap();
        assert_eq!(
            (
                p.n_heads,
                p.n_kv_heads,
                p.q_len,
                p.kv_len,
                p.head_dim,
                p.causal
            ),
            (4, 2, 9, 77, 64, true)
        );
        assert_eq!((dt, mode), (dtype, AttentionMode::Verifiable));
        // Element 4j + w of a stream is word w of Philox block j.
        let first = |stream: u32, idx: u64| {
            u32_to_f32(StreamKey::derive(&seed, stream).block(idx / 4)[(idx % 4) as usize])
        };
        let widened = |t: &TaskTensors| -> (Vec<f32>, Vec<f32>, Vec<f32>) {
            match t {
                TaskTensors::F32(q, k, v) => (q.clone(), k.clone(), v.clone()),
                TaskTensors::F16(q, k, v) => {
                    let w = |x: &[half::f16]| x.iter().map(|y| y.to_f32()).collect();
                    (w(q), w(k), w(v))
                }
                TaskTensors::Bf16(q, k, v) => {
                    let w = |x: &[half::bf16]| x.iter().map(|y| y.to_f32()).collect();
                    (w(q), w(k), w(v))
                }
            }
        };
        let t = generate_inputs(&p, dtype, &seed).unwrap();
        let (q, k, v) = widened(&t);
        assert_eq!(
            (q.len(), k.len(), v.len()),
            (4 * 9 * 64, 2 * 77 * 64, 2 * 77 * 64)
        );
        let dtr = match dtype {
            AttnDtype::F32 => Dt::F32,
            AttnDtype::F16 => Dt::F16,
            _ => Dt::Bf16,
        };
        for (x, stream, idx) in [
            (&q, STREAM_ATTN_Q, 5u64),
            (&k, STREAM_ATTN_K, 1000),
            (&v, STREAM_ATTN_V, 9855),
        ] {
            assert_eq!(
                x[idx as usize].to_bits(),
                round_to(dtr, &[first(stream, idx)])[0].to_bits()
            );
        }
        let a = run_task(&kp, &seed, Backend::Scalar, 1).unwrap();
        assert_eq!(
            bits(&a),
            bits(&run_dt(&p, dtr, &q, &k, &v, mode, Backend::Scalar, 1))
        );
        if avx2() {
            assert_eq!(
                bits(&a),
                bits(&run_task(&kp, &seed, Backend::Avx2, 2).unwrap())
            );
        }
        // A different seed gives different inputs.
        assert_ne!(
            bits(&a),
            bits(&run_task(&kp, &[8u8; 32], Backend::Scalar, 1).unwrap())
        );
    }
    let matmul = KernelParams::Matmul { m: 1, n: 32, k: 32 };
    assert!(matches!(
        run_task(&matmul, &seed, Backend::Scalar, 1),
        Err(Error::UnsupportedKernel(_))
    ));
}

/// `exec::execute` runs attention tasks: the output commitment is the same on every backend
/// and thread count in verifiable mode, and the tensor is the attention module's output.
#[test]
fn execute_attention_task() {
    use mycel_kernels::attention::task::run_task;
    use mycel_kernels::exec::execute;
    use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
    use mycel_protocol::task::{
        AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec,
    };

    for (dtype, causal) in [
        (AttnDtype::F32, true),
        (AttnDtype::Bf16, false),
        (AttnDtype::F16, true),
    ] {
        let params = KernelParams::Attention {
            n_heads: 8,
            n_kv_heads: 2,
            q_len: 1,
            kv_len: 200,
            head_dim: 128,
            causal,
            dtype,
            mode: AttnMode::Verifiable,
        };
        let task = TaskSpec {
            network: NetworkId([1; 32]),
            subnet: SubnetId(2),
            epoch: Epoch(3),
            kernel: KernelId::Attention,
            kernel_version: KERNEL_VERSION,
            params,
            weights_digest: Digest([0; 32]),
            input_seed: [9; 32],
        };
        let a = execute(&task, None, Backend::Scalar, 1).unwrap();
        assert_eq!(a.output.shape(), &[8, 1, 128]);
        let direct = run_task(&params, &task.input_seed, Backend::Scalar, 1).unwrap();
        let bytes: Vec<u8> = direct.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(a.output.as_bytes(), &bytes[..]);
        if avx2() {
            let b = execute(&task, None, Backend::Avx2, 2).unwrap();
            assert_eq!(a.commitment, b.commitment);
            assert_eq!(a.tile_root, b.tile_root);
        }
    }
}

/// `Backend::Cuda` reaches the CUDA backend: the scalar reference's exact bits with a device,
/// a typed error without one (`backend_unavailable` whenever there is no device).
#[test]
fn cuda_backend_dispatch() {
    let p = AttentionParams::new(4, 2, 17, 17, 64).causal(true);
    let (q, k, v) = inputs(&p, Dt::F32, 11);
    let m = AttentionMode::Verifiable;
    let want = run_dt(&p, Dt::F32, &q, &k, &v, m, Backend::Scalar, 1);
    let got = attention(
        &p,
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
        m,
        Backend::Cuda(0),
        1,
    );
    match got {
        Ok(y) => assert_eq!(bits(&y), bits(&want)),
        Err(e) => {
            assert!(
                matches!(e, Error::BackendUnavailable(_) | Error::Cuda(_)),
                "{e:?}"
            );
            if !mycel_kernels::cuda::available() {
                assert_eq!(e.code(), "backend_unavailable");
            }
        }
    }
}

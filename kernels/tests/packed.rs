//! Packed decode weights (`mycel_kernels::packed`, spec/kernels.md §4.6): the layout byte for
//! byte, bit identity with the plain matmul and with the contract written out independently
//! (random shapes, thread counts, M, hostile block bytes, −128 on either side), and the errors.

use half::f16;
use mycel_kernels::matmul::{Weights, matmul, matmul_q8};
use mycel_kernels::packed::{GROUP_ROWS, PackedWeights, matmul_packed, matmul_packed_q8};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{BlockQ8_0, QuantFormat, quantize_q8_0};
use mycel_kernels::{Backend, Error, cpu};
use proptest::prelude::*;

mod common;
use common::{bits, contract, q8_bytes, weights_bytes};

/// The packed layout of spec/kernels.md §4.6, written out independently.
fn pack_by_spec(w_bytes: &[u8], k: usize, format: QuantFormat) -> Vec<u8> {
    let nb = k / 32;
    let bs = format.block_bytes();
    let q = bs - 2;
    let n = w_bytes.len() / (nb * bs);
    let mut out = Vec::with_capacity(w_bytes.len());
    for g in 0..n / 8 {
        let blk = |r: usize, b: usize| &w_bytes[((8 * g + r) * nb + b) * bs..][..bs];
        for b in 0..nb {
            for r in 0..8 {
                out.extend_from_slice(&blk(r, b)[..2]);
            }
        }
        for b in 0..nb {
            for j in 0..q / 4 {
                for r in 0..8 {
                    out.extend_from_slice(&blk(r, b)[2 + 4 * j..][..4]);
                }
            }
        }
    }
    out.extend_from_slice(&w_bytes[(n / 8) * 8 * nb * bs..]);
    out
}

fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Scalar, Backend::Auto];
    if cpu::avx2_available() {
        v.push(Backend::Avx2);
    } else {
        eprintln!("skipping the AVX2 half of this test: this CPU lacks AVX2/FMA/F16C");
    }
    v
}

/// Packed on every backend = plain scalar = the contract, for quantized activations `xq`.
fn check_q8(xq: &[BlockQ8_0], m: usize, k: usize, wb: &[u8], format: QuantFormat, threads: usize) {
    let w = Weights::from_bytes(format, wb, k).unwrap();
    let p = PackedWeights::new(&w).unwrap();
    assert_eq!(
        p.as_bytes(),
        pack_by_spec(wb, k, format),
        "layout {format:?} k={k}"
    );
    assert_eq!(p.as_bytes().as_ptr() as usize % 64, 0, "alignment");
    let want = bits(&contract(xq, m, k, wb, format));
    let plain = matmul_q8(xq, m, &w, Backend::Scalar, threads).unwrap();
    assert_eq!(bits(&plain), want, "plain scalar vs contract");
    for backend in backends() {
        let got = matmul_packed_q8(xq, m, &p, backend, threads).unwrap();
        assert_eq!(
            bits(&got),
            want,
            "packed {backend:?} vs contract m={m} k={k} n={} {format:?} t={threads}",
            w.n()
        );
    }
}

/// As [`check_q8`] for f32 activations through the quantizer, against the plain matmul.
fn check_f32(x: &[f32], m: usize, k: usize, wb: &[u8], format: QuantFormat, threads: usize) {
    let w = Weights::from_bytes(format, wb, k).unwrap();
    let p = PackedWeights::new(&w).unwrap();
    let want = bits(&matmul(x, m, &w, Backend::Scalar, threads).unwrap());
    for backend in backends() {
        let got = matmul_packed(x, m, &p, backend, threads).unwrap();
        assert_eq!(
            bits(&got),
            want,
            "packed {backend:?} vs plain m={m} k={k} {format:?}"
        );
    }
    check_q8(&quantize_q8_0(x, k).unwrap(), m, k, wb, format, threads);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn packed_agrees_on_random_shapes(
        m in 1usize..=3,
        n in 1usize..=41,
        kb in 1usize..=9,
        q4 in any::<bool>(),
        threads in 1usize..=3,
        seed in any::<u8>(),
        scale_exp in -6i32..=6,
    ) {
        let k = kb * 32;
        let format = if q4 { QuantFormat::Q4_0 } else { QuantFormat::Q8_0 };
        let scale = 2f32.powi(scale_exp * 3);
        let x: Vec<f32> = generate_uniform(&[seed ^ 0x55; 32], 0, m * k).unwrap().iter().map(|v| v * scale).collect();
        let wb = weights_bytes(format, n, k, seed);
        check_f32(&x, m, k, &wb, format, threads);
    }

    /// Arbitrary bytes on both sides: Q8_0 weights and activations of −128, f16 scales that are
    /// subnormal, huge, infinite or NaN.
    #[test]
    fn packed_agrees_on_arbitrary_block_bytes(
        raw in proptest::collection::vec(any::<u8>(), 34 * 24 * 3),
        xraw in proptest::collection::vec(any::<u8>(), 34 * 3 * 2),
        n in 1usize..=24,
        m in 1usize..=2,
        q4 in any::<bool>(),
        threads in 1usize..=2,
    ) {
        let format = if q4 { QuantFormat::Q4_0 } else { QuantFormat::Q8_0 };
        let k = 96;
        let wb = &raw[..n * 3 * format.block_bytes()];
        let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&xraw[..m * 3 * 34]).to_vec();
        check_q8(&xq, m, k, wb, format, threads);
    }
}

/// Q8_0 blocks with every value `v` and scale 1.0.
fn q8_blocks(vals: &[i8]) -> Vec<u8> {
    q8_bytes(vals, |_| 1.0)
}

/// The extremes of the integer products: weights and activations of −128 and ±127 (the sign
/// trick's saturation and wrap cases), in groups with and without a −128 weight, with and
/// without −128 activations; every sum is checked exactly against the contract.
#[test]
fn extreme_values_are_exact() {
    let k = 64;
    let n = 24;
    for wv in [-128i8, -127, 127, -1] {
        for xv in [-128i8, -127, 127, 1] {
            // Group 0 all `wv`; group 1 `wv` only in one row's one value (the rest 127); group 2
            // alternating signs.
            let mut w = vec![127i8; n * k];
            w[..8 * k].fill(wv);
            w[8 * k + 3 * k + 17] = wv;
            for (i, v) in w[16 * k..].iter_mut().enumerate() {
                *v = if i % 3 == 0 { wv } else { -127 };
            }
            let wb = q8_blocks(&w);
            for m in 1..=2 {
                let mut x = vec![xv; m * k];
                if m == 2 {
                    for v in x[k..].iter_mut().skip(1).step_by(2) {
                        *v = xv.saturating_neg();
                    }
                }
                let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&q8_blocks(&x)).to_vec();
                check_q8(&xq, m, k, &wb, QuantFormat::Q8_0, 1);
            }
        }
    }
    // Q4_0: nibbles 0 and 15 against ±127 / −128.
    for nib in [0u8, 15, 0xF0, 0x0F, 0xFF] {
        for xv in [-128i8, 127, -127] {
            let mut wb = Vec::new();
            for _ in 0..(16 * k / 32) {
                wb.extend_from_slice(&f16::from_f32(0.5).to_le_bytes());
                wb.extend([nib; 16]);
            }
            let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&q8_blocks(&vec![xv; k])).to_vec();
            check_q8(&xq, 1, k, &wb, QuantFormat::Q4_0, 1);
        }
    }
}

/// The AVX2 loop runs group `i` of a thread's range in lockstep with group `i + h` of the
/// second half (two read streams); an odd group out and Q8_0 pairs holding a −128 weight go
/// one by one. Every split of 1..=7 groups (plus tail rows), with −128 in no group, in the
/// first half only, in the second half only, and in every other group, on one and two threads:
/// each output row must keep the contract's bits whichever partner its group had.
#[test]
fn paired_groups_keep_their_bits() {
    let k = 96;
    for groups in 1..=7usize {
        for tail in [0usize, 3] {
            let n = 8 * groups + tail;
            for pattern in 0..4 {
                let mut w: Vec<i8> = (0..n * k).map(|i| ((i * 37 + 11) % 255) as i8).collect();
                for v in &mut w {
                    if *v == -128 {
                        *v = -127;
                    }
                }
                for g in 0..groups {
                    let min = match pattern {
                        0 => false,
                        1 => g < groups / 2,
                        2 => g >= groups / 2,
                        _ => g % 2 == 1,
                    };
                    if min {
                        w[(8 * g + g % 8) * k + 5] = -128;
                    }
                }
                let wb = q8_blocks(&w);
                let x: Vec<i8> = (0..2 * k)
                    .map(|i| ((i * 53 + 7) % 256) as u8 as i8)
                    .collect();
                let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&q8_blocks(&x)).to_vec();
                for threads in [1, 2] {
                    check_q8(&xq, 2, k, &wb, QuantFormat::Q8_0, threads);
                }
            }
            let wq: Vec<u8> = (0..n * k / 32)
                .flat_map(|b| {
                    let mut blk = f16::from_f32(0.25 + b as f32 / 64.0).to_le_bytes().to_vec();
                    blk.extend((0..16).map(|i| ((b * 29 + i * 7) % 256) as u8));
                    blk
                })
                .collect();
            let x: Vec<i8> = (0..k).map(|i| ((i * 91 + 3) % 256) as u8 as i8).collect();
            let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&q8_blocks(&x)).to_vec();
            for threads in [1, 2] {
                check_q8(&xq, 1, k, &wq, QuantFormat::Q4_0, threads);
            }
        }
    }
}

/// The decode shapes of the benchmarks (N = 4096 and 11008 rows would be slow in scalar; one
/// 8-row group per thread piece and a long K), one and two threads.
#[test]
fn long_rows_and_many_groups() {
    for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
        let (n, k) = (200, 4096);
        let wb = weights_bytes(format, n, k, 3);
        let x = generate_uniform(&[4; 32], 0, k).unwrap();
        for threads in [1, 2, 0] {
            check_f32(&x, 1, k, &wb, format, threads);
        }
    }
}

#[test]
fn errors_are_typed_and_nothing_panics() {
    let k = 64;
    let wb = weights_bytes(QuantFormat::Q8_0, 9, k, 1);
    let w = Weights::from_bytes(QuantFormat::Q8_0, &wb, k).unwrap();
    let p = PackedWeights::new(&w).unwrap();
    assert_eq!((p.n(), p.k(), p.format()), (9, k, QuantFormat::Q8_0));
    assert_eq!(p.as_bytes().len(), wb.len());
    assert_eq!(GROUP_ROWS, 8);
    let x = vec![0.5f32; 2 * k];
    for backend in [Backend::Scalar, Backend::Auto] {
        assert!(matches!(
            matmul_packed(&x[..k - 1], 1, &p, backend, 1),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            matmul_packed(&x, 0, &p, backend, 1),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            matmul_packed(&x, 3, &p, backend, 1),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            matmul_packed(&x, usize::MAX, &p, backend, 1),
            Err(Error::SizeOverflow(_))
        ));
        let mut bad = x.clone();
        bad[5] = f32::NAN;
        assert!(matches!(
            matmul_packed(&bad, 2, &p, backend, 1),
            Err(Error::NonFinite { index: 5 })
        ));
        let xq = quantize_q8_0(&x, k).unwrap();
        assert!(matches!(
            matmul_packed_q8(&xq[..3], 2, &p, backend, 1),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            matmul_packed_q8(&xq, 0, &p, backend, 1),
            Err(Error::ShapeMismatch(_))
        ));
    }
    assert!(matches!(
        matmul_packed(&x, 2, &p, Backend::Cuda(0), 1),
        Err(Error::BackendUnavailable(_))
    ));
    let xq = quantize_q8_0(&x, k).unwrap();
    assert!(matches!(
        matmul_packed_q8(&xq, 2, &p, Backend::Cuda(0), 1),
        Err(Error::BackendUnavailable(_))
    ));
    if !cpu::avx2_available() {
        assert!(matches!(
            matmul_packed(&x, 2, &p, Backend::Avx2, 1),
            Err(Error::BackendUnavailable(_))
        ));
    }
    // Fewer than eight rows: no group, the plain tail only.
    let wb = weights_bytes(QuantFormat::Q4_0, 3, k, 2);
    check_f32(&x, 2, k, &wb, QuantFormat::Q4_0, 2);
}

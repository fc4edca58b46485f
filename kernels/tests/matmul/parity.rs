//! The determinism contract: scalar reference vs AVX2, bit for bit, over random shapes, thread
//! counts, M, and hostile weight blocks; plus a hand-computed case and the error paths.

use half::f16;
use mycel_kernels::matmul::{CpuKernel, QWeights, Weights, matmul, matmul_q8, matmul_q8_kernel};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{BlockQ4_0, BlockQ8_0, QuantFormat, quantize_q8_0};
use mycel_kernels::{Backend, Error, cpu};
use proptest::prelude::*;

use crate::common::{self, bits, weights_bytes};

/// The contract on f32 activations: GGML's reference quantizer, then the contract on blocks.
fn contract(x: &[f32], m: usize, k: usize, w_bytes: &[u8], format: QuantFormat) -> Vec<f32> {
    common::contract(&quantize_q8_0(x, k).unwrap(), m, k, w_bytes, format)
}

fn avx2_or_skip() -> bool {
    if cpu::avx2_available() {
        true
    } else {
        eprintln!("skipping the AVX2 half of this test: this CPU lacks AVX2/FMA/F16C");
        false
    }
}

fn check_all(x: &[f32], m: usize, k: usize, wb: &[u8], format: QuantFormat, threads: usize) {
    let w = Weights::from_bytes(format, wb, k).unwrap();
    let want = bits(&contract(x, m, k, wb, format));
    let scalar = matmul(x, m, &w, Backend::Scalar, threads).unwrap();
    assert_eq!(
        bits(&scalar),
        want,
        "scalar vs contract m={m} k={k} {format:?}"
    );
    if avx2_or_skip() {
        let avx = matmul(x, m, &w, Backend::Avx2, threads).unwrap();
        assert_eq!(
            bits(&avx),
            want,
            "avx2 vs contract m={m} k={k} {format:?} t={threads}"
        );
    }
    // Auto adds AVX-VNNI / AVX-512 VNNI where the CPU has them (other instruction sequences,
    // same bits).
    let auto = matmul(x, m, &w, Backend::Auto, threads).unwrap();
    assert_eq!(
        bits(&auto),
        want,
        "auto vs contract m={m} k={k} {format:?} t={threads}"
    );
    // Every explicit CPU path, including the ones Auto does not pick on this CPU.
    let xq = quantize_q8_0(x, k).unwrap();
    for kernel in KERNELS {
        if kernel_or_skip(kernel) {
            let got = matmul_q8_kernel(&xq, m, &w, kernel, threads).unwrap();
            assert_eq!(
                bits(&got),
                want,
                "{kernel:?} vs contract m={m} k={k} {format:?} t={threads}"
            );
        }
    }
}

const KERNELS: [CpuKernel; 4] = [
    CpuKernel::Scalar,
    CpuKernel::Avx2,
    CpuKernel::AvxVnni,
    CpuKernel::Avx512Vnni,
];

fn kernel_or_skip(kernel: CpuKernel) -> bool {
    if kernel.available() {
        return true;
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!("skipping the matmul kernels this CPU lacks (here: {kernel:?} and maybe others)");
    });
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn backends_agree_on_random_shapes(
        m in 1usize..=9,
        n in 1usize..=37,
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
        check_all(&x, m, k, &wb, format, threads);
    }

    /// Arbitrary block bytes: Q8_0 values of -128, f16 scales that are subnormal, huge, infinite
    /// or NaN. The contract still fixes every bit (NaN canonicalised).
    #[test]
    fn backends_agree_on_arbitrary_block_bytes(
        raw in proptest::collection::vec(any::<u8>(), 34 * 8 * 3),
        n in 1usize..=12,
        m in 1usize..=5,
        q4 in any::<bool>(),
    ) {
        let format = if q4 { QuantFormat::Q4_0 } else { QuantFormat::Q8_0 };
        let k = 64;
        let wb = &raw[..n * 2 * format.block_bytes()];
        let x: Vec<f32> = generate_uniform(&[raw[0]; 32], 0, m * k).unwrap();
        check_all(&x, m, k, wb, format, 2);
    }
}

#[test]
fn hand_computed_single_blocks() {
    // x = [1, 2, 0, ...]: amax 2, d = f32(2/127), id = f32(1/d) = 63.5 exactly, so x[0]·id is
    // a tie that roundf takes away from zero: q = [64, 127, 0, ...]. Weights Q8_0 d = 0.5, q = [2, -1, 0, ...]: sumi = 128 - 127 = 1, and the
    // output is f32(0.5) * f32(f16(2/127)) * 1.
    let mut x = vec![0.0f32; 32];
    x[0] = 1.0;
    x[1] = 2.0;
    let mut wq = [0i8; 32];
    wq[0] = 2;
    wq[1] = -1;
    let wblk = [BlockQ8_0 {
        d: f16::from_f32(0.5).to_le_bytes(),
        qs: wq,
    }];
    let w = Weights::new(QWeights::Q8_0(&wblk), 1, 32).unwrap();
    let dx = f16::from_f32(2.0f32 / 127.0).to_f32();
    assert_eq!(1.0f32 / (2.0f32 / 127.0), 63.5);
    for backend in [Backend::Scalar, Backend::Auto] {
        let y = matmul(&x, 1, &w, backend, 1).unwrap();
        assert_eq!(y, vec![0.5 * dx]);
    }
    // Q4_0: nibbles 9 and 7 -> values 1 and -1: sumi = 64 - 127 = -63; d_w = 0.25.
    let mut qs = [0x88u8; 16];
    qs[0] = 0x89;
    qs[1] = 0x87;
    let wblk4 = [BlockQ4_0 {
        d: f16::from_f32(0.25).to_le_bytes(),
        qs,
    }];
    let w4 = Weights::new(QWeights::Q4_0(&wblk4), 1, 32).unwrap();
    for backend in [Backend::Scalar, Backend::Auto] {
        let y = matmul(&x, 1, &w4, backend, 1).unwrap();
        assert_eq!(y, vec![(0.25 * dx) * -63.0]);
    }
}

#[test]
fn two_blocks_use_one_fused_multiply_add_per_block() {
    // x: two blocks of 1.0 -> d_x = f16(1/127), every q_x = 127.
    // Block 0: d_w = 1, q_w = [1, 0, ..] -> sumi 127. Block 1: d_w = f16(1 + 7/1024),
    // q_w = [3, 0, ..] -> sumi 381. These values were searched for (exact rational arithmetic)
    // so that fma and mul-then-add round differently in block 1.
    let x = vec![1.0f32; 64];
    let dx = f16::from_f32(1.0 / 127.0).to_f32();
    let mut q0 = [0i8; 32];
    q0[0] = 1;
    let mut q1 = [0i8; 32];
    q1[0] = 3;
    let d1 = f16::from_f32(1.0 + 7.0 / 1024.0);
    let wblk = [
        BlockQ8_0 {
            d: f16::from_f32(1.0).to_le_bytes(),
            qs: q0,
        },
        BlockQ8_0 {
            d: d1.to_le_bytes(),
            qs: q1,
        },
    ];
    let w = Weights::new(QWeights::Q8_0(&wblk), 1, 64).unwrap();
    let acc0 = (1.0f32 * dx).mul_add(127.0, 0.0);
    let want = (d1.to_f32() * dx).mul_add(381.0, acc0);
    let unfused = (d1.to_f32() * dx) * 381.0 + acc0;
    assert_ne!(
        want.to_bits(),
        unfused.to_bits(),
        "the case must tell fma from mul+add"
    );
    assert_eq!(want, 4.020_262_2);
    for backend in [Backend::Scalar, Backend::Auto] {
        assert_eq!(bits(&matmul(&x, 1, &w, backend, 1).unwrap()), bits(&[want]));
    }
}

/// Every explicit CPU path: thread count, M (across the 64-row cache chunk and every register
/// tile height), and short weight-row groups change no bit, and all equal the scalar reference.
#[test]
fn every_kernel_is_thread_and_m_invariant() {
    let (m, n, k) = (70, 45, 224);
    for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
        let wb = weights_bytes(format, n, k, 9);
        let w = Weights::from_bytes(format, &wb, k).unwrap();
        let x = generate_uniform(&[6; 32], 0, m * k).unwrap();
        let xq = quantize_q8_0(&x, k).unwrap();
        let want = bits(&matmul(&x, m, &w, Backend::Scalar, 1).unwrap());
        for kernel in KERNELS {
            if !kernel_or_skip(kernel) {
                continue;
            }
            for t in [1, 2, 3, 5] {
                let got = matmul_q8_kernel(&xq, m, &w, kernel, t).unwrap();
                assert_eq!(bits(&got), want, "{kernel:?} {format:?} threads {t}");
            }
            for (r0, r1) in [(0, 1), (1, 3), (5, 8), (60, 70), (3, 67)] {
                let got = matmul_q8_kernel(&xq[r0 * k / 32..r1 * k / 32], r1 - r0, &w, kernel, 2)
                    .unwrap();
                assert_eq!(
                    bits(&got),
                    want[r0 * n..r1 * n],
                    "{kernel:?} {format:?} rows {r0}..{r1}"
                );
            }
        }
    }
}

#[test]
fn thread_count_and_m_do_not_change_results() {
    let (m, n, k) = (64, 45, 352);
    for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
        let wb = weights_bytes(format, n, k, 3);
        let w = Weights::from_bytes(format, &wb, k).unwrap();
        let x = generate_uniform(&[4; 32], 0, m * k).unwrap();
        for backend in [Backend::Scalar, Backend::Auto] {
            let one = matmul(&x, m, &w, backend, 1).unwrap();
            for t in [2, 3, 5, 0] {
                assert_eq!(
                    bits(&matmul(&x, m, &w, backend, t).unwrap()),
                    bits(&one),
                    "threads {t}"
                );
            }
            for row in [0, 1, 17, 63] {
                let single = matmul(&x[row * k..(row + 1) * k], 1, &w, backend, 2).unwrap();
                assert_eq!(
                    bits(&single),
                    bits(&one[row * n..(row + 1) * n]),
                    "row {row}"
                );
            }
        }
    }
}

#[test]
fn errors_are_typed() {
    let wb = weights_bytes(QuantFormat::Q8_0, 4, 64, 1);
    let w = Weights::from_bytes(QuantFormat::Q8_0, &wb, 64).unwrap();
    assert_eq!(w.n(), 4);
    let x = vec![0.5f32; 128];
    assert!(matches!(
        matmul(&x, 3, &w, Backend::Scalar, 1),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        matmul(&[], 0, &w, Backend::Scalar, 1),
        Err(Error::ShapeMismatch(_))
    ));
    let mut bad = x.clone();
    bad[70] = f32::NAN;
    assert_eq!(
        matmul(&bad, 2, &w, Backend::Scalar, 1),
        Err(Error::NonFinite { index: 70 })
    );
    // CUDA: the scalar bits where a device exists (both entry points dispatch to it), a typed
    // error elsewhere (`backend_unavailable` without the `cuda` feature, a driver or a device).
    let want = matmul(&x, 2, &w, Backend::Scalar, 1).unwrap();
    let xq = quantize_q8_0(&x, 64).unwrap();
    for got in [
        matmul(&x, 2, &w, Backend::Cuda(0), 1),
        matmul_q8(&xq, 2, &w, Backend::Cuda(0), 1),
    ] {
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
    assert!(matches!(
        Weights::from_bytes(QuantFormat::Q8_0, &wb[..100], 64),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        Weights::from_bytes(QuantFormat::Q8_0, &wb, 48),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        Weights::from_bytes(QuantFormat::Q4_0, &[], 32),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        Weights::new(QWeights::Q8_0(&[]), 1, 32),
        Err(Error::BufferLength {
            expected: 34,
            actual: 0
        })
    ));
    assert!(matches!(
        matmul_q8(&[], 1, &w, Backend::Scalar, 1),
        Err(Error::ShapeMismatch(_))
    ));
    if !cpu::avx2_available() {
        assert!(matches!(
            matmul(&x, 2, &w, Backend::Avx2, 1),
            Err(Error::BackendUnavailable(_))
        ));
    }
}

#[test]
fn threaded_activation_quantization_is_invisible() {
    // m·k ≥ 65536 takes the multi-threaded quantization path.
    // K = 16384 is 512 blocks: many of the AVX2 kernel's K chunks, and a tail M tile.
    let (m, n, k) = (5, 9, 16384);
    let x = generate_uniform(&[12; 32], 0, m * k).unwrap();
    for format in [QuantFormat::Q4_0, QuantFormat::Q8_0] {
        let wb = weights_bytes(format, n, k, 11);
        let w = Weights::from_bytes(format, &wb, k).unwrap();
        let want = bits(&contract(&x, m, k, &wb, format));
        for (backend, t) in [
            (Backend::Scalar, 1),
            (Backend::Auto, 1),
            (Backend::Auto, 2),
            (Backend::Auto, 3),
        ] {
            assert_eq!(
                bits(&matmul(&x, m, &w, backend, t).unwrap()),
                want,
                "{format:?} {backend:?} threads {t}"
            );
        }
        if cpu::avx2_available() {
            assert_eq!(
                bits(&matmul(&x, m, &w, Backend::Avx2, 2).unwrap()),
                want,
                "{format:?} avx2"
            );
        }
    }
    let wb = weights_bytes(QuantFormat::Q4_0, n, k, 11);
    let w = Weights::from_bytes(QuantFormat::Q4_0, &wb, k).unwrap();
    let mut bad = x.clone();
    bad[3 * k + 17] = f32::INFINITY;
    assert_eq!(
        matmul(&bad, m, &w, Backend::Auto, 3),
        Err(Error::NonFinite { index: 3 * k + 17 })
    );
}

/// Plain-layout decode (M = 1): every split of 1..=9 full 8-row groups, with and without tail
/// rows, over 1, 2 and 3 threads (so each thread's range starts and ends at every kind of group
/// boundary), with an activation row that holds −128 (the correction path of the AVX2 decode
/// loop) and one that does not, both formats, through every explicit CPU kernel and both
/// backends: every output keeps the contract's bits.
#[test]
fn plain_decode_keeps_its_bits_at_every_group_split() {
    let k = 160;
    for groups in 1..=9usize {
        for tail in [0usize, 5] {
            let n = 8 * groups + tail;
            for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
                let wb = weights_bytes(format, n, k, groups as u8);
                let w = Weights::from_bytes(format, &wb, k).unwrap();
                for with_min in [false, true] {
                    // −127..=127, then one −128 where asked.
                    let mut xs: Vec<i8> = (0..k)
                        .map(|i| (((i * 53 + 7) % 255) as i16 - 127) as i8)
                        .collect();
                    if with_min {
                        xs[37] = -128;
                    }
                    let xq: Vec<BlockQ8_0> =
                        bytemuck::cast_slice(&common::q8_bytes(&xs, |b| 0.5 + b as f32 / 8.0))
                            .to_vec();
                    let want = bits(&common::contract(&xq, 1, k, &wb, format));
                    for t in [1, 2, 3] {
                        for kernel in KERNELS {
                            if !kernel_or_skip(kernel) {
                                continue;
                            }
                            let got = matmul_q8_kernel(&xq, 1, &w, kernel, t).unwrap();
                            assert_eq!(
                                bits(&got),
                                want,
                                "{kernel:?} {format:?} groups {groups} tail {tail} −128 {with_min} threads {t}"
                            );
                        }
                        for backend in [Backend::Auto, Backend::Avx2] {
                            if backend == Backend::Avx2 && !cpu::avx2_available() {
                                continue;
                            }
                            let got = matmul_q8(&xq, 1, &w, backend, t).unwrap();
                            assert_eq!(bits(&got), want, "{backend:?} {format:?} groups {groups}");
                        }
                    }
                }
            }
        }
    }
}

/// Q8_0 decode (M = 1) with K = 256, 352 and 4096 (8, 11 and 128 blocks: even and odd block
/// counts), weight scales that are ±0, ±∞, NaN, subnormal and the largest
/// f16 in some blocks (and an inf · 0, x86's negative default NaN, which must come out
/// canonical), and activation scales that are 0 or huge in others, on 1 and 2 threads,
/// through both backends and every explicit kernel: every output keeps the contract's bits.
#[test]
fn decode_keeps_its_bits_with_special_scales() {
    let specials: [u16; 8] = [
        0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x0001, 0x7BFF, 0xFBFF,
    ];
    for k in [256usize, 352, 4096] {
        let nb = k / 32;
        let n = 8 * 3 + 3;
        let mut wb = weights_bytes(QuantFormat::Q8_0, n, k, 11);
        // Rows 2, 9, 17 and 25: one special scale each in a different block (first, middle,
        // last, second).
        for (i, (r, b)) in [(2usize, 0usize), (9, nb / 2), (17, nb - 1), (25, 1)]
            .into_iter()
            .enumerate()
        {
            let at = (r * nb + b) * 34;
            wb[at..at + 2].copy_from_slice(&specials[(i * 3 + k) % 8].to_le_bytes());
        }
        // Row 5: +inf weight scale in block 7, whose activation scale is 0: inf · 0 is x86's
        // default NaN (sign set), which the kernel must canonicalise like the reference does.
        let at = (5 * nb + 7) * 34;
        wb[at..at + 2].copy_from_slice(&0x7C00u16.to_le_bytes());
        // Row 20: every scale special in turn.
        for b in 0..nb {
            let at = (20 * nb + b) * 34;
            wb[at..at + 2].copy_from_slice(&specials[b % 8].to_le_bytes());
        }
        let w = Weights::from_bytes(QuantFormat::Q8_0, &wb, k).unwrap();
        let xs: Vec<i8> = (0..k)
            .map(|i| (((i * 29 + 3) % 255) as i16 - 127) as i8)
            .collect();
        let scale = |b: usize| match b % 7 {
            0 => 0.0,
            3 => 6.0e4,
            _ => 0.25 + b as f32 / 16.0,
        };
        let xq: Vec<BlockQ8_0> = bytemuck::cast_slice(&common::q8_bytes(&xs, scale)).to_vec();
        let want = bits(&common::contract(&xq, 1, k, &wb, QuantFormat::Q8_0));
        for t in [1, 2] {
            for backend in [Backend::Auto, Backend::Avx2] {
                if backend == Backend::Avx2 && !cpu::avx2_available() {
                    continue;
                }
                let got = matmul_q8(&xq, 1, &w, backend, t).unwrap();
                assert_eq!(bits(&got), want, "{backend:?} k {k} threads {t}");
            }
            for kernel in KERNELS {
                if !kernel_or_skip(kernel) {
                    continue;
                }
                let got = matmul_q8_kernel(&xq, 1, &w, kernel, t).unwrap();
                assert_eq!(bits(&got), want, "{kernel:?} k {k} threads {t}");
            }
        }
    }
}

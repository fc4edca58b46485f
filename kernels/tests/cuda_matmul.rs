//! CUDA backend vs the CPU scalar reference, bit for bit (spec/kernels.md, "CUDA backend").
//!
//! Without a CUDA driver or device every device test prints `SKIP ...` and passes; with
//! `MYCEL_REQUIRE_GPU=1` (set by `scripts/gpu-check`) a missing device is a failure instead.
//! The error-path tests run everywhere: no driver must be a typed error, never a panic.
#![cfg(feature = "cuda")]

use half::f16;
use mycel_kernels::cuda::{self, CudaDevice};
use mycel_kernels::error::Error;
use mycel_kernels::matmul::{QWeights, Weights, matmul};
use mycel_kernels::philox::{fill_uniform, generate_uniform};
use mycel_kernels::quant::{BlockQ4_0, BlockQ8_0, QuantFormat, quantize_q4_0, quantize_q8_0};
use mycel_kernels::{Backend, cuda::MATVEC_MAX_M};
use mycel_protocol::commit::{TensorDtype, tensor_commitment};

/// The device to test on, or `None` (after printing why) when this machine has none.
fn device_or_skip(test: &str) -> Option<CudaDevice> {
    let require = std::env::var("MYCEL_REQUIRE_GPU").as_deref() == Ok("1");
    match CudaDevice::open(0) {
        Ok(d) => {
            eprintln!(
                "{test}: running on {} (sm_{}{})",
                d.name(),
                d.compute_capability().0,
                d.compute_capability().1
            );
            Some(d)
        }
        Err(e) => {
            assert!(
                !require,
                "MYCEL_REQUIRE_GPU=1 but no usable CUDA device: {e}"
            );
            eprintln!("SKIP {test}: no CUDA device ({e})");
            None
        }
    }
}

/// splitmix64: shapes and seeds for the random cases (the data itself comes from Philox).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn commitment(v: &[f32], m: usize, n: usize) -> [u8; 32] {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let d = tensor_commitment(TensorDtype::F32, &[m as u64, n as u64], &bytes).unwrap();
    d.0
}

/// Weight bytes: usually quantized Philox data; sometimes raw random blocks whose f16 scales
/// may be huge, subnormal, infinite or NaN (the contract covers any bytes).
fn weight_bytes(format: QuantFormat, n: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rng.next().to_le_bytes());
    if rng.below(6) == 0 {
        let len = format.matrix_bytes(n, k).unwrap();
        let mut raw = vec![0f32; len.div_ceil(4)];
        fill_uniform(&seed, 77, 0, &mut raw).unwrap();
        let mut bytes: Vec<u8> = raw.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
        bytes.truncate(len);
        let bb = format.block_bytes();
        // keep most scales finite and moderate so results are not all NaN
        for (i, blk) in bytes.chunks_exact_mut(bb).enumerate() {
            if i % 7 != 0 {
                let d = f16::from_f32(((i % 13) as f32 - 6.0) * 0.01);
                blk[..2].copy_from_slice(&d.to_le_bytes());
            }
        }
        return bytes;
    }
    let w = generate_uniform(&seed, 9, n * k).unwrap();
    let scale = [1.0f32, 1e-3, 300.0][rng.below(3)];
    let w: Vec<f32> = w.iter().map(|v| v * scale).collect();
    match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&w, k).unwrap()).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&w, k).unwrap()).to_vec(),
    }
}

fn cpu_weights(format: QuantFormat, bytes: &[u8], n: usize, k: usize) -> Weights<'_> {
    let blocks = match format {
        QuantFormat::Q8_0 => QWeights::Q8_0(bytemuck::cast_slice::<u8, BlockQ8_0>(bytes)),
        QuantFormat::Q4_0 => QWeights::Q4_0(bytemuck::cast_slice::<u8, BlockQ4_0>(bytes)),
    };
    Weights::new(blocks, n, k).unwrap()
}

/// ≥ 200 random shapes and seeds: Q8_0 and Q4_0, M from 1 (matvec) through the tiled kernel,
/// odd M and N, K a multiple of 32 but mostly not of the tile (4 blocks) or of the matvec
/// chunk (32 blocks). Output bits, and therefore commitments, must equal the CPU scalar
/// reference's.
#[test]
fn random_shapes_match_cpu_scalar_bit_for_bit() {
    let Some(dev) = device_or_skip("random_shapes_match_cpu_scalar_bit_for_bit") else {
        return;
    };
    let mut rng = Rng(0x6d79_6365_6c2d_6375);
    let cases = 240;
    let mut matvec_cases = 0;
    let mut tiled_cases = 0;
    for case in 0..cases {
        let format = if case % 2 == 0 {
            QuantFormat::Q8_0
        } else {
            QuantFormat::Q4_0
        };
        let m = match rng.below(4) {
            0 => 1,
            1 => 1 + rng.below(MATVEC_MAX_M as u64),
            2 => 9 + rng.below(60),
            _ => 60 + rng.below(140),
        };
        let n = 1 + rng.below(300);
        let nb = match rng.below(4) {
            0 => 1 + rng.below(8),
            1 => 30 + rng.below(5),
            _ => 1 + rng.below(80),
        };
        let k = nb * 32;
        let wb = weight_bytes(format, n, k, &mut rng);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rng.next().to_le_bytes());
        let x = generate_uniform(&seed, 0, m * k).unwrap();
        let xscale = [1.0f32, 0.01, 1000.0, 3.0e-6][rng.below(4)];
        let x: Vec<f32> = x.iter().map(|v| v * xscale).collect();

        let w = cpu_weights(format, &wb, n, k);
        let want = matmul(&x, m, &w, Backend::Scalar, 1).unwrap();
        let dw = dev.upload_weights(format, n, k, &wb).unwrap();
        let got = dev.matmul_f32(&dw, &x, m).unwrap();
        assert_eq!(got.len(), want.len());
        if m <= MATVEC_MAX_M {
            matvec_cases += 1;
        } else {
            tiled_cases += 1;
        }
        if commitment(&got, m, n) != commitment(&want, m, n) {
            let first = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a.to_bits() != b.to_bits())
                .unwrap();
            panic!(
                "case {case}: {} m={m} n={n} k={k}: output {first} (row {}, col {}) is {:e} \
                 ({:#010x}), CPU scalar says {:e} ({:#010x})",
                format.name(),
                first / n,
                first % n,
                got[first],
                got[first].to_bits(),
                want[first],
                want[first].to_bits()
            );
        }
    }
    eprintln!("{cases} cases equal ({matvec_cases} matvec, {tiled_cases} tiled)");
    assert!(matvec_cases >= 40 && tiled_cases >= 40);
}

/// The public `matmul` entry with `Backend::Cuda(0)`, if the CPU side dispatches to CUDA, must
/// agree too; the direct helper `cuda::matmul` always exists.
#[test]
fn host_helper_matches_cpu() {
    let Some(_dev) = device_or_skip("host_helper_matches_cpu") else {
        return;
    };
    let (m, n, k) = (3, 67, 96);
    let wb = weight_bytes(QuantFormat::Q4_0, n, k, &mut Rng(5));
    let w = cpu_weights(QuantFormat::Q4_0, &wb, n, k);
    let x = generate_uniform(&[3; 32], 0, m * k).unwrap();
    let want = matmul(&x, m, &w, Backend::Scalar, 1).unwrap();
    let got = cuda::matmul(0, &x, m, &w).unwrap();
    assert_eq!(commitment(&got, m, n), commitment(&want, m, n));
    // pre-quantized activations (matmul_q8's CUDA path)
    let xq = quantize_q8_0(&x, k).unwrap();
    let got = cuda::matmul_q8(0, &xq, m, &w).unwrap();
    assert_eq!(commitment(&got, m, n), commitment(&want, m, n));
}

/// The device quantizer writes exactly the blocks GGML's reference quantizer writes, including
/// ties (x·id exactly k + 0.5), an all-zero block, and negative zero.
#[test]
fn device_quantizer_matches_cpu_blocks() {
    let Some(dev) = device_or_skip("device_quantizer_matches_cpu_blocks") else {
        return;
    };
    let k = 32 * 37;
    let m = 5;
    let mut x = generate_uniform(&[11; 32], 0, m * k).unwrap();
    // block 0: zeros (d = 0, id = 0); block 1: -0.0; block 2: a tie case
    for v in &mut x[..32] {
        *v = 0.0;
    }
    for v in &mut x[32..64] {
        *v = -0.0;
    }
    for (j, v) in x[64..96].iter_mut().enumerate() {
        *v = if j == 0 { 127.0 } else { j as f32 + 0.5 };
    }
    let want = quantize_q8_0(&x, k).unwrap();
    let xt = dev.upload_f32(&x).unwrap();
    let a = dev.quantize_q8_0(&xt, m, k).unwrap();
    let got = dev.download_q8_0(&a).unwrap();
    assert_eq!(got, bytemuck::cast_slice::<BlockQ8_0, u8>(&want));
}

/// Philox on device: the same f32 bits as the CPU generator, for offsets that are not a
/// multiple of 4 and lengths that end mid-block.
#[test]
fn device_philox_matches_cpu() {
    let Some(dev) = device_or_skip("device_philox_matches_cpu") else {
        return;
    };
    for (i, (offset, len)) in [(0u64, 1usize), (0, 4), (1, 7), (3, 1000), (1 << 33, 4099)]
        .into_iter()
        .enumerate()
    {
        let seed = [i as u8 + 1; 32];
        for stream in [0u32, 2, 0x5747_4854] {
            let mut want = vec![0f32; len];
            fill_uniform(&seed, stream, offset, &mut want).unwrap();
            let t = dev.generate_uniform(&seed, stream, offset, len).unwrap();
            let got = dev.download_f32(&t).unwrap();
            let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            let wb: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            assert_eq!(gb, wb, "offset {offset} len {len} stream {stream}");
        }
    }
}

/// Device-generated inputs through the whole device pipeline (generate, quantize, matmul)
/// equal the CPU pipeline: what a miner runs vs what a validator re-runs.
#[test]
fn device_pipeline_matches_cpu_pipeline() {
    let Some(dev) = device_or_skip("device_pipeline_matches_cpu_pipeline") else {
        return;
    };
    for (m, n, k) in [(1, 4096, 4096), (64, 1000, 2048), (512, 256, 4096)] {
        let seed = [42u8; 32];
        let wb = weight_bytes(QuantFormat::Q4_0, n, k, &mut Rng(k as u64));
        let w = cpu_weights(QuantFormat::Q4_0, &wb, n, k);
        let x = generate_uniform(&seed, 0, m * k).unwrap();
        let want = matmul(&x, m, &w, Backend::Auto, 0).unwrap();
        let dw = dev.upload_weights(QuantFormat::Q4_0, n, k, &wb).unwrap();
        let xt = dev.generate_uniform(&seed, 0, 0, m * k).unwrap();
        let a = dev.quantize_q8_0(&xt, m, k).unwrap();
        let y = dev.matmul(&dw, &a).unwrap();
        let got = dev.download_f32(&y).unwrap();
        assert_eq!(
            commitment(&got, m, n),
            commitment(&want, m, n),
            "m={m} n={n} k={k}"
        );
    }
}

#[test]
fn device_rejects_bad_inputs_with_typed_errors() {
    let Some(dev) = device_or_skip("device_rejects_bad_inputs_with_typed_errors") else {
        return;
    };
    let (n, k) = (8, 64);
    let wb = weight_bytes(QuantFormat::Q8_0, n, k, &mut Rng(1));
    assert!(matches!(
        dev.upload_weights(QuantFormat::Q8_0, n, k, &wb[1..]),
        Err(Error::BufferLength { .. })
    ));
    assert!(matches!(
        dev.upload_weights(QuantFormat::Q8_0, n, 48, &wb),
        Err(Error::ShapeMismatch(_))
    ));
    let dw = dev.upload_weights(QuantFormat::Q8_0, n, k, &wb).unwrap();
    let mut x = vec![0.5f32; 2 * k];
    x[70] = f32::NAN;
    assert_eq!(
        dev.matmul_f32(&dw, &x, 2),
        Err(Error::NonFinite { index: 70 })
    );
    assert!(matches!(
        dev.matmul_f32(&dw, &x[..k + 1], 1),
        Err(Error::BufferLength { .. })
    ));
    match CudaDevice::open(1 << 20) {
        Err(e @ Error::BackendUnavailable(_)) => assert_eq!(e.code(), "backend_unavailable"),
        other => panic!("expected BackendUnavailable (no such device), got {other:?}"),
    }
}

/// Runs on every machine: without a driver, opening a device is the one "no device" error,
/// `BackendUnavailable` (cudarc would panic if asked directly), and the CPU backends still work.
#[test]
fn no_driver_is_a_typed_error_not_a_panic() {
    if cuda::driver_available() {
        eprintln!("driver present: the no-driver path is not exercised on this machine");
        return;
    }
    let e = CudaDevice::open(0).unwrap_err();
    assert!(matches!(e, Error::BackendUnavailable(_)), "{e:?}");
    assert_eq!(e.code(), "backend_unavailable");
    assert_eq!(cuda::device_count(), Err(e.clone()));
    assert!(!cuda::available());
    let w = quantize_q8_0(&[0.25f32; 64], 32).unwrap();
    let weights = Weights::new(QWeights::Q8_0(&w), 2, 32).unwrap();
    assert_eq!(cuda::matmul(0, &[1.0; 32], 1, &weights), Err(e));
    // the CPU path is unaffected
    assert_eq!(
        matmul(&[1.0; 32], 1, &weights, Backend::Scalar, 1)
            .unwrap()
            .len(),
        2
    );
}

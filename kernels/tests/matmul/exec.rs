//! Task execution against an independent end-to-end reference (tests/support/task_ref.py:
//! Philox, GGML quantizers, the matmul contract in exact rational arithmetic, tensor commitment
//! and RFC 6962 tile root, all in Python), plus the error paths.

use mycel_kernels::exec::{
    TILE_COLS, TILE_ROWS, execute, generate_weights, tile_root, weights_digest,
};
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tensor::Tensor;
use mycel_kernels::{Backend, Error, cpu};
use mycel_protocol::commit::{TensorDtype, merkle_root, tensor_commitment};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};

fn matmul_task(
    kernel: KernelId,
    m: u32,
    n: u32,
    k: u32,
    seed: [u8; 32],
    digest: Digest,
) -> TaskSpec {
    TaskSpec {
        network: NetworkId([0x11; 32]),
        subnet: SubnetId(1),
        epoch: Epoch(5),
        kernel,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul { m, n, k },
        weights_digest: digest,
        input_seed: seed,
    }
}

#[test]
fn tasks_match_the_independent_reference() {
    let golden = include_str!("../data/task_golden.txt");
    let mut n_cases = 0;
    for line in golden.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let format = QuantFormat::parse(f[0]).unwrap();
        let (m, n, k): (u32, u32, u32) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        let seed: [u8; 32] = hex::decode(f[4]).unwrap().try_into().unwrap();
        let wseed: [u8; 32] = hex::decode(f[5]).unwrap().try_into().unwrap();
        let digest = Digest::from_hex(f[6]).unwrap();
        let want_bits: Vec<u32> = f[7]
            .split(',')
            .map(|h| u32::from_str_radix(h, 16).unwrap())
            .collect();
        let commitment = Digest::from_hex(f[8]).unwrap();
        let root = Digest::from_hex(f[9]).unwrap();

        let weights = generate_weights(&wseed, format, n as usize, k as usize).unwrap();
        assert_eq!(weights_digest(&weights), digest, "{line}");
        let kernel = if format == QuantFormat::Q8_0 {
            KernelId::MatmulQ8_0
        } else {
            KernelId::MatmulQ4_0
        };
        let task = matmul_task(kernel, m, n, k, seed, digest);
        for backend in [Backend::Scalar, Backend::Auto] {
            for threads in [1, 2] {
                let out = execute(&task, Some(&weights), backend, threads).unwrap();
                assert_eq!(out.output.shape(), &[m as usize, n as usize]);
                let got: Vec<u32> = bytemuck::cast_slice::<u8, u32>(out.output.as_bytes()).to_vec();
                assert_eq!(got, want_bits, "{line}");
                assert_eq!(out.commitment, commitment);
                assert_eq!(out.tile_root, root);
            }
        }
        n_cases += 1;
    }
    assert_eq!(n_cases, 3);
}

#[test]
fn commitment_is_the_protocol_tensor_commitment() {
    let t = Tensor::from_f32(&[2, 3], vec![1.0, -2.0, 0.5, 0.0, 3.0, -0.25]).unwrap();
    let want = tensor_commitment(TensorDtype::F32, &[2, 3], t.as_bytes()).unwrap();
    assert_eq!(t.commitment().unwrap(), want);
}

#[test]
fn tile_root_splits_rows_and_columns() {
    let (rows, cols) = (TILE_ROWS + 3, TILE_COLS + 5);
    let v: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
    let t = Tensor::from_f32(&[rows, cols], v.clone()).unwrap();
    let tile = |r0: usize, r1: usize, c0: usize, c1: usize| -> Vec<u8> {
        (r0..r1)
            .flat_map(|r| {
                v[r * cols + c0..r * cols + c1]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
            })
            .collect()
    };
    let leaves = [
        tile(0, TILE_ROWS, 0, TILE_COLS),
        tile(0, TILE_ROWS, TILE_COLS, cols),
        tile(TILE_ROWS, rows, 0, TILE_COLS),
        tile(TILE_ROWS, rows, TILE_COLS, cols),
    ];
    assert_eq!(tile_root(&t).unwrap(), merkle_root(leaves.iter()));
}

#[test]
fn bad_tasks_and_weights_are_typed_errors() {
    let w = generate_weights(&[1; 32], QuantFormat::Q4_0, 8, 64).unwrap();
    let d = weights_digest(&w);
    let task = matmul_task(KernelId::MatmulQ4_0, 2, 8, 64, [0; 32], d);
    let reference = execute(&task, Some(&w), Backend::Scalar, 1).unwrap();
    // Wrong digest.
    let mut other = w.clone();
    other[5] ^= 1;
    assert!(matches!(
        execute(&task, Some(&other), Backend::Scalar, 1),
        Err(Error::WeightsDigest { .. })
    ));
    // Missing or short weights.
    assert!(matches!(
        execute(&task, None, Backend::Scalar, 1),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        execute(&task, Some(&w[..w.len() - 18]), Backend::Scalar, 1),
        Err(Error::BufferLength { .. })
    ));
    // Q8_0 kernel given the same bytes: length check fails before anything runs.
    let t8 = matmul_task(KernelId::MatmulQ8_0, 2, 8, 64, [0; 32], d);
    assert!(matches!(
        execute(&t8, Some(&w), Backend::Scalar, 1),
        Err(Error::BufferLength { .. })
    ));
    // Invalid task (k not block aligned) is the protocol's error.
    let bad = matmul_task(KernelId::MatmulQ4_0, 2, 8, 65, [0; 32], d);
    let e = execute(&bad, Some(&w), Backend::Scalar, 1).unwrap_err();
    assert_eq!(e.code(), "protocol");
    // Resource limit: m·k = 2^31 is past the protocol's task memory bound (spec/kernels.md,
    // "Task resource bounds"), so validation refuses it before anything is allocated.
    let w1 = generate_weights(&[2; 32], QuantFormat::Q8_0, 1, 32768).unwrap();
    let big = matmul_task(
        KernelId::MatmulQ8_0,
        65536,
        1,
        32768,
        [0; 32],
        weights_digest(&w1),
    );
    let e = execute(&big, Some(&w1), Backend::Scalar, 1).unwrap_err();
    assert_eq!(e.code(), "protocol");
    assert!(e.to_string().contains("task.too_much_memory"), "{e}");
    // CUDA: the same commitment where a device exists, a typed error elsewhere.
    match execute(&task, Some(&w), Backend::Cuda(0), 1) {
        Ok(out) => assert_eq!(out.commitment, reference.commitment),
        Err(e) => assert!(
            matches!(e, Error::BackendUnavailable(_) | Error::Cuda(_)),
            "{e:?}"
        ),
    }
    if !cpu::avx2_available() {
        assert!(matches!(
            execute(&task, Some(&w), Backend::Avx2, 1),
            Err(Error::BackendUnavailable(_))
        ));
    }
}

#[test]
fn attention_tasks_do_not_panic() {
    let task = TaskSpec {
        network: NetworkId([0; 32]),
        subnet: SubnetId(0),
        epoch: Epoch(0),
        kernel: KernelId::Attention,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Attention {
            n_heads: 4,
            n_kv_heads: 2,
            q_len: 3,
            kv_len: 5,
            head_dim: 64,
            causal: true,
            dtype: AttnDtype::F32,
            mode: AttnMode::Verifiable,
        },
        weights_digest: Digest([0; 32]),
        input_seed: [3; 32],
    };
    match execute(&task, None, Backend::Scalar, 1) {
        Ok(out) => assert_eq!(out.output.shape(), &[4, 3, 64]),
        Err(e) => assert_eq!(e.code(), "unsupported_kernel"),
    }
}

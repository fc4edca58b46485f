//! TaskSpec validation and the compute-unit formula.

use mycel_protocol::Error;
use mycel_protocol::error::TaskError;
use mycel_protocol::task::{
    AttnDtype, AttnMode, KernelId, KernelParams, MAX_COMPUTE_UNITS, TaskSpec,
};

use crate::common::matmul_task;

fn attention(
    n_heads: u32,
    n_kv_heads: u32,
    q_len: u32,
    kv_len: u32,
    head_dim: u32,
    causal: bool,
) -> TaskSpec {
    TaskSpec {
        kernel: KernelId::Attention,
        params: KernelParams::Attention {
            n_heads,
            n_kv_heads,
            q_len,
            kv_len,
            head_dim,
            causal,
            dtype: AttnDtype::F16,
            mode: AttnMode::Verifiable,
        },
        ..matmul_task()
    }
}

/// Counts attended (query, key) pairs one by one: the independent reference for the formula.
fn brute_pairs(q_len: u64, kv_len: u64, causal: bool) -> u64 {
    let mut n = 0;
    for i in 0..q_len {
        for j in 0..kv_len {
            if !causal || j <= i + (kv_len - q_len) {
                n += 1;
            }
        }
    }
    n
}

fn task_err(t: &TaskSpec) -> TaskError {
    match t.validate() {
        Err(Error::Task(e)) => e,
        other => panic!("expected a task error, got {other:?}"),
    }
}

#[test]
fn matmul_compute_units_is_2mnk() {
    assert_eq!(matmul_task().compute_units().unwrap(), 2 * 4 * 8 * 64);
    let mut t = matmul_task();
    t.kernel = KernelId::MatmulQ4_0;
    t.params = KernelParams::Matmul { m: 3, n: 5, k: 96 };
    assert_eq!(t.compute_units().unwrap(), 2880);
}

#[test]
fn attention_compute_units_match_brute_force() {
    for &(h, kvh, q, kv, d) in &[
        (2, 1, 3, 5, 64),
        (4, 2, 7, 7, 128),
        (8, 8, 1, 9, 64),
        (1, 1, 16, 33, 128),
    ] {
        for causal in [false, true] {
            let t = attention(h, kvh, q, kv, d, causal);
            let pairs = brute_pairs(u64::from(q), u64::from(kv), causal);
            assert_eq!(
                t.compute_units().unwrap(),
                4 * u64::from(d) * u64::from(h) * pairs,
                "{h} {q} {kv} {causal}"
            );
        }
    }
    // Worked by hand: queries see 3, 4, 5 keys -> 12 pairs; 4·64·2·12.
    assert_eq!(
        attention(2, 1, 3, 5, 64, true).compute_units().unwrap(),
        6144
    );
}

#[test]
fn kernel_and_params_must_agree() {
    let mut t = matmul_task();
    t.kernel = KernelId::Attention;
    assert_eq!(task_err(&t), TaskError::KernelParamsMismatch);
    let mut t = attention(2, 1, 3, 5, 64, false);
    t.kernel = KernelId::MatmulQ4_0;
    assert_eq!(task_err(&t), TaskError::KernelParamsMismatch);
}

#[test]
fn unsupported_kernel_version_is_rejected() {
    let mut t = matmul_task();
    t.kernel_version = 2;
    assert_eq!(task_err(&t), TaskError::UnsupportedKernelVersion(2));
}

#[test]
fn matmul_bounds() {
    let with = |m, n, k| TaskSpec {
        params: KernelParams::Matmul { m, n, k },
        ..matmul_task()
    };
    assert_eq!(task_err(&with(0, 8, 32)), TaskError::ZeroDimension("m"));
    assert_eq!(task_err(&with(1, 0, 32)), TaskError::ZeroDimension("n"));
    assert_eq!(task_err(&with(1, 1, 0)), TaskError::ZeroDimension("k"));
    assert_eq!(task_err(&with(1, 1, 33)), TaskError::KNotBlockAligned(33));
    assert_eq!(
        task_err(&with(65537, 1, 32)),
        TaskError::DimensionTooLarge {
            name: "m",
            value: 65537,
            max: 65536
        }
    );
    // 2·8192³ = 2^40 is the largest allowed; one more row exceeds it.
    assert_eq!(
        with(8192, 8192, 8192).compute_units().unwrap(),
        MAX_COMPUTE_UNITS
    );
    assert_eq!(task_err(&with(8193, 8192, 8192)), TaskError::TooMuchCompute);
}

#[test]
fn attention_bounds() {
    assert_eq!(
        task_err(&attention(6, 4, 3, 5, 64, false)),
        TaskError::KvHeadsDoNotDivide {
            n_heads: 6,
            n_kv_heads: 4
        }
    );
    assert_eq!(
        task_err(&attention(4, 0, 3, 5, 64, false)),
        TaskError::ZeroDimension("n_kv_heads")
    );
    assert_eq!(
        task_err(&attention(4, 4, 3, 5, 96, false)),
        TaskError::UnsupportedHeadDim(96)
    );
    assert_eq!(
        task_err(&attention(4, 4, 6, 5, 64, true)),
        TaskError::CausalQueryLongerThanKeys
    );
    assert!(attention(4, 4, 6, 5, 64, false).validate().is_ok());
    assert_eq!(
        task_err(&attention(257, 1, 1, 1, 64, false)).code(),
        "task.dimension_too_large"
    );
    assert_eq!(
        task_err(&attention(256, 1, 131072, 131072, 128, false)),
        TaskError::TooMuchCompute
    );
}

#[test]
fn digest_is_sha256_of_envelope() {
    use sha2::Digest as _;
    let t = matmul_task();
    let bytes = t.encode().unwrap();
    assert_eq!(
        t.digest().unwrap().0,
        <[u8; 32]>::from(sha2::Sha256::digest(&bytes))
    );
}

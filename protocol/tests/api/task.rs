//! TaskSpec validation and the compute-unit formula.

use mycel_protocol::Error;
use mycel_protocol::error::TaskError;
use mycel_protocol::task::{
    AttnDtype, AttnMode, KernelId, KernelParams, MAX_COMPUTE_UNITS, MAX_TASK_MEMORY, TaskSpec,
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
    t.kernel_version = 3;
    assert_eq!(task_err(&t), TaskError::UnsupportedKernelVersion(3));
    t.kernel_version = 0;
    assert_eq!(task_err(&t), TaskError::UnsupportedKernelVersion(0));
}

#[test]
fn kernel_version_2_is_for_matmul_only() {
    let mut t = matmul_task();
    t.kernel_version = mycel_protocol::task::KERNEL_VERSION_ROWS;
    t.validate().unwrap();
    assert!(t.weights_by_rows());
    let back = TaskSpec::decode(&t.encode().unwrap()).unwrap();
    assert_eq!(back, t);
    assert_ne!(t.digest().unwrap(), matmul_task().digest().unwrap());
    let mut a = attention(4, 2, 8, 64, 64, false);
    a.validate().unwrap();
    a.kernel_version = 2;
    assert_eq!(
        task_err(&a),
        TaskError::KernelVersionForKernel { version: 2 }
    );
    assert_eq!(
        mycel_protocol::Error::from(TaskError::KernelVersionForKernel { version: 2 }).code(),
        "task.kernel_version_for_kernel"
    );
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

/// The memory measure of spec/kernels.md ("Task resource bounds"), written as a list of the
/// buffers an executor holds (independently of the crate's formula): f32 values at 4 bytes,
/// Q8_0 data at 34 bytes per 32 elements.
fn buffers(p: &KernelParams) -> u64 {
    match *p {
        KernelParams::Matmul { m, n, k } => {
            let (m, n, k) = (u64::from(m), u64::from(n), u64::from(k));
            let q8 = |rows: u64| rows * (k / 32) * 34;
            let activations = m * k * 4;
            let output = m * n * 4;
            [activations, q8(m), q8(n), output, output].iter().sum()
        }
        KernelParams::Attention {
            n_heads,
            n_kv_heads,
            q_len,
            kv_len,
            head_dim,
            ..
        } => {
            let q = u64::from(n_heads) * u64::from(q_len) * u64::from(head_dim) * 4;
            let kv = u64::from(n_kv_heads) * u64::from(kv_len) * u64::from(head_dim) * 4;
            [q, kv, kv, q, q].iter().sum()
        }
        _ => unreachable!(),
    }
}

fn matmul(m: u32, n: u32, k: u32) -> TaskSpec {
    TaskSpec {
        params: KernelParams::Matmul { m, n, k },
        ..matmul_task()
    }
}

/// Hole 2 of issue #19: the 116-byte attention task (n_heads = n_kv_heads = 256, q_len = 1,
/// kv_len = 131072, head_dim = 128) is within every dimension and compute bound (2^34 units)
/// but would need 16 GiB for each of K and V: decoding it fails with the memory bound.
#[test]
fn issue_attention_task_is_rejected_by_the_memory_bound() {
    let mut bytes = vec![1u8, 0x01]; // version 1, kind TaskSpec
    bytes.extend([0xAA; 32]); // network
    bytes.extend([1, 9, 2, 1]); // subnet 1, epoch 9, kernel Attention, kernel_version 1
    bytes.push(1); // KernelParams::Attention
    bytes.extend([0x80, 0x02, 0x80, 0x02]); // n_heads = n_kv_heads = 256
    bytes.push(1); // q_len = 1
    bytes.extend([0x80, 0x80, 0x08]); // kv_len = 131072
    bytes.extend([0x80, 0x01, 0, 0, 0]); // head_dim 128, not causal, f32, verifiable
    bytes.extend([0; 32]); // weights_digest
    bytes.extend([0x5E; 32]); // input_seed
    assert_eq!(bytes.len(), 116);
    let err = TaskSpec::decode(&bytes).unwrap_err();
    // 12·(256·1·128) + 8·(256·131072·128) bytes.
    let need = 12 * 256 * 128 + 8 * 256 * 131_072 * 128;
    assert_eq!(
        err,
        Error::Task(TaskError::TooMuchMemory {
            bytes: need,
            max: 1 << 30
        })
    );
    assert_eq!(err.code(), "task.too_much_memory");
    assert!(
        err.to_string()
            .contains("task exceeds the memory bound of 1073741824 bytes"),
        "{err}"
    );
    // The same task with kv_len 4 decodes: only the memory bound was in the way.
    let t = attention(256, 256, 1, 4, 128, false);
    assert!(t.validate().is_ok());
    assert_eq!(
        t.params.memory_bytes(),
        buffers(&t.params),
        "the measure is the sum of the buffers"
    );
}

/// The measure equals the sum of the buffers on a spread of shapes, and the bound is inclusive.
#[test]
fn memory_measure_and_bound() {
    assert_eq!(MAX_TASK_MEMORY, 1 << 30);
    for &(m, n, k) in &[(1, 1, 32), (3, 5, 96), (8, 64, 128), (4096, 16384, 8192)] {
        let t = matmul(m, n, k);
        assert_eq!(t.params.memory_bytes(), buffers(&t.params), "{m} {n} {k}");
    }
    for &(h, kvh, q, kv, d) in &[
        (2, 1, 3, 5, 64),
        (32, 8, 1, 131_066, 128),
        (4, 2, 8, 192, 64),
    ] {
        let t = attention(h, kvh, q, kv, d, false);
        assert_eq!(t.params.memory_bytes(), buffers(&t.params));
    }
    // The largest tasks spec/kernels.md lists are valid, one step further is not.
    let valid = [
        matmul(8192, 8192, 8192), // the largest cube (the compute bound binds first)
        matmul(4096, 16384, 8192), // 16384 × 8192 weights, m at the compute bound
        matmul(1, 31776, 31776),  // the largest square weights
        matmul(11572, 11572, 32), // the largest square output
        attention(32, 8, 1, 131_066, 128, false),
        attention(32, 32, 1, 32_766, 128, false),
        attention(32, 8, 11_584, 11_584, 128, true),
    ];
    for t in &valid {
        assert!(t.params.memory_bytes() <= MAX_TASK_MEMORY);
        assert!(t.validate().is_ok(), "{:?}", t.params);
    }
    for t in [
        matmul(1, 31808, 31776),
        matmul(11573, 11573, 32),
        attention(32, 8, 1, 131_067, 128, false),
        attention(32, 32, 1, 32_767, 128, false),
    ] {
        let e = task_err(&t);
        assert_eq!(
            e,
            TaskError::TooMuchMemory {
                bytes: buffers(&t.params),
                max: MAX_TASK_MEMORY
            },
            "{:?}",
            t.params
        );
    }
    // The largest matrix the dimension bounds allow (65536²) is out of range, and so is
    // the executor-refused m·k = 2^31 of mycel-kernels' own check.
    assert_eq!(
        task_err(&matmul(1, 65536, 65536)).code(),
        "task.too_much_memory"
    );
    assert_eq!(
        task_err(&matmul(65536, 1, 32768)).code(),
        "task.too_much_memory"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Over the whole range of the dimension bounds: a task is valid exactly when its compute
    /// units and its buffers (recomputed independently) are within their bounds, and the
    /// memory error reports the exact measure.
    #[test]
    fn memory_bound_decides_exactly(
        a in 1u32..=65536, b in 1u32..=65536, kb in 1u32..=2048,
        heads_log in 0u32..=8, kv_div_log in 0u32..=8, q in 1u32..=131_072, kv in 1u32..=131_072,
        big in proptest::prelude::any::<bool>(), attn in proptest::prelude::any::<bool>(),
    ) {
        let t = if attn {
            let n_heads = 1u32 << heads_log;
            attention(n_heads, n_heads >> kv_div_log.min(heads_log), q, kv, if big { 128 } else { 64 }, false)
        } else {
            matmul(a, b, kb * 32)
        };
        let units = match t.params {
            KernelParams::Matmul { m, n, k } => 2 * u64::from(m) * u64::from(n) * u64::from(k),
            KernelParams::Attention { n_heads, q_len, kv_len, head_dim, .. } => {
                4 * u64::from(head_dim) * u64::from(n_heads) * u64::from(q_len) * u64::from(kv_len)
            }
            _ => unreachable!(),
        };
        let need = buffers(&t.params);
        let got = t.validate();
        if units > MAX_COMPUTE_UNITS {
            proptest::prop_assert_eq!(task_err(&t), TaskError::TooMuchCompute);
        } else if need > MAX_TASK_MEMORY {
            proptest::prop_assert_eq!(
                task_err(&t),
                TaskError::TooMuchMemory { bytes: need, max: MAX_TASK_MEMORY }
            );
        } else {
            proptest::prop_assert!(got.is_ok(), "{:?}: {:?}", t.params, got);
        }
    }
}

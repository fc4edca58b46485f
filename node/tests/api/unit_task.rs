//! Unit-level tests of `node/src/task.rs`, through the public API.

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_node::task::*;
use mycel_protocol::task::{AttnDtype, AttnMode, TaskSpec};
use sha2::{Digest as _, Sha256};

#[test]
fn seeded_tasks_execute_from_the_task_alone() {
    let t = matmul_task(TaskScope::default(), QuantFormat::Q4_0, 3, 32, 64, [5; 32]).unwrap();
    let bytes = t.encode().unwrap();
    let back = TaskSpec::decode(&bytes).unwrap();
    let a = execute_seeded(&back, Backend::Auto, 1).unwrap();
    let w = generate_weights(&weights_seed(&[5; 32]), QuantFormat::Q4_0, 32, 64).unwrap();
    let b = execute(&t, Some(&w), Backend::Auto, 1).unwrap();
    assert_eq!(a.commitment, b.commitment);
    // Independent check of the derivation.
    let mut pre = b"mycel/v1/task-weights".to_vec();
    pre.extend_from_slice(&[5; 32]);
    assert_eq!(
        weights_seed(&[5; 32]),
        <[u8; 32]>::from(Sha256::digest(&pre))
    );
    // A task naming other weights is refused with a reason.
    let mut other = t;
    other.weights_digest = weights_digest(b"x");
    assert_eq!(
        execute_seeded(&other, Backend::Auto, 1).unwrap_err().code(),
        "node.invalid_argument"
    );
    let shape = AttentionShape {
        n_heads: 2,
        n_kv_heads: 1,
        q_len: 3,
        kv_len: 70,
        head_dim: 64,
        causal: true,
        dtype: AttnDtype::F16,
        mode: AttnMode::Verifiable,
    };
    let at = attention_task(TaskScope::default(), shape, [6; 32]).unwrap();
    assert_eq!(seeded_weights(&at).unwrap(), None);
    execute_seeded(&at, Backend::Auto, 1).unwrap();
    assert!(matmul_task(TaskScope::default(), QuantFormat::Q8_0, 1, 32, 33, [0; 32]).is_err());
    assert!(
        matmul_task(
            TaskScope::default(),
            QuantFormat::Q8_0,
            1,
            65_536,
            65_536,
            [0; 32]
        )
        .is_err()
    );
}

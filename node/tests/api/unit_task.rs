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

/// One choice of weights for every host: the task's own, generated from a seed, or given as
/// blocks; each runs with exactly the bytes it names, and explicit weights on a task that
/// takes none are refused instead of ignored.
#[test]
fn task_weights_choose_the_same_bytes_on_every_path() {
    let t = matmul_task(TaskScope::default(), QuantFormat::Q8_0, 2, 32, 64, [7; 32]).unwrap();
    let own = generate_weights(&weights_seed(&[7; 32]), QuantFormat::Q8_0, 32, 64).unwrap();
    // Seeded: the generator seed is SHA-256 of the tag and the input seed (checked above).
    let seeded = TaskWeights::Seeded.load(&t).unwrap().unwrap();
    assert_eq!(&*seeded, &own[..]);
    // Generated from an explicit seed: the same bytes as generate_weights.
    let g = TaskWeights::Generated(weights_seed(&[7; 32]))
        .load(&t)
        .unwrap()
        .unwrap();
    assert_eq!(&*g, &own[..]);
    // Blocks are borrowed, not copied.
    let b = TaskWeights::Blocks(&own).load(&t).unwrap().unwrap();
    assert!(matches!(b, std::borrow::Cow::Borrowed(_)));
    assert_eq!(b.as_ptr(), own.as_ptr());
    // A host's two optional arguments map onto the same choices; both at once are refused.
    assert_eq!(TaskWeights::given(None, None).unwrap(), TaskWeights::Seeded);
    assert_eq!(
        TaskWeights::given(None, Some([9; 32])).unwrap(),
        TaskWeights::Generated([9; 32])
    );
    assert_eq!(
        TaskWeights::given(Some(&own), None).unwrap(),
        TaskWeights::Blocks(&own)
    );
    let e = TaskWeights::given(Some(&own), Some([9; 32])).unwrap_err();
    assert_eq!(e.code(), "node.invalid_argument");
    assert!(e.to_string().contains("not both"), "{e}");
    // Executing with each gives the commitment of executing with the bytes directly.
    let direct = execute(&t, Some(&own), Backend::Scalar, 1)
        .unwrap()
        .commitment;
    for w in [
        TaskWeights::Seeded,
        TaskWeights::Generated(weights_seed(&[7; 32])),
        TaskWeights::Blocks(&own),
    ] {
        assert_eq!(
            execute_with(&t, w, Backend::Auto, 1).unwrap().commitment,
            direct,
            "{w:?}"
        );
    }
    // The proof input names the same weights: the seed itself where one generates them.
    assert_eq!(
        TaskWeights::Seeded.proof_input(&t).unwrap(),
        mycel_node::tile_proof::WeightsInput::Seeded(weights_seed(&[7; 32]))
    );
    assert_eq!(
        TaskWeights::Generated([9; 32]).proof_input(&t).unwrap(),
        mycel_node::tile_proof::WeightsInput::Seeded([9; 32])
    );
    assert_eq!(
        TaskWeights::Blocks(&own).proof_input(&t).unwrap(),
        mycel_node::tile_proof::WeightsInput::Bytes(&own)
    );
    // Wrong weights reach the kernel's digest check (not a silent run).
    let other = generate_weights(&[8; 32], QuantFormat::Q8_0, 32, 64).unwrap();
    let e = execute_with(&t, TaskWeights::Generated([8; 32]), Backend::Auto, 1).unwrap_err();
    assert_eq!(e.code(), "weights_digest", "{e}");
    let e = execute_with(&t, TaskWeights::Blocks(&other), Backend::Auto, 1).unwrap_err();
    assert_eq!(e.code(), "weights_digest", "{e}");
    // A task naming other weights cannot run on its seed, and says it needs them.
    let mut foreign = t;
    foreign.weights_digest = weights_digest(&other);
    let e = TaskWeights::Seeded.load(&foreign).unwrap_err();
    assert_eq!(e.code(), "node.invalid_argument");
    assert!(e.to_string().contains("needs weights"), "{e}");
    assert!(execute_with(&foreign, TaskWeights::Blocks(&other), Backend::Auto, 1).is_ok());

    // Attention takes no weights: none is loaded for Seeded; explicit weights are refused.
    let shape = AttentionShape {
        n_heads: 2,
        n_kv_heads: 1,
        q_len: 4,
        kv_len: 4,
        head_dim: 64,
        causal: false,
        dtype: AttnDtype::F32,
        mode: AttnMode::Verifiable,
    };
    let a = attention_task(TaskScope::default(), shape, [3; 32]).unwrap();
    assert!(TaskWeights::Seeded.load(&a).unwrap().is_none());
    assert_eq!(
        TaskWeights::Seeded.proof_input(&a).unwrap(),
        mycel_node::tile_proof::WeightsInput::None
    );
    for w in [TaskWeights::Generated([1; 32]), TaskWeights::Blocks(&own)] {
        let e = w.load(&a).unwrap_err();
        assert_eq!(e.code(), "node.invalid_argument");
        assert!(e.to_string().contains("takes no weights"), "{e}");
        assert!(w.proof_input(&a).is_err());
        assert!(execute_with(&a, w, Backend::Auto, 1).is_err());
    }
    assert_eq!(
        execute_with(&a, TaskWeights::Seeded, Backend::Auto, 1)
            .unwrap()
            .commitment,
        execute_seeded(&a, Backend::Auto, 1).unwrap().commitment
    );
}

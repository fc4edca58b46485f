//! Unit-level tests of `node/src/sim/work.rs`, through the public API.

use mycel_node::sim::{MinerBehaviour, Scenario, execute_as, execute_honest, latency_ms};
use mycel_node::validator::tasks::WeightPool;
use mycel_node::validator::tasks::{TaskContext, issue_task};
use mycel_protocol::ids::{Hotkey, NetworkId, SubnetId};
use mycel_protocol::task::KernelId;

fn ctx(beacon: u8) -> TaskContext {
    TaskContext {
        network: NetworkId([1; 32]),
        subnet: SubnetId(1),
        epoch: 0,
        beacon: [beacon; 32],
    }
}

#[test]
fn tasks_are_deterministic_and_mixed() {
    let s = Scenario::default();
    let pool = WeightPool::generate(s.seed, &s.tasks).unwrap();
    let (v, m) = (Hotkey([2; 32]), Hotkey([3; 32]));
    let a = issue_task(&s.tasks, &pool, ctx(9), &v, &m, 0).unwrap();
    let b = issue_task(&s.tasks, &pool, ctx(9), &v, &m, 0).unwrap();
    assert_eq!(a, b);
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..40 {
        let t = issue_task(&s.tasks, &pool, ctx(9), &v, &m, i).unwrap();
        kinds.insert(format!("{:?}", t.kernel));
        if let Some(w) = pool.find(&t) {
            assert_eq!(w.digest, t.weights_digest);
        }
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Same slot, another miner: same kind, shape and weights, other inputs.
    let other = issue_task(&s.tasks, &pool, ctx(9), &v, &Hotkey([4; 32]), 0).unwrap();
    assert_eq!(
        (other.kernel, other.params, other.weights_digest),
        (a.kernel, a.params, a.weights_digest)
    );
    assert_ne!(other.input_seed, a.input_seed);
    assert_eq!(other.compute_units().unwrap(), a.compute_units().unwrap());
}

#[test]
fn behaviours_claim_what_they_should() {
    let s = Scenario::default();
    let pool = WeightPool::generate(s.seed, &s.tasks).unwrap();
    let (v, m) = (Hotkey([2; 32]), Hotkey([3; 32]));
    let mut saw_attention = false;
    for i in 0..12 {
        let t = issue_task(&s.tasks, &pool, ctx(5), &v, &m, i).unwrap();
        let truth = execute_honest(&pool, &t).unwrap();
        let honest = execute_as(MinerBehaviour::Honest, &pool, &t, 1, &[0; 32])
            .unwrap()
            .unwrap();
        let slow = execute_as(MinerBehaviour::Slow, &pool, &t, 1, &[0; 32])
            .unwrap()
            .unwrap();
        let lazy = execute_as(MinerBehaviour::Lazy, &pool, &t, 1, &[0; 32])
            .unwrap()
            .unwrap();
        let sloppy = execute_as(MinerBehaviour::Sloppy, &pool, &t, 1, &[0; 32])
            .unwrap()
            .unwrap();
        assert_eq!(honest, truth);
        assert_eq!(slow, truth);
        assert_ne!(lazy.commitment, truth.commitment);
        if t.kernel == KernelId::Attention {
            saw_attention = true;
            // Fast mode reorders the softmax; on these shapes its bits differ.
            assert_ne!(sloppy.commitment, truth.commitment);
        } else {
            assert_eq!(sloppy, truth);
        }
        assert_eq!(
            execute_as(MinerBehaviour::Copier, &pool, &t, 1, &[0; 32]).unwrap(),
            None
        );
    }
    assert!(saw_attention);
}

#[test]
fn slow_miners_take_slow_factor_times_longer() {
    let s = Scenario::default();
    let seed = [4; 32];
    let h = latency_ms(&s, MinerBehaviour::Honest, 1_000_000, &seed);
    let slow = latency_ms(&s, MinerBehaviour::Slow, 1_000_000, &seed);
    assert_eq!(slow, 5 * h);
    // 20 ms overhead + 10 ms of compute, plus at most 10 % jitter.
    assert!((30..=33).contains(&h), "{h}");
    assert_eq!(latency_ms(&s, MinerBehaviour::Lazy, 1_000_000, &seed), 2);
}

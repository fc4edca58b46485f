//! The subnet simulation through the library: determinism, copiers, commit-reveal.

use mycel_node::sim::{
    Artifacts, MinerBehaviour, NoClock, Scenario, SimLog, Subnet, ValidatorBehaviour, to_json,
};
use mycel_protocol::receipt::ReceiptBatch;
use mycel_protocol::scoring::weights_from_scores;

pub fn tiny() -> Scenario {
    let mut s = Scenario::from_toml(
        r#"
        epochs = 3
        [miners]
        count = 5
        [validators]
        count = 3
        weight_copier = 1
        colluder = 0
        [tasks]
        per_miner = 2
        matmul_m = [1]
        matmul_n = 32
        matmul_k = 64
        attention_heads = 1
        attention_kv_heads = 1
        attention_q_len = 2
        attention_kv_len = 130
        "#,
    )
    .unwrap();
    s.scoring.reveal_delay_epochs = 0;
    s
}

fn run(s: &Scenario, threads: usize) -> (Vec<(String, Artifacts)>, String) {
    let mut net = Subnet::new(s.clone()).unwrap();
    let mut records = Vec::new();
    let mut out = Vec::new();
    for _ in 0..s.epochs {
        let o = net.step(threads, &NoClock).unwrap();
        out.push((serde_json::to_string(&o.record).unwrap(), o.artifacts));
        records.push(o.record);
    }
    let log = to_json(&SimLog::new(&net, records)).unwrap();
    (out, log)
}

#[test]
fn epochs_do_not_depend_on_the_thread_count() {
    let s = tiny();
    let ((a, la), (b, lb)) = (run(&s, 1), run(&s, 3));
    for ((ra, aa), (rb, ab)) in a.iter().zip(&b) {
        assert_eq!(ra, rb);
        assert_eq!(aa.batches, ab.batches);
        assert_eq!(aa.proofs, ab.proofs);
    }
    assert_eq!(la, lb);
}

#[test]
fn copiers_sign_their_source_commitment_for_their_own_task() {
    let mut net = Subnet::new(tiny()).unwrap();
    let copier = net
        .miners
        .iter()
        .position(|m| m.behaviour == MinerBehaviour::Copier)
        .unwrap();
    let source = net.miners[copier].copy_from.unwrap();
    assert_ne!(net.miners[source].behaviour, MinerBehaviour::Copier);
    let (copier_key, source_key) = (
        net.miners[copier].role.hotkey(),
        net.miners[source].role.hotkey(),
    );
    let o = net.step(1, &NoClock).unwrap();
    let batch: ReceiptBatch = mycel_protocol::wire::decode(&o.artifacts.batches[0].1).unwrap();
    let find = |k| {
        batch
            .receipts
            .iter()
            .find(|r| r.body.miner == k && r.body.nonce == 0)
            .unwrap()
    };
    let (c, src) = (find(copier_key), find(source_key));
    assert_eq!(c.body.output_commitment, src.body.output_commitment);
    assert_ne!(c.body.task_digest, src.body.task_digest);
    assert!(c.body.finished_at_ms > src.body.finished_at_ms);
}

#[test]
fn reveals_match_commits_and_weight_copiers_copy_consensus() {
    let mut net = Subnet::new(tiny()).unwrap();
    let copier = net
        .validators
        .iter()
        .position(|v| v.behaviour == ValidatorBehaviour::WeightCopier)
        .unwrap();
    let r0 = net.step(1, &NoClock).unwrap().record;
    // With reveal_delay_epochs = 0 every validator reveals what it committed this epoch.
    for v in &r0.validators {
        assert!(v.weights_revealed.is_some());
    }
    // Nothing to copy before the first consensus exists.
    assert_eq!(r0.validators[copier].weights_revealed, Some(Vec::new()));
    let consensus = net.previous_consensus().unwrap().to_vec();
    let r1 = net.step(1, &NoClock).unwrap().record;
    let copied = r1.validators[copier].weights_revealed.clone().unwrap();
    let expected = weights_from_scores(
        &net.miners
            .iter()
            .map(|m| (m.uid, u64::from(consensus[usize::from(m.uid)])))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!copied.is_empty());
    assert_eq!(copied, expected);
}

#[test]
fn lazy_miners_and_copiers_are_caught_and_their_proofs_hold() {
    let mut s = tiny();
    s.miners.lazy = 1;
    s.miners.copier = 1;
    s.scoring.min_checks_per_miner = 1;
    let mut net = Subnet::new(s).unwrap();
    let mut records = Vec::new();
    let mut proofs = Vec::new();
    for _ in 0..3 {
        let o = net.step(2, &NoClock).unwrap();
        proofs.extend(o.artifacts.proofs);
        records.push(o.record);
    }
    let log = SimLog::new(&net, records);
    for m in &log.totals.miners {
        match m.behaviour {
            "lazy" | "copier" => {
                assert!(m.caught > 0, "{} uid {} never caught", m.behaviour, m.uid);
                assert_eq!(m.final_incentive_share, 0.0, "{}", m.behaviour);
            }
            "sloppy" => {}
            _ => {
                assert_eq!(m.caught, 0, "{} uid {} caught", m.behaviour, m.uid);
                assert!(m.final_incentive_share > 0.0);
            }
        }
    }
    assert!(!proofs.is_empty());
    for (_, json) in &proofs {
        let p = mycel_node::FraudProof::from_json(json).unwrap();
        p.check().unwrap();
    }
}

#[test]
fn scenario_errors_are_typed_and_name_the_field() {
    let e = Scenario::from_toml("[tasks]\nper_miner = 0")
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(e.code(), "node.scenario");
    assert!(e.to_string().contains("tasks.per_miner"), "{e}");
    let e = Subnet::new(Scenario::from_toml("epochs = 0").unwrap()).unwrap_err();
    assert!(e.to_string().contains("epochs"), "{e}");
    assert_eq!(
        Scenario::from_toml("nonsense = 1").unwrap_err().code(),
        "node.scenario"
    );
}

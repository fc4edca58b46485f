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
    // The closing table's figures: one file per published proof, and emission shares that
    // are each miner's rao over all miners' rao (the caught ones 0 only if never paid).
    assert_eq!(log.fraud_proof_count(), proofs.len());
    let shares = log.totals.emission_shares();
    let paid: u64 = log.totals.miners.iter().map(|m| m.emission_rao).sum();
    assert!(paid > 0);
    assert_eq!(shares.len(), log.totals.miners.len());
    for (m, share) in log.totals.miners.iter().zip(&shares) {
        assert_eq!(*share, m.emission_rao as f64 / paid as f64, "uid {}", m.uid);
    }
    assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn timings_sum_per_phase_and_cpu_time_only_when_every_epoch_has_it() {
    use core::time::Duration;
    use mycel_node::sim::{PhaseTimes, Timings};
    let mut t = Timings {
        threads: 2,
        miners: 3,
        validators: 1,
        epochs: Vec::new(),
        setup_s: 0.5,
        output_s: 0.25,
    };
    assert_eq!(t.mean_divisor(), 1.0);
    assert_eq!(t.sums().process_cpu_s, Some(0.0));
    let ms = Duration::from_millis;
    let phases = |k: u64| PhaseTimes {
        work: ms(100 * k),
        verify: ms(20 * k),
        emission: ms(k),
        signatures_cpu: ms(8 * k),
        reexecution_cpu: ms(10 * k),
        audit: ms(2 * k),
    };
    t.push(&phases(1), Some(0.125));
    t.push(&phases(3), Some(0.5));
    let s = t.sums();
    assert_eq!(t.mean_divisor(), 2.0);
    assert!((s.kernel_work_s - 0.4).abs() < 1e-12, "{s:?}");
    assert!((s.verification_s - 0.08).abs() < 1e-12, "{s:?}");
    assert!((s.emission_s - 0.004).abs() < 1e-12, "{s:?}");
    assert!((s.signatures_cpu_s - 0.032).abs() < 1e-12, "{s:?}");
    assert!((s.reexecution_cpu_s - 0.04).abs() < 1e-12, "{s:?}");
    assert!((s.fraud_audit_s - 0.008).abs() < 1e-12, "{s:?}");
    assert_eq!(s.process_cpu_s, Some(0.625));
    t.push(&phases(1), None);
    assert_eq!(t.sums().process_cpu_s, None);
    // The `--timings` file: these fields, in this order.
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        json.starts_with(r#"{"threads":2,"miners":3,"validators":1,"epochs":[{"kernel_work_s":0.1,"verification_s":0.02,"emission_s":0.001,"signatures_cpu_s":0.008,"reexecution_cpu_s":0.01,"fraud_audit_s":0.002,"process_cpu_s":0.125},"#),
        "{json}"
    );
    assert!(
        json.ends_with(r#""process_cpu_s":null}],"setup_s":0.5,"output_s":0.25}"#),
        "{json}"
    );
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

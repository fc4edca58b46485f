//! The miner and validator roles driven step by step, with no simulation.

use mycel_kernels::Backend;
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool, issue_task};
use mycel_node::validator::{Validator, ValidatorState, sample};
use mycel_node::{FraudError, FraudProof};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, Outcome};
use mycel_protocol::scoring::verify_reveal;
use mycel_protocol::task::KernelId;

fn ctx() -> TaskContext {
    TaskContext {
        network: NetworkId([9; 32]),
        subnet: SubnetId(3),
        epoch: 5,
        beacon: [7; 32],
    }
}

fn fields(v: &Validator, nonce: u64) -> ReceiptFields {
    ReceiptFields {
        assigner: v.hotkey(),
        nonce,
        started_at_ms: 10,
        finished_at_ms: 20,
        backend: BackendLabel::new("test").unwrap(),
    }
}

/// One honest miner, one lazy miner, one validator checking everything: the lazy miner's
/// receipts mismatch, their fraud proofs hold, the honest miner's match and a proof made
/// against them fails, naming why.
#[test]
fn a_full_epoch_through_the_roles() {
    let mix = TaskConfig {
        matmul_n: 32,
        matmul_k: 64,
        attention_kv_len: 64,
        ..TaskConfig::default()
    };
    let pool = WeightPool::generate(1, &mix).unwrap();
    let validator = Validator::new(SigningKey::from_seed(&[1; 32]), 1 << 31).unwrap();
    let honest = Miner::new(SigningKey::from_seed(&[2; 32]));
    let lazy = Miner::new(SigningKey::from_seed(&[3; 32]));
    let c = ctx();
    let mut receipts = Vec::new();
    let mut tasks = Vec::new();
    for index in 0..4u32 {
        for (who, m) in [(0, &honest), (1, &lazy)] {
            let task = issue_task(&mix, &pool, c, &validator.hotkey(), &m.hotkey(), index).unwrap();
            let weights = pool.find(&task).map(|w| w.bytes.as_slice());
            let receipt = if who == 0 {
                m.run(
                    &task,
                    weights,
                    Backend::Auto,
                    1,
                    fields(&validator, index.into()),
                )
                .unwrap()
                .receipt
            } else {
                let fake = Claim {
                    commitment: Digest([0xee; 32]),
                    tile_root: Digest([0xdd; 32]),
                };
                m.sign(&task, fake, fields(&validator, index.into()))
                    .unwrap()
            };
            receipts.push(receipt);
            tasks.push((who, task));
        }
    }
    let batch = validator
        .commit_batch(c.network, c.subnet, Epoch(c.epoch), receipts.clone())
        .unwrap();
    assert!(
        validator
            .verify_batch(&batch, &[5; 32])
            .iter()
            .all(Result::is_ok)
    );
    let seed = sample::sample_seed(&c.beacon, &batch.root, &validator.hotkey(), &[1; 32]);
    let all: Vec<usize> = (0..receipts.len()).collect();
    let picked = sample::sample(&seed, &batch.ids, &all, sample::PPM, 0);
    assert_eq!(picked.len(), receipts.len());
    let mut caught = 0;
    for i in picked {
        let (who, task) = &tasks[i];
        let w = pool.find(task);
        let truth = validator
            .reexecute(task, w.map(|w| w.bytes.as_slice()), Backend::Auto, 1)
            .unwrap();
        let judgement = validator.judge(batch.ids[i], &receipts[i], truth).unwrap();
        let verdict = judgement.verdict().unwrap().clone();
        let proof = validator
            .fraud_proof(
                &batch,
                i,
                task,
                &verdict,
                w.map(|w| w.source()),
                String::new(),
            )
            .unwrap();
        let back = FraudProof::from_json(&proof.to_json().unwrap()).unwrap();
        if *who == 1 {
            assert_eq!(verdict.body.outcome, Outcome::Mismatch);
            let confirmed = back.check().unwrap();
            assert_eq!(confirmed.recomputed, truth.commitment);
            assert_eq!(confirmed.batch_root, Some(batch.root));
            caught += 1;
        } else {
            assert_eq!(verdict.body.outcome, Outcome::Match);
            let e = back.check().unwrap_err();
            assert_eq!(e.code(), "fraud.not_mismatch", "{e}");
        }
    }
    assert_eq!(caught, 4);
    // A batch signature failure is named by index.
    let mut tampered = receipts.clone();
    tampered[3].body.nonce += 1;
    let bad = validator
        .commit_batch(c.network, c.subnet, Epoch(c.epoch), tampered)
        .unwrap();
    let results = validator.verify_batch(&bad, &[5; 32]);
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![3]);
}

#[test]
fn tampered_fraud_proofs_fail_with_the_rule_they_break() {
    let mix = TaskConfig {
        matmul_q8_0: 1,
        matmul_q4_0: 0,
        attention: 0,
        matmul_n: 32,
        matmul_k: 64,
        ..TaskConfig::default()
    };
    let pool = WeightPool::generate(2, &mix).unwrap();
    let validator = Validator::new(SigningKey::from_seed(&[1; 32]), 0).unwrap();
    let miner = Miner::new(SigningKey::from_seed(&[2; 32]));
    let c = ctx();
    let task = issue_task(&mix, &pool, c, &validator.hotkey(), &miner.hotkey(), 0).unwrap();
    assert_eq!(task.kernel, KernelId::MatmulQ8_0);
    let receipt = miner
        .sign(
            &task,
            Claim {
                commitment: Digest([1; 32]),
                tile_root: Digest([2; 32]),
            },
            fields(&validator, 0),
        )
        .unwrap();
    let batch = validator
        .commit_batch(c.network, c.subnet, Epoch(c.epoch), vec![receipt.clone()])
        .unwrap();
    let w = pool.find(&task).unwrap();
    let truth = validator
        .reexecute(&task, Some(&w.bytes), Backend::Auto, 1)
        .unwrap();
    let verdict = validator
        .judge(batch.ids[0], &receipt, truth)
        .unwrap()
        .verdict()
        .unwrap()
        .clone();
    let good = validator
        .fraud_proof(&batch, 0, &task, &verdict, Some(w.source()), "n".into())
        .unwrap();
    good.check().unwrap();

    let mut p = good.clone();
    p.task.replace_range(..2, "zz");
    assert_eq!(p.check().unwrap_err(), FraudError::NotHex { field: "task" });
    let mut p = good.clone();
    p.weights = None;
    assert_eq!(p.check().unwrap_err(), FraudError::WeightsMissing);
    let mut p = good.clone();
    p.weights.as_mut().unwrap().seed = "00".repeat(32);
    assert_eq!(p.check().unwrap_err().code(), "fraud.weights_digest");
    let mut p = good.clone();
    p.batch.as_mut().unwrap().root = Digest([0; 32]);
    assert_eq!(p.check().unwrap_err().code(), "fraud.not_in_batch");
    let mut p = good.clone();
    let last = p.receipt.len() - 2;
    p.receipt.replace_range(last.., "00");
    assert!(
        matches!(
            p.check().unwrap_err().code(),
            "fraud.receipt_signature" | "fraud.envelope"
        ),
        "tampered receipt"
    );
    assert_eq!(
        validator
            .fraud_proof(&batch, 5, &task, &verdict, None, String::new())
            .unwrap_err()
            .code(),
        "node.invalid_argument"
    );
    assert_eq!(
        FraudProof::from_json("{}").unwrap_err().code(),
        "fraud.not_a_proof"
    );
    let mut p = good.clone();
    p.format = "v0".into();
    let e = FraudProof::from_json(&serde_json::to_string(&p).unwrap()).unwrap_err();
    assert_eq!(e.code(), "fraud.format");
    proof_file_errors_name_the_field_and_the_bound(&good);
}

/// An edit of a proof file's JSON object.
type Edit = dyn Fn(&mut serde_json::Map<String, serde_json::Value>);

/// The reader both proof versions share (`mycel_node::proof_file`): each way a file can be
/// malformed gets its own typed error: a missing, unknown or repeated field named, a value of
/// the wrong type located.
fn proof_file_errors_name_the_field_and_the_bound(good: &FraudProof) {
    let text = good.to_json().unwrap();
    assert_eq!(&FraudProof::from_json(&text).unwrap(), good);
    let with = |edit: &Edit| {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(v.as_object_mut().unwrap());
        serde_json::to_string(&v).unwrap()
    };
    // `note` and `batch` may be left out; the others may not.
    let bare = FraudProof::from_json(&with(&|m| {
        m.remove("note");
        m.remove("batch");
    }))
    .unwrap();
    assert_eq!((bare.note.as_str(), bare.batch), ("", None));
    // (case, edit, the field a `Field` error names, or `None` for a located `NotAProof`).
    let cases: [(&str, &Edit, Option<&str>); 6] = [
        ("task missing", &|m| drop(m.remove("task")), Some("task")),
        (
            "an unknown field",
            &|m| drop(m.insert("extra".into(), 1.into())),
            Some("extra"),
        ),
        (
            "weights without seed",
            &|m| drop(m["weights"].as_object_mut().unwrap().remove("seed")),
            Some("seed"),
        ),
        (
            "an unknown batch field",
            &|m| {
                drop(
                    m["batch"]
                        .as_object_mut()
                        .unwrap()
                        .insert("x".into(), 1.into()),
                )
            },
            Some("x"),
        ),
        (
            "receipt a number",
            &|m| drop(m.insert("receipt".into(), 5.into())),
            None,
        ),
        (
            "batch root not hex",
            &|m| {
                drop(
                    m["batch"]
                        .as_object_mut()
                        .unwrap()
                        .insert("root".into(), "zz".into()),
                )
            },
            None,
        ),
    ];
    for (case, edit, field) in cases {
        let e = FraudProof::from_json(&with(edit)).unwrap_err();
        assert_eq!(e.code(), "fraud.not_a_proof", "{case}");
        match (e, field) {
            (FraudError::Field { field: got, .. }, Some(want)) => assert_eq!(got, want, "{case}"),
            (FraudError::NotAProof(why), None) => {
                assert!(why.contains("at line 1 column"), "{case}: {why}")
            }
            (e, _) => panic!("{case}: {e:?}"),
        }
    }
    // A repeated key is refused, not "the last one wins"; so is a format that is not a string.
    let twice = text.replacen('{', "{\"note\": \"first\",", 1);
    let e = FraudProof::from_json(&twice).unwrap_err();
    assert_eq!(e.code(), "fraud.not_a_proof");
    assert!(
        matches!(&e, FraudError::Field { field, reason } if field == "note" && reason.contains("duplicate field")),
        "{e:?}"
    );
    let e = FraudProof::from_json(&with(&|m| drop(m.insert("format".into(), 1.into()))));
    assert_eq!(e.unwrap_err().code(), "fraud.not_a_proof");
    // Size: any text over the largest proof file of any version, before it is parsed.
    let huge = " ".repeat(mycel_node::proof_file::MAX_PROOF_LEN as usize + 1);
    let e = mycel_node::AnyProof::from_json(&huge).unwrap_err();
    assert_eq!(e.code(), "fraud.too_large");
    assert_eq!(
        e,
        FraudError::TooLarge {
            len: huge.len() as u64,
            max: mycel_node::proof_file::MAX_PROOF_LEN
        }
    );
}

/// A validator restarted between its commit and its reveal still reveals, and its bans and
/// score EMA survive.
#[test]
fn validator_state_survives_a_restart_between_commit_and_reveal() {
    let key = [4u8; 32];
    let mut v = Validator::new(SigningKey::from_seed(&key), 1 << 31).unwrap();
    v.update_scores(&[(1, 10), (2, 30)]).unwrap();
    let banned = Miner::new(SigningKey::from_seed(&[8; 32])).hotkey();
    v.ban(banned, 9);
    let weights = v.weights(|_| true).unwrap();
    let commit = v
        .commit_weights(
            NetworkId([1; 32]),
            SubnetId(3),
            Epoch(4),
            weights.clone(),
            [6; 32],
        )
        .unwrap();
    let saved = v.state().to_json().unwrap();
    drop(v);

    let state = ValidatorState::from_json(&saved).unwrap();
    let mut v = Validator::from_state(SigningKey::from_seed(&key), state);
    assert!(v.is_banned(&banned, 9));
    assert!(!v.is_banned(&banned, 10));
    assert_eq!(v.weights(|_| true).unwrap(), weights);
    assert!(v.due_reveals(4, 1).is_empty(), "not due yet");
    let due = v.due_reveals(5, 1);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].commit, commit);
    verify_reveal(&due[0].commit, &due[0].reveal).unwrap();
    assert_eq!(due[0].reveal.weights, weights);
    assert!(v.due_reveals(6, 1).is_empty(), "revealed once");

    assert_eq!(
        ValidatorState::from_json("{").unwrap_err().code(),
        "node.state"
    );
}

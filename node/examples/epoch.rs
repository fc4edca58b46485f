//! One miner and one validator through a full epoch with the library alone (no CLI, no files):
//! issue tasks, execute and sign, commit the receipt batch, verify signatures, sample after the
//! root, re-execute, sign verdicts, build fraud proofs, score, commit weights, reveal them.
//!
//! Run: `cargo run --release -p mycel-node --example epoch`

use mycel_kernels::Backend;
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::validator::score::MinerTally;
use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool, issue_task};
use mycel_node::validator::{Validator, sample};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, Outcome};
use mycel_protocol::scoring::{ScoreParams, score, verify_reveal};

fn main() -> Result<(), mycel_node::Error> {
    // The host supplies every input: keys, the beacon, times, randomness.
    let mix = TaskConfig {
        per_miner: 6,
        ..TaskConfig::default()
    };
    let pool = WeightPool::generate(42, &mix)?;
    let mut validator = Validator::new(SigningKey::from_seed(&[1; 32]), 1 << 31)?;
    let honest = Miner::new(SigningKey::from_seed(&[2; 32]));
    let lazy = Miner::new(SigningKey::from_seed(&[3; 32]));
    let ctx = TaskContext {
        network: NetworkId([7; 32]),
        subnet: SubnetId(1),
        epoch: 0,
        beacon: [9; 32],
    };
    let uids = [(honest.hotkey(), 1u16), (lazy.hotkey(), 2u16)];

    // Issue, execute, sign.
    let mut receipts = Vec::new();
    let mut tasks = Vec::new();
    for index in 0..mix.per_miner {
        for miner in [&honest, &lazy] {
            let task = issue_task(
                &mix,
                &pool,
                ctx,
                &validator.hotkey(),
                &miner.hotkey(),
                index,
            )?;
            let weights = pool.find(&task).map(|w| w.bytes.as_slice());
            let fields = ReceiptFields {
                assigner: validator.hotkey(),
                nonce: index.into(),
                started_at_ms: 1_000,
                finished_at_ms: 1_040,
                backend: BackendLabel::new("cpu")?,
            };
            let receipt = if miner.hotkey() == honest.hotkey() {
                miner.run(&task, weights, Backend::Auto, 1, fields)?.receipt
            } else {
                // The lazy miner signs a made-up output without running anything.
                let made_up = Claim {
                    commitment: Digest([0xab; 32]),
                    tile_root: Digest([0xcd; 32]),
                };
                miner.sign(&task, made_up, fields)?
            };
            receipts.push(receipt);
            tasks.push(task);
        }
    }

    // Commit the batch root, then verify the signatures in one batch.
    let batch = validator.commit_batch(ctx.network, ctx.subnet, Epoch(ctx.epoch), receipts)?;
    let failures = validator
        .verify_batch(&batch, &[5; 32])
        .iter()
        .filter(|r| r.is_err())
        .count();
    println!(
        "batch of {} receipts, root {}, {failures} bad signatures",
        batch.ids.len(),
        batch.root
    );

    // The sample is drawn only now, from randomness fixed by the root.
    let seed = sample::sample_seed(&ctx.beacon, &batch.root, &validator.hotkey());
    let mut tallies = [MinerTally::default(), MinerTally::default()];
    for (who, (hotkey, _)) in uids.iter().enumerate() {
        let mine: Vec<usize> = (0..batch.ids.len())
            .filter(|&i| batch.batch.receipts[i].body.miner == *hotkey)
            .collect();
        let picked = sample::sample(&seed, &batch.ids, &mine, 0.34, 1);
        for &i in &mine {
            let receipt = &batch.batch.receipts[i];
            let t = &mut tallies[who];
            t.tasks += 1;
            t.latencies.push(40);
            if !picked.contains(&i) {
                t.unchecked += 1;
                t.units += receipt.body.compute_units;
                continue;
            }
            let weights = pool.find(&tasks[i]);
            let truth = validator.reexecute(
                &tasks[i],
                weights.map(|w| w.bytes.as_slice()),
                Backend::Auto,
                1,
            )?;
            let verdict = validator.judge(batch.ids[i], receipt, truth)?;
            if verdict.body.outcome == Outcome::Match {
                t.verified += 1;
                t.units += receipt.body.compute_units;
            } else {
                t.mismatched += 1;
                let proof = validator.fraud_proof(
                    &batch,
                    i,
                    &tasks[i],
                    &verdict,
                    weights.map(|w| w.source()),
                    "example".into(),
                )?;
                // Anyone can check the proof from its JSON alone.
                let checked = mycel_node::FraudProof::from_json(&proof.to_json()?)?.check()?;
                println!(
                    "fraud proof against {} holds: it claimed {}, re-execution gives {}",
                    checked.receipt.body.miner,
                    checked.receipt.body.output_commitment,
                    checked.recomputed
                );
                validator.ban(*hotkey, ctx.epoch + 1000);
            }
        }
    }

    // Scores -> EMA -> u16 weights -> commitment; the reveal one epoch later.
    let params = ScoreParams {
        latency_target_ms: 60,
    };
    let scores: Vec<(u16, u64)> = uids
        .iter()
        .zip(&tallies)
        .map(|((hotkey, uid), t)| {
            let s = if validator.is_banned(hotkey, ctx.epoch) {
                0
            } else {
                score(&t.result(*uid), &params)
            };
            (*uid, s)
        })
        .collect();
    validator.update_scores(&scores)?;
    let weights = validator.weights(|_| true)?;
    let commit = validator.commit_weights(ctx.subnet, Epoch(ctx.epoch), weights, [11; 32])?;
    println!(
        "scores {scores:?}; weight commitment {}",
        hex(&commit.commitment)
    );
    for due in validator.due_reveals(ctx.epoch + 1, 1) {
        verify_reveal(&due.commit, &due.reveal)?;
        println!(
            "revealed in epoch {}: weights {:?}",
            ctx.epoch + 1,
            due.reveal.weights
        );
        assert_eq!(
            due.reveal.weights,
            vec![(1, 65535)],
            "only the honest miner is weighted"
        );
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

//! Adversarial and extreme subnets of issue #15 that the soundness adversaries
//! (adversaries.rs) do not cover. Each test states what the protocol does and asserts it:
//!
//! * a miner signing two different outputs for one task: the two receipts are a fraud proof
//!   (`mycel_node::equivocation`), and the second receipt is never credited;
//! * a receipt claiming inflated compute units: refused at admission, the honest one credited;
//! * all-zero weights: nothing is paid for work, validators are paid by active stake;
//! * extreme stakes: a total past 2^63 − 1 rao is refused by name before any epoch runs;
//!   u64::MAX on a single validator too; the largest accepted total still conserves emission;
//! * 0 validators is refused by name; 1 validator runs and sets consensus alone;
//! * 4,096 miners at one task each is refused by name (a validator's receipts of one epoch fit
//!   one batch of 2,048); 2,048 miners run an epoch that pays at most the emission.

use mycel_kernels::Backend;
use mycel_node::equivocation::{Equivocation, EquivocationError};
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::sim::{NoClock, Scenario, SimLog, Subnet};
use mycel_node::validator::Validator;
use mycel_node::validator::intake::{IssuedTasks, Rejection};
use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool, issue_task};
use mycel_protocol::emission::MAX_TOTAL_STAKE;
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt};
use mycel_protocol::task::TaskSpec;

fn ctx() -> TaskContext {
    TaskContext {
        network: NetworkId([1; 32]),
        subnet: SubnetId(2),
        epoch: 10,
        beacon: [4; 32],
    }
}

fn fields(assigner: &Validator, nonce: u64) -> ReceiptFields {
    ReceiptFields {
        assigner: assigner.hotkey(),
        nonce,
        started_at_ms: 1,
        finished_at_ms: 2,
        backend: BackendLabel::new("t").unwrap(),
    }
}

/// `m`'s honest receipt for `task`, assigned by `v` under `nonce`.
fn honest_receipt(
    m: &Miner,
    task: &TaskSpec,
    weights: Option<&[u8]>,
    v: &Validator,
    nonce: u64,
) -> SignedReceipt {
    m.run(task, weights, Backend::Auto, 1, fields(v, nonce))
        .unwrap()
        .receipt
}

/// `m`'s receipt for `task` claiming `commitment` and `tile_root` (whatever the output is),
/// assigned by `v` under `nonce`.
fn claim(
    m: &Miner,
    task: &TaskSpec,
    v: &Validator,
    nonce: u64,
    commitment: Digest,
    tile_root: Digest,
) -> SignedReceipt {
    m.sign(
        task,
        Claim {
            commitment,
            tile_root,
        },
        fields(v, nonce),
    )
    .unwrap()
}

fn small(mix: TaskConfig) -> TaskConfig {
    TaskConfig {
        matmul_n: 32,
        matmul_k: 64,
        attention_kv_len: 64,
        ..mix
    }
}

#[test]
fn two_outputs_signed_for_one_task_are_a_fraud_proof() {
    let mix = small(TaskConfig::default());
    let pool = WeightPool::generate(2, &mix).unwrap();
    let v = Validator::new(SigningKey::from_seed(&[1; 32]), 0).unwrap();
    let m = Miner::new(SigningKey::from_seed(&[3; 32]));
    let other = Miner::new(SigningKey::from_seed(&[5; 32]));
    let task = issue_task(&mix, &pool, ctx(), &v.hotkey(), &m.hotkey(), 0).unwrap();
    let weights = pool.find(&task).map(|w| w.bytes.as_slice());
    let honest = honest_receipt(&m, &task, weights, &v, 0);
    // The same miner signs a second, different output for the same task.
    let mut forged = honest.body.output_commitment.0;
    forged[0] ^= 1;
    let second = claim(
        &m,
        &task,
        &v,
        1,
        Digest(forged),
        honest.body.output_tile_root,
    );

    // The protocol: the validator credits one receipt per task; the second is a duplicate.
    let mut book = IssuedTasks::new(ctx().network, ctx().subnet, Epoch(ctx().epoch));
    book.issue(m.hotkey(), task, 0).unwrap();
    assert!(book.admit(&v.hotkey(), &honest).is_ok());
    assert_eq!(book.admit(&v.hotkey(), &second), Err(Rejection::Duplicate));

    // And the pair convicts the miner without re-execution, in either order.
    for (a, b) in [(&honest, &second), (&second, &honest)] {
        let c = Equivocation::new(task, a.clone(), b.clone())
            .check()
            .unwrap();
        assert_eq!(c.miner, m.hotkey());
        assert_eq!(c.task_digest, task.digest().unwrap());
        assert_ne!(c.commitments[0], c.commitments[1]);
    }
    // Only the tile root differs: still two different outputs.
    let mut root = honest.body.output_tile_root.0;
    root[31] ^= 0x80;
    let tile_only = claim(
        &m,
        &task,
        &v,
        2,
        honest.body.output_commitment,
        Digest(root),
    );
    let c = Equivocation::new(task, honest.clone(), tile_only)
        .check()
        .unwrap();
    assert_eq!(c.commitments[0], c.commitments[1]);

    // What is not an equivocation, each with its reason.
    let mut body = honest.body.clone();
    body.nonce = 77;
    let renonced = m.sign_body(body).unwrap();
    let e = Equivocation::new(task, honest.clone(), renonced)
        .check()
        .unwrap_err();
    assert_eq!(e, EquivocationError::SameOutput);
    let theirs = claim(
        &other,
        &task,
        &v,
        0,
        Digest(forged),
        honest.body.output_tile_root,
    );
    let e = Equivocation::new(task, honest.clone(), theirs)
        .check()
        .unwrap_err();
    assert_eq!(e.code(), "equivocation.different_miners");
    let mut tampered = second.clone();
    tampered.body.nonce ^= 1;
    let e = Equivocation::new(task, honest.clone(), tampered)
        .check()
        .unwrap_err();
    assert!(
        matches!(
            e,
            EquivocationError::Signature {
                which: "second",
                ..
            }
        ),
        "{e}"
    );
    let task2 = issue_task(&mix, &pool, ctx(), &v.hotkey(), &m.hotkey(), 1).unwrap();
    let e = Equivocation::new(task2, honest.clone(), second.clone())
        .check()
        .unwrap_err();
    assert!(
        matches!(e, EquivocationError::NotForTask { which: "first", .. }),
        "{e}"
    );

    // Fast-mode attention fixes no output bits: two different fast outputs prove nothing.
    let fast_mix = small(TaskConfig {
        matmul_q8_0: 0,
        matmul_q4_0: 0,
        attention: 0,
        attention_fast: 1,
        ..TaskConfig::default()
    });
    let fast = issue_task(&fast_mix, &pool, ctx(), &v.hotkey(), &m.hotkey(), 0).unwrap();
    let a = honest_receipt(&m, &fast, None, &v, 0);
    let mut flipped = a.body.output_commitment.0;
    flipped[5] ^= 4;
    let b = claim(&m, &fast, &v, 1, Digest(flipped), a.body.output_tile_root);
    let e = Equivocation::new(fast, a, b).check().unwrap_err();
    assert_eq!(e.code(), "equivocation.fast_mode");
}

#[test]
fn inflated_compute_units_are_refused_and_the_honest_receipt_credited() {
    let mix = small(TaskConfig::default());
    let pool = WeightPool::generate(2, &mix).unwrap();
    let v = Validator::new(SigningKey::from_seed(&[1; 32]), 0).unwrap();
    let m = Miner::new(SigningKey::from_seed(&[3; 32]));
    let task = issue_task(&mix, &pool, ctx(), &v.hotkey(), &m.hotkey(), 0).unwrap();
    let weights = pool.find(&task).map(|w| w.bytes.as_slice());
    let honest = honest_receipt(&m, &task, weights, &v, 0);
    assert_eq!(honest.body.compute_units, task.compute_units().unwrap());
    let mut body = honest.body.clone();
    body.compute_units = body.compute_units.saturating_mul(1000);
    let inflated = m.sign_body(body).unwrap();
    let mut book = IssuedTasks::new(ctx().network, ctx().subnet, Epoch(ctx().epoch));
    book.issue(m.hotkey(), task, 0).unwrap();
    // Refused first, so it cannot take the task's one credit; the honest receipt then gets it.
    assert_eq!(
        book.admit(&v.hotkey(), &inflated),
        Err(Rejection::TaskMismatch)
    );
    assert!(book.admit(&v.hotkey(), &honest).is_ok());
    assert_eq!(book.credited(&v.hotkey()).len(), 1);
}

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text).unwrap()
}

fn run(s: &Scenario) -> SimLog {
    let mut net = Subnet::new(s.clone()).unwrap();
    let records = (0..s.epochs)
        .map(|_| net.step(2, &NoClock).unwrap().record)
        .collect();
    SimLog::new(&net, records)
}

fn paid(log: &SimLog) -> u128 {
    let m: u128 = log
        .totals
        .miners
        .iter()
        .map(|m| u128::from(m.emission_rao))
        .sum();
    let v: u128 = log
        .totals
        .validators
        .iter()
        .map(|v| u128::from(v.emission_rao))
        .sum();
    m + v
}

const SMALL_TASKS: &str = "
[tasks]
per_miner = 2
matmul_n = 32
matmul_k = 64
attention_kv_len = 64
";

#[test]
fn zero_and_one_validators() {
    let e = Subnet::new(scenario(&format!(
        "epochs = 1\n[validators]\ncount = 0\n{SMALL_TASKS}"
    )))
    .err()
    .unwrap();
    assert!(e.to_string().contains("validators.count"), "{e}");

    // One validator (scenarios/extremes/one-validator.toml): its weights are consensus; honest
    // miners are paid alike, the lazy one nothing once caught; the run pays at most E.
    let s = scenario(include_str!(
        "../../../scenarios/extremes/one-validator.toml"
    ));
    let log = run(&s);
    let e_total = u128::from(s.emission.rao_per_epoch) * u128::from(s.epochs);
    assert!(paid(&log) <= e_total);
    assert!(
        paid(&log) * 1000 >= e_total * 999,
        "most of the emission is paid"
    );
    let honest: Vec<u64> = log
        .totals
        .miners
        .iter()
        .filter(|m| m.behaviour == "honest")
        .map(|m| m.emission_rao)
        .collect();
    assert_eq!(honest.len(), 3);
    assert!(honest.iter().all(|&x| x == honest[0] && x > 0));
    let lazy = log
        .totals
        .miners
        .iter()
        .find(|m| m.behaviour == "lazy")
        .unwrap();
    assert_eq!(lazy.final_incentive_share, 0.0);
    assert_eq!(log.totals.validators.len(), 1);
}

#[test]
fn extreme_stakes_are_refused_by_name_or_conserve_emission() {
    let base = "epochs = 1\n[miners]\ncount = 3\nlazy = 0\ncopier = 0\nsloppy = 0\nslow = 0\n";
    // scenarios/extremes/extreme-stakes.toml (4 x 2^62), and u64::MAX on one validator:
    // refused before any epoch runs, naming the bound.
    let file = scenario(include_str!(
        "../../../scenarios/extremes/extreme-stakes.toml"
    ));
    let one_max = scenario(&format!(
        "{base}[validators]\ncount = 3\nweight_copier = 0\ncolluder = 0\n\
         stakes = [{}, 1, 1]\n{SMALL_TASKS}",
        u64::MAX
    ));
    for s in [file, one_max] {
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.contains(&MAX_TOTAL_STAKE.to_string()) && e.contains("total stake"),
            "{e}"
        );
        assert_eq!(Subnet::new(s).err().unwrap().to_string(), e);
    }
    // The largest accepted total, split unevenly: the epoch runs and pays at most E.
    let big = MAX_TOTAL_STAKE - 3;
    let text = format!(
        "{base}[validators]\ncount = 3\nweight_copier = 0\ncolluder = 0\n\
         stakes = [{}, 1, 2]\n{SMALL_TASKS}",
        big - 2
    );
    let s = scenario(&text);
    let log = run(&s);
    assert!(paid(&log) <= u128::from(s.emission.rao_per_epoch));
    assert!(paid(&log) > 0);
}

/// The scenario bound is 4,096 miners, but every validator's receipts of an epoch must fit one
/// receipt batch (2,048, `MAX_BATCH_RECEIPTS`), so 4,096 miners at one task each is refused by
/// name; 2,048 miners run an epoch that pays at most the emission and pays the lazy ones nothing.
#[test]
fn thousands_of_miners_run_up_to_the_batch_bound() {
    let s = scenario(include_str!("../../../scenarios/extremes/many-miners.toml"));
    let mut twice = s.clone();
    twice.miners.count = 4096;
    let e = Subnet::new(twice).err().unwrap().to_string();
    assert!(e.contains("2048"), "{e}");
    let log = run(&s);
    assert_eq!(log.totals.miners.len(), 2048);
    assert_eq!(log.epochs[0].tasks, 2048 * 4);
    assert!(paid(&log) <= u128::from(s.emission.rao_per_epoch));
    assert!(paid(&log) > 0);
    let lazy_paid: u64 = log
        .totals
        .miners
        .iter()
        .filter(|m| m.behaviour == "lazy")
        .map(|m| m.emission_rao)
        .sum();
    assert_eq!(lazy_paid, 0);
}

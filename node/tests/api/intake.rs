//! Receipt admission (hole 4: one execution credited once) and verdicts that check the tile
//! root (hole 9), through the validator role.

use mycel_kernels::Backend;
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::validator::intake::{IssuedTasks, Rejection};
use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool, issue_task};
use mycel_node::validator::{Judgement, Validator};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::BackendLabel;

fn setup() -> (TaskConfig, WeightPool, TaskContext) {
    let mix = TaskConfig {
        matmul_n: 32,
        matmul_k: 64,
        attention_kv_len: 64,
        ..TaskConfig::default()
    };
    let pool = WeightPool::generate(3, &mix).unwrap();
    let ctx = TaskContext {
        network: NetworkId([1; 32]),
        subnet: SubnetId(2),
        epoch: 10,
        beacon: [4; 32],
    };
    (mix, pool, ctx)
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

#[test]
fn every_replay_is_rejected_with_its_reason() {
    let (mix, pool, ctx) = setup();
    let v1 = Validator::new(SigningKey::from_seed(&[1; 32]), 0).unwrap();
    let v2 = Validator::new(SigningKey::from_seed(&[2; 32]), 0).unwrap();
    let m1 = Miner::new(SigningKey::from_seed(&[3; 32]));
    let m2 = Miner::new(SigningKey::from_seed(&[4; 32]));
    let task = issue_task(&mix, &pool, ctx, &v1.hotkey(), &m1.hotkey(), 0).unwrap();
    let weights = pool.find(&task).map(|w| w.bytes.as_slice());
    let mut book = IssuedTasks::new(ctx.network, ctx.subnet, Epoch(ctx.epoch));
    book.issue(m1.hotkey(), task, 0).unwrap();
    let honest = m1
        .run(&task, weights, Backend::Auto, 1, fields(&v1, 0))
        .unwrap()
        .receipt;
    assert_eq!(book.admit(&v1.hotkey(), &honest).unwrap().task, task);

    // The same work again with a fresh nonce: credited once only.
    let mut body = honest.body.clone();
    body.nonce = 99;
    let renonced = m1.sign_body(body).unwrap();
    assert_eq!(
        book.admit(&v1.hotkey(), &renonced),
        Err(Rejection::Duplicate)
    );

    // Across validators: the receipt names v1 as assigner; v2 never issued it.
    let mut v2_book = IssuedTasks::new(ctx.network, ctx.subnet, Epoch(ctx.epoch));
    assert_eq!(
        v2_book.admit(&v2.hotkey(), &honest),
        Err(Rejection::WrongAssigner)
    );
    let mut body = honest.body.clone();
    body.assigner = v2.hotkey();
    let readdressed = m1.sign_body(body).unwrap();
    assert_eq!(
        v2_book.admit(&v2.hotkey(), &readdressed),
        Err(Rejection::UnknownTask)
    );

    // Across epochs, subnets and networks: the next epoch's book refuses it.
    for (network, subnet, epoch, why) in [
        (ctx.network, ctx.subnet, Epoch(11), Rejection::WrongEpoch),
        (ctx.network, SubnetId(3), Epoch(10), Rejection::WrongSubnet),
        (
            NetworkId([9; 32]),
            ctx.subnet,
            Epoch(10),
            Rejection::WrongNetwork,
        ),
    ] {
        let mut other = IssuedTasks::new(network, subnet, epoch);
        assert_eq!(other.admit(&v1.hotkey(), &honest), Err(why));
    }

    // One miner's work cannot answer another miner's task: the input seed is bound to the
    // miner, so m2's task differs; m2 signing m1's task is the wrong miner.
    let t2 = issue_task(&mix, &pool, ctx, &v1.hotkey(), &m2.hotkey(), 0).unwrap();
    assert_ne!(t2.input_seed, task.input_seed);
    book.issue(m2.hotkey(), t2, 0).unwrap();
    let stolen = m2
        .sign(
            &task,
            Claim {
                commitment: honest.body.output_commitment,
                tile_root: honest.body.output_tile_root,
            },
            fields(&v1, 0),
        )
        .unwrap();
    assert_eq!(
        book.admit(&v1.hotkey(), &stolen),
        Err(Rejection::WrongMiner)
    );
    let mut body = stolen.body.clone();
    body.task_digest = t2.digest().unwrap();
    let relabelled = m2.sign_body(body).unwrap();
    // Relabelled as m2's own task it is admitted (admission cannot see outputs), but the
    // output belongs to another input seed: re-execution convicts it.
    assert!(book.admit(&v1.hotkey(), &relabelled).is_ok());
    let w2 = pool.find(&t2).map(|w| w.bytes.as_slice());
    let truth = v1.reexecute(&t2, w2, Backend::Auto, 1).unwrap();
    assert!(matches!(
        v1.judge(relabelled.id().unwrap(), &relabelled, truth)
            .unwrap(),
        Judgement::Mismatch(_)
    ));
    assert_eq!(Rejection::Duplicate.code(), "duplicate");
    assert_eq!(book.credited(&v1.hotkey()).len(), 2);
}

/// Hole 9: a receipt with the right commitment and a garbage tile root is not a Match.
#[test]
fn a_garbage_tile_root_is_not_a_match() {
    let (mix, pool, ctx) = setup();
    let v = Validator::new(SigningKey::from_seed(&[1; 32]), 0).unwrap();
    let m = Miner::new(SigningKey::from_seed(&[3; 32]));
    let task = issue_task(&mix, &pool, ctx, &v.hotkey(), &m.hotkey(), 1).unwrap();
    let weights = pool.find(&task).map(|w| w.bytes.as_slice());
    let truth = v.reexecute(&task, weights, Backend::Auto, 1).unwrap();
    let bad = m
        .sign(
            &task,
            Claim {
                commitment: truth.commitment,
                tile_root: Digest([0x77; 32]),
            },
            fields(&v, 0),
        )
        .unwrap();
    let id = bad.id().unwrap();
    match v.judge(id, &bad, truth).unwrap() {
        Judgement::TileRootMismatch { recomputed } => assert_eq!(recomputed, truth.tile_root),
        other => panic!("{other:?}"),
    }
    let good = m.sign(&task, truth, fields(&v, 0)).unwrap();
    assert!(
        v.judge(good.id().unwrap(), &good, truth)
            .unwrap()
            .is_match()
    );
}

//! Faults on a live network of in-process nodes (real TCP on 127.0.0.1): a miner killed and
//! restarted from its saved state, a validator killed for good, and connections that drop and
//! writes that are delayed by the fault-injecting transport. Nothing crashes and no node
//! diverges: in every epoch every node that closes it reports the same digest.

mod common;

use common::{Net, assert_agree, collect, scenario};
use mycel_net::Faults;

/// Validators are nodes 0..3, miners 3..7 (the lazy one among them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_killed_and_restarted_and_a_validator_killed() {
    let s = scenario(4, 3, 4, true);
    let t = 2000;
    let (net, mut rx) = Net::new(s, t, 2000, "kill");
    let mut handles: Vec<_> = (0..7)
        .map(|i| Some(net.start(i, Faults::default())))
        .collect();
    // Miner node 4 is killed after closing epoch 0, is down through epoch 1's receipt
    // deadline (45 %), and is restarted from its saved state at 55 % of epoch 1.
    let (victim_miner, victim_validator) = (4, 2);
    let mut reports = Vec::new();
    let mut penalties = Vec::new();
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + t * 97 / 100,
    )
    .await;
    handles[victim_miner].take().unwrap().abort();
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + t + t * 55 / 100,
    )
    .await;
    handles[victim_miner] = Some(net.start(victim_miner, Faults::default()));
    // Validator node 2 is killed mid-epoch 2 (30 %) and stays down.
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + 2 * t + t * 30 / 100,
    )
    .await;
    handles[victim_validator].take().unwrap().abort();
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + 4 * t + 5000,
    )
    .await;
    for (i, h) in handles.into_iter().enumerate() {
        if let Some(h) = h {
            h.await.unwrap().unwrap_or_else(|e| panic!("node {i}: {e}"));
        }
    }
    assert!(penalties.is_empty(), "{penalties:?}");

    let who = assert_agree(&reports, 4);
    let all: Vec<usize> = (0..7).collect();
    assert_eq!(who[0], all);
    assert_eq!(who[1], all, "the restarted miner closes epoch 1 too");
    let without: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| *i != victim_validator)
        .collect();
    assert_eq!(who[2], without);
    assert_eq!(who[3], without);

    // Epoch 1: the restarted miner's receipts are absent; every other miner's arrived.
    let uid = |i: usize| i as u16; // uids follow node order (validators first)
    let e1 = &reports
        .iter()
        .find(|(i, r)| *i == 0 && r.closed.epoch == 1)
        .unwrap()
        .1;
    for m in &e1.closed.miners {
        let expected = if m.uid == uid(victim_miner) { 0 } else { 3 * 4 };
        assert_eq!(m.tasks, expected, "epoch 1, miner uid {}", m.uid);
    }
    // Epoch 2: the killed validator published nothing after its kill; the others agree.
    let e3 = &reports
        .iter()
        .find(|(i, r)| *i == 0 && r.closed.epoch == 3)
        .unwrap()
        .1;
    let v = e3
        .closed
        .validators
        .iter()
        .find(|v| v.uid == uid(victim_validator))
        .unwrap();
    assert_eq!(v.receipts, 0);
    let _ = std::fs::remove_dir_all(&net.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_and_delayed_writes() {
    let s = scenario(4, 3, 3, true);
    let t = 2500;
    let (net, mut rx) = Net::new(s, t, 2000, "drop");
    let faults = Faults {
        drop_ppm: 2_000,
        delay_ppm: 200_000,
        max_delay_ms: 40,
        seed: 5,
    };
    let handles: Vec<_> = (0..7)
        .map(|i| {
            net.start(
                i,
                Faults {
                    seed: faults.seed + i as u64,
                    ..faults
                },
            )
        })
        .collect();
    let mut reports = Vec::new();
    let mut penalties = Vec::new();
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + 3 * t + 5000,
    )
    .await;
    for (i, h) in handles.into_iter().enumerate() {
        h.await.unwrap().unwrap_or_else(|e| panic!("node {i}: {e}"));
    }
    let (drops, delays) = mycel_net::transport::injected();
    assert!(
        drops > 0 && delays > 0,
        "faults injected: {drops} drops, {delays} delays"
    );
    assert!(penalties.is_empty(), "{penalties:?}");
    let who = assert_agree(&reports, 3);
    for w in &who {
        assert_eq!(w.len(), 7);
    }
    eprintln!("{drops} connections dropped, {delays} writes delayed; all 7 nodes agree");
    let _ = std::fs::remove_dir_all(&net.dir);
}

//! `sim::hosted::localnet`: the nodes of a genesis, the epoch line a node prints, and how the
//! lines of every node add up (what `mycel localnet` writes and prints).

use std::collections::BTreeMap;

use mycel_node::sim::hosted::localnet::{EpochLine, GenesisNode, add_up, genesis_nodes};
use mycel_node::sim::hosted::{Role, genesis_keys};
use mycel_node::sim::{MinerRecord, Scenario, ValidatorRecord};
use mycel_protocol::ids::SigningKey;
use serde_json::json;

fn small() -> Scenario {
    Scenario::from_toml(
        "epochs = 2\nseed = 11\n[miners]\ncount = 3\nlazy = 0\ncopier = 0\nsloppy = 0\nslow = 0\n\
         [validators]\ncount = 2\nweight_copier = 0\ncolluder = 0\n",
    )
    .unwrap()
}

#[test]
fn genesis_nodes_are_the_roster_validators_first() {
    let s = small();
    let nodes = genesis_nodes(&s).unwrap();
    let keys = genesis_keys(&s).unwrap();
    let got: Vec<(&str, Role, u16)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.role, n.uid))
        .collect();
    assert_eq!(
        got,
        [
            ("validator-000", Role::Validator, 0),
            ("validator-001", Role::Validator, 1),
            ("miner-002", Role::Miner, 2),
            ("miner-003", Role::Miner, 3),
            ("miner-004", Role::Miner, 4),
        ]
    );
    for (n, k) in nodes.iter().zip(&keys) {
        assert_eq!(n.key.hotkey(), k.hotkey(), "{}", n.name);
    }
    let mut bad = small();
    bad.validators.count = 0;
    assert_eq!(genesis_nodes(&bad).unwrap_err().code(), "node.scenario");
}

fn miner(uid: u16, tasks: u32) -> MinerRecord {
    serde_json::from_value(json!({
        "uid": uid, "tasks": tasks, "verified": 1, "caught": 0, "unchecked": 0, "rejected": 0,
        "unpaid_fast": 0, "compute_units": 10, "median_latency_ms": 3, "incentive": 5,
        "incentive_share": 0.5, "emission_rao": 100, "cheated": 0, "detection_probability": 0.0
    }))
    .unwrap()
}

fn validator(uid: u16, mismatches: u32) -> ValidatorRecord {
    serde_json::from_value(json!({
        "uid": uid, "receipt_root": "00".repeat(32), "receipts": 4, "bad_signatures": 0,
        "spot_checked": 1, "mismatches": mismatches, "weights_commitment": "c",
        "weights_revealed": null, "reveal": "none", "equivocations": 0, "rejections": {},
        "dividends": 7, "dividend_share": 1.0, "vtrust": 65535, "emission_rao": 50,
        "credited_units": 10, "checking_units": 1
    }))
    .unwrap()
}

#[test]
fn an_epoch_line_is_one_json_object_with_sorted_keys() {
    let text = r#"{"epoch":3,"epoch_digest":"ab","event":"epoch","miners":[],"peer_id":"12D3Koo","receipts":5,"receipts_ms":70,"role":"validator","uid":1,"validators":[]}"#;
    let line = EpochLine::from_json(text).unwrap();
    assert_eq!(
        (
            line.epoch,
            line.role,
            line.uid,
            line.receipts,
            line.receipts_ms
        ),
        (3, Role::Validator, 1, Some(5), Some(70))
    );
    assert_eq!(line.to_json().unwrap(), text);
    // Other events, and lines that are not epoch lines, are not.
    assert!(
        EpochLine::from_json(&text.replace("\"event\":\"epoch\"", "\"event\":\"other\"")).is_none()
    );
    assert!(EpochLine::from_json(r#"{"event":"penalized","peer":"p","reason":"r"}"#).is_none());
    assert!(EpochLine::from_json("not json").is_none());
    // Nested records are sorted too (as the `json!` line of earlier versions wrote them).
    let mut with = line.clone();
    with.miners = vec![miner(2, 4)];
    let back = with.to_json().unwrap();
    assert!(
        back.contains(r#""miners":[{"caught":0,"cheated":0,"compute_units":10,"#),
        "{back}"
    );
}

fn node(name: &str, role: Role, uid: u16) -> GenesisNode {
    GenesisNode {
        name: name.into(),
        role,
        uid,
        key: SigningKey::from_seed(&[uid as u8; 32]),
    }
}

fn line(e: u64, role: Role, uid: u16, digest: &str, tasks: u32, mismatches: u32) -> EpochLine {
    EpochLine {
        event: EpochLine::EVENT.into(),
        epoch: e,
        peer_id: format!("peer-{uid}"),
        role,
        uid,
        epoch_digest: digest.into(),
        receipts: (role == Role::Validator).then_some(4),
        receipts_ms: (role == Role::Validator).then_some(9),
        miners: vec![miner(2, tasks)],
        validators: vec![validator(0, mismatches), validator(1, 0)],
    }
}

#[test]
fn reports_add_up_to_figures_and_disagreements() {
    let s = small();
    let nodes = [
        node("validator-000", Role::Validator, 0),
        node("validator-001", Role::Validator, 1),
        node("miner-002", Role::Miner, 2),
    ];
    // (node index, its line) in the order they came in.
    let lines = [
        // Epoch 0: all agree; the figures come from the lowest-uid validator, not the miner
        // (tasks 6, not 99), whatever the order the lines came in.
        (2, line(0, Role::Miner, 2, "d0", 99, 0)),
        (1, line(0, Role::Validator, 1, "d0", 7, 5)),
        (0, line(0, Role::Validator, 0, "d0", 6, 2)),
        // Epoch 1: one node missing, two digests; only the miner's figures.
        (0, line(1, Role::Miner, 2, "d1", 3, 0)),
        (2, line(1, Role::Miner, 2, "dX", 3, 1)),
        // An epoch past the last one is not read.
        (0, line(9, Role::Validator, 0, "d9", 1, 1)),
    ];
    let mut reports: BTreeMap<u64, BTreeMap<usize, EpochLine>> = BTreeMap::new();
    for (i, l) in lines {
        reports.entry(l.epoch).or_default().insert(i, l);
    }
    let run = add_up(&s, 2, &nodes, reports);
    assert_eq!(
        run.disagreements,
        [
            "epoch 1: 2 of 3 nodes reported",
            "epoch 1: 2 different digests"
        ]
    );
    assert_eq!(run.records.len(), 2);
    assert_eq!((run.records[0].epoch, run.records[0].tasks), (0, 6));
    assert_eq!(run.records[0].block, s.emission.tempo);
    assert_eq!(run.records[1].block, 2 * s.emission.tempo);
    assert_eq!(run.records[1].tasks, 3);
    // Mismatches: epoch 0's source says 2, epoch 1's source (uid 2, lowest) says 0.
    assert_eq!(run.published_proofs(), 2);
    // Node entries take role and uid from the host, the rest from the line, in host order.
    let e0: Vec<(u16, Role, &str, Option<u32>)> = run.epochs[0]
        .nodes
        .iter()
        .map(|n| (n.uid, n.role, n.epoch_digest.as_str(), n.receipts))
        .collect();
    assert_eq!(
        e0,
        [
            (0, Role::Validator, "d0", Some(4)),
            (1, Role::Validator, "d0", Some(4)),
            (2, Role::Miner, "d0", None)
        ]
    );
    let doc: serde_json::Value = serde_json::from_str(&run.to_json(3000, 17, 1).unwrap()).unwrap();
    assert_eq!(doc["format"], "mycel-localnet/v1");
    assert_eq!(
        (doc["epoch_ms"].as_u64(), doc["genesis_ms"].as_u64()),
        (Some(3000), Some(17))
    );
    assert_eq!(doc["penalized_peers"], 1);
    assert_eq!(doc["epochs"][1]["nodes"][1]["epoch_digest"], "dX");
    assert_eq!(doc["epochs"][0]["miners"][0]["tasks"], 6);
    let log = run.sim_log(&s).unwrap();
    assert_eq!(log.epochs.len(), 2);
    assert_eq!(log.totals.miners.len(), 3);
}

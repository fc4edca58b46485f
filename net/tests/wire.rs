//! The wire rules of spec/net.md, one by one: identity, gossip envelopes (canonical, bounded,
//! signed, of their kind), task frames (refused on the length prefix), and the message sizes
//! the README's "Going past one machine" computes with.

use futures::executor::block_on;
use futures::io::Cursor;
use mycel_net::identity::{hotkey_of, keypair, peer_id};
use mycel_net::wire::{
    Gossip, Kind, MAX_REQUEST_LEN, Payload, SignedGossip, read_frame, write_frame,
};
use mycel_node::sim::Scenario;
use mycel_node::sim::hosted::{Hosted, genesis_keys};
use mycel_protocol::ids::{Digest, Epoch, SigningKey};
use mycel_protocol::scoring::{WeightReveal, commit_weights};
use mycel_protocol::wire::encode;

fn key(b: u8) -> SigningKey {
    SigningKey::from_seed(&[b; 32])
}

fn gossip(k: &SigningKey, payload: Payload) -> Gossip {
    Gossip {
        network: mycel_protocol::ids::NetworkId([3; 32]),
        subnet: mycel_protocol::ids::SubnetId(1),
        epoch: 1,
        round: 0,
        signer: k.hotkey(),
        payload,
    }
}

#[test]
fn peer_id_and_hotkey_name_the_same_key() {
    let k = key(9);
    let kp = keypair(&k).unwrap();
    assert_eq!(peer_id(&k.hotkey()).unwrap(), kp.public().to_peer_id());
    assert_eq!(hotkey_of(&kp.public()), Some(k.hotkey()));
    assert_ne!(peer_id(&key(8).hotkey()).unwrap(), kp.public().to_peer_id());
}

#[test]
fn gossip_round_trips_and_every_broken_rule_is_refused() {
    let k = key(1);
    let msg = SignedGossip::sign(gossip(&k, Payload::Opening(Digest([5; 32]))), &k).unwrap();
    let bytes = msg.encode().unwrap();
    assert_eq!(bytes[..2], [1, Kind::Opening as u8]);
    assert_eq!(SignedGossip::decode(&bytes).unwrap(), msg);

    let refused = |b: &[u8], why: &str| {
        let e = SignedGossip::decode(b).unwrap_err().to_string();
        assert!(e.contains(why), "{e:?} should say {why:?}");
    };
    let mut trailing = bytes.clone();
    trailing.push(0);
    refused(&trailing, "trailing");
    let mut version = bytes.clone();
    version[0] = 2;
    refused(&version, "version");
    let mut kind = bytes.clone();
    kind[1] = Kind::Root as u8;
    refused(&kind, "payload in a root envelope");
    let mut unknown = bytes.clone();
    unknown[1] = 0x7f;
    refused(&unknown, "unknown kind");
    let mut sig = bytes.clone();
    *sig.last_mut().unwrap() ^= 1;
    refused(&sig, "signature");
    refused(&bytes[..bytes.len() - 1], "body");
    refused(&[1], "header");
    // The epoch (1) re-encoded as an over-long varint: 0x81 0x00.
    let at = 2 + 32 + 1;
    assert_eq!(bytes[at], 1);
    let mut long = bytes[..at].to_vec();
    long.extend_from_slice(&[0x81, 0x00]);
    long.extend_from_slice(&bytes[at + 1..]);
    refused(&long, "canonical");
    // Signed by another key than the signer it names.
    assert!(SignedGossip::sign(gossip(&k, Payload::Opening(Digest([5; 32]))), &key(2)).is_err());
    // Over its kind's bound: refused before decoding.
    let mut big = bytes.clone();
    big.resize(Kind::Opening.max_len() + 1, 0);
    refused(&big, "exceeds its bound");
    refused(&vec![1u8; (1 << 20) + 1], "exceeds");
}

#[test]
fn a_task_frame_is_refused_on_its_length_prefix() {
    // Only the prefix is there: a reader that trusted it would fail on the missing body
    // (UnexpectedEof) instead of refusing the length (InvalidData).
    let mut io = Cursor::new(((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().to_vec());
    let e = block_on(read_frame(&mut io, MAX_REQUEST_LEN)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("exceeds the bound of 256"), "{e}");
    let mut io = Cursor::new(vec![0, 0, 0, 0]);
    assert_eq!(
        block_on(read_frame(&mut io, MAX_REQUEST_LEN))
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::InvalidData
    );
    let mut out = Cursor::new(Vec::new());
    block_on(write_frame(&mut out, b"abc", 256)).unwrap();
    let mut back = Cursor::new(out.into_inner());
    assert_eq!(block_on(read_frame(&mut back, 256)).unwrap(), b"abc");
    assert!(block_on(write_frame(&mut Cursor::new(Vec::new()), &[0; 257], 256)).is_err());
}

/// The sizes of real messages of the default scenario, which the README's "Going past one
/// machine" multiplies out. The README quotes these exact figures.
#[test]
fn message_sizes() {
    let s = Scenario::default();
    let keys = genesis_keys(&s).unwrap();
    let v = Hosted::new(s.clone(), &keys[0], None).unwrap();
    let tasks = v.validator_tasks(0).unwrap();
    let task_lens: Vec<usize> = tasks
        .iter()
        .map(|a| encode(&a.task).unwrap().len())
        .collect();
    let task_max = *task_lens.iter().max().unwrap();
    let m = Hosted::new(s.clone(), &keys[4], None).unwrap();
    let mine = tasks.iter().find(|a| a.miner == keys[4].hotkey()).unwrap();
    let work = m.miner_work(0, &keys[0].hotkey(), &mine.task).unwrap();
    let receipt = m
        .miner_sign(&work, 1_767_225_600_000, 1_767_225_600_050)
        .unwrap();
    let receipt_len = encode(&receipt).unwrap().len();

    let k = &keys[0];
    let len = |p: Payload| {
        SignedGossip::sign(gossip(k, p), k)
            .unwrap()
            .encode()
            .unwrap()
            .len()
    };
    let opening = len(Payload::Opening(Digest([1; 32])));
    let root = len(Payload::Root {
        root: Digest([1; 32]),
        receipts: 4096 * 16,
        secret: [2; 32],
    });
    let weights: Vec<(u16, u16)> = (64..64 + 4096).map(|u| (u, 40_000)).collect();
    let c = commit_weights(
        v.network(),
        k.hotkey(),
        v.subnet_id(),
        Epoch(1),
        &weights,
        &[0; 32],
    )
    .unwrap();
    let commit = len(Payload::Commit(c));
    let reveal = len(Payload::Reveal(WeightReveal {
        network: v.network(),
        hotkey: k.hotkey(),
        subnet: v.subnet_id(),
        epoch: Epoch(1),
        weights,
        salt: [0; 32],
    }));
    // A validator's summary at 4,096 miners, 16 receipts each, every latency 150-300 ms.
    let tally = mycel_node::validator::score::MinerTally {
        tasks: 16,
        verified: 1,
        mismatched: 0,
        unchecked: 15,
        rejected: 0,
        unpaid_fast: 4,
        units: 12 * 4_000_000,
        latencies: (0..16).map(|i| 150 + 10 * i).collect(),
    };
    let summary = len(Payload::Summary(mycel_node::sim::hosted::Summary {
        validator: 0,
        epoch: 1,
        receipt_root: Digest([1; 32]),
        receipts: 4096 * 16,
        bad_signatures: 0,
        spot_checked: 4096,
        mismatches: 0,
        rejections: Vec::new(),
        checks: true,
        reexecuted_units: 1 << 34,
        miners: (64..64 + 4096)
            .map(|u| (u, tally.clone(), (16, 0)))
            .collect(),
    }));
    assert!(summary <= Kind::Summary.max_len());
    eprintln!("summary of 4096 miners {summary} B");
    eprintln!(
        "task envelope <= {task_max} B, receipt envelope {receipt_len} B, gossip: opening {opening} B, root {root} B, commit {commit} B, reveal of 4096 weights {reveal} B"
    );
    assert!(task_max <= 256 && receipt_len <= 512);
    assert!(reveal <= Kind::Reveal.max_len());
    // The figures the README multiplies out.
    assert_eq!(
        (
            task_max,
            receipt_len,
            opening,
            root,
            commit,
            reveal,
            summary
        ),
        (TASK, RECEIPT, OPENING, ROOT, COMMIT, REVEAL, SUMMARY)
    );
}

const TASK: usize = 112;
const RECEIPT: usize = 290;
const OPENING: usize = 166;
const ROOT: usize = 201;
const COMMIT: usize = 232;
const REVEAL: usize = 20_650;
const SUMMARY: usize = 192_632;

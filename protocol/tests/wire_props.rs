//! Property tests of the wire format for every message kind (issue #15), beside the ones in
//! `api/props.rs` (task and receipt round trips, arbitrary bytes, receipt mutations): round
//! trips of verdicts and receipt batches, and canonical rejection for all four kinds (a trailing
//! byte, every truncation, an over-long varint, another kind's header, single-byte mutations);
//! Merkle inclusion proofs for every leaf of random trees against an independent root.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mycel_protocol::Error;
use mycel_protocol::commit::merkle::{MerkleTree, leaf_hash, node_hash};
use mycel_protocol::error::{DecodeError, MerkleError};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{
    BackendLabel, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict, WorkReceipt,
};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::{AnyMessage, MessageKind, decode, encode};
use proptest::prelude::*;

fn key(i: u8) -> SigningKey {
    SigningKey::from_seed(&[i.wrapping_add(1); 32])
}

fn arb_task() -> impl Strategy<Value = TaskSpec> {
    let matmul = (1u32..=4096, 1u32..=4096, 1u32..=64)
        .prop_map(|(m, n, kb)| KernelParams::Matmul { m, n, k: kb * 32 });
    let attn = (
        1u32..=4,
        1u32..=4,
        1u32..=300,
        0u32..=300,
        any::<bool>(),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(
            |(kvh, g, q, extra, causal, dt, fast)| KernelParams::Attention {
                n_heads: kvh * g,
                n_kv_heads: kvh,
                q_len: q,
                kv_len: q + extra,
                head_dim: if extra % 2 == 0 { 64 } else { 128 },
                causal,
                dtype: [AttnDtype::F32, AttnDtype::F16, AttnDtype::Bf16][usize::from(dt)],
                mode: if fast {
                    AttnMode::Fast
                } else {
                    AttnMode::Verifiable
                },
            },
        );
    (
        any::<[u8; 32]>(),
        any::<u16>(),
        any::<u64>(),
        prop_oneof![matmul, attn],
        any::<bool>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(net, subnet, epoch, params, q4, wd, seed)| TaskSpec {
            network: NetworkId(net),
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            kernel: match params {
                KernelParams::Attention { .. } => KernelId::Attention,
                _ if q4 => KernelId::MatmulQ4_0,
                _ => KernelId::MatmulQ8_0,
            },
            kernel_version: KERNEL_VERSION,
            params,
            weights_digest: Digest(wd),
            input_seed: seed,
        })
}

/// A signed receipt of `network`/`subnet`/`epoch` by one of four miners.
fn arb_receipt_in(net: [u8; 32], subnet: u16, epoch: u64) -> impl Strategy<Value = SignedReceipt> {
    (
        0u8..4,
        any::<[[u8; 32]; 4]>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
        "[ -~]{0,32}",
    )
        .prop_map(
            move |(k, [td, asg, oc, tr], cu, start, dur, nonce, label)| {
                let miner = key(k);
                let body = WorkReceipt {
                    network: NetworkId(net),
                    subnet: SubnetId(subnet),
                    epoch: Epoch(epoch),
                    task_digest: Digest(td),
                    assigner: mycel_protocol::ids::Hotkey(asg),
                    miner: miner.hotkey(),
                    output_commitment: Digest(oc),
                    output_tile_root: Digest(tr),
                    compute_units: cu,
                    started_at_ms: start,
                    finished_at_ms: start.saturating_add(u64::from(dur)),
                    nonce,
                    backend: BackendLabel::new(&label).unwrap(),
                };
                Signed::sign(body, &miner).unwrap()
            },
        )
}

fn arb_verdict() -> impl Strategy<Value = SignedVerdict> {
    (0u8..4, any::<[u8; 32]>(), 0u8..3, any::<[u8; 32]>()).prop_map(|(k, id, o, c)| {
        let validator = key(k + 10);
        let (outcome, recomputed) = match o {
            0 => (Outcome::Match, Some(Digest(c))),
            1 => (Outcome::Mismatch, Some(Digest(c))),
            _ => (Outcome::Unchecked, None),
        };
        let body = Verdict {
            validator: validator.hotkey(),
            receipt_id: Digest(id),
            outcome,
            recomputed_commitment: recomputed,
        };
        Signed::sign(body, &validator).unwrap()
    })
}

fn arb_batch() -> impl Strategy<Value = ReceiptBatch> {
    (any::<[u8; 32]>(), any::<u16>(), any::<u64>(), 0usize..6).prop_flat_map(
        |(net, subnet, epoch, len)| {
            proptest::collection::vec(arb_receipt_in(net, subnet, epoch), len).prop_map(
                move |receipts| ReceiptBatch {
                    network: NetworkId(net),
                    subnet: SubnetId(subnet),
                    epoch: Epoch(epoch),
                    receipts,
                },
            )
        },
    )
}

/// One message of any kind, encoded.
fn arb_message() -> impl Strategy<Value = AnyMessage> {
    prop_oneof![
        arb_task().prop_map(AnyMessage::Task),
        (any::<[u8; 32]>(), any::<u16>(), any::<u64>())
            .prop_flat_map(|(n, s, e)| arb_receipt_in(n, s, e))
            .prop_map(AnyMessage::Receipt),
        arb_verdict().prop_map(AnyMessage::Verdict),
        arb_batch().prop_map(AnyMessage::ReceiptBatch),
    ]
}

fn decode_err(bytes: &[u8]) -> Error {
    AnyMessage::decode(bytes).expect_err("must be refused")
}

/// The offset (in the envelope) of the first varint of the body: after the 32-byte network id
/// (task, receipt, batch: the subnet) or after the validator key and receipt id (verdict: the
/// outcome tag).
fn first_varint(kind: MessageKind) -> usize {
    2 + if kind == MessageKind::Verdict { 64 } else { 32 }
}

/// The same value with one more continuation byte: `…0xxxxxxx` becomes `…1xxxxxxx 00000000`.
fn lengthen_varint(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut end = at;
    while bytes[end] & 0x80 != 0 {
        end += 1;
    }
    let mut out = bytes[..end].to_vec();
    out.push(bytes[end] | 0x80);
    out.push(0x00);
    out.extend_from_slice(&bytes[end + 1..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every kind round-trips through its typed decoder and through `AnyMessage`.
    #[test]
    fn every_kind_round_trips(msg in arb_message()) {
        let bytes = msg.encode().unwrap();
        prop_assert!(bytes.len() <= msg.kind().max_envelope_len());
        prop_assert_eq!(&AnyMessage::decode(&bytes).unwrap(), &msg);
        match &msg {
            AnyMessage::Task(t) => prop_assert_eq!(&decode::<TaskSpec>(&bytes).unwrap(), t),
            AnyMessage::Receipt(r) => {
                let back: SignedReceipt = decode(&bytes).unwrap();
                back.verify().unwrap();
                prop_assert_eq!(&back, r);
            }
            AnyMessage::Verdict(v) => {
                let back: SignedVerdict = decode(&bytes).unwrap();
                back.verify().unwrap();
                prop_assert_eq!(&back, v);
            }
            AnyMessage::ReceiptBatch(b) => {
                let back: ReceiptBatch = decode(&bytes).unwrap();
                prop_assert_eq!(back.root().unwrap(), b.root().unwrap());
                prop_assert_eq!(&back, b);
                prop_assert_eq!(encode(&back).unwrap(), bytes);
            }
            _ => prop_assert!(false, "unknown kind"),
        }
    }

    /// Canonical rejection: one trailing byte, every proper prefix, an over-long varint and a
    /// header naming another kind are all refused, each for its reason.
    #[test]
    fn non_canonical_forms_are_refused(msg in arb_message(), extra in any::<u8>()) {
        let bytes = msg.encode().unwrap();
        let kind = msg.kind();

        let mut trailing = bytes.clone();
        trailing.push(extra);
        prop_assert_eq!(decode_err(&trailing), Error::Decode(DecodeError::TrailingBytes));

        for cut in 0..bytes.len() {
            let e = decode_err(&bytes[..cut]);
            let expected = if cut < 2 { "decode.missing_header" } else { "decode.truncated" };
            prop_assert_eq!(e.code(), expected, "prefix of {} bytes", cut);
        }

        let long = lengthen_varint(&bytes, first_varint(kind));
        let code = decode_err(&long).code();
        prop_assert!(code == "decode.non_canonical" || code == "decode.malformed", "{}", code);

        for other in MessageKind::ALL.into_iter().filter(|&k| k != kind) {
            let mut relabelled = bytes.clone();
            relabelled[1] = other.code();
            let typed = match kind {
                MessageKind::TaskSpec => decode::<TaskSpec>(&relabelled).map(|_| ()),
                MessageKind::Receipt => decode::<SignedReceipt>(&relabelled).map(|_| ()),
                MessageKind::Verdict => decode::<SignedVerdict>(&relabelled).map(|_| ()),
                _ => decode::<ReceiptBatch>(&relabelled).map(|_| ()),
            };
            // The size bound of the kind named is checked before the kind is compared.
            let expected = if relabelled.len() > other.max_envelope_len() {
                "decode.too_large"
            } else {
                "decode.kind_mismatch"
            };
            prop_assert_eq!(typed.unwrap_err().code(), expected);
            // Read as the other kind, the bytes are refused or are that kind's own encoding.
            if let Ok(m) = AnyMessage::decode(&relabelled) {
                prop_assert_eq!(m.encode().unwrap(), relabelled);
            }
        }
    }

    /// Any single-byte change to any kind's encoding either fails to decode or decodes to a
    /// message whose canonical encoding is exactly the changed bytes.
    #[test]
    fn mutations_keep_encodings_unique(msg in arb_message(), pos in any::<usize>(), val in any::<u8>()) {
        let mut bytes = msg.encode().unwrap();
        let pos = pos % bytes.len();
        bytes[pos] = val;
        if let Ok(m) = AnyMessage::decode(&bytes) {
            prop_assert_eq!(m.encode().unwrap(), bytes);
        }
    }
}

/// The root computed level by level (an odd node carried up), independent of the crate's
/// recursive split.
fn naive_root(leaves: &[Vec<u8>]) -> Digest {
    let mut level: Vec<Digest> = leaves.iter().map(|l| leaf_hash(l)).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| {
                if c.len() == 2 {
                    node_hash(&c[0], &c[1])
                } else {
                    c[0]
                }
            })
            .collect();
    }
    level[0]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random trees of 1–300 leaves of random data: the root is the naive one, every leaf's
    /// proof verifies, and no proof verifies another leaf's data or another root.
    #[test]
    fn proofs_for_every_leaf_of_random_trees(
        leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 1..300),
        other_root in any::<[u8; 32]>(),
    ) {
        let tree = MerkleTree::from_leaf_data(&leaves);
        let root = tree.root();
        prop_assert_eq!(root, naive_root(&leaves));
        let n = leaves.len();
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = tree.proof(i as u64).unwrap();
            prop_assert_eq!(proof.tree_size, n as u64);
            proof.verify(leaf, &root).unwrap();
            let next = &leaves[(i + 1) % n];
            if next != leaf {
                prop_assert_eq!(
                    proof.verify(next, &root),
                    Err(Error::Merkle(MerkleError::RootMismatch))
                );
            }
            if Digest(other_root) != root {
                prop_assert!(proof.verify(leaf, &Digest(other_root)).is_err());
            }
        }
        prop_assert!(tree.proof(n as u64).is_err());
    }
}

//! Scoring tests: the worked examples of spec/scoring.md (computed by hand there) and
//! commit-reveal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mycel_protocol::ids::{Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::scoring::{
    CommitOutcome, CommitRevealBook, DEFAULT_EMA_ALPHA, MinerEpochResult, RevealOutcome, ScoreEma,
    ScoreParams, ScoringError, SlotOutcome, WeightReveal, commit_weights, score, verify_reveal,
    weights_commitment, weights_from_scores,
};

fn result(verified: u32, mismatched: u32, units: u64, latency: u64) -> MinerEpochResult {
    MinerEpochResult {
        uid: 0,
        verified,
        mismatched,
        unchecked: 3,
        compute_units: units,
        latency_ms: latency,
    }
}

/// spec/scoring.md section 2, example.
#[test]
fn score_rules() {
    let p = ScoreParams {
        latency_target_ms: 2_000,
    };
    assert_eq!(score(&result(2, 0, 1_000, 1_500), &p), 1_000);
    assert_eq!(score(&result(2, 0, 1_000, 3_000), &p), 666);
    assert_eq!(
        score(&result(2, 1, 1_000, 1_500), &p),
        0,
        "a mismatch is a fraud proof"
    );
    assert_eq!(
        score(&result(0, 0, 1_000, 1_500), &p),
        1_000,
        "optimistic: unchecked receipts are paid"
    );
    assert_eq!(
        score(&result(0, 1, 1_000, 1_500), &p),
        0,
        "a mismatch among unchecked receipts still zeroes the epoch"
    );
    assert_eq!(
        score(
            &result(1, 0, u64::MAX, 0),
            &ScoreParams {
                latency_target_ms: 0
            }
        ),
        u64::MAX
    );
    assert_eq!(ScoreParams::default().latency_target_ms, 2_000);
}

/// spec/scoring.md section 3, example 1.
#[test]
fn weights_from_scores_worked_example() {
    let w = weights_from_scores(&[(3, 50), (1, 100), (7, 0), (2, 1)]).unwrap();
    assert_eq!(w, vec![(1, 65535), (2, 655), (3, 32768)]);
    assert_eq!(weights_from_scores(&[(1, 0), (2, 0)]).unwrap(), vec![]);
    assert_eq!(weights_from_scores(&[]).unwrap(), vec![]);
    assert_eq!(
        weights_from_scores(&[(1, 5), (1, 6)]),
        Err(ScoringError::DuplicateUid {
            field: "scores",
            uid: 1
        })
    );
}

/// spec/scoring.md section 3, example 2.
#[test]
fn ema_worked_example() {
    let mut ema = ScoreEma::new(DEFAULT_EMA_ALPHA).unwrap();
    ema.update(&[(0, 1), (1, 3)]).unwrap();
    assert_eq!(ema.values(), &[(0, 107_374_182), (1, 322_122_546)]);
    ema.update(&[(1, 5), (4, 0)]).unwrap();
    assert_eq!(ema.values(), &[(0, 96_636_763), (1, 719_407_020)]);
    assert_eq!(ema.weights().unwrap(), vec![(0, 8803), (1, 65535)]);
    // A failed update leaves the EMA unchanged.
    let before = ema.clone();
    assert!(ema.update(&[(2, 1), (2, 1)]).is_err());
    assert_eq!(ema, before);
    assert_eq!(
        ScoreEma::new(-1).unwrap_err().code(),
        "scoring.alpha_out_of_range"
    );
    assert_eq!(
        ScoreEma::new((1 << 32) + 1).unwrap_err().code(),
        "scoring.alpha_out_of_range"
    );
    // alpha = 1 forgets everything but the last epoch; alpha = 0 never changes.
    let mut full = ScoreEma::new(1 << 32).unwrap();
    full.update(&[(0, 1)]).unwrap();
    full.update(&[(9, 1)]).unwrap();
    assert_eq!(full.values(), &[(9, 1 << 32)]);
    let mut frozen = ScoreEma::new(0).unwrap();
    frozen.update(&[(0, 1)]).unwrap();
    assert_eq!(frozen.values(), &[]);
}

fn hotkey() -> Hotkey {
    Hotkey::from_bytes(core::array::from_fn(|i| i as u8))
}

/// The network of the known answer: bytes `20 21 … 3f`.
fn network() -> NetworkId {
    NetworkId(core::array::from_fn(|i| 0x20 + i as u8))
}

/// spec/scoring.md section 4: the known-answer commitment (computed independently from the
/// byte layout with Python's hashlib).
#[test]
fn commitment_known_answer() {
    let h = weights_commitment(
        &network(),
        &hotkey(),
        SubnetId(7),
        Epoch(42),
        &[(5, 65535), (2, 100), (9, 0)],
        &[0xAB; 32],
    )
    .unwrap();
    assert_eq!(
        hex::encode(h),
        "d8956082ca625f46e492f63cbef03e05ae310eaeda18ac64e6be82a9fa6ddec1"
    );
}

#[test]
fn reveal_checks() {
    let weights = vec![(5, 65535), (2, 100), (9, 0)];
    let salt = [7u8; 32];
    let commit =
        commit_weights(network(), hotkey(), SubnetId(7), Epoch(42), &weights, &salt).unwrap();
    let reveal = WeightReveal {
        network: network(),
        hotkey: hotkey(),
        subnet: SubnetId(7),
        epoch: Epoch(42),
        weights,
        salt,
    };
    assert_eq!(verify_reveal(&commit, &reveal), Ok(()));

    let mut r = reveal.clone();
    r.epoch = Epoch(43);
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::EpochMismatch {
            committed: 42,
            revealed: 43
        })
    );
    let mut r = reveal.clone();
    r.subnet = SubnetId(8);
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::SubnetMismatch {
            committed: 7,
            revealed: 8
        })
    );
    let mut r = reveal.clone();
    r.hotkey = Hotkey::from_bytes([1; 32]);
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::HotkeyMismatch)
    );
    let mut r = reveal.clone();
    r.network = NetworkId([9; 32]);
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::NetworkMismatch)
    );
    let mut r = reveal.clone();
    r.weights[1].1 = 101;
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::CommitmentMismatch)
    );
    let mut r = reveal.clone();
    r.weights.swap(0, 1);
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::CommitmentMismatch),
        "order is committed"
    );
    let mut r = reveal.clone();
    r.salt[31] ^= 1;
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::CommitmentMismatch)
    );
    let mut r = reveal.clone();
    r.weights.pop();
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::CommitmentMismatch)
    );
    // A commitment made for another epoch (same weights and salt) does not verify either.
    let other = commit_weights(
        network(),
        hotkey(),
        SubnetId(7),
        Epoch(41),
        &reveal.weights,
        &salt,
    )
    .unwrap();
    assert_ne!(other.commitment, commit.commitment);
    // Nor one made on another network: the network id is in the preimage.
    let elsewhere = commit_weights(
        NetworkId([9; 32]),
        hotkey(),
        SubnetId(7),
        Epoch(42),
        &reveal.weights,
        &salt,
    )
    .unwrap();
    assert_ne!(elsewhere.commitment, commit.commitment);
    let mut moved = reveal.clone();
    moved.network = NetworkId([9; 32]);
    assert_eq!(verify_reveal(&elsewhere, &moved), Ok(()));
    let mut forged = elsewhere;
    forged.network = network();
    assert_eq!(
        verify_reveal(&forged, &reveal),
        Err(ScoringError::CommitmentMismatch),
        "a commitment replayed onto another network does not verify"
    );
    let mut r = reveal.clone();
    r.weights.push((5, 1));
    assert_eq!(
        verify_reveal(&commit, &r),
        Err(ScoringError::DuplicateUid {
            field: "weights",
            uid: 5
        })
    );
    assert_eq!(
        ScoringError::CommitmentMismatch.code(),
        "scoring.commitment_mismatch"
    );
}

#[test]
fn scores_to_weights_end_to_end() {
    let p = ScoreParams::default();
    let results = [
        MinerEpochResult {
            uid: 4,
            verified: 3,
            mismatched: 0,
            unchecked: 10,
            compute_units: 900,
            latency_ms: 100,
        },
        MinerEpochResult {
            uid: 1,
            verified: 1,
            mismatched: 0,
            unchecked: 0,
            compute_units: 300,
            latency_ms: 100,
        },
        MinerEpochResult {
            uid: 2,
            verified: 5,
            mismatched: 1,
            unchecked: 0,
            compute_units: 5000,
            latency_ms: 1,
        },
    ];
    let scores: Vec<(u16, u64)> = results.iter().map(|r| (r.uid, score(r, &p))).collect();
    assert_eq!(
        weights_from_scores(&scores).unwrap(),
        vec![(1, 21845), (4, 65535)]
    );
}

/// The hex block in spec/scoring.md is the value this implementation computes.
#[test]
fn spec_hex_block_matches() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/scoring.md"))
        .unwrap();
    let after = spec
        .split("<!-- example: weights-commitment -->")
        .nth(1)
        .expect("marker in spec/scoring.md");
    let block: String = after
        .split("```")
        .nth(1)
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    let h = weights_commitment(
        &network(),
        &hotkey(),
        SubnetId(7),
        Epoch(42),
        &[(5, 65535), (2, 100), (9, 0)],
        &[0xAB; 32],
    )
    .unwrap();
    assert_eq!(block, hex::encode(h));
}

mod book {
    //! Hole 8 of issue #19: one commitment per (network, subnet, epoch, hotkey) slot, a second
    //! is rejected and recorded as equivocation; a missed reveal means no weights; a bad reveal
    //! is dropped with its reason and never stops the epoch.
    use super::*;
    use mycel_protocol::scoring::{CommitSlot, Equivocation, WeightCommit};

    fn key(b: u8) -> Hotkey {
        Hotkey::from_bytes([b; 32])
    }

    fn pair(
        net: NetworkId,
        hk: Hotkey,
        subnet: u16,
        epoch: u64,
        weights: &[(u16, u16)],
        salt: u8,
    ) -> (WeightCommit, WeightReveal) {
        let c = commit_weights(
            net,
            hk,
            SubnetId(subnet),
            Epoch(epoch),
            weights,
            &[salt; 32],
        )
        .unwrap();
        let r = WeightReveal {
            network: net,
            hotkey: hk,
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            weights: weights.to_vec(),
            salt: [salt; 32],
        };
        (c, r)
    }

    /// The equivocator: commits two vectors for one slot and reveals the one that suits it.
    #[test]
    fn second_commitment_is_rejected_and_recorded() {
        let mut book = CommitRevealBook::default();
        let (c1, r1) = pair(network(), key(1), 7, 5, &[(0, 65535), (1, 10)], 1);
        let (c2, r2) = pair(network(), key(1), 7, 5, &[(0, 10), (1, 65535)], 2);
        assert_eq!(book.commit(&c1), CommitOutcome::Accepted);
        assert_eq!(book.commit(&c2), CommitOutcome::Equivocation);
        assert_eq!(book.commit(&c1), CommitOutcome::Duplicate);
        assert_eq!(book.len(), 1);
        assert_eq!(
            book.equivocations(),
            &[Equivocation {
                slot: CommitSlot {
                    network: network(),
                    subnet: SubnetId(7),
                    epoch: Epoch(5),
                    hotkey: key(1)
                },
                first: c1.commitment,
                second: c2.commitment,
            }]
        );
        // The second vector cannot be revealed: the first commitment holds the slot.
        assert_eq!(
            book.reveal(&r2),
            RevealOutcome::Dropped(ScoringError::CommitmentMismatch)
        );
        assert_eq!(book.reveal(&r1), RevealOutcome::Accepted);
        assert_eq!(book.reveal(&r1), RevealOutcome::AlreadyRevealed);
        assert_eq!(
            book.settle(network(), SubnetId(7), Epoch(5)),
            vec![(key(1), SlotOutcome::Revealed(r1.weights.clone()))]
        );
        assert_eq!(book.dropped_reveals().len(), 1);
        assert_eq!(
            book.dropped_reveals()[0].code,
            "scoring.commitment_mismatch"
        );
    }

    /// A committed validator that does not reveal has no weights that epoch; its previous
    /// epoch's weights are not carried over.
    #[test]
    fn missed_reveal_means_no_weights() {
        let mut book = CommitRevealBook::default();
        let (a5, ra5) = pair(network(), key(1), 7, 5, &[(0, 65535)], 1);
        let (b5, _) = pair(network(), key(2), 7, 5, &[(1, 65535)], 2);
        let (a6, _) = pair(network(), key(1), 7, 6, &[(0, 65535)], 3);
        for c in [&a5, &b5, &a6] {
            assert_eq!(book.commit(c), CommitOutcome::Accepted);
        }
        assert_eq!(book.reveal(&ra5), RevealOutcome::Accepted);
        assert_eq!(
            book.settle(network(), SubnetId(7), Epoch(5)),
            vec![
                (key(1), SlotOutcome::Revealed(vec![(0, 65535)])),
                (key(2), SlotOutcome::Missed)
            ]
        );
        assert_eq!(
            book.settle(network(), SubnetId(7), Epoch(6)),
            vec![(key(1), SlotOutcome::Missed)]
        );
        assert!(book.settle(network(), SubnetId(8), Epoch(5)).is_empty());
    }

    /// Every bad reveal resolves to a typed outcome, is recorded with its reason, and leaves
    /// the slot open for the matching reveal.
    #[test]
    fn bad_reveals_are_dropped_with_reasons() {
        let mut book = CommitRevealBook::default();
        let (c, r) = pair(network(), key(3), 7, 5, &[(4, 65535), (2, 9)], 4);
        // Before any commitment.
        assert_eq!(
            book.reveal(&r),
            RevealOutcome::Dropped(ScoringError::NoCommitment)
        );
        assert_eq!(book.commit(&c), CommitOutcome::Accepted);
        let mut salt = r.clone();
        salt.salt[0] ^= 1;
        let mut dup = r.clone();
        dup.weights.push((4, 1));
        let mut other_net = r.clone();
        other_net.network = NetworkId([9; 32]);
        let mut other_epoch = r.clone();
        other_epoch.epoch = Epoch(6);
        for bad in [&salt, &dup, &other_net, &other_epoch] {
            assert!(matches!(book.reveal(bad), RevealOutcome::Dropped(_)));
        }
        assert_eq!(book.reveal(&r), RevealOutcome::Accepted);
        let codes: Vec<&str> = book
            .dropped_reveals()
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(
            codes,
            [
                "scoring.no_commitment",
                "scoring.commitment_mismatch",
                "scoring.duplicate_uid",
                "scoring.no_commitment",
                "scoring.no_commitment"
            ]
        );
        assert!(
            book.dropped_reveals()[2].reason.contains("duplicate uid 4"),
            "{:?}",
            book.dropped_reveals()[2]
        );
        assert_eq!(
            book.settle(network(), SubnetId(7), Epoch(5)),
            vec![(key(3), SlotOutcome::Revealed(r.weights.clone()))]
        );
    }

    /// Slots are per (network, subnet, epoch, hotkey); the book is bounded, prunable and
    /// survives a save and restore between commit and reveal.
    #[test]
    fn slots_bounds_pruning_and_restore() {
        let mut book = CommitRevealBook::new(4);
        let (a, ra) = pair(network(), key(1), 7, 5, &[(0, 1)], 1);
        let (b, _) = pair(NetworkId([9; 32]), key(1), 7, 5, &[(0, 1)], 1);
        let (c, _) = pair(network(), key(1), 8, 5, &[(0, 1)], 1);
        let (d, _) = pair(network(), key(1), 7, 6, &[(0, 1)], 1);
        let (e, _) = pair(network(), key(2), 7, 6, &[(0, 1)], 1);
        for x in [&a, &b, &c, &d] {
            assert_eq!(book.commit(x), CommitOutcome::Accepted);
        }
        assert_eq!(book.commit(&e), CommitOutcome::Full);
        // Restart between commit and reveal.
        let saved = serde_json::to_string(&book).unwrap();
        let mut restored: CommitRevealBook = serde_json::from_str(&saved).unwrap();
        assert_eq!(restored, book);
        assert_eq!(restored.reveal(&ra), RevealOutcome::Accepted);
        restored.prune_before(Epoch(6));
        assert_eq!(restored.len(), 1);
        assert_eq!(restored.commit(&e), CommitOutcome::Accepted);
        // Record lists are bounded too: past the bound they are counted.
        let mut small = CommitRevealBook::new(1);
        assert_eq!(small.commit(&a), CommitOutcome::Accepted);
        for salt in [5, 6] {
            let (x, _) = pair(network(), key(1), 7, 5, &[(0, 2)], salt);
            assert_eq!(small.commit(&x), CommitOutcome::Equivocation);
        }
        assert_eq!(small.equivocations().len(), 1);
        assert_eq!(small.unrecorded(), 1);
        assert!(!small.is_empty());
    }
}

#[test]
fn scoring_error_codes_are_distinct() {
    let all = [
        ScoringError::DuplicateUid { field: "x", uid: 0 },
        ScoringError::TooMany { field: "x", len: 0 },
        ScoringError::AlphaOutOfRange { bits: 0 },
        ScoringError::NetworkMismatch,
        ScoringError::HotkeyMismatch,
        ScoringError::SubnetMismatch {
            committed: 0,
            revealed: 0,
        },
        ScoringError::EpochMismatch {
            committed: 0,
            revealed: 0,
        },
        ScoringError::CommitmentMismatch,
        ScoringError::NoCommitment,
    ];
    let codes: std::collections::HashSet<&str> = all.iter().map(|e| e.code()).collect();
    assert_eq!(codes.len(), all.len());
    assert!(codes.iter().all(|c| c.starts_with("scoring.")));
}

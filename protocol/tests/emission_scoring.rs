//! Scoring tests: the worked examples of spec/scoring.md (computed by hand there) and
//! commit-reveal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mycel_protocol::ids::{Epoch, Hotkey, SubnetId};
use mycel_protocol::scoring::{
    DEFAULT_EMA_ALPHA, MinerEpochResult, ScoreEma, ScoreParams, ScoringError, WeightReveal,
    commit_weights, score, verify_reveal, weights_commitment, weights_from_scores,
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

/// spec/scoring.md section 4: the known-answer commitment (computed independently from the
/// byte layout with Python's hashlib).
#[test]
fn commitment_known_answer() {
    let h = weights_commitment(
        &hotkey(),
        SubnetId(7),
        Epoch(42),
        &[(5, 65535), (2, 100), (9, 0)],
        &[0xAB; 32],
    )
    .unwrap();
    assert_eq!(
        hex::encode(h),
        "b6cbd94baeedf80da761064a4f80095462fc9f339e278aa096a6e4352c8195ae"
    );
}

#[test]
fn reveal_checks() {
    let weights = vec![(5, 65535), (2, 100), (9, 0)];
    let salt = [7u8; 32];
    let commit = commit_weights(hotkey(), SubnetId(7), Epoch(42), &weights, &salt).unwrap();
    let reveal = WeightReveal {
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
    let other = commit_weights(hotkey(), SubnetId(7), Epoch(41), &reveal.weights, &salt).unwrap();
    assert_ne!(other.commitment, commit.commitment);
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
        &hotkey(),
        SubnetId(7),
        Epoch(42),
        &[(5, 65535), (2, 100), (9, 0)],
        &[0xAB; 32],
    )
    .unwrap();
    assert_eq!(block, hex::encode(h));
}

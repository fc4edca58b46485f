//! Scoring: per-miner epoch results → scores → u16 weights, an EMA of scores across epochs, and
//! commit-reveal of weight vectors (spec/scoring.md).
//!
//! All arithmetic is integer or Q32 fixed point ([`crate::emission::fixed`]); the same inputs give
//! the same weights on every host.

use alloc::vec::Vec;

use sha2::{Digest as _, Sha256};

use crate::emission::fixed::{ONE, add, mul, sub};
use crate::emission::max_upscale_u16;
use crate::ids::{Epoch, Hotkey, SubnetId};

/// Domain tag of a weight commitment (spec/scoring.md section 4).
pub const WEIGHTS_COMMIT_TAG: &[u8] = b"mycel/v1/weights-commit";

/// The default EMA coefficient: 0.1 of the new epoch's score (Q32 bits of `floor(0.1 · 2^32)`).
pub const DEFAULT_EMA_ALPHA: i64 = 429_496_729;

/// The most weight entries one vector may hold (one per possible uid).
pub const MAX_WEIGHTS: usize = 65_536;

/// Why scoring or a reveal failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScoringError {
    /// A uid appears twice.
    #[error("{field}: duplicate uid {uid}")]
    DuplicateUid {
        /// The field.
        field: &'static str,
        /// The repeated uid.
        uid: u16,
    },
    /// More entries than [`MAX_WEIGHTS`].
    #[error("{field}: {len} entries exceed the maximum {MAX_WEIGHTS}")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The length given.
        len: usize,
    },
    /// An EMA coefficient outside `[0, 1]`.
    #[error("alpha: {bits} is not in [0, 1] (Q32 bits)")]
    AlphaOutOfRange {
        /// The raw bits given.
        bits: i64,
    },
    /// The reveal names another hotkey than the commitment.
    #[error("hotkey: the reveal is for another hotkey than the commitment")]
    HotkeyMismatch,
    /// The reveal names another subnet than the commitment.
    #[error("subnet: reveal for subnet {revealed}, commitment for subnet {committed}")]
    SubnetMismatch {
        /// Subnet of the commitment.
        committed: u16,
        /// Subnet of the reveal.
        revealed: u16,
    },
    /// The reveal names another epoch than the commitment.
    #[error("epoch: reveal for epoch {revealed}, commitment for epoch {committed}")]
    EpochMismatch {
        /// Epoch of the commitment.
        committed: u64,
        /// Epoch of the reveal.
        revealed: u64,
    },
    /// The revealed weights and salt do not hash to the commitment.
    #[error("commitment: the revealed weights and salt do not match the commitment")]
    CommitmentMismatch,
}

impl ScoringError {
    /// A stable, machine-readable code for this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::DuplicateUid { .. } => "scoring.duplicate_uid",
            Self::TooMany { .. } => "scoring.too_many",
            Self::AlphaOutOfRange { .. } => "scoring.alpha_out_of_range",
            Self::HotkeyMismatch => "scoring.hotkey_mismatch",
            Self::SubnetMismatch { .. } => "scoring.subnet_mismatch",
            Self::EpochMismatch { .. } => "scoring.epoch_mismatch",
            Self::CommitmentMismatch => "scoring.commitment_mismatch",
        }
    }
}

/// One miner's results in one epoch, as a validator saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MinerEpochResult {
    /// The miner's uid.
    pub uid: u16,
    /// Receipts re-executed with a matching output commitment.
    pub verified: u32,
    /// Receipts re-executed with a different commitment (fraud proofs).
    pub mismatched: u32,
    /// Receipts accepted without re-execution.
    pub unchecked: u32,
    /// Compute units of the miner's non-mismatched receipts (the TaskSpec formula, never
    /// self-reported).
    pub compute_units: u64,
    /// The miner's median latency in milliseconds.
    pub latency_ms: u64,
}

/// Scoring parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScoreParams {
    /// Latency at or below which no penalty applies, in milliseconds (0: latency is ignored).
    pub latency_target_ms: u64,
}

impl Default for ScoreParams {
    fn default() -> Self {
        Self {
            latency_target_ms: 2_000,
        }
    }
}

/// A miner's score for one epoch (spec/scoring.md section 2). Receipts are paid optimistically:
/// 0 if any receipt mismatched (a fraud proof); otherwise
/// `floor(compute_units · min(1, target / latency))` over all its non-mismatched receipts,
/// checked or not, computed exactly in integers. A ban after a valid fraud proof is the
/// caller's (it scores a banned miner 0).
#[must_use]
pub fn score(result: &MinerEpochResult, params: &ScoreParams) -> u64 {
    if result.mismatched > 0 {
        return 0;
    }
    let units = u128::from(result.compute_units);
    let target = u128::from(params.latency_target_ms);
    let latency = u128::from(result.latency_ms);
    let credited = if target == 0 || latency <= target {
        units
    } else {
        units * target / latency
    };
    u64::try_from(credited).unwrap_or(u64::MAX)
}

/// Checks a list of uids for duplicates and size (no allocation beyond an 8 KiB bit set).
fn check_uids(
    field: &'static str,
    uids: impl Iterator<Item = u16>,
    len: usize,
) -> Result<(), ScoringError> {
    if len > MAX_WEIGHTS {
        return Err(ScoringError::TooMany { field, len });
    }
    let mut seen = alloc::vec![0u64; 1024];
    for uid in uids {
        let (word, bit) = (usize::from(uid) / 64, uid % 64);
        if let Some(w) = seen.get_mut(word) {
            if *w & (1 << bit) != 0 {
                return Err(ScoringError::DuplicateUid { field, uid });
            }
            *w |= 1 << bit;
        }
    }
    Ok(())
}

/// Scores to u16 weights with the chain's normalisation (spec/scoring.md section 3):
/// `y = round_half_up(score · 65535 / max)` exactly in integers, then the chain's
/// [`max_upscale_u16`]; zero weights are dropped; the result is ascending by uid.
///
/// # Errors
/// [`ScoringError::DuplicateUid`] or [`ScoringError::TooMany`].
pub fn weights_from_scores(scores: &[(u16, u64)]) -> Result<Vec<(u16, u16)>, ScoringError> {
    check_uids("scores", scores.iter().map(|s| s.0), scores.len())?;
    let max = scores.iter().map(|s| s.1).max().unwrap_or(0);
    if max == 0 {
        return Ok(Vec::new());
    }
    let mut sorted: Vec<(u16, u64)> = scores.to_vec();
    sorted.sort_unstable_by_key(|s| s.0);
    let m = u128::from(max);
    let scaled: Vec<u16> = sorted
        .iter()
        .map(|&(_, s)| {
            let y = (u128::from(s) * 65_535 * 2 + m) / (2 * m);
            u16::try_from(y).unwrap_or(u16::MAX)
        })
        .collect();
    let stored = max_upscale_u16(&scaled);
    Ok(sorted
        .iter()
        .zip(stored)
        .filter(|(_, w)| *w > 0)
        .map(|(&(uid, _), w)| (uid, w))
        .collect())
}

/// An exponential moving average of normalised scores across epochs, in Q32
/// (spec/scoring.md section 3): `ema ← α ⊗ x ⊕ (1 ⊖ α) ⊗ ema` per uid, where `x` is the uid's
/// share of this epoch's total score (`floor(score · 2^32 / Σ score)`), 0 for an absent uid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScoreEma {
    alpha: i64,
    values: Vec<(u16, i64)>,
}

impl ScoreEma {
    /// A new EMA with coefficient `alpha` (Q32 bits, in `[0, 2^32]`).
    ///
    /// # Errors
    /// [`ScoringError::AlphaOutOfRange`].
    pub fn new(alpha: i64) -> Result<Self, ScoringError> {
        if !(0..=ONE).contains(&alpha) {
            return Err(ScoringError::AlphaOutOfRange { bits: alpha });
        }
        Ok(Self {
            alpha,
            values: Vec::new(),
        })
    }

    /// The current values, ascending by uid (entries that decayed to 0 are removed).
    #[must_use]
    pub fn values(&self) -> &[(u16, i64)] {
        &self.values
    }

    /// Folds in one epoch's scores.
    ///
    /// # Errors
    /// [`ScoringError::DuplicateUid`] or [`ScoringError::TooMany`]; the EMA is unchanged then.
    pub fn update(&mut self, scores: &[(u16, u64)]) -> Result<(), ScoringError> {
        check_uids("scores", scores.iter().map(|s| s.0), scores.len())?;
        let total: u128 = scores.iter().map(|s| u128::from(s.1)).sum();
        let mut shares: Vec<(u16, i64)> = scores
            .iter()
            .map(|&(uid, s)| {
                let x = (u128::from(s) << 32).checked_div(total).unwrap_or(0);
                (uid, i64::try_from(x).unwrap_or(ONE))
            })
            .collect();
        shares.sort_unstable_by_key(|s| s.0);
        let keep = sub(ONE, self.alpha);
        let mut out = Vec::with_capacity(self.values.len().max(shares.len()));
        let (mut a, mut b) = (self.values.iter().peekable(), shares.iter().peekable());
        loop {
            let (uid, old, x) = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(&&(ua, va)), Some(&&(ub, vb))) if ua == ub => {
                    a.next();
                    b.next();
                    (ua, va, vb)
                }
                (Some(&&(ua, va)), Some(&&(ub, _))) if ua < ub => {
                    a.next();
                    (ua, va, 0)
                }
                (Some(&&(ua, va)), None) => {
                    a.next();
                    (ua, va, 0)
                }
                (_, Some(&&(ub, vb))) => {
                    b.next();
                    (ub, 0, vb)
                }
            };
            let v = add(mul(self.alpha, x), mul(keep, old));
            if v > 0 {
                out.push((uid, v));
            }
        }
        self.values = out;
        Ok(())
    }

    /// The EMA as u16 weights: each value's `u16` ratio to the largest, via [`weights_from_scores`]
    /// on the raw bits.
    ///
    /// # Errors
    /// Never in practice (the values are unique by construction); typed for uniformity.
    pub fn weights(&self) -> Result<Vec<(u16, u16)>, ScoringError> {
        let raw: Vec<(u16, u64)> = self
            .values
            .iter()
            .map(|&(uid, v)| (uid, u64::try_from(v).unwrap_or(0)))
            .collect();
        weights_from_scores(&raw)
    }
}

/// A weight commitment: what a validator publishes before revealing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WeightCommit {
    /// The committing validator.
    pub hotkey: Hotkey,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch the weights are for.
    pub epoch: Epoch,
    /// SHA-256 of the tagged preimage (spec/scoring.md section 4).
    pub commitment: [u8; 32],
}

/// A reveal: the weights and salt behind a [`WeightCommit`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WeightReveal {
    /// The revealing validator.
    pub hotkey: Hotkey,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch.
    pub epoch: Epoch,
    /// `(uid, u16 weight)` in the order committed.
    pub weights: Vec<(u16, u16)>,
    /// The 32-byte salt.
    pub salt: [u8; 32],
}

/// The commitment to a weight vector (spec/scoring.md section 4):
/// `SHA-256(tag ‖ 0x00 ‖ hotkey(32) ‖ subnet(u16 LE) ‖ epoch(u64 LE) ‖ count(u32 LE) ‖
/// (uid(u16 LE) ‖ weight(u16 LE))* ‖ salt(32))`, entries in the given order.
///
/// # Errors
/// [`ScoringError::DuplicateUid`] or [`ScoringError::TooMany`].
pub fn weights_commitment(
    hotkey: &Hotkey,
    subnet: SubnetId,
    epoch: Epoch,
    weights: &[(u16, u16)],
    salt: &[u8; 32],
) -> Result<[u8; 32], ScoringError> {
    check_uids("weights", weights.iter().map(|w| w.0), weights.len())?;
    let count = u32::try_from(weights.len()).map_err(|_| ScoringError::TooMany {
        field: "weights",
        len: weights.len(),
    })?;
    let mut h = Sha256::new();
    h.update(WEIGHTS_COMMIT_TAG);
    h.update([0u8]);
    h.update(hotkey.as_bytes());
    h.update(subnet.0.to_le_bytes());
    h.update(epoch.0.to_le_bytes());
    h.update(count.to_le_bytes());
    for &(uid, w) in weights {
        h.update(uid.to_le_bytes());
        h.update(w.to_le_bytes());
    }
    h.update(salt);
    Ok(h.finalize().into())
}

/// Commits to a weight vector.
///
/// # Errors
/// As [`weights_commitment`].
pub fn commit_weights(
    hotkey: Hotkey,
    subnet: SubnetId,
    epoch: Epoch,
    weights: &[(u16, u16)],
    salt: &[u8; 32],
) -> Result<WeightCommit, ScoringError> {
    let commitment = weights_commitment(&hotkey, subnet, epoch, weights, salt)?;
    Ok(WeightCommit {
        hotkey,
        subnet,
        epoch,
        commitment,
    })
}

/// Checks a reveal against its commitment: same hotkey, subnet and epoch, and the weights and
/// salt hash to the commitment.
///
/// # Errors
/// The first mismatch, as a typed [`ScoringError`].
pub fn verify_reveal(commit: &WeightCommit, reveal: &WeightReveal) -> Result<(), ScoringError> {
    if commit.hotkey != reveal.hotkey {
        return Err(ScoringError::HotkeyMismatch);
    }
    if commit.subnet != reveal.subnet {
        return Err(ScoringError::SubnetMismatch {
            committed: commit.subnet.0,
            revealed: reveal.subnet.0,
        });
    }
    if commit.epoch != reveal.epoch {
        return Err(ScoringError::EpochMismatch {
            committed: commit.epoch.0,
            revealed: reveal.epoch.0,
        });
    }
    let h = weights_commitment(
        &reveal.hotkey,
        reveal.subnet,
        reveal.epoch,
        &reveal.weights,
        &reveal.salt,
    )?;
    if h == commit.commitment {
        Ok(())
    } else {
        Err(ScoringError::CommitmentMismatch)
    }
}

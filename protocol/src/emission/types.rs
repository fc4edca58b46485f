//! The epoch's input and output records (spec/emission.md section 8, YUMA.md section 8) and
//! input validation.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::EmissionError;

/// One sparse row of u16 entries, `(uid, value)` in stored (submission) order.
pub type U16Row = Vec<(u16, u16)>;
/// One sparse row of Q32 entries (raw `I32F32` bits), `(uid, bits)`.
pub type Q32Row = Vec<(u16, i64)>;

/// The largest total stake `Σ stake + Σ tao_stake` (rao) an [`EpochInput`] may hold:
/// `2^63 − 1`. Up to it the chain's Q64 stake sum cannot wrap, every normalised stake is in
/// `[0, 1]` and the epoch pays at most its emission (spec/emission.md section 2). The chain's
/// supply (below `2^55` rao) is far below it.
pub const MAX_TOTAL_STAKE: u64 = (1 << 63) - 1;

/// A stored weight entry on a uid `>= n`, which the epoch drops before S5 exactly as the
/// chain's weight loader does (spec/emission.md section 3, S5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DroppedWeight {
    /// The weight row (the validator's uid).
    pub row: u16,
    /// The target uid, `>= n`.
    pub uid: u16,
    /// The stored u16 weight.
    pub weight: u16,
}

/// Which consensus vector liquid alpha compares weights against (newer runtimes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsensusMode {
    /// This epoch's consensus `C` (opentensor main's behaviour; the default).
    #[default]
    Current,
    /// The stored previous consensus (`previous_consensus`, u16 ratios).
    Previous,
    /// `previous` when `bonds_penalty = 65535`, else `current`.
    Auto,
}

/// Everything the chain's sparse epoch reads, for one subnet mechanism.
///
/// Vectors indexed by uid have length `n`; weights and bonds have `n` rows of `(uid, u16)`
/// pairs in stored order. See spec/emission.md for each field's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochInput {
    /// Number of uids in the subnet.
    pub n: u16,
    /// The current block.
    pub current_block: u64,
    /// The subnet's tempo in blocks.
    pub tempo: u64,
    /// Activity cutoff in blocks.
    pub activity_cutoff: u64,
    /// `LastMechanismStepBlock` (0 when unknown: then `current_block - tempo` is used).
    #[serde(default)]
    pub last_mechanism_step_block: u64,
    /// Block of each uid's last weight update.
    pub last_update: Vec<u64>,
    /// Block at which each uid was (last) registered.
    pub block_at_registration: Vec<u64>,
    /// Alpha stake of each uid, in rao.
    pub stake: Vec<u64>,
    /// Root (tao) stake of each uid, in rao; absent means all zero.
    #[serde(default)]
    pub tao_stake: Option<Vec<u64>>,
    /// `TaoWeight` as the raw u64 (`2^64 - 1` is 1.0).
    #[serde(default)]
    pub tao_weight: u64,
    /// `StakeThreshold` in rao.
    #[serde(default)]
    pub stake_threshold: u64,
    /// The subnet owner's uid, if registered.
    #[serde(default)]
    pub owner_uid: Option<u16>,
    /// Stored validator permits.
    pub validator_permit: Vec<bool>,
    /// `MaxAllowedValidators`.
    pub max_allowed_validators: u16,
    /// Stored weight rows, `(uid, u16)` in submission order.
    pub weights: Vec<U16Row>,
    /// Stored bond rows, `(uid, u16)`; columns `>= n` are allowed (pitfall P13).
    pub bonds: Vec<U16Row>,
    /// Whether commit-reveal is enabled.
    #[serde(default)]
    pub commit_reveal_enabled: bool,
    /// Each uid's earliest unexpired commit block (null: none).
    #[serde(default)]
    pub commit_blocks: Option<Vec<Option<u64>>>,
    /// Kappa (u16 ratio).
    pub kappa: u16,
    /// Bonds penalty (u16 ratio).
    pub bonds_penalty: u16,
    /// Bonds moving average, parts per million.
    pub bonds_moving_average: u64,
    /// `Yuma3On`.
    pub yuma3: bool,
    /// `LiquidAlphaOn`.
    pub liquid_alpha: bool,
    /// Liquid alpha's lower bound (u16 ratio).
    pub alpha_low: u16,
    /// Liquid alpha's upper bound (u16 ratio).
    pub alpha_high: u16,
    /// Sigmoid steepness (negative only by root).
    pub alpha_sigmoid_steepness: i16,
    /// Liquid alpha's consensus mode.
    #[serde(default)]
    pub liquid_alpha_consensus_mode: ConsensusMode,
    /// The stored previous consensus (u16 ratios); absent reads as empty, like chain storage.
    #[serde(default)]
    pub previous_consensus: Option<Vec<u16>>,
    /// The epoch's emission `E` in rao.
    pub rao_emission: u64,
}

/// Everything the epoch computes. Q32 values are raw `I32F32` bits. The default (every vector
/// empty) is what a fresh [`super::EpochWorkspace`] holds before its first epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochOutput {
    /// S1 activity.
    pub active: Vec<bool>,
    /// S2 normalised stake `s`.
    pub stake: Vec<i64>,
    /// S4 active validator stake `a`.
    pub active_stake: Vec<i64>,
    /// S3 new permits.
    pub new_validator_permit: Vec<bool>,
    /// S5 masked, row-normalised weights `W`.
    pub weights: Vec<Q32Row>,
    /// S6 consensus `C`.
    pub consensus: Vec<i64>,
    /// S7 validator trust.
    pub validator_trust: Vec<i64>,
    /// S8 ranks `R` (before normalisation).
    pub ranks: Vec<i64>,
    /// S8 incentive `I`.
    pub incentive: Vec<i64>,
    /// S10 dividends `D`.
    pub dividends: Vec<i64>,
    /// S10 EMA bonds as the chain leaves them (Yuma2: column max-upscaled; Yuma3: `E` as is).
    pub ema_bonds: Vec<Q32Row>,
    /// S11 normalised server emission.
    pub normalized_server_emission: Vec<i64>,
    /// S11 normalised validator emission.
    pub normalized_validator_emission: Vec<i64>,
    /// S11 normalised combined emission.
    pub normalized_combined_emission: Vec<i64>,
    /// S11 server emission in rao.
    pub server_emission: Vec<u64>,
    /// S11 validator emission in rao.
    pub validator_emission: Vec<u64>,
    /// S11 combined emission in rao.
    pub combined_emission: Vec<u64>,
    /// S12 `u16(s)`.
    pub stake_weight_u16: Vec<u16>,
    /// S12 `u16(C)`.
    pub consensus_u16: Vec<u16>,
    /// S12 `u16(I)`.
    pub incentive_u16: Vec<u16>,
    /// S12 `u16(D)`.
    pub dividends_u16: Vec<u16>,
    /// S12 `u16(vt)`.
    pub validator_trust_u16: Vec<u16>,
    /// S13 bond rows to store.
    pub new_bonds: Vec<U16Row>,
    /// Stored weight entries on uids `>= n`, dropped before S5 as the chain drops them, in row
    /// order and stored order within a row. Absent from the JSON when empty (every chain vector).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_weights: Vec<DroppedWeight>,
}

fn check_len(field: &'static str, found: usize, n: usize) -> Result<(), EmissionError> {
    if found == n {
        Ok(())
    } else {
        Err(EmissionError::LengthMismatch {
            field,
            expected: n,
            found,
        })
    }
}

/// Rejects a repeated uid in one row, with a bit-per-uid scratch set (cleared afterwards).
fn check_row(
    field: &'static str,
    row_idx: usize,
    row: &[(u16, u16)],
    seen: &mut Vec<bool>,
) -> Result<(), EmissionError> {
    // Fast path: a strictly ascending row (how rows are usually stored) has no duplicate.
    // Anything else takes the scan below, which names the first repeated uid.
    let ascending = row.windows(2).all(|p| match p {
        [a, b] => a.0 < b.0,
        _ => true,
    });
    if ascending {
        return Ok(());
    }
    let mut result = Ok(());
    for &(uid, _) in row {
        let u = usize::from(uid);
        if u >= seen.len() {
            seen.resize(u + 1, false);
        }
        match seen.get_mut(u) {
            Some(flag) if *flag => {
                result = Err(EmissionError::DuplicateUid {
                    field,
                    row: row_idx,
                    uid,
                });
                break;
            }
            Some(flag) => *flag = true,
            None => {}
        }
    }
    for &(uid, _) in row {
        if let Some(flag) = seen.get_mut(usize::from(uid)) {
            *flag = false;
        }
    }
    result
}

impl EpochInput {
    /// Checks the schema rules: every per-uid vector has length `n`, weights and bonds have `n`
    /// rows, no uid repeats within a weight or bond row, the owner uid is `< n`, and the total
    /// stake `Σ stake + Σ tao_stake` is at most [`MAX_TOTAL_STAKE`]. Row order is free (rows are
    /// stored in submission order). Weight entries on uids `>= n` are valid: the chain holds
    /// them after a trim and drops them when it loads the weights, and so does the epoch.
    ///
    /// # Errors
    /// The first violated rule, naming the field.
    pub fn validate(&self) -> Result<(), EmissionError> {
        let n = usize::from(self.n);
        check_len("last_update", self.last_update.len(), n)?;
        check_len("block_at_registration", self.block_at_registration.len(), n)?;
        check_len("stake", self.stake.len(), n)?;
        check_len("validator_permit", self.validator_permit.len(), n)?;
        check_len("weights", self.weights.len(), n)?;
        check_len("bonds", self.bonds.len(), n)?;
        if let Some(t) = &self.tao_stake {
            check_len("tao_stake", t.len(), n)?;
        }
        if let Some(c) = &self.commit_blocks {
            check_len("commit_blocks", c.len(), n)?;
        }
        if let Some(o) = self.owner_uid
            && usize::from(o) >= n
        {
            return Err(EmissionError::UidOutOfRange {
                field: "owner_uid",
                row: 0,
                uid: o,
                n,
            });
        }
        let total = self
            .stake
            .iter()
            .chain(self.tao_stake.iter().flatten())
            .map(|&s| u128::from(s))
            .sum::<u128>();
        if total > u128::from(MAX_TOTAL_STAKE) {
            return Err(EmissionError::StakeOutOfRange {
                total,
                max: MAX_TOTAL_STAKE,
            });
        }
        let mut seen: Vec<bool> = Vec::new();
        for (i, row) in self.weights.iter().enumerate() {
            check_row("weights", i, row, &mut seen)?;
        }
        for (i, row) in self.bonds.iter().enumerate() {
            check_row("bonds", i, row, &mut seen)?;
        }
        Ok(())
    }
}

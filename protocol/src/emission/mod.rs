//! Yuma consensus, bit for bit as the subtensor chain computes it (spec/emission.md).
//!
//! [`epoch`] takes an [`EpochInput`] (the chain state one epoch reads) and returns an
//! [`EpochOutput`] (every intermediate and stored result), in the chain's fixed-point types
//! ([`fixed`]). [`epoch_with`] does the same in a reusable [`EpochWorkspace`], so that a
//! sequence of epochs reuses its memory instead of allocating every row again. No floats are
//! used anywhere on this path. [`max_upscale_u16`] is the chain's
//! normalisation of a weight vector at `set_weights`.

pub mod fixed;
mod types;
mod weights;
mod yuma;

pub use types::{
    ConsensusMode, DroppedWeight, EpochInput, EpochOutput, MAX_TOTAL_STAKE, Q32Row, U16Row,
};
pub use weights::max_upscale_u16;
pub use yuma::{EpochWorkspace, consensus, epoch, epoch_with};

/// Why an epoch could not be computed. Every variant names the offending input field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmissionError {
    /// A per-uid vector (or the weight / bond row list) does not have length `n`.
    #[error("{field}: expected {expected} entries (n), found {found}")]
    LengthMismatch {
        /// The input field.
        field: &'static str,
        /// `n`.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The owner uid is not below `n` (weight entries `>= n` are not an error: the epoch drops
    /// them as the chain does and lists them in [`EpochOutput::dropped_weights`]).
    #[error("{field}[{row}]: uid {uid} out of range (n = {n})")]
    UidOutOfRange {
        /// The input field.
        field: &'static str,
        /// The row (0 for scalar fields).
        row: usize,
        /// The uid.
        uid: u16,
        /// `n`.
        n: usize,
    },
    /// A uid appears twice in one weight or bond row.
    #[error("{field}[{row}]: duplicate uid {uid}")]
    DuplicateUid {
        /// The input field.
        field: &'static str,
        /// The row.
        row: usize,
        /// The repeated uid.
        uid: u16,
    },
    /// The total stake `Σ stake + Σ tao_stake` exceeds [`MAX_TOTAL_STAKE`] (`2^63 − 1` rao), the
    /// range where the stake normalisation is exact: above it the chain's Q64 sum wraps and an
    /// epoch could pay more than it emits (pitfall P1). The chain's supply (below `2^55` rao)
    /// never gets there.
    #[error(
        "stake: the total stake {total} rao (alpha + tao) exceeds {max} rao, where the epoch's arithmetic stops being exact"
    )]
    StakeOutOfRange {
        /// `Σ stake + Σ tao_stake`, exactly.
        total: u128,
        /// The bound, [`MAX_TOTAL_STAKE`].
        max: u64,
    },
    /// `bonds_moving_average >= 2^31 * 10^6` on the Yuma3 fixed-alpha path, where the chain's
    /// non-saturating conversion panics (pitfall P12).
    #[error(
        "bonds_moving_average: {value} overflows the chain's I32F32 conversion (the chain panics)"
    )]
    BondsMovingAverageOverflow {
        /// The value given.
        value: u64,
    },
}

impl EmissionError {
    /// A stable, machine-readable code for this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::LengthMismatch { .. } => "emission.length_mismatch",
            Self::UidOutOfRange { .. } => "emission.uid_out_of_range",
            Self::DuplicateUid { .. } => "emission.duplicate_uid",
            Self::BondsMovingAverageOverflow { .. } => "emission.bonds_moving_average_overflow",
            Self::StakeOutOfRange { .. } => "emission.stake_out_of_range",
        }
    }

    /// The input field the error is about.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        match self {
            Self::LengthMismatch { field, .. }
            | Self::UidOutOfRange { field, .. }
            | Self::DuplicateUid { field, .. } => field,
            Self::BondsMovingAverageOverflow { .. } => "bonds_moving_average",
            Self::StakeOutOfRange { .. } => "stake",
        }
    }
}

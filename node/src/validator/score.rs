//! From verdicts to scores: what a validator tallies per miner in an epoch, and the
//! [`MinerEpochResult`] the protocol's `score` takes (spec/scoring.md sections 1 and 2).

use std::vec::Vec;

use mycel_protocol::scoring::MinerEpochResult;
use serde::{Deserialize, Serialize};

/// One miner's receipts as one validator judged them in one epoch.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinerTally {
    /// Receipts received.
    pub tasks: u32,
    /// Re-executed with a match.
    pub verified: u32,
    /// Re-executed with a mismatch.
    pub mismatched: u32,
    /// Accepted without re-execution.
    pub unchecked: u32,
    /// Rejected (bad signature, or not for a task this validator issued).
    pub rejected: u32,
    /// Fast-mode receipts: admitted, but neither paid nor convictable.
    pub unpaid_fast: u32,
    /// Compute units of the non-mismatched, non-rejected receipts (the task formula).
    pub units: u64,
    /// Latencies the validator observed (issue to arrival), ms.
    pub latencies: Vec<u64>,
}

impl MinerTally {
    /// Adds another tally (e.g. to total one miner over every validator).
    pub fn add(&mut self, other: &Self) {
        self.tasks = self.tasks.saturating_add(other.tasks);
        self.verified = self.verified.saturating_add(other.verified);
        self.mismatched = self.mismatched.saturating_add(other.mismatched);
        self.unchecked = self.unchecked.saturating_add(other.unchecked);
        self.rejected = self.rejected.saturating_add(other.rejected);
        self.unpaid_fast = self.unpaid_fast.saturating_add(other.unpaid_fast);
        self.units = self.units.saturating_add(other.units);
        self.latencies.extend_from_slice(&other.latencies);
    }

    /// The median observed latency (the lower middle for an even count; 0 when empty).
    #[must_use]
    pub fn median_latency_ms(&self) -> u64 {
        median(&self.latencies)
    }

    /// The epoch result the protocol scores.
    #[must_use]
    pub fn result(&self, uid: u16) -> MinerEpochResult {
        MinerEpochResult {
            uid,
            verified: self.verified,
            mismatched: self.mismatched,
            unchecked: self.unchecked,
            compute_units: self.units,
            latency_ms: self.median_latency_ms(),
        }
    }
}

/// The lower median of `v` (0 when empty).
#[must_use]
pub fn median(v: &[u64]) -> u64 {
    let mut sorted = v.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len().saturating_sub(1) / 2;
    sorted.get(mid).copied().unwrap_or(0)
}

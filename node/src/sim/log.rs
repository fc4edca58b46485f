//! The JSON log of a run: one [`EpochRecord`] per epoch and the [`SimLog`] around them, built
//! by pure functions (the host writes the bytes). The phase times ([`PhaseTimes`]) never enter
//! the log, so a seed gives byte-identical logs whatever the thread count.

use core::time::Duration;
use std::string::String;
use std::vec::Vec;

use mycel_protocol::ids::{Digest, Hotkey, NetworkId};
use serde::{Deserialize, Serialize};

use super::scenario::Scenario;
use super::subnet::Subnet;
use crate::error::{Error, Result};

/// A Q32 fixed-point value as a fraction.
#[must_use]
pub fn q32_share(x: i64) -> f64 {
    x as f64 / 4_294_967_296.0
}

/// Wall-clock time spent in each phase (never written to the JSON log).
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseTimes {
    /// Miners executing tasks with the kernels and signing receipts.
    pub work: Duration,
    /// Receipt roots, batch signature verification, spot-check re-execution, verdicts, fraud
    /// proofs and their network-wide check.
    pub verify: Duration,
    /// Scoring, commit-reveal and the Yuma epoch.
    pub emission: Duration,
    /// Within `verify`: wall time in batch signature verification, summed over the worker threads.
    pub signatures_cpu: Duration,
    /// Within `verify`: wall time re-executing sampled receipts, summed over the worker threads.
    pub reexecution_cpu: Duration,
    /// Within `verify`: wall time of the network-wide fraud proof check.
    pub audit: Duration,
}

/// One miner's line in an epoch record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MinerRecord {
    /// Uid.
    pub uid: u16,
    /// Receipts it returned (all validators).
    pub tasks: u32,
    /// Receipts re-executed with a match.
    pub verified: u32,
    /// Receipts re-executed with a mismatch (fraud proofs).
    pub caught: u32,
    /// Receipts accepted without re-execution.
    pub unchecked: u32,
    /// Receipts rejected: bad signature, or not for a task the validator issued to it this
    /// epoch (replays, duplicates, wrong assigner).
    pub rejected: u32,
    /// Fast-mode receipts (admitted, never paid or convicted: spec/scoring.md section 2.2).
    pub unpaid_fast: u32,
    /// Compute units of its receipts.
    pub compute_units: u64,
    /// Median simulated latency over its receipts, ms.
    pub median_latency_ms: u64,
    /// Incentive (raw Q32 bits of the Yuma output).
    pub incentive: i64,
    /// Incentive as a fraction.
    pub incentive_share: f64,
    /// Emission this epoch, rao.
    pub emission_rao: u64,
    /// Receipts whose claim the miner knew to be wrong (the simulation knows each behaviour;
    /// 0 for honest and slow miners).
    pub cheated: u32,
    /// The probability, predicted by spec/scoring.md section 2.1 from this epoch's receipts,
    /// sample rate and checking validators, that at least one wrong receipt is sampled.
    pub detection_probability: f64,
}

/// One validator's line in an epoch record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidatorRecord {
    /// Uid.
    pub uid: u16,
    /// Merkle root of the receipts it received (its committed receipt batch).
    pub receipt_root: Digest,
    /// Receipts in the batch.
    pub receipts: u32,
    /// Receipts with a bad signature.
    pub bad_signatures: u32,
    /// Receipts it re-executed.
    pub spot_checked: u32,
    /// Mismatches it found.
    pub mismatches: u32,
    /// The weight commitment it published this epoch (hex).
    pub weights_commitment: String,
    /// The weights it revealed this epoch (committed `reveal_delay_epochs` earlier), if any.
    pub weights_revealed: Option<Vec<(u16, u16)>>,
    /// What became of the reveal due this epoch: `revealed`, `missed` (no weights from it this
    /// epoch), `dropped: <reason>` (a bad reveal, recorded, the epoch goes on), or `none due`.
    pub reveal: String,
    /// Extra weight commitments for the same (hotkey, subnet, epoch) slot, rejected as
    /// equivocation (only the first commitment of a slot counts).
    pub equivocations: u32,
    /// Receipts it refused to credit, by reason (spec/receipts.md, "Crediting receipts").
    pub rejections: std::collections::BTreeMap<String, u32>,
    /// Dividends (raw Q32 bits).
    pub dividends: i64,
    /// Dividends as a fraction.
    pub dividend_share: f64,
    /// Validator trust (u16).
    pub vtrust: u16,
    /// Emission this epoch, rao.
    pub emission_rao: u64,
    /// Compute units of the receipts it credited (all non-mismatched valid receipts).
    pub credited_units: u64,
    /// What checking cost it, in compute units: each signature check at
    /// `timing.signature_check_units` plus the compute units it re-executed.
    pub checking_units: u64,
}

/// A fraud proof produced in an epoch.
#[derive(Debug, Clone, Serialize)]
pub struct ProofRecord {
    /// File name under `fraud/`.
    pub file: String,
    /// Validator uid.
    pub validator: u16,
    /// Miner uid.
    pub miner: u16,
    /// Receipt id.
    pub receipt_id: Digest,
    /// Whether the network-wide check accepted it.
    pub holds: bool,
    /// Why the check refused it (the fraud error's code and message), if it did.
    pub refused: Option<String>,
}

/// Everything one epoch produced that goes into the JSON log.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    /// Epoch number.
    pub epoch: u64,
    /// Block at which the Yuma epoch ran.
    pub block: u64,
    /// The epoch's beacon.
    pub beacon: Digest,
    /// Tasks issued.
    pub tasks: u64,
    /// Validators.
    pub validators: Vec<ValidatorRecord>,
    /// Miners.
    pub miners: Vec<MinerRecord>,
    /// Fraud proofs.
    pub fraud_proofs: Vec<ProofRecord>,
    /// Receipt batch files under `receipts/`.
    pub receipt_batches: Vec<String>,
}

/// Files an epoch produced (written by the caller).
#[derive(Debug, Default)]
pub struct Artifacts {
    /// `(file name, ReceiptBatch envelope bytes)`.
    pub batches: Vec<(String, Vec<u8>)>,
    /// `(file name, fraud proof JSON)`.
    pub proofs: Vec<(String, String)>,
}

/// The `format` string of the JSON log.
pub const LOG_FORMAT: &str = "mycel-sim-log/v1";

/// A miner as the log lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MinerInfo {
    /// Uid.
    pub uid: u16,
    /// Hotkey.
    pub hotkey: Hotkey,
    /// Behaviour name.
    pub behaviour: &'static str,
    /// For copiers: the uid copied.
    pub copies: Option<u16>,
}

/// A validator as the log lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorInfo {
    /// Uid.
    pub uid: u16,
    /// Hotkey.
    pub hotkey: Hotkey,
    /// Behaviour name.
    pub behaviour: &'static str,
    /// Stake, rao.
    pub stake_rao: u64,
}

/// A miner's totals over the run.
#[derive(Debug, Clone, Serialize)]
pub struct MinerTotal {
    /// Uid.
    pub uid: u16,
    /// Behaviour name.
    pub behaviour: &'static str,
    /// Receipts returned.
    pub tasks: u64,
    /// Receipts verified by re-execution.
    pub verified: u64,
    /// Receipts caught (mismatch).
    pub caught: u64,
    /// Incentive share in the last epoch.
    pub final_incentive_share: f64,
    /// Emission over the run, rao.
    pub emission_rao: u64,
    /// The first epoch a fraud proof against it held, if any.
    pub first_caught_epoch: Option<u64>,
    /// For miners that cheated: the mean predicted detection probability per epoch over every
    /// epoch of the run in which it cheated (not only those before the first catch, which would
    /// bias it towards the low-probability epochs that did not catch it).
    pub predicted_detection_per_epoch: Option<f64>,
    /// `1 / predicted_detection_per_epoch`: the predicted epochs until the first catch.
    pub predicted_epochs_to_catch: Option<f64>,
    /// Epochs it ran until first caught (`first_caught_epoch + 1`, counting the catching
    /// epoch), or `None` if never caught.
    pub measured_epochs_to_catch: Option<u64>,
}

/// A validator's totals over the run.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorTotal {
    /// Uid.
    pub uid: u16,
    /// Behaviour name.
    pub behaviour: &'static str,
    /// Dividend share in the last epoch.
    pub final_dividend_share: f64,
    /// Validator trust (u16) in the last epoch.
    pub final_vtrust: u16,
    /// Emission over the run, rao.
    pub emission_rao: u64,
    /// Compute units it credited over the run.
    pub credited_units: u64,
    /// Its checking cost over the run, compute units.
    pub checking_units: u64,
    /// `checking_units / credited_units` (0 when it credited nothing).
    pub checking_cost_share: f64,
}

/// Run totals.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Per miner.
    pub miners: Vec<MinerTotal>,
    /// Per validator.
    pub validators: Vec<ValidatorTotal>,
}

impl Totals {
    /// Each miner's share of the emission paid to miners over the run, in [`Totals::miners`]'
    /// order (all 0 when nothing was paid).
    #[must_use]
    pub fn emission_shares(&self) -> Vec<f64> {
        let total: u64 = self.miners.iter().map(|m| m.emission_rao).sum();
        self.miners
            .iter()
            .map(|m| {
                if total == 0 {
                    0.0
                } else {
                    m.emission_rao as f64 / total as f64
                }
            })
            .collect()
    }
}

/// The JSON log of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SimLog {
    /// Always [`LOG_FORMAT`].
    pub format: &'static str,
    /// The scenario that ran (after command-line overrides).
    pub scenario: Scenario,
    /// Network id.
    pub network: NetworkId,
    /// Validators.
    pub validators: Vec<ValidatorInfo>,
    /// Miners.
    pub miners: Vec<MinerInfo>,
    /// Uid the colluders boost, if any.
    pub colluder_target: Option<u16>,
    /// Every epoch.
    pub epochs: Vec<EpochRecord>,
    /// Totals.
    pub totals: Totals,
}

impl SimLog {
    /// The fraud proofs published over the run (every epoch's [`EpochRecord::fraud_proofs`]).
    #[must_use]
    pub fn fraud_proof_count(&self) -> usize {
        self.epochs.iter().map(|e| e.fraud_proofs.len()).sum()
    }

    /// Assembles the log from the subnet and its epoch records.
    #[must_use]
    pub fn new(subnet: &Subnet, epochs: Vec<EpochRecord>) -> Self {
        let miners: Vec<MinerInfo> = subnet
            .miners
            .iter()
            .map(|m| MinerInfo {
                uid: m.uid,
                hotkey: m.role.hotkey(),
                behaviour: m.behaviour.name(),
                copies: m
                    .copy_from
                    .map(|i| subnet.miners.get(i).map_or(0, |m| m.uid)),
            })
            .collect();
        let validators: Vec<ValidatorInfo> = subnet
            .validators
            .iter()
            .map(|v| ValidatorInfo {
                uid: v.uid,
                hotkey: v.role.hotkey(),
                behaviour: v.behaviour.name(),
                stake_rao: v.stake,
            })
            .collect();
        let last = epochs.last();
        let mt = subnet
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (mut tasks, mut verified, mut caught, mut emission) = (0u64, 0u64, 0u64, 0u64);
                let (mut first_caught, mut cheated, mut p_sum, mut p_n) = (None, 0u64, 0.0, 0u32);
                for e in &epochs {
                    let Some(r) = e.miners.get(i) else { continue };
                    tasks += u64::from(r.tasks);
                    verified += u64::from(r.verified);
                    caught += u64::from(r.caught);
                    emission = emission.saturating_add(r.emission_rao);
                    cheated += u64::from(r.cheated);
                    if r.cheated > 0 {
                        p_sum += r.detection_probability;
                        p_n += 1;
                    }
                    if first_caught.is_none() && r.caught > 0 {
                        first_caught = Some(e.epoch);
                    }
                }
                let predicted = (cheated > 0 && p_n > 0).then(|| p_sum / f64::from(p_n));
                MinerTotal {
                    uid: m.uid,
                    behaviour: m.behaviour.name(),
                    tasks,
                    verified,
                    caught,
                    final_incentive_share: last
                        .and_then(|e| e.miners.get(i))
                        .map_or(0.0, |r| r.incentive_share),
                    emission_rao: emission,
                    first_caught_epoch: first_caught,
                    predicted_detection_per_epoch: predicted,
                    predicted_epochs_to_catch: predicted.filter(|p| *p > 0.0).map(|p| 1.0 / p),
                    measured_epochs_to_catch: first_caught.map(|e| e + 1),
                }
            })
            .collect();
        let vt = subnet
            .validators
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let sum = |f: fn(&ValidatorRecord) -> u64| {
                    epochs.iter().fold(0u64, |a, e| {
                        a.saturating_add(e.validators.get(i).map_or(0, f))
                    })
                };
                let credited = sum(|r| r.credited_units);
                let checking = sum(|r| r.checking_units);
                ValidatorTotal {
                    uid: v.uid,
                    behaviour: v.behaviour.name(),
                    final_dividend_share: last
                        .and_then(|e| e.validators.get(i))
                        .map_or(0.0, |r| r.dividend_share),
                    final_vtrust: last
                        .and_then(|e| e.validators.get(i))
                        .map_or(0, |r| r.vtrust),
                    emission_rao: epochs.iter().fold(0u64, |a, e| {
                        a.saturating_add(e.validators.get(i).map_or(0, |r| r.emission_rao))
                    }),
                    credited_units: credited,
                    checking_units: checking,
                    checking_cost_share: if credited == 0 {
                        0.0
                    } else {
                        checking as f64 / credited as f64
                    },
                }
            })
            .collect();
        Self {
            format: LOG_FORMAT,
            scenario: subnet.scenario.clone(),
            network: subnet.network,
            validators,
            miners,
            colluder_target: subnet
                .colluder_target
                .map(|i| subnet.miners.get(i).map_or(0, |m| m.uid)),
            epochs,
            totals: Totals {
                miners: mt,
                validators: vt,
            },
        }
    }
}

/// The log as pretty-printed JSON ending in a newline: the bytes of `simulation.json`.
///
/// # Errors
/// [`Error::Json`] (not expected).
pub fn to_json(log: &SimLog) -> Result<String> {
    let mut json = serde_json::to_string_pretty(log).map_err(|e| Error::Json(e.to_string()))?;
    json.push('\n');
    Ok(json)
}

//! The scenario: every knob of a simulation run, with defaults that run in seconds, read from a
//! TOML file (`--scenario FILE`) and overridden by command-line flags.
//!
//! `scenarios/default.toml` in the repository spells out exactly these defaults (a test checks
//! that it parses to [`Scenario::default`]).

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use crate::validator::tasks::{TaskConfig, parse_dtype};

/// Largest number of miners or validators (uids are u16 and the chain caps subnets far below).
pub const MAX_NEURONS: usize = 4096;
/// Largest number of epochs one run may simulate.
pub const MAX_EPOCHS: u64 = 100_000;
/// Largest number of tasks one validator may give one miner in an epoch.
pub const MAX_TASKS_PER_MINER: u32 = 64;

/// How a miner behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinerBehaviour {
    /// Runs every task with the real kernels and reports the true commitment.
    Honest,
    /// Runs nothing and reports a random output commitment.
    Lazy,
    /// Runs nothing and reports the commitment another miner reported for its own task.
    Copier,
    /// Runs attention in fast mode while the task asks for verifiable mode (matmul honest).
    Sloppy,
    /// Honest, but its simulated latency is `slow_factor` times longer.
    Slow,
    /// Slow, and signs `finished_at_ms = started_at_ms` to look fast (validators measure
    /// latency themselves, so it is paid as a slow miner).
    ClockLiar,
    /// Honest work, but sends each receipt to every validator, re-signs it with fresh nonces
    /// and replays it the next epoch (admission rejects every copy).
    DoubleDipper,
    /// Lazy on every fourth task and re-rolls its nonces until the sample it can predict from
    /// public data misses its fake receipts (the secret in the sample seed defeats it).
    Grinder,
}

impl MinerBehaviour {
    /// The name used in scenario files, the JSON log and the tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Honest => "honest",
            Self::Lazy => "lazy",
            Self::Copier => "copier",
            Self::Sloppy => "sloppy",
            Self::Slow => "slow",
            Self::ClockLiar => "clock-liar",
            Self::DoubleDipper => "double-dipper",
            Self::Grinder => "grinder",
        }
    }
}

/// How a validator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidatorBehaviour {
    /// Spot-checks, scores and sets weights from what it saw.
    Honest,
    /// Checks nothing and sets its weights to the previous epoch's consensus.
    WeightCopier,
    /// Scores like an honest validator, but gives one miner the largest weight and ignores
    /// fraud proofs against it.
    Colluder,
    /// Scores honestly, but publishes fraud proofs against honest miners (a made-up mismatch,
    /// Fast-mode tasks included); every one fails the network's check and says why.
    Framer,
    /// Commits two weight vectors per epoch and reveals the one that suits it (odd epochs), or
    /// never reveals (even epochs); the extra commitment is rejected as equivocation.
    Equivocator,
}

impl ValidatorBehaviour {
    /// The name used in scenario files, the JSON log and the tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Honest => "honest",
            Self::WeightCopier => "weight-copier",
            Self::Colluder => "colluder",
            Self::Framer => "framer",
            Self::Equivocator => "equivocator",
        }
    }
}

/// A complete scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Epochs to simulate.
    pub epochs: u64,
    /// The run seed: keys, tasks, weights, sampling and the beacon all derive from it.
    pub seed: u64,
    /// The subnet id written into tasks and receipts.
    pub subnet: u16,
    /// Miner population.
    pub miners: MinerConfig,
    /// Validator population.
    pub validators: ValidatorConfig,
    /// What tasks look like.
    pub tasks: TaskConfig,
    /// Simulated time.
    pub timing: TimingConfig,
    /// Spot checks, scores and weights.
    pub scoring: ScoringConfig,
    /// Yuma hyperparameters and the emission per epoch.
    pub emission: EmissionConfig,
}

/// Miner population: `count` miners, of which the named numbers misbehave; the rest are honest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MinerConfig {
    /// Number of miners.
    pub count: usize,
    /// Lazy miners (random commitments).
    pub lazy: usize,
    /// Copier miners (another miner's commitment).
    pub copier: usize,
    /// Sloppy miners (fast-mode attention claimed as verifiable).
    pub sloppy: usize,
    /// Slow miners (honest, `slow_factor` times the latency).
    pub slow: usize,
    /// Clock liars (slow, signing finished = started).
    pub clock_liar: usize,
    /// Double dippers (each result sent to every validator, re-signed, replayed).
    pub double_dipper: usize,
    /// Grinders (lazy on every fourth task, grinding nonces against the sample).
    pub grinder: usize,
}

/// Validator population and stake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorConfig {
    /// Number of validators.
    pub count: usize,
    /// Validators that copy the previous epoch's consensus.
    pub weight_copier: usize,
    /// Validators that boost one miner.
    pub colluder: usize,
    /// Validators that publish fraud proofs against honest miners.
    pub framer: usize,
    /// Validators that commit several weight vectors per epoch.
    pub equivocator: usize,
    /// Which miner colluders boost: a behaviour name (its first miner by uid) or a miner index.
    pub colluder_target: String,
    /// Stake of every validator in rao, unless `stakes` lists them.
    pub stake_rao: u64,
    /// Per-validator stakes in rao, in validator order (honest first, then weight copiers, then
    /// colluders); empty means `stake_rao` for all.
    pub stakes: Vec<u64>,
}

/// Simulated time (never the wall clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingConfig {
    /// Simulated Unix time of epoch 0's start, in milliseconds.
    pub genesis_ms: u64,
    /// Seconds per block (an epoch lasts `tempo` blocks).
    pub block_ms: u64,
    /// Fixed per-task overhead of an honest miner (network round trip, setup), in ms.
    pub overhead_ms: u64,
    /// Simulated throughput of an honest miner, in compute units per millisecond.
    pub units_per_ms: u64,
    /// Latency multiplier of slow miners.
    pub slow_factor: u64,
    /// Random jitter added to each task, up to this many per mille of its latency.
    pub jitter_permille: u64,
    /// Latency of a lazy miner's (empty) answer, in ms.
    pub lazy_ms: u64,
    /// How long after its source a copier answers, in ms.
    pub copier_delay_ms: u64,
    /// What one signature check costs a validator, in compute units (for the checking-cost
    /// report only; ~10 µs of a batched ed25519 check at the default throughput).
    pub signature_check_units: u64,
}

/// Spot checks, scoring and weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Fraction of each miner's receipts a validator re-executes (rounded stochastically).
    pub spot_check_rate: f64,
    /// Receipts of each miner a checking validator re-executes at least, whatever the rate.
    pub min_checks_per_miner: u32,
    /// Latency at or below which no throughput penalty applies, in ms.
    pub latency_target_ms: u64,
    /// EMA coefficient of scores across epochs (0..=1).
    pub ema_alpha: f64,
    /// Epochs between a weight commit and its reveal (0: same epoch).
    pub reveal_delay_epochs: u64,
    /// Epochs a miner with a valid fraud proof against it gets zero weight from honest validators.
    pub fraud_ban_epochs: u64,
    /// Whether the sample seed includes each validator's secret, committed before receipts
    /// arrive (spec/sampling.md). `false` reproduces the pre-fix rule, where a miner can predict
    /// the sample and grind its nonces against it (for demonstrations only).
    pub sample_secret: bool,
}

/// Yuma consensus hyperparameters (spec/emission.md) and emission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmissionConfig {
    /// Rao emitted per epoch.
    pub rao_per_epoch: u64,
    /// Blocks per epoch.
    pub tempo: u64,
    /// Activity cutoff in blocks.
    pub activity_cutoff: u64,
    /// Kappa (u16 ratio).
    pub kappa: u16,
    /// Bonds penalty (u16 ratio).
    pub bonds_penalty: u16,
    /// Bonds moving average, parts per million.
    pub bonds_moving_average: u64,
    /// Yuma3 bonds.
    pub yuma3: bool,
    /// Liquid alpha.
    pub liquid_alpha: bool,
    /// Liquid alpha lower bound (u16 ratio).
    pub alpha_low: u16,
    /// Liquid alpha upper bound (u16 ratio).
    pub alpha_high: u16,
    /// Liquid alpha sigmoid steepness.
    pub alpha_sigmoid_steepness: i16,
    /// Maximum validators with a permit.
    pub max_allowed_validators: u16,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            epochs: 8,
            seed: 7,
            subnet: 1,
            miners: MinerConfig::default(),
            validators: ValidatorConfig::default(),
            tasks: TaskConfig::default(),
            timing: TimingConfig::default(),
            scoring: ScoringConfig::default(),
            emission: EmissionConfig::default(),
        }
    }
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            count: 8,
            lazy: 1,
            copier: 1,
            sloppy: 1,
            slow: 1,
            clock_liar: 0,
            double_dipper: 0,
            grinder: 0,
        }
    }
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        Self {
            count: 4,
            weight_copier: 1,
            colluder: 1,
            framer: 0,
            equivocator: 0,
            colluder_target: "lazy".into(),
            stake_rao: 1_000_000_000_000,
            stakes: Vec::new(),
        }
    }
}

impl Default for TimingConfig {
    fn default() -> Self {
        Self {
            genesis_ms: 1_767_225_600_000,
            block_ms: 12_000,
            overhead_ms: 20,
            units_per_ms: 100_000,
            slow_factor: 5,
            jitter_permille: 100,
            lazy_ms: 2,
            copier_delay_ms: 5,
            signature_check_units: 1_000,
        }
    }
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            spot_check_rate: 0.03,
            min_checks_per_miner: 0,
            latency_target_ms: 60,
            ema_alpha: 0.5,
            reveal_delay_epochs: 1,
            fraud_ban_epochs: 1000,
            sample_secret: true,
        }
    }
}

impl Default for EmissionConfig {
    fn default() -> Self {
        Self {
            rao_per_epoch: 1_000_000_000,
            tempo: 360,
            activity_cutoff: 5000,
            kappa: 32_767,
            bonds_penalty: 65_535,
            bonds_moving_average: 900_000,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1000,
            max_allowed_validators: 64,
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Scenario(msg.into())
}

impl Scenario {
    /// Parses a TOML scenario; absent keys keep their defaults, unknown keys are errors.
    pub fn from_toml(text: &str) -> Result<Self> {
        let s: Scenario = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        Ok(s)
    }

    /// Checks every rule, naming the field that breaks one.
    pub fn validate(&self) -> Result<()> {
        let m = &self.miners;
        let v = &self.validators;
        let t = &self.tasks;
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(bad(format!("epochs: must be in 1..={MAX_EPOCHS}")));
        }
        if m.count == 0 || m.count > MAX_NEURONS {
            return Err(bad(format!("miners.count: must be in 1..={MAX_NEURONS}")));
        }
        if v.count == 0 || v.count > MAX_NEURONS {
            return Err(bad(format!(
                "validators.count: must be in 1..={MAX_NEURONS}"
            )));
        }
        let bad_miners =
            m.lazy + m.copier + m.sloppy + m.slow + m.clock_liar + m.double_dipper + m.grinder;
        if bad_miners > m.count {
            return Err(bad(format!(
                "miners: lazy + copier + sloppy + slow + clock_liar + double_dipper + grinder = {bad_miners} exceeds miners.count = {}",
                m.count
            )));
        }
        if m.copier > 0 && m.count - m.copier == 0 {
            return Err(bad(
                "miners.copier: copiers need at least one other miner to copy",
            ));
        }
        if v.weight_copier + v.colluder + v.framer + v.equivocator > v.count {
            return Err(bad(
                "validators: weight_copier + colluder + framer + equivocator exceeds validators.count",
            ));
        }
        if !v.stakes.is_empty() && v.stakes.len() != v.count {
            return Err(bad(format!(
                "validators.stakes: {} entries for {} validators",
                v.stakes.len(),
                v.count
            )));
        }
        if v.stakes.is_empty() && v.stake_rao == 0
            || v.stakes.iter().all(|s| *s == 0) && !v.stakes.is_empty()
        {
            return Err(bad("validators: total stake is zero"));
        }
        let total: u128 = if v.stakes.is_empty() {
            u128::from(v.stake_rao).saturating_mul(v.count as u128)
        } else {
            v.stakes.iter().map(|&s| u128::from(s)).sum()
        };
        if total > u128::from(mycel_protocol::emission::MAX_TOTAL_STAKE) {
            return Err(bad(format!(
                "validators: the total stake {total} rao exceeds {} rao (MAX_TOTAL_STAKE, where \
                 the epoch's arithmetic stops being exact; spec/emission.md)",
                mycel_protocol::emission::MAX_TOTAL_STAKE
            )));
        }
        if v.colluder > 0 {
            self.colluder_target_index()
                .map_err(|e| bad(format!("validators.colluder_target: {e}")))?;
        }
        if t.per_miner == 0 || t.per_miner > MAX_TASKS_PER_MINER {
            return Err(bad(format!(
                "tasks.per_miner: must be in 1..={MAX_TASKS_PER_MINER}"
            )));
        }
        let receipts = (m.count as u64) * u64::from(t.per_miner);
        if receipts > mycel_protocol::receipt::MAX_BATCH_RECEIPTS as u64 {
            return Err(bad(format!(
                "tasks.per_miner: miners.count x per_miner = {receipts} receipts per validator exceeds one receipt batch ({})",
                mycel_protocol::receipt::MAX_BATCH_RECEIPTS
            )));
        }
        if t.matmul_q8_0 + t.matmul_q4_0 + t.attention + t.attention_fast == 0 {
            return Err(bad(
                "tasks: matmul_q8_0 + matmul_q4_0 + attention + attention_fast must not all be 0",
            ));
        }
        if t.matmul_q8_0 + t.matmul_q4_0 > 0 {
            if t.matmul_m.is_empty() || t.matmul_m.iter().any(|&x| x == 0 || x > 4096) {
                return Err(bad(
                    "tasks.matmul_m: a non-empty list of values in 1..=4096",
                ));
            }
            if t.matmul_n == 0 || t.matmul_n > 8192 {
                return Err(bad("tasks.matmul_n: must be in 1..=8192"));
            }
            if t.matmul_k == 0 || t.matmul_k > 8192 || !t.matmul_k.is_multiple_of(32) {
                return Err(bad("tasks.matmul_k: a multiple of 32 in 32..=8192"));
            }
            if t.weight_matrices == 0 || t.weight_matrices > 64 {
                return Err(bad("tasks.weight_matrices: must be in 1..=64"));
            }
        }
        if t.attention + t.attention_fast > 0 {
            if t.attention_heads == 0 || t.attention_heads > 64 {
                return Err(bad("tasks.attention_heads: must be in 1..=64"));
            }
            if t.attention_kv_heads == 0 || !t.attention_heads.is_multiple_of(t.attention_kv_heads)
            {
                return Err(bad("tasks.attention_kv_heads: must divide attention_heads"));
            }
            if t.attention_q_len == 0 || t.attention_q_len > t.attention_kv_len {
                return Err(bad(
                    "tasks.attention_q_len: must be in 1..=attention_kv_len",
                ));
            }
            if t.attention_kv_len > 8192 {
                return Err(bad("tasks.attention_kv_len: must be at most 8192"));
            }
            if t.attention_head_dim != 64 && t.attention_head_dim != 128 {
                return Err(bad("tasks.attention_head_dim: must be 64 or 128"));
            }
            if t.attention_dtypes.is_empty() {
                return Err(bad("tasks.attention_dtypes: must not be empty"));
            }
            for d in &t.attention_dtypes {
                if parse_dtype(d).is_none() {
                    return Err(bad(format!(
                        "tasks.attention_dtypes: unknown dtype {d:?} (f32, f16, bf16)"
                    )));
                }
            }
        }
        let tm = &self.timing;
        if tm.units_per_ms == 0 {
            return Err(bad("timing.units_per_ms: must be positive"));
        }
        if tm.slow_factor == 0 || tm.slow_factor > 1000 {
            return Err(bad("timing.slow_factor: must be in 1..=1000"));
        }
        if tm.jitter_permille > 1000 {
            return Err(bad("timing.jitter_permille: must be at most 1000"));
        }
        if tm.block_ms == 0 || tm.block_ms > 3_600_000 {
            return Err(bad("timing.block_ms: must be in 1..=3600000"));
        }
        let sc = &self.scoring;
        if !(0.0..=1.0).contains(&sc.spot_check_rate) {
            return Err(bad("scoring.spot_check_rate: must be in [0, 1]"));
        }
        if sc.min_checks_per_miner > MAX_TASKS_PER_MINER {
            return Err(bad(format!(
                "scoring.min_checks_per_miner: must be at most {MAX_TASKS_PER_MINER}"
            )));
        }
        if !(0.0..=1.0).contains(&sc.ema_alpha) {
            return Err(bad("scoring.ema_alpha: must be in [0, 1]"));
        }
        if sc.reveal_delay_epochs > 16 {
            return Err(bad("scoring.reveal_delay_epochs: must be at most 16"));
        }
        let e = &self.emission;
        if e.tempo == 0 || e.tempo > 1_000_000 {
            return Err(bad("emission.tempo: must be in 1..=1000000"));
        }
        if e.bonds_moving_average > 1_000_000 {
            return Err(bad(
                "emission.bonds_moving_average: must be at most 1000000",
            ));
        }
        if e.alpha_low > e.alpha_high {
            return Err(bad("emission.alpha_low: must not exceed alpha_high"));
        }
        if m.count + v.count > usize::from(u16::MAX) {
            return Err(bad("miners.count + validators.count: too many uids"));
        }
        Ok(())
    }

    /// The EMA coefficient as Q32 bits (`floor(alpha · 2^32)`).
    pub fn ema_alpha_q32(&self) -> i64 {
        (self.scoring.ema_alpha * 4_294_967_296.0).floor() as i64
    }

    /// The miner behaviours in miner order before shuffling: honest, lazy, copier, sloppy, slow.
    pub fn miner_behaviours(&self) -> Vec<MinerBehaviour> {
        let m = &self.miners;
        let honest = m.count.saturating_sub(
            m.lazy + m.copier + m.sloppy + m.slow + m.clock_liar + m.double_dipper + m.grinder,
        );
        let mut out = Vec::with_capacity(m.count);
        out.extend(core::iter::repeat_n(MinerBehaviour::Honest, honest));
        out.extend(core::iter::repeat_n(MinerBehaviour::Lazy, m.lazy));
        out.extend(core::iter::repeat_n(MinerBehaviour::Copier, m.copier));
        out.extend(core::iter::repeat_n(MinerBehaviour::Sloppy, m.sloppy));
        out.extend(core::iter::repeat_n(MinerBehaviour::Slow, m.slow));
        out.extend(core::iter::repeat_n(
            MinerBehaviour::ClockLiar,
            m.clock_liar,
        ));
        out.extend(core::iter::repeat_n(
            MinerBehaviour::DoubleDipper,
            m.double_dipper,
        ));
        out.extend(core::iter::repeat_n(MinerBehaviour::Grinder, m.grinder));
        out
    }

    /// The validator behaviours and stakes in validator order: honest, weight copiers,
    /// colluders, framers, equivocators.
    pub fn validator_behaviours(&self) -> Vec<(ValidatorBehaviour, u64)> {
        let v = &self.validators;
        let honest = v
            .count
            .saturating_sub(v.weight_copier + v.colluder + v.framer + v.equivocator);
        let kinds = core::iter::repeat_n(ValidatorBehaviour::Honest, honest)
            .chain(core::iter::repeat_n(
                ValidatorBehaviour::WeightCopier,
                v.weight_copier,
            ))
            .chain(core::iter::repeat_n(
                ValidatorBehaviour::Colluder,
                v.colluder,
            ))
            .chain(core::iter::repeat_n(ValidatorBehaviour::Framer, v.framer))
            .chain(core::iter::repeat_n(
                ValidatorBehaviour::Equivocator,
                v.equivocator,
            ));
        kinds
            .enumerate()
            .map(|(i, k)| (k, v.stakes.get(i).copied().unwrap_or(v.stake_rao)))
            .collect()
    }

    /// Resolves `colluder_target` against the final (shuffled) miner behaviours: a behaviour
    /// name picks its first miner, a number picks that miner index.
    pub fn colluder_target_in(
        &self,
        miners: &[MinerBehaviour],
    ) -> core::result::Result<usize, String> {
        let t = self.validators.colluder_target.trim();
        if let Ok(i) = t.parse::<usize>() {
            return if i < miners.len() {
                Ok(i)
            } else {
                Err(format!("miner index {i} out of range"))
            };
        }
        let want = parse_miner_behaviour(t)
            .ok_or_else(|| format!("{t:?} is neither a miner index nor a behaviour"))?;
        miners
            .iter()
            .position(|b| *b == want)
            .ok_or_else(|| format!("no {t} miner in this scenario"))
    }

    fn colluder_target_index(&self) -> core::result::Result<usize, String> {
        self.colluder_target_in(&self.miner_behaviours())
    }
}

/// Parses a miner behaviour name.
pub fn parse_miner_behaviour(s: &str) -> Option<MinerBehaviour> {
    Some(match s {
        "honest" => MinerBehaviour::Honest,
        "lazy" => MinerBehaviour::Lazy,
        "copier" => MinerBehaviour::Copier,
        "sloppy" => MinerBehaviour::Sloppy,
        "slow" => MinerBehaviour::Slow,
        "clock-liar" | "clock_liar" => MinerBehaviour::ClockLiar,
        "double-dipper" | "double_dipper" => MinerBehaviour::DoubleDipper,
        "grinder" => MinerBehaviour::Grinder,
        _ => return None,
    })
}

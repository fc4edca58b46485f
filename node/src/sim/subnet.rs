//! The subnet as a deterministic state machine: [`Subnet::step`] advances one epoch, driven only
//! by the scenario, the run seed and the epoch number (quinn-proto's `Pair`, at subnet scale).
//!
//! One epoch reads as its phases in order, each a function taking the previous one's output:
//! 1. **Beacon**: `beacon_e = H(beacon_{e-1} ‖ e)`, a hash chain from the seed.
//! 2. **Issue** ([`Subnet::issue`]): every validator gives every miner `tasks.per_miner` tasks
//!    ([`issue_task`]), issued at evenly spread simulated times.
//! 3. **Execute** ([`Subnet::execute`]): miners run the real kernels (in parallel over
//!    `threads`; the result never depends on the thread count) and sign a receipt each through
//!    the [`Miner`] role. Simulated times come from the latency model, never the clock.
//! 4. **Check** ([`Subnet::check`]): each [`Validator`] commits its receipts to a Merkle root,
//!    batch-verifies the signatures, draws its sample from randomness fixed after the root,
//!    re-executes it, signs verdicts and builds a fraud proof for each mismatch.
//! 5. **Audit**: every fraud proof is checked once by the network (full re-execution from the
//!    proof alone) and every validator that accepts it bans the miner for `fraud_ban_epochs`.
//! 6. **Score, commit, reveal** ([`Subnet::settle`]): tallies → scores → EMA → u16 weights;
//!    weight copiers use the last consensus, colluders boost their target. Weights are committed
//!    and revealed `reveal_delay_epochs` later.
//! 7. **Emission** ([`Subnet::run_yuma`]): the protocol's Yuma epoch over the revealed weights,
//!    with bonds, permits and consensus carried from the previous epoch.
//!
//! Nothing here reads a clock: the host passes a [`Clock`] whose readings only fill
//! [`PhaseTimes`], which never enter the log.

use core::time::Duration;
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use mycel_kernels::Backend;
use mycel_protocol::emission::{EpochInput, EpochOutput, U16Row, epoch as yuma_epoch};
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, Outcome, SignedReceipt};
use mycel_protocol::scoring::{ScoreParams, score, verify_reveal, weights_from_scores};
use mycel_protocol::task::{KernelId, TaskSpec};

use super::log::{
    Artifacts, EpochRecord, MinerRecord, PhaseTimes, ProofRecord, ValidatorRecord, q32_share,
};
use super::scenario::{MinerBehaviour, Scenario, ValidatorBehaviour};
use super::work::{execute_as, latency_ms};
use crate::error::{Error, Result};
use crate::fraud::FraudProof;
use crate::miner::{Claim, Miner, ReceiptFields};
use crate::rng::{DetRng, derive};
use crate::validator::sample::{detection_probability, sample, sample_seed};
use crate::validator::score::MinerTally;
use crate::validator::tasks::{TaskContext, WeightPool, issue_task};
use crate::validator::{CommittedBatch, Validator};

/// The backend label every simulated miner writes (diagnostic only).
const BACKEND_LABEL: &str = "mycel-sim/cpu";

/// A monotonic time source supplied by the host; only used to fill [`PhaseTimes`].
pub trait Clock: Sync {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

/// A clock that always reads zero (for hosts that do not time phases).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A simulated miner: the role and what the simulation knows about it.
#[derive(Debug)]
pub struct SimMiner {
    /// Its uid (validators come first).
    pub uid: u16,
    /// The miner role (its key).
    pub role: Miner,
    /// Its behaviour.
    pub behaviour: MinerBehaviour,
    /// For copiers: the miner index whose commitments it copies.
    pub copy_from: Option<usize>,
}

/// A simulated validator: the role and what the simulation knows about it.
#[derive(Debug)]
pub struct SimValidator {
    /// Its uid.
    pub uid: u16,
    /// The validator role (key, score EMA, bans, pending reveals).
    pub role: Validator,
    /// Its behaviour.
    pub behaviour: ValidatorBehaviour,
    /// Its stake in rao.
    pub stake: u64,
}

/// The whole subnet.
#[derive(Debug)]
pub struct Subnet {
    /// The scenario.
    pub scenario: Scenario,
    /// Network id.
    pub network: NetworkId,
    /// Validators (uids `0..V`).
    pub validators: Vec<SimValidator>,
    /// Miners (uids `V..V+M`).
    pub miners: Vec<SimMiner>,
    /// Index of the colluders' target miner, if any colluder.
    pub colluder_target: Option<usize>,
    pool: WeightPool,
    beacon: [u8; 32],
    stored_weights: Vec<U16Row>,
    last_update: Vec<u64>,
    bonds: Vec<U16Row>,
    permits: Vec<bool>,
    previous_consensus: Option<Vec<u16>>,
    next_epoch: u64,
}

/// What one epoch produced: the log record, the files to write, and the phase times.
#[derive(Debug)]
pub struct EpochOutcome {
    /// The epoch's record for the JSON log.
    pub record: EpochRecord,
    /// Receipt batches and fraud proofs, for the host to write.
    pub artifacts: Artifacts,
    /// Time spent per phase, as read from the host's clock.
    pub times: PhaseTimes,
}

/// The weights a validator revealed in an epoch, if any.
type Revealed = Option<Vec<(u16, u16)>>;

/// One task as issued.
#[derive(Debug, Clone)]
struct Assignment {
    validator: usize,
    miner: usize,
    index: u32,
    task: TaskSpec,
    issued_ms: u64,
}

/// A task, the claim made for it (`None` for copiers until resolved), and its simulated start
/// and finish (ms).
type Worked = (Assignment, Option<Claim>, u64, u64);

/// One executed task.
#[derive(Debug, Clone)]
struct Done {
    assignment: Assignment,
    receipt: SignedReceipt,
}

/// A validator's per-epoch outcome of phase 4.
#[derive(Debug)]
struct Checked {
    batch: CommittedBatch,
    receipts: u32,
    bad_signatures: u32,
    spot_checked: u32,
    per_miner: BTreeMap<usize, MinerTally>,
    proofs: Vec<(usize, Digest, FraudProof)>,
    signatures_cpu: Duration,
    reexecution_cpu: Duration,
    /// Whether this validator re-executes anything.
    checks: bool,
    /// Per miner index: (valid receipts, receipts its behaviour made wrong).
    exposure: BTreeMap<usize, (u32, u32)>,
    /// Compute units re-executed.
    reexecuted_units: u64,
}

/// Maps `f` over `items` on up to `threads` scoped threads (item `i` on thread `i % threads`),
/// returning results in input order: the output never depends on the thread count.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, x)| (i, f(x)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut all: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Looks up `items[i]`, an index the engine built itself.
fn at<'a, T>(items: &'a [T], i: usize, what: &str) -> Result<&'a T> {
    items
        .get(i)
        .ok_or_else(|| Error::InvalidArgument(format!("{what} index {i} out of range")))
}

impl Subnet {
    /// Builds the subnet: keys, behaviours (miners shuffled by the seed), stakes, weights pool.
    ///
    /// # Errors
    /// [`Error::Scenario`] for a scenario that breaks a rule.
    pub fn new(scenario: Scenario) -> Result<Self> {
        scenario.validate()?;
        let seed = scenario.seed.to_le_bytes();
        let network = NetworkId(derive("network", &[&seed]));
        let vb = scenario.validator_behaviours();
        let nv = vb.len();
        let ema_alpha = scenario.ema_alpha_q32();
        let validators = vb
            .iter()
            .enumerate()
            .map(|(i, &(behaviour, stake))| {
                let key = SigningKey::from_seed(&derive(
                    "validator-key",
                    &[&seed, &(i as u64).to_le_bytes()],
                ));
                Ok(SimValidator {
                    uid: i as u16,
                    role: Validator::new(key, ema_alpha)?,
                    behaviour,
                    stake,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut behaviours = scenario.miner_behaviours();
        DetRng::new("miner-order", &[&seed]).shuffle(&mut behaviours);
        let colluder_target = if scenario.validators.colluder > 0 {
            Some(
                scenario
                    .colluder_target_in(&behaviours)
                    .map_err(|e| Error::Scenario(format!("validators.colluder_target: {e}")))?,
            )
        } else {
            None
        };
        let nm = behaviours.len();
        let miners = behaviours
            .iter()
            .enumerate()
            .map(|(i, &behaviour)| {
                let key = SigningKey::from_seed(&derive(
                    "miner-key",
                    &[&seed, &(i as u64).to_le_bytes()],
                ));
                // A copier copies the next miner (cyclically) that is not itself a copier.
                let copy_from = (behaviour == MinerBehaviour::Copier)
                    .then(|| {
                        (1..nm).map(|d| (i + d) % nm).find(|&j| {
                            behaviours
                                .get(j)
                                .is_some_and(|b| *b != MinerBehaviour::Copier)
                        })
                    })
                    .flatten();
                SimMiner {
                    uid: (nv + i) as u16,
                    role: Miner::new(key),
                    behaviour,
                    copy_from,
                }
            })
            .collect::<Vec<_>>();
        let n = nv + nm;
        let pool = WeightPool::generate(scenario.seed, &scenario.tasks)?;
        let permits = (0..n).map(|i| i < nv).collect();
        Ok(Self {
            beacon: derive("beacon", &[&seed]),
            network,
            validators,
            miners,
            colluder_target,
            pool,
            stored_weights: vec![Vec::new(); n],
            last_update: vec![0; n],
            bonds: vec![Vec::new(); n],
            permits,
            previous_consensus: None,
            next_epoch: 0,
            scenario,
        })
    }

    /// The public weight matrices of the subnet.
    #[must_use]
    pub fn weight_pool(&self) -> &WeightPool {
        &self.pool
    }

    /// The consensus (u16 per uid) of the last Yuma epoch, if one ran.
    #[must_use]
    pub fn previous_consensus(&self) -> Option<&[u16]> {
        self.previous_consensus.as_deref()
    }

    /// The epoch the next [`Subnet::step`] runs.
    #[must_use]
    pub fn next_epoch(&self) -> u64 {
        self.next_epoch
    }

    fn ctx(&self, epoch: u64, beacon: [u8; 32]) -> TaskContext {
        TaskContext {
            network: self.network,
            subnet: SubnetId(self.scenario.subnet),
            epoch,
            beacon,
        }
    }

    /// Advances one epoch with `threads` worker threads (0 counts as 1); `clock` only times
    /// the phases.
    ///
    /// # Errors
    /// Kernel, protocol or emission errors; none is expected for a valid scenario.
    pub fn step(&mut self, threads: usize, clock: &dyn Clock) -> Result<EpochOutcome> {
        let e = self.next_epoch;
        let mut times = PhaseTimes::default();
        let t0 = clock.now();

        // 1. Beacon.
        self.beacon = derive("beacon-step", &[&self.beacon, &e.to_le_bytes()]);
        let beacon = self.beacon;

        // 2-3. Issue and execute.
        let by_miner = self.issue(e, beacon)?;
        let n_tasks: u64 = by_miner.iter().map(|v| v.len() as u64).sum();
        let done = self.execute(&by_miner, beacon, threads)?;
        times.work = clock.now().saturating_sub(t0);

        // 4. Check, per validator in parallel.
        let t1 = clock.now();
        let mut per_validator: Vec<Vec<&Done>> = vec![Vec::new(); self.validators.len()];
        for d in done.iter().flatten() {
            if let Some(list) = per_validator.get_mut(d.assignment.validator) {
                list.push(d);
            }
        }
        let vidx: Vec<usize> = (0..self.validators.len()).collect();
        let checked: Vec<Result<Checked>> = par_map(&vidx, threads, |&vi| {
            self.check(
                vi,
                e,
                &beacon,
                per_validator.get(vi).map_or(&[][..], |v| v),
                clock,
            )
        });
        let checked: Vec<Checked> = checked.into_iter().collect::<Result<_>>()?;

        // 5. Every fraud proof is checked once by the network (re-execution from the file alone).
        let all_proofs: Vec<(usize, usize, Digest, &FraudProof)> = checked
            .iter()
            .enumerate()
            .flat_map(|(vi, c)| c.proofs.iter().map(move |(mi, id, p)| (vi, *mi, *id, p)))
            .collect();
        let t_audit = clock.now();
        let holds: Vec<bool> = par_map(&all_proofs, threads, |(_, _, _, p)| p.check().is_ok());
        times.audit = clock.now().saturating_sub(t_audit);
        times.verify = clock.now().saturating_sub(t1);
        times.signatures_cpu = checked.iter().map(|c| c.signatures_cpu).sum();
        times.reexecution_cpu = checked.iter().map(|c| c.reexecution_cpu).sum();

        // 6. Bans, scores, commit-reveal; 7. Yuma.
        let t2 = clock.now();
        let ban_until = e.saturating_add(self.scenario.scoring.fraud_ban_epochs);
        for ((_, mi, _, _), ok) in all_proofs.iter().zip(&holds) {
            if !ok {
                continue;
            }
            let miner = at(&self.miners, *mi, "miner")?.role.hotkey();
            for v in self.validators.iter_mut() {
                let ignores = v.behaviour == ValidatorBehaviour::WeightCopier
                    || (v.behaviour == ValidatorBehaviour::Colluder
                        && Some(*mi) == self.colluder_target);
                if !ignores {
                    v.role.ban(miner, ban_until);
                }
            }
        }
        let (commitments, mut revealed) = self.settle(e, &checked)?;
        let out = self.run_yuma(e)?;
        times.emission = clock.now().saturating_sub(t2);

        // The record.
        let mut miners = Vec::with_capacity(self.miners.len());
        for (mi, m) in self.miners.iter().enumerate() {
            let mut t = MinerTally::default();
            for c in &checked {
                if let Some(x) = c.per_miner.get(&mi) {
                    t.add(x);
                }
            }
            let u = usize::from(m.uid);
            let incentive = out.incentive.get(u).copied().unwrap_or(0);
            let exposure: Vec<(u32, u32)> = checked
                .iter()
                .filter(|c| c.checks)
                .filter_map(|c| c.exposure.get(&mi).copied())
                .collect();
            let cheated = checked
                .iter()
                .filter_map(|c| c.exposure.get(&mi))
                .map(|x| x.1)
                .sum();
            miners.push(MinerRecord {
                uid: m.uid,
                tasks: t.tasks,
                verified: t.verified,
                caught: t.mismatched,
                unchecked: t.unchecked,
                rejected: t.rejected,
                compute_units: t.units,
                median_latency_ms: t.median_latency_ms(),
                incentive,
                incentive_share: q32_share(incentive),
                emission_rao: out.server_emission.get(u).copied().unwrap_or(0),
                cheated,
                detection_probability: detection_probability(
                    &exposure,
                    self.scenario.scoring.spot_check_rate,
                    self.scenario.scoring.min_checks_per_miner,
                ),
            });
        }
        let nv = self.validators.len();
        let mut validators = Vec::with_capacity(nv);
        let mut artifacts = Artifacts::default();
        let mut batch_files = Vec::with_capacity(nv);
        for ((v, c), (commitment, revealed)) in self
            .validators
            .iter()
            .zip(&checked)
            .zip(commitments.into_iter().zip(revealed.iter_mut()))
        {
            let u = usize::from(v.uid);
            let file = format!("epoch-{e:04}-validator-{:03}.bin", v.uid);
            artifacts
                .batches
                .push((file.clone(), c.batch.bytes.clone()));
            batch_files.push(file);
            let dividends = out.dividends.get(u).copied().unwrap_or(0);
            validators.push(ValidatorRecord {
                uid: v.uid,
                receipt_root: c.batch.root,
                receipts: c.receipts,
                bad_signatures: c.bad_signatures,
                spot_checked: c.spot_checked,
                mismatches: c.proofs.len() as u32,
                weights_commitment: commitment,
                weights_revealed: revealed.take(),
                dividends,
                dividend_share: q32_share(dividends),
                vtrust: out.validator_trust_u16.get(u).copied().unwrap_or(0),
                emission_rao: out.validator_emission.get(u).copied().unwrap_or(0),
                credited_units: c.per_miner.values().map(|t| t.units).sum(),
                checking_units: u64::from(c.receipts)
                    .saturating_mul(self.scenario.timing.signature_check_units)
                    .saturating_add(c.reexecuted_units),
            });
        }
        let mut fraud_proofs = Vec::with_capacity(all_proofs.len());
        for ((vi, mi, id, proof), ok) in all_proofs.iter().zip(&holds) {
            let vu = at(&self.validators, *vi, "validator")?.uid;
            let mu = at(&self.miners, *mi, "miner")?.uid;
            let short: String = id.to_string().chars().take(12).collect();
            let file = format!("epoch-{e:04}-validator-{vu:03}-miner-{mu:03}-{short}.json");
            artifacts.proofs.push((file.clone(), proof.to_json()?));
            fraud_proofs.push(ProofRecord {
                file,
                validator: vu,
                miner: mu,
                receipt_id: *id,
                holds: *ok,
            });
        }
        self.next_epoch += 1;
        let tempo = self.scenario.emission.tempo;
        let record = EpochRecord {
            epoch: e,
            block: (e + 1) * tempo,
            beacon: Digest(beacon),
            tasks: n_tasks,
            validators,
            miners,
            fraud_proofs,
            receipt_batches: batch_files,
        };
        Ok(EpochOutcome {
            record,
            artifacts,
            times,
        })
    }

    /// Phase 2: the epoch's tasks, grouped per miner, each miner's in issue order.
    fn issue(&self, e: u64, beacon: [u8; 32]) -> Result<Vec<Vec<Assignment>>> {
        let s = &self.scenario;
        let epoch_ms = s.emission.tempo.saturating_mul(s.timing.block_ms);
        let epoch_start = s
            .timing
            .genesis_ms
            .saturating_add(e.saturating_mul(epoch_ms));
        let per = s.tasks.per_miner;
        let nv = self.validators.len() as u64;
        let slots = nv * u64::from(per);
        let gap = epoch_ms / slots.max(1) / 2;
        let mut by_miner: Vec<Vec<Assignment>> = Vec::with_capacity(self.miners.len());
        for (mi, m) in self.miners.iter().enumerate() {
            let mut list = Vec::with_capacity(self.validators.len() * per as usize);
            for index in 0..per {
                for (vi, v) in self.validators.iter().enumerate() {
                    let slot = u64::from(index) * nv + vi as u64;
                    let task = issue_task(
                        &s.tasks,
                        &self.pool,
                        self.ctx(e, beacon),
                        &v.role.hotkey(),
                        &m.role.hotkey(),
                        index,
                    )?;
                    list.push(Assignment {
                        validator: vi,
                        miner: mi,
                        index,
                        task,
                        issued_ms: epoch_start + slot * gap,
                    });
                }
            }
            by_miner.push(list);
        }
        Ok(by_miner)
    }

    /// Phase 3: every non-copier miner works in parallel, then copiers take their sources'
    /// claims; every miner signs its receipts through the miner role.
    fn execute(
        &self,
        by_miner: &[Vec<Assignment>],
        beacon: [u8; 32],
        threads: usize,
    ) -> Result<Vec<Vec<Done>>> {
        let s = &self.scenario;
        let idx: Vec<usize> = (0..self.miners.len()).collect();
        let worked: Vec<Result<Vec<Worked>>> = par_map(&idx, threads, |&mi| {
            let miner = at(&self.miners, mi, "miner")?;
            let mut free_at = 0u64;
            let list = at(by_miner, mi, "miner")?;
            let mut out = Vec::with_capacity(list.len());
            for a in list {
                let units = a.task.compute_units()?;
                let coord = derive(
                    "coord",
                    &[
                        &beacon,
                        &(mi as u64).to_le_bytes(),
                        &(a.validator as u64).to_le_bytes(),
                        &a.index.to_le_bytes(),
                    ],
                );
                let claim = execute_as(miner.behaviour, &self.pool, &a.task, &coord)?;
                let start = a.issued_ms.max(free_at);
                let finish = start + latency_ms(s, miner.behaviour, units, &coord);
                if miner.behaviour != MinerBehaviour::Copier {
                    free_at = finish;
                }
                out.push((a.clone(), claim, start, finish));
            }
            Ok(out)
        });
        let worked: Vec<Vec<Worked>> = worked.into_iter().collect::<Result<_>>()?;
        let label = BackendLabel::new(BACKEND_LABEL)?;
        let signed: Vec<Result<Vec<Done>>> = par_map(&idx, threads, |&mi| {
            let miner = at(&self.miners, mi, "miner")?;
            at(&worked, mi, "miner")?
                .iter()
                .map(|(a, claim, start, finish)| {
                    let (claim, start, finish) = match (claim, miner.copy_from) {
                        (Some(c), _) => (*c, *start, *finish),
                        (None, Some(src)) => {
                            let (_, c, _, f) = at(&worked, src, "copier source")?
                                .iter()
                                .find(|(b, ..)| b.validator == a.validator && b.index == a.index)
                                .ok_or_else(|| {
                                    Error::InvalidArgument("copier: source task missing".into())
                                })?;
                            let c = c.ok_or_else(|| {
                                Error::InvalidArgument("copier: source is a copier".into())
                            })?;
                            (
                                c,
                                a.issued_ms,
                                (*f).max(a.issued_ms) + s.timing.copier_delay_ms,
                            )
                        }
                        (None, None) => {
                            return Err(Error::InvalidArgument("copier without a source".into()));
                        }
                    };
                    let assigner = at(&self.validators, a.validator, "validator")?
                        .role
                        .hotkey();
                    let receipt = miner.role.sign(
                        &a.task,
                        claim,
                        ReceiptFields {
                            assigner,
                            nonce: u64::from(a.index),
                            started_at_ms: start,
                            finished_at_ms: finish,
                            backend: label.clone(),
                        },
                    )?;
                    Ok(Done {
                        assignment: a.clone(),
                        receipt,
                    })
                })
                .collect()
        });
        signed.into_iter().collect()
    }

    /// Phase 4 for validator `vi`: commit, verify signatures, sample, re-execute, judge.
    fn check(
        &self,
        vi: usize,
        e: u64,
        beacon: &[u8; 32],
        got: &[&Done],
        clock: &dyn Clock,
    ) -> Result<Checked> {
        let v = at(&self.validators, vi, "validator")?;
        let hotkey = v.role.hotkey();
        let receipts: Vec<SignedReceipt> = got.iter().map(|d| d.receipt.clone()).collect();
        let batch = v.role.commit_batch(
            self.network,
            SubnetId(self.scenario.subnet),
            Epoch(e),
            receipts,
        )?;
        let sig_seed = derive("batch-verify", &[beacon, hotkey.as_bytes()]);
        let t_sig = clock.now();
        let sigs = v.role.verify_batch(&batch, &sig_seed);
        let signatures_cpu = clock.now().saturating_sub(t_sig);

        // The sample is fixed only now, after the root.
        let seed = sample_seed(beacon, &batch.root, &hotkey);
        let rate = self.scenario.scoring.spot_check_rate;
        let min_checks = self.scenario.scoring.min_checks_per_miner;
        let checks =
            v.behaviour != ValidatorBehaviour::WeightCopier && (rate > 0.0 || min_checks > 0);
        let mut by_miner: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut out = Checked {
            receipts: got.len() as u32,
            bad_signatures: 0,
            spot_checked: 0,
            per_miner: BTreeMap::new(),
            proofs: Vec::new(),
            signatures_cpu,
            reexecution_cpu: Duration::ZERO,
            batch,
            checks,
            exposure: BTreeMap::new(),
            reexecuted_units: 0,
        };
        for (i, (d, sig)) in got.iter().zip(&sigs).enumerate() {
            let tally = out.per_miner.entry(d.assignment.miner).or_default();
            tally.tasks += 1;
            let valid = sig.is_ok() && d.receipt.body.check_task(&d.assignment.task).is_ok();
            if !valid {
                if sig.is_err() {
                    out.bad_signatures += 1;
                }
                tally.rejected += 1;
                continue;
            }
            by_miner.entry(d.assignment.miner).or_default().push(i);
            let behaviour = at(&self.miners, d.assignment.miner, "miner")?.behaviour;
            let wrong = match behaviour {
                MinerBehaviour::Lazy | MinerBehaviour::Copier => true,
                MinerBehaviour::Sloppy => d.assignment.task.kernel == KernelId::Attention,
                MinerBehaviour::Honest | MinerBehaviour::Slow => false,
            };
            let x = out.exposure.entry(d.assignment.miner).or_default();
            x.0 += 1;
            x.1 += u32::from(wrong);
        }
        let mut sampled = vec![false; got.len()];
        if checks {
            for list in by_miner.values() {
                for i in sample(&seed, &out.batch.ids, list, rate, min_checks) {
                    if let Some(s) = sampled.get_mut(i) {
                        *s = true;
                    }
                }
            }
        }
        for list in by_miner.values() {
            for &i in list {
                let d = *at(got, i, "receipt")?;
                let tally = out.per_miner.entry(d.assignment.miner).or_default();
                tally.latencies.push(
                    d.receipt
                        .body
                        .finished_at_ms
                        .saturating_sub(d.assignment.issued_ms),
                );
                if !sampled.get(i).copied().unwrap_or(false) {
                    tally.unchecked += 1;
                    tally.units += d.receipt.body.compute_units;
                    continue;
                }
                out.spot_checked += 1;
                out.reexecuted_units = out
                    .reexecuted_units
                    .saturating_add(d.receipt.body.compute_units);
                let t_exec = clock.now();
                let weights = self
                    .pool
                    .find(&d.assignment.task)
                    .map(|w| w.bytes.as_slice());
                let truth = v
                    .role
                    .reexecute(&d.assignment.task, weights, Backend::Auto, 1)?;
                out.reexecution_cpu += clock.now().saturating_sub(t_exec);
                let id = *at(&out.batch.ids, i, "receipt")?;
                let verdict = v.role.judge(id, &d.receipt, truth)?;
                if verdict.body.outcome == Outcome::Match {
                    tally.verified += 1;
                    tally.units += d.receipt.body.compute_units;
                } else {
                    tally.mismatched += 1;
                    let weights = self.pool.find(&d.assignment.task).map(|w| w.source());
                    let note = format!(
                        "epoch {e}: validator uid {} re-executed the task of miner uid {} and got another output commitment",
                        v.uid,
                        at(&self.miners, d.assignment.miner, "miner")?.uid
                    );
                    let proof = v.role.fraud_proof(
                        &out.batch,
                        i,
                        &d.assignment.task,
                        &verdict,
                        weights,
                        note,
                    )?;
                    out.proofs.push((d.assignment.miner, id, proof));
                }
            }
        }
        Ok(out)
    }

    /// Phase 6: each validator's weights, their commitments, and the reveals due this epoch.
    /// Returns the commitments (hex) and the revealed weights per validator.
    fn settle(&mut self, e: u64, checked: &[Checked]) -> Result<(Vec<String>, Vec<Revealed>)> {
        let params = ScoreParams {
            latency_target_ms: self.scenario.scoring.latency_target_ms,
        };
        let tempo = self.scenario.emission.tempo;
        let reveal_block = e * tempo + tempo / 2 + 1;
        let delay = self.scenario.scoring.reveal_delay_epochs;
        let nv = self.validators.len();
        let mut commitments = Vec::with_capacity(nv);
        let mut revealed: Vec<Revealed> = vec![None; nv];
        for (vi, c) in checked.iter().enumerate() {
            let weights = self.weights_for(vi, e, c, &params)?;
            let run_seed = self.scenario.seed.to_le_bytes();
            let subnet = SubnetId(self.scenario.subnet);
            let Some(v) = self.validators.get_mut(vi) else {
                continue;
            };
            // spec/scoring.md §4 asks for a fresh random salt per commitment; the simulation
            // derives it from the run seed instead, so that a seed reproduces the whole log. (A
            // real validator's seed is secret, which is what keeps its weights hidden.)
            let salt = derive(
                "salt",
                &[&run_seed, v.role.hotkey().as_bytes(), &e.to_le_bytes()],
            );
            let commit = v.role.commit_weights(subnet, Epoch(e), weights, salt)?;
            commitments.push(hex::encode(commit.commitment));
            for p in v.role.due_reveals(e, delay) {
                verify_reveal(&p.commit, &p.reveal)?;
                let u = usize::from(v.uid);
                if !p.reveal.weights.is_empty() {
                    if let Some(w) = self.stored_weights.get_mut(u) {
                        w.clone_from(&p.reveal.weights);
                    }
                    if let Some(l) = self.last_update.get_mut(u) {
                        *l = reveal_block;
                    }
                }
                if let Some(r) = revealed.get_mut(vi) {
                    *r = Some(p.reveal.weights);
                }
            }
        }
        Ok((commitments, revealed))
    }

    /// Phase 6 for validator `vi`: the weights it commits this epoch.
    fn weights_for(
        &mut self,
        vi: usize,
        e: u64,
        c: &Checked,
        params: &ScoreParams,
    ) -> Result<Vec<(u16, u16)>> {
        let target = self.colluder_target;
        let miners: Vec<(usize, u16, Hotkey)> = self
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| (i, m.uid, m.role.hotkey()))
            .collect();
        let previous = self.previous_consensus.clone();
        let Some(v) = self.validators.get_mut(vi) else {
            return Ok(Vec::new());
        };
        if v.behaviour == ValidatorBehaviour::WeightCopier {
            let Some(prev) = previous else {
                return Ok(Vec::new());
            };
            let scores: Vec<(u16, u64)> = miners
                .iter()
                .map(|&(_, uid, _)| {
                    (
                        uid,
                        u64::from(prev.get(usize::from(uid)).copied().unwrap_or(0)),
                    )
                })
                .collect();
            return Ok(weights_from_scores(&scores)?);
        }
        let scores: Vec<(u16, u64)> = miners
            .iter()
            .map(|(mi, uid, hk)| {
                let sc = match c.per_miner.get(mi) {
                    Some(t) if !v.role.is_banned(hk, e) => score(&t.result(*uid), params),
                    _ => 0,
                };
                (*uid, sc)
            })
            .collect();
        v.role.update_scores(&scores)?;
        let mut weights = v.role.weights(|uid| {
            miners
                .iter()
                .any(|(_, u, hk)| *u == uid && !v.role.is_banned(hk, e))
        })?;
        if v.behaviour == ValidatorBehaviour::Colluder
            && let Some(t) = target
            && let Some(&(_, uid, _)) = miners.get(t)
        {
            weights.retain(|(u, _)| *u != uid);
            let pos = weights.partition_point(|(u, _)| *u < uid);
            weights.insert(pos, (uid, u16::MAX));
        }
        Ok(weights)
    }

    /// Phase 7: the Yuma epoch over the stored (revealed) weights.
    fn run_yuma(&mut self, e: u64) -> Result<EpochOutput> {
        let em = &self.scenario.emission;
        let n = self.validators.len() + self.miners.len();
        let mut stake = vec![0u64; n];
        for v in &self.validators {
            if let Some(s) = stake.get_mut(usize::from(v.uid)) {
                *s = v.stake;
            }
        }
        let input = EpochInput {
            n: n as u16,
            current_block: (e + 1) * em.tempo,
            tempo: em.tempo,
            activity_cutoff: em.activity_cutoff,
            last_mechanism_step_block: e * em.tempo,
            last_update: self.last_update.clone(),
            block_at_registration: vec![0; n],
            stake,
            tao_stake: None,
            tao_weight: 0,
            stake_threshold: 0,
            owner_uid: None,
            validator_permit: self.permits.clone(),
            max_allowed_validators: em.max_allowed_validators,
            weights: self.stored_weights.clone(),
            bonds: self.bonds.clone(),
            commit_reveal_enabled: false,
            commit_blocks: None,
            kappa: em.kappa,
            bonds_penalty: em.bonds_penalty,
            bonds_moving_average: em.bonds_moving_average,
            yuma3: em.yuma3,
            liquid_alpha: em.liquid_alpha,
            alpha_low: em.alpha_low,
            alpha_high: em.alpha_high,
            alpha_sigmoid_steepness: em.alpha_sigmoid_steepness,
            liquid_alpha_consensus_mode: Default::default(),
            previous_consensus: self.previous_consensus.clone(),
            rao_emission: em.rao_per_epoch,
        };
        let out = yuma_epoch(&input)?;
        self.bonds.clone_from(&out.new_bonds);
        self.permits.clone_from(&out.new_validator_permit);
        self.previous_consensus = Some(out.consensus_u16.clone());
        Ok(out)
    }
}

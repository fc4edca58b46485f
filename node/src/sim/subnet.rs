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
use mycel_protocol::receipt::{BackendLabel, SignedReceipt};
use mycel_protocol::scoring::{
    CommitOutcome, CommitRevealBook, RevealOutcome, ScoreParams, SlotOutcome, score,
    weights_from_scores,
};
use mycel_protocol::task::{AttnMode, KernelId, KernelParams, TaskSpec};

use super::log::{
    Artifacts, EpochRecord, MinerRecord, PhaseTimes, ProofRecord, ValidatorRecord, q32_share,
};
use super::scenario::{MinerBehaviour, Scenario, ValidatorBehaviour};
use super::work::{execute_as, fakes, latency_ms};
use crate::error::{Error, Result};
use crate::fraud::FraudProof;
use crate::miner::{Claim, Miner, ReceiptFields};
use crate::rng::{DetRng, derive};
use crate::validator::intake::{IssuedTask, IssuedTasks, Rejection};
use crate::validator::sample::{detection_probability, rate_ppm, sample, sample_seed};
use crate::validator::score::MinerTally;
use crate::validator::tasks::{TaskContext, WeightPool, issue_task};
use crate::validator::{CommittedBatch, Judgement, Validator};

pub mod hosted;

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
    /// The chain's weight book: the one accepted commitment per slot, and the reveals.
    weight_book: CommitRevealBook,
    /// A double dipper's receipts of the last epoch, replayed this epoch: (validator, receipt,
    /// arrival).
    replays: Vec<(usize, SignedReceipt, u64)>,
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

/// One executed task: the receipt and when the validator sees it arrive.
#[derive(Debug, Clone)]
struct Done {
    assignment: Assignment,
    receipt: SignedReceipt,
    arrived_ms: u64,
}

/// A receipt as a validator receives it: the bytes and the validator's own arrival time.
#[derive(Debug, Clone)]
struct Delivery {
    receipt: SignedReceipt,
    arrived_ms: u64,
}

/// Phase 2's output: each miner's assignments, and each validator's book of issued tasks.
#[derive(Debug)]
struct Issued {
    by_miner: Vec<Vec<Assignment>>,
    books: Vec<IssuedTasks>,
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
    rejections: BTreeMap<String, u32>,
    signatures_cpu: Duration,
    reexecution_cpu: Duration,
    /// Whether this validator re-executes anything.
    checks: bool,
    /// Per miner index: (admitted verifiable receipts, receipts its behaviour made wrong).
    exposure: BTreeMap<usize, (u32, u32)>,
    /// Compute units re-executed.
    reexecuted_units: u64,
}

/// One validator's tallies as the miner records read them (simulation: its `Checked`;
/// hosted nodes: its gossiped summary).
#[derive(Debug, Clone, Copy)]
struct TallyView<'a> {
    per_miner: &'a BTreeMap<usize, MinerTally>,
    exposure: &'a BTreeMap<usize, (u32, u32)>,
    checks: bool,
}

/// What the chain-side weight book did with one validator's commitments and reveal.
#[derive(Debug, Clone, Default)]
struct Settled {
    commitment: String,
    revealed: Revealed,
    reveal: String,
    equivocations: u32,
}

/// Maps `f` over `items` on up to `threads` scoped threads (item `i` on thread `i % threads`),
/// returning results in input order: the output never depends on the thread count. A worker
/// that panics becomes [`Error::WorkerPanicked`] with its message, never a panic here.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return Ok(items.iter().map(&f).collect());
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
            .map(|h| {
                h.join().map_err(|p| {
                    let msg = p
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a worker thread panicked".into());
                    Error::WorkerPanicked(msg)
                })
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut all: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// Looks up `items[i]`, an index the engine built itself.
fn at<'a, T>(items: &'a [T], i: usize, what: &str) -> Result<&'a T> {
    items
        .get(i)
        .ok_or_else(|| Error::InvalidArgument(format!("{what} index {i} out of range")))
}

fn is_fast(task: &TaskSpec) -> bool {
    matches!(
        task.params,
        KernelParams::Attention {
            mode: AttnMode::Fast,
            ..
        }
    )
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
            weight_book: CommitRevealBook::default(),
            replays: Vec::new(),
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

        // 2. Issue tasks; each validator commits to its sample secret before any receipt.
        let issued = self.issue(e, beacon)?;
        let n_tasks: u64 = issued.by_miner.iter().map(|v| v.len() as u64).sum();
        let secrets = self.sample_secrets(e);

        // 3. Execute, sign, deliver (misbehaving miners add their copies, replays and grinding).
        let done = self.execute(&issued.by_miner, beacon, threads)?;
        let inboxes = self.deliver(&done)?;
        let inboxes = self.grind(inboxes, e, beacon)?;
        times.work = clock.now().saturating_sub(t0);

        // 4. Check, per validator in parallel.
        let t1 = clock.now();
        let vidx: Vec<usize> = (0..self.validators.len()).collect();
        let checked: Vec<Result<Checked>> = par_map(&vidx, threads, |&vi| {
            let secret = secrets.get(vi).copied().unwrap_or([0; 32]);
            let book = at(&issued.books, vi, "validator")?;
            let inbox = at(&inboxes, vi, "validator")?;
            self.check(vi, e, &beacon, &secret, book.clone(), inbox, clock)
        })?;
        let mut checked: Vec<Checked> = checked.into_iter().collect::<Result<_>>()?;
        self.frame(e, &issued.books, &mut checked)?;

        // 5. Every fraud proof is checked once by the network (re-execution from the file alone).
        let all_proofs: Vec<(usize, usize, Digest, &FraudProof)> = checked
            .iter()
            .enumerate()
            .flat_map(|(vi, c)| c.proofs.iter().map(move |(mi, id, p)| (vi, *mi, *id, p)))
            .collect();
        let t_audit = clock.now();
        let verdicts: Vec<core::result::Result<(), String>> =
            par_map(&all_proofs, threads, |(_, _, _, p)| {
                p.check()
                    .map(|_| ())
                    .map_err(|e| format!("{}: {e}", e.code()))
            })?;
        times.audit = clock.now().saturating_sub(t_audit);
        times.verify = clock.now().saturating_sub(t1);
        times.signatures_cpu = checked.iter().map(|c| c.signatures_cpu).sum();
        times.reexecution_cpu = checked.iter().map(|c| c.reexecution_cpu).sum();

        // 6. Bans, scores, commit-reveal; 7. Yuma.
        let t2 = clock.now();
        let ban_until = e.saturating_add(self.scenario.scoring.fraud_ban_epochs);
        for ((_, mi, _, _), verdict) in all_proofs.iter().zip(&verdicts) {
            if verdict.is_err() {
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
        let mut settled = self.settle(e, &checked)?;
        let out = self.run_yuma(e)?;
        times.emission = clock.now().saturating_sub(t2);

        // The record.
        let views: Vec<TallyView<'_>> = checked
            .iter()
            .map(|c| TallyView {
                per_miner: &c.per_miner,
                exposure: &c.exposure,
                checks: c.checks,
            })
            .collect();
        let miners = self.miner_records(&views, &out);
        let nv = self.validators.len();
        let mut validators = Vec::with_capacity(nv);
        let mut artifacts = Artifacts::default();
        let mut batch_files = Vec::with_capacity(nv);
        for ((v, c), st) in self.validators.iter().zip(&checked).zip(settled.iter_mut()) {
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
                weights_commitment: core::mem::take(&mut st.commitment),
                weights_revealed: st.revealed.take(),
                reveal: core::mem::take(&mut st.reveal),
                equivocations: st.equivocations,
                rejections: c.rejections.clone(),
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
        for ((vi, mi, id, proof), verdict) in all_proofs.iter().zip(&verdicts) {
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
                holds: verdict.is_ok(),
                refused: verdict.clone().err(),
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

    /// Each validator's sample secret for epoch `e`. A real validator draws it at random and
    /// publishes only its commitment before receipts arrive; the simulation derives it from the
    /// run seed so that a seed reproduces the run. With `scoring.sample_secret = false` it is
    /// all zeros: the pre-fix rule, where anyone (a grinding miner) can predict the sample.
    fn sample_secrets(&self, e: u64) -> Vec<[u8; 32]> {
        let seed = self.scenario.seed.to_le_bytes();
        self.validators
            .iter()
            .map(|v| {
                if self.scenario.scoring.sample_secret {
                    derive(
                        "sample-secret",
                        &[&seed, v.role.hotkey().as_bytes(), &e.to_le_bytes()],
                    )
                } else {
                    [0; 32]
                }
            })
            .collect()
    }

    /// Phase 2: the epoch's tasks, grouped per miner, each miner's in issue order, and each
    /// validator's book of what it issued.
    fn issue(&self, e: u64, beacon: [u8; 32]) -> Result<Issued> {
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
        let subnet = SubnetId(s.subnet);
        let mut books: Vec<IssuedTasks> = self
            .validators
            .iter()
            .map(|_| IssuedTasks::new(self.network, subnet, Epoch(e)))
            .collect();
        let mut by_miner: Vec<Vec<Assignment>> = Vec::with_capacity(self.miners.len());
        for (mi, m) in self.miners.iter().enumerate() {
            let mut list = Vec::with_capacity(self.validators.len() * per as usize);
            for index in 0..per {
                for ((vi, v), book) in self.validators.iter().enumerate().zip(books.iter_mut()) {
                    let slot = u64::from(index) * nv + vi as u64;
                    let task = issue_task(
                        &s.tasks,
                        &self.pool,
                        self.ctx(e, beacon),
                        &v.role.hotkey(),
                        &m.role.hotkey(),
                        index,
                    )?;
                    let issued_ms = epoch_start + slot * gap;
                    book.issue(m.role.hotkey(), task, issued_ms)?;
                    list.push(Assignment {
                        validator: vi,
                        miner: mi,
                        index,
                        task,
                        issued_ms,
                    });
                }
            }
            by_miner.push(list);
        }
        Ok(Issued { by_miner, books })
    }

    /// Phase 3: every non-copier miner works in parallel, then copiers take their sources'
    /// claims; every miner signs its receipts through the miner role. A clock liar signs
    /// `finished = started`; the validator sees the receipt arrive at the true finish.
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
                let claim = execute_as(miner.behaviour, &self.pool, &a.task, a.index, &coord)?;
                let start = a.issued_ms.max(free_at);
                let finish = start + latency_ms(s, miner.behaviour, units, &coord);
                if miner.behaviour != MinerBehaviour::Copier {
                    free_at = finish;
                }
                out.push((a.clone(), claim, start, finish));
            }
            Ok(out)
        })?;
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
                    let signed_finish = if miner.behaviour == MinerBehaviour::ClockLiar {
                        start
                    } else {
                        finish
                    };
                    let receipt = miner.role.sign(
                        &a.task,
                        claim,
                        ReceiptFields {
                            assigner,
                            nonce: u64::from(a.index),
                            started_at_ms: start,
                            finished_at_ms: signed_finish,
                            backend: label.clone(),
                        },
                    )?;
                    Ok(Done {
                        assignment: a.clone(),
                        receipt,
                        arrived_ms: finish,
                    })
                })
                .collect()
        })?;
        signed.into_iter().collect()
    }

    /// Delivers receipts to their assigners' inboxes, in miner order. A double dipper also
    /// re-signs each receipt with a fresh nonce for the same validator, re-addresses it to every
    /// other validator, and replays the previous epoch's receipts; all of these come last.
    fn deliver(&mut self, done: &[Vec<Done>]) -> Result<Vec<Vec<Delivery>>> {
        let nv = self.validators.len();
        let mut inboxes: Vec<Vec<Delivery>> = vec![Vec::new(); nv];
        let mut extras: Vec<Vec<Delivery>> = vec![Vec::new(); nv];
        let mut replays = Vec::new();
        for d in done.iter().flatten() {
            let to = d.assignment.validator;
            if let Some(inbox) = inboxes.get_mut(to) {
                inbox.push(Delivery {
                    receipt: d.receipt.clone(),
                    arrived_ms: d.arrived_ms,
                });
            }
            let miner = at(&self.miners, d.assignment.miner, "miner")?;
            if miner.behaviour != MinerBehaviour::DoubleDipper {
                continue;
            }
            for (vi, v) in self.validators.iter().enumerate() {
                let mut body = d.receipt.body.clone();
                body.nonce = body.nonce.wrapping_add(1 << 40);
                if vi != to {
                    body.assigner = v.role.hotkey();
                }
                let receipt = miner.role.sign_body(body)?;
                if let Some(x) = extras.get_mut(vi) {
                    x.push(Delivery {
                        receipt,
                        arrived_ms: d.arrived_ms,
                    });
                }
            }
            replays.push((to, d.receipt.clone(), d.arrived_ms));
        }
        for (vi, receipt, arrived_ms) in core::mem::replace(&mut self.replays, replays) {
            if let Some(x) = extras.get_mut(vi) {
                x.push(Delivery {
                    receipt,
                    arrived_ms,
                });
            }
        }
        for (inbox, x) in inboxes.iter_mut().zip(extras) {
            inbox.extend(x);
        }
        Ok(inboxes)
    }

    /// A grinder sees each validator's whole inbox (the worst case: it submits last) and
    /// re-rolls the nonce of its last receipt there, up to 256 times, until the sample it can
    /// predict (the seed without the validator's secret) misses all its fake receipts.
    fn grind(
        &self,
        mut inboxes: Vec<Vec<Delivery>>,
        e: u64,
        beacon: [u8; 32],
    ) -> Result<Vec<Vec<Delivery>>> {
        let rate = rate_ppm(self.scenario.scoring.spot_check_rate);
        let min = self.scenario.scoring.min_checks_per_miner;
        let subnet = SubnetId(self.scenario.subnet);
        for g in self
            .miners
            .iter()
            .filter(|m| m.behaviour == MinerBehaviour::Grinder)
        {
            let me = g.role.hotkey();
            for (vi, inbox) in inboxes.iter_mut().enumerate() {
                let v = at(&self.validators, vi, "validator")?;
                let mine: Vec<usize> = (0..inbox.len())
                    .filter(|&i| inbox.get(i).is_some_and(|d| d.receipt.body.miner == me))
                    .collect();
                let Some(&last) = mine.last() else { continue };
                let fake = |d: &Delivery| {
                    fakes(
                        MinerBehaviour::Grinder,
                        (d.receipt.body.nonce & 0xffff_ffff) as u32,
                    )
                };
                for attempt in 0..256u64 {
                    let receipts: Vec<SignedReceipt> =
                        inbox.iter().map(|d| d.receipt.clone()).collect();
                    let batch = v
                        .role
                        .commit_batch(self.network, subnet, Epoch(e), receipts)?;
                    // What the grinder can compute: the seed with an all-zero secret.
                    let predicted = sample_seed(&beacon, &batch.root, &v.role.hotkey(), &[0; 32]);
                    let picked = sample(&predicted, &batch.ids, &mine, rate, min);
                    let exposed = picked.iter().any(|&i| inbox.get(i).is_some_and(&fake));
                    if !exposed {
                        break;
                    }
                    let Some(d) = inbox.get_mut(last) else { break };
                    let mut body = d.receipt.body.clone();
                    body.nonce = (body.nonce & 0xffff_ffff) | ((attempt + 1) << 32);
                    d.receipt = g.role.sign_body(body)?;
                }
            }
        }
        Ok(inboxes)
    }

    /// Phase 4 for validator `vi`: commit, verify signatures, admit, reveal the sample secret,
    /// sample, re-execute, judge.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        vi: usize,
        e: u64,
        beacon: &[u8; 32],
        secret: &[u8; 32],
        mut book: IssuedTasks,
        inbox: &[Delivery],
        clock: &dyn Clock,
    ) -> Result<Checked> {
        let v = at(&self.validators, vi, "validator")?;
        let hotkey = v.role.hotkey();
        // A batch holds only this epoch's receipts for this subnet and network: others (replays
        // of old epochs, other subnets or networks) are rejected before the root is committed.
        let mut early: Vec<(Hotkey, Rejection)> = Vec::new();
        let inbox: Vec<&Delivery> = inbox
            .iter()
            .filter(|d| match book.check_scope(&d.receipt.body) {
                Ok(()) => true,
                Err(r) => {
                    early.push((d.receipt.body.miner, r));
                    false
                }
            })
            .collect();
        let receipts: Vec<SignedReceipt> = inbox.iter().map(|d| d.receipt.clone()).collect();
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

        // The sample is fixed only now, after the root, by the secret committed before it.
        let seed = sample_seed(beacon, &batch.root, &hotkey, secret);
        let rate = rate_ppm(self.scenario.scoring.spot_check_rate);
        let min_checks = self.scenario.scoring.min_checks_per_miner;
        let checks =
            v.behaviour != ValidatorBehaviour::WeightCopier && (rate > 0 || min_checks > 0);
        let miner_index: BTreeMap<Hotkey, usize> = self
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| (m.role.hotkey(), i))
            .collect();
        let mut by_miner: BTreeMap<usize, Vec<(usize, IssuedTask)>> = BTreeMap::new();
        let mut out = Checked {
            receipts: inbox.len() as u32,
            bad_signatures: 0,
            spot_checked: 0,
            per_miner: BTreeMap::new(),
            proofs: Vec::new(),
            rejections: BTreeMap::new(),
            signatures_cpu,
            reexecution_cpu: Duration::ZERO,
            batch,
            checks,
            exposure: BTreeMap::new(),
            reexecuted_units: 0,
        };
        let miner_of = |hk: &Hotkey| miner_index.get(hk).copied();
        for (hk, r) in &early {
            *out.rejections.entry(r.code().into()).or_default() += 1;
            if let Some(mi) = miner_of(hk) {
                let tally = out.per_miner.entry(mi).or_default();
                tally.tasks += 1;
                tally.rejected += 1;
            }
        }
        for (i, (d, sig)) in inbox.iter().zip(&sigs).enumerate() {
            let Some(&mi) = miner_index.get(&d.receipt.body.miner) else {
                *out.rejections.entry("unknown_miner".into()).or_default() += 1;
                continue;
            };
            let tally = out.per_miner.entry(mi).or_default();
            tally.tasks += 1;
            let admitted = if sig.is_err() {
                out.bad_signatures += 1;
                Err(Rejection::BadSignature)
            } else {
                book.admit(&hotkey, &d.receipt).cloned()
            };
            let issued = match admitted {
                Ok(issued) => issued,
                Err(r) => {
                    tally.rejected += 1;
                    *out.rejections.entry(r.code().into()).or_default() += 1;
                    continue;
                }
            };
            // Latency is what the validator observed: issue to arrival, never receipt times.
            tally
                .latencies
                .push(d.arrived_ms.saturating_sub(issued.issued_ms));
            if is_fast(&issued.task) {
                tally.unpaid_fast += 1;
                continue;
            }
            let behaviour = at(&self.miners, mi, "miner")?.behaviour;
            let wrong = match behaviour {
                MinerBehaviour::Sloppy => issued.task.kernel == KernelId::Attention,
                b => fakes(b, (d.receipt.body.nonce & 0xffff_ffff) as u32),
            };
            let x = out.exposure.entry(mi).or_default();
            x.0 += 1;
            x.1 += u32::from(wrong);
            by_miner.entry(mi).or_default().push((i, issued));
        }
        let mut sampled = vec![false; inbox.len()];
        if checks {
            for list in by_miner.values() {
                let idx: Vec<usize> = list.iter().map(|(i, _)| *i).collect();
                for i in sample(&seed, &out.batch.ids, &idx, rate, min_checks) {
                    if let Some(s) = sampled.get_mut(i) {
                        *s = true;
                    }
                }
            }
        }
        for (&mi, list) in &by_miner {
            for (i, issued) in list {
                let i = *i;
                let d = *at(&inbox, i, "receipt")?;
                let tally = out.per_miner.entry(mi).or_default();
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
                let weights = self.pool.find(&issued.task).map(|w| w.bytes.as_slice());
                let truth = v.role.reexecute(&issued.task, weights, Backend::Auto, 1)?;
                out.reexecution_cpu += clock.now().saturating_sub(t_exec);
                let id = *at(&out.batch.ids, i, "receipt")?;
                match v.role.judge(id, &d.receipt, truth)? {
                    Judgement::Match(_) => {
                        tally.verified += 1;
                        tally.units += d.receipt.body.compute_units;
                    }
                    Judgement::TileRootMismatch { .. } => tally.mismatched += 1,
                    Judgement::Mismatch(verdict) => {
                        tally.mismatched += 1;
                        let weights = self.pool.find(&issued.task).map(|w| w.source());
                        let note = format!(
                            "epoch {e}: validator uid {} re-executed the task of miner uid {} and got another output commitment",
                            v.uid,
                            at(&self.miners, mi, "miner")?.uid
                        );
                        let proof = v.role.fraud_proof(
                            &out.batch,
                            i,
                            &issued.task,
                            &verdict,
                            weights,
                            note,
                        )?;
                        out.proofs.push((mi, id, proof));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Framers publish a fraud proof against the first receipt (a Fast-mode one if there is
    /// one) of every honest or slow miner in their batch, with a made-up recomputed commitment.
    fn frame(&self, e: u64, books: &[IssuedTasks], checked: &mut [Checked]) -> Result<()> {
        for ((v, book), c) in self.validators.iter().zip(books).zip(checked.iter_mut()) {
            if v.behaviour != ValidatorBehaviour::Framer {
                continue;
            }
            for (mi, m) in self.miners.iter().enumerate() {
                if !matches!(m.behaviour, MinerBehaviour::Honest | MinerBehaviour::Slow) {
                    continue;
                }
                let hk = m.role.hotkey();
                let candidates: Vec<(usize, &IssuedTask)> = c
                    .batch
                    .batch
                    .receipts
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.body.miner == hk)
                    .filter_map(|(i, r)| book.get(&r.body.task_digest).map(|t| (i, t)))
                    .collect();
                let pick = candidates
                    .iter()
                    .find(|(_, t)| is_fast(&t.task))
                    .or_else(|| candidates.first());
                let Some(&(i, issued)) = pick else { continue };
                let id = *at(&c.batch.ids, i, "receipt")?;
                let made_up = Claim {
                    commitment: Digest(derive("framed", &[id.as_bytes()])),
                    tile_root: Digest([0; 32]),
                };
                let receipt = at(&c.batch.batch.receipts, i, "receipt")?;
                let Judgement::Mismatch(verdict) = v.role.judge(id, receipt, made_up)? else {
                    continue;
                };
                let weights = self.pool.find(&issued.task).map(|w| w.source());
                let note = format!("epoch {e}: framed by validator uid {}", v.uid);
                let proof =
                    v.role
                        .fraud_proof(&c.batch, i, &issued.task, &verdict, weights, note)?;
                c.proofs.push((mi, id, proof));
            }
        }
        Ok(())
    }

    /// Phase 6: each validator's weights and commitments, and the reveals due this epoch, as
    /// the chain's [`CommitRevealBook`] sees them (spec/scoring.md section 4.1): the first
    /// commitment of a (network, subnet, epoch, hotkey) slot counts and later different ones
    /// are rejected as equivocation; a reveal that does not open the slot's commitment is
    /// dropped with its reason (the epoch goes on); a validator whose slot ends unrevealed has
    /// no weights this epoch.
    fn settle(&mut self, e: u64, checked: &[Checked]) -> Result<Vec<Settled>> {
        let params = ScoreParams {
            latency_target_ms: self.scenario.scoring.latency_target_ms,
        };
        let delay = self.scenario.scoring.reveal_delay_epochs;
        let network = self.network;
        let subnet = SubnetId(self.scenario.subnet);
        let run_seed = self.scenario.seed.to_le_bytes();
        let mut out = Vec::with_capacity(self.validators.len());
        let mut dropped_reveals = Vec::with_capacity(self.validators.len());
        for (vi, c) in checked.iter().enumerate() {
            let weights = self.weights_for(vi, e, c, &params)?;
            let Some(v) = self.validators.get_mut(vi) else {
                continue;
            };
            let hotkey = v.role.hotkey();
            let mut st = Settled::default();
            // spec/scoring.md §4 asks for a fresh random salt per commitment; the simulation
            // derives it from the run seed instead, so that a seed reproduces the whole log. (A
            // real validator's seed is secret, which is what keeps its weights hidden.)
            let salt = derive("salt", &[&run_seed, hotkey.as_bytes(), &e.to_le_bytes()]);
            let mut commits =
                vec![
                    v.role
                        .commit_weights(network, subnet, Epoch(e), weights.clone(), salt)?,
                ];
            if v.behaviour == ValidatorBehaviour::Equivocator {
                // A second vector for the same slot: the first miner at full weight, alone.
                let boosted: Vec<(u16, u16)> = weights
                    .iter()
                    .take(1)
                    .map(|&(u, _)| (u, u16::MAX))
                    .collect();
                let salt2 = derive("salt-2", &[&run_seed, hotkey.as_bytes(), &e.to_le_bytes()]);
                commits.push(
                    v.role
                        .commit_weights(network, subnet, Epoch(e), boosted, salt2)?,
                );
            }
            for commit in &commits {
                match self.weight_book.commit(commit) {
                    CommitOutcome::Accepted => st.commitment = hex::encode(commit.commitment),
                    CommitOutcome::Equivocation => st.equivocations += 1,
                    _ => {}
                }
            }
            let mut due = v.role.due_reveals(e, delay);
            if v.behaviour == ValidatorBehaviour::Equivocator {
                // Reveal the vector that suits it (the second) in odd epochs, nothing in even.
                due = if e % 2 == 1 {
                    due.into_iter().skip(1).take(1).collect()
                } else {
                    Vec::new()
                };
            }
            let mut dropped = None;
            for p in &due {
                if let RevealOutcome::Dropped(err) = self.weight_book.reveal(&p.reveal) {
                    dropped = Some(format!("dropped: {err} ({})", err.code()));
                }
            }
            dropped_reveals.push(dropped);
            out.push(st);
        }
        // Each validator's slot outcome depends only on its own commitment and reveals, so
        // settling once all reveals are in gives what settling each right after its own would.
        let outcomes = self.apply_reveals(e);
        for ((st, outcome), dropped) in out.iter_mut().zip(outcomes).zip(dropped_reveals) {
            st.reveal = match outcome {
                None => "none due".into(),
                Some(SlotOutcome::Revealed(w)) => {
                    st.revealed = Some(w);
                    "revealed".into()
                }
                Some(_) => dropped.unwrap_or_else(|| "missed".into()),
            };
        }
        Ok(out)
    }

    /// The chain's side of phase 6: each validator's slot of the epoch whose reveals are due in
    /// `e` (`reveal_delay_epochs` earlier) settles from the weight book; revealed weights are
    /// stored for Yuma (non-empty ones refresh `last_update`), a missed slot clears the
    /// validator's weights. Returns each validator's outcome (`None`: nothing due yet), and
    /// prunes the book up to the settled epoch.
    fn apply_reveals(&mut self, e: u64) -> Vec<Option<SlotOutcome>> {
        let tempo = self.scenario.emission.tempo;
        let reveal_block = e * tempo + tempo / 2 + 1;
        let delay = self.scenario.scoring.reveal_delay_epochs;
        let network = self.network;
        let subnet = SubnetId(self.scenario.subnet);
        let due_epoch = e.checked_sub(delay).map(Epoch);
        let settled = due_epoch
            .map(|d| self.weight_book.settle(network, subnet, d))
            .unwrap_or_default();
        let mut out = Vec::with_capacity(self.validators.len());
        for v in &self.validators {
            let hotkey = v.role.hotkey();
            let outcome = due_epoch.and_then(|_| {
                settled
                    .iter()
                    .find(|(h, _)| *h == hotkey)
                    .map(|(_, o)| o.clone())
            });
            let u = usize::from(v.uid);
            match &outcome {
                None => {}
                Some(SlotOutcome::Revealed(w)) if !w.is_empty() => {
                    if let Some(sw) = self.stored_weights.get_mut(u) {
                        sw.clone_from(w);
                    }
                    if let Some(l) = self.last_update.get_mut(u) {
                        *l = reveal_block;
                    }
                }
                Some(SlotOutcome::Revealed(_)) => {}
                Some(_) => {
                    if let Some(sw) = self.stored_weights.get_mut(u) {
                        sw.clear();
                    }
                }
            }
            out.push(outcome);
        }
        if let Some(d) = due_epoch {
            self.weight_book.prune_before(Epoch(d.0.saturating_add(1)));
        }
        out
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

    /// The epoch's miner records from each validator's tallies and the Yuma output.
    fn miner_records(&self, views: &[TallyView<'_>], out: &EpochOutput) -> Vec<MinerRecord> {
        let rate = rate_ppm(self.scenario.scoring.spot_check_rate);
        let min = self.scenario.scoring.min_checks_per_miner;
        let mut miners = Vec::with_capacity(self.miners.len());
        for (mi, m) in self.miners.iter().enumerate() {
            let mut t = MinerTally::default();
            for c in views {
                if let Some(x) = c.per_miner.get(&mi) {
                    t.add(x);
                }
            }
            let u = usize::from(m.uid);
            let incentive = out.incentive.get(u).copied().unwrap_or(0);
            let exposure: Vec<(u32, u32)> = views
                .iter()
                .filter(|c| c.checks)
                .filter_map(|c| c.exposure.get(&mi).copied())
                .collect();
            let cheated = views
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
                unpaid_fast: t.unpaid_fast,
                compute_units: t.units,
                median_latency_ms: t.median_latency_ms(),
                incentive,
                incentive_share: q32_share(incentive),
                emission_rao: out.server_emission.get(u).copied().unwrap_or(0),
                cheated,
                detection_probability: detection_probability(&exposure, rate, min),
            });
        }
        miners
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_input_order_and_reports_panics() {
        let items: Vec<u32> = (0..37).collect();
        for t in [1, 2, 3, 8, 100] {
            assert_eq!(
                par_map(&items, t, |x| x * 2),
                Ok(items.iter().map(|x| x * 2).collect::<Vec<_>>())
            );
        }
        assert_eq!(par_map(&[] as &[u32], 4, |x| *x), Ok(Vec::new()));
        let r = par_map(&items, 3, |x| {
            assert!(*x != 5, "item five");
            *x
        });
        assert!(
            matches!(&r, Err(Error::WorkerPanicked(m)) if m.contains("item five")),
            "{r:?}"
        );
    }
}

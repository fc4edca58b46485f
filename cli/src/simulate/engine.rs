//! The subnet as a deterministic state machine: [`Subnet::step`] advances one epoch, driven only
//! by the scenario, the run seed and the epoch number (quinn-proto's `Pair`, at subnet scale).
//!
//! One epoch, in order:
//! 1. **Beacon**: `beacon_e = H(beacon_{e-1} ‖ e)`, a hash chain from the seed.
//! 2. **Tasks**: every validator gives every miner `tasks.per_miner` tasks, each derived from
//!    `H(beacon ‖ validator ‖ miner ‖ index)`, issued at evenly spread simulated times.
//! 3. **Work**: miners execute with the real kernels (in parallel over `threads`; the result
//!    never depends on the thread count) and sign a `WorkReceipt` each. Simulated start and
//!    finish times come from the latency model, never the clock.
//! 4. **Verification**: each validator commits its receipts to a `ReceiptBatch` Merkle root,
//!    batch-verifies the signatures, then derives its spot-check sample from
//!    `H(beacon ‖ receipt root ‖ validator hotkey)` (fixed only after the root), re-executes the
//!    sample, signs a `Verdict` for each, and builds a fraud proof for each mismatch.
//! 5. **Fraud proofs** are checked once by the network (full re-execution) and every
//!    validator that accepts them bans the miner for `fraud_ban_epochs`.
//! 6. **Scoring**: per-miner results → `scoring::score` → score EMA → u16 weights; weight
//!    copiers use the last consensus, colluders boost their target. Weights are committed and
//!    revealed `reveal_delay_epochs` later (`scoring::verify_reveal`).
//! 7. **Emission**: the protocol's Yuma epoch over the revealed weights, with bonds, permits and
//!    consensus carried from the previous epoch.

use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use mycel_protocol::emission::{EpochInput, EpochOutput, U16Row, epoch as yuma_epoch};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{
    BackendLabel, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict, WorkReceipt,
};
use mycel_protocol::scoring::{
    MinerEpochResult, ScoreEma, ScoreParams, WeightCommit, WeightReveal, commit_weights, score,
    verify_reveal, weights_from_scores,
};
use mycel_protocol::sign::{Signed, verify_signed_batch_with_seed};
use mycel_protocol::task::TaskSpec;
use serde::Serialize;

use super::rng::{DetRng, derive};
use super::scenario::{MinerBehaviour, Scenario, ValidatorBehaviour};
use super::work::{
    Claim, TaskContext, WeightPool, execute_as, execute_honest, latency_ms, make_task,
};
use crate::fraud::{BatchMembership, FraudProof};

/// The backend label every simulated miner writes (diagnostic only).
const BACKEND_LABEL: &str = "mycel-sim/cpu";

/// A miner.
#[derive(Debug)]
pub struct Miner {
    /// Its uid (validators come first).
    pub uid: u16,
    /// Its key.
    pub key: SigningKey,
    /// Its behaviour.
    pub behaviour: MinerBehaviour,
    /// For copiers: the miner index whose commitments it copies.
    pub copy_from: Option<usize>,
}

/// A validator and what it carries across epochs.
#[derive(Debug)]
pub struct Validator {
    /// Its uid.
    pub uid: u16,
    /// Its key.
    pub key: SigningKey,
    /// Its behaviour.
    pub behaviour: ValidatorBehaviour,
    /// Its stake in rao.
    pub stake: u64,
    /// Its score EMA.
    pub ema: ScoreEma,
    /// Miner index → last epoch of its ban.
    pub banned_until: BTreeMap<usize, u64>,
    /// Commits not yet revealed.
    pub pending: VecDeque<(WeightCommit, WeightReveal)>,
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
#[derive(Debug, Clone, Serialize)]
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
    /// Receipts rejected for a bad signature or task mismatch.
    pub rejected: u32,
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
}

/// One validator's line in an epoch record.
#[derive(Debug, Clone, Serialize)]
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
    /// Dividends (raw Q32 bits).
    pub dividends: i64,
    /// Dividends as a fraction.
    pub dividend_share: f64,
    /// Validator trust (u16).
    pub vtrust: u16,
    /// Emission this epoch, rao.
    pub emission_rao: u64,
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

/// The whole subnet.
#[derive(Debug)]
pub struct Subnet {
    /// The scenario.
    pub scenario: Scenario,
    /// Network id.
    pub network: NetworkId,
    /// Validators (uids `0..V`).
    pub validators: Vec<Validator>,
    /// Miners (uids `V..V+M`).
    pub miners: Vec<Miner>,
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

/// A task, the claim made for it, and its simulated start and finish (ms).
type Worked = (Assignment, Option<Claim>, u64, u64);

/// One task as issued.
#[derive(Debug, Clone)]
struct Assignment {
    validator: usize,
    miner: usize,
    index: u32,
    task: TaskSpec,
    issued_ms: u64,
}

/// One executed task.
#[derive(Debug, Clone)]
struct Done {
    assignment: Assignment,
    receipt: SignedReceipt,
}

/// A validator's private per-epoch outcome.
#[derive(Debug)]
struct Checked {
    root: Digest,
    batch_bytes: Vec<u8>,
    receipts: u32,
    bad_signatures: u32,
    spot_checked: u32,
    /// Per miner index: (tasks, verified, mismatched, unchecked, rejected, units, latencies).
    per_miner: BTreeMap<usize, MinerTally>,
    proofs: Vec<(usize, Digest, FraudProof)>,
    signatures_cpu: Duration,
    reexecution_cpu: Duration,
}

#[derive(Debug, Default, Clone)]
struct MinerTally {
    tasks: u32,
    verified: u32,
    mismatched: u32,
    unchecked: u32,
    rejected: u32,
    units: u64,
    latencies: Vec<u64>,
}

fn median(v: &mut [u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

/// Maps `f` over `items` on up to `threads` scoped threads (item `i` on thread `i % threads`),
/// returning results in input order: the output never depends on the thread count.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
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
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    for part in parts.iter_mut() {
        for (i, r) in part.drain(..) {
            out[i] = Some(r);
        }
    }
    out.into_iter().flatten().collect()
}

/// The spot-check sample among one miner's receipts `list` (indices into `ids`): `rate · len`
/// of them rounded stochastically (the fraction becomes one more with that probability, drawn
/// from `seed`), at least `min` and at most `len`, taking those with the smallest
/// `H(seed ‖ receipt id)`. `seed` is fixed only after the receipt root, so a miner cannot know
/// which of its receipts will be checked.
fn sample(seed: &[u8; 32], ids: &[Digest], list: &[usize], rate: f64, min: u32) -> Vec<usize> {
    let Some(&first) = list.first() else {
        return Vec::new();
    };
    let expected = list.len() as f64 * rate;
    let base = expected.floor();
    let draw = derive("round", &[seed, ids[first].as_bytes()]);
    let u = u64::from_le_bytes([
        draw[0], draw[1], draw[2], draw[3], draw[4], draw[5], draw[6], draw[7],
    ]) as f64
        / 18_446_744_073_709_551_616.0;
    let k = (base as usize + usize::from(u < expected - base))
        .max(min as usize)
        .min(list.len());
    let mut ranked: Vec<([u8; 32], usize)> = list
        .iter()
        .map(|&i| (derive("pick", &[seed, ids[i].as_bytes()]), i))
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().take(k).map(|(_, i)| i).collect()
}

fn q32_share(x: i64) -> f64 {
    x as f64 / 4_294_967_296.0
}

impl Subnet {
    /// Builds the subnet: keys, behaviours (miners shuffled by the seed), stakes, weights pool.
    pub fn new(scenario: Scenario) -> Result<Self, String> {
        scenario.validate().map_err(|e| e.to_string())?;
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
                let ema =
                    ScoreEma::new(ema_alpha).map_err(|e| format!("scoring.ema_alpha: {e}"))?;
                Ok(Validator {
                    uid: i as u16,
                    key,
                    behaviour,
                    stake,
                    ema,
                    banned_until: BTreeMap::new(),
                    pending: VecDeque::new(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut behaviours = scenario.miner_behaviours();
        DetRng::new("miner-order", &[&seed]).shuffle(&mut behaviours);
        let colluder_target = if scenario.validators.colluder > 0 {
            Some(
                scenario
                    .colluder_target_in(&behaviours)
                    .map_err(|e| format!("validators.colluder_target: {e}"))?,
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
                        (1..nm)
                            .map(|d| (i + d) % nm)
                            .find(|&j| behaviours[j] != MinerBehaviour::Copier)
                    })
                    .flatten();
                Miner {
                    uid: (nv + i) as u16,
                    key,
                    behaviour,
                    copy_from,
                }
            })
            .collect::<Vec<_>>();
        let n = nv + nm;
        let pool = WeightPool::generate(&scenario)?;
        let mut permits = vec![false; n];
        permits[..nv].fill(true);
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

    fn ctx(&self, epoch: u64, beacon: [u8; 32]) -> TaskContext {
        TaskContext {
            network: self.network,
            subnet: SubnetId(self.scenario.subnet),
            epoch,
            beacon,
        }
    }

    /// Advances one epoch with `threads` worker threads. Returns the log record, the files to
    /// write and the wall-clock phase times.
    pub fn step(&mut self, threads: usize) -> Result<(EpochRecord, Artifacts, PhaseTimes), String> {
        let e = self.next_epoch;
        let scenario = self.scenario.clone();
        let s = &scenario;
        let mut times = PhaseTimes::default();
        let t0 = Instant::now();

        // 1. Beacon.
        self.beacon = derive("beacon-step", &[&self.beacon, &e.to_le_bytes()]);
        let beacon = self.beacon;
        let epoch_ms = s.emission.tempo.saturating_mul(s.timing.block_ms);
        let epoch_start = s
            .timing
            .genesis_ms
            .saturating_add(e.saturating_mul(epoch_ms));

        // 2. Tasks, grouped per miner, each miner's in issue order.
        let per = s.tasks.per_miner;
        let slots = (self.validators.len() as u64) * u64::from(per);
        let gap = epoch_ms / slots.max(1) / 2;
        let mut by_miner: Vec<Vec<Assignment>> = vec![Vec::new(); self.miners.len()];
        for (mi, m) in self.miners.iter().enumerate() {
            for index in 0..per {
                for (vi, v) in self.validators.iter().enumerate() {
                    let slot = u64::from(index) * self.validators.len() as u64 + vi as u64;
                    let task = make_task(
                        s,
                        &self.pool,
                        self.ctx(e, beacon),
                        &v.key.hotkey(),
                        &m.key.hotkey(),
                        index,
                    )?;
                    by_miner[mi].push(Assignment {
                        validator: vi,
                        miner: mi,
                        index,
                        task,
                        issued_ms: epoch_start + slot * gap,
                    });
                }
            }
        }
        let n_tasks: u64 = by_miner.iter().map(|v| v.len() as u64).sum();

        // 3. Work: every non-copier miner in parallel, then copiers from their sources.
        let idx: Vec<usize> = (0..self.miners.len()).collect();
        let worked: Vec<Result<Vec<Worked>, String>> = par_map(&idx, threads, |&mi| {
            let miner = &self.miners[mi];
            let mut free_at = 0u64;
            let mut out = Vec::with_capacity(by_miner[mi].len());
            for a in &by_miner[mi] {
                let units = a.task.compute_units().map_err(|x| x.to_string())?;
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
        let worked: Vec<Vec<Worked>> = worked.into_iter().collect::<Result<_, _>>()?;
        let sign_all: Vec<Result<Vec<Done>, String>> = par_map(&idx, threads, |&mi| {
            let miner = &self.miners[mi];
            worked[mi]
                .iter()
                .map(|(a, claim, start, finish)| {
                    let (claim, start, finish) = match (claim, miner.copy_from) {
                        (Some(c), _) => (*c, *start, *finish),
                        (None, Some(src)) => {
                            let (_, c, _, f) = worked[src]
                                .iter()
                                .find(|(b, ..)| b.validator == a.validator && b.index == a.index)
                                .ok_or("copier: source task missing")?;
                            let c = c.ok_or("copier: source is a copier")?;
                            (
                                c,
                                a.issued_ms,
                                (*f).max(a.issued_ms) + s.timing.copier_delay_ms,
                            )
                        }
                        (None, None) => return Err("copier without a source".to_string()),
                    };
                    let body = WorkReceipt {
                        network: a.task.network,
                        subnet: a.task.subnet,
                        epoch: a.task.epoch,
                        task_digest: a.task.digest().map_err(|x| x.to_string())?,
                        assigner: self.validators[a.validator].key.hotkey(),
                        miner: miner.key.hotkey(),
                        output_commitment: claim.commitment,
                        output_tile_root: claim.tile_root,
                        compute_units: a.task.compute_units().map_err(|x| x.to_string())?,
                        started_at_ms: start,
                        finished_at_ms: finish,
                        nonce: u64::from(a.index),
                        backend: BackendLabel::new(BACKEND_LABEL).map_err(|x| x.to_string())?,
                    };
                    let receipt = Signed::sign(body, &miner.key).map_err(|x| x.to_string())?;
                    Ok(Done {
                        assignment: a.clone(),
                        receipt,
                    })
                })
                .collect()
        });
        let done: Vec<Vec<Done>> = sign_all.into_iter().collect::<Result<_, _>>()?;
        times.work = t0.elapsed();

        // 4. Verification, per validator in parallel.
        let t1 = Instant::now();
        let mut per_validator: Vec<Vec<&Done>> = vec![Vec::new(); self.validators.len()];
        for d in done.iter().flatten() {
            per_validator[d.assignment.validator].push(d);
        }
        let vidx: Vec<usize> = (0..self.validators.len()).collect();
        let checked: Vec<Result<Checked, String>> = par_map(&vidx, threads, |&vi| {
            self.check_receipts(vi, e, &beacon, &per_validator[vi])
        });
        let checked: Vec<Checked> = checked.into_iter().collect::<Result<_, _>>()?;

        // 5. Every fraud proof is checked once by the network (re-execution from the file alone).
        let all_proofs: Vec<(usize, usize, Digest, &FraudProof)> = checked
            .iter()
            .enumerate()
            .flat_map(|(vi, c)| c.proofs.iter().map(move |(mi, id, p)| (vi, *mi, *id, p)))
            .collect();
        let t_audit = Instant::now();
        let holds: Vec<bool> = par_map(&all_proofs, threads, |(_, _, _, p)| p.check().is_ok());
        times.audit = t_audit.elapsed();
        times.verify = t1.elapsed();
        times.signatures_cpu = checked.iter().map(|c| c.signatures_cpu).sum();
        times.reexecution_cpu = checked.iter().map(|c| c.reexecution_cpu).sum();

        // 6. Scoring, commit-reveal; 7. Yuma.
        let t2 = Instant::now();
        let ban_until = e.saturating_add(s.scoring.fraud_ban_epochs);
        for ((_, mi, _, _), ok) in all_proofs.iter().zip(&holds) {
            if !ok {
                continue;
            }
            for v in self.validators.iter_mut() {
                let ignores = v.behaviour == ValidatorBehaviour::WeightCopier
                    || (v.behaviour == ValidatorBehaviour::Colluder
                        && Some(*mi) == self.colluder_target);
                if !ignores {
                    let u = v.banned_until.entry(*mi).or_insert(0);
                    *u = (*u).max(ban_until);
                }
            }
        }
        let params = ScoreParams {
            latency_target_ms: self.scenario.scoring.latency_target_ms,
        };
        let tempo = self.scenario.emission.tempo;
        let reveal_block = e * tempo + tempo / 2 + 1;
        let delay = self.scenario.scoring.reveal_delay_epochs;
        let nv = self.validators.len();
        let mut commitments = Vec::with_capacity(nv);
        let mut revealed: Vec<Option<Vec<(u16, u16)>>> = vec![None; nv];
        for vi in 0..nv {
            let weights = self.weights_for(vi, e, &checked[vi], &params)?;
            let v = &mut self.validators[vi];
            // spec/scoring.md §4 asks for a fresh random salt per commitment; the simulation
            // derives it from the run seed instead, so that a seed reproduces the whole log. (A
            // real validator's seed is secret, which is what keeps its weights hidden.)
            let salt = derive(
                "salt",
                &[
                    &self.scenario.seed.to_le_bytes(),
                    v.key.hotkey().as_bytes(),
                    &e.to_le_bytes(),
                ],
            );
            let subnet = SubnetId(self.scenario.subnet);
            let commit = commit_weights(
                self.network,
                v.key.hotkey(),
                subnet,
                Epoch(e),
                &weights,
                &salt,
            )
            .map_err(|x| x.to_string())?;
            commitments.push(hex::encode(commit.commitment));
            v.pending.push_back((
                commit,
                WeightReveal {
                    network: self.network,
                    hotkey: v.key.hotkey(),
                    subnet,
                    epoch: Epoch(e),
                    weights,
                    salt,
                },
            ));
            while let Some((c, _)) = v.pending.front() {
                if c.epoch.0.saturating_add(delay) > e {
                    break;
                }
                let Some((c, r)) = v.pending.pop_front() else {
                    break;
                };
                verify_reveal(&c, &r).map_err(|x| format!("reveal of validator {}: {x}", v.uid))?;
                if !r.weights.is_empty() {
                    self.stored_weights[usize::from(v.uid)] = r.weights.clone();
                    self.last_update[usize::from(v.uid)] = reveal_block;
                }
                revealed[vi] = Some(r.weights);
            }
        }
        let out = self.run_yuma(e)?;
        times.emission = t2.elapsed();

        // The record.
        let mut miners = Vec::with_capacity(self.miners.len());
        for (mi, m) in self.miners.iter().enumerate() {
            let mut t = MinerTally::default();
            for c in &checked {
                if let Some(x) = c.per_miner.get(&mi) {
                    t.tasks += x.tasks;
                    t.verified += x.verified;
                    t.mismatched += x.mismatched;
                    t.unchecked += x.unchecked;
                    t.rejected += x.rejected;
                    t.units += x.units;
                    t.latencies.extend_from_slice(&x.latencies);
                }
            }
            let u = usize::from(m.uid);
            miners.push(MinerRecord {
                uid: m.uid,
                tasks: t.tasks,
                verified: t.verified,
                caught: t.mismatched,
                unchecked: t.unchecked,
                rejected: t.rejected,
                compute_units: t.units,
                median_latency_ms: median(&mut t.latencies),
                incentive: out.incentive[u],
                incentive_share: q32_share(out.incentive[u]),
                emission_rao: out.server_emission[u],
            });
        }
        let mut validators = Vec::with_capacity(nv);
        let mut artifacts = Artifacts::default();
        let mut batch_files = Vec::with_capacity(nv);
        for (vi, v) in self.validators.iter().enumerate() {
            let c = &checked[vi];
            let u = usize::from(v.uid);
            let file = format!("epoch-{e:04}-validator-{:03}.bin", v.uid);
            artifacts
                .batches
                .push((file.clone(), c.batch_bytes.clone()));
            batch_files.push(file);
            validators.push(ValidatorRecord {
                uid: v.uid,
                receipt_root: c.root,
                receipts: c.receipts,
                bad_signatures: c.bad_signatures,
                spot_checked: c.spot_checked,
                mismatches: c.proofs.len() as u32,
                weights_commitment: commitments[vi].clone(),
                weights_revealed: revealed[vi].take(),
                dividends: out.dividends[u],
                dividend_share: q32_share(out.dividends[u]),
                vtrust: out.validator_trust_u16[u],
                emission_rao: out.validator_emission[u],
            });
        }
        let mut fraud_proofs = Vec::with_capacity(all_proofs.len());
        for ((vi, mi, id, proof), ok) in all_proofs.iter().zip(&holds) {
            let (vu, mu) = (self.validators[*vi].uid, self.miners[*mi].uid);
            let file = format!(
                "epoch-{e:04}-validator-{vu:03}-miner-{mu:03}-{}.json",
                &id.to_string()[..12]
            );
            let json = serde_json::to_string_pretty(proof).map_err(|x| x.to_string())?;
            artifacts.proofs.push((file.clone(), json + "\n"));
            fraud_proofs.push(ProofRecord {
                file,
                validator: vu,
                miner: mu,
                receipt_id: *id,
                holds: *ok,
            });
        }
        self.next_epoch += 1;
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
        Ok((record, artifacts, times))
    }

    /// Step 4 for validator `vi`: commit, verify signatures, sample, re-execute, judge.
    fn check_receipts(
        &self,
        vi: usize,
        e: u64,
        beacon: &[u8; 32],
        got: &[&Done],
    ) -> Result<Checked, String> {
        let v = &self.validators[vi];
        let hotkey = v.key.hotkey();
        let receipts: Vec<SignedReceipt> = got.iter().map(|d| d.receipt.clone()).collect();
        let batch = ReceiptBatch {
            network: self.network,
            subnet: SubnetId(self.scenario.subnet),
            epoch: Epoch(e),
            receipts,
        };
        let tree = batch.tree().map_err(|x| x.to_string())?;
        let root = tree.root();
        let batch_bytes = mycel_protocol::wire::encode(&batch)
            .map_err(|x| format!("encoding a receipt batch: {x}"))?;
        let sig_seed = derive("batch-verify", &[beacon, hotkey.as_bytes()]);
        let t_sig = Instant::now();
        let sigs = verify_signed_batch_with_seed(&batch.receipts, &sig_seed);
        let signatures_cpu = t_sig.elapsed();
        let ids: Vec<Digest> = batch
            .receipts
            .iter()
            .map(|r| r.id())
            .collect::<Result<_, _>>()
            .map_err(|x| x.to_string())?;

        // The sample is fixed only now, after the root: H(beacon ‖ root ‖ validator hotkey).
        let sample_seed = derive("spot-check", &[beacon, root.as_bytes(), hotkey.as_bytes()]);
        let rate = self.scenario.scoring.spot_check_rate;
        let min_checks = self.scenario.scoring.min_checks_per_miner;
        let checks =
            v.behaviour != ValidatorBehaviour::WeightCopier && (rate > 0.0 || min_checks > 0);
        let mut by_miner: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut out = Checked {
            root,
            batch_bytes,
            receipts: got.len() as u32,
            bad_signatures: 0,
            spot_checked: 0,
            per_miner: BTreeMap::new(),
            proofs: Vec::new(),
            signatures_cpu,
            reexecution_cpu: Duration::ZERO,
        };
        for (i, d) in got.iter().enumerate() {
            let tally = out.per_miner.entry(d.assignment.miner).or_default();
            tally.tasks += 1;
            let valid = sigs[i].is_ok() && d.receipt.body.check_task(&d.assignment.task).is_ok();
            if !valid {
                if sigs[i].is_err() {
                    out.bad_signatures += 1;
                }
                tally.rejected += 1;
                continue;
            }
            by_miner.entry(d.assignment.miner).or_default().push(i);
        }
        let mut sampled = vec![false; got.len()];
        if checks {
            for list in by_miner.values() {
                for i in sample(&sample_seed, &ids, list, rate, min_checks) {
                    sampled[i] = true;
                }
            }
        }
        for list in by_miner.values() {
            for &i in list {
                let d = got[i];
                let tally = out.per_miner.entry(d.assignment.miner).or_default();
                tally.latencies.push(
                    d.receipt
                        .body
                        .finished_at_ms
                        .saturating_sub(d.assignment.issued_ms),
                );
                if !sampled[i] {
                    tally.unchecked += 1;
                    tally.units += d.receipt.body.compute_units;
                    continue;
                }
                out.spot_checked += 1;
                let t_exec = Instant::now();
                let truth = execute_honest(&self.pool, &d.assignment.task)?;
                out.reexecution_cpu += t_exec.elapsed();
                let claimed = d.receipt.body.output_commitment;
                let outcome = if truth.commitment == claimed {
                    Outcome::Match
                } else {
                    Outcome::Mismatch
                };
                let verdict: SignedVerdict = Signed::sign(
                    Verdict {
                        validator: hotkey,
                        receipt_id: ids[i],
                        outcome,
                        recomputed_commitment: Some(truth.commitment),
                    },
                    &v.key,
                )
                .map_err(|x| x.to_string())?;
                if outcome == Outcome::Match {
                    tally.verified += 1;
                    tally.units += d.receipt.body.compute_units;
                } else {
                    tally.mismatched += 1;
                    let weights = self.pool.find(&d.assignment.task).map(|w| w.source());
                    let membership = BatchMembership {
                        root,
                        proof: tree.proof(i as u64).map_err(|x| x.to_string())?,
                    };
                    let note = format!(
                        "epoch {e}: validator uid {} re-executed the task of miner uid {} and got another output commitment",
                        v.uid, self.miners[d.assignment.miner].uid
                    );
                    let proof = FraudProof::new(
                        &d.assignment.task,
                        &d.receipt,
                        &verdict,
                        weights,
                        Some(membership),
                        note,
                    )
                    .map_err(|x| x.to_string())?;
                    out.proofs.push((d.assignment.miner, ids[i], proof));
                }
            }
        }
        Ok(out)
    }

    /// Step 6 for validator `vi`: the weights it commits this epoch.
    fn weights_for(
        &mut self,
        vi: usize,
        e: u64,
        c: &Checked,
        params: &ScoreParams,
    ) -> Result<Vec<(u16, u16)>, String> {
        let target = self.colluder_target;
        let previous = self.previous_consensus.clone();
        let miners: Vec<(usize, u16)> = self
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| (i, m.uid))
            .collect();
        let v = &mut self.validators[vi];
        if v.behaviour == ValidatorBehaviour::WeightCopier {
            let Some(prev) = previous else {
                return Ok(Vec::new());
            };
            let scores: Vec<(u16, u64)> = miners
                .iter()
                .map(|&(_, uid)| {
                    (
                        uid,
                        u64::from(prev.get(usize::from(uid)).copied().unwrap_or(0)),
                    )
                })
                .collect();
            return weights_from_scores(&scores).map_err(|x| x.to_string());
        }
        let banned = |mi: usize| v.banned_until.get(&mi).is_some_and(|&u| e <= u);
        let scores: Vec<(u16, u64)> = miners
            .iter()
            .map(|&(mi, uid)| {
                let sc = match c.per_miner.get(&mi) {
                    Some(t) if !banned(mi) => {
                        let mut lat = t.latencies.clone();
                        let r = MinerEpochResult {
                            uid,
                            verified: t.verified,
                            mismatched: t.mismatched,
                            unchecked: t.unchecked,
                            compute_units: t.units,
                            latency_ms: median(&mut lat),
                        };
                        score(&r, params)
                    }
                    _ => 0,
                };
                (uid, sc)
            })
            .collect();
        v.ema.update(&scores).map_err(|x| x.to_string())?;
        let kept: Vec<(u16, u64)> = v
            .ema
            .values()
            .iter()
            .filter(|(uid, _)| miners.iter().any(|&(mi, u)| u == *uid && !banned(mi)))
            .map(|&(uid, x)| (uid, u64::try_from(x).unwrap_or(0)))
            .collect();
        let mut weights = weights_from_scores(&kept).map_err(|x| x.to_string())?;
        if v.behaviour == ValidatorBehaviour::Colluder
            && let Some(t) = target
        {
            let uid = miners[t].1;
            weights.retain(|(u, _)| *u != uid);
            let pos = weights.partition_point(|(u, _)| *u < uid);
            weights.insert(pos, (uid, u16::MAX));
        }
        Ok(weights)
    }

    /// Step 7: the Yuma epoch over the stored (revealed) weights.
    fn run_yuma(&mut self, e: u64) -> Result<EpochOutput, String> {
        let em = &self.scenario.emission;
        let n = self.validators.len() + self.miners.len();
        let mut stake = vec![0u64; n];
        for v in &self.validators {
            stake[usize::from(v.uid)] = v.stake;
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
        let out = yuma_epoch(&input).map_err(|x| format!("yuma epoch {e}: {x} ({})", x.code()))?;
        self.bonds = out.new_bonds.clone();
        self.permits = out.new_validator_permit.clone();
        self.previous_consensus = Some(out.consensus_u16.clone());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Scenario {
        let mut s = Scenario::from_toml(
            r#"
            epochs = 3
            [miners]
            count = 5
            [validators]
            count = 3
            weight_copier = 1
            colluder = 0
            [tasks]
            per_miner = 2
            matmul_m = [1]
            matmul_n = 32
            matmul_k = 64
            attention_heads = 1
            attention_kv_heads = 1
            attention_q_len = 2
            attention_kv_len = 130
            "#,
        )
        .unwrap();
        s.scoring.reveal_delay_epochs = 0;
        s
    }

    #[test]
    fn par_map_keeps_input_order() {
        let items: Vec<u32> = (0..37).collect();
        for t in [1, 2, 3, 8, 100] {
            assert_eq!(
                par_map(&items, t, |x| x * 2),
                items.iter().map(|x| x * 2).collect::<Vec<_>>()
            );
        }
        assert!(par_map(&[] as &[u32], 4, |x| *x).is_empty());
    }

    fn run(s: &Scenario, threads: usize) -> Vec<(String, Artifacts)> {
        let mut net = Subnet::new(s.clone()).unwrap();
        (0..s.epochs)
            .map(|_| {
                let (r, a, _) = net.step(threads).unwrap();
                (serde_json::to_string(&r).unwrap(), a)
            })
            .collect()
    }

    #[test]
    fn epochs_do_not_depend_on_the_thread_count() {
        let s = tiny();
        let (a, b) = (run(&s, 1), run(&s, 3));
        for ((ra, aa), (rb, ab)) in a.iter().zip(&b) {
            assert_eq!(ra, rb);
            assert_eq!(aa.batches, ab.batches);
            assert_eq!(aa.proofs, ab.proofs);
        }
    }

    #[test]
    fn copiers_sign_their_source_commitment_for_their_own_task() {
        let s = tiny();
        let mut net = Subnet::new(s).unwrap();
        let copier = net
            .miners
            .iter()
            .position(|m| m.behaviour == MinerBehaviour::Copier)
            .unwrap();
        let source = net.miners[copier].copy_from.unwrap();
        assert_ne!(net.miners[source].behaviour, MinerBehaviour::Copier);
        let (copier_key, source_key) = (
            net.miners[copier].key.hotkey(),
            net.miners[source].key.hotkey(),
        );
        let (_, artifacts, _) = net.step(1).unwrap();
        let batch: ReceiptBatch = mycel_protocol::wire::decode(&artifacts.batches[0].1).unwrap();
        let find = |k| {
            batch
                .receipts
                .iter()
                .find(|r| r.body.miner == k && r.body.nonce == 0)
                .unwrap()
        };
        let (c, src) = (find(copier_key), find(source_key));
        assert_eq!(c.body.output_commitment, src.body.output_commitment);
        assert_ne!(c.body.task_digest, src.body.task_digest);
        assert!(c.body.finished_at_ms > src.body.finished_at_ms);
    }

    #[test]
    fn reveals_match_commits_and_weight_copiers_copy_consensus() {
        let s = tiny();
        let mut net = Subnet::new(s).unwrap();
        let copier = net
            .validators
            .iter()
            .position(|v| v.behaviour == ValidatorBehaviour::WeightCopier)
            .unwrap();
        let (r0, _, _) = net.step(1).unwrap();
        // With reveal_delay_epochs = 0 every validator reveals what it committed this epoch.
        for v in &r0.validators {
            assert!(v.weights_revealed.is_some());
        }
        // Nothing to copy before the first consensus exists.
        assert_eq!(r0.validators[copier].weights_revealed, Some(Vec::new()));
        let consensus = net.previous_consensus.clone().unwrap();
        let (r1, _, _) = net.step(1).unwrap();
        let copied = r1.validators[copier].weights_revealed.clone().unwrap();
        let expected = weights_from_scores(
            &net.miners
                .iter()
                .map(|m| (m.uid, u64::from(consensus[usize::from(m.uid)])))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(!copied.is_empty());
        assert_eq!(copied, expected);
    }

    #[test]
    fn the_spot_check_sample_is_fixed_by_the_root_and_sized_by_the_rate() {
        let ids: Vec<Digest> = (0u8..40).map(|i| Digest([i; 32])).collect();
        let list: Vec<usize> = (0..40).collect();
        let seed = |root: u8| derive("spot-check", &[&[1; 32], &[root; 32], &[2; 32]]);
        let a = sample(&seed(3), &ids, &list, 0.25, 1);
        assert_eq!(a.len(), 10);
        assert_eq!(a, sample(&seed(3), &ids, &list, 0.25, 1));
        assert_ne!(
            a,
            sample(&seed(4), &ids, &list, 0.25, 1),
            "another root, another sample"
        );
        assert_eq!(sample(&seed(3), &ids, &list, 1.0, 1).len(), 40);
        assert_eq!(sample(&seed(3), &ids, &list, 0.0, 0).len(), 0);
        assert_eq!(
            sample(&seed(3), &ids, &list, 0.01, 1).len(),
            1,
            "at least min"
        );
        assert_eq!(
            sample(&seed(3), &ids, &list[..2], 0.0, 5).len(),
            2,
            "at most all"
        );
        assert!(sample(&seed(3), &ids, &[], 0.5, 1).is_empty());
        // Fractions are rounded stochastically: 1.5 expected gives 1 or 2, about half each;
        // 0.25 expected with no minimum gives 1 about a quarter of the time.
        let (mut twos, mut ones) = (0, 0);
        for r in 0..=255u8 {
            let k = sample(&seed(r), &ids, &list[..3], 0.5, 1).len();
            assert!(k == 1 || k == 2);
            twos += usize::from(k == 2);
            ones += sample(&seed(r), &ids, &list[..1], 0.25, 0).len();
        }
        assert!((96..160).contains(&twos), "{twos} of 256");
        assert!((40..90).contains(&ones), "{ones} of 256");
    }
}

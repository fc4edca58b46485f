//! The subnet one node at a time: the phases of [`Subnet::step`] split by who runs them, so that
//! a network host (the `mycel-net` crate) drives the same code as `mycel simulate`, one process
//! per miner or validator, with messages instead of shared memory.
//!
//! A [`Hosted`] node is built from the same [`Scenario`] as the simulation (the subnet's
//! genesis: its roster, stakes, task mix, scoring and emission parameters) and the node's own
//! key, which must be one of the roster's. Its methods are the phases of one epoch:
//!
//! | who | phase | method |
//! |---|---|---|
//! | validator | issue its tasks | [`Hosted::validator_tasks`], [`Hosted::new_book`] |
//! | miner | check and execute a task, sign the receipt | [`Hosted::miner_work`], [`Hosted::miner_sign`] |
//! | validator | commit, verify, sample, re-execute, judge, prove | [`Hosted::validator_check`] |
//! | validator | ban on proofs that hold | [`Hosted::validator_apply_proof`] |
//! | validator | score, commit weights, reveal due ones | [`Hosted::validator_settle`] |
//! | every node | keep the weight book | [`Hosted::offer_commit`], [`Hosted::offer_reveal`] |
//! | every node | Yuma over the revealed weights, epoch digest | [`Hosted::close_epoch`] |
//!
//! Without a chain, every node runs the Yuma epoch itself over the commitments and reveals it
//! received: the emission math is bit-exact, so honest nodes that saw the same messages reach
//! the same [`Closed::digest`]. No I/O here either: times, salts and sample secrets come from the
//! host, and the state a node carries across epochs is a value ([`HostedState`]) it saves.
//!
//! Behaviours a network node can take: miners `honest`, `lazy`, `copier`, `sloppy`, `slow`,
//! `clock-liar`; validators `honest`, `weight-copier`, `colluder`. A copier copies what it can
//! observe, and the protocol never shows it another miner's output for its own task before its
//! deadline (tasks are point to point, and gossip carries only roots, summaries and proofs made
//! after it), so on the network a copier answers like a lazy miner. `slow` and `clock-liar`
//! compute honestly; their slowness is the simulation's latency model, which a network node
//! does not imitate. The double dipper, the grinder, the framer and the equivocator are
//! simulation-only.

use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use mycel_protocol::emission::{EpochOutput, U16Row};
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt};
use mycel_protocol::scoring::{
    CommitOutcome, CommitRevealBook, RevealOutcome, ScoreParams, SlotOutcome, WeightCommit,
    WeightReveal,
};
use mycel_protocol::task::TaskSpec;
use serde::{Deserialize, Serialize};

pub mod localnet;

use super::{
    Checked, Delivery, MinerBehaviour, NoClock, Scenario, Subnet, TallyView, ValidatorBehaviour,
    at, execute_as,
};
use crate::error::{Error, Result};
use crate::fraud::FraudProof;
use crate::miner::{Claim, ReceiptFields};
use crate::rng::derive;
use crate::sim::log::{MinerRecord, ValidatorRecord, q32_share};
use crate::validator::intake::IssuedTasks;
use crate::validator::score::MinerTally;
use crate::validator::tasks::issue_task;
use crate::validator::{Validator, ValidatorState};

/// The backend label a hosted miner writes in its receipts (diagnostic only).
pub const BACKEND_LABEL: &str = "mycel-net/cpu";

/// The domain tag of an epoch digest: `SHA-256("mycel/v1/epoch-result" ‖ 0x00 ‖ epoch (u64
/// LE) ‖ JSON of the Yuma output)` (spec/net.md section 5).
pub const DIGEST_TAG: &[u8] = b"mycel/v1/epoch-result";

/// The digest of epoch `e`'s Yuma output (spec/net.md section 5).
///
/// # Errors
/// [`Error::Json`] (not expected).
pub fn epoch_digest(e: u64, out: &EpochOutput) -> Result<Digest> {
    use sha2::Digest as _;
    let json = serde_json::to_string(out).map_err(|err| Error::Json(err.to_string()))?;
    let mut h = sha2::Sha256::new();
    h.update(DIGEST_TAG);
    h.update([0u8]);
    h.update(e.to_le_bytes());
    h.update(json.as_bytes());
    Ok(Digest(h.finalize().into()))
}

/// A node's role in the subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A miner.
    Miner,
    /// A validator.
    Validator,
}

impl Role {
    /// `miner` or `validator`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Miner => "miner",
            Self::Validator => "validator",
        }
    }
}

/// One registered neuron, as every node knows it from the genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its uid.
    pub uid: u16,
    /// Its hotkey (the libp2p identity of its node).
    pub hotkey: Hotkey,
    /// Its role.
    pub role: Role,
    /// Its behaviour's name in the scenario (`honest`, `lazy`, ...).
    pub behaviour: &'static str,
}

/// A task a validator gives a miner this epoch.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The miner's uid.
    pub uid: u16,
    /// The miner's hotkey.
    pub miner: Hotkey,
    /// The task's index among those this validator gives this miner.
    pub index: u32,
    /// The task.
    pub task: TaskSpec,
}

/// A task a miner accepted and executed: what it signs once the host knows the times.
#[derive(Debug, Clone)]
pub struct Work {
    /// The task.
    pub task: TaskSpec,
    /// The validator that assigned it.
    pub assigner: Hotkey,
    /// Its index among the tasks that validator gives this miner (the receipt's nonce).
    pub index: u32,
    /// What the miner claims as output.
    pub claim: Claim,
}

/// A validator's outcome of the check phase.
#[derive(Debug)]
pub struct CheckReport {
    checked: Checked,
    proofs: Vec<(u16, FraudProof)>,
}

impl CheckReport {
    /// The committed receipt batch's Merkle root.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.checked.batch.root
    }

    /// The receipt batch envelope (what `mycel receipt verify` reads).
    #[must_use]
    pub fn batch_bytes(&self) -> &[u8] {
        &self.checked.batch.bytes
    }

    /// The number of receipts in the batch.
    #[must_use]
    pub fn receipts(&self) -> u32 {
        self.checked.receipts
    }

    /// A fraud proof per mismatching receipt, with the miner's uid.
    #[must_use]
    pub fn proofs(&self) -> &[(u16, FraudProof)] {
        &self.proofs
    }
}

/// What a validator publishes about its check phase: its counts and per-miner tallies, which
/// every node turns into the epoch's miner and validator figures (simulate's format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The validator's uid.
    pub validator: u16,
    /// The epoch.
    pub epoch: u64,
    /// Its receipt batch root.
    pub receipt_root: Digest,
    /// Receipts in the batch.
    pub receipts: u32,
    /// Receipts with a bad signature.
    pub bad_signatures: u32,
    /// Receipts re-executed.
    pub spot_checked: u32,
    /// Mismatches found (fraud proofs made).
    pub mismatches: u32,
    /// Rejections by reason code.
    pub rejections: Vec<(String, u32)>,
    /// Whether this validator re-executes anything.
    pub checks: bool,
    /// Compute units re-executed.
    pub reexecuted_units: u64,
    /// Per miner (by uid): its tally, and (receipts admitted, receipts its behaviour made wrong).
    pub miners: Vec<(u16, MinerTally, (u32, u32))>,
}

/// What a validator publishes at the end of the epoch: weight commitments and due reveals.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    /// Its commitment(s) for this epoch.
    pub commits: Vec<WeightCommit>,
    /// Its reveals due this epoch.
    pub reveals: Vec<WeightReveal>,
}

/// The end of an epoch as one node computed it.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The epoch.
    pub epoch: u64,
    /// The digest of the epoch's Yuma output ([`epoch_digest`]).
    pub digest: Digest,
    /// The Yuma output.
    pub output: EpochOutput,
    /// The miners' figures (simulate's format; tallies from the summaries received).
    pub miners: Vec<MinerRecord>,
    /// The validators' figures (from the summaries received and the weight book).
    pub validators: Vec<ValidatorRecord>,
}

/// What a node carries from one epoch to the next: the chainless emission state (weight book,
/// stored weights, bonds, permits, consensus) and, for a validator, its role's state. A host
/// saves it after every epoch so that a restarted node goes on where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedState {
    /// The next epoch to close.
    pub next_epoch: u64,
    /// The weight book.
    pub weight_book: CommitRevealBook,
    /// The weights Yuma reads, per uid.
    pub stored_weights: Vec<U16Row>,
    /// The block each uid last set weights.
    pub last_update: Vec<u64>,
    /// The bonds.
    pub bonds: Vec<U16Row>,
    /// The validator permits.
    pub permits: Vec<bool>,
    /// The last consensus.
    pub previous_consensus: Option<Vec<u16>>,
    /// The validator role's state (score EMA, bans, pending reveals), for validators.
    pub validator: Option<ValidatorState>,
}

impl HostedState {
    /// The state as JSON.
    ///
    /// # Errors
    /// [`Error::Json`] (not expected).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Json(e.to_string()))
    }

    /// Parses [`HostedState::to_json`]'s output.
    ///
    /// # Errors
    /// [`Error::State`] naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::State(e.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Me {
    Miner(usize),
    Validator(usize),
}

/// One node of the subnet: the genesis, its own role, and the chainless emission state.
#[derive(Debug)]
pub struct Hosted {
    subnet: Subnet,
    me: Me,
    /// The commitment accepted for each (epoch, validator) slot (for the figures only).
    accepted: BTreeMap<(u64, Hotkey), [u8; 32]>,
}

impl Hosted {
    /// The node whose key is `key` in the subnet `scenario` describes; `behaviour` overrides a
    /// miner's scenario behaviour.
    ///
    /// # Errors
    /// [`Error::Scenario`] for an invalid scenario or a behaviour the network does not run;
    /// [`Error::InvalidArgument`] for a key that is not in the roster, or a miner behaviour
    /// given to a validator.
    pub fn new(
        scenario: Scenario,
        key: &SigningKey,
        behaviour: Option<MinerBehaviour>,
    ) -> Result<Self> {
        let mut subnet = Subnet::new(scenario)?;
        for v in &subnet.validators {
            if !matches!(
                v.behaviour,
                ValidatorBehaviour::Honest
                    | ValidatorBehaviour::WeightCopier
                    | ValidatorBehaviour::Colluder
            ) {
                return Err(Error::Scenario(format!(
                    "validators: {:?} validators run in the simulation only",
                    v.behaviour
                )));
            }
        }
        let hotkey = key.hotkey();
        let me = if let Some(vi) = subnet
            .validators
            .iter()
            .position(|v| v.role.hotkey() == hotkey)
        {
            if behaviour.is_some() {
                return Err(Error::InvalidArgument(
                    "behaviour: a miner behaviour given to a validator".into(),
                ));
            }
            Me::Validator(vi)
        } else if let Some(mi) = subnet.miners.iter().position(|m| m.role.hotkey() == hotkey) {
            if let (Some(b), Some(m)) = (behaviour, subnet.miners.get_mut(mi)) {
                m.behaviour = b;
            }
            Me::Miner(mi)
        } else {
            return Err(Error::InvalidArgument(format!(
                "key: hotkey {hotkey} is not registered in this subnet (its roster derives from the scenario's seed)"
            )));
        };
        for m in &subnet.miners {
            let own =
                matches!(me, Me::Miner(i) if subnet.miners.get(i).is_some_and(|x| x.uid == m.uid));
            let runs = matches!(
                m.behaviour,
                MinerBehaviour::Honest
                    | MinerBehaviour::Lazy
                    | MinerBehaviour::Copier
                    | MinerBehaviour::Sloppy
                    | MinerBehaviour::Slow
                    | MinerBehaviour::ClockLiar
            );
            if own && !runs {
                return Err(Error::Scenario(format!(
                    "miners: {} miners run in the simulation only",
                    m.behaviour.name()
                )));
            }
        }
        Ok(Self {
            subnet,
            me,
            accepted: BTreeMap::new(),
        })
    }

    /// The scenario (the genesis).
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.subnet.scenario
    }

    /// The network id.
    #[must_use]
    pub fn network(&self) -> NetworkId {
        self.subnet.network
    }

    /// The subnet id.
    #[must_use]
    pub fn subnet_id(&self) -> SubnetId {
        SubnetId(self.subnet.scenario.subnet)
    }

    /// This node's role.
    #[must_use]
    pub fn role(&self) -> Role {
        match self.me {
            Me::Miner(_) => Role::Miner,
            Me::Validator(_) => Role::Validator,
        }
    }

    /// Checks that this node's key has the role `want` in the roster (a host started as a
    /// miner with a validator's key, or the reverse, must not run).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming both roles.
    pub fn expect_role(&self, want: Role) -> Result<()> {
        let role = self.role();
        if role == want {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "this key is a {} in the subnet's roster, not a {}",
            role.name(),
            want.name()
        )))
    }

    /// This node's member entry.
    ///
    /// # Errors
    /// Not expected (the node is in the roster by construction).
    pub fn me(&self) -> Result<Member> {
        let all = self.roster();
        let uid = match self.me {
            Me::Miner(i) => at(&self.subnet.miners, i, "miner")?.uid,
            Me::Validator(i) => at(&self.subnet.validators, i, "validator")?.uid,
        };
        all.into_iter()
            .find(|m| m.uid == uid)
            .ok_or_else(|| Error::InvalidArgument("node: not in the roster".into()))
    }

    /// Every registered neuron, validators first (uid order).
    #[must_use]
    pub fn roster(&self) -> Vec<Member> {
        let v = self.subnet.validators.iter().map(|v| Member {
            uid: v.uid,
            hotkey: v.role.hotkey(),
            role: Role::Validator,
            behaviour: match v.behaviour {
                ValidatorBehaviour::Honest => "honest",
                ValidatorBehaviour::WeightCopier => "weight-copier",
                ValidatorBehaviour::Colluder => "colluder",
                ValidatorBehaviour::Framer => "framer",
                ValidatorBehaviour::Equivocator => "equivocator",
            },
        });
        let m = self.subnet.miners.iter().map(|m| Member {
            uid: m.uid,
            hotkey: m.role.hotkey(),
            role: Role::Miner,
            behaviour: m.behaviour.name(),
        });
        v.chain(m).collect()
    }

    /// The member with this hotkey, if registered.
    #[must_use]
    pub fn member(&self, hotkey: &Hotkey) -> Option<Member> {
        self.roster().into_iter().find(|m| m.hotkey == *hotkey)
    }

    /// The beacon of epoch `e`: the simulation's hash chain from the seed.
    #[must_use]
    pub fn beacon(&self, e: u64) -> [u8; 32] {
        let mut b = derive("beacon", &[&self.subnet.scenario.seed.to_le_bytes()]);
        for i in 0..=e {
            b = derive("beacon-step", &[&b, &i.to_le_bytes()]);
        }
        b
    }

    /// The next epoch [`Hosted::close_epoch`] closes.
    #[must_use]
    pub fn next_epoch(&self) -> u64 {
        self.subnet.next_epoch
    }

    fn validator_index(&self) -> Result<usize> {
        match self.me {
            Me::Validator(i) => Ok(i),
            Me::Miner(_) => Err(Error::InvalidArgument(
                "role: a validator phase called on a miner".into(),
            )),
        }
    }

    fn miner_index(&self) -> Result<usize> {
        match self.me {
            Me::Miner(i) => Ok(i),
            Me::Validator(_) => Err(Error::InvalidArgument(
                "role: a miner phase called on a validator".into(),
            )),
        }
    }

    /// The tasks this validator gives every miner in epoch `e`, by miner then index (the
    /// simulation's tasks exactly).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on a miner; task errors.
    pub fn validator_tasks(&self, e: u64) -> Result<Vec<Assigned>> {
        let vi = self.validator_index()?;
        let v = at(&self.subnet.validators, vi, "validator")?;
        let ctx = self.subnet.ctx(e, self.beacon(e));
        let per = self.subnet.scenario.tasks.per_miner;
        let mut out = Vec::new();
        for m in &self.subnet.miners {
            for index in 0..per {
                let task = issue_task(
                    &self.subnet.scenario.tasks,
                    &self.subnet.pool,
                    ctx,
                    &v.role.hotkey(),
                    &m.role.hotkey(),
                    index,
                )?;
                out.push(Assigned {
                    uid: m.uid,
                    miner: m.role.hotkey(),
                    index,
                    task,
                });
            }
        }
        Ok(out)
    }

    /// An empty book of issued tasks for epoch `e` (the host records each task when it sends
    /// it, with the time it was sent).
    #[must_use]
    pub fn new_book(&self, e: u64) -> IssuedTasks {
        IssuedTasks::new(self.subnet.network, self.subnet_id(), Epoch(e))
    }

    /// A miner checks a task it was sent and executes it: the sender must be a registered
    /// validator, and the task exactly one that validator issues this miner in epoch `e`
    /// (recomputed from the beacon), so a peer cannot make a miner run work of its choosing.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the broken rule; kernel errors.
    pub fn miner_work(&self, e: u64, assigner: &Hotkey, task: &TaskSpec) -> Result<Work> {
        let mi = self.miner_index()?;
        let m = at(&self.subnet.miners, mi, "miner")?;
        let vi = self
            .subnet
            .validators
            .iter()
            .position(|v| v.role.hotkey() == *assigner)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("task: sender {assigner} is not a validator"))
            })?;
        if task.network != self.subnet.network
            || task.subnet != self.subnet_id()
            || task.epoch != Epoch(e)
        {
            return Err(Error::InvalidArgument(format!(
                "task: for network/subnet/epoch {}/{}/{}, this node is in {}/{}/{e}",
                task.network,
                task.subnet.0,
                task.epoch.0,
                self.subnet.network,
                self.subnet.scenario.subnet
            )));
        }
        let beacon = self.beacon(e);
        let ctx = self.subnet.ctx(e, beacon);
        let me = m.role.hotkey();
        let mut index = None;
        for i in 0..self.subnet.scenario.tasks.per_miner {
            let t = issue_task(
                &self.subnet.scenario.tasks,
                &self.subnet.pool,
                ctx,
                assigner,
                &me,
                i,
            )?;
            if t == *task {
                index = Some(i);
                break;
            }
        }
        let index = index.ok_or_else(|| {
            Error::InvalidArgument("task: not a task this validator issues this miner".into())
        })?;
        let coord = derive(
            "coord",
            &[
                &beacon,
                &(mi as u64).to_le_bytes(),
                &(vi as u64).to_le_bytes(),
                &index.to_le_bytes(),
            ],
        );
        // A copier sees no other miner's output for its own task in time: it answers lazily.
        let behaviour = match m.behaviour {
            MinerBehaviour::Copier => MinerBehaviour::Lazy,
            b => b,
        };
        let claim = execute_as(behaviour, &self.subnet.pool, task, index, &coord)?
            .ok_or_else(|| Error::InvalidArgument("miner: no claim".into()))?;
        Ok(Work {
            task: *task,
            assigner: *assigner,
            index,
            claim,
        })
    }

    /// A miner signs the receipt for `work` with the times the host measured (Unix ms). A
    /// clock liar signs `finished = started`.
    ///
    /// # Errors
    /// Protocol errors.
    pub fn miner_sign(
        &self,
        work: &Work,
        started_at_ms: u64,
        finished_at_ms: u64,
    ) -> Result<SignedReceipt> {
        let m = at(&self.subnet.miners, self.miner_index()?, "miner")?;
        let finished = if m.behaviour == MinerBehaviour::ClockLiar {
            started_at_ms
        } else {
            finished_at_ms
        };
        m.role.sign(
            &work.task,
            work.claim,
            ReceiptFields {
                assigner: work.assigner,
                nonce: u64::from(work.index),
                started_at_ms,
                finished_at_ms: finished,
                backend: BackendLabel::new(BACKEND_LABEL)?,
            },
        )
    }

    /// A validator's check phase over the receipts it received (each with its arrival time,
    /// Unix ms): the simulation's own phase 4. The receipts are put in a canonical order (miner
    /// uid, then nonce) first, so the batch does not depend on arrival order. `secret` is the
    /// sample secret whose commitment the validator published before any receipt.
    ///
    /// # Errors
    /// Protocol and kernel errors.
    pub fn validator_check(
        &self,
        e: u64,
        secret: &[u8; 32],
        book: IssuedTasks,
        inbox: Vec<(SignedReceipt, u64)>,
    ) -> Result<CheckReport> {
        let vi = self.validator_index()?;
        let uid_of: BTreeMap<Hotkey, u16> = self
            .subnet
            .miners
            .iter()
            .map(|m| (m.role.hotkey(), m.uid))
            .collect();
        let mut inbox: Vec<Delivery> = inbox
            .into_iter()
            .map(|(receipt, arrived_ms)| Delivery {
                receipt,
                arrived_ms,
            })
            .collect();
        inbox.sort_by_key(|d| {
            (
                uid_of
                    .get(&d.receipt.body.miner)
                    .copied()
                    .unwrap_or(u16::MAX),
                d.receipt.body.nonce,
                d.receipt.body.task_digest,
            )
        });
        let beacon = self.beacon(e);
        let checked = self
            .subnet
            .check(vi, e, &beacon, secret, book, &inbox, &NoClock)?;
        let mut proofs = Vec::with_capacity(checked.proofs.len());
        for (mi, _, p) in &checked.proofs {
            proofs.push((at(&self.subnet.miners, *mi, "miner")?.uid, p.clone()));
        }
        Ok(CheckReport { checked, proofs })
    }

    /// The summary of a check phase, for the other nodes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] on a miner.
    pub fn summary(&self, e: u64, report: &CheckReport) -> Result<Summary> {
        let vi = self.validator_index()?;
        let c = &report.checked;
        let mut miners = Vec::with_capacity(c.per_miner.len());
        for (mi, t) in &c.per_miner {
            let uid = at(&self.subnet.miners, *mi, "miner")?.uid;
            let x = c.exposure.get(mi).copied().unwrap_or((0, 0));
            miners.push((uid, t.clone(), x));
        }
        Ok(Summary {
            validator: at(&self.subnet.validators, vi, "validator")?.uid,
            epoch: e,
            receipt_root: c.batch.root,
            receipts: c.receipts,
            bad_signatures: c.bad_signatures,
            spot_checked: c.spot_checked,
            mismatches: c.proofs.len() as u32,
            rejections: c.rejections.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            checks: c.checks,
            reexecuted_units: c.reexecuted_units,
            miners,
        })
    }

    /// A validator acts on a fraud proof it received (its own included): if the proof holds
    /// (full re-execution from the proof alone) it bans the miner for `fraud_ban_epochs` from
    /// `e`, unless its behaviour ignores the proof. Returns the banned miner's uid.
    ///
    /// # Errors
    /// The [`crate::FraudError`] of a proof that does not hold; [`Error::InvalidArgument`] on a
    /// miner, or for a proof against a hotkey that is no miner here.
    pub fn validator_apply_proof(&mut self, e: u64, proof: &FraudProof) -> Result<u16> {
        let vi = self.validator_index()?;
        let confirmed = proof.check()?;
        let miner = confirmed.receipt.body.miner;
        let (mi, uid) = self
            .subnet
            .miners
            .iter()
            .enumerate()
            .find(|(_, m)| m.role.hotkey() == miner)
            .map(|(i, m)| (i, m.uid))
            .ok_or_else(|| Error::InvalidArgument("proof: not against a miner".into()))?;
        let until = e.saturating_add(self.subnet.scenario.scoring.fraud_ban_epochs);
        let target = self.subnet.colluder_target;
        if let Some(v) = self.subnet.validators.get_mut(vi) {
            let ignores = v.behaviour == ValidatorBehaviour::WeightCopier
                || (v.behaviour == ValidatorBehaviour::Colluder && Some(mi) == target);
            if !ignores {
                v.role.ban(miner, until);
            }
        }
        Ok(uid)
    }

    /// A validator's end of epoch `e`: scores from its check phase, weights, the commitment
    /// (with the host's random `salt`) and the reveals now due. The host publishes both and
    /// offers them to its own book too.
    ///
    /// # Errors
    /// Scoring errors.
    pub fn validator_settle(
        &mut self,
        e: u64,
        report: &CheckReport,
        salt: [u8; 32],
    ) -> Result<Settlement> {
        let vi = self.validator_index()?;
        let params = ScoreParams {
            latency_target_ms: self.subnet.scenario.scoring.latency_target_ms,
        };
        let weights = self.subnet.weights_for(vi, e, &report.checked, &params)?;
        let network = self.subnet.network;
        let subnet = self.subnet_id();
        let delay = self.subnet.scenario.scoring.reveal_delay_epochs;
        let v = self
            .subnet
            .validators
            .get_mut(vi)
            .ok_or_else(|| Error::InvalidArgument("validator index".into()))?;
        let commit = v
            .role
            .commit_weights(network, subnet, Epoch(e), weights, salt)?;
        let reveals = v
            .role
            .due_reveals(e, delay)
            .into_iter()
            .map(|p| p.reveal)
            .collect();
        Ok(Settlement {
            commits: std::vec![commit],
            reveals,
        })
    }

    /// Offers a weight commitment to this node's book. Only a registered validator's
    /// commitment for this network and subnet counts.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a commitment from elsewhere.
    pub fn offer_commit(&mut self, c: &WeightCommit) -> Result<CommitOutcome> {
        self.check_slot(c.network, c.subnet, &c.hotkey)?;
        let outcome = self.subnet.weight_book.commit(c);
        if outcome == CommitOutcome::Accepted {
            self.accepted.insert((c.epoch.0, c.hotkey), c.commitment);
        }
        Ok(outcome)
    }

    /// Offers a reveal to this node's book.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a reveal from elsewhere.
    pub fn offer_reveal(&mut self, r: &WeightReveal) -> Result<RevealOutcome> {
        self.check_slot(r.network, r.subnet, &r.hotkey)?;
        Ok(self.subnet.weight_book.reveal(r))
    }

    fn check_slot(&self, network: NetworkId, subnet: SubnetId, hotkey: &Hotkey) -> Result<()> {
        if network != self.subnet.network || subnet != self.subnet_id() {
            return Err(Error::InvalidArgument(
                "weights: for another network or subnet".into(),
            ));
        }
        if !self
            .subnet
            .validators
            .iter()
            .any(|v| v.role.hotkey() == *hotkey)
        {
            return Err(Error::InvalidArgument(format!(
                "weights: {hotkey} is not a validator"
            )));
        }
        Ok(())
    }

    /// Closes epoch `e` on this node: the reveals due settle from the book, the Yuma epoch
    /// runs over the stored weights, and the figures are built from the validators'
    /// `summaries` (one per validator at most; missing ones count as no receipts).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `e` is not [`Hosted::next_epoch`]; emission errors.
    pub fn close_epoch(&mut self, e: u64, summaries: &[Summary]) -> Result<Closed> {
        if e != self.subnet.next_epoch {
            return Err(Error::InvalidArgument(format!(
                "epoch: closing {e}, but the next epoch to close is {}",
                self.subnet.next_epoch
            )));
        }
        // The figures of the slot committed this epoch, before the book is pruned.
        let equivocations = self.subnet.weight_book.equivocations().to_vec();
        let outcomes = self.subnet.apply_reveals(e);
        let out = self.subnet.run_yuma(e)?;
        self.subnet.next_epoch = e + 1;
        self.accepted.retain(|(x, _), _| *x >= e);
        let digest = epoch_digest(e, &out)?;

        // Tallies keyed by miner index, per validator (uid order).
        let index_of: BTreeMap<u16, usize> = self
            .subnet
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| (m.uid, i))
            .collect();
        type Maps = (
            BTreeMap<usize, MinerTally>,
            BTreeMap<usize, (u32, u32)>,
            bool,
        );
        let mut by_validator: Vec<(u16, Maps)> = Vec::new();
        for s in summaries {
            if s.epoch != e || by_validator.iter().any(|(u, _)| *u == s.validator) {
                continue;
            }
            let mut per = BTreeMap::new();
            let mut exp = BTreeMap::new();
            for (uid, t, x) in &s.miners {
                if let Some(&i) = index_of.get(uid) {
                    per.insert(i, t.clone());
                    exp.insert(i, *x);
                }
            }
            by_validator.push((s.validator, (per, exp, s.checks)));
        }
        by_validator.sort_by_key(|(u, _)| *u);
        let views: Vec<TallyView<'_>> = by_validator
            .iter()
            .map(|(_, (per, exp, checks))| TallyView {
                per_miner: per,
                exposure: exp,
                checks: *checks,
            })
            .collect();
        let miners = self.subnet.miner_records(&views, &out);

        let sig_units = self.subnet.scenario.timing.signature_check_units;
        let mut validators = Vec::with_capacity(self.subnet.validators.len());
        for (v, outcome) in self.subnet.validators.iter().zip(outcomes) {
            let u = usize::from(v.uid);
            let hk = v.role.hotkey();
            let s = summaries
                .iter()
                .find(|s| s.epoch == e && s.validator == v.uid);
            let commitment = self
                .accepted
                .get(&(e, hk))
                .map(hex::encode)
                .unwrap_or_default();
            let (revealed, reveal) = match outcome {
                None => (None, "none due".to_string()),
                Some(SlotOutcome::Revealed(w)) => (Some(w), "revealed".to_string()),
                Some(_) => (None, "missed".to_string()),
            };
            let dividends = out.dividends.get(u).copied().unwrap_or(0);
            let credited: u64 = s
                .map(|s| s.miners.iter().map(|(_, t, _)| t.units).sum())
                .unwrap_or(0);
            validators.push(ValidatorRecord {
                uid: v.uid,
                receipt_root: s.map_or(Digest([0; 32]), |s| s.receipt_root),
                receipts: s.map_or(0, |s| s.receipts),
                bad_signatures: s.map_or(0, |s| s.bad_signatures),
                spot_checked: s.map_or(0, |s| s.spot_checked),
                mismatches: s.map_or(0, |s| s.mismatches),
                weights_commitment: commitment,
                weights_revealed: revealed,
                reveal,
                equivocations: equivocations
                    .iter()
                    .filter(|q| q.slot.hotkey == hk && q.slot.epoch == Epoch(e))
                    .count() as u32,
                rejections: s
                    .map(|s| s.rejections.iter().cloned().collect())
                    .unwrap_or_default(),
                dividends,
                dividend_share: q32_share(dividends),
                vtrust: out.validator_trust_u16.get(u).copied().unwrap_or(0),
                emission_rao: out.validator_emission.get(u).copied().unwrap_or(0),
                credited_units: credited,
                checking_units: s.map_or(0, |s| {
                    u64::from(s.receipts)
                        .saturating_mul(sig_units)
                        .saturating_add(s.reexecuted_units)
                }),
            });
        }
        Ok(Closed {
            epoch: e,
            digest,
            output: out,
            miners,
            validators,
        })
    }

    /// The state to save after an epoch.
    #[must_use]
    pub fn state(&self) -> HostedState {
        let s = &self.subnet;
        HostedState {
            next_epoch: s.next_epoch,
            weight_book: s.weight_book.clone(),
            stored_weights: s.stored_weights.clone(),
            last_update: s.last_update.clone(),
            bonds: s.bonds.clone(),
            permits: s.permits.clone(),
            previous_consensus: s.previous_consensus.clone(),
            validator: match self.me {
                Me::Validator(vi) => s.validators.get(vi).map(|v| v.role.state().clone()),
                Me::Miner(_) => None,
            },
        }
    }

    /// Restores a saved state (a restarted node).
    ///
    /// # Errors
    /// [`Error::State`] for a state of another subnet size or role.
    pub fn restore(&mut self, state: HostedState, key: &SigningKey) -> Result<()> {
        let n = self.subnet.validators.len() + self.subnet.miners.len();
        if state.stored_weights.len() != n
            || state.last_update.len() != n
            || state.bonds.len() != n
            || state.permits.len() != n
        {
            return Err(Error::State(format!(
                "the saved state is for another subnet (not {n} neurons)"
            )));
        }
        match (self.me, state.validator) {
            (Me::Validator(vi), Some(vs)) => {
                let v = self
                    .subnet
                    .validators
                    .get_mut(vi)
                    .ok_or_else(|| Error::State("validator index".into()))?;
                if v.role.hotkey() != key.hotkey() {
                    return Err(Error::State("the saved state is another node's".into()));
                }
                v.role = Validator::from_state(key.clone(), vs);
            }
            (Me::Miner(_), None) => {}
            _ => return Err(Error::State("the saved state is for the other role".into())),
        }
        let s = &mut self.subnet;
        s.next_epoch = state.next_epoch;
        s.weight_book = state.weight_book;
        s.stored_weights = state.stored_weights;
        s.last_update = state.last_update;
        s.bonds = state.bonds;
        s.permits = state.permits;
        s.previous_consensus = state.previous_consensus;
        Ok(())
    }
}

/// Every node's key in the subnet `scenario` describes, validators first (uid order): the
/// simulation derives all keys from the run seed, so a localnet of that scenario is a test
/// network whose secrets are its seed. `mycel localnet` writes these to key files.
///
/// # Errors
/// [`Error::Scenario`] for an invalid scenario.
pub fn genesis_keys(scenario: &Scenario) -> Result<Vec<SigningKey>> {
    scenario.validate()?;
    let seed = scenario.seed.to_le_bytes();
    let nv = scenario.validator_behaviours().len();
    let nm = scenario.miner_behaviours().len();
    let v = (0..nv as u64)
        .map(|i| SigningKey::from_seed(&derive("validator-key", &[&seed, &i.to_le_bytes()])));
    let m = (0..nm as u64)
        .map(|i| SigningKey::from_seed(&derive("miner-key", &[&seed, &i.to_le_bytes()])));
    Ok(v.chain(m).collect())
}

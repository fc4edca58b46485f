//! The validator role, one method per step, in the order an epoch runs them:
//!
//! | step | method | input → output |
//! |---|---|---|
//! | issue tasks | [`tasks::issue_task`], [`intake::IssuedTasks::issue`] | beacon, miner, index → [`TaskSpec`] |
//! | commit the sample secret | [`sample::secret_commitment`] | secret → commitment (before receipts) |
//! | admit receipts | [`intake::IssuedTasks::admit`] | receipt → its issued task, or a [`intake::Rejection`] |
//! | commit the batch | [`Validator::commit_batch`] | receipts → [`CommittedBatch`] (Merkle root) |
//! | verify signatures | [`Validator::verify_batch`] | batch, coefficient seed → per-receipt result |
//! | draw the sample | [`sample::sample_seed`], [`sample::sample`] | root, revealed secret → indices to re-execute |
//! | re-execute | [`Validator::reexecute`] | task, weights → [`Claim`] |
//! | verdicts | [`Validator::judge`] | receipt, truth → [`SignedVerdict`] |
//! | fraud proofs | [`Validator::fraud_proof`] | mismatch → [`FraudProof`] |
//! | tile challenge | [`crate::tile_proof::first_differing_tile`], [`Validator::judge_opening`] | the miner's tile hashes, then its opening → [`TileJudgement`] (a [`TileProof`] on a wrong tile) |
//! | scores → weights | [`Validator::update_scores`], [`Validator::weights`] | [`score::MinerTally`] → u16 weights |
//! | commit / reveal | [`Validator::commit_weights`], [`Validator::due_reveals`] | weights → commitment, later the reveal |
//!
//! A host may call any subset (a browser validator may only verify and re-execute). What the
//! validator carries across epochs (score EMA, bans, pending reveals) is [`ValidatorState`],
//! which [`Validator::state`] saves and [`Validator::from_state`] restores, so a validator
//! restarted between a commit and its reveal still reveals.

pub mod intake;
pub mod sample;
pub mod score;
pub mod tasks;

use std::collections::{BTreeMap, VecDeque};
use std::string::String;
use std::vec::Vec;

use mycel_kernels::Backend;
use mycel_kernels::exec::execute;
use mycel_protocol::commit::MerkleTree;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict};
use mycel_protocol::scoring::{
    ScoreEma, WeightCommit, WeightReveal, commit_weights, weights_from_scores,
};
use mycel_protocol::sign::{Signed, verify_signed_batch_with_seed};
use mycel_protocol::task::TaskSpec;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fraud::{BatchMembership, FraudProof, WeightsSource};
use crate::miner::Claim;
use crate::tile_proof::{TileProof, WeightsInput};

/// A receipt batch as a validator committed it: the batch, its Merkle tree and root, the
/// canonical envelope bytes and each receipt's id.
#[derive(Debug, Clone)]
pub struct CommittedBatch {
    /// The batch.
    pub batch: ReceiptBatch,
    /// The RFC 6962 tree over the receipt ids.
    pub tree: MerkleTree,
    /// Its root: what the validator publishes before drawing its sample.
    pub root: Digest,
    /// The batch's canonical envelope.
    pub bytes: Vec<u8>,
    /// Receipt ids, in batch order.
    pub ids: Vec<Digest>,
}

/// What recomputing one opened tile found ([`Validator::judge_opening`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TileJudgement {
    /// The opened tile is the tile the task gives: the miner is right about this tile.
    Matches,
    /// The opening does not fit the task or its path does not lead to the receipt's tile root
    /// (the reason): the receipt is a mismatch that earns nothing, but no third party can be
    /// shown a tile.
    BadOpening(String),
    /// The opened tile differs from the recomputed one: a tile fraud proof anyone can check.
    Mismatch(Box<TileProof>),
    /// The opened tile differs, but no third party can be shown it (the reason: a
    /// kernel-version-1 task with weights that are not seeded commits them by one SHA-256, so
    /// a proof would have to carry the whole matrix). The receipt earns nothing.
    MismatchUnprovable(String),
}

/// What re-executing a receipt found ([`Validator::judge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Commitment and tile root both match: the signed `Match` verdict.
    Match(SignedVerdict),
    /// The commitment differs: the signed `Mismatch` verdict, the core of a fraud proof.
    Mismatch(SignedVerdict),
    /// The commitment matches but the tile root does not: the receipt earns nothing.
    TileRootMismatch {
        /// The tile root re-execution gives.
        recomputed: Digest,
    },
}

impl Judgement {
    /// Whether the receipt is correct (both commitments match).
    #[must_use]
    pub fn is_match(&self) -> bool {
        matches!(self, Self::Match(_))
    }

    /// The signed verdict, if one could be signed.
    #[must_use]
    pub fn verdict(&self) -> Option<&SignedVerdict> {
        match self {
            Self::Match(v) | Self::Mismatch(v) => Some(v),
            Self::TileRootMismatch { .. } => None,
        }
    }
}

/// A weight commitment and the reveal that opens it, kept until the reveal is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReveal {
    /// The published commitment.
    pub commit: WeightCommit,
    /// What opens it (weights and salt: secret until revealed).
    pub reveal: WeightReveal,
}

/// What a validator carries across epochs; serialisable so a host can save and restore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorState {
    /// The score EMA.
    pub ema: ScoreEma,
    /// Banned miners and the last epoch of each ban.
    pub banned_until: BTreeMap<Hotkey, u64>,
    /// Commitments not yet revealed, oldest first.
    pub pending: VecDeque<PendingReveal>,
}

impl ValidatorState {
    /// The state as JSON (what a host stores).
    ///
    /// # Errors
    /// [`Error::Json`] (not expected).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Json(e.to_string()))
    }

    /// Parses [`ValidatorState::to_json`]'s output.
    ///
    /// # Errors
    /// [`Error::State`] naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::State(e.to_string()))
    }
}

/// A validator: its key and the state it carries across epochs.
#[derive(Debug)]
pub struct Validator {
    key: SigningKey,
    state: ValidatorState,
}

impl Validator {
    /// A validator signing with `key`, with a score EMA of coefficient `ema_alpha` (Q32 bits in
    /// `[0, 2^32]`).
    ///
    /// # Errors
    /// The scoring error for an `ema_alpha` out of range.
    pub fn new(key: SigningKey, ema_alpha: i64) -> Result<Self> {
        Ok(Self {
            key,
            state: ValidatorState {
                ema: ScoreEma::new(ema_alpha)?,
                banned_until: BTreeMap::new(),
                pending: VecDeque::new(),
            },
        })
    }

    /// A validator restored from saved state.
    #[must_use]
    pub fn from_state(key: SigningKey, state: ValidatorState) -> Self {
        Self { key, state }
    }

    /// The state to save.
    #[must_use]
    pub fn state(&self) -> &ValidatorState {
        &self.state
    }

    /// The validator's hotkey.
    #[must_use]
    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    /// Commits to the receipts it received: builds the batch and its Merkle root over the
    /// receipt ids (spec/receipts.md), and encodes the batch canonically.
    ///
    /// # Errors
    /// Protocol errors: a batch over the size limit, a receipt that cannot be encoded.
    pub fn commit_batch(
        &self,
        network: NetworkId,
        subnet: SubnetId,
        epoch: Epoch,
        receipts: Vec<SignedReceipt>,
    ) -> Result<CommittedBatch> {
        let batch = ReceiptBatch {
            network,
            subnet,
            epoch,
            receipts,
        };
        let tree = batch.tree()?;
        let root = tree.root();
        let bytes = mycel_protocol::wire::encode(&batch)?;
        let ids = batch
            .receipts
            .iter()
            .map(Signed::id)
            .collect::<core::result::Result<Vec<_>, _>>()?;
        Ok(CommittedBatch {
            batch,
            tree,
            root,
            bytes,
            ids,
        })
    }

    /// Batch-verifies the receipts' signatures with random coefficients drawn from `seed`
    /// (the host supplies randomness); the result names each failing receipt by its index.
    #[must_use]
    pub fn verify_batch(
        &self,
        batch: &CommittedBatch,
        seed: &[u8; 32],
    ) -> Vec<core::result::Result<(), mycel_protocol::Error>> {
        verify_signed_batch_with_seed(&batch.batch.receipts, seed)
    }

    /// Re-executes a task (`weights`: the bare GGML blocks of a matmul task).
    ///
    /// # Errors
    /// Kernel errors.
    pub fn reexecute(
        &self,
        task: &TaskSpec,
        weights: Option<&[u8]>,
        backend: Backend,
        threads: usize,
    ) -> Result<Claim> {
        let out = execute(task, weights, backend, threads)?;
        Ok(Claim::from(&out))
    }

    /// Judges a receipt against the re-executed truth, comparing both the output commitment and
    /// the tile root. A commitment that differs gives a signed `Mismatch` verdict (with the
    /// recomputed commitment: a fraud proof); equal commitments with another tile root give
    /// [`Judgement::TileRootMismatch`] (the receipt earns nothing, but a v1 verdict cannot
    /// carry the tile root, so there is no fraud proof); both equal give a signed `Match`.
    ///
    /// # Errors
    /// Protocol errors (signing).
    pub fn judge(
        &self,
        receipt_id: Digest,
        receipt: &SignedReceipt,
        truth: Claim,
    ) -> Result<Judgement> {
        let claimed = &receipt.body;
        let outcome = if truth.commitment != claimed.output_commitment {
            Outcome::Mismatch
        } else if truth.tile_root != claimed.output_tile_root {
            return Ok(Judgement::TileRootMismatch {
                recomputed: truth.tile_root,
            });
        } else {
            Outcome::Match
        };
        let verdict = Signed::sign(
            Verdict {
                validator: self.key.hotkey(),
                receipt_id,
                outcome,
                recomputed_commitment: Some(truth.commitment),
            },
            &self.key,
        )?;
        Ok(if outcome == Outcome::Match {
            Judgement::Match(verdict)
        } else {
            Judgement::Mismatch(verdict)
        })
    }

    /// Signs an `Unchecked` verdict on a receipt it accepted without re-execution.
    ///
    /// # Errors
    /// Protocol errors (signing).
    pub fn unchecked(&self, receipt_id: Digest) -> Result<SignedVerdict> {
        Ok(Signed::sign(
            Verdict {
                validator: self.key.hotkey(),
                receipt_id,
                outcome: Outcome::Unchecked,
                recomputed_commitment: None,
            },
            &self.key,
        )?)
    }

    /// The fraud proof for the mismatching receipt at `index` of `batch`, with its inclusion
    /// proof under the committed root.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an index outside the batch, protocol errors otherwise.
    pub fn fraud_proof(
        &self,
        batch: &CommittedBatch,
        index: usize,
        task: &TaskSpec,
        verdict: &SignedVerdict,
        weights: Option<WeightsSource>,
        note: String,
    ) -> Result<FraudProof> {
        let receipt = batch.batch.receipts.get(index).ok_or_else(|| {
            Error::InvalidArgument(std::format!("receipt index {index} outside the batch"))
        })?;
        let membership = BatchMembership {
            root: batch.root,
            proof: batch.tree.proof(index as u64)?,
        };
        FraudProof::new(task, receipt, verdict, weights, Some(membership), note)
    }

    /// Judges a miner's opening of one tile of `receipt` (spec/receipts.md §8b): checks that it
    /// fits the task and leads to the receipt's signed tile root, recomputes that tile alone on
    /// `backend` with the weights at hand, and, if the tiles differ, builds the tile fraud proof
    /// (with the tile's weight rows, or the seed that regenerates them).
    ///
    /// # Errors
    /// A receipt that does not belong to the task; weights that do not fit the task; kernel
    /// errors recomputing the tile.
    pub fn judge_opening(
        &self,
        task: &TaskSpec,
        receipt: &SignedReceipt,
        opening: &mycel_protocol::opening::TileOpening,
        weights: WeightsInput<'_>,
        backend: Backend,
    ) -> Result<TileJudgement> {
        receipt.body.check_task(task)?;
        let grid = mycel_protocol::opening::TileGrid::of_task(task);
        let rect = match opening.verify(&grid, &receipt.body.output_tile_root) {
            Ok(rect) => rect,
            Err(e) => return Ok(TileJudgement::BadOpening(format!("{e} ({})", e.code()))),
        };
        let is_matmul = mycel_kernels::exec::weight_format(task.kernel).is_some();
        let rows = match (is_matmul, weights) {
            (false, _) => None,
            (true, WeightsInput::Bytes(bytes)) => {
                let row = mycel_kernels::exec::weight_format(task.kernel)
                    .map(|f| match task.params {
                        mycel_protocol::task::KernelParams::Matmul { k, .. } => {
                            f.matrix_bytes(1, k as usize)
                        }
                        _ => Ok(0),
                    })
                    .transpose()?
                    .unwrap_or(0);
                let (c0, c1) = (rect.col0 as usize, rect.col1 as usize);
                Some(
                    bytes
                        .get(c0.saturating_mul(row)..c1.saturating_mul(row))
                        .ok_or_else(|| Error::InvalidArgument("weights: too short".into()))?
                        .to_vec(),
                )
            }
            (true, WeightsInput::Seeded(seed)) => {
                match (mycel_kernels::exec::weight_format(task.kernel), task.params) {
                    (Some(f), mycel_protocol::task::KernelParams::Matmul { k, .. }) => {
                        Some(mycel_kernels::tile::generate_weight_rows(
                            &seed,
                            f,
                            k as usize,
                            rect.col0 as usize,
                            rect.col1 as usize,
                        )?)
                    }
                    _ => None,
                }
            }
            (true, _) => {
                return Err(Error::InvalidArgument(
                    "a matmul tile needs the task's weights".into(),
                ));
            }
        };
        let tile = mycel_kernels::tile::task_tile(task, &rect, rows.as_deref(), backend)?;
        if tile == opening.tile {
            return Ok(TileJudgement::Matches);
        }
        Ok(
            match TileProof::new(task, receipt, opening, weights, None, String::new()) {
                Ok(proof) => TileJudgement::Mismatch(Box::new(proof)),
                Err(Error::InvalidArgument(reason)) => TileJudgement::MismatchUnprovable(reason),
                Err(e) => return Err(e),
            },
        )
    }

    /// Bans `miner` through epoch `until` (a later ban never shortens an earlier one).
    pub fn ban(&mut self, miner: Hotkey, until: u64) {
        let u = self.state.banned_until.entry(miner).or_insert(0);
        *u = (*u).max(until);
    }

    /// Whether `miner` is banned in `epoch`.
    #[must_use]
    pub fn is_banned(&self, miner: &Hotkey, epoch: u64) -> bool {
        self.state
            .banned_until
            .get(miner)
            .is_some_and(|&u| epoch <= u)
    }

    /// Folds one epoch's scores into the score EMA.
    ///
    /// # Errors
    /// The scoring error for duplicate uids (the EMA is then unchanged).
    pub fn update_scores(&mut self, scores: &[(u16, u64)]) -> Result<()> {
        Ok(self.state.ema.update(scores)?)
    }

    /// The EMA's weights over the uids `keep` accepts (spec/scoring.md section 3).
    ///
    /// # Errors
    /// Scoring errors (not expected for the EMA's own values).
    pub fn weights(&self, keep: impl Fn(u16) -> bool) -> Result<Vec<(u16, u16)>> {
        let kept: Vec<(u16, u64)> = self
            .state
            .ema
            .values()
            .iter()
            .filter(|(uid, _)| keep(*uid))
            .map(|&(uid, x)| (uid, u64::try_from(x).unwrap_or(0)))
            .collect();
        Ok(weights_from_scores(&kept)?)
    }

    /// Commits to `weights` for (`network`, `subnet`, `epoch`) with a 32-byte `salt` the host
    /// draws (spec/scoring.md section 4) and keeps the reveal until it is due.
    ///
    /// # Errors
    /// Scoring errors (duplicate uids, too many entries).
    pub fn commit_weights(
        &mut self,
        network: NetworkId,
        subnet: SubnetId,
        epoch: Epoch,
        weights: Vec<(u16, u16)>,
        salt: [u8; 32],
    ) -> Result<WeightCommit> {
        let hotkey = self.key.hotkey();
        let commit = commit_weights(network, hotkey, subnet, epoch, &weights, &salt)?;
        self.state.pending.push_back(PendingReveal {
            commit,
            reveal: WeightReveal {
                network,
                hotkey,
                subnet,
                epoch,
                weights,
                salt,
            },
        });
        Ok(commit)
    }

    /// Takes the pending reveals due in `epoch` (committed at least `delay` epochs earlier),
    /// oldest first.
    pub fn due_reveals(&mut self, epoch: u64, delay: u64) -> Vec<PendingReveal> {
        let mut out = Vec::new();
        while let Some(p) = self.state.pending.front() {
            if p.commit.epoch.0.saturating_add(delay) > epoch {
                break;
            }
            if let Some(p) = self.state.pending.pop_front() {
                out.push(p);
            }
        }
        out
    }
}

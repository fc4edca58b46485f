//! Work receipts, verdicts and receipt batches (spec/receipts.md).
//!
//! A miner signs a [`WorkReceipt`] committing to the output of one [`TaskSpec`]; validators
//! re-execute a sample and answer with signed [`Verdict`]s. A [`ReceiptBatch`] commits to its
//! receipts with a Merkle root over their ids, so one hash per epoch proves any receipt in it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::commit::merkle::{InclusionProof, MerkleTree};
use crate::error::{ReceiptError, Result};
use crate::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use crate::sign::{Signable, Signed};
use crate::task::TaskSpec;
use crate::wire::{Message, MessageKind};

/// Longest backend label, in bytes.
pub const MAX_BACKEND_LABEL: usize = 32;

/// Most receipts in one [`ReceiptBatch`].
pub const MAX_BATCH_RECEIPTS: usize = 2048;

/// A diagnostic label naming the backend that ran the task (`"cuda-sm90"`, `"cpu-avx2"`):
/// at most 32 bytes of printable ASCII. Untrusted: it is never used to decide anything.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackendLabel(String);

impl BackendLabel {
    /// A label, if `s` is at most 32 bytes of printable ASCII (0x20..=0x7e).
    pub fn new(s: &str) -> Result<Self> {
        let label = Self(String::from(s));
        label.check()?;
        Ok(label)
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(&self) -> Result<()> {
        if self.0.len() > MAX_BACKEND_LABEL || !self.0.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ReceiptError::BadBackendLabel.into());
        }
        Ok(())
    }
}

/// A miner's claim to have executed one task (signed by `miner`; spec/receipts.md §Receipt).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkReceipt {
    /// The network (replay protection across networks).
    pub network: NetworkId,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch.
    pub epoch: Epoch,
    /// SHA-256 of the canonical TaskSpec envelope.
    pub task_digest: Digest,
    /// Hotkey of the validator that assigned the task.
    pub assigner: Hotkey,
    /// Hotkey of the miner that ran it and signs this receipt.
    pub miner: Hotkey,
    /// Tensor commitment of the output (spec/commitments.md).
    pub output_commitment: Digest,
    /// Merkle root over the output's fixed-size tiles (spec/kernels.md fixes the tiling).
    pub output_tile_root: Digest,
    /// Compute units: must equal [`TaskSpec::compute_units`].
    pub compute_units: u64,
    /// Advisory start time, milliseconds since the Unix epoch (untrusted).
    pub started_at_ms: u64,
    /// Advisory finish time, milliseconds since the Unix epoch (untrusted); not before the start.
    pub finished_at_ms: u64,
    /// Miner-chosen nonce; distinguishes repeated executions of one task.
    pub nonce: u64,
    /// Diagnostic backend label (untrusted).
    pub backend: BackendLabel,
}

impl WorkReceipt {
    /// Checks the receipt against the task it claims to execute: same network, subnet and
    /// epoch, task digest equal to the task's, compute units equal to the task's formula.
    pub fn check_task(&self, task: &TaskSpec) -> Result<()> {
        if self.network != task.network {
            return Err(ReceiptError::NetworkMismatch.into());
        }
        if self.subnet != task.subnet {
            return Err(ReceiptError::SubnetMismatch.into());
        }
        if self.epoch != task.epoch {
            return Err(ReceiptError::EpochMismatch.into());
        }
        if self.task_digest != task.digest()? {
            return Err(ReceiptError::TaskDigestMismatch.into());
        }
        let expected = task.compute_units()?;
        if self.compute_units != expected {
            return Err(ReceiptError::ComputeUnitsMismatch {
                claimed: self.compute_units,
                expected,
            }
            .into());
        }
        Ok(())
    }
}

/// What a validator expects of a receipt before crediting it (spec/receipts.md §7): the
/// network, subnet and epoch it is settling, itself as the assigner, and the miner and task
/// digest of a task it issued to that miner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiptBinding {
    /// The network.
    pub network: NetworkId,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch being settled.
    pub epoch: Epoch,
    /// The crediting validator's own hotkey.
    pub assigner: Hotkey,
    /// The miner the task was issued to.
    pub miner: Hotkey,
    /// The digest of the task issued to that miner.
    pub task_digest: Digest,
}

impl WorkReceipt {
    /// Checks that this receipt answers exactly the expected assignment, field by field in
    /// this order: network, subnet, epoch (an old receipt is [`ReceiptError::WrongEpoch`]),
    /// assigner, miner, task digest ([`ReceiptError::TaskNotIssued`]). The signature and the
    /// task itself are checked separately ([`Signed::verify`], [`WorkReceipt::check_task`]).
    pub fn check_binding(&self, expected: &ReceiptBinding) -> Result<()> {
        if self.network != expected.network {
            return Err(ReceiptError::NetworkMismatch.into());
        }
        if self.subnet != expected.subnet {
            return Err(ReceiptError::SubnetMismatch.into());
        }
        if self.epoch != expected.epoch {
            return Err(ReceiptError::WrongEpoch {
                receipt: self.epoch.0,
                settling: expected.epoch.0,
            }
            .into());
        }
        if self.assigner != expected.assigner {
            return Err(ReceiptError::AssignerMismatch.into());
        }
        if self.miner != expected.miner {
            return Err(ReceiptError::MinerMismatch.into());
        }
        if self.task_digest != expected.task_digest {
            return Err(ReceiptError::TaskNotIssued.into());
        }
        Ok(())
    }
}

/// The default bound on a [`CreditLedger`]'s entries.
pub const DEFAULT_LEDGER_ENTRIES: usize = 1 << 20;

/// The receipts a validator has credited, keyed by (assigner, task digest), so that one
/// execution is credited at most once however many receipts (fresh nonces, other batches,
/// replays) it is signed into (spec/receipts.md §7). Bounded: at most `max_entries` entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLedger {
    max_entries: usize,
    credited: Vec<(Hotkey, Digest)>,
}

impl Default for CreditLedger {
    fn default() -> Self {
        Self::new(DEFAULT_LEDGER_ENTRIES)
    }
}

impl CreditLedger {
    /// An empty ledger holding at most `max_entries` entries.
    pub const fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            credited: Vec::new(),
        }
    }

    /// Credits `receipt` if it passes [`WorkReceipt::check_binding`] against `expected` and no
    /// receipt for the same (assigner, task digest) was credited before; records it then.
    ///
    /// # Errors
    /// The binding's error, [`ReceiptError::AlreadyCredited`], or
    /// [`ReceiptError::LedgerFull`]; nothing is recorded on an error.
    pub fn credit(&mut self, receipt: &WorkReceipt, expected: &ReceiptBinding) -> Result<()> {
        receipt.check_binding(expected)?;
        let key = (receipt.assigner, receipt.task_digest);
        match self.credited.binary_search(&key) {
            Ok(_) => Err(ReceiptError::AlreadyCredited.into()),
            Err(_) if self.credited.len() >= self.max_entries => Err(ReceiptError::LedgerFull {
                max: self.max_entries,
            }
            .into()),
            Err(i) => {
                self.credited.insert(i, key);
                Ok(())
            }
        }
    }

    /// Whether a receipt for (assigner, task digest) has been credited.
    pub fn is_credited(&self, assigner: &Hotkey, task_digest: &Digest) -> bool {
        self.credited
            .binary_search(&(*assigner, *task_digest))
            .is_ok()
    }

    /// Number of credited entries.
    pub fn len(&self) -> usize {
        self.credited.len()
    }

    /// Whether nothing has been credited.
    pub fn is_empty(&self) -> bool {
        self.credited.is_empty()
    }

    /// Forgets every entry (for example when a new epoch starts: receipts of the old epoch are
    /// then refused by [`WorkReceipt::check_binding`]'s epoch rule instead).
    pub fn clear(&mut self) {
        self.credited.clear();
    }
}

impl Signable for WorkReceipt {
    const KIND: MessageKind = MessageKind::Receipt;

    fn signer(&self) -> &Hotkey {
        &self.miner
    }

    fn check(&self) -> Result<()> {
        self.backend.check()?;
        if self.finished_at_ms < self.started_at_ms {
            return Err(ReceiptError::TimesReversed.into());
        }
        Ok(())
    }
}

/// A receipt with the miner's signature (envelope kind [`MessageKind::Receipt`]).
pub type SignedReceipt = Signed<WorkReceipt>;

/// What a validator found when it checked a receipt.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Re-execution produced the receipt's output commitment.
    Match,
    /// Re-execution produced a different commitment: a fraud proof anyone can check.
    Mismatch,
    /// The receipt was not re-executed.
    Unchecked,
}

/// A validator's signed answer to one receipt (signed by `validator`; spec/receipts.md §Verdict).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Verdict {
    /// The validator's hotkey.
    pub validator: Hotkey,
    /// The id of the receipt judged ([`Signed::id`]).
    pub receipt_id: Digest,
    /// The outcome.
    pub outcome: Outcome,
    /// The commitment the validator computed: present for `Match` and `Mismatch`, absent for
    /// `Unchecked`.
    pub recomputed_commitment: Option<Digest>,
}

impl Verdict {
    /// Checks the verdict against the receipt it judges: same id, and a `Match` carries the
    /// receipt's commitment while a `Mismatch` carries another.
    pub fn check_receipt(&self, receipt: &SignedReceipt) -> Result<()> {
        if self.receipt_id != receipt.id()? {
            return Err(ReceiptError::VerdictReceiptMismatch.into());
        }
        let claimed = receipt.body.output_commitment;
        let consistent = match (self.outcome, self.recomputed_commitment) {
            (Outcome::Match, Some(c)) => c == claimed,
            (Outcome::Mismatch, Some(c)) => c != claimed,
            (Outcome::Unchecked, None) => true,
            _ => false,
        };
        if consistent {
            Ok(())
        } else {
            Err(ReceiptError::VerdictInconsistent.into())
        }
    }
}

impl Signable for Verdict {
    const KIND: MessageKind = MessageKind::Verdict;

    fn signer(&self) -> &Hotkey {
        &self.validator
    }

    fn check(&self) -> Result<()> {
        match (self.outcome, self.recomputed_commitment) {
            (Outcome::Match | Outcome::Mismatch, Some(_)) | (Outcome::Unchecked, None) => Ok(()),
            _ => Err(ReceiptError::VerdictInconsistent.into()),
        }
    }
}

/// A verdict with the validator's signature (envelope kind [`MessageKind::Verdict`]).
pub type SignedVerdict = Signed<Verdict>;

/// Signed receipts of one network, subnet and epoch, committed to one Merkle root over their
/// ids (envelope kind [`MessageKind::ReceiptBatch`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptBatch {
    /// The network every receipt belongs to.
    pub network: NetworkId,
    /// The subnet every receipt belongs to.
    pub subnet: SubnetId,
    /// The epoch every receipt belongs to.
    pub epoch: Epoch,
    /// The receipts, in Merkle leaf order.
    pub receipts: Vec<SignedReceipt>,
}

impl ReceiptBatch {
    /// The Merkle tree whose leaves are the receipt ids (32 bytes each) in order.
    pub fn tree(&self) -> Result<MerkleTree> {
        let ids = self
            .receipts
            .iter()
            .map(Signed::id)
            .collect::<Result<Vec<Digest>>>()?;
        Ok(MerkleTree::from_leaf_data(ids.iter().map(|d| d.0)))
    }

    /// The batch root: Merkle root over the receipt ids.
    pub fn root(&self) -> Result<Digest> {
        Ok(self.tree()?.root())
    }

    /// The inclusion proof of receipt `index`; verify it with the receipt id as leaf data.
    pub fn proof(&self, index: u64) -> Result<InclusionProof> {
        self.tree()?.proof(index)
    }
}

impl Message for ReceiptBatch {
    const KIND: MessageKind = MessageKind::ReceiptBatch;

    fn check(&self) -> Result<()> {
        if self.receipts.len() > MAX_BATCH_RECEIPTS {
            return Err(ReceiptError::BatchTooLarge {
                len: self.receipts.len(),
                max: MAX_BATCH_RECEIPTS,
            }
            .into());
        }
        for (i, r) in self.receipts.iter().enumerate() {
            r.body.check()?;
            if r.body.network != self.network
                || r.body.subnet != self.subnet
                || r.body.epoch != self.epoch
            {
                return Err(ReceiptError::BatchMemberMismatch(i).into());
            }
        }
        Ok(())
    }
}

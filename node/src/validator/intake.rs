//! Admitting receipts (spec/receipts.md, "Crediting receipts"): a validator credits a receipt
//! only if it assigned the task itself, to that miner, in the epoch being settled, and at most
//! once per (assigner, task digest). Anything else is a replay or a forgery and is rejected with
//! its reason, whatever its signature says.
//!
//! The validator records every task it issues in an [`IssuedTasks`] book for the epoch; each
//! incoming receipt is looked up by its task digest.

use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::task::TaskSpec;

use crate::error::Result;

/// One task as the validator issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTask {
    /// The miner it was issued to.
    pub miner: Hotkey,
    /// The task.
    pub task: TaskSpec,
    /// When it was issued, ms since the Unix epoch (the validator's own clock).
    pub issued_ms: u64,
}

/// Why a receipt is not credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// The receipt is for another network.
    WrongNetwork,
    /// The receipt is for another subnet.
    WrongSubnet,
    /// The receipt is for another epoch than the one being settled (a replay).
    WrongEpoch,
    /// The receipt names another validator as its assigner.
    WrongAssigner,
    /// No task with this digest was issued by this validator in this epoch (a task from another
    /// epoch, subnet or network, or one never issued).
    UnknownTask,
    /// The task was issued to another miner.
    WrongMiner,
    /// The receipt does not match its task (network, subnet, epoch or compute units).
    TaskMismatch,
    /// A receipt for this task was already credited (a replay with a fresh nonce).
    Duplicate,
    /// The signature does not verify.
    BadSignature,
}

impl Rejection {
    /// A stable name for logs and tallies.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::WrongNetwork => "wrong_network",
            Self::WrongSubnet => "wrong_subnet",
            Self::WrongEpoch => "wrong_epoch",
            Self::WrongAssigner => "wrong_assigner",
            Self::UnknownTask => "unknown_task",
            Self::WrongMiner => "wrong_miner",
            Self::TaskMismatch => "task_mismatch",
            Self::Duplicate => "duplicate",
            Self::BadSignature => "bad_signature",
        }
    }
}

/// The tasks a validator issued in one epoch, and the task digests already credited.
#[derive(Debug, Clone)]
pub struct IssuedTasks {
    network: NetworkId,
    subnet: SubnetId,
    epoch: Epoch,
    tasks: BTreeMap<Digest, IssuedTask>,
    credited: BTreeSet<Digest>,
}

impl IssuedTasks {
    /// An empty book for one epoch of one subnet of one network.
    #[must_use]
    pub fn new(network: NetworkId, subnet: SubnetId, epoch: Epoch) -> Self {
        Self {
            network,
            subnet,
            epoch,
            tasks: BTreeMap::new(),
            credited: BTreeSet::new(),
        }
    }

    /// Records a task issued to `miner` at `issued_ms`; returns its digest.
    ///
    /// # Errors
    /// Protocol errors (a task that cannot be encoded).
    pub fn issue(&mut self, miner: Hotkey, task: TaskSpec, issued_ms: u64) -> Result<Digest> {
        let digest = task.digest()?;
        self.tasks.insert(
            digest,
            IssuedTask {
                miner,
                task,
                issued_ms,
            },
        );
        Ok(digest)
    }

    /// The number of tasks issued.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task was issued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The issued task with this digest.
    #[must_use]
    pub fn get(&self, digest: &Digest) -> Option<&IssuedTask> {
        self.tasks.get(digest)
    }

    /// Every issued task, by digest.
    pub fn iter(&self) -> impl Iterator<Item = (&Digest, &IssuedTask)> {
        self.tasks.iter()
    }

    /// Admits a receipt for crediting, for the validator `me` (whose signature check is done
    /// separately, in a batch): the assigner is `me`, the task is one `me` issued this epoch to
    /// the receipt's miner, the receipt matches the task, and no receipt for the same task was
    /// admitted before. An admitted task digest is remembered, so a second receipt for it (a
    /// fresh nonce over the same work) is a [`Rejection::Duplicate`].
    ///
    /// # Errors
    /// The [`Rejection`] naming the first rule the receipt breaks.
    pub fn admit(
        &mut self,
        me: &Hotkey,
        receipt: &SignedReceipt,
    ) -> core::result::Result<&IssuedTask, Rejection> {
        let body = &receipt.body;
        if body.network != self.network {
            return Err(Rejection::WrongNetwork);
        }
        if body.subnet != self.subnet {
            return Err(Rejection::WrongSubnet);
        }
        if body.epoch != self.epoch {
            return Err(Rejection::WrongEpoch);
        }
        if body.assigner != *me {
            return Err(Rejection::WrongAssigner);
        }
        let issued = self
            .tasks
            .get(&body.task_digest)
            .ok_or(Rejection::UnknownTask)?;
        if issued.miner != body.miner {
            return Err(Rejection::WrongMiner);
        }
        if body.check_task(&issued.task).is_err() {
            return Err(Rejection::TaskMismatch);
        }
        if !self.credited.insert(body.task_digest) {
            return Err(Rejection::Duplicate);
        }
        Ok(issued)
    }

    /// The digests admitted so far.
    #[must_use]
    pub fn credited(&self) -> Vec<Digest> {
        self.credited.iter().copied().collect()
    }
}

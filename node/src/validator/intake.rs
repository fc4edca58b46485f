//! Admitting receipts (spec/receipts.md, "Crediting receipts"): a validator credits a receipt
//! only if it assigned the task itself, to that miner, in the epoch being settled, and at most
//! once per (assigner, task digest). Anything else is a replay or a forgery and is rejected with
//! its reason, whatever its signature says.
//!
//! The validator records every task it issues in an [`IssuedTasks`] book for the epoch; each
//! incoming receipt is looked up by its task digest, then bound and credited through the
//! protocol's [`WorkReceipt::check_binding`] and [`CreditLedger`], which hold the rules.

use std::collections::BTreeMap;
use std::vec::Vec;

use mycel_protocol::error::ReceiptError;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::{CreditLedger, ReceiptBinding, SignedReceipt, WorkReceipt};
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
    /// The validator's credit ledger is full (it holds one entry per credited task).
    LedgerFull,
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
            Self::LedgerFull => "ledger_full",
        }
    }
}

/// Maps a protocol binding or crediting error to the rejection it means.
fn rejection(e: &mycel_protocol::Error) -> Rejection {
    match e {
        mycel_protocol::Error::Receipt(r) => match r {
            ReceiptError::NetworkMismatch => Rejection::WrongNetwork,
            ReceiptError::SubnetMismatch => Rejection::WrongSubnet,
            ReceiptError::WrongEpoch { .. } => Rejection::WrongEpoch,
            ReceiptError::AssignerMismatch => Rejection::WrongAssigner,
            ReceiptError::MinerMismatch => Rejection::WrongMiner,
            ReceiptError::TaskNotIssued => Rejection::UnknownTask,
            ReceiptError::AlreadyCredited => Rejection::Duplicate,
            ReceiptError::LedgerFull { .. } => Rejection::LedgerFull,
            _ => Rejection::TaskMismatch,
        },
        _ => Rejection::TaskMismatch,
    }
}

/// The tasks a validator issued in one epoch, and its ledger of what it credited.
#[derive(Debug, Clone)]
pub struct IssuedTasks {
    network: NetworkId,
    subnet: SubnetId,
    epoch: Epoch,
    tasks: BTreeMap<Digest, IssuedTask>,
    ledger: CreditLedger,
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
            ledger: CreditLedger::default(),
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

    /// The digests of the issued tasks `me` has credited, ascending.
    #[must_use]
    pub fn credited(&self, me: &Hotkey) -> Vec<Digest> {
        self.tasks
            .keys()
            .filter(|d| self.ledger.is_credited(me, d))
            .copied()
            .collect()
    }

    /// Every issued task, by digest.
    pub fn iter(&self) -> impl Iterator<Item = (&Digest, &IssuedTask)> {
        self.tasks.iter()
    }

    /// Whether a receipt is for this book's network, subnet and epoch (the only receipts a
    /// receipt batch of the epoch may hold).
    ///
    /// # Errors
    /// [`Rejection::WrongNetwork`], [`Rejection::WrongSubnet`] or [`Rejection::WrongEpoch`].
    pub fn check_scope(&self, receipt: &WorkReceipt) -> core::result::Result<(), Rejection> {
        receipt
            .check_binding(&ReceiptBinding {
                network: self.network,
                subnet: self.subnet,
                epoch: self.epoch,
                assigner: receipt.assigner,
                miner: receipt.miner,
                task_digest: receipt.task_digest,
            })
            .map_err(|e| rejection(&e))
    }

    /// Admits a receipt for crediting, for the validator `me` (whose signature check is done
    /// separately, in a batch): the scope is this book's, the assigner is `me`, the task is one
    /// `me` issued this epoch to the receipt's miner, the receipt matches the task, and no
    /// receipt for the same task was credited before (a fresh nonce over the same work is a
    /// [`Rejection::Duplicate`]).
    ///
    /// # Errors
    /// The [`Rejection`] naming the first rule the receipt breaks.
    pub fn admit(
        &mut self,
        me: &Hotkey,
        receipt: &SignedReceipt,
    ) -> core::result::Result<&IssuedTask, Rejection> {
        let body = &receipt.body;
        self.check_scope(body)?;
        if body.assigner != *me {
            return Err(Rejection::WrongAssigner);
        }
        let issued = self
            .tasks
            .get(&body.task_digest)
            .ok_or(Rejection::UnknownTask)?;
        if body.check_task(&issued.task).is_err() {
            return Err(Rejection::TaskMismatch);
        }
        let binding = ReceiptBinding {
            network: self.network,
            subnet: self.subnet,
            epoch: self.epoch,
            assigner: *me,
            miner: issued.miner,
            task_digest: body.task_digest,
        };
        self.ledger
            .credit(body, &binding)
            .map_err(|e| rejection(&e))?;
        Ok(issued)
    }
}

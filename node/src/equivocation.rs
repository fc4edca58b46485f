//! Equivocation: a miner that signs two different outputs for one bit-defined task has proven
//! its own fraud, with no re-execution (spec/receipts.md section 8a).
//!
//! A task's output bits are fixed by the spec (every mode but Fast-mode attention), and each task
//! is issued to exactly one miner (spec/receipts.md section 7). Two receipts that verify, belong
//! to the same task, are signed by the same miner and claim different outputs (commitment or
//! tile root) cannot both be right: at least one is a false claim the miner signed. The pair is
//! therefore a fraud proof that anyone can check in two signature verifications and a task
//! digest, whatever the task's size.
//!
//! Re-signing the *same* output with a fresh nonce is not equivocation: it is a duplicate, which
//! validators refuse at admission (`receipt.already_credited`) and which earns nothing.
//!
//! ```
//! # use mycel_node::equivocation::{Equivocation, EquivocationError};
//! # fn demo(task: mycel_protocol::task::TaskSpec,
//! #         a: mycel_protocol::receipt::SignedReceipt,
//! #         b: mycel_protocol::receipt::SignedReceipt) {
//! match Equivocation::new(task, a, b).check() {
//!     Ok(convicted) => println!("miner {:?} equivocated", convicted.miner),
//!     Err(e) => println!("no equivocation: {e} ({})", e.code()),
//! }
//! # }
//! ```

use std::format;
use std::string::String;

use mycel_protocol::ids::{Digest, Hotkey};
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::task::{AttnMode, KernelParams, TaskSpec};

/// Two receipts of one miner for one task: the evidence of an equivocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The task both receipts answer.
    pub task: TaskSpec,
    /// One signed receipt.
    pub first: SignedReceipt,
    /// The other signed receipt.
    pub second: SignedReceipt,
}

/// What an equivocation that holds establishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Convicted {
    /// The miner that signed both receipts.
    pub miner: Hotkey,
    /// The digest of the task both receipts answer.
    pub task_digest: Digest,
    /// The two output commitments claimed (equal when only the tile roots differ).
    pub commitments: [Digest; 2],
}

/// Why a pair of receipts is not an equivocation. Each variant has a stable
/// [`code`](EquivocationError::code).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// One receipt's signature does not verify.
    #[error("{which} receipt: bad signature: {reason}")]
    Signature {
        /// `first` or `second`.
        which: &'static str,
        /// The protocol error, with its code.
        reason: String,
    },
    /// One receipt does not belong to the task (network, subnet, epoch, digest, units).
    #[error("{which} receipt: does not belong to the task: {reason}")]
    NotForTask {
        /// `first` or `second`.
        which: &'static str,
        /// The protocol error, with its code.
        reason: String,
    },
    /// The receipts are signed by different miners: two miners disagreeing proves nothing.
    #[error("the receipts are signed by different miners")]
    DifferentMiners,
    /// The task is Fast-mode attention, whose output bits are not defined: two different fast
    /// results can both be correct (spec/kernels.md).
    #[error(
        "task: Fast-mode work has no fixed output bits, so two different outputs are not a contradiction"
    )]
    FastMode,
    /// Both receipts claim the same output (commitment and tile root): a re-signed duplicate,
    /// refused at admission, not a contradiction.
    #[error("the receipts claim the same output: a duplicate, not an equivocation")]
    SameOutput,
}

impl EquivocationError {
    /// A stable, machine-readable code (`equivocation.*`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Signature { .. } => "equivocation.signature",
            Self::NotForTask { .. } => "equivocation.not_for_task",
            Self::DifferentMiners => "equivocation.different_miners",
            Self::FastMode => "equivocation.fast_mode",
            Self::SameOutput => "equivocation.same_output",
        }
    }
}

impl Equivocation {
    /// The evidence: a task and two receipts (in either order).
    #[must_use]
    pub fn new(task: TaskSpec, first: SignedReceipt, second: SignedReceipt) -> Self {
        Self {
            task,
            first,
            second,
        }
    }

    /// Checks the rules of spec/receipts.md section 8a in order and returns what the pair
    /// establishes, or the first rule it breaks.
    ///
    /// # Errors
    /// [`EquivocationError`]: a bad signature, a receipt of another task, two different
    /// miners, a Fast-mode task, or two receipts claiming the same output.
    pub fn check(&self) -> Result<Convicted, EquivocationError> {
        for (which, r) in [("first", &self.first), ("second", &self.second)] {
            r.verify().map_err(|e| EquivocationError::Signature {
                which,
                reason: format!("{e} ({})", e.code()),
            })?;
            r.body
                .check_task(&self.task)
                .map_err(|e| EquivocationError::NotForTask {
                    which,
                    reason: format!("{e} ({})", e.code()),
                })?;
        }
        let (a, b) = (&self.first.body, &self.second.body);
        if a.miner != b.miner {
            return Err(EquivocationError::DifferentMiners);
        }
        if matches!(
            self.task.params,
            KernelParams::Attention {
                mode: AttnMode::Fast,
                ..
            }
        ) {
            return Err(EquivocationError::FastMode);
        }
        if a.output_commitment == b.output_commitment && a.output_tile_root == b.output_tile_root {
            return Err(EquivocationError::SameOutput);
        }
        Ok(Convicted {
            miner: a.miner,
            task_digest: a.task_digest,
            commitments: [a.output_commitment, b.output_commitment],
        })
    }
}

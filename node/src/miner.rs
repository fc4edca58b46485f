//! The miner role: execute a [`TaskSpec`] with the kernels and sign a [`WorkReceipt`] for it.
//!
//! A miner holds only its key. The host hands it each task with the public weights it names
//! (or a [`WeightsSource`] to regenerate them), the assigning validator, a nonce and the times it
//! observed; the miner returns the signed receipt and the output, and keeps nothing.

use mycel_kernels::Backend;
use mycel_kernels::exec::{TaskOutput, execute};
use mycel_protocol::ids::{Digest, Hotkey, SigningKey};
use mycel_protocol::opening::TileOpening;
use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::TaskSpec;

use crate::error::Result;
use crate::fraud::WeightsSource;

/// What a miner claims for one task: the two commitments a receipt carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The output's tensor commitment.
    pub commitment: Digest,
    /// The Merkle root over the output's tiles.
    pub tile_root: Digest,
}

impl From<&TaskOutput> for Claim {
    fn from(out: &TaskOutput) -> Self {
        Self {
            commitment: out.commitment,
            tile_root: out.tile_root,
        }
    }
}

/// The fields of a receipt that do not come from the task or the output: who assigned the task,
/// the nonce and the (advisory) times the miner reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFields {
    /// The validator that assigned the task.
    pub assigner: Hotkey,
    /// The miner's nonce for this receipt.
    pub nonce: u64,
    /// When the miner started, ms since the Unix epoch (advisory, never used for scoring).
    pub started_at_ms: u64,
    /// When the miner finished, ms since the Unix epoch (advisory, never used for scoring).
    pub finished_at_ms: u64,
    /// The backend label (diagnostic, untrusted).
    pub backend: BackendLabel,
}

/// The result of [`Miner::run`]: the signed receipt and the output it commits to.
#[derive(Debug, Clone, PartialEq)]
pub struct MinerOutput {
    /// The signed receipt.
    pub receipt: SignedReceipt,
    /// The task's output and its commitments.
    pub output: TaskOutput,
}

/// A miner: a signing key and the methods that turn tasks into signed receipts.
#[derive(Debug)]
pub struct Miner {
    key: SigningKey,
}

impl Miner {
    /// A miner signing with `key`.
    #[must_use]
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    /// The miner's hotkey.
    #[must_use]
    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    /// Executes `task` on `backend` (`threads` worker threads, 0 for all) with the bare GGML
    /// `weights` of a matmul task (`None` for attention), and signs the receipt.
    ///
    /// # Errors
    /// Kernel errors (invalid task, weights whose digest differs, backend unavailable) and
    /// protocol errors (a task whose compute units cannot be computed).
    pub fn run(
        &self,
        task: &TaskSpec,
        weights: Option<&[u8]>,
        backend: Backend,
        threads: usize,
        fields: ReceiptFields,
    ) -> Result<MinerOutput> {
        let output = execute(task, weights, backend, threads)?;
        let receipt = self.sign(task, Claim::from(&output), fields)?;
        Ok(MinerOutput { receipt, output })
    }

    /// [`Miner::run`] with weights regenerated from `source` (checked against the task's
    /// weights digest by the kernels).
    ///
    /// # Errors
    /// As [`Miner::run`], and [`crate::FraudError::WeightsSource`] for a bad source.
    pub fn run_generated(
        &self,
        task: &TaskSpec,
        source: &WeightsSource,
        backend: Backend,
        threads: usize,
        fields: ReceiptFields,
    ) -> Result<MinerOutput> {
        let weights = source.generate()?;
        self.run(task, Some(&weights), backend, threads, fields)
    }

    /// Opens tile `index` of an output this miner computed: the tile's bytes and its path under
    /// the output's tile root, what the miner sends when a validator challenges that tile
    /// (spec/receipts.md §8b).
    ///
    /// # Errors
    /// [`crate::Error::Protocol`] for an index beyond the output's tiles.
    pub fn open_tile(&self, output: &TaskOutput, index: u64) -> Result<TileOpening> {
        crate::tile_proof::open_tile(&output.output, index)
    }

    /// Signs a receipt body as it is (e.g. after changing its nonce). The body must name this
    /// miner.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a body naming another miner; protocol errors.
    pub fn sign_body(&self, body: WorkReceipt) -> Result<SignedReceipt> {
        if body.miner != self.key.hotkey() {
            return Err(crate::Error::InvalidArgument(
                "receipt: the body names another miner".into(),
            ));
        }
        Ok(Signed::sign(body, &self.key)?)
    }

    /// Signs a receipt for `task` claiming `claim` (for hosts that executed the task
    /// themselves). The compute units come from the task's formula, never from the caller.
    ///
    /// # Errors
    /// Protocol errors: a task whose digest or compute units cannot be computed.
    pub fn sign(
        &self,
        task: &TaskSpec,
        claim: Claim,
        fields: ReceiptFields,
    ) -> Result<SignedReceipt> {
        let body = WorkReceipt {
            network: task.network,
            subnet: task.subnet,
            epoch: task.epoch,
            task_digest: task.digest()?,
            assigner: fields.assigner,
            miner: self.key.hotkey(),
            output_commitment: claim.commitment,
            output_tile_root: claim.tile_root,
            compute_units: task.compute_units()?,
            started_at_ms: fields.started_at_ms,
            finished_at_ms: fields.finished_at_ms,
            nonce: fields.nonce,
            backend: fields.backend,
        };
        Ok(Signed::sign(body, &self.key)?)
    }
}

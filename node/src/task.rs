//! Self-contained tasks: a [`TaskSpec`] whose inputs *and* weights derive from its own seed, so
//! any host can re-execute it from the task bytes alone (spec/kernels.md section 5, "Seeded
//! weights"). `mycel task new`, Python's `execute_task` and WASM's `executeTask` all use this.
//!
//! The weights of a seeded matmul task are [`mycel_kernels::exec::generate_weights`] of
//! `SHA-256("mycel/v1/task-weights" ‖ input_seed)` ([`weights_seed`]) in the task's format and
//! shape; the task's `weights_digest` is their digest (SHA-256 for kernel version 1, the
//! Merkle root over their rows for kernel version 2). They are generated row by row, so every
//! valid shape works (no cap beyond the task's memory bound). A task that names other weights
//! (a subnet's real model) is still valid, but needs its weights passed in.

use std::borrow::Cow;
use std::format;
use std::vec::Vec;

use mycel_kernels::Backend;
use mycel_kernels::exec::{TaskOutput, execute, generate_weights, weight_format, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tile::{generate_weight_rows, generated_weights_digest, task_weights_digest};
use mycel_protocol::ids::Digest;
use mycel_protocol::ids::{Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::tile_proof::WeightsInput;

/// Domain tag of the seeded-weights derivation.
pub const TASK_WEIGHTS_TAG: &[u8] = b"mycel/v1/task-weights";

/// Where a task belongs: network, subnet and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskScope {
    /// The network id.
    pub network: NetworkId,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch.
    pub epoch: Epoch,
}

impl Default for TaskScope {
    /// Network id all zeros, subnet 1, epoch 0.
    fn default() -> Self {
        Self {
            network: NetworkId([0; 32]),
            subnet: SubnetId(1),
            epoch: Epoch(0),
        }
    }
}

/// The generator seed of a seeded task's weights: `SHA-256(TASK_WEIGHTS_TAG ‖ input_seed)`.
#[must_use]
pub fn weights_seed(input_seed: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TASK_WEIGHTS_TAG);
    h.update(input_seed);
    h.finalize().into()
}

/// The seeded weights of `format`, `n` x `k`, generated row by row (the f32 values of a few
/// rows at a time; the bytes are within the task's memory bound).
fn seeded(input_seed: &[u8; 32], format: QuantFormat, n: u32, k: u32) -> Result<Vec<u8>> {
    let (n, k) = (n as usize, k as usize);
    let seed = weights_seed(input_seed);
    let total = format.matrix_bytes(n, k)?;
    let mut out = Vec::new();
    out.try_reserve_exact(total)
        .map_err(|_| Error::InvalidArgument(format!("weights: cannot allocate {total} bytes")))?;
    let step = (1usize << 20).checked_div(k).unwrap_or(1).max(1);
    let mut r = 0;
    while r < n {
        let r1 = r.saturating_add(step).min(n);
        out.extend(generate_weight_rows(&seed, format, k, r, r1)?);
        r = r1;
    }
    Ok(out)
}

/// The digest of a seeded task's weights for its kernel version, computed row by row.
fn seeded_digest(task: &TaskSpec, format: QuantFormat, n: u32, k: u32) -> Result<Digest> {
    Ok(generated_weights_digest(
        &weights_seed(&task.input_seed),
        format,
        n as usize,
        k as usize,
        task.weights_by_rows(),
    )?)
}

/// A seeded matmul task (kernel version 1): `m` activation rows, weights `n` x `k` of `format`
/// derived from `seed`.
///
/// # Errors
/// Protocol task errors for invalid shapes.
pub fn matmul_task(
    scope: TaskScope,
    format: QuantFormat,
    m: u32,
    n: u32,
    k: u32,
    seed: [u8; 32],
) -> Result<TaskSpec> {
    matmul_task_version(scope, format, [m, n, k], seed, KERNEL_VERSION)
}

/// A seeded matmul task of `kernel_version` 1 (weights digest = SHA-256 of the matrix) or 2
/// (weights digest = Merkle root over its rows, provable by tile proofs for any shape):
/// `[m, n, k]`, weights of `format` derived from `seed`.
///
/// # Errors
/// Protocol task errors for invalid shapes or versions.
pub fn matmul_task_version(
    scope: TaskScope,
    format: QuantFormat,
    [m, n, k]: [u32; 3],
    seed: [u8; 32],
    kernel_version: u16,
) -> Result<TaskSpec> {
    let kernel = match format {
        QuantFormat::Q8_0 => KernelId::MatmulQ8_0,
        QuantFormat::Q4_0 => KernelId::MatmulQ4_0,
    };
    let mut task = TaskSpec {
        network: scope.network,
        subnet: scope.subnet,
        epoch: scope.epoch,
        kernel,
        kernel_version,
        params: KernelParams::Matmul { m, n, k },
        weights_digest: weights_digest(&[]),
        input_seed: seed,
    };
    task.validate()?;
    task.weights_digest = seeded_digest(&task, format, n, k)?;
    Ok(task)
}

/// The shape and mode of an attention task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    /// Query heads.
    pub n_heads: u32,
    /// Key/value heads (divides `n_heads`).
    pub n_kv_heads: u32,
    /// Query positions.
    pub q_len: u32,
    /// Key/value positions.
    pub kv_len: u32,
    /// Head dimension.
    pub head_dim: u32,
    /// Causal mask.
    pub causal: bool,
    /// Input dtype.
    pub dtype: AttnDtype,
    /// Verifiable or fast.
    pub mode: AttnMode,
}

/// A seeded attention task (attention has no weights; its digest is that of the empty set).
///
/// # Errors
/// Protocol task errors for invalid shapes.
pub fn attention_task(scope: TaskScope, shape: AttentionShape, seed: [u8; 32]) -> Result<TaskSpec> {
    let task = TaskSpec {
        network: scope.network,
        subnet: scope.subnet,
        epoch: scope.epoch,
        kernel: KernelId::Attention,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Attention {
            n_heads: shape.n_heads,
            n_kv_heads: shape.n_kv_heads,
            q_len: shape.q_len,
            kv_len: shape.kv_len,
            head_dim: shape.head_dim,
            causal: shape.causal,
            dtype: shape.dtype,
            mode: shape.mode,
        },
        weights_digest: weights_digest(&[]),
        input_seed: seed,
    };
    task.validate()?;
    Ok(task)
}

/// The weights of a seeded task: `None` for attention, the regenerated blocks for matmul.
///
/// # Errors
/// [`Error::InvalidArgument`] when the task's weights digest is not that of its seeded weights
/// (the task names other weights: pass them to [`mycel_kernels::exec::execute`] instead).
pub fn seeded_weights(task: &TaskSpec) -> Result<Option<Vec<u8>>> {
    let (Some(format), KernelParams::Matmul { n, k, .. }) =
        (weight_format(task.kernel), task.params)
    else {
        return Ok(None);
    };
    task.validate()?;
    let w = seeded(&task.input_seed, format, n, k)?;
    if task_weights_digest(task, format, &w)? != task.weights_digest {
        return Err(Error::InvalidArgument(format!(
            "weights: this task needs weights passed in: it names weights {}, not those derived from its seed",
            task.weights_digest
        )));
    }
    Ok(Some(w))
}

/// The weights a task runs with, as a host names them: the one decision every host (the CLI's
/// `task run` and `fraud prove`, Python's `execute_task`, WASM's `executeTask`) makes the same
/// way (spec/kernels.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskWeights<'a> {
    /// The task's own seeded weights (a self-contained task, `mycel task new`); a task without
    /// weights (attention) runs with none. Refused for a matmul task that names other weights.
    #[default]
    Seeded,
    /// Weights generated from this 32-byte generator seed
    /// ([`mycel_kernels::exec::generate_weights`], "Generated weights"); matmul tasks only.
    Generated([u8; 32]),
    /// The whole weight matrix as bare GGML blocks; matmul tasks only.
    Blocks(&'a [u8]),
}

impl<'a> TaskWeights<'a> {
    /// The choice a host's two optional arguments name: `blocks`, else weights generated from
    /// `seed`, else the task's own seeded weights.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when both are given (one set of weights, named once).
    pub fn given(blocks: Option<&'a [u8]>, seed: Option<[u8; 32]>) -> Result<Self> {
        match (blocks, seed) {
            (Some(_), Some(_)) => Err(Error::InvalidArgument(
                "weights: pass the weights or a weights seed, not both".into(),
            )),
            (Some(b), None) => Ok(Self::Blocks(b)),
            (None, Some(s)) => Ok(Self::Generated(s)),
            (None, None) => Ok(Self::Seeded),
        }
    }

    /// `Some(format, n, k)` for a matmul task; an error for explicit weights on a task that
    /// takes none.
    fn shape(self, task: &TaskSpec) -> Result<Option<(QuantFormat, u32, u32)>> {
        match (weight_format(task.kernel), task.params) {
            (Some(format), KernelParams::Matmul { n, k, .. }) => Ok(Some((format, n, k))),
            _ => match self {
                Self::Seeded => Ok(None),
                Self::Generated(_) | Self::Blocks(_) => Err(Error::InvalidArgument(format!(
                    "weights: a {:?} task takes no weights; explicit weights apply to matmul tasks only",
                    task.kernel
                ))),
            },
        }
    }

    /// The weight bytes to execute `task` with: `None` for a task without weights, the blocks
    /// themselves for [`TaskWeights::Blocks`] (borrowed, not copied), the generated matrix
    /// otherwise. Their digest is checked by [`mycel_kernels::exec::execute`], not here.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for explicit weights on a task without weights, or (as
    /// [`seeded_weights`]) for [`TaskWeights::Seeded`] on a task that names other weights;
    /// protocol and kernel errors for an invalid task or shape.
    pub fn load(self, task: &TaskSpec) -> Result<Option<Cow<'a, [u8]>>> {
        let Some((format, n, k)) = self.shape(task)? else {
            return Ok(None);
        };
        match self {
            Self::Seeded => Ok(seeded_weights(task)?.map(Cow::Owned)),
            Self::Generated(seed) => {
                task.validate()?;
                Ok(Some(Cow::Owned(generate_weights(
                    &seed, format, n as usize, k as usize,
                )?)))
            }
            Self::Blocks(b) => Ok(Some(Cow::Borrowed(b))),
        }
    }

    /// The same choice as a tile proof's input ([`crate::tile_proof::WeightsInput`]): nothing
    /// is generated here (the proof regenerates the rows it needs); the proof checks the
    /// weights against the task.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for explicit weights on a task without weights.
    pub fn proof_input(self, task: &TaskSpec) -> Result<WeightsInput<'a>> {
        Ok(match (self.shape(task)?, self) {
            (None, _) => WeightsInput::None,
            (Some(_), Self::Seeded) => WeightsInput::Seeded(weights_seed(&task.input_seed)),
            (Some(_), Self::Generated(seed)) => WeightsInput::Seeded(seed),
            (Some(_), Self::Blocks(b)) => WeightsInput::Bytes(b),
        })
    }
}

/// Executes `task` with the weights `weights` names ([`TaskWeights::load`]).
///
/// # Errors
/// As [`TaskWeights::load`], then kernel errors (a digest that does not match among them).
pub fn execute_with(
    task: &TaskSpec,
    weights: TaskWeights<'_>,
    backend: Backend,
    threads: usize,
) -> Result<TaskOutput> {
    let w = weights.load(task)?;
    Ok(execute(task, w.as_deref(), backend, threads)?)
}

/// Executes a seeded task from the task alone.
///
/// # Errors
/// As [`seeded_weights`], then kernel errors.
pub fn execute_seeded(task: &TaskSpec, backend: Backend, threads: usize) -> Result<TaskOutput> {
    execute_with(task, TaskWeights::Seeded, backend, threads)
}

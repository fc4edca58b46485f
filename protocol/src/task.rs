//! [`TaskSpec`]: one unit of work that anyone can re-execute bit for bit, and the compute-unit
//! formula that prices it (spec/receipts.md §Task specification).
//!
//! A task is fully determined by its fields: the kernel and its version, the shape parameters,
//! the content hash of the public weights and the seed from which the kernels crate generates
//! the activations. The *meaning* of the shape parameters (layouts, tiling, input generation) is
//! fixed by spec/kernels.md; this module fixes their encoding, their bounds and their price.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::{Result, TaskError};
use crate::ids::{Digest, Epoch, NetworkId, SubnetId, ser_bytes};
use crate::wire::{Message, MessageKind, encode};

/// Kernel version 1: every kernel; a matmul task's `weights_digest` is the SHA-256 of the whole
/// weight matrix (spec/kernels.md §5).
pub const KERNEL_VERSION: u16 = 1;
/// Kernel version 2, matmul only: the same computation as version 1, but `weights_digest` is
/// the Merkle root over the weight rows (`commit::weights_root`, spec/commitments.md §2a), so a
/// tile fraud proof carries only the rows its tile needs (spec/receipts.md §8b).
pub const KERNEL_VERSION_ROWS: u16 = 2;

/// Bound on every matmul dimension (m, n, k).
pub const MAX_MATMUL_DIM: u32 = 1 << 16;
/// Bound on `n_heads` (and so on `n_kv_heads`).
pub const MAX_HEADS: u32 = 256;
/// Bound on `q_len` and `kv_len`.
pub const MAX_SEQ_LEN: u32 = 1 << 17;
/// Bound on [`TaskSpec::compute_units`] (2^40).
pub const MAX_COMPUTE_UNITS: u64 = 1 << 40;
/// The block size of Q8_0/Q4_0: the matmul inner dimension must be a multiple of it.
pub const QUANT_BLOCK: u32 = 32;
/// Bound on a task's memory measure ([`KernelParams::memory_bytes`]): 2^30 bytes (1 GiB).
/// Together with [`MAX_COMPUTE_UNITS`] it keeps every valid task executable on a host with a
/// 4 GiB address space (spec/kernels.md, "Task resource bounds").
pub const MAX_TASK_MEMORY: u64 = 1 << 30;
/// Bytes of one Q8_0 block (32 elements): the size at which the memory measure counts weights
/// and quantized activations (Q4_0's 18-byte blocks are smaller).
const Q8_0_BLOCK_BYTES: u64 = 34;

/// Which kernel a task runs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KernelId {
    /// Matrix product with Q8_0 weights and Q8_0-quantized activations.
    MatmulQ8_0,
    /// Matrix product with Q4_0 weights and Q8_0-quantized activations.
    MatmulQ4_0,
    /// Scaled dot-product attention (grouped-query).
    Attention,
}

/// Floating-point format of attention inputs.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttnDtype {
    /// IEEE binary32.
    F32,
    /// IEEE binary16.
    F16,
    /// bfloat16.
    Bf16,
}

/// Attention execution mode.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttnMode {
    /// Fixed tiling and reduction order: every backend produces identical bits.
    Verifiable,
    /// Free reordering; checked only within a tolerance.
    Fast,
}

/// Shape parameters of a task, one variant per kernel family.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KernelParams {
    /// `C[m×n] = A[m×k] · W[n×k]ᵀ`: `m` activation rows, `n` weight rows (output features),
    /// `k` the shared inner dimension, a multiple of 32.
    Matmul {
        /// Activation rows.
        m: u32,
        /// Weight rows (output columns).
        n: u32,
        /// Inner dimension, a multiple of 32.
        k: u32,
    },
    /// Grouped-query attention over `n_heads` query heads sharing `n_kv_heads` key/value heads.
    Attention {
        /// Query heads.
        n_heads: u32,
        /// Key/value heads; divides `n_heads`.
        n_kv_heads: u32,
        /// Query positions.
        q_len: u32,
        /// Key/value positions.
        kv_len: u32,
        /// Per-head dimension: 64 or 128.
        head_dim: u32,
        /// Causal mask, aligned bottom-right: query `i` sees keys `0..=i + (kv_len - q_len)`.
        causal: bool,
        /// Input format.
        dtype: AttnDtype,
        /// Execution mode.
        mode: AttnMode,
    },
}

/// One unit of work (envelope kind [`MessageKind::TaskSpec`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The network the task belongs to.
    pub network: NetworkId,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch.
    pub epoch: Epoch,
    /// The kernel.
    pub kernel: KernelId,
    /// The kernel's version ([`KERNEL_VERSION`], or [`KERNEL_VERSION_ROWS`] for matmul).
    pub kernel_version: u16,
    /// Shape parameters; their variant must match `kernel`.
    pub params: KernelParams,
    /// SHA-256 content hash of the public weights (spec/kernels.md).
    pub weights_digest: Digest,
    /// Seed from which the activations are generated (spec/kernels.md, Philox).
    #[serde(
        serialize_with = "ser_bytes",
        deserialize_with = "crate::ids::de_bytes"
    )]
    pub input_seed: [u8; 32],
}

fn check_dim(name: &'static str, value: u32, max: u32) -> core::result::Result<(), TaskError> {
    if value == 0 {
        return Err(TaskError::ZeroDimension(name));
    }
    if value > max {
        return Err(TaskError::DimensionTooLarge { name, value, max });
    }
    Ok(())
}

impl KernelParams {
    /// Checks the parameter bounds (without the kernel id), in field order, then the
    /// compute-unit bound ([`MAX_COMPUTE_UNITS`]) and the memory bound ([`MAX_TASK_MEMORY`]).
    pub fn validate(&self) -> core::result::Result<(), TaskError> {
        match *self {
            KernelParams::Matmul { m, n, k } => {
                check_dim("m", m, MAX_MATMUL_DIM)?;
                check_dim("n", n, MAX_MATMUL_DIM)?;
                check_dim("k", k, MAX_MATMUL_DIM)?;
                if k % QUANT_BLOCK != 0 {
                    return Err(TaskError::KNotBlockAligned(k));
                }
            }
            KernelParams::Attention {
                n_heads,
                n_kv_heads,
                q_len,
                kv_len,
                head_dim,
                causal,
                ..
            } => {
                check_dim("n_heads", n_heads, MAX_HEADS)?;
                check_dim("n_kv_heads", n_kv_heads, MAX_HEADS)?;
                if n_heads % n_kv_heads != 0 {
                    return Err(TaskError::KvHeadsDoNotDivide {
                        n_heads,
                        n_kv_heads,
                    });
                }
                check_dim("q_len", q_len, MAX_SEQ_LEN)?;
                check_dim("kv_len", kv_len, MAX_SEQ_LEN)?;
                if head_dim != 64 && head_dim != 128 {
                    return Err(TaskError::UnsupportedHeadDim(head_dim));
                }
                if causal && q_len > kv_len {
                    return Err(TaskError::CausalQueryLongerThanKeys);
                }
            }
        }
        let units = self.raw_compute_units().ok_or(TaskError::TooMuchCompute)?;
        if units > MAX_COMPUTE_UNITS {
            return Err(TaskError::TooMuchCompute);
        }
        let bytes = self.memory_bytes();
        if bytes > MAX_TASK_MEMORY {
            return Err(TaskError::TooMuchMemory {
                bytes,
                max: MAX_TASK_MEMORY,
            });
        }
        Ok(())
    }

    /// The task's memory measure in bytes (saturating at `u64::MAX`; spec/kernels.md, "Task
    /// resource bounds"): the sizes of everything an executor holds at once, with every
    /// floating-point value at 4 bytes (f32, the width inputs are generated in) and quantized
    /// data at Q8_0's 34 bytes per 32 elements:
    ///
    /// * matmul: `4·m·k` (activations) `+ 34·m·k/32` (their Q8_0 quantization) `+ 34·n·k/32`
    ///   (weights) `+ 4·m·n` (output) `+ 4·m·n` (scratch: the output's commitment and tile
    ///   leaves);
    /// * attention, with `Q = n_heads·q_len·head_dim` and `KV = n_kv_heads·kv_len·head_dim`:
    ///   `4·Q + 8·KV` (Q, K, V) `+ 4·Q` (output) `+ 4·Q` (scratch: per-row accumulators).
    ///
    /// The measure does not depend on the kernel id, the dtype or the mode.
    pub fn memory_bytes(&self) -> u64 {
        self.raw_memory_bytes().unwrap_or(u64::MAX)
    }

    /// [`KernelParams::memory_bytes`] in checked arithmetic (`None` on overflow).
    fn raw_memory_bytes(&self) -> Option<u64> {
        match *self {
            KernelParams::Matmul { m, n, k } => {
                let (m, n, k) = (u64::from(m), u64::from(n), u64::from(k));
                let blocks = k / u64::from(QUANT_BLOCK);
                let activations = m.checked_mul(k)?.checked_mul(4)?;
                let quantized = m.checked_mul(blocks)?.checked_mul(Q8_0_BLOCK_BYTES)?;
                let weights = n.checked_mul(blocks)?.checked_mul(Q8_0_BLOCK_BYTES)?;
                let output_and_scratch = m.checked_mul(n)?.checked_mul(8)?;
                activations
                    .checked_add(quantized)?
                    .checked_add(weights)?
                    .checked_add(output_and_scratch)
            }
            KernelParams::Attention {
                n_heads,
                n_kv_heads,
                q_len,
                kv_len,
                head_dim,
                ..
            } => {
                let d = u64::from(head_dim);
                let q = u64::from(n_heads)
                    .checked_mul(u64::from(q_len))?
                    .checked_mul(d)?;
                let kv = u64::from(n_kv_heads)
                    .checked_mul(u64::from(kv_len))?
                    .checked_mul(d)?;
                // Q, output and scratch at 4 bytes each; K and V at 4 bytes each.
                q.checked_mul(12)?.checked_add(kv.checked_mul(8)?)
            }
        }
    }

    /// The compute-unit formula in checked u64 arithmetic (`None` on overflow):
    ///
    /// * matmul: `2·m·n·k` (one multiply and one add per inner-product term);
    /// * attention: `4·head_dim·n_heads·P`, where `P` is the number of (query, key) pairs
    ///   attended: `q_len·kv_len` without a mask, and with the causal mask
    ///   `q_len·(kv_len − q_len) + q_len·(q_len + 1)/2` (query `i` sees
    ///   `kv_len − q_len + i + 1` keys). Each pair costs `2·head_dim` for `q·k` and `2·head_dim`
    ///   for accumulating `p·v`; softmax work is not counted.
    fn raw_compute_units(&self) -> Option<u64> {
        match *self {
            KernelParams::Matmul { m, n, k } => 2u64
                .checked_mul(u64::from(m))?
                .checked_mul(u64::from(n))?
                .checked_mul(u64::from(k)),
            KernelParams::Attention {
                n_heads,
                q_len,
                kv_len,
                head_dim,
                causal,
                ..
            } => {
                let (q, kv) = (u64::from(q_len), u64::from(kv_len));
                let pairs = if causal {
                    let offset = kv.checked_sub(q)?;
                    q.checked_mul(offset)?
                        .checked_add(q.checked_mul(q.checked_add(1)?)? / 2)?
                } else {
                    q.checked_mul(kv)?
                };
                4u64.checked_mul(u64::from(head_dim))?
                    .checked_mul(u64::from(n_heads))?
                    .checked_mul(pairs)
            }
        }
    }
}

impl TaskSpec {
    /// Checks every rule: kernel version (1, or 2 for matmul), kernel id matching the
    /// parameter variant, parameter bounds, compute-unit bound, memory bound
    /// ([`MAX_TASK_MEMORY`]).
    pub fn validate(&self) -> Result<()> {
        match self.kernel_version {
            KERNEL_VERSION => {}
            KERNEL_VERSION_ROWS => {
                if !matches!(self.kernel, KernelId::MatmulQ8_0 | KernelId::MatmulQ4_0) {
                    return Err(TaskError::KernelVersionForKernel {
                        version: KERNEL_VERSION_ROWS,
                    }
                    .into());
                }
            }
            other => return Err(TaskError::UnsupportedKernelVersion(other).into()),
        }
        let matches = matches!(
            (self.kernel, &self.params),
            (
                KernelId::MatmulQ8_0 | KernelId::MatmulQ4_0,
                KernelParams::Matmul { .. }
            ) | (KernelId::Attention, KernelParams::Attention { .. })
        );
        if !matches {
            return Err(TaskError::KernelParamsMismatch.into());
        }
        self.params.validate()?;
        Ok(())
    }

    /// The task's price in compute units ([`KernelParams`] documents the formula). Receipts must
    /// state exactly this number.
    pub fn compute_units(&self) -> Result<u64> {
        self.validate()?;
        self.params
            .raw_compute_units()
            .ok_or_else(|| TaskError::TooMuchCompute.into())
    }

    /// Whether the task's `weights_digest` is a Merkle root over weight rows (kernel version
    /// 2) rather than the SHA-256 of the whole matrix.
    pub fn weights_by_rows(&self) -> bool {
        self.kernel_version == KERNEL_VERSION_ROWS
    }

    /// The canonical envelope bytes of this task.
    pub fn encode(&self) -> Result<alloc::vec::Vec<u8>> {
        encode(self)
    }

    /// Decodes a task envelope canonically and validates it.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        crate::wire::decode(bytes)
    }

    /// The task digest: SHA-256 of the canonical envelope (what receipts name).
    pub fn digest(&self) -> Result<Digest> {
        let bytes = self.encode()?;
        Ok(Digest(sha2::Sha256::digest(&bytes).into()))
    }
}

impl Message for TaskSpec {
    const KIND: MessageKind = MessageKind::TaskSpec;

    fn check(&self) -> Result<()> {
        self.validate()
    }
}

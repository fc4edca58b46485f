//! Executing a protocol [`TaskSpec`]: regenerate the inputs from the task's seed, run the
//! kernel, and commit to the output (spec/kernels.md §5).
//!
//! * Matmul tasks (`MatmulQ8_0`, `MatmulQ4_0` with `KernelParams::Matmul { m, n, k }`): the
//!   weights are the bare GGML blocks of an `[n, k]` matrix, row after row, and
//!   `weights_digest` MUST equal their SHA-256 ([`weights_digest`]), or for kernel version 2
//!   the Merkle root over their rows ([`crate::tile::rows_root`]). The activations `A[m, k]`
//!   are Philox stream [`STREAM_MATMUL_A`] of `input_seed`. The output is f32 `[m, n]`.
//! * The output commitment is the protocol's tensor commitment of the output; the tile root is
//!   the RFC 6962 Merkle root over its [`TILE_ROWS`] × [`TILE_COLS`] tiles ([`tile_root`]).
//! * Weights for tests and simulations come from [`generate_weights`]: a seed expands to a
//!   reproducible matrix, so a task can name generated weights by their digest.

use mycel_protocol::commit::merkle_root;
use mycel_protocol::ids::Digest;
use mycel_protocol::task::{KernelId, KernelParams, TaskSpec};
use sha2::{Digest as _, Sha256};

use crate::Backend;
use crate::error::{Error, Result};
use crate::matmul::{Weights, matmul};
use crate::philox::{STREAM_MATMUL_A, STREAM_WEIGHTS, generate_uniform};
use crate::quant::{QuantFormat, quantize_q4_0, quantize_q8_0};
use crate::tensor::Tensor;

/// Rows of one output tile (the output viewed as 2-D: last dimension = columns).
pub const TILE_ROWS: usize = 16;
/// Columns of one output tile.
pub const TILE_COLS: usize = 256;

/// This executor's resource limit: a matmul task whose activations (`m·k`) or output (`m·n`)
/// exceed 2^28 elements (1 GiB of f32) is refused with [`Error::SizeOverflow`] before anything
/// is allocated. The protocol's bounds allow up to 2^32; spec/kernels.md §5 lets executors
/// refuse such tasks (the weights for them would be over 4 GiB anyway).
pub const MAX_TASK_ELEMENTS: usize = 1 << 28;

/// What executing a task produces.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutput {
    /// The output tensor.
    pub output: Tensor,
    /// Its tensor commitment (what a receipt's output commitment holds).
    pub commitment: Digest,
    /// The Merkle root over its output tiles (what a receipt's tile root holds).
    pub tile_root: Digest,
}

/// The weights digest: SHA-256 of the bare GGML block bytes (no header, no shape).
pub fn weights_digest(weights: &[u8]) -> Digest {
    Digest(Sha256::digest(weights).into())
}

/// The quantized weight format a kernel uses, if it has weights.
pub fn weight_format(kernel: KernelId) -> Option<QuantFormat> {
    match kernel {
        KernelId::MatmulQ8_0 => Some(QuantFormat::Q8_0),
        KernelId::MatmulQ4_0 => Some(QuantFormat::Q4_0),
        _ => None,
    }
}

/// Deterministic weights for tests and simulations: `n·k` values of Philox stream
/// [`STREAM_WEIGHTS`] of `seed` (row-major `[n, k]`), quantized with the reference quantizer
/// of `format`, returned as bare GGML block bytes. Their digest is [`weights_digest`].
pub fn generate_weights(
    seed: &[u8; 32],
    format: QuantFormat,
    n: usize,
    k: usize,
) -> Result<Vec<u8>> {
    format.matrix_bytes(n, k)?;
    let len = n
        .checked_mul(k)
        .ok_or(Error::SizeOverflow("generated weight count"))?;
    let values = generate_uniform(seed, STREAM_WEIGHTS, len)?;
    Ok(match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&values, k)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&values, k)?).to_vec(),
    })
}

/// The output tile root of a tensor viewed as 2-D `[R, C]` (`C` = its last dimension, `R` the
/// product of the others): tiles of [`TILE_ROWS`] × [`TILE_COLS`] elements, ordered row-major
/// over the tile grid (edge tiles are smaller); leaf `t` is the tile's elements, row by row,
/// as little-endian bytes ([`crate::tile::tile_leaves`]). The root is `mycel-protocol`'s RFC
/// 6962 Merkle root.
pub fn tile_root(t: &Tensor) -> Result<Digest> {
    Ok(merkle_root(crate::tile::tile_leaves(t)?.iter()))
}

/// Execute `task` with the given weights (bare GGML blocks; `None` for kernels without
/// weights) on `backend` with `threads` threads (`0` = all CPUs).
///
/// Errors: an invalid task ([`Error::Protocol`]), weights missing or of the wrong length
/// ([`Error::ShapeMismatch`]), weights whose digest differs from the task's
/// ([`Error::WeightsDigest`]), an unavailable backend, or a kernel this build cannot run
/// ([`Error::UnsupportedKernel`]).
pub fn execute(
    task: &TaskSpec,
    weights: Option<&[u8]>,
    backend: Backend,
    threads: usize,
) -> Result<TaskOutput> {
    task.validate()?;
    let _fp = crate::fpenv::Guard::new();
    let output = match (task.kernel, task.params) {
        (KernelId::MatmulQ8_0 | KernelId::MatmulQ4_0, KernelParams::Matmul { m, n, k }) => {
            let format = weight_format(task.kernel)
                .ok_or_else(|| Error::UnsupportedKernel(format!("{:?}", task.kernel)))?;
            let (m, n, k) = (m as usize, n as usize, k as usize);
            let bytes = weights
                .ok_or_else(|| Error::ShapeMismatch("a matmul task needs its weights".into()))?;
            let expected = format.matrix_bytes(n, k)?;
            if bytes.len() != expected {
                return Err(Error::BufferLength {
                    expected,
                    actual: bytes.len(),
                });
            }
            let digest = crate::tile::task_weights_digest(task, format, bytes)?;
            if digest != task.weights_digest {
                return Err(Error::WeightsDigest {
                    expected: task.weights_digest.to_string(),
                    actual: digest.to_string(),
                });
            }
            let w = Weights::from_bytes(format, bytes, k)?;
            let (mk, mn) = (m.checked_mul(k), m.checked_mul(n));
            let (Some(mk), Some(mn)) = (mk, mn) else {
                return Err(Error::SizeOverflow(
                    "task activations or output exceed MAX_TASK_ELEMENTS",
                ));
            };
            if mk > MAX_TASK_ELEMENTS || mn > MAX_TASK_ELEMENTS {
                return Err(Error::SizeOverflow(
                    "task activations or output exceed MAX_TASK_ELEMENTS",
                ));
            }
            let x = generate_uniform(&task.input_seed, STREAM_MATMUL_A, mk)?;
            let y = matmul(&x, m, &w, backend, threads)?;
            Tensor::from_f32(&[m, n], y)?
        }
        // Attention: Q, K, V from Philox streams 1-3 of the seed, in the task's dtype and mode
        // (spec/kernels.md "Attention", "Task inputs"); no weights.
        (
            KernelId::Attention,
            KernelParams::Attention {
                n_heads,
                q_len,
                head_dim,
                ..
            },
        ) => {
            let y =
                crate::attention::task::run_task(&task.params, &task.input_seed, backend, threads)?;
            Tensor::from_f32(&[n_heads as usize, q_len as usize, head_dim as usize], y)?
        }
        (kernel, _) => return Err(Error::UnsupportedKernel(format!("{kernel:?}"))),
    };
    let commitment = output.commitment()?;
    let tile_root = tile_root(&output)?;
    Ok(TaskOutput {
        output,
        commitment,
        tile_root,
    })
}

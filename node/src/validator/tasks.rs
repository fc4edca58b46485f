//! Issuing tasks: the public weight matrices a subnet's matmul tasks name, the mix of task
//! kinds and shapes ([`TaskConfig`]), and the derivation of each task from the epoch's beacon
//! ([`issue_task`]).
//!
//! The kind, shape and weights of the `index`-th task a validator gives in an epoch come from
//! `H(beacon ‖ validator ‖ index)`, so a validator gives every miner the same workload in a
//! slot and their scores compare like with like. The input seed comes from
//! `H(beacon ‖ validator ‖ miner ‖ index)`: it binds the task to the miner, so no two miners
//! compute the same output, copying another miner's commitment is caught, and one miner's work
//! cannot answer another miner's task.

use std::string::String;
use std::vec;
use std::vec::Vec;

use mycel_kernels::exec::{generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::task::{AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fraud::WeightsSource;
use crate::rng::{DetRng, derive};

/// The mix of task kinds and shapes a validator issues (the `[tasks]` table of a scenario).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// Tasks each validator gives each miner per epoch.
    pub per_miner: u32,
    /// Relative frequency of Q8_0 matmul tasks.
    pub matmul_q8_0: u64,
    /// Relative frequency of Q4_0 matmul tasks.
    pub matmul_q4_0: u64,
    /// Relative frequency of attention tasks.
    pub attention: u64,
    /// Activation rows of matmul tasks: one of these, chosen per task.
    pub matmul_m: Vec<u32>,
    /// Weight rows (output features) of every weight matrix.
    pub matmul_n: u32,
    /// Inner dimension of every weight matrix (a multiple of 32).
    pub matmul_k: u32,
    /// Weight matrices per quantization format (tasks pick one).
    pub weight_matrices: u32,
    /// Attention query heads.
    pub attention_heads: u32,
    /// Attention key/value heads (divides `attention_heads`).
    pub attention_kv_heads: u32,
    /// Attention query positions.
    pub attention_q_len: u32,
    /// Attention key/value positions.
    pub attention_kv_len: u32,
    /// Attention head dimension (64 or 128).
    pub attention_head_dim: u32,
    /// Input formats of attention tasks: one of these (`f32`, `f16`, `bf16`), chosen per task.
    pub attention_dtypes: Vec<String>,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            per_miner: 16,
            matmul_q8_0: 1,
            matmul_q4_0: 1,
            attention: 2,
            matmul_m: vec![1, 4, 8],
            matmul_n: 64,
            matmul_k: 256,
            weight_matrices: 2,
            attention_heads: 4,
            attention_kv_heads: 2,
            attention_q_len: 8,
            attention_kv_len: 192,
            attention_head_dim: 64,
            attention_dtypes: vec!["f32".into(), "f16".into(), "bf16".into()],
        }
    }
}

/// One public weight matrix of the subnet.
#[derive(Debug, Clone)]
pub struct WeightMatrix {
    /// Generator seed.
    pub seed: [u8; 32],
    /// Quantization format.
    pub format: QuantFormat,
    /// Rows (`n`).
    pub rows: u32,
    /// Inner dimension (`k`).
    pub cols: u32,
    /// The bare GGML blocks.
    pub bytes: Vec<u8>,
    /// Their digest (what tasks name).
    pub digest: Digest,
}

impl WeightMatrix {
    /// Where a verifier regenerates these weights from.
    #[must_use]
    pub fn source(&self) -> WeightsSource {
        WeightsSource::new(&self.seed, self.format, self.rows, self.cols)
    }
}

/// The subnet's public weights: `weight_matrices` matrices per format, generated from the seed.
#[derive(Debug, Clone, Default)]
pub struct WeightPool {
    /// Q8_0 matrices.
    pub q8_0: Vec<WeightMatrix>,
    /// Q4_0 matrices.
    pub q4_0: Vec<WeightMatrix>,
}

impl WeightPool {
    /// Generates the pool from a run seed: `weight_matrices` matrices of `matmul_n` x `matmul_k`
    /// per format the mix uses (empty lists for formats it never uses), matrix `j` of a format
    /// from generator seed `derive("weights", seed ‖ format name ‖ j)`.
    ///
    /// # Errors
    /// Kernel errors for shapes the generator refuses.
    pub fn generate(seed: u64, t: &TaskConfig) -> Result<Self> {
        let make = |format: QuantFormat, used: bool| -> Result<Vec<WeightMatrix>> {
            if !used {
                return Ok(Vec::new());
            }
            (0..t.weight_matrices)
                .map(|j| {
                    let seed = derive(
                        "weights",
                        &[
                            &seed.to_le_bytes(),
                            format.name().as_bytes(),
                            &j.to_le_bytes(),
                        ],
                    );
                    let bytes =
                        generate_weights(&seed, format, t.matmul_n as usize, t.matmul_k as usize)?;
                    let digest = weights_digest(&bytes);
                    Ok(WeightMatrix {
                        seed,
                        format,
                        rows: t.matmul_n,
                        cols: t.matmul_k,
                        bytes,
                        digest,
                    })
                })
                .collect()
        };
        Ok(Self {
            q8_0: make(QuantFormat::Q8_0, t.matmul_q8_0 > 0)?,
            q4_0: make(QuantFormat::Q4_0, t.matmul_q4_0 > 0)?,
        })
    }

    /// The matrix a task names, if it is a matmul task on a pool matrix.
    pub fn find(&self, task: &TaskSpec) -> Option<&WeightMatrix> {
        let list = match task.kernel {
            KernelId::MatmulQ8_0 => &self.q8_0,
            KernelId::MatmulQ4_0 => &self.q4_0,
            _ => return None,
        };
        list.iter().find(|w| w.digest == task.weights_digest)
    }
}

/// What every task of one epoch shares.
#[derive(Debug, Clone, Copy)]
pub struct TaskContext {
    /// Network id.
    pub network: NetworkId,
    /// Subnet.
    pub subnet: SubnetId,
    /// Epoch.
    pub epoch: u64,
    /// The epoch's beacon.
    pub beacon: [u8; 32],
}

/// The `index`-th task validator `validator` gives miner `miner` in an epoch (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty mix or a format without weights in `pool`, and the
/// protocol's task errors if the configured shape is not a valid task.
pub fn issue_task(
    t: &TaskConfig,
    pool: &WeightPool,
    ctx: TaskContext,
    validator: &Hotkey,
    miner: &Hotkey,
    index: u32,
) -> Result<TaskSpec> {
    let mut rng = DetRng::new(
        "task-shape",
        &[&ctx.beacon, validator.as_bytes(), &index.to_le_bytes()],
    );
    let kind = rng
        .weighted(&[t.matmul_q8_0, t.matmul_q4_0, t.attention])
        .ok_or_else(|| Error::InvalidArgument("tasks: the task mix is empty".into()))?;
    let input_seed = derive(
        "task-input",
        &[
            &ctx.beacon,
            validator.as_bytes(),
            miner.as_bytes(),
            &index.to_le_bytes(),
        ],
    );
    let (kernel, params, weights_digest) = match kind {
        0 | 1 => {
            let list = if kind == 0 { &pool.q8_0 } else { &pool.q4_0 };
            let w = list
                .get(rng.below(list.len() as u64) as usize)
                .ok_or_else(|| {
                    Error::InvalidArgument("tasks: no weight matrix for this format".into())
                })?;
            let m = *t
                .matmul_m
                .get(rng.below(t.matmul_m.len() as u64) as usize)
                .ok_or_else(|| Error::InvalidArgument("tasks.matmul_m: empty".into()))?;
            let kernel = if kind == 0 {
                KernelId::MatmulQ8_0
            } else {
                KernelId::MatmulQ4_0
            };
            (
                kernel,
                KernelParams::Matmul {
                    m,
                    n: w.rows,
                    k: w.cols,
                },
                w.digest,
            )
        }
        _ => {
            let dtype = t
                .attention_dtypes
                .get(rng.below(t.attention_dtypes.len() as u64) as usize)
                .and_then(|name| parse_dtype(name))
                .ok_or_else(|| {
                    Error::InvalidArgument("tasks.attention_dtypes: empty or unknown dtype".into())
                })?;
            let causal = rng.below(2) == 1;
            let params = KernelParams::Attention {
                n_heads: t.attention_heads,
                n_kv_heads: t.attention_kv_heads,
                q_len: t.attention_q_len,
                kv_len: t.attention_kv_len,
                head_dim: t.attention_head_dim,
                causal,
                dtype,
                mode: AttnMode::Verifiable,
            };
            // Attention takes no weights; the digest is that of the empty weight set.
            (KernelId::Attention, params, weights_digest(&[]))
        }
    };
    let task = TaskSpec {
        network: ctx.network,
        subnet: ctx.subnet,
        epoch: Epoch(ctx.epoch),
        kernel,
        kernel_version: KERNEL_VERSION,
        params,
        weights_digest,
        input_seed,
    };
    task.validate()?;
    Ok(task)
}

/// Parses an attention dtype name.
pub fn parse_dtype(s: &str) -> Option<mycel_protocol::task::AttnDtype> {
    use mycel_protocol::task::AttnDtype;
    Some(match s {
        "f32" => AttnDtype::F32,
        "f16" => AttnDtype::F16,
        "bf16" => AttnDtype::Bf16,
        _ => return None,
    })
}

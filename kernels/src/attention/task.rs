//! Attention tasks: Q, K and V generated from a task's seed (spec/kernels.md "Attention",
//! "Task inputs") and run in the task's dtype and mode.

use mycel_protocol::task::{AttnDtype, AttnMode, KernelParams};

use super::{AttentionMode, AttentionParams, AttnInput, attention};
use crate::Backend;
use crate::error::{Error, Result};
use crate::philox::{STREAM_ATTN_K, STREAM_ATTN_Q, STREAM_ATTN_V, generate_uniform};

/// The generated inputs of an attention task, already rounded to the task's dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskTensors {
    /// f32 tensors (Q, K, V).
    F32(Vec<f32>, Vec<f32>, Vec<f32>),
    /// f16 tensors (Q, K, V).
    F16(Vec<half::f16>, Vec<half::f16>, Vec<half::f16>),
    /// bf16 tensors (Q, K, V).
    Bf16(Vec<half::bf16>, Vec<half::bf16>, Vec<half::bf16>),
}

/// The kernel parameters, dtype and mode of an attention task ([`Error::UnsupportedKernel`] if
/// `params` is not attention or names a mode this build does not know).
pub fn task_params(params: &KernelParams) -> Result<(AttentionParams, AttnDtype, AttentionMode)> {
    match *params {
        KernelParams::Attention {
            n_heads,
            n_kv_heads,
            q_len,
            kv_len,
            head_dim,
            causal,
            dtype,
            mode,
        } => {
            let mode = match mode {
                AttnMode::Verifiable => AttentionMode::Verifiable,
                AttnMode::Fast => AttentionMode::Fast,
                other => {
                    return Err(Error::UnsupportedKernel(format!(
                        "attention mode {other:?}"
                    )));
                }
            };
            let p = AttentionParams::new(
                n_heads as usize,
                n_kv_heads as usize,
                q_len as usize,
                kv_len as usize,
                head_dim as usize,
            )
            .causal(causal);
            Ok((p, dtype, mode))
        }
        _ => Err(Error::UnsupportedKernel("not an attention task".into())),
    }
}

/// Generate Q, K and V for a task: Q is elements `0 .. n_heads·q_len·head_dim` of Philox
/// stream [`STREAM_ATTN_Q`], K and V elements `0 .. n_kv_heads·kv_len·head_dim` of streams
/// [`STREAM_ATTN_K`] and [`STREAM_ATTN_V`] (each in the tensor's row-major order, values
/// `k·2⁻²³` in [−1, 1)); for f16 and bf16 each value is then rounded to the dtype with
/// roundTiesToEven.
pub fn generate_inputs(
    params: &AttentionParams,
    dtype: AttnDtype,
    seed: &[u8; 32],
) -> Result<TaskTensors> {
    params.validate()?;
    // The f16/bf16 rounding below must not see a host's flush-to-zero settings.
    let _fp = crate::fpenv::Guard::new();
    let q = generate_uniform(seed, STREAM_ATTN_Q, params.q_elems()?)?;
    let k = generate_uniform(seed, STREAM_ATTN_K, params.kv_elems()?)?;
    let v = generate_uniform(seed, STREAM_ATTN_V, params.kv_elems()?)?;
    let f16 = |x: Vec<f32>| x.into_iter().map(half::f16::from_f32).collect::<Vec<_>>();
    let bf16 = |x: Vec<f32>| x.into_iter().map(half::bf16::from_f32).collect::<Vec<_>>();
    match dtype {
        AttnDtype::F32 => Ok(TaskTensors::F32(q, k, v)),
        AttnDtype::F16 => Ok(TaskTensors::F16(f16(q), f16(k), f16(v))),
        AttnDtype::Bf16 => Ok(TaskTensors::Bf16(bf16(q), bf16(k), bf16(v))),
        _ => Err(Error::UnsupportedKernel(format!(
            "attention dtype {dtype:?}"
        ))),
    }
}

/// Execute an attention task: generate the inputs from `seed` and run attention in the task's
/// mode. The output is f32 `[n_heads, q_len, head_dim]`; in verifiable mode its bits are the
/// same on every backend. Errors if `params` is not an attention task.
pub fn run_task(
    params: &KernelParams,
    seed: &[u8; 32],
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    let (p, dtype, mode) = task_params(params)?;
    match generate_inputs(&p, dtype, seed)? {
        TaskTensors::F32(q, k, v) => attention(
            &p,
            AttnInput::F32(&q),
            AttnInput::F32(&k),
            AttnInput::F32(&v),
            mode,
            backend,
            threads,
        ),
        TaskTensors::F16(q, k, v) => attention(
            &p,
            AttnInput::F16(&q),
            AttnInput::F16(&k),
            AttnInput::F16(&v),
            mode,
            backend,
            threads,
        ),
        TaskTensors::Bf16(q, k, v) => attention(
            &p,
            AttnInput::Bf16(&q),
            AttnInput::Bf16(&k),
            AttnInput::Bf16(&v),
            mode,
            backend,
            threads,
        ),
    }
}

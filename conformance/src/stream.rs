//! The accumulated kernel stream (as C2SP's CCTV accumulates ML-KEM vectors): a seeded stream
//! of many small tasks whose outputs are all hashed into one digest, so that another
//! implementation proves bit-exactness over a large space with a single comparison.
//!
//! Task `i` of the stream with 32-byte `seed` (conformance/README.md, "Accumulated kernel
//! stream"):
//!
//! - `s = SHA-256("mycel/conformance/v1/kernel-stream" || 0x00 || seed || LE64(i))`;
//! - `s[0] mod 3` picks the kernel: 0 a Q8_0 matmul, 1 a Q4_0 matmul, 2 attention;
//! - matmul: `m = 1 + s[1] mod 4`, `n = 1 + s[2] mod 32`, `k = 32·(1 + s[3] mod 4)`;
//! - attention (verifiable mode, head_dim 64): `n_kv_heads = 1 + s[1] mod 2`,
//!   `n_heads = n_kv_heads·(1 + s[2] mod 2)`, `q_len = 1 + s[3] mod 4`,
//!   `kv_len = q_len + s[4] mod 5`, causal when `s[5]` is odd, dtype
//!   `[f32, f16, bf16][s[6] mod 3]`;
//! - the task is the self-contained seeded task (spec/kernels.md §5, `mycel task new`) with
//!   network id 32 zero bytes, subnet 1, epoch 0 and `input_seed = s`;
//! - the digest is `SHA-256(commitment_0 || tile_root_0 || commitment_1 || …)` over the
//!   executed tasks in order.

use mycel_kernels::Backend;
use mycel_kernels::quant::QuantFormat;
use mycel_node::task::{AttentionShape, TaskScope, attention_task, execute_seeded, matmul_task};
use mycel_protocol::task::{AttnDtype, AttnMode, TaskSpec};
use sha2::{Digest as _, Sha256};

use crate::util::sha256;

/// The domain tag of the per-task seeds.
pub const STREAM_TAG: &[u8] = b"mycel/conformance/v1/kernel-stream";

/// The seed of task `i`.
pub fn task_seed(seed: &[u8; 32], i: u64) -> [u8; 32] {
    sha256(&[STREAM_TAG, &[0], seed, &i.to_le_bytes()])
}

fn at(s: &[u8; 32], i: usize) -> u32 {
    u32::from(s.get(i).copied().unwrap_or(0))
}

/// Task `i` of the stream.
///
/// # Errors
/// Not expected (every shape drawn is valid); a task error otherwise.
pub fn task(seed: &[u8; 32], i: u64) -> Result<TaskSpec, String> {
    let s = task_seed(seed, i);
    let scope = TaskScope::default();
    let r = match at(&s, 0) % 3 {
        0 | 1 => {
            let format = if at(&s, 0).is_multiple_of(3) {
                QuantFormat::Q8_0
            } else {
                QuantFormat::Q4_0
            };
            matmul_task(
                scope,
                format,
                1 + at(&s, 1) % 4,
                1 + at(&s, 2) % 32,
                32 * (1 + at(&s, 3) % 4),
                s,
            )
        }
        _ => {
            let kv = 1 + at(&s, 1) % 2;
            let q_len = 1 + at(&s, 3) % 4;
            attention_task(
                scope,
                AttentionShape {
                    n_heads: kv * (1 + at(&s, 2) % 2),
                    n_kv_heads: kv,
                    q_len,
                    kv_len: q_len + at(&s, 4) % 5,
                    head_dim: 64,
                    causal: at(&s, 5) % 2 == 1,
                    dtype: match at(&s, 6) % 3 {
                        0 => AttnDtype::F32,
                        1 => AttnDtype::F16,
                        _ => AttnDtype::Bf16,
                    },
                    mode: AttnMode::Verifiable,
                },
                s,
            )
        }
    };
    r.map_err(|e| e.to_string())
}

/// The digest over the first `count` tasks of the stream.
///
/// # Errors
/// A task that cannot be built or executed (its error's code).
pub fn digest(seed: &[u8; 32], count: u64) -> Result<[u8; 32], String> {
    let mut h = Sha256::new();
    for i in 0..count {
        let t = task(seed, i)?;
        let out = execute_seeded(&t, Backend::Auto, 1).map_err(|e| e.code().to_string())?;
        h.update(out.commitment.0);
        h.update(out.tile_root.0);
    }
    Ok(h.finalize().into())
}

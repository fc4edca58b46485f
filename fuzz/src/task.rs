//! Task execution from arbitrary `TaskSpec`s (spec/kernels.md §5): a typed error or a result,
//! never a panic; a refused task allocates (almost) nothing; an executed one allocates at most
//! a fixed multiple of its inputs and outputs; verifiable work gives the same commitment and
//! tile root on the scalar reference (1 thread) and on `Backend::Auto` (2–3 threads).
//!
//! Only small tasks are executed, so that runs stay fast: at most [`EXEC_MACS`] multiply-adds.
//! Larger valid matmul tasks are checked for their refusal paths only (weights missing or of
//! the wrong length: refused before any allocation). Larger valid attention tasks are not
//! executed here: until `TaskSpec::validate` bounds attention memory (issue #19 hole 2, owned
//! by the protocol engineer) a valid task can ask for 16 GiB.
//!
//! The target installs [`crate::alloc::Counting`] as its global allocator; the bounds below
//! are measured with it.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, tile_root, weight_format, weights_digest};
use mycel_kernels::tile::task_weights_digest;
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{
    AttnDtype, AttnMode, KERNEL_VERSION, KERNEL_VERSION_ROWS, KernelId, KernelParams, TaskSpec,
};
use sha2::{Digest as _, Sha256};

use crate::alloc::{peak_since_reset, reset_peak};

/// Largest task (multiply-adds) this target executes.
pub const EXEC_MACS: u64 = 1 << 21;
/// What a refused task may allocate before its error: error messages, nothing sized by the
/// task.
pub const REFUSAL_BYTES: usize = 64 << 10;

/// A dimension: mostly small, sometimes anything (to reach every bound check).
fn dim(u: &mut Unstructured<'_>, small: u32) -> Result<u32> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => u.arbitrary()?,
        1 => 0,
        2 => u.int_in_range(small..=1 << 17)?,
        _ => u.int_in_range(1..=small)?,
    })
}

fn arb_task(u: &mut Unstructured<'_>) -> Result<TaskSpec> {
    let kernel = *u.choose(&[
        KernelId::MatmulQ8_0,
        KernelId::MatmulQ4_0,
        KernelId::Attention,
    ])?;
    let attention = if u.ratio(1u8, 16)? {
        kernel != KernelId::Attention
    } else {
        kernel == KernelId::Attention
    };
    let params = if attention {
        let n_kv_heads = dim(u, 4)?;
        let group = dim(u, 3)?;
        let q_len = dim(u, 24)?;
        KernelParams::Attention {
            n_heads: if u.ratio(1u8, 8)? {
                dim(u, 8)?
            } else {
                n_kv_heads.saturating_mul(group)
            },
            n_kv_heads,
            q_len,
            kv_len: if u.arbitrary()? {
                q_len.saturating_add(dim(u, 24)?.saturating_sub(1))
            } else {
                dim(u, 40)?
            },
            head_dim: if u.ratio(1u8, 16)? {
                u.arbitrary()?
            } else {
                *u.choose(&[64, 128])?
            },
            causal: u.arbitrary()?,
            dtype: *u.choose(&[AttnDtype::F32, AttnDtype::F16, AttnDtype::Bf16])?,
            mode: if u.ratio(1u8, 4)? {
                AttnMode::Fast
            } else {
                AttnMode::Verifiable
            },
        }
    } else {
        let k = if u.ratio(1u8, 16)? {
            dim(u, 256)?
        } else {
            dim(u, 8)?.saturating_mul(32)
        };
        KernelParams::Matmul {
            m: dim(u, 16)?,
            n: dim(u, 48)?,
            k,
        }
    };
    Ok(TaskSpec {
        network: NetworkId(u.arbitrary()?),
        subnet: SubnetId(u.arbitrary()?),
        epoch: Epoch(u.arbitrary()?),
        kernel,
        // Version 2 (matmul weights named by their rows' Merkle root) as well as 1, and now
        // and then any other value.
        kernel_version: match u.int_in_range(0u8..=31)? {
            0 => u.arbitrary()?,
            1..=8 => KERNEL_VERSION_ROWS,
            _ => KERNEL_VERSION,
        },
        params,
        weights_digest: Digest(u.arbitrary()?),
        input_seed: u.arbitrary()?,
    })
}

/// Multiply-adds of a task, if it can be counted (saturating).
fn macs(params: &KernelParams) -> u64 {
    match *params {
        KernelParams::Matmul { m, n, k } => u64::from(m)
            .saturating_mul(u64::from(n))
            .saturating_mul(u64::from(k)),
        KernelParams::Attention {
            n_heads,
            q_len,
            kv_len,
            head_dim,
            ..
        } => u64::from(n_heads)
            .saturating_mul(u64::from(q_len))
            .saturating_mul(u64::from(kv_len))
            .saturating_mul(u64::from(head_dim)),
        _ => u64::MAX,
    }
}

/// The allocation bound this target holds an executed task to: a fixed multiple of the
/// elements it reads and writes, per-thread scratch proportional to `kv_len`, and 1 MiB for
/// the worker pool and bookkeeping.
fn exec_bound(params: &KernelParams, threads: usize) -> usize {
    let fixed = 1 << 20;
    match *params {
        KernelParams::Matmul { m, n, k } => {
            let (m, n, k) = (m as usize, n as usize, k as usize);
            24 * m * k + 16 * m * n + fixed
        }
        KernelParams::Attention {
            n_heads,
            n_kv_heads,
            q_len,
            kv_len,
            head_dim,
            ..
        } => {
            let q = n_heads as usize * q_len as usize * head_dim as usize;
            let kv = n_kv_heads as usize * kv_len as usize * head_dim as usize;
            32 * (q + 2 * kv) + threads * (64 * kv_len as usize + (64 << 10)) + fixed
        }
        _ => 0,
    }
}

/// Runs `f` and returns its result with the allocation peak it reached.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    reset_peak();
    let r = f();
    (r, peak_since_reset())
}

/// One structured run; `Err` only when the input ran out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut task = if u.ratio(1u8, 8)? {
        // A task as it arrives on the wire.
        let len = u.int_in_range(0usize..=200)?;
        match TaskSpec::decode(u.bytes(len)?) {
            Ok(t) => t,
            Err(_) => return Ok(()),
        }
    } else {
        arb_task(u)?
    };
    let format = weight_format(task.kernel);
    let weights: Option<Vec<u8>> = match (format, task.params) {
        (Some(f), KernelParams::Matmul { n, k, .. })
            if macs(&task.params) <= EXEC_MACS && u64::from(n) * u64::from(k) <= EXEC_MACS =>
        {
            let (n, k) = (n as usize, k as usize);
            match u.int_in_range(0u8..=3)? {
                0 => match f.matrix_bytes(n, k) {
                    Ok(len) => {
                        let mut w = vec![0u8; len];
                        u.fill_buffer(&mut w)?;
                        Some(w)
                    }
                    Err(_) => None,
                },
                _ => generate_weights(&task.input_seed, f, n, k).ok(),
            }
        }
        _ => None,
    };
    if u.ratio(7u8, 8)?
        && let Some(w) = &weights
        && let Some(f) = format
    {
        // `weights_digest` is the SHA-256 of the bytes; the digest a task names depends on its
        // kernel version (version 2: the Merkle root over the rows), as `execute` checks it.
        assert_eq!(weights_digest(w).0, <[u8; 32]>::from(Sha256::digest(w)));
        if let Ok(d) = task_weights_digest(&task, f, w) {
            task.weights_digest = d;
        }
    }
    let threads = u.int_in_range(2usize..=3)?;

    if let Err(e) = task.validate() {
        let (r, peak) = measured(|| execute(&task, weights.as_deref(), Backend::Auto, threads));
        let err = r.expect_err("an invalid task executed");
        assert!(
            peak <= REFUSAL_BYTES,
            "refusing {task:?} ({e}) allocated {peak} bytes: {err}"
        );
        return Ok(());
    }
    let units = task.compute_units().expect("a valid task has a price");
    assert!(units > 0);

    if macs(&task.params) > EXEC_MACS {
        if format.is_some() {
            for w in [None, Some(&[0u8; 7][..])] {
                let (r, peak) = measured(|| execute(&task, w, Backend::Auto, threads));
                assert!(r.is_err(), "a matmul ran without its weights");
                assert!(
                    peak <= REFUSAL_BYTES,
                    "refusing bad weights allocated {peak} bytes"
                );
            }
        }
        return Ok(());
    }

    let bound = exec_bound(&task.params, threads);
    let (auto, peak) = measured(|| execute(&task, weights.as_deref(), Backend::Auto, threads));
    let auto = match auto {
        Ok(out) => out,
        Err(e) => {
            // The only refusals of a valid small task: weights absent, of the wrong length or
            // with another digest.
            assert!(
                format.is_some(),
                "valid attention task {task:?} refused: {e}"
            );
            let ok_weights = match (&weights, format) {
                (Some(w), Some(f)) => {
                    task_weights_digest(&task, f, w).ok() == Some(task.weights_digest)
                }
                _ => false,
            };
            assert!(
                !ok_weights,
                "valid matmul {task:?} with its weights refused: {e}"
            );
            assert!(peak <= REFUSAL_BYTES, "refusal allocated {peak} bytes");
            return Ok(());
        }
    };
    assert!(
        peak <= bound,
        "{task:?} allocated {peak} bytes, bound {bound}"
    );
    assert_eq!(
        auto.commitment,
        auto.output.commitment().expect("commitment")
    );
    assert_eq!(auto.tile_root, tile_root(&auto.output).expect("tile root"));
    let verifiable = !matches!(
        task.params,
        KernelParams::Attention {
            mode: AttnMode::Fast,
            ..
        }
    );
    if verifiable {
        let scalar = execute(&task, weights.as_deref(), Backend::Scalar, 1).expect("scalar runs");
        assert_eq!(
            scalar.commitment, auto.commitment,
            "backends differ on {task:?}"
        );
        assert_eq!(scalar.tile_root, auto.tile_root);
    }
    Ok(())
}

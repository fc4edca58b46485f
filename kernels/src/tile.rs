//! One output tile at a time: the tile leaves of an output, and the computation of a single
//! tile of a matmul or (verifiable-mode) attention task, bit-identical to the same tile of the
//! full kernel's output (spec/receipts.md §8b, spec/kernels.md §5 step 6).
//!
//! A tile fraud proof names one tile of a receipt's output; its verifier recomputes that tile
//! alone with [`task_tile`], which needs only the tile's activation rows and weight rows
//! (matmul) or its query rows and their heads' keys and values (attention). Seeded weights are
//! generated row by row ([`generate_weight_rows`], [`generated_weights_digest`]), so no size
//! cap applies.
//!
//! Why a tile is bit-identical to the full output: the matmul contract fixes every output
//! element from its activation row and weight row alone (spec/kernels.md §4.2, so neither `m`,
//! `n` nor the split of the work changes a bit), and verifiable attention computes each query
//! row from that row, its head's keys and values and the keys its mask lets it see (the
//! 64-key tiles start at key 0), so a sub-problem of one head and a few query positions,
//! with the keys cut at the last one they see, gives the same rows.

use mycel_protocol::commit::{MerkleTree, weight_row_leaf_hash};
use mycel_protocol::ids::Digest;
use mycel_protocol::opening::{TileGrid, TileRect};
use mycel_protocol::task::{AttnDtype, AttnMode, KernelId, KernelParams, TaskSpec};
use sha2::{Digest as _, Sha256};

use crate::Backend;
use crate::attention::{AttentionParams, AttnInput, attention, task::task_params};
use crate::error::{Error, Result};
use crate::matmul::{Weights, matmul};
use crate::philox::{
    STREAM_ATTN_K, STREAM_ATTN_Q, STREAM_ATTN_V, STREAM_MATMUL_A, STREAM_WEIGHTS, fill_uniform,
};
use crate::quant::{QuantFormat, quantize_q4_0, quantize_q8_0};
use crate::tensor::Tensor;

/// The tile leaves of an output tensor viewed as 2-D `[R, C]` (`C` its last dimension): the
/// bytes of each tile, row-major over the tile grid ([`TileGrid`]). Their RFC 6962 root is
/// the receipt's `output_tile_root`.
pub fn tile_leaves(t: &Tensor) -> Result<Vec<Vec<u8>>> {
    let shape = t.shape();
    let cols = shape.last().copied().unwrap_or(1);
    let rows = shape.iter().rev().skip(1).product::<usize>();
    let elem = t
        .as_bytes()
        .len()
        .checked_div(rows.saturating_mul(cols))
        .unwrap_or(0);
    if t.dtype().is_quantized()
        || elem == 0
        || rows.saturating_mul(cols).saturating_mul(elem) != t.as_bytes().len()
    {
        return Err(Error::DtypeMismatch {
            expected: "f32, f16 or bf16",
            actual: t.dtype().name(),
        });
    }
    let tile_cols = usize::try_from(mycel_protocol::opening::TILE_COLS).unwrap_or(256);
    let tile_rows = usize::try_from(mycel_protocol::opening::TILE_ROWS).unwrap_or(16);
    let bytes = t.as_bytes();
    let rows_bytes: Vec<&[u8]> = bytes.chunks(cols.saturating_mul(elem)).collect();
    let tile_bytes = tile_cols.saturating_mul(elem);
    let mut leaves: Vec<Vec<u8>> = Vec::new();
    // Bands of TILE_ROWS rows; within a band, tile c gathers piece c of every row, in order.
    for band in rows_bytes.chunks(tile_rows) {
        let mut band_leaves: Vec<Vec<u8>> = Vec::new();
        for row in band {
            for (c, piece) in row.chunks(tile_bytes).enumerate() {
                match band_leaves.get_mut(c) {
                    Some(leaf) => leaf.extend_from_slice(piece),
                    None => band_leaves.push(piece.to_vec()),
                }
            }
        }
        leaves.extend(band_leaves);
    }
    Ok(leaves)
}

/// The Merkle tree over an output's tile leaves ([`tile_leaves`]): its root is the tile root,
/// its [`MerkleTree::proof`] of tile `t` the path a tile opening carries.
pub fn tile_tree(t: &Tensor) -> Result<MerkleTree> {
    Ok(MerkleTree::from_leaf_data(tile_leaves(t)?))
}

/// `usize` of a u64 that indexes memory we hold (or refuse).
fn to_usize(x: u64, what: &'static str) -> Result<usize> {
    usize::try_from(x).map_err(|_| Error::SizeOverflow(what))
}

/// Weight rows `row0..row1` of the generated weights of `seed` (spec/kernels.md §5,
/// "Generated weights"): elements `row0·k .. row1·k` of stream `0x57474854`, quantized row by
/// row; the same bytes as that slice of [`crate::exec::generate_weights`].
pub fn generate_weight_rows(
    seed: &[u8; 32],
    format: QuantFormat,
    k: usize,
    row0: usize,
    row1: usize,
) -> Result<Vec<u8>> {
    let rows = row1
        .checked_sub(row0)
        .ok_or(Error::SizeOverflow("weight row range"))?;
    format.matrix_bytes(rows, k)?;
    let len = rows
        .checked_mul(k)
        .ok_or(Error::SizeOverflow("generated weight count"))?;
    let offset = u64::try_from(row0)
        .ok()
        .and_then(|r| r.checked_mul(k as u64))
        .ok_or(Error::SizeOverflow("generated weight offset"))?;
    let mut values = crate::tensor::try_filled(len, 0.0f32, "generated weight rows")?;
    fill_uniform(seed, STREAM_WEIGHTS, offset, &mut values)?;
    Ok(match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&values, k)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&values, k)?).to_vec(),
    })
}

/// Generated rows per step of [`generated_weights_digest`] (bounds its memory to a few MB).
const DIGEST_CHUNK_VALUES: usize = 1 << 20;

/// The digest of the generated `[n, k]` weights of `seed`, computed row by row (memory: a few
/// rows and one hash per row, whatever `n·k`): with `by_rows`, the kernel-version-2 weights
/// root ([`rows_root`]); without, the version-1 SHA-256 of the whole matrix.
pub fn generated_weights_digest(
    seed: &[u8; 32],
    format: QuantFormat,
    n: usize,
    k: usize,
    by_rows: bool,
) -> Result<Digest> {
    let row_bytes = format.matrix_bytes(1, k)?;
    let step = DIGEST_CHUNK_VALUES.checked_div(k).unwrap_or(1).max(1);
    let mut sha = Sha256::new();
    let mut leaves = Vec::new();
    let mut r = 0usize;
    while r < n {
        let r1 = r.saturating_add(step).min(n);
        let bytes = generate_weight_rows(seed, format, k, r, r1)?;
        if by_rows {
            leaves.extend(bytes.chunks(row_bytes).map(weight_row_leaf_hash));
        } else {
            sha.update(&bytes);
        }
        r = r1;
    }
    Ok(if by_rows {
        MerkleTree::from_leaf_hashes(leaves).root()
    } else {
        Digest(sha.finalize().into())
    })
}

/// The kernel-version-2 weights root of bare GGML weights with rows of `k`: the Merkle root
/// over their rows' leaf hashes (spec/commitments.md §2a).
pub fn rows_root(format: QuantFormat, bytes: &[u8], k: usize) -> Result<Digest> {
    let row = format.matrix_bytes(1, k)?;
    if bytes.is_empty() || !bytes.len().is_multiple_of(row) {
        return Err(Error::ShapeMismatch(format!(
            "{} bytes are not a whole number of {} rows of {k}",
            bytes.len(),
            format.name()
        )));
    }
    Ok(MerkleTree::from_leaf_hashes(bytes.chunks(row).map(weight_row_leaf_hash).collect()).root())
}

/// The digest a task's weights must have: [`rows_root`] for kernel version 2, SHA-256 of the
/// bytes ([`crate::exec::weights_digest`]) otherwise.
pub fn task_weights_digest(task: &TaskSpec, format: QuantFormat, bytes: &[u8]) -> Result<Digest> {
    match task.params {
        KernelParams::Matmul { k, .. } if task.weights_by_rows() => {
            rows_root(format, bytes, k as usize)
        }
        _ => Ok(crate::exec::weights_digest(bytes)),
    }
}

/// Where tile `index` of a task's output lies ([`mycel_protocol::Error`]'s opening error if it
/// does not exist).
pub fn task_tile_rect(task: &TaskSpec, index: u64) -> Result<TileRect> {
    TileGrid::of_task(task)
        .tile(index)
        .map_err(|e| Error::from(mycel_protocol::Error::from(e)))
}

/// Compute units of recomputing one tile: matmul `2·rows·cols·k`; attention `4·head_dim`
/// per (query, key) pair the tile's rows attend. What a tile proof's verifier spends.
pub fn tile_compute_units(task: &TaskSpec, rect: &TileRect) -> u64 {
    match task.params {
        KernelParams::Matmul { k, .. } => 2u64
            .saturating_mul(rect.elems())
            .saturating_mul(u64::from(k)),
        KernelParams::Attention {
            q_len,
            kv_len,
            head_dim,
            causal,
            ..
        } => {
            let (q, kv) = (u64::from(q_len), u64::from(kv_len));
            let pairs: u64 = (rect.row0..rect.row1)
                .map(|r| {
                    let i = r.checked_rem(q).unwrap_or(0);
                    if causal {
                        kv.saturating_sub(q)
                            .saturating_add(i)
                            .saturating_add(1)
                            .min(kv)
                    } else {
                        kv
                    }
                })
                .fold(0u64, u64::saturating_add);
            4u64.saturating_mul(u64::from(head_dim))
                .saturating_mul(pairs)
        }
        // A kernel this build does not know: nothing to recompute.
        _ => 0,
    }
}

/// Compute tile `rect` of a task's output, as its leaf bytes (row by row, little-endian f32).
///
/// * matmul: `weight_rows` are the bare GGML bytes of weight rows `col0..col1` (exactly those
///   rows, in order); the activation rows `row0..row1` are generated from the task's seed;
/// * attention (verifiable mode only): no weights; the query rows and the keys and values of
///   their heads are generated from the task's seed.
///
/// Errors: an invalid task, a rect outside the output, weight rows of the wrong length, Fast-mode
/// attention ([`Error::UnsupportedKernel`]: its bits are not defined), backend errors.
pub fn task_tile(
    task: &TaskSpec,
    rect: &TileRect,
    weight_rows: Option<&[u8]>,
    backend: Backend,
) -> Result<Vec<u8>> {
    task.validate()?;
    let grid = TileGrid::of_task(task);
    if rect.row0 >= rect.row1
        || rect.col0 >= rect.col1
        || rect.row1 > grid.rows
        || rect.col1 > grid.cols
    {
        return Err(Error::ShapeMismatch(format!(
            "tile rows {}..{} and columns {}..{} are not within the output [{}, {}]",
            rect.row0, rect.row1, rect.col0, rect.col1, grid.rows, grid.cols
        )));
    }
    let _fp = crate::fpenv::Guard::new();
    let values = match (task.kernel, task.params) {
        (KernelId::MatmulQ8_0 | KernelId::MatmulQ4_0, KernelParams::Matmul { k, .. }) => {
            let format = crate::exec::weight_format(task.kernel)
                .ok_or_else(|| Error::UnsupportedKernel(format!("{:?}", task.kernel)))?;
            let k = k as usize;
            let rows = to_usize(rect.rows(), "tile rows")?;
            let cols = to_usize(rect.cols(), "tile columns")?;
            let bytes = weight_rows.ok_or_else(|| {
                Error::ShapeMismatch("a matmul tile needs its weight rows".into())
            })?;
            let expected = format.matrix_bytes(cols, k)?;
            if bytes.len() != expected {
                return Err(Error::BufferLength {
                    expected,
                    actual: bytes.len(),
                });
            }
            let w = Weights::from_bytes(format, bytes, k)?;
            let mut x = crate::tensor::try_filled(
                rows.checked_mul(k)
                    .ok_or(Error::SizeOverflow("tile activations"))?,
                0.0f32,
                "tile activations",
            )?;
            let offset = rect
                .row0
                .checked_mul(k as u64)
                .ok_or(Error::SizeOverflow("activation offset"))?;
            fill_uniform(&task.input_seed, STREAM_MATMUL_A, offset, &mut x)?;
            matmul(&x, rows, &w, backend, 1)?
        }
        (
            KernelId::Attention,
            KernelParams::Attention {
                mode: AttnMode::Verifiable,
                ..
            },
        ) => attention_rows(task, rect.row0, rect.row1, backend)?,
        (KernelId::Attention, _) => {
            return Err(Error::UnsupportedKernel(
                "Fast-mode attention has no defined output bits, so no tile of it can be recomputed"
                    .into(),
            ));
        }
        (kernel, _) => return Err(Error::UnsupportedKernel(format!("{kernel:?}"))),
    };
    Ok(bytemuck::cast_slice(&values).to_vec())
}

/// Elements `offset .. offset + len` of an attention input stream, in the task's dtype.
enum Gen {
    F32(Vec<f32>),
    F16(Vec<half::f16>),
    Bf16(Vec<half::bf16>),
}

impl Gen {
    fn new(seed: &[u8; 32], stream: u32, offset: u64, len: usize, dtype: AttnDtype) -> Result<Gen> {
        let mut v = crate::tensor::try_filled(len, 0.0f32, "attention tile input")?;
        fill_uniform(seed, stream, offset, &mut v)?;
        match dtype {
            AttnDtype::F32 => Ok(Gen::F32(v)),
            AttnDtype::F16 => Ok(Gen::F16(v.into_iter().map(half::f16::from_f32).collect())),
            AttnDtype::Bf16 => Ok(Gen::Bf16(v.into_iter().map(half::bf16::from_f32).collect())),
            other => Err(Error::UnsupportedKernel(format!(
                "attention dtype {other:?}"
            ))),
        }
    }

    fn input(&self, len: usize) -> AttnInput<'_> {
        match self {
            Gen::F32(x) => AttnInput::F32(x.get(..len).unwrap_or_default()),
            Gen::F16(x) => AttnInput::F16(x.get(..len).unwrap_or_default()),
            Gen::Bf16(x) => AttnInput::Bf16(x.get(..len).unwrap_or_default()),
        }
    }
}

/// Output rows `row0..row1` of a verifiable attention task (`[n_heads·q_len, head_dim]`
/// view): per head, one sub-problem of one head, those query positions and the keys they see.
fn attention_rows(task: &TaskSpec, row0: u64, row1: u64, backend: Backend) -> Result<Vec<f32>> {
    let KernelParams::Attention { dtype, .. } = task.params else {
        return Err(Error::UnsupportedKernel("not an attention task".into()));
    };
    let (p, _, mode) = task_params(&task.params)?;
    let (q_len, kv_len, d) = (p.q_len as u64, p.kv_len as u64, p.head_dim as u64);
    let group = p.n_heads.checked_div(p.n_kv_heads).unwrap_or(1).max(1);
    let mut out = Vec::new();
    // Keys and values of one KV head, reused by the next head of the tile that reads it. Every
    // head but the tile's last runs to its final query position and so sees the most keys:
    // the cache is regenerated only if a later head needs more.
    let mut kv_cache: Option<(usize, usize, Gen, Gen)> = None;
    let mut r = row0;
    while r < row1 {
        let h = r.checked_div(q_len).unwrap_or(0);
        let i0 = r.checked_rem(q_len).unwrap_or(0);
        let head_end = h.saturating_add(1).saturating_mul(q_len);
        let r_end = row1.min(head_end);
        let i1 = i0.saturating_add(r_end.saturating_sub(r));
        let sub_q = i1.saturating_sub(i0);
        let sub_kv = if p.causal {
            kv_len.saturating_sub(q_len).saturating_add(i1)
        } else {
            kv_len
        };
        let kvh = to_usize(h, "head")?.checked_div(group).unwrap_or(0);
        let need_kv = to_usize(sub_kv.saturating_mul(d), "keys")?;
        let fresh = !matches!(&kv_cache, Some((c, len, _, _)) if *c == kvh && *len >= need_kv);
        if fresh {
            let off = (kvh as u64).saturating_mul(kv_len).saturating_mul(d);
            kv_cache = Some((
                kvh,
                need_kv,
                Gen::new(&task.input_seed, STREAM_ATTN_K, off, need_kv, dtype)?,
                Gen::new(&task.input_seed, STREAM_ATTN_V, off, need_kv, dtype)?,
            ));
        }
        let Some((_, _, kg, vg)) = &kv_cache else {
            return Err(Error::UnsupportedKernel("attention tile: no keys".into()));
        };
        let q_off = h.saturating_mul(q_len).saturating_add(i0).saturating_mul(d);
        let q_n = to_usize(sub_q.saturating_mul(d), "queries")?;
        let qg = Gen::new(&task.input_seed, STREAM_ATTN_Q, q_off, q_n, dtype)?;
        let sub = AttentionParams::new(
            1,
            1,
            to_usize(sub_q, "queries")?,
            to_usize(sub_kv, "keys")?,
            p.head_dim,
        )
        .causal(p.causal);
        let y = attention(
            &sub,
            qg.input(q_n),
            kg.input(need_kv),
            vg.input(need_kv),
            mode,
            backend,
            1,
        )?;
        out.extend(y);
        r = r_end;
    }
    Ok(out)
}

//! Weights prepared once for decode: GGML's Q8_0 / Q4_0 blocks rearranged so that eight weight
//! rows share every activation broadcast and every scale conversion (spec/kernels.md §4.6).
//!
//! [`PackedWeights::new`] copies a [`Weights`] matrix into the packed layout (the same bytes,
//! reordered: nothing is added, dropped or converted), and [`matmul_packed`] multiplies
//! activations with it. The output is bit-identical to [`crate::matmul::matmul`] on the plain
//! matrix, on every backend and thread count: the packed layout changes which bytes a load
//! reads, never the contract's operations (spec/kernels.md §4).
//!
//! Layout (`nb = k / 32` blocks per row, `bs` = 34 bytes for Q8_0 and 18 for Q4_0): the first
//! `⌊n / 8⌋ · 8` rows form groups of eight adjacent rows, each `8 · nb · bs` bytes, group after
//! group; the `n mod 8` rows after them keep GGML's plain layout (row after row). Within a
//! group: first the scales, `16` bytes per block (block `b`, row `r` at `16·b + 2·r`, the
//! block's f16 as in GGML), then the values, `8 · q` bytes per block (`q` = 32 for Q8_0, 16 for
//! Q4_0) in 4-byte chunks: chunk `j` of block `b` holds bytes `4j .. 4j + 4` of the block's
//! values (GGML's `qs`) for rows 0..8, at `16·nb + 8q·b + 32·j + 4·r`.

use crate::Backend;
use crate::cpu::{self, Isa};
use crate::error::{Error, Result};
use crate::matmul::{Acts, Weights, by_column_ranges, scatter_columns, threads_for};
use crate::quant::{BLOCK_LEN, BlockQ4_0, BlockQ8_0, QuantFormat, quantize_q8_0_into};

/// Rows per packed group.
pub const GROUP_ROWS: usize = 8;

/// A weight matrix `[n, k]` in the packed decode layout (module doc, spec/kernels.md §4.6):
/// prepared once with [`PackedWeights::new`], multiplied with [`matmul_packed`].
#[derive(Debug, Clone)]
pub struct PackedWeights {
    format: QuantFormat,
    n: usize,
    k: usize,
    /// The packed bytes start at `off` (64-byte aligned) and run for `len` bytes.
    buf: Vec<u8>,
    off: usize,
    len: usize,
    /// Q8_0: group `g` holds a weight of −128 (such groups take the kernels' general route).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    min_groups: Vec<bool>,
}

impl PackedWeights {
    /// Copies `w` into the packed layout. Errors only when the buffer cannot be allocated
    /// ([`Error::SizeOverflow`]).
    // Offsets: b < nb, r < 8, j < 8, and every offset stays below the group's byte count.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn new(w: &Weights<'_>) -> Result<PackedWeights> {
        let (format, n, k) = (w.format(), w.n(), w.k());
        let bs = format.block_bytes();
        let nb = k / BLOCK_LEN;
        let src = w.as_bytes();
        let len = src.len();
        let what = "packed weights: allocation refused";
        let mut buf = crate::tensor::try_filled(len.saturating_add(63), 0u8, what)?;
        let off = buf.as_ptr().align_offset(64).min(63);
        let groups = n / GROUP_ROWS;
        let gbytes = GROUP_ROWS.saturating_mul(nb).saturating_mul(bs);
        let q = bs.saturating_sub(2);
        let mut min_groups = Vec::new();
        min_groups
            .try_reserve_exact(groups)
            .map_err(|_| Error::SizeOverflow(what))?;
        let dst_all = buf
            .get_mut(off..off.saturating_add(len))
            .unwrap_or_default();
        let (dst_groups, dst_tail) = dst_all.split_at_mut(groups.saturating_mul(gbytes).min(len));
        let (src_groups, src_tail) = src.split_at(groups.saturating_mul(gbytes).min(len));
        for (dg, sg) in dst_groups
            .chunks_exact_mut(gbytes.max(1))
            .zip(src_groups.chunks_exact(gbytes.max(1)))
        {
            let (dsc, dval) = dg.split_at_mut(nb.saturating_mul(16).min(dg.len()));
            let mut has_min = false;
            for (r, row) in sg.chunks_exact(nb.saturating_mul(bs).max(1)).enumerate() {
                for (b, blk) in row.chunks_exact(bs).enumerate() {
                    let (d, qs) = blk.split_at(2);
                    let at = b.saturating_mul(16).saturating_add(2 * r);
                    if let Some(s) = dsc.get_mut(at..at.saturating_add(2)) {
                        s.copy_from_slice(d);
                    }
                    has_min |= format == QuantFormat::Q8_0 && qs.contains(&0x80);
                    let base = b.saturating_mul(8 * q);
                    for (j, c) in qs.chunks_exact(4).enumerate() {
                        let at = base.saturating_add(32 * j + 4 * r);
                        if let Some(v) = dval.get_mut(at..at.saturating_add(4)) {
                            v.copy_from_slice(c);
                        }
                    }
                }
            }
            min_groups.push(has_min);
        }
        dst_tail.copy_from_slice(src_tail.get(..dst_tail.len()).unwrap_or_default());
        Ok(PackedWeights {
            format,
            n,
            k,
            buf,
            off,
            len,
            min_groups,
        })
    }

    /// The weight format.
    pub fn format(&self) -> QuantFormat {
        self.format
    }

    /// Rows (output features).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Row length (inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The packed bytes (exactly as many as the plain matrix has; 64-byte aligned).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
            .get(self.off..self.off.saturating_add(self.len))
            .unwrap_or_default()
    }

    /// Whether packed group `g` (rows `8g .. 8g + 8`) holds a Q8_0 weight of −128.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn group_has_min(&self, g: usize) -> bool {
        self.min_groups.get(g).copied().unwrap_or(true)
    }

    /// Full 8-row groups.
    fn groups(&self) -> usize {
        self.n / GROUP_ROWS
    }

    /// Bytes per packed group.
    pub(crate) fn group_bytes(&self) -> usize {
        GROUP_ROWS
            .saturating_mul(self.k / BLOCK_LEN)
            .saturating_mul(self.format.block_bytes())
    }
}

/// `Y = X · Wᵀ` for f32 activations `x` (`[m, k]` row-major, finite) and packed weights: `x` is
/// quantized to Q8_0 with GGML's reference quantizer (as [`crate::matmul::matmul`] does), and
/// every output has the bits [`crate::matmul::matmul`] gives on the plain matrix. Meant for
/// decode (small `m`: each activation row passes over the whole matrix); `threads = 0` uses
/// every available CPU. `Backend::Avx2` / `Auto` run the packed AVX2 loop where the CPU has
/// it, `Backend::Scalar` a scalar loop over the same layout.
///
/// Errors: shape ([`Error::ShapeMismatch`]), non-finite activations ([`Error::NonFinite`]), an
/// unavailable backend ([`Error::BackendUnavailable`], including `Backend::Cuda`: packed
/// weights are a CPU layout).
pub fn matmul_packed(
    x: &[f32],
    m: usize,
    w: &PackedWeights,
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    let _fp = crate::fpenv::Guard::new();
    let isa = cpu_isa(backend)?;
    let k = w.k();
    let need = m
        .checked_mul(k)
        .ok_or(Error::SizeOverflow("activation element count"))?;
    if m == 0 || x.len() != need {
        return Err(Error::ShapeMismatch(format!(
            "activations have {} elements, expected m × k = {m} × {k}",
            x.len()
        )));
    }
    crate::quant::check_finite(x)?;
    let mut xq = crate::tensor::try_filled(
        need / BLOCK_LEN,
        BlockQ8_0 {
            d: [0; 2],
            qs: [0; BLOCK_LEN],
        },
        "activation blocks: allocation refused",
    )?;
    quantize_q8_0_into(x, &mut xq)?;
    run(isa, &xq, m, w, threads)
}

/// [`matmul_packed`] for activations already quantized to Q8_0 (`m` rows of `k / 32` blocks;
/// any bytes, −128 included), as [`crate::matmul::matmul_q8`].
pub fn matmul_packed_q8(
    xq: &[BlockQ8_0],
    m: usize,
    w: &PackedWeights,
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    let _fp = crate::fpenv::Guard::new();
    let isa = cpu_isa(backend)?;
    let nb = w.k() / BLOCK_LEN;
    if m == 0 || Some(xq.len()) != m.checked_mul(nb) {
        return Err(Error::ShapeMismatch(format!(
            "{} activation blocks, expected m × k / 32 = {m} × {nb}",
            xq.len()
        )));
    }
    run(isa, xq, m, w, threads)
}

/// The CPU code path `backend` resolves to; CUDA is refused (packed weights are a CPU layout).
fn cpu_isa(backend: Backend) -> Result<Isa> {
    if let Backend::Cuda(_) = backend {
        return Err(Error::BackendUnavailable(
            "packed weights are a CPU layout: use matmul / matmul_q8 with plain weights on a \
             CUDA device",
        ));
    }
    backend.resolve()
}

fn run(
    isa: Isa,
    xq: &[BlockQ8_0],
    m: usize,
    w: &PackedWeights,
    threads: usize,
) -> Result<Vec<f32>> {
    let n = w.n();
    let total = m
        .checked_mul(n)
        .ok_or(Error::SizeOverflow("output element count"))?;
    let nb = w.k() / BLOCK_LEN;
    let acts = Acts::new(xq, nb);
    let mut out = crate::tensor::try_filled(total, 0.0f32, "matmul output: allocation refused")?;
    let threads = threads_for(threads, total.saturating_mul(nb));
    let groups = w.groups();
    // Tail rows (n mod 8, plain layout): on this thread, scalar (a handful of rows).
    let tail0 = groups.saturating_mul(GROUP_ROWS);
    if tail0 < n {
        let tail_bytes = w
            .as_bytes()
            .get(groups.saturating_mul(w.group_bytes())..)
            .unwrap_or_default();
        let width = n.saturating_sub(tail0);
        let mut part = vec![0.0f32; m.saturating_mul(width)];
        match w.format() {
            QuantFormat::Q8_0 => {
                let wb: &[BlockQ8_0] = bytemuck::try_cast_slice(tail_bytes).unwrap_or_default();
                cpu::scalar::matmul_q8_0(xq, wb, nb, 0, 0, width, &mut part);
            }
            QuantFormat::Q4_0 => {
                let wb: &[BlockQ4_0] = bytemuck::try_cast_slice(tail_bytes).unwrap_or_default();
                cpu::scalar::matmul_q4_0(xq, wb, nb, 0, 0, width, &mut part);
            }
        }
        scatter_columns(&mut out, n, tail0, n, &part);
    }
    if groups == 0 {
        return Ok(out);
    }
    // Ranges of whole groups, eight per thread, claimed by whichever thread is free (as the
    // plain decode splits its rows); each range computes every activation row.
    const PIECES: usize = 8;
    let pieces = if threads <= 1 {
        1
    } else {
        threads.saturating_mul(PIECES).min(groups)
    };
    // Column ranges of whole groups (the tail columns above stay as written).
    let per = groups.div_ceil(pieces).saturating_mul(GROUP_ROWS);
    let ranges: Vec<(usize, usize)> = (0..tail0)
        .step_by(per.max(1))
        .map(|c0| (c0, c0.saturating_add(per).min(tail0)))
        .collect();
    by_column_ranges(&mut out, m, n, &ranges, threads, &|c0, c1, part| {
        let (g0, g1) = (c0 / GROUP_ROWS, c1 / GROUP_ROWS);
        let width = c1.saturating_sub(c0);
        for (mm, dst) in part.chunks_exact_mut(width.max(1)).enumerate() {
            compute(isa, &acts, mm, w, g0, g1, dst);
        }
    })?;
    Ok(out)
}

/// Activation row `m` against groups `g0..g1` into `out` (`8·(g1 − g0)` outputs).
fn compute(
    isa: Isa,
    acts: &Acts<'_>,
    m: usize,
    w: &PackedWeights,
    g0: usize,
    g1: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        cpu::avx2_packed::decode(acts, m, w, g0, g1, out);
        return;
    }
    let _ = isa;
    let nb = acts.nb;
    let Some(xs) = acts
        .blocks
        .get(m.saturating_mul(nb)..m.saturating_add(1).saturating_mul(nb))
    else {
        return;
    };
    let gb = w.group_bytes();
    let bytes = w.as_bytes();
    for (g, o) in (g0..g1).zip(out.chunks_exact_mut(GROUP_ROWS)) {
        let Some(grp) = bytes.get(g.saturating_mul(gb)..g.saturating_add(1).saturating_mul(gb))
        else {
            return;
        };
        scalar_group(w.format(), xs, grp, o);
    }
}

/// The scalar loop over one packed group (spec/kernels.md §4.6): the contract's operations on
/// values read from the packed layout.
// Offsets: b < nb, r < 8, i < 32 (i − 16 only for i ≥ 16); nibble − 8 and the products are
// small (no overflow).
#[allow(clippy::arithmetic_side_effects)]
fn scalar_group(format: QuantFormat, xs: &[BlockQ8_0], grp: &[u8], out: &mut [f32]) {
    let nb = xs.len();
    let q = format.block_bytes().saturating_sub(2);
    let (scales, vals) = grp.split_at(nb.saturating_mul(16).min(grp.len()));
    for (r, o) in out.iter_mut().enumerate().take(GROUP_ROWS) {
        let mut acc = 0.0f32;
        for (b, xb) in xs.iter().enumerate() {
            let at = b.saturating_mul(16).saturating_add(2 * r);
            let d = scales
                .get(at..at.saturating_add(2))
                .and_then(|s| <[u8; 2]>::try_from(s).ok())
                .map_or(0.0, |s| half::f16::from_le_bytes(s).to_f32());
            let base = b.saturating_mul(8 * q);
            let byte = |i: usize| {
                vals.get(base.saturating_add(32 * (i / 4) + 4 * r + i % 4))
                    .copied()
                    .unwrap_or(0)
            };
            let sumi: i32 = xb
                .qs
                .iter()
                .enumerate()
                .map(|(i, &xv)| {
                    let wv = match format {
                        QuantFormat::Q8_0 => i32::from(byte(i).cast_signed()),
                        QuantFormat::Q4_0 if i < 16 => i32::from(byte(i) & 0x0F) - 8,
                        QuantFormat::Q4_0 => i32::from(byte(i - 16) >> 4) - 8,
                    };
                    // |wv·xv| ≤ 2^14, 32 of them ≤ 2^19: no overflow.
                    wv.wrapping_mul(i32::from(xv))
                })
                .sum();
            let scale = d * xb.d().to_f32();
            acc = scale.mul_add(sumi as f32, acc);
        }
        *o = cpu::scalar::canonical_nan(acc);
    }
}

//! Scaled dot-product attention: multi-head, grouped-query, optional causal mask.
//!
//! Layout (row-major, no padding): Q is `[n_heads, q_len, head_dim]`, K and V are
//! `[n_kv_heads, kv_len, head_dim]`, the output is `[n_heads, q_len, head_dim]` in f32.
//! Query head `h` reads KV head `h / (n_heads / n_kv_heads)`. With the causal mask, query `i`
//! sits at absolute position `kv_len − q_len + i` and sees keys `0..=` that position, so a
//! decode step (`q_len = 1`) sees the whole KV cache.
//!
//! Two modes:
//! * [`AttentionMode::Verifiable`]: the determinism contract of spec/kernels.md ("Attention"):
//!   a fixed 64-key tiling, a fixed online-softmax update order, the normative
//!   [`exp_verifiable`], fixed dot-product and accumulation orders. The scalar reference and
//!   the AVX2 path give identical bits, for any thread count.
//! * [`AttentionMode::Fast`]: free to reorder (128-key tiles, a cheaper exponential,
//!   reciprocal-multiply normalisation). Checked against verifiable mode with the tolerance
//!   stated in spec/kernels.md; its bits may differ between backends and releases.
//!
//! f16 and bf16 inputs are widened to f32 exactly before they are used (up front on the worker
//! threads, or per work item / per tile in the AVX2 path), so a tensor given as f16 and the
//! same values given as f32 produce the same output bits.
//!
//! ```
//! use mycel_kernels::attention::{attention, AttentionMode, AttentionParams, AttnInput};
//! use mycel_kernels::Backend;
//!
//! let params = AttentionParams::new(2, 1, 3, 3, 64).causal(true);
//! let q = vec![0.25f32; 2 * 3 * 64];
//! let kv = vec![0.5f32; 3 * 64];
//! let out = attention(
//!     &params,
//!     AttnInput::F32(&q),
//!     AttnInput::F32(&kv),
//!     AttnInput::F32(&kv),
//!     AttentionMode::Verifiable,
//!     Backend::Scalar,
//!     1,
//! )?;
//! assert_eq!(out.len(), 2 * 3 * 64);
//! assert!(out.iter().all(|&x| x == 0.5));
//! # Ok::<(), mycel_kernels::Error>(())
//! ```

#[cfg(target_arch = "x86_64")]
mod avx2;
mod exp;
mod scalar;
pub mod task;

pub use exp::{EXP_COEFFS, EXP_FAST_COEFFS, LN2, LN2_HI, LN2_LO, LOG2E, exp_fast, exp_verifiable};

use core::sync::atomic::{AtomicUsize, Ordering};
use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};

use half::slice::HalfFloatSliceExt;

use crate::Backend;
use crate::cpu::Isa;
use crate::error::{Error, Result};

/// The key-axis tile size of verifiable mode (normative).
pub const VERIFIABLE_TILE: usize = 64;
/// The key-axis tile size fast mode uses (not normative).
pub const FAST_TILE: usize = 128;
/// The head dimensions this build supports.
pub const SUPPORTED_HEAD_DIMS: [usize; 2] = [64, 128];
/// The canonical NaN every NaN output element is replaced by (a quiet NaN, sign 0).
pub const CANONICAL_NAN_BITS: u32 = 0x7FC0_0000;

/// How an attention call may order its float operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttentionMode {
    /// The determinism contract: identical bits on every backend and thread count.
    Verifiable,
    /// Reordered for speed; agrees with verifiable mode within the spec's tolerance.
    Fast,
}

impl AttentionMode {
    /// Parse `verifiable` or `fast`.
    pub fn parse(name: &str) -> Option<AttentionMode> {
        match name {
            "verifiable" => Some(AttentionMode::Verifiable),
            "fast" => Some(AttentionMode::Fast),
            _ => None,
        }
    }

    /// The lowercase name (`"verifiable"`, `"fast"`).
    pub fn label(self) -> &'static str {
        match self {
            AttentionMode::Verifiable => "verifiable",
            AttentionMode::Fast => "fast",
        }
    }
}

/// The shape and options of one attention call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionParams {
    /// Number of query heads (`≥ 1`, a multiple of `n_kv_heads`).
    pub n_heads: usize,
    /// Number of key/value heads (`≥ 1`).
    pub n_kv_heads: usize,
    /// Number of queries per head (`≥ 1`; with `causal`, at most `kv_len`).
    pub q_len: usize,
    /// Number of keys (and values) per KV head (`≥ 1`).
    pub kv_len: usize,
    /// Head dimension: 64 or 128.
    pub head_dim: usize,
    /// Apply the causal mask (query `i` sees keys `0..=kv_len − q_len + i`).
    pub causal: bool,
    /// The score scale; `None` means [`default_scale`]`(head_dim)`. Must be finite.
    pub scale: Option<f32>,
}

impl AttentionParams {
    /// Parameters with no causal mask and the default scale.
    pub fn new(
        n_heads: usize,
        n_kv_heads: usize,
        q_len: usize,
        kv_len: usize,
        head_dim: usize,
    ) -> AttentionParams {
        AttentionParams {
            n_heads,
            n_kv_heads,
            q_len,
            kv_len,
            head_dim,
            causal: false,
            scale: None,
        }
    }

    /// The same parameters with the causal mask on or off.
    pub fn causal(mut self, causal: bool) -> AttentionParams {
        self.causal = causal;
        self
    }

    /// The same parameters with an explicit score scale.
    pub fn with_scale(mut self, scale: f32) -> AttentionParams {
        self.scale = Some(scale);
        self
    }

    /// Elements in Q (and in the output): `n_heads · q_len · head_dim`.
    pub fn q_elems(&self) -> Result<usize> {
        self.n_heads
            .checked_mul(self.q_len)
            .and_then(|x| x.checked_mul(self.head_dim))
            .ok_or(Error::SizeOverflow("attention: n_heads * q_len * head_dim"))
    }

    /// Elements in K (and in V): `n_kv_heads · kv_len · head_dim`.
    pub fn kv_elems(&self) -> Result<usize> {
        self.n_kv_heads
            .checked_mul(self.kv_len)
            .and_then(|x| x.checked_mul(self.head_dim))
            .ok_or(Error::SizeOverflow(
                "attention: n_kv_heads * kv_len * head_dim",
            ))
    }

    /// Check every rule on the parameters (not the buffers); returns the effective scale.
    pub fn validate(&self) -> Result<f32> {
        if !SUPPORTED_HEAD_DIMS.contains(&self.head_dim) {
            return Err(Error::UnsupportedHeadDim(self.head_dim));
        }
        if self.n_heads == 0
            || self.n_kv_heads == 0
            || !self.n_heads.is_multiple_of(self.n_kv_heads)
        {
            return Err(Error::HeadConfig {
                n_heads: self.n_heads,
                n_kv_heads: self.n_kv_heads,
            });
        }
        if self.q_len == 0 || self.kv_len == 0 {
            return Err(Error::ShapeMismatch(format!(
                "attention: q_len ({}) and kv_len ({}) must be at least 1",
                self.q_len, self.kv_len
            )));
        }
        if self.causal && self.q_len > self.kv_len {
            return Err(Error::ShapeMismatch(format!(
                "attention: causal attention needs q_len ({}) <= kv_len ({})",
                self.q_len, self.kv_len
            )));
        }
        self.q_elems()?;
        self.kv_elems()?;
        match self.scale {
            None => default_scale(self.head_dim),
            Some(s) if s.is_finite() => Ok(s),
            Some(_) => Err(Error::InvalidScale),
        }
    }

    /// The number of (query, key) pairs the mask leaves unmasked (the FLOP count of a call is
    /// `4 · head_dim` times this: two multiply-adds per element for QKᵀ and for PV).
    pub fn unmasked_pairs(&self) -> u128 {
        let per_head: u128 = if self.causal {
            let offset = self.kv_len.saturating_sub(self.q_len) as u128;
            (0..self.q_len as u128)
                .map(|i| {
                    offset
                        .saturating_add(i)
                        .saturating_add(1)
                        .min(self.kv_len as u128)
                })
                .fold(0u128, u128::saturating_add)
        } else {
            (self.q_len as u128).saturating_mul(self.kv_len as u128)
        };
        per_head.saturating_mul(self.n_heads as u128)
    }
}

/// The default score scale, `RN(1 / RN(sqrt(head_dim)))` in f32 (spec step S): exactly
/// `0.125` for 64 and `0x3DB504F3` ≈ 0.0883883 for 128.
pub fn default_scale(head_dim: usize) -> Result<f32> {
    if !SUPPORTED_HEAD_DIMS.contains(&head_dim) {
        return Err(Error::UnsupportedHeadDim(head_dim));
    }
    // head_dim is 64 or 128: exact in f32; sqrt and division are correctly rounded (IEEE).
    Ok(1.0 / (head_dim as f32).sqrt())
}

/// An input tensor's elements in one of the accepted dtypes (widened to f32 exactly).
#[derive(Debug, Clone, Copy)]
pub enum AttnInput<'a> {
    /// IEEE binary32.
    F32(&'a [f32]),
    /// IEEE binary16.
    F16(&'a [half::f16]),
    /// bfloat16.
    Bf16(&'a [half::bf16]),
}

impl<'a> AttnInput<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            AttnInput::F32(x) => x.len(),
            AttnInput::F16(x) => x.len(),
            AttnInput::Bf16(x) => x.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element.
    pub fn elem_bytes(&self) -> usize {
        match self {
            AttnInput::F32(_) => 4,
            AttnInput::F16(_) | AttnInput::Bf16(_) => 2,
        }
    }

    fn check_len(&self, expected: usize) -> Result<()> {
        if self.len() != expected {
            return Err(Error::BufferLength {
                expected: expected.saturating_mul(self.elem_bytes()),
                actual: self.len().saturating_mul(self.elem_bytes()),
            });
        }
        Ok(())
    }

    /// The elements in `range` (empty if out of bounds; callers pass validated ranges).
    fn slice(self, range: core::ops::Range<usize>) -> AttnInput<'a> {
        match self {
            AttnInput::F32(x) => AttnInput::F32(x.get(range).unwrap_or_default()),
            AttnInput::F16(x) => AttnInput::F16(x.get(range).unwrap_or_default()),
            AttnInput::Bf16(x) => AttnInput::Bf16(x.get(range).unwrap_or_default()),
        }
    }

    /// Borrow as f32, widening f16/bf16 exactly into a new buffer.
    fn to_f32(self) -> Cow<'a, [f32]> {
        match self {
            AttnInput::F32(x) => Cow::Borrowed(x),
            AttnInput::F16(x) => {
                let mut out = vec![0.0f32; x.len()];
                x.convert_to_f32_slice(&mut out);
                Cow::Owned(out)
            }
            AttnInput::Bf16(x) => {
                let mut out = vec![0.0f32; x.len()];
                x.convert_to_f32_slice(&mut out);
                Cow::Owned(out)
            }
        }
    }
}

/// Attention into a new f32 buffer `[n_heads, q_len, head_dim]`.
///
/// `threads = 0` uses every CPU this process may run on. Nothing is allocated before every
/// check has passed; on error no output exists.
pub fn attention(
    params: &AttentionParams,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
    mode: AttentionMode,
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    let scale = params.validate()?;
    let q_elems = params.q_elems()?;
    let kv_elems = params.kv_elems()?;
    q.check_len(q_elems)?;
    k.check_len(kv_elems)?;
    v.check_len(kv_elems)?;
    if let Backend::Cuda(ordinal) = backend {
        // The CUDA backend implements the same contract (spec/kernels.md, CUDA backend);
        // without the `cuda` feature this is a typed `BackendUnavailable`.
        return crate::cuda::attention(ordinal, params, q, k, v, mode);
    }
    let _fp = crate::fpenv::Guard::new();
    let isa = backend.resolve()?;
    let mut out = vec![0.0f32; q_elems];
    let geom = Geom::new(params, scale);
    let threads = crate::cpu::resolve_threads(threads);
    // The reference widens everything first. The AVX2 path widens f16/bf16 K/V tile by tile
    // when each tile is used by at most two work items (decode, short prompts), and up front
    // otherwise (prefill, where every work item would widen the same tiles again). Up-front
    // widening is split over the worker threads (exact, so the split changes no bit).
    // Q rows belong to exactly one work item each, so the AVX2 path widens them inside the
    // item (in parallel, into a small reused buffer); the reference gets them widened first.
    let per_tile = isa != Isa::Scalar && item_blocks(&geom) <= 2;
    if isa == Isa::Scalar {
        let [qw, kw, vw] = widen_all([q, k, v], isa, threads)?;
        let (q, k, v) = (
            AttnInput::F32(&qw),
            AttnInput::F32(&kw),
            AttnInput::F32(&vw),
        );
        run(&geom, isa, mode, q, k, v, &mut out, threads)?;
    } else if !per_tile {
        let [kw, vw] = widen_all([k, v], isa, threads)?;
        let (k, v) = (AttnInput::F32(&kw), AttnInput::F32(&vw));
        run(&geom, isa, mode, q, k, v, &mut out, threads)?;
    } else {
        run(&geom, isa, mode, q, k, v, &mut out, threads)?;
    }
    Ok(out)
}

/// Elements one widening job converts (64 KiB of f16/bf16): large enough that the
/// hand-off to a worker costs little, small enough to balance the threads.
const WIDEN_CHUNK: usize = 1 << 15;

/// Widen every input to f32 exactly; f32 inputs are borrowed. f16/bf16 inputs are converted
/// in [`WIDEN_CHUNK`]-element pieces spread over up to `threads` threads (the worker pool of
/// [`crate::cpu::pool`]); every element is converted on its own, so the split changes no bit.
fn widen_all<'a, const N: usize>(
    inputs: [AttnInput<'a>; N],
    isa: Isa,
    threads: usize,
) -> Result<[Cow<'a, [f32]>; N]> {
    let mut bufs: [Vec<f32>; N] = core::array::from_fn(|t| match inputs.get(t) {
        Some(AttnInput::F32(_)) | None => Vec::new(),
        Some(x) => vec![0.0f32; x.len()],
    });
    {
        // One job per chunk: (source piece, destination piece).
        let mut jobs: Vec<Mutex<(AttnInput<'_>, &mut [f32])>> = Vec::new();
        for (x, buf) in inputs.iter().zip(bufs.iter_mut()) {
            if matches!(x, AttnInput::F32(_)) {
                continue;
            }
            for (c, dst) in buf.chunks_mut(WIDEN_CHUNK).enumerate() {
                // Within the buffer's length (chunks of it): no overflow.
                let a = c.saturating_mul(WIDEN_CHUNK);
                jobs.push(Mutex::new((x.slice(a..a.saturating_add(dst.len())), dst)));
            }
        }
        let convert = |job: &Mutex<(AttnInput<'_>, &mut [f32])>| {
            let mut guard = job.lock().unwrap_or_else(PoisonError::into_inner);
            let (src, dst) = &mut *guard;
            widen_into(*src, dst, isa);
        };
        let workers = threads.clamp(1, jobs.len().max(1));
        if workers == 1 {
            jobs.iter().for_each(convert);
        } else {
            crate::cpu::pool::for_each(workers, &|t| {
                for job in jobs.iter().skip(t).step_by(workers) {
                    convert(job);
                }
            })?;
        }
    }
    let mut bufs = bufs.into_iter();
    Ok(inputs.map(|x| match (x, bufs.next()) {
        (AttnInput::F32(x), _) => Cow::Borrowed(x),
        (_, Some(buf)) => Cow::Owned(buf),
        (x, None) => x.to_f32(),
    }))
}

/// Widen `src` into `dst` (same length) exactly.
fn widen_into(src: AttnInput<'_>, dst: &mut [f32], isa: Isa) {
    match (isa, src) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, src) => avx2::widen(src, dst),
        (_, AttnInput::F32(x)) => dst.copy_from_slice(x),
        (_, AttnInput::F16(x)) => x.convert_to_f32_slice(dst),
        (_, AttnInput::Bf16(x)) => x.convert_to_f32_slice(dst),
    }
}

/// Attention on f32 inputs into a caller's buffer `out` (`n_heads · q_len · head_dim`
/// elements). `Backend::Cuda(i)` runs on the device as [`attention`] does (the result is
/// copied into `out`). On an input error `out` is left untouched; after
/// [`Error::WorkerPanicked`] (a bug, never an input) its contents are unspecified.
#[allow(clippy::too_many_arguments)]
pub fn attention_f32_into(
    params: &AttentionParams,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    mode: AttentionMode,
    backend: Backend,
    threads: usize,
) -> Result<()> {
    let scale = params.validate()?;
    let q_elems = params.q_elems()?;
    let kv_elems = params.kv_elems()?;
    AttnInput::F32(q).check_len(q_elems)?;
    AttnInput::F32(k).check_len(kv_elems)?;
    AttnInput::F32(v).check_len(kv_elems)?;
    AttnInput::F32(out).check_len(q_elems)?;
    let (q, k, v) = (AttnInput::F32(q), AttnInput::F32(k), AttnInput::F32(v));
    if let Backend::Cuda(ordinal) = backend {
        let y = crate::cuda::attention(ordinal, params, q, k, v, mode)?;
        if y.len() != out.len() {
            return Err(Error::BufferLength {
                expected: out.len().saturating_mul(4),
                actual: y.len().saturating_mul(4),
            });
        }
        out.copy_from_slice(&y);
        return Ok(());
    }
    let _fp = crate::fpenv::Guard::new();
    let isa = backend.resolve()?;
    let geom = Geom::new(params, scale);
    run(
        &geom,
        isa,
        mode,
        q,
        k,
        v,
        out,
        crate::cpu::resolve_threads(threads),
    )
}

/// Validated geometry shared by the kernels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geom {
    pub n_heads: usize,
    pub group: usize,
    pub q_len: usize,
    pub kv_len: usize,
    pub d: usize,
    pub causal: bool,
    pub scale: f32,
}

impl Geom {
    fn new(p: &AttentionParams, scale: f32) -> Geom {
        Geom {
            n_heads: p.n_heads,
            // Validated: n_kv_heads ≥ 1 divides n_heads.
            group: p.n_heads.checked_div(p.n_kv_heads).unwrap_or(1).max(1),
            q_len: p.q_len,
            kv_len: p.kv_len,
            d: p.head_dim,
            causal: p.causal,
            scale,
        }
    }

    fn n_kv(&self) -> usize {
        self.n_heads.checked_div(self.group).unwrap_or(0)
    }

    /// Keys query `i` sees: `0..n_valid(i)`.
    #[inline]
    pub fn n_valid(&self, i: usize) -> usize {
        if self.causal {
            // Validated: q_len ≤ kv_len under the mask, i < q_len.
            self.kv_len
                .saturating_sub(self.q_len)
                .saturating_add(i)
                .saturating_add(1)
                .min(self.kv_len)
        } else {
            self.kv_len
        }
    }
}

/// One unit of parallel work: KV head `kvh`, query positions `i0..i1`, every query head of
/// the group. Rows are ordered `(i − i0) · group + g` (head `kvh · group + g`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub kvh: usize,
    pub i0: usize,
    pub i1: usize,
}

impl Item {
    // Items come from validated geometry (`run`): every row, head and position below is
    // within the call's shapes, so the saturating forms never saturate.
    pub fn rows(&self, g: &Geom) -> usize {
        self.i1.saturating_sub(self.i0).saturating_mul(g.group)
    }

    /// (head, position) of row `r`.
    #[inline]
    pub fn row(&self, g: &Geom, r: usize) -> (usize, usize) {
        (
            self.kvh
                .saturating_mul(g.group)
                .saturating_add(r.checked_rem(g.group).unwrap_or(0)),
            self.i0.saturating_add(r.checked_div(g.group).unwrap_or(0)),
        )
    }
}

/// Work items per KV head (query-position blocks).
fn item_blocks(g: &Geom) -> usize {
    g.q_len.div_ceil(positions_per_item(g))
}

/// Query positions per work item: enough rows to reuse each K/V tile many times while it is
/// in cache. Not normative: rows never interact, so grouping cannot change a bit.
fn positions_per_item(g: &Geom) -> usize {
    64usize.checked_div(g.group).unwrap_or(1).clamp(1, 16)
}

#[allow(clippy::too_many_arguments)]
fn run(
    g: &Geom,
    isa: Isa,
    mode: AttentionMode,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
    out: &mut [f32],
    threads: usize,
) -> Result<()> {
    let per = positions_per_item(g);
    let blocks = item_blocks(g);
    // Largest (latest, under the causal mask) blocks first for better load balance.
    // Sizes from validated parameters (products bounded by the inputs' lengths).
    let mut items = Vec::with_capacity(blocks.saturating_mul(g.n_kv()));
    for b in (0..blocks).rev() {
        for kvh in 0..g.n_kv() {
            let i0 = b.saturating_mul(per);
            items.push(Item {
                kvh,
                i0,
                i1: i0.saturating_add(per).min(g.q_len),
            });
        }
    }
    let kv_stride = g.kv_len.saturating_mul(g.d);
    let run_item = |item: &Item, buf: &mut Vec<f32>| {
        let rows = item.rows(g);
        buf.clear();
        buf.resize(rows.saturating_mul(g.d), 0.0);
        let start = item.kvh.saturating_mul(kv_stride);
        let range = start..start.saturating_add(kv_stride);
        let (kh, vh) = (k.slice(range.clone()), v.slice(range));
        match (isa, q, kh, vh) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, q, kh, vh) => avx2::item(g, mode, item, q, kh, vh, buf),
            (_, AttnInput::F32(q), AttnInput::F32(kh), AttnInput::F32(vh)) => {
                scalar::item(g, mode, item, q, kh, vh, buf)
            }
            // The scalar path is always handed f32 (widened in `attention`); widen here too
            // rather than fail if that ever changes.
            (_, q, kh, vh) => {
                scalar::item(g, mode, item, &q.to_f32(), &kh.to_f32(), &vh.to_f32(), buf)
            }
        }
    };
    let scatter = |item: &Item, buf: &[f32], out: &mut [f32]| {
        for (r, row) in buf.chunks_exact(g.d).enumerate() {
            let (h, i) = item.row(g, r);
            let at = h
                .saturating_mul(g.q_len)
                .saturating_add(i)
                .saturating_mul(g.d);
            if let Some(dst) = out.get_mut(at..at.saturating_add(g.d)) {
                dst.copy_from_slice(row);
            }
        }
    };
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        let mut buf = Vec::new();
        for item in &items {
            run_item(item, &mut buf);
            scatter(item, &buf, out);
        }
        return Ok(());
    }
    // The persistent worker pool (no thread start per call, which a decode step would feel).
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Vec<f32>)>> = Mutex::new(Vec::with_capacity(items.len()));
    crate::cpu::pool::for_each(threads, &|_| {
        let mut done = Vec::new();
        loop {
            let idx = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(idx) else { break };
            let mut buf = Vec::new();
            run_item(item, &mut buf);
            done.push((idx, buf));
        }
        results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(done);
    })?;
    let results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    for (idx, buf) in results {
        if let Some(item) = items.get(idx) {
            scatter(item, &buf, out);
        }
    }
    Ok(())
}

/// Replace a NaN by the canonical NaN (spec step F).
#[inline]
pub(crate) fn canonical(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(CANONICAL_NAN_BITS)
    } else {
        x
    }
}

/// The 8-lane pairwise tree `((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))` (spec step D).
#[inline]
pub(crate) fn tree8(a: &[f32; 8]) -> f32 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// [`exp_verifiable`] over a slice with the chosen backend (the AVX2 path evaluates 8 lanes
/// at once, exactly as the attention kernel does). For conformance tests: every backend must
/// give the same bits. `out` must be as long as `xs`.
pub fn exp_verifiable_slice(xs: &[f32], out: &mut [f32], backend: Backend) -> Result<()> {
    if out.len() != xs.len() {
        return Err(Error::BufferLength {
            expected: xs.len().saturating_mul(4),
            actual: out.len().saturating_mul(4),
        });
    }
    let isa = backend.resolve()?;
    let _fp = crate::fpenv::Guard::new();
    let mut xc = xs.chunks_exact(8);
    let mut oc = out.chunks_exact_mut(8);
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            for (x, o) in (&mut xc).zip(&mut oc) {
                let mut a = [0.0f32; 8];
                a.copy_from_slice(x);
                // SAFETY: `Isa::Avx2` is only resolved after run-time detection of AVX2+FMA.
                o.copy_from_slice(&unsafe { avx2::exp8_array(a) });
            }
        }
        _ => {
            for (x, o) in (&mut xc).zip(&mut oc) {
                for (y, &xi) in o.iter_mut().zip(x) {
                    *y = exp_verifiable(xi);
                }
            }
        }
    }
    for (y, &xi) in oc.into_remainder().iter_mut().zip(xc.remainder()) {
        *y = exp_verifiable(xi);
    }
    Ok(())
}

//! Quantized matmul: `Y[M, N] = X[M, K] · W[N, K]ᵀ`, activations quantized to Q8_0 on the fly
//! (GGML's reference quantizer), weights Q8_0 or Q4_0, output f32.
//!
//! The determinism contract (spec/kernels.md §4): for each output `(m, n)`, `acc = +0.0f32`;
//! for blocks `b = 0 .. K/32` in ascending order, `sumi_b` = the exact i32 dot product of the
//! block's quantized values (Q4_0: `nibble − 8`), and
//! `acc = fma(f32(d_w)·f32(d_x), f32(sumi_b), acc)`; a NaN result is written as `0x7FC00000`.
//! Nothing else reaches the output bits, so the backend, the thread count, `M`, and how the
//! work is split never change a result.

use std::sync::{Mutex, PoisonError};

use crate::Backend;
use crate::cpu::{self, Isa};
use crate::error::{Error, Result};
use crate::quant::{BLOCK_LEN, BlockQ4_0, BlockQ8_0, QuantFormat, check_k, quantize_q8_0_into};

/// Quantized weights `[n, k]`: `n` rows of `k / 32` GGML blocks, row after row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QWeights<'a> {
    /// Q8_0 blocks.
    Q8_0(&'a [BlockQ8_0]),
    /// Q4_0 blocks.
    Q4_0(&'a [BlockQ4_0]),
}

/// A checked weight matrix: blocks plus its shape `[n, k]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights<'a> {
    blocks: QWeights<'a>,
    n: usize,
    k: usize,
}

impl<'a> Weights<'a> {
    /// Wrap blocks as an `[n, k]` matrix: `k` a positive multiple of 32, `n ≥ 1`, and exactly
    /// `n · k / 32` blocks.
    pub fn new(blocks: QWeights<'a>, n: usize, k: usize) -> Result<Weights<'a>> {
        check_k(k)?;
        if n == 0 {
            return Err(Error::ShapeMismatch("weights have zero rows".into()));
        }
        let have = match blocks {
            QWeights::Q8_0(b) => b.len(),
            QWeights::Q4_0(b) => b.len(),
        };
        let need = n
            .checked_mul(k / BLOCK_LEN)
            .ok_or(Error::SizeOverflow("weight block count"))?;
        if have != need {
            let bb = Self::format_of(blocks).block_bytes();
            return Err(Error::BufferLength {
                expected: need.saturating_mul(bb),
                actual: have.saturating_mul(bb),
            });
        }
        Ok(Weights { blocks, n, k })
    }

    /// Read bare GGML blocks (any alignment, zero copy) as a matrix with rows of `k`: `n` is
    /// the byte length divided by the row size, which must divide it exactly.
    pub fn from_bytes(format: QuantFormat, bytes: &'a [u8], k: usize) -> Result<Weights<'a>> {
        let row = format.matrix_bytes(1, k)?;
        if bytes.is_empty() || !bytes.len().is_multiple_of(row) {
            return Err(Error::ShapeMismatch(format!(
                "{} bytes are not a whole number of {} rows of {k} ({row} bytes each)",
                bytes.len(),
                format.name()
            )));
        }
        let cast_err = |_| Error::Misaligned {
            dtype: format.name(),
            align: 1,
        };
        let blocks = match format {
            QuantFormat::Q8_0 => QWeights::Q8_0(bytemuck::try_cast_slice(bytes).map_err(cast_err)?),
            QuantFormat::Q4_0 => QWeights::Q4_0(bytemuck::try_cast_slice(bytes).map_err(cast_err)?),
        };
        Weights::new(blocks, bytes.len().checked_div(row).unwrap_or(0), k)
    }

    fn format_of(blocks: QWeights<'_>) -> QuantFormat {
        match blocks {
            QWeights::Q8_0(_) => QuantFormat::Q8_0,
            QWeights::Q4_0(_) => QuantFormat::Q4_0,
        }
    }

    /// The weight format.
    pub fn format(&self) -> QuantFormat {
        Self::format_of(self.blocks)
    }

    /// Rows (output features).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Row length (inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The blocks.
    pub fn blocks(&self) -> QWeights<'a> {
        self.blocks
    }

    /// The raw GGML block bytes, row after row.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self.blocks {
            QWeights::Q8_0(b) => bytemuck::cast_slice(b),
            QWeights::Q4_0(b) => bytemuck::cast_slice(b),
        }
    }
}

/// Quantized activations: `m` rows of `nb` Q8_0 blocks, plus per-block f32 scales, i32 sums and
/// whether the block holds a −128 (derived values the SIMD kernels use; they do not change any
/// result).
#[derive(Debug)]
pub(crate) struct Acts<'a> {
    pub blocks: &'a [BlockQ8_0],
    pub nb: usize,
    pub dx: Vec<f32>,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub sx: Vec<i32>,
    /// Block `j` holds the value −128 (the reference quantizer never writes it, raw Q8_0
    /// activations may): the plain AVX2 Q8_0 path adds an exact correction for such blocks.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub has_min: Vec<bool>,
}

impl<'a> Acts<'a> {
    pub(crate) fn new(blocks: &'a [BlockQ8_0], nb: usize) -> Acts<'a> {
        let dx = blocks.iter().map(|b| b.d().to_f32()).collect();
        let sx = blocks
            .iter()
            .map(|b| b.qs.iter().map(|&q| i32::from(q)).sum())
            .collect();
        let has_min = blocks.iter().map(|b| b.qs.contains(&i8::MIN)).collect();
        Acts {
            blocks,
            nb,
            dx,
            sx,
            has_min,
        }
    }
}

/// `Y = X · Wᵀ` for f32 activations `x` (`[m, k]` row-major, finite) and quantized weights:
/// `x` is quantized to Q8_0 with GGML's reference quantizer, then [`matmul_q8`] runs.
/// `threads = 0` uses every available CPU. Returns `[m, n]` row-major. `Backend::Cuda(i)` runs
/// [`crate::cuda::matmul`] on device `i` (quantizing there; same bits) and ignores `threads`.
///
/// Errors: shape ([`Error::ShapeMismatch`], [`Error::BufferLength`]), non-finite activations
/// ([`Error::NonFinite`]), an unavailable backend ([`Error::BackendUnavailable`]).
pub fn matmul(
    x: &[f32],
    m: usize,
    w: &Weights<'_>,
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    if let Backend::Cuda(ordinal) = backend {
        return crate::cuda::matmul(ordinal, x, m, w);
    }
    let _fp = crate::fpenv::Guard::new();
    let path = Path::new(backend)?;
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
    let mut xq = vec![
        BlockQ8_0 {
            d: [0; 2],
            qs: [0; BLOCK_LEN]
        };
        need / BLOCK_LEN
    ];
    // Quantize on several threads when there is enough of it (row ranges are independent;
    // the quantizer is per block, so the split does not change a byte).
    crate::quant::check_finite(x)?;
    let qthreads = if m >= 2 && need >= (1 << 16) {
        cpu::resolve_threads(threads).min(m)
    } else {
        1
    };
    if qthreads <= 1 {
        quantize_q8_0_into(x, &mut xq)?;
    } else {
        // rows_per · k ≤ m · k = need: no overflow (saturating only to say so).
        let rows_per = m.div_ceil(qthreads).saturating_mul(k);
        /// One thread's rows: input, output blocks, outcome.
        type Slot<'s> = Mutex<(&'s [f32], &'s mut [BlockQ8_0], Result<()>)>;
        let slots: Vec<Slot<'_>> = x
            .chunks(rows_per)
            .zip(xq.chunks_mut(rows_per / BLOCK_LEN))
            .map(|(xs, qs)| Mutex::new((xs, qs, Ok(()))))
            .collect();
        cpu::pool::for_each(slots.len(), &|i| {
            if let Some(slot) = slots.get(i) {
                let mut g = slot.lock().unwrap_or_else(PoisonError::into_inner);
                let (xs, qs, r) = &mut *g;
                *r = quantize_q8_0_into(xs, qs);
            }
        })?;
        for slot in slots {
            slot.into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .2?;
        }
    }
    run(path, &xq, m, w, threads)
}

/// `Y = X · Wᵀ` for activations already quantized to Q8_0 (`m` rows of `k / 32` blocks).
/// `Backend::Cuda(i)` runs [`crate::cuda::matmul_q8`] on device `i`.
pub fn matmul_q8(
    xq: &[BlockQ8_0],
    m: usize,
    w: &Weights<'_>,
    backend: Backend,
    threads: usize,
) -> Result<Vec<f32>> {
    if let Backend::Cuda(ordinal) = backend {
        return crate::cuda::matmul_q8(ordinal, xq, m, w);
    }
    let _fp = crate::fpenv::Guard::new();
    let path = Path::new(backend)?;
    let nb = w.k() / BLOCK_LEN;
    if m == 0 || Some(xq.len()) != m.checked_mul(nb) {
        return Err(Error::ShapeMismatch(format!(
            "{} activation blocks, expected m × k / 32 = {m} × {nb}",
            xq.len()
        )));
    }
    run(path, xq, m, w, threads)
}

/// One CPU code path of the matmul, chosen explicitly (for parity tests and benchmarks; normal
/// callers pass a [`Backend`] and get the best path). Every path produces the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CpuKernel {
    /// The scalar reference (`Backend::Scalar`).
    Scalar,
    /// Plain AVX2 + FMA + F16C (`Backend::Avx2`).
    Avx2,
    /// AVX2 with 256-bit AVX-VNNI `vpdpbusd`, both weight formats.
    AvxVnni,
    /// AVX-512 F/BW/VNNI with 512-bit `vpdpbusd`, both weight formats (16 weight rows per
    /// pass).
    Avx512Vnni,
    /// WASM SIMD128 (`wasm32` built with `+simd128`), both weight formats (4 weight rows per
    /// pass); what `Backend::Auto` runs there.
    Simd128,
}

impl CpuKernel {
    /// Whether this CPU can run the path (detected at run time).
    pub fn available(self) -> bool {
        match self {
            CpuKernel::Scalar => true,
            CpuKernel::Avx2 => cpu::avx2_available(),
            CpuKernel::AvxVnni => cpu::avx_vnni_available(),
            CpuKernel::Avx512Vnni => cpu::avx512_vnni_available(),
            CpuKernel::Simd128 => cpu::simd128_available(),
        }
    }

    /// What `Backend::Auto` runs on this CPU for `format` with more than one activation row.
    /// Decode (one row) on an AMD CPU with AVX-512, of Q8_0 and of Q4_0 on two or more threads,
    /// runs [`CpuKernel::Avx2`] (or [`CpuKernel::AvxVnni`]) instead: faster there from memory,
    /// same bits.
    pub fn auto(format: QuantFormat) -> CpuKernel {
        Path::auto().kernel(format)
    }
}

/// The code path a call runs: the resolved ISA, plus AVX-VNNI and AVX-512 VNNI when
/// `Backend::Auto` resolved to AVX2 on a CPU that has them (`Backend::Avx2` always runs plain
/// AVX2, so every path can be compared against the others and against the scalar reference).
/// On `wasm32` with SIMD128, `Backend::Auto` resolves to the scalar ISA with `simd128` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Path {
    isa: Isa,
    vnni: bool,
    avx512: bool,
    /// Decode (M = 1; Q8_0 always, Q4_0 on two or more threads) leaves the AVX-512 loop for
    /// the AVX2 one (`Backend::Auto` on AMD CPUs with AVX-512: see [`Path::rows`]).
    decode_avx2: bool,
    simd128: bool,
}

impl Path {
    fn new(backend: Backend) -> Result<Path> {
        if backend == Backend::Auto {
            return Ok(Path::auto());
        }
        let isa = backend.resolve()?;
        Ok(Path {
            isa,
            vnni: false,
            avx512: false,
            decode_avx2: false,
            simd128: false,
        })
    }

    fn auto() -> Path {
        let isa = cpu::best_isa();
        let avx = isa == Isa::Avx2;
        Path {
            isa,
            vnni: avx && cpu::avx_vnni_available(),
            avx512: avx && cpu::avx512_vnni_available(),
            decode_avx2: cpu::amd_avx512(),
            simd128: isa == Isa::Scalar && cpu::simd128_available(),
        }
    }

    fn of(kernel: CpuKernel) -> Result<Path> {
        if !kernel.available() {
            return Err(Error::BackendUnavailable(
                "this CPU lacks the instructions of the requested matmul kernel",
            ));
        }
        let (isa, vnni, avx512) = match kernel {
            CpuKernel::Scalar | CpuKernel::Simd128 => (Isa::Scalar, false, false),
            CpuKernel::Avx2 => (Isa::Avx2, false, false),
            CpuKernel::AvxVnni => (Isa::Avx2, true, false),
            CpuKernel::Avx512Vnni => (Isa::Avx2, false, true),
        };
        Ok(Path {
            isa,
            vnni,
            avx512,
            decode_avx2: false,
            simd128: kernel == CpuKernel::Simd128,
        })
    }

    /// The path for a call with `m` activation rows of `format` on `threads` threads.
    /// `Backend::Auto` on an AMD CPU with AVX-512 runs Q8_0 decode (`m` = 1) with the AVX2
    /// loop, Q4_0 decode with it too when two or more threads share the call, everything else
    /// with AVX-512 (same bits either way). Measured on an AMD EPYC Zen 4 (benches/README.md,
    /// ggml section; both loops with the L2 prefetch of [`cpu::amd_avx512`]), cold weights,
    /// K 4096, separate processes alternated: one thread, N 11008, Q8_0 26.0–26.5 GB/s on the
    /// AVX2 loop against 24.1–25.8 on the AVX-512 one, Q4_0 19.3–19.6 against 21.6–22.1 (so
    /// one-thread Q4_0 stays on AVX-512); two threads, N 4096 and 11008, Q4_0's median call
    /// faster on the AVX2 loop in 12 of 12 pairs (26.5–32.7 against 22.7–30.8 GB/s): two
    /// threads' 16-row groups keep twice the read streams in flight.
    fn rows(self, m: usize, format: QuantFormat, threads: usize) -> Path {
        let avx2_decode = match format {
            QuantFormat::Q8_0 => true,
            QuantFormat::Q4_0 => threads >= 2,
        };
        if m == 1 && avx2_decode && self.avx512 && self.decode_avx2 {
            Path {
                avx512: false,
                ..self
            }
        } else {
            self
        }
    }

    /// The kernel this path runs for `format`.
    fn kernel(self, format: QuantFormat) -> CpuKernel {
        match (self.isa, format) {
            (Isa::Scalar, _) if self.simd128 => CpuKernel::Simd128,
            (Isa::Scalar, _) => CpuKernel::Scalar,
            (Isa::Avx2, _) if self.avx512 => CpuKernel::Avx512Vnni,
            (Isa::Avx2, _) if self.vnni => CpuKernel::AvxVnni,
            (Isa::Avx2, _) => CpuKernel::Avx2,
        }
    }
}

/// [`matmul_q8`] on one explicit CPU code path ([`Error::BackendUnavailable`] when this CPU
/// lacks it). Same bits as every other path.
pub fn matmul_q8_kernel(
    xq: &[BlockQ8_0],
    m: usize,
    w: &Weights<'_>,
    kernel: CpuKernel,
    threads: usize,
) -> Result<Vec<f32>> {
    let _fp = crate::fpenv::Guard::new();
    let path = Path::of(kernel)?;
    let nb = w.k() / BLOCK_LEN;
    if m == 0 || Some(xq.len()) != m.checked_mul(nb) {
        return Err(Error::ShapeMismatch(format!(
            "{} activation blocks, expected m × k / 32 = {m} × {nb}",
            xq.len()
        )));
    }
    run(path, xq, m, w, threads)
}

fn run(
    path: Path,
    xq: &[BlockQ8_0],
    m: usize,
    w: &Weights<'_>,
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
    let path = path.rows(m, w.format(), threads);

    // Split the weight rows into contiguous ranges of whole 8-row groups (eight per thread in
    // decode, four per thread in prefill, taken by whichever thread is free); if there are
    // fewer groups than threads, split the activation rows instead. Either way every
    // output is computed by exactly one thread with the contract's operation order.
    // 16 rows per pass on the AVX-512 path, 8 elsewhere.
    let nr = if path.kernel(w.format()) == CpuKernel::Avx512Vnni {
        cpu::NR.saturating_mul(2)
    } else {
        cpu::NR
    };
    let groups = n.div_ceil(nr);
    if threads <= 1 {
        compute(path, &acts, w, 0, m, 0, n, &mut out);
    } else if groups >= threads {
        // PIECES ranges per thread (DECODE_PIECES in decode), claimed by whichever of the
        // `threads` runners is free, so a thread slowed down (a shared machine) takes fewer.
        // Decode's pieces are finer: a call is short (under a millisecond at N = 4096), so one
        // preempted thread holding half of it would stall the whole call.
        const PIECES: usize = 4;
        const DECODE_PIECES: usize = 8;
        let per_thread = if m > 1 { PIECES } else { DECODE_PIECES };
        let pieces = threads.saturating_mul(per_thread).min(groups);
        // Every product and sum below is at most n or m · n (= total, checked above).
        let per = groups.div_ceil(pieces).saturating_mul(nr);
        let ranges: Vec<(usize, usize)> = (0..n)
            .step_by(per)
            .map(|n0| (n0, n0.saturating_add(per).min(n)))
            .collect();
        if m == 1 {
            // One output row: each range writes its own piece of `out` directly.
            let slots: Vec<Mutex<&mut [f32]>> = out.chunks_mut(per).map(Mutex::new).collect();
            cpu::pool::for_each_on(ranges.len(), threads, &|i| {
                if let (Some(&(n0, n1)), Some(slot)) = (ranges.get(i), slots.get(i)) {
                    let mut dst = slot.lock().unwrap_or_else(PoisonError::into_inner);
                    compute(path, &acts, w, 0, 1, n0, n1, &mut dst);
                }
            })?;
        } else {
            by_column_ranges(&mut out, m, n, &ranges, threads, &|n0, n1, part| {
                compute(path, &acts, w, 0, m, n0, n1, part);
            })?;
        }
    } else {
        let per_m = m.div_ceil(threads);
        let slots: Vec<Mutex<&mut [f32]>> = out
            .chunks_mut(per_m.saturating_mul(n))
            .map(Mutex::new)
            .collect();
        cpu::pool::for_each(slots.len(), &|i| {
            if let Some(slot) = slots.get(i) {
                let mut chunk = slot.lock().unwrap_or_else(PoisonError::into_inner);
                // m0 < m1 ≤ m: no overflow.
                let m0 = i.saturating_mul(per_m);
                let m1 = m0.saturating_add(chunk.len().checked_div(n).unwrap_or(0));
                compute(path, &acts, w, m0, m1, 0, n, &mut chunk);
            }
        })?;
    }
    Ok(out)
}

/// The thread count for a call of `work` block products: an explicit count is honoured (tests
/// rely on it); `0` picks all CPUs, or one thread when the work is too small for spawning to
/// pay off.
pub(crate) fn threads_for(threads: usize, work: usize) -> usize {
    if threads == 0 && work < (1 << 16) {
        1
    } else {
        cpu::resolve_threads(threads)
    }
}

/// Fills `out` (`[m, n]` row-major) by column ranges: `f(n0, n1, part)` writes columns
/// `n0..n1` of every row into its own `part` (`[m, n1 − n0]`), the ranges are claimed by
/// whichever of `threads` runners is free (inline when one thread or one range), and the parts
/// are copied into place. Errors when a job left its part unwritten (a panicking worker).
pub(crate) fn by_column_ranges(
    out: &mut [f32],
    m: usize,
    n: usize,
    ranges: &[(usize, usize)],
    threads: usize,
    f: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
) -> Result<()> {
    let parts: Vec<Mutex<Vec<f32>>> = ranges.iter().map(|_| Mutex::new(Vec::new())).collect();
    let job = |i: usize| {
        if let (Some(&(n0, n1)), Some(slot)) = (ranges.get(i), parts.get(i)) {
            let mut part = vec![0.0f32; m.saturating_mul(n1.saturating_sub(n0))];
            f(n0, n1, &mut part);
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = part;
        }
    };
    if threads <= 1 || ranges.len() <= 1 {
        (0..ranges.len()).for_each(job);
    } else {
        cpu::pool::for_each_on(ranges.len(), threads, &job)?;
    }
    for (&(n0, n1), part) in ranges.iter().zip(parts) {
        let part = part.into_inner().unwrap_or_else(PoisonError::into_inner);
        let width = n1.saturating_sub(n0);
        if width == 0 || part.len() != m.saturating_mul(width) {
            return Err(Error::WorkerPanicked(
                "a matmul job left its part of the output unwritten".into(),
            ));
        }
        scatter_columns(out, n, n0, n1, &part);
    }
    Ok(())
}

/// Copies `part` (rows of `n1 − n0` values) into columns `n0..n1` of `out` (rows of `n`).
pub(crate) fn scatter_columns(out: &mut [f32], n: usize, n0: usize, n1: usize, part: &[f32]) {
    let width = n1.saturating_sub(n0);
    if n == 0 || width == 0 {
        return;
    }
    for (row_out, row_part) in out.chunks_exact_mut(n).zip(part.chunks_exact(width)) {
        if let Some(dst) = row_out.get_mut(n0..n1) {
            dst.copy_from_slice(row_part);
        }
    }
}

/// Outputs for activation rows `m0..m1` and weight rows `n0..n1` into `out`
/// (`[(m1 − m0), (n1 − n0)]` row-major).
#[allow(clippy::too_many_arguments)]
fn compute(
    path: Path,
    acts: &Acts<'_>,
    w: &Weights<'_>,
    m0: usize,
    m1: usize,
    n0: usize,
    n1: usize,
    out: &mut [f32],
) {
    let nb = acts.nb;
    let xs = acts
        .blocks
        .get(m0.saturating_mul(nb)..m1.saturating_mul(nb))
        .unwrap_or_default();
    let n_len = n1.saturating_sub(n0);
    match path.isa {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Scalar if path.simd128 => cpu::simd128::matmul(acts, m0, m1, w, n0, n1, out),
        Isa::Scalar => match w.blocks() {
            QWeights::Q8_0(wb) => cpu::scalar::matmul_q8_0(xs, wb, nb, 0, n0, n_len, out),
            QWeights::Q4_0(wb) => cpu::scalar::matmul_q4_0(xs, wb, nb, 0, n0, n_len, out),
        },
        Isa::Avx2 =>
        {
            #[cfg(target_arch = "x86_64")]
            if path.avx512 {
                cpu::avx512::matmul(acts, m0, m1, w, n0, n1, out);
            } else {
                cpu::avx2::matmul(acts, m0, m1, w, n0, n1, out, path.vnni);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Backend::Auto`'s decode routing on AMD with AVX-512 (`decode_avx2`): Q8_0 decode always
    /// on the AVX2 loop, Q4_0 decode only with two or more threads, prefill never; without the
    /// AMD flag, or on a path without AVX-512, nothing changes.
    #[test]
    fn decode_routing_on_amd_avx512() {
        let amd = Path {
            isa: Isa::Avx2,
            vnni: false,
            avx512: true,
            decode_avx2: true,
            simd128: false,
        };
        let k = |p: Path, m, f, t| p.rows(m, f, t).kernel(f);
        assert_eq!(k(amd, 1, QuantFormat::Q8_0, 1), CpuKernel::Avx2);
        assert_eq!(k(amd, 1, QuantFormat::Q8_0, 2), CpuKernel::Avx2);
        assert_eq!(k(amd, 1, QuantFormat::Q4_0, 1), CpuKernel::Avx512Vnni);
        assert_eq!(k(amd, 1, QuantFormat::Q4_0, 2), CpuKernel::Avx2);
        assert_eq!(k(amd, 1, QuantFormat::Q4_0, 8), CpuKernel::Avx2);
        for f in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
            for t in [1, 2] {
                assert_eq!(k(amd, 2, f, t), CpuKernel::Avx512Vnni);
                assert_eq!(k(amd, 64, f, t), CpuKernel::Avx512Vnni);
                let other = Path {
                    decode_avx2: false,
                    ..amd
                };
                assert_eq!(k(other, 1, f, t), CpuKernel::Avx512Vnni);
                let plain = Path {
                    avx512: false,
                    ..amd
                };
                assert_eq!(k(plain, 1, f, t), CpuKernel::Avx2);
            }
        }
    }
}

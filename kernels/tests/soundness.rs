//! Kernel soundness (issue "Kernel soundness"): the same bits for every input on every backend,
//! whatever the host does. One test per item, from outside the crate:
//!
//! 1. −128 in Q8_0 activations (and weights) is exact on every path;
//! 2. the caller's floating-point flags (FTZ/DAZ) change nothing, and are given back;
//! 3. size arithmetic from input is checked (typed errors, no panic, no huge allocation);
//! 6. "no device" is one error, `backend_unavailable`, on every CUDA path;
//! 7. a panicking pool job is `worker_panicked` with its message.
//!
//! Items 4 and 5 (thread bound, pool hazards) are in `tests/pool.rs` and `tests/fork.rs`,
//! which need processes of their own. The parity proptests at the end cover −128 activations,
//! special f16 scales, subnormals, NaN and infinities for every backend and 1, 2, 3 and 7
//! threads.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use half::f16;
use mycel_kernels::attention::{
    AttentionMode, AttentionParams, AttnInput, attention, attention_f32_into,
};
use mycel_kernels::cpu::pool;
use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::matmul::{CpuKernel, QWeights, Weights, matmul, matmul_q8, matmul_q8_kernel};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{BlockQ4_0, BlockQ8_0, QuantFormat, quantize_q8_0};
use mycel_kernels::tensor::{DType, Tensor, TensorView, byte_len};
use mycel_kernels::{Backend, Error, cpu, cuda};
use mycel_protocol::ids::{Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use proptest::prelude::*;

const THREADS: [usize; 4] = [1, 2, 3, 7];
const KERNELS: [CpuKernel; 4] = [
    CpuKernel::Scalar,
    CpuKernel::Avx2,
    CpuKernel::AvxVnni,
    CpuKernel::Avx512Vnni,
];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every backend that can run here: the CPU ones this CPU has, and a CUDA device if present.
fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Scalar, Backend::Auto];
    if cpu::avx2_available() {
        b.push(Backend::Avx2);
    }
    if cuda::available() {
        b.push(Backend::Cuda(0));
    }
    b
}

/// spec/kernels.md §4.2 transcribed on raw bytes: Q8_0 activations `xb` (34-byte blocks) against
/// weights `wb` (Q8_0 or Q4_0), one `mul_add` per block in order, NaN canonical.
fn contract_raw(
    xb: &[u8],
    m: usize,
    wb: &[u8],
    n: usize,
    k: usize,
    format: QuantFormat,
) -> Vec<f32> {
    let nb = k / 32;
    let wbb = format.block_bytes();
    let mut out = vec![0.0f32; m * n];
    for mi in 0..m {
        for ni in 0..n {
            let mut acc = 0.0f32;
            for b in 0..nb {
                let xblk = &xb[(mi * nb + b) * 34..][..34];
                let wblk = &wb[(ni * nb + b) * wbb..][..wbb];
                let dx = f16::from_le_bytes([xblk[0], xblk[1]]).to_f32();
                let dw = f16::from_le_bytes([wblk[0], wblk[1]]).to_f32();
                let sumi: i32 = (0..32)
                    .map(|j| {
                        let x = i32::from(xblk[2 + j] as i8);
                        let w = match format {
                            QuantFormat::Q8_0 => i32::from(wblk[2 + j] as i8),
                            _ => {
                                let byte = wblk[2 + j % 16];
                                i32::from(if j < 16 { byte & 15 } else { byte >> 4 }) - 8
                            }
                        };
                        x * w
                    })
                    .sum();
                acc = (dw * dx).mul_add(sumi as f32, acc);
            }
            out[mi * n + ni] = if acc.is_nan() {
                f32::from_bits(0x7FC0_0000)
            } else {
                acc
            };
        }
    }
    out
}

/// Runs `xq × w` on every backend, every explicit CPU kernel and every thread count of
/// [`THREADS`], and checks each against `want`.
fn all_paths_equal(xq: &[BlockQ8_0], m: usize, w: &Weights<'_>, want: &[u32], what: &str) {
    for t in THREADS {
        for b in backends() {
            let got = matmul_q8(xq, m, w, b, t).unwrap();
            assert_eq!(bits(&got), want, "{what}: {b:?}, {t} threads");
        }
        for kernel in KERNELS {
            if kernel.available() {
                let got = matmul_q8_kernel(xq, m, w, kernel, t).unwrap();
                assert_eq!(bits(&got), want, "{what}: {kernel:?}, {t} threads");
            }
        }
    }
}

fn q8_block(d: f32, qs: &[(usize, i8)]) -> BlockQ8_0 {
    let mut b = BlockQ8_0 {
        d: f16::from_f32(d).to_le_bytes(),
        qs: [0; 32],
    };
    for &(j, v) in qs {
        b.qs[j] = v;
    }
    b
}

/// Item 1: x = −128 against negative weights (the case `vpsignb` gets wrong), both −128, whole
/// blocks of −128, and Q4_0 weights against −128: hand-computed sums, every path and thread
/// count.
#[test]
fn item1_minus_128_activations_are_exact_on_every_path() {
    // One block, x = [−128, 0, …], w = [−1, 0, …], both scales 1: 128.
    let x = [q8_block(1.0, &[(0, i8::MIN)])];
    let w = [q8_block(1.0, &[(0, -1)])];
    let ww = Weights::new(QWeights::Q8_0(&w), 1, 32).unwrap();
    all_paths_equal(&x, 1, &ww, &bits(&[128.0]), "x=-128, w=-1");

    // Several rows and columns so that every lane, row pair, register half and tile height
    // sees −128: x row r has −128 at positions r, r+8, 31−r; weight row c has value −(c+1) at
    // every position, except +5 at position c. sumi(r, c) = Σ_j x_j·w_j computed here.
    let (m, n, k) = (9usize, 19usize, 64usize);
    let mut xs = Vec::new();
    for r in 0..m {
        for blk in 0..k / 32 {
            let mut qs = [7i8; 32];
            for j in [r % 32, (r + 8) % 32, 31 - r % 32, (r + blk) % 32] {
                qs[j] = i8::MIN;
            }
            xs.push(BlockQ8_0 {
                d: f16::from_f32(0.5).to_le_bytes(),
                qs,
            });
        }
    }
    let mut ws = Vec::new();
    for c in 0..n {
        for _ in 0..k / 32 {
            let mut qs = [-((c as i8 % 100) + 1); 32];
            qs[c % 32] = 5;
            if c % 3 == 0 {
                qs[(c + 1) % 32] = i8::MIN;
            }
            ws.push(BlockQ8_0 {
                d: f16::from_f32(0.25).to_le_bytes(),
                qs,
            });
        }
    }
    let mut want = vec![0.0f32; m * n];
    for r in 0..m {
        for c in 0..n {
            let mut acc = 0.0f32;
            for blk in 0..k / 32 {
                let (xb, wb) = (&xs[r * 2 + blk], &ws[c * 2 + blk]);
                let sumi: i64 = (0..32)
                    .map(|j| i64::from(xb.qs[j]) * i64::from(wb.qs[j]))
                    .sum();
                acc = (0.25f32 * 0.5).mul_add(sumi as f32, acc);
            }
            want[r * n + c] = acc;
        }
    }
    let ww = Weights::new(QWeights::Q8_0(&ws), n, k).unwrap();
    all_paths_equal(
        &xs,
        m,
        &ww,
        &bits(&want),
        "rows of -128 against negative weights",
    );
    // The same rows one at a time: decode (one activation row) has a path of its own for
    // whole 8-row weight groups (here two, then a short group of three).
    for r in 0..m {
        all_paths_equal(
            &xs[r * 2..r * 2 + 2],
            1,
            &ww,
            &bits(&want[r * n..(r + 1) * n]),
            &format!("decode of row {r} with -128 against negative weights"),
        );
    }

    // A whole block of −128 against a whole block of −128: 32 · 16384 = 524288.
    let x = [BlockQ8_0 {
        d: f16::from_f32(1.0).to_le_bytes(),
        qs: [i8::MIN; 32],
    }];
    let ww = Weights::new(QWeights::Q8_0(&x), 1, 32).unwrap();
    all_paths_equal(&x, 1, &ww, &bits(&[524_288.0]), "all -128");

    // Q4_0 weights (nibble 0 = −8 everywhere) against x = −128 everywhere: 32 · 1024.
    let w4 = [BlockQ4_0 {
        d: f16::from_f32(1.0).to_le_bytes(),
        qs: [0; 16],
    }];
    let ww = Weights::new(QWeights::Q4_0(&w4), 1, 32).unwrap();
    all_paths_equal(&x, 1, &ww, &bits(&[32_768.0]), "q4_0 against -128");
}

/// Decode's Q4_0 path sums 16 products of a nibble and an activation in 16 bits: at the
/// extremes (nibbles 0 and 15 against −128 and 127, 16 weight rows, so whole groups on every
/// path) the sums are still exact; hand-computed, every path and thread count.
#[test]
fn decode_q4_0_extreme_nibbles_are_exact_on_every_path() {
    let k = 128;
    // Activation blocks: all −128, all 127, alternating, then −128 on the first half only.
    let xs: Vec<BlockQ8_0> = (0..k / 32)
        .map(|blk| {
            let mut qs = [0i8; 32];
            for (j, q) in qs.iter_mut().enumerate() {
                *q = match blk {
                    0 => i8::MIN,
                    1 => 127,
                    2 if j % 2 == 0 => i8::MIN,
                    2 => 127,
                    _ if j < 16 => i8::MIN,
                    _ => 0,
                };
            }
            BlockQ8_0 {
                d: f16::from_f32(0.5).to_le_bytes(),
                qs,
            }
        })
        .collect();
    // Weight rows: nibbles all 15, all 0, or mixed (`qs[j]` holds elements j and j + 16).
    let n = 16;
    let nib = |c: usize, e: usize| -> u8 {
        match c % 4 {
            0 => 15,
            1 => 0,
            2 => {
                if e.is_multiple_of(3) {
                    15
                } else {
                    0
                }
            }
            _ => (e % 16) as u8,
        }
    };
    let mut ws = Vec::new();
    for c in 0..n {
        for _ in 0..k / 32 {
            let mut qs = [0u8; 16];
            for (j, q) in qs.iter_mut().enumerate() {
                *q = nib(c, j) | nib(c, j + 16) << 4;
            }
            ws.push(BlockQ4_0 {
                d: f16::from_f32(if c % 2 == 0 { 0.25 } else { -2.0 }).to_le_bytes(),
                qs,
            });
        }
    }
    let want: Vec<f32> = (0..n)
        .map(|c| {
            let mut acc = 0.0f32;
            for (blk, xb) in xs.iter().enumerate() {
                let sumi: i64 = (0..32)
                    .map(|e| i64::from(xb.qs[e]) * (i64::from(nib(c, e)) - 8))
                    .sum();
                let dw = f16::from_le_bytes(ws[c * (k / 32) + blk].d).to_f32();
                acc = (dw * 0.5).mul_add(sumi as f32, acc);
            }
            acc
        })
        .collect();
    let ww = Weights::new(QWeights::Q4_0(&ws), n, k).unwrap();
    all_paths_equal(&xs, 1, &ww, &bits(&want), "q4_0 extreme nibbles, decode");
}

/// The plain-AVX2 Q4_0 prefill tile sums 16 products of a nibble and an activation per i16
/// lane (two per `vpmaddubsw` pair, eight quads per block): at the extremes (nibbles 0 and 15
/// against −128 and 127 in whole blocks, |Σ| up to 16·15·128 = 30720) the sums are still exact;
/// M = 6 (a 4-row and a 2-row tile), 16 weight rows, hand-computed, every path and thread count.
#[test]
fn prefill_q4_0_extreme_nibbles_are_exact_on_every_path() {
    let k = 160;
    let nb = k / 32;
    let m = 6;
    // Activation block `blk` of row `r`: all −128, all 127, alternating, −128 on the first
    // half, all −128 again with the rows' pattern shifted.
    let xval = |r: usize, blk: usize, j: usize| -> i8 {
        match (blk + r) % 5 {
            0 => i8::MIN,
            1 => 127,
            2 if j.is_multiple_of(2) => i8::MIN,
            2 => 127,
            3 if j < 16 => i8::MIN,
            3 => 0,
            _ if j % 4 < 2 => 127,
            _ => i8::MIN,
        }
    };
    let xs: Vec<BlockQ8_0> = (0..m * nb)
        .map(|i| {
            let (r, blk) = (i / nb, i % nb);
            BlockQ8_0 {
                d: f16::from_f32(if r % 2 == 0 { 0.5 } else { -0.125 }).to_le_bytes(),
                qs: core::array::from_fn(|j| xval(r, blk, j)),
            }
        })
        .collect();
    // Weight rows: nibbles all 15, all 0, mixed, or 15 exactly where the activation is −128.
    let n = 16;
    let nib = |c: usize, blk: usize, e: usize| -> u8 {
        match (c + blk) % 4 {
            0 => 15,
            1 => 0,
            2 if e.is_multiple_of(3) => 15,
            2 => 0,
            _ if xval(0, blk, e) == i8::MIN => 15,
            _ => 0,
        }
    };
    let mut ws = Vec::new();
    for c in 0..n {
        for blk in 0..nb {
            ws.push(BlockQ4_0 {
                d: f16::from_f32(if c % 2 == 0 { 0.25 } else { -2.0 }).to_le_bytes(),
                qs: core::array::from_fn(|j| nib(c, blk, j) | nib(c, blk, j + 16) << 4),
            });
        }
    }
    let mut want = Vec::new();
    for r in 0..m {
        for c in 0..n {
            let mut acc = 0.0f32;
            for blk in 0..nb {
                let xb = &xs[r * nb + blk];
                let sumi: i64 = (0..32)
                    .map(|e| i64::from(xb.qs[e]) * (i64::from(nib(c, blk, e)) - 8))
                    .sum();
                let dw = f16::from_le_bytes(ws[c * nb + blk].d).to_f32();
                acc = (dw * xb.d().to_f32()).mul_add(sumi as f32, acc);
            }
            want.push(acc);
        }
    }
    let ww = Weights::new(QWeights::Q4_0(&ws), n, k).unwrap();
    all_paths_equal(&xs, m, &ww, &bits(&want), "q4_0 extreme nibbles, prefill");
}

/// Raw blocks for `blocks` Q8_0 or Q4_0 blocks from a Philox stream: bytes uniform, about one
/// value byte in eight set to 0x80 (−128 in Q8_0), scales finite and of either sign.
fn raw_blocks(seed: u8, blocks: usize, block_bytes: usize) -> Vec<u8> {
    let r = generate_uniform(&[seed; 32], 5, blocks * block_bytes).unwrap();
    let mut out: Vec<u8> = r
        .iter()
        .map(|&v| {
            let b = (v * 256.0) as u8;
            if b.is_multiple_of(8) { 0x80 } else { b }
        })
        .collect();
    for (i, blk) in out.chunks_exact_mut(block_bytes).enumerate() {
        // Scales ±(0.5 … 2) · 2^(i mod 5 − 2), finite, odd mantissas.
        let d = (1.0 + (i % 7) as f32 / 7.0) * 2f32.powi(i as i32 % 5 - 2);
        let d = if i.is_multiple_of(3) { -d } else { d };
        blk[..2].copy_from_slice(&f16::from_f32(d).to_le_bytes());
    }
    out
}

/// The register tiles at their edges on every path: M below, at and past the 4-row tile and
/// the 64-row cache chunk (M = 2, 3, 5, 66), N not a multiple of the 8-row group (1, 7, 9, 13,
/// 17), a single block (K = 32) and several, with −128 in the activations and the weights
/// (the plain-AVX2 Q8_0 prefill path corrects −128 activations out of line).
#[test]
fn tile_edges_are_exact_on_every_path() {
    for (m, n, kb) in [
        (2, 1, 1),
        (3, 7, 1),
        (5, 9, 2),
        (4, 13, 3),
        (66, 17, 1),
        (7, 8, 5),
    ] {
        let k = kb * 32;
        for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
            let seed = (m * 31 + n) as u8;
            let xbytes = raw_blocks(seed, m * kb, 34);
            let wbytes = raw_blocks(seed ^ 0x5A, n * kb, format.block_bytes());
            let xq: &[BlockQ8_0] = bytemuck::cast_slice(&xbytes);
            let w = Weights::from_bytes(format, &wbytes, k).unwrap();
            let want = bits(&contract_raw(&xbytes, m, &wbytes, n, k, format));
            all_paths_equal(xq, m, &w, &want, &format!("m {m} n {n} k {k} {format:?}"));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod flags {
    /// MXCSR FTZ (bit 15) and DAZ (bit 6).
    pub const FTZ_DAZ: u32 = 0x8040;

    #[allow(deprecated)]
    pub fn get() -> u32 {
        // SAFETY: reads MXCSR, always present on x86-64.
        unsafe { core::arch::x86_64::_mm_getcsr() }
    }

    #[allow(deprecated)]
    pub fn set(v: u32) {
        // SAFETY: a valid MXCSR value (read from the register, control bits changed).
        unsafe { core::arch::x86_64::_mm_setcsr(v) }
    }
}

/// Item 2's inputs, built before any flag is set (the test's own float arithmetic would be
/// flushed too): attention over subnormal values, and quantizer inputs whose scale is subnormal.
struct FpInputs {
    p: AttentionParams,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    x: Vec<f32>,
}

impl FpInputs {
    fn new() -> FpInputs {
        let p = AttentionParams::new(4, 2, 33, 70, 64).causal(true);
        let q = generate_uniform(&[1; 32], 1, p.q_elems().unwrap()).unwrap();
        let k = generate_uniform(&[1; 32], 2, p.kv_elems().unwrap()).unwrap();
        // V entirely subnormal (|v| < 2^-126): every output is a weighted mean of subnormals.
        let v: Vec<f32> = generate_uniform(&[1; 32], 3, p.kv_elems().unwrap())
            .unwrap()
            .iter()
            .map(|x| x * 2f32.powi(-127))
            .collect();
        assert!(v.iter().any(|x| x.is_subnormal()));
        // amax = 2^-120 gives d = amax/127 ≈ 2^-127, a subnormal f32 with a finite reciprocal:
        // FTZ would flush it and zero every q, DAZ would read the inputs as zero.
        let x: Vec<f32> = (0..64)
            .map(|i| (i as f32 - 31.5) / 31.5 * 2f32.powi(-120))
            .collect();
        FpInputs { p, q, k, v, x }
    }

    /// Every backend and thread count, then the quantizer; as bits.
    fn results(&self) -> Vec<(String, Vec<u32>)> {
        let mut out = Vec::new();
        for b in backends() {
            for t in THREADS {
                let y = attention(
                    &self.p,
                    AttnInput::F32(&self.q),
                    AttnInput::F32(&self.k),
                    AttnInput::F32(&self.v),
                    AttentionMode::Verifiable,
                    b,
                    t,
                )
                .unwrap();
                out.push((format!("attention {b:?} {t}"), bits(&y)));
            }
        }
        let xq = quantize_q8_0(&self.x, 64).unwrap();
        out.push((
            "quantize".into(),
            xq.iter()
                .flat_map(|b| b.qs.iter().map(|&q| q as u32))
                .collect(),
        ));
        out
    }
}

/// Item 2: a thread that set FTZ and DAZ (as a fast-math host does) gets exactly the bits of a
/// thread with the default environment, on every backend and thread count, and has its own
/// flags back afterwards.
#[cfg(target_arch = "x86_64")]
#[test]
fn item2_caller_fp_flags_change_nothing_and_are_restored() {
    let inputs = std::sync::Arc::new(FpInputs::new());
    let clean = inputs.results();
    assert!(
        clean.last().is_some_and(|(_, q)| q.iter().any(|&v| v != 0)),
        "the quantizer case must have non-zero values"
    );
    let dirty = {
        let inputs = inputs.clone();
        std::thread::spawn(move || {
            let before = flags::get();
            flags::set(before | flags::FTZ_DAZ);
            let set = flags::get();
            let r = inputs.results();
            let after = flags::get();
            flags::set(before);
            (r, set, after)
        })
        .join()
        .unwrap()
    };
    let (results, set, after) = dirty;
    assert_eq!(set & flags::FTZ_DAZ, flags::FTZ_DAZ);
    assert_eq!(
        after & 0xFFC0,
        set & 0xFFC0,
        "the caller's control bits are restored"
    );
    assert_eq!(clean.len(), results.len());
    for ((name, a), (_, b)) in clean.iter().zip(&results) {
        let diff = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert_eq!(diff, 0, "{name}: {diff} outputs differ under FTZ/DAZ");
    }
}

/// Item 3: sizes computed from input are checked: a Q8_0 shape whose byte length overflows,
/// a generated length past any allocation, weights too large to generate.
#[test]
fn item3_size_arithmetic_is_checked() {
    let huge = usize::MAX / 32 * 32;
    for dt in [DType::Q8_0, DType::Q4_0, DType::F32, DType::F16] {
        assert!(
            matches!(byte_len(dt, &[huge]), Err(Error::SizeOverflow(_))),
            "{dt:?}"
        );
        assert!(matches!(
            Tensor::from_le_bytes(dt, &[huge], &[0u8; 16]),
            Err(Error::SizeOverflow(_))
        ));
        assert!(matches!(
            TensorView::from_bytes(dt, &[huge], &[0u8; 16]),
            Err(Error::SizeOverflow(_))
        ));
    }
    // 2^59 · 32 elements: 2^59 blocks of 34 bytes overflows a 64-bit byte count.
    assert!(
        matches!(
            byte_len(DType::Q8_0, &[1 << 32, 1 << 32]),
            Err(Error::SizeOverflow(_))
        ) || usize::BITS < 64
    );
    for len in [usize::MAX, 1 << 62, (1 << 61) + 1] {
        let r = generate_uniform(&[0; 32], 0, len);
        assert_eq!(r.unwrap_err().code(), "size_overflow", "len {len}");
    }
    let e = generate_weights(&[0; 32], QuantFormat::Q8_0, 1 << 40, 1 << 25).unwrap_err();
    assert_eq!(e.code(), "size_overflow");
}

/// Item 6: without the `cuda` feature, without a driver, or without the device, every CUDA
/// path answers `backend_unavailable`; never another error, never "not compiled" in a CUDA
/// build; with a device, `attention_f32_into` runs there (the scalar bits).
#[test]
fn item6_no_device_is_one_error_on_every_path() {
    let wq = quantize_q8_0(&[0.5f32; 64], 32).unwrap();
    let w = Weights::new(QWeights::Q8_0(&wq), 2, 32).unwrap();
    let x = [1.0f32; 32];
    let xq = quantize_q8_0(&x, 32).unwrap();
    let p = AttentionParams::new(1, 1, 1, 1, 64);
    let a = [0.25f32; 64];
    let wbytes = w.as_bytes().to_vec();
    let task = TaskSpec {
        network: NetworkId([0x11; 32]),
        subnet: SubnetId(1),
        epoch: Epoch(5),
        kernel: KernelId::MatmulQ8_0,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul { m: 1, n: 2, k: 32 },
        weights_digest: weights_digest(&wbytes),
        input_seed: [3; 32],
    };
    let mut ordinals = vec![1u32 << 20, u32::MAX];
    if !cuda::available() {
        ordinals.push(0);
    }
    for ordinal in ordinals {
        let b = Backend::Cuda(ordinal);
        let mut out = [7.0f32; 64];
        let errors = [
            b.resolve().map(|_| ()).unwrap_err(),
            matmul(&x, 1, &w, b, 1).unwrap_err(),
            matmul_q8(&xq, 1, &w, b, 1).unwrap_err(),
            attention(
                &p,
                AttnInput::F32(&a),
                AttnInput::F32(&a),
                AttnInput::F32(&a),
                AttentionMode::Verifiable,
                b,
                1,
            )
            .unwrap_err(),
            attention_f32_into(&p, &a, &a, &a, &mut out, AttentionMode::Verifiable, b, 1)
                .unwrap_err(),
            execute(&task, Some(&wbytes), b, 1).unwrap_err(),
            cuda::CudaDevice::open(ordinal).unwrap_err(),
        ];
        for (i, e) in errors.iter().enumerate() {
            assert_eq!(
                e.code(),
                "backend_unavailable",
                "path {i}, ordinal {ordinal}: {e}"
            );
            if cfg!(feature = "cuda") {
                assert!(!e.to_string().contains("not compiled"), "path {i}: {e}");
            }
        }
        assert_eq!(out, [7.0f32; 64], "no partial output");
    }
    if !cuda::driver_available() {
        assert_eq!(
            cuda::device_count().unwrap_err().code(),
            "backend_unavailable"
        );
    }
    if cuda::available() {
        let p = AttentionParams::new(2, 1, 5, 9, 64).causal(true);
        let q = generate_uniform(&[4; 32], 1, p.q_elems().unwrap()).unwrap();
        let kv = generate_uniform(&[4; 32], 2, p.kv_elems().unwrap()).unwrap();
        let mut want = vec![0.0f32; q.len()];
        let mut got = vec![0.0f32; q.len()];
        let m = AttentionMode::Verifiable;
        attention_f32_into(&p, &q, &kv, &kv, &mut want, m, Backend::Scalar, 1).unwrap();
        attention_f32_into(&p, &q, &kv, &kv, &mut got, m, Backend::Cuda(0), 1).unwrap();
        assert_eq!(bits(&got), bits(&want));
    } else {
        eprintln!("SKIP item6 device half: no CUDA device here");
    }
}

/// Item 7: a panicking pool job is its own error, `worker_panicked`, with the panic message of
/// the lowest panicking index; every other index still ran; the pool keeps working.
#[test]
#[allow(clippy::panic)]
fn item7_worker_panics_have_their_own_error() {
    use core::sync::atomic::{AtomicUsize, Ordering};
    let ran = AtomicUsize::new(0);
    let r = pool::for_each(7, &|i| {
        ran.fetch_add(1, Ordering::SeqCst);
        if i == 5 || i == 3 {
            panic!("job {i} failed on purpose");
        }
    });
    let e = r.unwrap_err();
    assert_eq!(e, Error::WorkerPanicked("job 3 failed on purpose".into()));
    assert_eq!(e.code(), "worker_panicked");
    assert!(e.to_string().contains("job 3 failed on purpose"));
    assert_eq!(ran.load(Ordering::SeqCst), 7);
    // A payload that is not a string still gives a message.
    let e = pool::for_each(2, &|i| {
        if i == 1 {
            std::panic::panic_any(42u64);
        }
    })
    .unwrap_err();
    assert_eq!(e.code(), "worker_panicked");
    assert!(pool::for_each(3, &|_| {}).is_ok());
}

fn block_bytes_strategy(blocks: usize) -> impl Strategy<Value = Vec<u8>> {
    // Raw bytes, with the special values made frequent: f16 scales subnormal/∞/NaN/0 and −128.
    proptest::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            1 => Just(0x80u8),
            1 => Just(0x7Cu8),
            1 => Just(0x00u8),
            1 => Just(0x01u8),
        ],
        blocks * 34,
    )
}

/// Attention inputs with subnormals, NaN and infinities sprinkled in.
fn special(seed: u64, n: usize) -> Vec<f32> {
    let base = generate_uniform(&[seed as u8; 32], 1, n).unwrap();
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(1),
        -f32::from_bits(0x007F_FFFF),
        -0.0,
        f32::MIN_POSITIVE,
    ];
    base.iter()
        .enumerate()
        .map(|(i, &x)| {
            let h = (i as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
            match h {
                0 => specials[(i + seed as usize) % specials.len()],
                1 | 2 => x * 2f32.powi(-130),
                _ => x,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Raw Q8_0 activations (−128 frequent, any f16 scale) against raw weights of either
    /// format: every backend, every CPU kernel, 1/2/3/7 threads ≡ the contract.
    #[test]
    fn parity_raw_activations_and_weights(
        xb in block_bytes_strategy(3 * 9),
        wb in block_bytes_strategy(3 * 20),
        m in 1usize..=9,
        n in 1usize..=20,
        kb in 1usize..=3,
        q4 in any::<bool>(),
    ) {
        let k = kb * 32;
        let format = if q4 { QuantFormat::Q4_0 } else { QuantFormat::Q8_0 };
        let xbytes = &xb[..m * kb * 34];
        let wbytes = &wb[..n * kb * format.block_bytes()];
        let xq: &[BlockQ8_0] = bytemuck::cast_slice(xbytes);
        let w = Weights::from_bytes(format, wbytes, k).unwrap();
        let want = bits(&contract_raw(xbytes, m, wbytes, n, k, format));
        all_paths_equal(xq, m, &w, &want, "raw blocks");
    }

    /// Attention with subnormals, NaN and ±∞ among Q, K and V, verifiable mode: every backend
    /// and 1/2/3/7 threads give the scalar reference's bits (NaN canonical).
    #[test]
    fn parity_attention_special_values(
        seed in any::<u64>(),
        kv_len in 1usize..=90,
        causal in any::<bool>(),
        d in prop::sample::select(vec![64usize, 128]),
        group in prop::sample::select(vec![1usize, 2]),
    ) {
        let q_len = if causal { kv_len.div_ceil(2) } else { 3 };
        let p = AttentionParams::new(2 * group, 2, q_len, kv_len, d).causal(causal);
        let q = special(seed, p.q_elems().unwrap());
        let k = special(seed ^ 1, p.kv_elems().unwrap());
        let v = special(seed ^ 2, p.kv_elems().unwrap());
        let run = |b: Backend, t: usize| {
            bits(&attention(&p, AttnInput::F32(&q), AttnInput::F32(&k), AttnInput::F32(&v),
                AttentionMode::Verifiable, b, t).unwrap())
        };
        let want = run(Backend::Scalar, 1);
        for b in backends() {
            for t in THREADS {
                prop_assert_eq!(&run(b, t), &want, "{:?} {} threads", b, t);
            }
        }
    }
}

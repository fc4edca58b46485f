//! The real CUDA kernel sources, compiled for the host by a C++20 compiler through a small
//! CUDA emulation layer (src/cuda/emu/), run on the CPU and compared bit for bit with the CPU
//! scalar reference. No GPU, no CUDA toolkit and no `cuda` feature needed: this checks the
//! kernels' indexing, shared-memory staging, bounds handling, block order and NaN handling on
//! every machine with a C++ compiler. It cannot check what only hardware decides (the real
//! mma fragment layout, timing); the GPU parity test (cuda_matmul.rs) does that on a device.
//!
//! Skips (with a message) when no C++20 compiler with `<barrier>` and `_Float16` is found (a
//! probe program decides); set `CXX` to choose one. A compiler that passes the probe but fails
//! on the kernels fails the test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::matmul::{QWeights, Weights, matmul, matmul_q8};
use mycel_kernels::philox::{StreamKey, fill_uniform, generate_uniform};
use mycel_kernels::quant::{BlockQ4_0, BlockQ8_0, QuantFormat, quantize_q4_0, quantize_q8_0};
use mycel_kernels::{Backend, cuda::MATVEC_MAX_M};

const EMU_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cuda/emu");

/// Build the emulator once per test binary; `None` (printed) when there is no compiler.
fn emulator() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mycel-cuda-emu");
        let candidates: Vec<String> = match std::env::var("CXX") {
            Ok(c) => vec![c],
            Err(_) => vec!["c++".into(), "g++".into(), "clang++".into()],
        };
        let probe_src = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mycel-cuda-emu-probe.cpp");
        let probe_out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mycel-cuda-emu-probe");
        std::fs::write(
            &probe_src,
            "#include <barrier>\n#include <thread>\nint main() { std::barrier<> b(1); \
             b.arrive_and_wait(); _Float16 h = (_Float16)1.0f; return (int)(float)h - 1; }\n",
        )
        .unwrap();
        for cxx in candidates {
            // a compiler without C++20 <barrier> or _Float16 cannot host the emulator: skip
            let probe = Command::new(&cxx)
                .args(["-std=c++20", "-pthread"])
                .arg(&probe_src)
                .arg("-o")
                .arg(&probe_out)
                .stderr(Stdio::null())
                .status();
            if !matches!(probe, Ok(s) if s.success()) {
                continue;
            }
            let status = Command::new(&cxx)
                .args([
                    "-std=c++20",
                    "-O1",
                    "-ffp-contract=off",
                    "-fno-fast-math",
                    "-Wall",
                    "-Wno-unknown-pragmas",
                    "-pthread",
                ])
                .arg(format!("{EMU_DIR}/emu_main.cpp"))
                .arg("-o")
                .arg(&out)
                .status();
            match status {
                Ok(s) if s.success() => return Some(out),
                Ok(s) => panic!("{cxx} failed to build the CUDA emulator ({s}): the .cu sources or emu.h do not compile for the host"),
                Err(_) => continue,
            }
        }
        eprintln!("SKIP cuda_emu: no C++20 compiler with <barrier> and _Float16 found (set CXX)");
        None
    })
    .as_deref()
}

fn run_emu(bin: &Path, request: &[u8]) -> Vec<u8> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(request).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "emulator failed: {}", out.status);
    out.stdout
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn f32_bits(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn weight_bytes(format: QuantFormat, n: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rng.next().to_le_bytes());
    if rng.below(5) == 0 {
        // raw blocks: any f16 scale, including infinities and NaN, any quantized bytes
        let len = format.matrix_bytes(n, k).unwrap();
        let mut raw = vec![0f32; len.div_ceil(4)];
        fill_uniform(&seed, 77, 0, &mut raw).unwrap();
        let mut bytes: Vec<u8> = raw.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
        bytes.truncate(len);
        for (i, blk) in bytes.chunks_exact_mut(format.block_bytes()).enumerate() {
            if i % 5 != 0 {
                let d = half::f16::from_f32(((i % 11) as f32 - 5.0) * 0.02);
                blk[..2].copy_from_slice(&d.to_le_bytes());
            }
        }
        return bytes;
    }
    let w = generate_uniform(&seed, 9, n * k).unwrap();
    match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&w, k).unwrap()).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&w, k).unwrap()).to_vec(),
    }
}

fn check_case(bin: &Path, format: QuantFormat, m: usize, n: usize, k: usize, rng: &mut Rng) {
    let wb = weight_bytes(format, n, k, rng);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rng.next().to_le_bytes());
    let scale = [1.0f32, 1e-3, 250.0][rng.below(3)];
    let mut x: Vec<f32> = generate_uniform(&seed, 0, m * k)
        .unwrap()
        .iter()
        .map(|v| v * scale)
        .collect();
    if m * k >= 96 {
        // an all-zero block and a block of ties
        x[..32].fill(0.0);
        for (j, v) in x[32..64].iter_mut().enumerate() {
            *v = if j == 0 { 127.0 } else { j as f32 + 0.5 };
        }
    }
    let mut req = Vec::new();
    req.extend_from_slice(&0u32.to_le_bytes());
    req.extend_from_slice(&u32::from(format == QuantFormat::Q4_0).to_le_bytes());
    for d in [m, n, k] {
        req.extend_from_slice(&(d as u32).to_le_bytes());
    }
    req.extend_from_slice(&wb);
    for v in &x {
        req.extend_from_slice(&v.to_le_bytes());
    }
    let reply = run_emu(bin, &req);
    let qlen = m * k / 32 * 34;
    assert_eq!(reply.len(), qlen + m * n * 4);

    let want_q = quantize_q8_0(&x, k).unwrap();
    assert_eq!(
        &reply[..qlen],
        bytemuck::cast_slice::<BlockQ8_0, u8>(&want_q),
        "quantized activations differ ({} m={m} n={n} k={k})",
        format.name()
    );
    let blocks = match format {
        QuantFormat::Q8_0 => QWeights::Q8_0(bytemuck::cast_slice::<u8, BlockQ8_0>(&wb)),
        QuantFormat::Q4_0 => QWeights::Q4_0(bytemuck::cast_slice::<u8, BlockQ4_0>(&wb)),
    };
    let w = Weights::new(blocks, n, k).unwrap();
    let want: Vec<u32> = matmul(&x, m, &w, Backend::Scalar, 1)
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let got = f32_bits(&reply[qlen..]);
    if got != want {
        let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
        panic!(
            "{} m={m} n={n} k={k}: output {i} (row {}, col {}) is {:#010x} ({:e}), CPU scalar {:#010x} ({:e})",
            format.name(),
            i / n,
            i % n,
            got[i],
            f32::from_bits(got[i]),
            want[i],
            f32::from_bits(want[i])
        );
    }
}

/// Random shapes through both kernels (matvec for m ≤ 8, tensor-core tiles above): odd m and
/// n, partial tiles in every dimension, k a multiple of 32 but not of the 4-block stage or the
/// 32-block matvec chunk, raw weight blocks with infinite and NaN scales.
#[test]
fn emulated_kernels_match_cpu_scalar() {
    let Some(bin) = emulator() else { return };
    let mut rng = Rng(0x656d_7563_7564_6121);
    let mut shapes = vec![
        (1usize, 1usize, 32usize),
        (1, 33, 32 * 33),
        (8, 65, 32 * 5),
        (9, 1, 32),
        (64, 64, 128),
        (65, 129, 32 * 7),
        (3, 300, 32 * 70),
        (100, 70, 32 * 3),
    ];
    for _ in 0..14 {
        let m = if rng.below(2) == 0 {
            1 + rng.below(MATVEC_MAX_M as u64)
        } else {
            MATVEC_MAX_M + 1 + rng.below(100)
        };
        shapes.push((m, 1 + rng.below(130), 32 * (1 + rng.below(36))));
    }
    for (i, &(m, n, k)) in shapes.iter().enumerate() {
        let format = if i % 2 == 0 {
            QuantFormat::Q4_0
        } else {
            QuantFormat::Q8_0
        };
        check_case(bin, format, m, n, k, &mut rng);
        check_case(bin, other(format), m, n, k, &mut rng);
    }
    eprintln!(
        "{} emulated cases equal the CPU scalar reference",
        2 * shapes.len()
    );
}

/// Raw Q8_0 activations (as `matmul_q8` uploads them) holding −128, against raw weights that
/// hold −128 and negative values, through both kernels and both formats: the emulated device
/// result equals the CPU scalar reference bit for bit (the CPU AVX2 path once got this wrong).
#[test]
fn emulated_kernels_exact_for_minus_128_activations() {
    let Some(bin) = emulator() else { return };
    let mut rng = Rng(0x2d31_3238_2d31_3238);
    for (m, n, k) in [
        (1usize, 9usize, 64usize),
        (5, 33, 96),
        (9, 17, 32),
        (70, 65, 160),
    ] {
        for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
            let nb = k / 32;
            let mut xb = vec![0u8; m * nb * 34];
            for (i, blk) in xb.chunks_exact_mut(34).enumerate() {
                blk[..2]
                    .copy_from_slice(&half::f16::from_f32(0.01 * (1 + i % 7) as f32).to_le_bytes());
                for v in &mut blk[2..] {
                    // a third −128, the rest random
                    *v = if rng.below(3) == 0 {
                        0x80
                    } else {
                        rng.next() as u8
                    };
                }
            }
            let mut wb = vec![0u8; n * nb * format.block_bytes()];
            for (i, blk) in wb.chunks_exact_mut(format.block_bytes()).enumerate() {
                blk[..2]
                    .copy_from_slice(&half::f16::from_f32(0.03 * (1 + i % 5) as f32).to_le_bytes());
                for v in &mut blk[2..] {
                    *v = if rng.below(4) == 0 {
                        0x80
                    } else {
                        rng.next() as u8
                    };
                }
            }
            let mut req = Vec::new();
            req.extend_from_slice(&4u32.to_le_bytes());
            req.extend_from_slice(&u32::from(format == QuantFormat::Q4_0).to_le_bytes());
            for d in [m, n, k] {
                req.extend_from_slice(&(d as u32).to_le_bytes());
            }
            req.extend_from_slice(&wb);
            req.extend_from_slice(&xb);
            let reply = run_emu(bin, &req);
            let qlen = m * nb * 34;
            assert_eq!(reply.len(), qlen + m * n * 4);
            assert_eq!(&reply[..qlen], &xb[..], "activations round-trip");
            let xq: &[BlockQ8_0] = bytemuck::cast_slice(&xb);
            let blocks = match format {
                QuantFormat::Q8_0 => QWeights::Q8_0(bytemuck::cast_slice::<u8, BlockQ8_0>(&wb)),
                QuantFormat::Q4_0 => QWeights::Q4_0(bytemuck::cast_slice::<u8, BlockQ4_0>(&wb)),
            };
            let w = Weights::new(blocks, n, k).unwrap();
            let want: Vec<u32> = matmul_q8(xq, m, &w, Backend::Scalar, 1)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            assert_eq!(
                f32_bits(&reply[qlen..]),
                want,
                "{} m={m} n={n} k={k}",
                format.name()
            );
        }
    }
}

fn other(f: QuantFormat) -> QuantFormat {
    match f {
        QuantFormat::Q8_0 => QuantFormat::Q4_0,
        QuantFormat::Q4_0 => QuantFormat::Q8_0,
    }
}

/// The device Philox kernel, emulated, equals the CPU generator (offsets not multiples of 4,
/// lengths ending mid-block, counters above 2^32).
#[test]
fn emulated_philox_matches_cpu() {
    let Some(bin) = emulator() else { return };
    for (i, (offset, len)) in [(0u64, 1usize), (1, 7), (3, 1030), ((1 << 34) + 2, 517)]
        .into_iter()
        .enumerate()
    {
        let seed = [i as u8 + 3; 32];
        for stream in [0u32, 3, 0x5747_4854] {
            let sk = StreamKey::derive(&seed, stream);
            let mut req = Vec::new();
            req.extend_from_slice(&1u32.to_le_bytes());
            req.extend_from_slice(&offset.to_le_bytes());
            req.extend_from_slice(&(len as u64).to_le_bytes());
            for w in [sk.key[0], sk.key[1], sk.hi[0], sk.hi[1]] {
                req.extend_from_slice(&w.to_le_bytes());
            }
            let got = f32_bits(&run_emu(bin, &req));
            let mut want = vec![0f32; len];
            fill_uniform(&seed, stream, offset, &mut want).unwrap();
            let want: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "offset {offset} len {len} stream {stream}");
        }
    }
}

fn attention_case(bin: &Path, p: &AttentionParams, rng: &mut Rng, special: bool) {
    let scale = p.validate().unwrap();
    let (qn, kn) = (p.q_elems().unwrap(), p.kv_elems().unwrap());
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&rng.next().to_le_bytes());
    let amp = [1.0f32, 8.0, 40.0][rng.below(3)];
    let make = |stream: u32, n: usize| -> Vec<f32> {
        generate_uniform(&seed, stream, n)
            .unwrap()
            .iter()
            .map(|v| v * amp)
            .collect()
    };
    let (mut q, mut k, v) = (make(1, qn), make(2, kn), make(3, kn));
    if special {
        // an infinite key element, a NaN query element, huge scores that overflow expv
        k[rng.below(kn as u64)] = f32::INFINITY;
        q[rng.below(qn as u64)] = f32::NAN;
        let i = rng.below(qn as u64);
        q[i] = 3.0e38;
    }
    let mut req = Vec::new();
    for x in [
        2u32,
        p.n_heads as u32,
        p.n_kv_heads as u32,
        p.q_len as u32,
        p.kv_len as u32,
    ] {
        req.extend_from_slice(&x.to_le_bytes());
    }
    req.extend_from_slice(&(p.head_dim as u32).to_le_bytes());
    req.extend_from_slice(&u32::from(p.causal).to_le_bytes());
    req.extend_from_slice(&scale.to_le_bytes());
    for t in [&q, &k, &v] {
        for x in t.iter() {
            req.extend_from_slice(&x.to_le_bytes());
        }
    }
    let got = f32_bits(&run_emu(bin, &req));
    let want_f: Vec<f32> = attention(
        p,
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
        AttentionMode::Verifiable,
        Backend::Scalar,
        1,
    )
    .unwrap();
    let want: Vec<u32> = want_f.iter().map(|x| x.to_bits()).collect();
    if !special {
        // fast mode: the emulated fast kernel within the spec's tolerance of verifiable mode
        let mut freq = req.clone();
        freq[..4].copy_from_slice(&3u32.to_le_bytes());
        let fast = f32_bits(&run_emu(bin, &freq));
        let vmax = v.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        let tol = vmax * (2f32.powi(-13) + 4.0 * p.kv_len as f32 * 2f32.powi(-24));
        for (i, (&f, &w)) in fast.iter().zip(&want_f).enumerate() {
            let f = f32::from_bits(f);
            assert!(
                (f - w).abs() <= tol,
                "{p:?}: fast output {i} is {f:e}, verifiable {w:e}, tolerance {tol:e}"
            );
        }
    }
    if got != want {
        let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
        panic!(
            "{p:?}: output {i} is {:#010x} ({:e}), CPU scalar {:#010x} ({:e})",
            got[i],
            f32::from_bits(got[i]),
            want[i],
            f32::from_bits(want[i])
        );
    }
}

/// The verifiable attention kernel, emulated, equals the scalar reference bit for bit, and the
/// fast kernel is within the spec's fast-mode tolerance of it (inputs without NaN/∞): head_dim
/// 64 and 128, GQA ratios 1, 2, 4, causal or not, prefill, decode and q_len < kv_len, lengths
/// that are not multiples of the 64-key tile, and inputs with NaN, infinities and overflowing
/// scores.
#[test]
fn emulated_attention_matches_cpu_scalar() {
    let Some(bin) = emulator() else { return };
    let mut rng = Rng(0x6174_746e_656d_7521);
    let mut cases = vec![
        AttentionParams::new(1, 1, 1, 1, 64),
        AttentionParams::new(2, 1, 1, 200, 128),
        AttentionParams::new(4, 2, 65, 65, 64).causal(true),
        AttentionParams::new(4, 1, 3, 130, 128).causal(true),
        AttentionParams::new(2, 2, 17, 64, 64).with_scale(-0.3),
        // decode long enough for the fast split-KV path (partial last split)
        AttentionParams::new(4, 2, 1, 1100, 128),
        AttentionParams::new(2, 1, 1, 512, 64).causal(true),
    ];
    for _ in 0..6 {
        let d = if rng.below(2) == 0 { 64 } else { 128 };
        let kv = 1 + rng.below(4);
        let group = [1, 2, 4][rng.below(3)];
        let kv_len = 1 + rng.below(150);
        let q_len = match rng.below(3) {
            0 => 1,
            1 => kv_len,
            _ => 1 + rng.below(kv_len as u64),
        };
        cases
            .push(AttentionParams::new(kv * group, kv, q_len, kv_len, d).causal(rng.below(2) == 0));
    }
    for (i, p) in cases.iter().enumerate() {
        attention_case(bin, p, &mut rng, i % 4 == 3);
    }
    eprintln!(
        "{} emulated attention cases equal the CPU scalar reference",
        cases.len()
    );
}

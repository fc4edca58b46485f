//! mycel-benches: benchmark binaries only (see `benches/` and README.md). This library holds
//! small helpers the benchmark binaries share.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use core::time::Duration;
use std::time::Instant;

/// Run `f` `iters` times after `warmup` untimed runs and return the median of `rounds` timed
/// rounds, per call. `f` must wait for its own work to finish (e.g. synchronize a device).
pub fn median_per_call<E>(
    warmup: usize,
    rounds: usize,
    iters: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Duration, E> {
    for _ in 0..warmup {
        f()?;
    }
    let iters = iters.max(1);
    let mut times = Vec::with_capacity(rounds.max(1));
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        times.push(t.elapsed() / u32::try_from(iters).unwrap_or(u32::MAX));
    }
    times.sort();
    // `times` holds `rounds.max(1)` entries, so the middle one exists.
    Ok(times.get(times.len() / 2).copied().unwrap_or_default())
}

/// Streams the decode benches compare against: 8, as many as the weight rows the matmul kernels
/// read at once per thread.
pub const READ_STREAMS: usize = 8;

/// Read bandwidth over some buffers, in GB/s (10⁹ bytes per second): the fastest buffer and
/// the median buffer (each buffer timed on its own).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// The fastest buffer's rate.
    pub best: f64,
    /// The median buffer's rate.
    pub median: f64,
}

/// Streaming read bandwidth over the given buffers: each buffer split into `threads`
/// contiguous parts (as the matmul splits weight rows over threads), each thread summing its
/// part either front to back (one stream) or as [`READ_STREAMS`] equal sub-ranges read in
/// lockstep (several streams, like a kernel reading several weight rows at once). Every buffer
/// is timed on its own (the threads meet at a barrier between buffers), so on a decode
/// benchmark's weight copies one buffer is exactly one call's bytes and the figures compare
/// with its fastest and median call. Each read pattern goes over all buffers `passes` times;
/// the pattern with the faster best buffer counts. Meant to be called on the very buffers a
/// decode benchmark cycles through (same bytes, same size, same thread count), right next to
/// that measurement.
pub fn read_bandwidth_of<B: AsRef<[u8]> + Sync>(
    bufs: &[B],
    threads: usize,
    passes: usize,
) -> Bandwidth {
    let threads = threads.max(1);
    let mut out = Bandwidth {
        best: 0.0,
        median: 0.0,
    };
    for streams in [1, READ_STREAMS] {
        let mut rates = Vec::new();
        for _ in 0..passes.max(1) {
            let barrier = std::sync::Barrier::new(threads);
            let times: Vec<f64> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..threads)
                    .map(|i| {
                        let barrier = &barrier;
                        s.spawn(move || {
                            let mut times = Vec::with_capacity(bufs.len());
                            let mut sum = 0u64;
                            for b in bufs {
                                let b = b.as_ref();
                                let part = b.len().div_ceil(threads);
                                let lo = part.saturating_mul(i).min(b.len());
                                let hi = part.saturating_mul(i + 1).min(b.len());
                                barrier.wait();
                                let t = Instant::now();
                                sum = sum.wrapping_add(sum_streams(
                                    b.get(lo..hi).unwrap_or_default(),
                                    streams,
                                ));
                                barrier.wait();
                                times.push(t.elapsed().as_secs_f64());
                            }
                            core::hint::black_box(sum);
                            times
                        })
                    })
                    .collect();
                // A buffer took as long as its slowest part.
                hs.into_iter().map(|h| h.join().unwrap_or_default()).fold(
                    Vec::new(),
                    |acc: Vec<f64>, t| {
                        if acc.is_empty() {
                            t
                        } else {
                            acc.iter().zip(&t).map(|(a, b)| a.max(*b)).collect()
                        }
                    },
                )
            });
            rates.extend(
                bufs.iter()
                    .zip(&times)
                    .map(|(b, &t)| b.as_ref().len() as f64 / t / 1e9),
            );
        }
        rates.sort_by(f64::total_cmp);
        let best = rates.last().copied().unwrap_or(0.0);
        if best > out.best {
            out = Bandwidth {
                best,
                median: rates.get(rates.len() / 2).copied().unwrap_or(0.0),
            };
        }
    }
    out
}

/// Sum of `bytes` as `u64`s over whole 64-byte lines (a tail shorter than a line per stream is
/// not read), read as `streams` equal sub-ranges in lockstep, one line of each per step. With
/// AVX2 (detected at run time) two 32-byte loads per line, else plain `u64` adds: the probe must
/// not be slower than the memory it measures (a scalar fold read 8 GB/s where this reads 12 on
/// the Xeon of benches/README.md, one thread).
fn sum_streams(bytes: &[u8], streams: usize) -> u64 {
    let (_, lines, _) = bytemuck::pod_align_to::<u8, [u64; 8]>(bytes);
    let streams = streams.clamp(1, READ_STREAMS);
    let per = lines.len() / streams;
    if per == 0 {
        return 0;
    }
    let mut parts: [&[[u64; 8]]; READ_STREAMS] = [&[]; READ_STREAMS];
    for (slot, part) in parts.iter_mut().zip(lines.chunks_exact(per)) {
        *slot = part;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { sum_streams_avx2(&parts, streams, per) };
    }
    let mut acc = [[0u64; 8]; READ_STREAMS];
    for l in 0..per {
        for (a, part) in acc.iter_mut().zip(&parts).take(streams) {
            if let Some(line) = part.get(l) {
                for (x, w) in a.iter_mut().zip(line) {
                    *x = x.wrapping_add(*w);
                }
            }
        }
    }
    acc.iter().flatten().fold(0, |a, &x| a.wrapping_add(x))
}

/// [`sum_streams`] with AVX2: `parts[..streams]` each hold at least `per` lines.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_streams_avx2(parts: &[&[[u64; 8]]; READ_STREAMS], streams: usize, per: usize) -> u64 {
    use core::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_loadu_si256, _mm256_setzero_si256, _mm256_storeu_si256,
    };
    let mut acc = [_mm256_setzero_si256(); READ_STREAMS];
    for l in 0..per {
        for (a, part) in acc.iter_mut().zip(parts).take(streams) {
            if let Some(line) = part.get(l) {
                let p: *const __m256i = line.as_ptr().cast();
                // SAFETY: a line is 64 readable bytes: two unaligned 32-byte loads.
                let v = unsafe {
                    _mm256_add_epi64(_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)))
                };
                *a = _mm256_add_epi64(*a, v);
            }
        }
    }
    let mut sum = _mm256_setzero_si256();
    for a in acc {
        sum = _mm256_add_epi64(sum, a);
    }
    let mut out = [0u64; 4];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), sum) };
    out.iter().fold(0, |a, &x| a.wrapping_add(x))
}

/// splitmix64, the seeded generator of [`yuma_network`] and of the probes' inputs.
#[derive(Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 bits of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The packed decode layout (`mycel_kernels::packed`) of each plain weight copy in `copies`
/// (`format`, rows of `k`): one packed copy per plain one, prepared before any timing as a
/// model loader would. Copies that do not parse or pack are left out.
pub fn packed_copies(
    format: mycel_kernels::quant::QuantFormat,
    copies: &[Vec<u8>],
    k: usize,
) -> Vec<mycel_kernels::packed::PackedWeights> {
    copies
        .iter()
        .filter_map(|b| mycel_kernels::matmul::Weights::from_bytes(format, b, k).ok())
        .filter_map(|w| mycel_kernels::packed::PackedWeights::new(&w).ok())
        .collect()
}

/// A random Yuma epoch input like the chain's timing runs, the generator of
/// benches/benches/emission.rs (same draws, so the same seed gives the same network): every uid
/// a permitted, active validator, weights and bonds on a `density` fraction of the other uids
/// (1.0 = full-dense), Yuma 3 with liquid alpha when `yuma3_liquid`. `n` must fit a `u16`.
pub fn yuma_network(
    n: usize,
    density: f64,
    yuma3_liquid: bool,
    seed: u64,
) -> mycel_protocol::emission::EpochInput {
    use mycel_protocol::emission::{ConsensusMode, EpochInput};
    let mut r = SplitMix(seed);
    let threshold = (density * u64::MAX as f64) as u64;
    let row = |i: usize, r: &mut SplitMix| -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        for j in 0..n {
            if j != i && (density >= 1.0 || r.next_u64() <= threshold) {
                out.push((j as u16, (r.next_u64() % 65535 + 1) as u16));
            }
        }
        out
    };
    let weights: Vec<Vec<(u16, u16)>> = (0..n).map(|i| row(i, &mut r)).collect();
    let bonds: Vec<Vec<(u16, u16)>> = (0..n).map(|i| row(i, &mut r)).collect();
    EpochInput {
        n: n as u16,
        current_block: 100_000,
        tempo: 360,
        activity_cutoff: 5000,
        last_mechanism_step_block: 0,
        last_update: vec![99_990; n],
        block_at_registration: (0..n).map(|_| r.next_u64() % 50_000).collect(),
        stake: (0..n)
            .map(|_| 1_000_000_000 + r.next_u64() % 10_000_000_000_000)
            .collect(),
        tao_stake: None,
        tao_weight: 0,
        stake_threshold: 0,
        owner_uid: None,
        validator_permit: vec![true; n],
        max_allowed_validators: n as u16,
        weights,
        bonds,
        commit_reveal_enabled: false,
        commit_blocks: None,
        kappa: 32767,
        bonds_penalty: 65535,
        bonds_moving_average: 900_000,
        yuma3: yuma3_liquid,
        liquid_alpha: yuma3_liquid,
        alpha_low: 45875,
        alpha_high: 58982,
        alpha_sigmoid_steepness: 1000,
        liquid_alpha_consensus_mode: ConsensusMode::Current,
        previous_consensus: None,
        rao_emission: 1_000_000_000,
    }
}

/// `count` work receipts for one fixed Q8_0 matmul task (M = 64, N = K = 4096), signed
/// round-robin by `miners` (receipt `i` by `miners[i % miners.len()]`, the first miner as
/// assigner), with per-receipt commitments, timestamps and nonces: the receipts of the receipts
/// and scaling benches. An empty `miners` gives no receipts.
pub fn signed_receipts(
    miners: &[mycel_protocol::ids::SigningKey],
    count: usize,
) -> mycel_protocol::error::Result<Vec<mycel_protocol::receipt::SignedReceipt>> {
    use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
    use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
    use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
    let Some(assigner) = miners.first().map(|m| m.hotkey()) else {
        return Ok(Vec::new());
    };
    let task = TaskSpec {
        network: NetworkId([7; 32]),
        subnet: SubnetId(3),
        epoch: Epoch(1000),
        kernel: KernelId::MatmulQ8_0,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul {
            m: 64,
            n: 4096,
            k: 4096,
        },
        weights_digest: Digest([9; 32]),
        input_seed: [5; 32],
    };
    let task_digest = task.digest()?;
    let compute_units = task.compute_units()?;
    let backend = BackendLabel::new("cuda-sm90")?;
    miners
        .iter()
        .cycle()
        .take(count)
        .enumerate()
        .map(|(i, miner)| {
            let body = WorkReceipt {
                network: task.network,
                subnet: task.subnet,
                epoch: task.epoch,
                task_digest,
                assigner,
                miner: miner.hotkey(),
                output_commitment: Digest([(i % 251) as u8; 32]),
                output_tile_root: Digest([(i % 241) as u8; 32]),
                compute_units,
                started_at_ms: 1_767_225_600_000 + i as u64,
                finished_at_ms: 1_767_225_600_900 + i as u64,
                nonce: i as u64,
                backend: backend.clone(),
            };
            SignedReceipt::sign(body, miner)
        })
        .collect()
}

/// The CPU a run saw, for the first line of a bench's report: `/proc/cpuinfo`'s model name,
/// family and model, the SIMD extensions that pick kernel paths (`avx2`, `avx512f`,
/// `avx512_vnni`, `avx_vnni`, `amx_int8`) and the CPUs this process may use.
pub fn cpu_line() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("?")
            .trim()
            .to_string()
    };
    let flags = field("flags");
    let has: Vec<&str> = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]
        .into_iter()
        .filter(|f| flags.split_whitespace().any(|w| w == *f))
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{} (family {} model {}); {}; {cores} CPUs",
        field("model name"),
        field("cpu family"),
        field("model"),
        has.join(" ")
    )
}

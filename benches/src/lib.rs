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

/// Streaming read bandwidth of this machine with `threads` threads summing a 512 MiB buffer of
/// `u64`, best of `passes` passes, in GB/s (10⁹ bytes per second). The matmul benches report
/// decode as a fraction of it, measured in the same process.
pub fn read_bandwidth(threads: usize, passes: usize) -> f64 {
    let words = (512usize << 20) / 8;
    let buf: Vec<u64> = (0..words as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let chunk = words.div_ceil(threads.max(1));
    let mut best = f64::MAX;
    for _ in 0..passes.max(1) {
        let t = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let hs: Vec<_> = buf
                .chunks(chunk)
                .map(|part| {
                    // A plain fold vectorizes well with or without target-cpu=native (an
                    // 8-accumulator array version ran at a fifth of the speed under
                    // target-cpu=native on an AVX-512 host).
                    s.spawn(move || part.iter().fold(0u64, |a, &x| a.wrapping_add(x)))
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0, u64::wrapping_add)
        });
        core::hint::black_box(total);
        best = best.min(t.elapsed().as_secs_f64());
    }
    (words * 8) as f64 / best / 1e9
}

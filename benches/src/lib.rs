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

/// splitmix64, the seeded generator of [`yuma_network`].
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
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
            if j != i && (density >= 1.0 || r.next() <= threshold) {
                out.push((j as u16, (r.next() % 65535 + 1) as u16));
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
        block_at_registration: (0..n).map(|_| r.next() % 50_000).collect(),
        stake: (0..n)
            .map(|_| 1_000_000_000 + r.next() % 10_000_000_000_000)
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

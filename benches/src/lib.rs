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

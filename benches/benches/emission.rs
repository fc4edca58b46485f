//! Emission benchmarks: the Yuma epoch (`mycel_protocol::emission::epoch`, bit-exact fixed point)
//! at the sizes of the chain's own timings (spec/emission.md section 10; YUMA.md section 9), on
//! the default Yuma2 path and on Yuma3 + liquid alpha, side by side with the float64
//! re-derivation of the same steps (the test helper `protocol/tests/emission_support/float.rs`,
//! compiled into this binary) on the same inputs.
//!
//! Run: `cargo bench -p mycel-benches --bench emission -- --warm-up-time 1 --measurement-time 3`
//!
//! `EMISSION_BEST_OF=1 cargo bench -p mycel-benches --bench emission` instead prints, per case,
//! the minimum and median wall time of plain back-to-back runs (robust on a shared machine, where
//! the minimum is the least disturbed run), with the ratio to the float64 re-derivation timed
//! in the same process. The chain's own timings (YUMA.md section 9: medians of its epoch code,
//! measured on another machine) are printed beside them as a cited reference only: no ratio is
//! taken against them, since a median from another machine over a minimum from this one is not
//! a same-run ratio.
//!
//! `EMISSION_ONLY=TEXT` keeps only the cases whose label ("1024 dense yuma2", "4096 2%
//! yuma3+liquid", ...) contains TEXT; `EMISSION_REPEAT=K` times K times as many runs per case
//! (for profiling one case). `benches/emission-ab.sh BASE` runs this mode for a base commit's
//! binary and the working tree's alternately (A B A B) and prints same-run ratios.
//!
//! Each case is timed twice: `epoch(&input)` (a fresh workspace per call, as a one-off caller
//! runs it) and `epoch_with(&mut ws, &input)` on one reused [`EpochWorkspace`] ("reused
//! workspace", as a validator or simulator running epoch after epoch calls it).

use core::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group};
use mycel_protocol::emission::{EpochInput, EpochWorkspace, epoch, epoch_with};

#[path = "../../protocol/tests/emission_support/float.rs"]
#[allow(clippy::all, missing_docs, unreachable_pub)]
mod float;

/// The random networks of the chain's timing runs (`mycel_benches::yuma_network`).
fn network(n: usize, density: f64, yuma3_liquid: bool, seed: u64) -> EpochInput {
    mycel_benches::yuma_network(n, density, yuma3_liquid, seed)
}

fn bench_epoch(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    for &(n, density, label) in &[
        (256usize, 1.0, "256 dense"),
        (1024, 1.0, "1024 dense"),
        (4096, 0.02, "4096 2%"),
    ] {
        for &(liquid, path) in &[(false, "yuma2"), (true, "yuma3+liquid")] {
            let input = network(n, density, liquid, 42 + n as u64);
            // The float re-derivation must describe the same epoch before its time means anything.
            let fx = epoch(&input).expect("valid input");
            let fl = float::epoch(&input);
            let worst = fx
                .incentive
                .iter()
                .zip(&fl.incentive)
                .map(|(a, b)| (*a as f64 / 4_294_967_296.0 - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-6,
                "{label} {path}: float and fixed disagree by {worst}"
            );
            group.bench_with_input(
                BenchmarkId::new(format!("fixed {path}"), label),
                &input,
                |b, inp| b.iter(|| epoch(black_box(inp)).expect("valid input")),
            );
            let mut ws = EpochWorkspace::new();
            assert_eq!(epoch_with(&mut ws, &input).expect("valid input"), &fx);
            group.bench_with_input(
                BenchmarkId::new(format!("fixed reused workspace {path}"), label),
                &input,
                |b, inp| {
                    b.iter(|| {
                        epoch_with(&mut ws, black_box(inp))
                            .expect("valid input")
                            .incentive
                            .len()
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("float64 {path}"), label),
                &input,
                |b, inp| b.iter(|| float::epoch(black_box(inp))),
            );
        }
    }
    group.finish();
}

/// The chain's sparse epoch on the same shapes (YUMA.md section 9, medians, ms, measured on
/// another machine): printed as a reference, never divided by this run's figures.
fn chain_ms(n: usize, liquid: bool) -> f64 {
    match (n, liquid) {
        (256, false) => 17.4,
        (256, true) => 44.0,
        (1024, false) => 222.0,
        (1024, true) => 655.0,
        (_, false) => 1170.0,
        (_, true) => 1330.0,
    }
}

fn min_median(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = std::time::Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}

fn best_of() {
    println!(
        "| case | fixed min / median (ms) | reused workspace min / median (ms) | float64 min / median (ms) | fixed / float64 (min, median) | reused / float64 (min, median) | chain, other machine (YUMA.md §9 median, ms; reference only) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &(n, density, label, runs) in &[
        (256usize, 1.0, "256 dense", 40),
        (1024, 1.0, "1024 dense", 6),
        (4096, 0.02, "4096 2%", 12),
    ] {
        for &(liquid, path) in &[(false, "yuma2"), (true, "yuma3+liquid")] {
            if let Ok(only) = std::env::var("EMISSION_ONLY")
                && !format!("{label} {path}").contains(only.as_str())
            {
                continue;
            }
            let runs = runs
                * std::env::var("EMISSION_REPEAT")
                    .ok()
                    .and_then(|r| r.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
            let input = network(n, density, liquid, 42 + n as u64);
            let (fmin, fmed) = min_median(runs, || {
                black_box(epoch(black_box(&input)).expect("valid input"));
            });
            let mut ws = EpochWorkspace::new();
            let (wmin, wmed) = min_median(runs, || {
                black_box(epoch_with(&mut ws, black_box(&input)).expect("valid input"));
            });
            let (gmin, gmed) = min_median(runs, || {
                black_box(float::epoch(black_box(&input)));
            });
            let chain = chain_ms(n, liquid);
            println!(
                "| {label} {path} | {fmin:.2} / {fmed:.2} | {wmin:.2} / {wmed:.2} | {gmin:.2} / {gmed:.2} | {:.2}, {:.2} | {:.2}, {:.2} | {chain} |",
                fmin / gmin,
                fmed / gmed,
                wmin / gmin,
                wmed / gmed
            );
        }
    }
}

criterion_group!(benches, bench_epoch);

fn main() {
    if std::env::var_os("EMISSION_BEST_OF").is_some() {
        best_of();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Scaling sweeps (benches/README.md, Scaling section): how the cost grows with the work.
//!
//! * `emission`: the Yuma epoch (`epoch`, fresh workspace, and `epoch_with`, reused workspace)
//!   for n = 256 … 4096 uids, full-dense and 2 % dense, Yuma 2 and Yuma 3 + liquid alpha, on
//!   the random networks of benches/benches/emission.rs (`mycel_benches::yuma_network`);
//! * `receipts`: receipts verified per second against the batch size (1 … 4096), the
//!   cofactored batch verifier (`verify_signed_batch_with_seed`) interleaved round by round
//!   with verifying the same receipts one at a time, for receipts signed by 16 miners (as in
//!   benches/benches/receipts.rs: few distinct keys, merged in the batch equation) and by as many
//!   miners as receipts (as a validator's batch in `mycel simulate`: one receipt per miner).
//!
//! Prints one JSON object per line (every timed sample, in milliseconds), which
//! benches/scaling.py turns into the README's tables and charts. benches/scaling.sh runs it.
//!
//! Run: `cargo bench -p mycel-benches --bench scaling -- emission|receipts [--quick]`
//! (`--quick`: the smallest sizes only, one round, to check the harness.)

use core::hint::black_box;
use std::time::Instant;

use mycel_benches::{signed_receipts, yuma_network};
use mycel_protocol::emission::{EpochWorkspace, epoch, epoch_with};
use mycel_protocol::ids::SigningKey;
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::sign::verify_signed_batch_with_seed;

/// Milliseconds since `t`.
fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// CPU time of the calling thread, milliseconds (user + system; it does not advance while the
/// thread waits for a core, unlike wall time on a shared machine).
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// One timed call: (wall ms, thread CPU ms).
fn timed(mut f: impl FnMut()) -> (f64, f64) {
    let c = thread_cpu_ms();
    let t = Instant::now();
    f();
    let wall = ms(t);
    (wall, thread_cpu_ms() - c)
}

/// A JSON array of numbers (finite by construction: elapsed times).
fn json_list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
    format!("[{}]", items.join(","))
}

/// Times `f` back to back after one untimed warm-up call: at least `min_runs` runs and at least
/// `budget_ms` of timed work, at most `max_runs` runs. Returns (wall ms, thread CPU ms) samples.
fn samples(
    min_runs: usize,
    max_runs: usize,
    budget_ms: f64,
    mut f: impl FnMut(),
) -> (Vec<f64>, Vec<f64>) {
    f();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut total = 0.0;
    while wall.len() < min_runs || (total < budget_ms && wall.len() < max_runs) {
        let (w, c) = timed(&mut f);
        total += w;
        wall.push(w);
        cpu.push(c);
    }
    (wall, cpu)
}

fn emission(quick: bool) {
    let sizes: &[usize] = if quick {
        &[256]
    } else {
        &[256, 512, 1024, 2048, 4096]
    };
    let (min_runs, max_runs, budget) = if quick { (2, 2, 0.0) } else { (5, 30, 1500.0) };
    for &n in sizes {
        for (density, dlabel) in [(1.0, "dense"), (0.02, "2%")] {
            for (liquid, path) in [(false, "yuma2"), (true, "yuma3+liquid")] {
                // The seed of benches/benches/emission.rs (42 + n), so the shared sizes are
                // the same networks.
                let input = yuma_network(n, density, liquid, 42 + n as u64);
                let entries: usize = input.weights.iter().map(Vec::len).sum();
                let fresh = samples(min_runs, max_runs, budget, || {
                    black_box(epoch(black_box(&input)).expect("valid input"));
                });
                let mut ws = EpochWorkspace::new();
                let reused = samples(min_runs, max_runs, budget, || {
                    black_box(epoch_with(&mut ws, black_box(&input)).expect("valid input"));
                });
                for (func, (wall, cpu)) in [("epoch", &fresh), ("epoch_with", &reused)] {
                    println!(
                        "{{\"series\":\"emission\",\"n\":{n},\"density\":\"{dlabel}\",\"path\":\"{path}\",\"fn\":\"{func}\",\"weight_entries\":{entries},\"samples_ms\":{},\"cpu_ms\":{}}}",
                        json_list(wall),
                        json_list(cpu)
                    );
                }
            }
        }
    }
}

/// `count` receipts for one task, signed round-robin by `signers` seeded miners (as in
/// benches/benches/receipts.rs).
fn receipts(count: usize, signers: usize) -> Vec<SignedReceipt> {
    let miners: Vec<SigningKey> = (0..signers)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            SigningKey::from_seed(&seed)
        })
        .collect();
    signed_receipts(&miners, count).expect("valid receipts")
}

fn receipts_series(quick: bool) {
    let sizes: &[usize] = if quick {
        &[1, 4]
    } else {
        &[1, 4, 16, 64, 256, 1024, 4096]
    };
    let largest = sizes.iter().copied().max().unwrap_or(1);
    for (keys, label) in [(16usize, "16 signers"), (largest, "one signer per receipt")] {
        let all = receipts(largest, keys);
        for &b in sizes {
            let sub = &all[..b];
            // 16,384 / b rounds (at least 5, at most 400) per batch size, each round
            // timing the one-at-a-time loop and then the batch on the same receipts (A B A B),
            // so load that drifts during the run falls on both alike.
            let rounds = if quick { 1 } else { (16_384 / b).clamp(5, 400) };
            // One untimed round of each first.
            for r in sub {
                r.verify().expect("valid");
            }
            assert!(
                verify_signed_batch_with_seed(sub, &[1; 32])
                    .iter()
                    .all(Result::is_ok)
            );
            let (mut single, mut batch, mut single_cpu, mut batch_cpu) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (w, c) = timed(|| {
                    for r in sub {
                        black_box(r).verify().expect("valid");
                    }
                });
                single.push(w);
                single_cpu.push(c);
                let mut ok = false;
                let (w, c) = timed(|| {
                    let results = verify_signed_batch_with_seed(black_box(sub), &[1; 32]);
                    ok = results.iter().all(Result::is_ok);
                });
                assert!(ok);
                batch.push(w);
                batch_cpu.push(c);
            }
            println!(
                "{{\"series\":\"receipts\",\"signers\":\"{label}\",\"distinct_keys\":{},\"batch\":{b},\"single_loop_ms\":{},\"batch_ms\":{},\"single_loop_cpu_ms\":{},\"batch_cpu_ms\":{}}}",
                keys.min(b),
                json_list(&single),
                json_list(&batch),
                json_list(&single_cpu),
                json_list(&batch_cpu)
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let series: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    if series.is_empty() {
        eprintln!("usage: scaling emission|receipts [--quick]");
        std::process::exit(2);
    }
    for s in series {
        match s {
            "emission" => emission(quick),
            "receipts" => receipts_series(quick),
            other => {
                eprintln!("unknown series {other:?}: emission or receipts");
                std::process::exit(2);
            }
        }
    }
}

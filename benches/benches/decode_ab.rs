//! Decode (M = 1) routes alternated **call by call in one process**: the instrument behind
//! benches/README.md's stop-34 decode findings (ggml section, Zen 4 subsection).
//!
//! On the shared VMs of this project a separate-process A/B of two decode routes swings by more
//! than the difference under test (each process gets its own physical pages; the same-run read
//! bandwidth of one setting ranged over 23–51 GB/s across processes). Here every route runs once
//! per iteration, each call on its own cold copy of the weights (more than 300 MB of copies
//! cycled), so slow and fast phases of the machine hit every route alike; the rotation starts
//! one route later every iteration, because in a fixed order the route that runs first is
//! measurably slower (3–6 % for the very same loop). Every output is compared bit for bit with
//! the first call's (the kernels' determinism contract): a difference aborts the run, a time
//! never does.
//!
//! Routes (all public API): `auto` (`matmul`, `Backend::Auto`), `avx2` (`Backend::Avx2`),
//! `avx512` (`matmul_q8_kernel` with `CpuKernel::Avx512Vnni`, skipped without AVX-512 VNNI),
//! `scalar`, and `packed` (`matmul_packed`, `Backend::Auto`). Every route quantizes the
//! activations inside its timed call.
//!
//! `cargo bench -p mycel-benches --bench decode_ab`; environment: `MYCEL_AB_FORMAT` (`q8_0`,
//! `q4_0` or `both`, default both), `MYCEL_AB_N` (default 4096; K is 4096), `MYCEL_AB_THREADS`
//! (default `1,2`), `MYCEL_AB_ROUTES` (default `auto,avx2,avx512,packed`), `MYCEL_AB_CALLS`
//! (calls per route, default 200). Prints, per case, each route's fastest / quartile / median
//! call in GB/s of weights and its median against the first route's, and the same-process read
//! bandwidth of the weight copies.
use core::hint::black_box;
use std::time::Instant;

use mycel_benches::{packed_copies, read_bandwidth_of};
use mycel_kernels::Backend;
use mycel_kernels::exec::generate_weights;
use mycel_kernels::matmul::{CpuKernel, Weights, matmul, matmul_q8_kernel};
use mycel_kernels::packed::{PackedWeights, matmul_packed};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{QuantFormat, quantize_q8_0};

const K: usize = 4096;

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// One route's call on copy `i`: its output, or why it could not run.
fn call(
    route: &str,
    format: QuantFormat,
    plain: &[u8],
    packed: &PackedWeights,
    x: &[f32],
    threads: usize,
) -> Result<Vec<f32>, String> {
    let w = Weights::from_bytes(format, plain, K).map_err(|e| e.to_string())?;
    let out = match route {
        "auto" => matmul(x, 1, &w, Backend::Auto, threads),
        "avx2" => matmul(x, 1, &w, Backend::Avx2, threads),
        "scalar" => matmul(x, 1, &w, Backend::Scalar, threads),
        "avx512" => {
            let xq = quantize_q8_0(x, K).map_err(|e| e.to_string())?;
            matmul_q8_kernel(&xq, 1, &w, CpuKernel::Avx512Vnni, threads)
        }
        "packed" => matmul_packed(x, 1, packed, Backend::Auto, threads),
        other => return Err(format!("unknown route {other:?}")),
    };
    out.map_err(|e| e.to_string())
}

fn main() {
    let formats: Vec<QuantFormat> = match env_or("MYCEL_AB_FORMAT", "both").as_str() {
        "q8_0" => vec![QuantFormat::Q8_0],
        "q4_0" => vec![QuantFormat::Q4_0],
        _ => vec![QuantFormat::Q8_0, QuantFormat::Q4_0],
    };
    let n: usize = env_or("MYCEL_AB_N", "4096").parse().unwrap_or(4096).max(8);
    let threads: Vec<usize> = env_or("MYCEL_AB_THREADS", "1,2")
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    let calls: usize = env_or("MYCEL_AB_CALLS", "200")
        .parse()
        .unwrap_or(200)
        .max(4);
    let wanted = env_or("MYCEL_AB_ROUTES", "auto,avx2,avx512,packed");
    let avx512 = std::is_x86_feature_detected!("avx512vnni");
    let routes: Vec<&str> = wanted
        .split(',')
        .map(str::trim)
        .filter(|r| *r != "avx512" || avx512)
        .collect();
    println!(
        "CPU: {}; K {K}, N {n}; {calls} calls per route; routes {routes:?}",
        mycel_benches::cpu_line()
    );
    let x = match generate_uniform(&[8; 32], 0, K) {
        Ok(x) => x,
        Err(e) => return println!("activations: {e}"),
    };
    for format in formats {
        let bytes = match format.matrix_bytes(n, K) {
            Ok(b) => b,
            Err(e) => return println!("{format:?}: {e}"),
        };
        let one = match generate_weights(&[7; 32], format, n, K) {
            Ok(w) => w,
            Err(e) => return println!("weights: {e}"),
        };
        // Enough copies that a call never finds its weights in the 32 MiB-class L3.
        let copies = (300usize << 20).div_ceil(bytes) + 1;
        let plain: Vec<Vec<u8>> = (0..copies).map(|_| one.clone()).collect();
        let packed = packed_copies(format, &plain, K);
        if packed.len() != copies {
            return println!("packed weights: allocation refused");
        }
        for &t in &threads {
            let bw = read_bandwidth_of(&plain, t, 3);
            let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(calls); routes.len()];
            let mut reference: Option<Vec<f32>> = None;
            for i in 0..calls {
                // The rotation starts one route later every call: no route is always first (the
                // first call after another route's ran measurably slower in a fixed order).
                for j in 0..routes.len() {
                    let r = (i + j) % routes.len();
                    let route = routes[r];
                    let c = (i * routes.len() + j) % copies;
                    let start = Instant::now();
                    let out = black_box(call(route, format, &plain[c], &packed[c], &x, t));
                    let dt = start.elapsed().as_secs_f64();
                    let out = match out {
                        Ok(o) => o,
                        Err(e) => return println!("{route}: {e}"),
                    };
                    match &reference {
                        None => reference = Some(out),
                        Some(want) => {
                            let same = want.len() == out.len()
                                && want
                                    .iter()
                                    .zip(&out)
                                    .all(|(a, b)| a.to_bits() == b.to_bits());
                            assert!(same, "{route}: output bits differ from the first call's");
                        }
                    }
                    times[r].push(dt);
                }
            }
            println!(
                "\n{format:?}, {t} thread(s): read bandwidth of the copies, same process: best {:.1}, median {:.1} GB/s",
                bw.best, bw.median
            );
            println!(
                "| route | fastest | p25 | median | p75 (GB/s) | median ÷ {}'s |",
                routes[0]
            );
            println!("|---|---|---|---|---|---|");
            let gbs = |s: f64| bytes as f64 / s / 1e9;
            let mut first_median = None;
            for (route, ts) in routes.iter().zip(times.iter_mut()) {
                ts.sort_by(f64::total_cmp);
                let q = |f: f64| ts[((ts.len() - 1) as f64 * f) as usize];
                let median = gbs(q(0.5));
                let base = *first_median.get_or_insert(median);
                println!(
                    "| {route} | {:.1} | {:.1} | {median:.1} | {:.1} | {:.2} |",
                    gbs(q(0.0)),
                    gbs(q(0.25)),
                    gbs(q(0.75)),
                    median / base
                );
            }
        }
    }
}

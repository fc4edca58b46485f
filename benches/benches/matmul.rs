//! Quantized matmul: mycel vs candle-core's `QMatMul` (feature `peers`) in the same run, plus
//! this machine's streaming read bandwidth over the very weight copies decode cycles through,
//! measured in the same process right before mycel's decode case.
//!
//! Shapes (kernels issue): K = 4096, N ∈ {4096, 11008}, M ∈ {1, 16, 64, 512}, weights Q4_0 and
//! Q8_0, activations f32 (both libraries quantize them to Q8_0 inside the timed call), 2 threads.
//! Decode (M = 1) uses *cold* weights: distinct copies totalling more than 256 MB are cycled
//! through, so every call streams its weights from DRAM; it is reported in GB/s of weights and
//! as a share of the read bandwidth `mycel_benches::read_bandwidth_of` measures over the same
//! copies with the same thread count (the median call over the median copy, and the fastest
//! call over the fastest copy), as in the ggml bench. Prefill is reported in GFLOP/s
//! (2·M·N·K per call) and as the ratio to candle. Decode also runs on the packed layout
//! (`mycel_kernels::packed`, prepared once): its own copies, probed the same way.
//!
//! Measured with the default compiler flags, as users build it: mycel picks AVX2 / AVX-VNNI /
//! AVX-512 VNNI at run time; candle-core 0.11 picks its AVX-512 VNNI Q8_0 path at run time but
//! its other SIMD paths (Q4_0 included) at compile time, so without
//! `RUSTFLAGS="-C target-cpu=native"` those run candle's portable code:
//!
//! `cargo bench -p mycel-benches --features peers --bench matmul` (each case: 0.3 s warm-up, 2 s of
//! samples, set in the code)
//!
//! A summary table (medians of the per-call times criterion's samples measured) is printed at
//! the end. `MYCEL_BENCH_QUICK=1` restricts the run to N = 4096.
use core::hint::black_box;
use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use criterion::{Criterion, SamplingMode, Throughput};
use mycel_benches::{Bandwidth, packed_copies, read_bandwidth_of};
use mycel_kernels::Backend;
use mycel_kernels::exec::generate_weights;
use mycel_kernels::matmul::{Weights, matmul};
use mycel_kernels::packed::{PackedWeights, matmul_packed};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::QuantFormat;

const K: usize = 4096;
const THREADS: usize = 2;
const COLD_BYTES: usize = 256 << 20;

/// Per-call seconds recorded by every timed closure, keyed by benchmark id.
static SAMPLES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(key: &str, per_call: f64) {
    if let Ok(mut s) = SAMPLES.lock() {
        s.entry(key.to_string()).or_default().push(per_call);
    }
}

fn median(key: &str) -> Option<f64> {
    let s = SAMPLES.lock().ok()?;
    let mut v = s.get(key)?.clone();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn fastest(key: &str) -> Option<f64> {
    let s = SAMPLES.lock().ok()?;
    s.get(key)?.iter().copied().reduce(f64::min)
}

/// The read bandwidth over each decode case's weight copies, keyed like [`SAMPLES`].
static BANDWIDTH: Mutex<BTreeMap<String, Bandwidth>> = Mutex::new(BTreeMap::new());

struct Case {
    format: QuantFormat,
    n: usize,
    m: usize,
}

impl Case {
    fn key(&self, who: &str) -> String {
        format!(
            "matmul/{}/n{}/m{}/{who}",
            self.format.name(),
            self.n,
            self.m
        )
    }
    fn flops(&self) -> f64 {
        2.0 * (self.m * self.n * K) as f64
    }
}

#[cfg(feature = "peers")]
mod candle {
    use candle_core::quantized::{GgmlDType, QMatMul, ggml_file::qtensor_from_ggml};
    use candle_core::{Device, Module, Tensor};
    use mycel_kernels::quant::QuantFormat;

    pub struct Peer {
        mats: Vec<QMatMul>,
        x: Tensor,
    }

    impl Peer {
        pub fn new(
            format: QuantFormat,
            copies: &[Vec<u8>],
            n: usize,
            k: usize,
            x: &[f32],
            m: usize,
        ) -> candle_core::Result<Peer> {
            let dtype = match format {
                QuantFormat::Q8_0 => GgmlDType::Q8_0,
                QuantFormat::Q4_0 => GgmlDType::Q4_0,
            };
            let mats = copies
                .iter()
                .map(|b| {
                    QMatMul::from_qtensor(qtensor_from_ggml(dtype, b, vec![n, k], &Device::Cpu)?)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            let x = Tensor::from_slice(x, (m, k), &Device::Cpu)?;
            Ok(Peer { mats, x })
        }

        pub fn len(&self) -> usize {
            self.mats.len()
        }

        pub fn run(&self, i: usize) -> candle_core::Result<Vec<f32>> {
            let y = self.mats[i % self.mats.len()].forward(&self.x)?;
            y.flatten_all()?.to_vec1::<f32>()
        }
    }
}

fn bench_case(c: &mut Criterion, case: &Case) {
    let wbytes = case.format.matrix_bytes(case.n, K).unwrap_or(0);
    let copies = if case.m == 1 {
        COLD_BYTES.div_ceil(wbytes) + 1
    } else {
        1
    };
    let one = generate_weights(&[7; 32], case.format, case.n, K).unwrap_or_default();
    let ws: Vec<Vec<u8>> = (0..copies).map(|_| one.clone()).collect();
    let x = generate_uniform(&[8; 32], 0, case.m * K).unwrap_or_default();

    let mut g = c.benchmark_group(format!(
        "matmul/{}/n{}/m{}",
        case.format.name(),
        case.n,
        case.m
    ));
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    if case.m == 1 {
        g.throughput(Throughput::Bytes(wbytes as u64));
    } else {
        g.throughput(Throughput::Elements(case.flops() as u64));
    }

    let key = case.key("mycel");
    if case.m == 1 {
        // The same copies, the same thread count, right before mycel's turn.
        let bw = read_bandwidth_of(&ws, THREADS, 2);
        if let Ok(mut b) = BANDWIDTH.lock() {
            b.insert(key.clone(), bw);
        }
    }
    let mut next = 0usize;
    let mut ours_first = Vec::new();
    g.bench_function("mycel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let Ok(w) = Weights::from_bytes(case.format, &ws[next % copies], K) else {
                    break;
                };
                next += 1;
                let t = Instant::now();
                let y = matmul(&x, case.m, &w, Backend::Auto, THREADS);
                let dt = t.elapsed();
                total += dt;
                record(&key, dt.as_secs_f64());
                if ours_first.is_empty() {
                    ours_first = y.unwrap_or_default();
                } else {
                    black_box(y).ok();
                }
            }
            total
        })
    });

    if case.m == 1 {
        // The packed decode layout (`mycel_kernels::packed`): its own copies, prepared once
        // before timing (same byte count), the probe over those copies right before its turn.
        let packed: Vec<PackedWeights> = packed_copies(case.format, &ws, K);
        let bytes: Vec<&[u8]> = packed.iter().map(PackedWeights::as_bytes).collect();
        let pkey = case.key("packed");
        let bw = read_bandwidth_of(&bytes, THREADS, 2);
        if let Ok(mut b) = BANDWIDTH.lock() {
            b.insert(pkey.clone(), bw);
        }
        let mut next = 0usize;
        g.bench_function("mycel packed", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let Some(w) = packed.get(next % packed.len().max(1)) else {
                        break;
                    };
                    next += 1;
                    let t = Instant::now();
                    let y = matmul_packed(&x, case.m, w, Backend::Auto, THREADS);
                    let dt = t.elapsed();
                    total += dt;
                    record(&pkey, dt.as_secs_f64());
                    black_box(y).ok();
                }
                total
            })
        });
    }

    #[cfg(feature = "peers")]
    {
        match candle::Peer::new(case.format, &ws, case.n, K, &x, case.m) {
            Ok(peer) => {
                // Same problem: candle's result must be close to ours (not bit-equal: it sums
                // in a different order).
                if let Ok(theirs) = peer.run(0) {
                    let scale = ours_first
                        .iter()
                        .fold(0f32, |a, v| a.max(v.abs()))
                        .max(1e-30);
                    let diff = ours_first
                        .iter()
                        .zip(&theirs)
                        .fold(0f32, |a, (p, q)| a.max((p - q).abs()));
                    eprintln!(
                        "{}: max |mycel - candle| / max |y| = {:.2e}",
                        case.key(""),
                        diff / scale
                    );
                }
                let key = case.key("candle");
                let mut next = 0usize;
                g.bench_function("candle", |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let t = Instant::now();
                            let y = peer.run(next);
                            let dt = t.elapsed();
                            next = (next + 1) % peer.len();
                            total += dt;
                            record(&key, dt.as_secs_f64());
                            black_box(y).ok();
                        }
                        total
                    })
                });
            }
            Err(e) => eprintln!("candle setup failed: {e}"),
        }
    }
    g.finish();
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: set before any thread exists (candle's rayon pool starts later).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", THREADS.to_string()) };
    }
    let mut c = Criterion::default().configure_from_args();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("load average before: {}", load.trim());

    let quick = std::env::var_os("MYCEL_BENCH_QUICK").is_some();
    let mut cases = Vec::new();
    for format in [QuantFormat::Q4_0, QuantFormat::Q8_0] {
        for n in [4096, 11008] {
            if quick && n != 4096 {
                continue;
            }
            for m in [1, 16, 64, 512] {
                cases.push(Case { format, n, m });
            }
        }
    }
    for case in &cases {
        bench_case(&mut c, case);
    }
    c.final_summary();

    println!();
    println!(
        "decode: read bandwidth over the case's own weight copies, {THREADS} threads (`read_bandwidth_of`, fastest / median copy)"
    );
    println!();
    println!(
        "| weights | N | M | mycel | candle | mycel / candle | read bandwidth | mycel / bandwidth (median call / median copy; fastest / fastest) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for case in &cases {
        let Some(ours) = median(&case.key("mycel")) else {
            continue;
        };
        let theirs = median(&case.key("candle"));
        let wbytes = case.format.matrix_bytes(case.n, K).unwrap_or(0) as f64;
        let bw = BANDWIDTH
            .lock()
            .ok()
            .and_then(|b| b.get(&case.key("mycel")).copied());
        let (o, t, bwcol, share) = if case.m == 1 {
            let g = wbytes / ours / 1e9;
            let best = fastest(&case.key("mycel")).map_or(f64::NAN, |t| wbytes / t / 1e9);
            (
                format!("{g:.1} GB/s ({:.1} GFLOP/s)", case.flops() / ours / 1e9),
                theirs.map(|t| format!("{:.1} GB/s", wbytes / t / 1e9)),
                bw.map_or("–".into(), |b| {
                    format!("{:.1} / {:.1} GB/s", b.best, b.median)
                }),
                bw.map_or("–".into(), |b| {
                    format!(
                        "{:.0} % ({:.0} %)",
                        100.0 * g / b.median,
                        100.0 * best / b.best
                    )
                }),
            )
        } else {
            (
                format!("{:.1} GFLOP/s", case.flops() / ours / 1e9),
                theirs.map(|t| format!("{:.1} GFLOP/s", case.flops() / t / 1e9)),
                "–".to_string(),
                "–".to_string(),
            )
        };
        let ratio = theirs.map_or("–".into(), |t| format!("{:.2}×", t / ours));
        println!(
            "| {} | {} | {} | {o} | {} | {ratio} | {bwcol} | {share} |",
            case.format.name(),
            case.n,
            case.m,
            t.unwrap_or_else(|| "– (no `peers`)".into())
        );
        if case.m == 1
            && let Some(p) = median(&case.key("packed"))
        {
            let g = wbytes / p / 1e9;
            let best = fastest(&case.key("packed")).map_or(f64::NAN, |t| wbytes / t / 1e9);
            let bw = BANDWIDTH
                .lock()
                .ok()
                .and_then(|b| b.get(&case.key("packed")).copied());
            println!(
                "| {} | {} | 1 (packed) | {g:.1} GB/s | – | – | {} | {} |",
                case.format.name(),
                case.n,
                bw.map_or("–".into(), |b| format!(
                    "{:.1} / {:.1} GB/s",
                    b.best, b.median
                )),
                bw.map_or("–".into(), |b| format!(
                    "{:.0} % ({:.0} %)",
                    100.0 * g / b.median,
                    100.0 * best / b.best
                )),
            );
        }
    }
}

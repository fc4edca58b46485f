//! mycel against ggml's CPU backend (the engine inside llama.cpp), interleaved in one run.
//!
//! ggml runs in child processes built from ggml's own sources by `benches/peers/ggml/build.sh`
//! (llama.cpp's default CPU flags; see that script): `target/ggml-peer/ggml-peer`, llama.cpp's
//! native build for this CPU, and `target/ggml-peer/ggml-peer-avx2`, llama.cpp's AVX2-only build
//! (no AVX-512), or the paths in `MYCEL_GGML_PEER` / `MYCEL_GGML_PEER_AVX2`. A child keeps its
//! setup between requests, so the sides take turns: every case runs `rounds` rounds, and each
//! round times mycel on its best path (`Backend::Auto`), ggml native, mycel forced to plain AVX2
//! (`Backend::Avx2`) and ggml's AVX2 build, one after the other (the order reversed on odd
//! rounds), for about 0.3 s each (0.15 s in quick mode). mycel's best path is compared with ggml native, its
//! AVX2 path with ggml's AVX2 build (what both run on an AVX2-only CPU). A missing driver leaves
//! its columns empty.
//!
//! Matmul (`ggml_mul_mat` through a graph): weights N × K = 4096 × 4096 and 11008 × 4096 in Q8_0
//! and Q4_0, activations M × K in f32 quantized to Q8_0 inside every timed call on both sides,
//! M = 1 (decode; distinct weight copies of more than 256 MB in all are cycled through, so the
//! weights come from DRAM), 16, 64 and 512; 1 and 2 threads. Decode is reported in GB/s of
//! weights and as a share of the read bandwidth (`mycel_benches::read_bandwidth_of`) measured
//! in the same process right before each contender's turn, over the same weight copies with the
//! same thread count (one stream and eight lockstep streams per thread, two passes each, every
//! copy timed on its own): the round's median call over the median copy, and its fastest call
//! over the fastest copy, range over the rounds; prefill in GFLOP/s (2·M·N·K per call).
//!
//! Attention (`ggml_flash_attn_ext`): 32 query heads, 8 KV heads, head dim 128, causal; prefill
//! S = 2048 and decode (one query) at kv 8192. ggml takes Q in f32 and K, V in f16 (llama.cpp's
//! default KV cache); mycel takes f16 Q, K, V (same K/V bytes), in fast and verifiable mode.
//! mycel's attention has no AVX-512 path, so its best path is its AVX2 path.
//!
//! Every ratio is ggml's time over mycel's (> 1: mycel faster), per round (median of that
//! round's calls on each side; the range over rounds is printed), and over the whole run as
//! minimum against minimum and median against median.
//!
//! ```text
//! benches/peers/ggml/build.sh
//! cargo bench -p mycel-benches --bench ggml                       # everything (~10 min)
//! MYCEL_BENCH_QUICK=1 cargo bench -p mycel-benches --bench ggml   # 2 threads, N = 4096, M 1/64, decode attention
//! ```
//! `MYCEL_BENCH_ROUNDS` sets the number of rounds (default 3); `MYCEL_BENCH_FILTER=TEXT` runs only
//! the cases whose key contains TEXT (keys: `q8_0 n4096 m64 t2`, `attention decode kv 8192 t2`,
//! `attention prefill S 2048 t1`), e.g. to profile one case under `perf record`. Before each round the bench
//! waits up to `MYCEL_BENCH_IDLE_WAIT` seconds (default 10; 0: no wait) for the machine to be at
//! most 10 % busy over half a second, and counts the rounds that started busy. 2-thread ggml runs need
//! `OMP_PROC_BIND=true` on these VMs (set for the child unless already set).
use core::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use mycel_benches::{Bandwidth, packed_copies, read_bandwidth_of};
use mycel_kernels::Backend;
use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::exec::generate_weights;
use mycel_kernels::matmul::{Weights, matmul};
use mycel_kernels::packed::{PackedWeights, matmul_packed};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::QuantFormat;

const K: usize = 4096;
const COLD_BYTES: usize = 256 << 20;

/// The ggml child process.
struct Ggml {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Ggml {
    /// Start the driver named by the environment variable `var`, else `target/ggml-peer/<file>`.
    fn start(var: &str, file: &str) -> Option<Ggml> {
        let path = std::env::var_os(var).map_or_else(
            || {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/ggml-peer")
                    .join(file)
            },
            std::path::PathBuf::from,
        );
        let mut cmd = Command::new(&path);
        if std::env::var_os("OMP_PROC_BIND").is_none() {
            cmd.env("OMP_PROC_BIND", "true");
        }
        let mut child = match cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "no ggml peer at {} ({e}): run benches/peers/ggml/build.sh; its columns stay empty",
                    path.display()
                );
                return None;
            }
        };
        let stdin = child.stdin.take()?;
        let stdout = BufReader::new(child.stdout.take()?);
        Some(Ggml {
            child,
            stdin,
            stdout,
        })
    }

    /// Send one request, return the answer's words after "ok"/"info" (None on "err" or EOF).
    fn ask(&mut self, line: &str) -> Option<Vec<String>> {
        writeln!(self.stdin, "{line}").ok()?;
        self.stdin.flush().ok()?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).ok()?;
        let mut words = answer.split_whitespace().map(str::to_string);
        match words.next().as_deref() {
            Some("ok" | "info") => Some(words.collect()),
            _ => {
                eprintln!("ggml peer: {} -> {}", line, answer.trim());
                None
            }
        }
    }
}

impl Drop for Ggml {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// The two ggml builds: llama.cpp's native build for this CPU, and its AVX2-only build (the
/// peer of mycel's forced AVX2 path).
struct Peers {
    native: Option<Ggml>,
    avx2: Option<Ggml>,
}

impl Peers {
    fn get(&mut self, avx2: bool) -> Option<&mut Ggml> {
        if avx2 {
            self.avx2.as_mut()
        } else {
            self.native.as_mut()
        }
    }
}

/// Per-call times of one contender, per round.
#[derive(Default)]
struct Times {
    rounds: Vec<Vec<f64>>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Times {
    fn all(&self) -> Vec<f64> {
        self.rounds.iter().flatten().copied().collect()
    }
    fn min(&self) -> f64 {
        self.all().into_iter().fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        median(&self.all())
    }
    fn round_medians(&self) -> Vec<f64> {
        self.rounds.iter().map(|r| median(r)).collect()
    }
}

/// ggml time over mycel time per round (> 1: mycel faster): "lo–hi".
fn ratio_range(ours: &Times, theirs: &Times) -> String {
    let r: Vec<f64> = ours
        .round_medians()
        .iter()
        .zip(theirs.round_medians())
        .map(|(o, t)| t / o)
        .collect();
    let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if r.is_empty() {
        "–".into()
    } else {
        format!("{lo:.2}–{hi:.2}")
    }
}

/// Call `f` until `seconds` have passed (at least `min_calls` times), returning per-call times.
fn timed(seconds: f64, min_calls: usize, mut f: impl FnMut() -> f64) -> Vec<f64> {
    let start = Instant::now();
    let mut v = Vec::new();
    while v.len() < min_calls || start.elapsed().as_secs_f64() < seconds {
        v.push(f());
    }
    v
}

struct Config {
    /// Only cases whose key (`q8_0 n4096 m64 t2`, `attention decode kv 8192 t2`) contains this.
    filter: Option<String>,
    rounds: usize,
    round_seconds: f64,
    /// Longest wait for a quiet machine before a round (0: do not wait).
    idle_wait_seconds: f64,
}

/// (busy, total) jiffies of all CPUs from /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Wait (at most `cfg.idle_wait_seconds`) until the machine was at most 10 % busy over 0.5 s,
/// so a round tends to start in a quiet moment of the shared machine. Returns whether it was.
fn wait_for_quiet(cfg: &Config) -> bool {
    if cfg.idle_wait_seconds <= 0.0 {
        return true;
    }
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < cfg.idle_wait_seconds {
        let Some((b0, t0)) = cpu_jiffies() else {
            return true;
        };
        std::thread::sleep(core::time::Duration::from_millis(500));
        let Some((b1, t1)) = cpu_jiffies() else {
            return true;
        };
        if t1 > t0 && (b1 - b0) as f64 <= 0.10 * (t1 - t0) as f64 {
            return true;
        }
    }
    false
}

/// Rounds that started on a busy machine (the wait for quiet timed out), over the whole run.
static BUSY_ROUNDS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static ALL_ROUNDS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn start_round(cfg: &Config) {
    use core::sync::atomic::Ordering::Relaxed;
    ALL_ROUNDS.fetch_add(1, Relaxed);
    if !wait_for_quiet(cfg) {
        BUSY_ROUNDS.fetch_add(1, Relaxed);
    }
}

fn matmul_case(
    cfg: &Config,
    peers: &mut Peers,
    format: QuantFormat,
    n: usize,
    m: usize,
    threads: usize,
) {
    let name = format.name();
    if let Some(f) = &cfg.filter
        && !format!("{name} n{n} m{m} t{threads}").contains(f.as_str())
    {
        return;
    }
    let wbytes = format.matrix_bytes(n, K).unwrap_or(0);
    let cold = m == 1;
    let copies = if cold {
        COLD_BYTES.div_ceil(wbytes.max(1)) + 1
    } else {
        1
    };
    let one = generate_weights(&[7; 32], format, n, K).unwrap_or_default();
    let ws: Vec<Vec<u8>> = (0..copies).map(|_| one.clone()).collect();
    // Decode also runs on the packed layout (`mycel_kernels::packed`): its own copies (as many,
    // the same byte count), prepared once before timing, as a model loader would.
    let packed: Vec<PackedWeights> = if cold {
        packed_copies(format, &ws, K)
    } else {
        Vec::new()
    };
    let packed_bytes: Vec<&[u8]> = packed.iter().map(PackedWeights::as_bytes).collect();
    let x = generate_uniform(&[8; 32], 0, m * K).unwrap_or_default();
    let request = format!(
        "matmul {name} {n} {K} {m} {threads} {} ",
        if cold { COLD_BYTES } else { 0 }
    );
    let flops = 2.0 * (m * n * K) as f64;

    let mut next = 0usize;
    let mut run_mycel = |backend: Backend| {
        let w = ws
            .get(next % copies)
            .and_then(|b| Weights::from_bytes(format, b, K).ok());
        next += 1;
        let Some(w) = w else { return f64::NAN };
        let t = Instant::now();
        let y = matmul(&x, m, &w, backend, threads);
        let dt = t.elapsed().as_secs_f64();
        black_box(y).ok();
        dt
    };
    let mut next_packed = 0usize;
    let mut run_packed = || {
        let Some(w) = packed.get(next_packed % packed.len().max(1)) else {
            return f64::NAN;
        };
        next_packed += 1;
        let t = Instant::now();
        let y = matmul_packed(&x, m, w, Backend::Auto, threads);
        let dt = t.elapsed().as_secs_f64();
        black_box(y).ok();
        dt
    };
    // [mycel auto, mycel AVX2, ggml native, ggml AVX2 build, mycel packed (decode only)]
    let mut times: [Times; 5] = Default::default();
    // Decode: the read bandwidth over the same weight copies, with the same thread count,
    // measured right before each contender's turn: `bws[round][i]` for contender `times[i]`.
    let mut bws: Vec<[Bandwidth; 5]> = Vec::new();
    let mut layout = [String::from("–"), String::from("–")];
    // Warm-up: one call each (pool start, page faults of the outputs, ggml's setup).
    run_mycel(Backend::Auto);
    run_mycel(Backend::Avx2);
    if cold {
        run_packed();
    }
    for (i, l) in layout.iter_mut().enumerate() {
        if let Some(g) = peers.get(i == 1)
            && let Some(a) = g.ask(&format!("{request}1"))
        {
            *l = a.first().cloned().unwrap_or_default();
        }
    }
    for round in 0..cfg.rounds {
        start_round(cfg);
        if cold {
            bws.push(
                [Bandwidth {
                    best: f64::NAN,
                    median: f64::NAN,
                }; 5],
            );
        }
        let secs = cfg.round_seconds;
        // A B A B: mycel auto, ggml native, mycel packed (decode), mycel AVX2, ggml AVX2;
        // reversed on odd rounds.
        let mut steps: Vec<usize> = if cold {
            vec![0, 2, 4, 1, 3]
        } else {
            vec![0, 2, 1, 3]
        };
        if round % 2 == 1 {
            steps.reverse();
        }
        for s in steps {
            let calls = |t: &[Times; 5], mine: usize| {
                t.get(mine)
                    .and_then(|t| t.rounds.last())
                    .map_or(2, Vec::len)
                    .max(2)
            };
            if cold && let Some(b) = bws.last_mut().and_then(|r| r.get_mut(s)) {
                // The packed contender reads its own copies.
                *b = if s == 4 {
                    read_bandwidth_of(&packed_bytes, threads, 2)
                } else {
                    read_bandwidth_of(&ws, threads, 2)
                };
            }
            let got = match s {
                0 => Some(timed(secs, 2, || run_mycel(Backend::Auto))),
                1 => Some(timed(secs, 2, || run_mycel(Backend::Avx2))),
                4 => Some(timed(secs, 2, &mut run_packed)),
                _ => {
                    // As many calls as the matching mycel path made this round (or the last).
                    let c = calls(&times, s - 2);
                    peers.get(s == 3).and_then(|g| {
                        g.ask(&format!("{request}{c}"))
                            .map(|a| a.iter().skip(1).filter_map(|w| w.parse().ok()).collect())
                    })
                }
            };
            if let (Some(v), Some(t)) = (got, times.get_mut(s)) {
                t.rounds.push(v);
            }
        }
    }
    let unit = |t: f64| {
        if cold {
            format!("{:.1} GB/s", wbytes as f64 / t / 1e9)
        } else {
            format!("{:.0} GFLOP/s", flops / t / 1e9)
        }
    };
    // Contender `c` (the index of `times`): its per-round median call over the median buffer
    // of the bandwidth probe right before its turn, and its fastest call over the fastest
    // buffer; range over the rounds.
    let bw_share = |t: &Times, c: usize| -> String {
        if !cold || bws.is_empty() || t.rounds.is_empty() {
            return "–".into();
        }
        let range = |per_round: Vec<f64>, bw: fn(&Bandwidth) -> f64| {
            let shares: Vec<f64> = per_round
                .iter()
                .zip(&bws)
                .map(|(tm, b)| 100.0 * wbytes as f64 / tm / 1e9 / b.get(c).map_or(f64::NAN, bw))
                .collect();
            let lo = shares.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = shares.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.0}–{hi:.0} %")
        };
        let round_mins = t
            .rounds
            .iter()
            .map(|r| r.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        format!(
            "{} (fastest: {})",
            range(t.round_medians(), |b| b.median),
            range(round_mins, |b| b.best)
        )
    };
    let [best, avx2, native, avx2_build, packed_t] = &times;
    for (label, t, peer, peer_name, c, pc) in [
        ("auto", best, native, "native", 0, 2),
        ("avx2", avx2, avx2_build, "AVX2 build", 1, 3),
        ("packed", packed_t, native, "native", 4, 2),
    ] {
        if t.rounds.is_empty() {
            continue;
        }
        let (ratio, mm, md, theirs) = if peer.rounds.is_empty() {
            ("–".into(), "–".into(), "–".into(), "–".into())
        } else {
            (
                ratio_range(t, peer),
                format!("{:.2}", peer.min() / t.min()),
                format!("{:.2}", peer.median() / t.median()),
                format!("{} / {}", unit(peer.min()), unit(peer.median())),
            )
        };
        let lay = layout
            .get(usize::from(label == "avx2"))
            .cloned()
            .unwrap_or_default();
        println!(
            "| {name} | {n} | {m} | {threads} | {label} | {} / {} | {peer_name}: {theirs} ({lay}) | {ratio} | {mm} | {md} | {} | {} |",
            unit(t.min()),
            unit(t.median()),
            bw_share(t, c),
            bw_share(peer, pc),
        );
    }
    let bw_text: Vec<String> = bws
        .iter()
        .map(|b| {
            let v: Vec<String> = b
                .iter()
                .map(|x| format!("{:.1}/{:.1}", x.best, x.median))
                .collect();
            v.join(" ")
        })
        .collect();
    eprintln!(
        "raw {name} n{n} m{m} t{threads}: bandwidth (fastest/median buffer) before mycel auto, mycel avx2, ggml native, ggml avx2 build, mycel packed per round [{}] GB/s; round medians (ms) mycel auto {:?} mycel avx2 {:?} ggml native {:?} ggml avx2 build {:?} mycel packed {:?}",
        bw_text.join("; "),
        ms(&best.round_medians()),
        ms(&avx2.round_medians()),
        ms(&native.round_medians()),
        ms(&avx2_build.round_medians()),
        ms(&packed_t.round_medians())
    );
}

fn ms(v: &[f64]) -> Vec<String> {
    v.iter().map(|t| format!("{:.3}", t * 1e3)).collect()
}

fn attention_case(cfg: &Config, peers: &mut Peers, q_len: usize, kv_len: usize, threads: usize) {
    let (h, hkv, d) = (32usize, 8usize, 128usize);
    let key = if q_len > 1 {
        format!("attention prefill S {q_len} t{threads}")
    } else {
        format!("attention decode kv {kv_len} t{threads}")
    };
    if let Some(f) = &cfg.filter
        && !key.contains(f.as_str())
    {
        return;
    }
    let p = AttentionParams::new(h, hkv, q_len, kv_len, d).causal(true);
    let seed = [42u8; 32];
    let make = |stream: u32, n: usize| -> Vec<half::f16> {
        generate_uniform(&seed, stream, n)
            .unwrap_or_default()
            .into_iter()
            .map(half::f16::from_f32)
            .collect()
    };
    let q = make(1, p.q_elems().unwrap_or(0));
    let k = make(2, p.kv_elems().unwrap_or(0));
    let v = make(3, p.kv_elems().unwrap_or(0));
    let run = |mode: AttentionMode| {
        let t = Instant::now();
        let y = attention(
            &p,
            AttnInput::F16(&q),
            AttnInput::F16(&k),
            AttnInput::F16(&v),
            mode,
            Backend::Auto,
            threads,
        );
        let dt = t.elapsed().as_secs_f64();
        black_box(y).ok();
        dt
    };
    let request = format!("attn {h} {hkv} {q_len} {kv_len} {d} 1 {threads} ");
    // [mycel fast, mycel verifiable, ggml native, ggml AVX2 build]
    let mut times: [Times; 4] = Default::default();
    run(AttentionMode::Fast);
    run(AttentionMode::Verifiable);
    for avx2 in [false, true] {
        if let Some(g) = peers.get(avx2) {
            g.ask(&format!("{request}1"));
        }
    }
    for round in 0..cfg.rounds {
        start_round(cfg);
        let mut steps: Vec<usize> = vec![0, 2, 1, 3];
        if round % 2 == 1 {
            steps.reverse();
        }
        for s in steps {
            let got = match s {
                0 => Some(timed(cfg.round_seconds, 2, || run(AttentionMode::Fast))),
                1 => Some(timed(cfg.round_seconds, 2, || {
                    run(AttentionMode::Verifiable)
                })),
                _ => {
                    let c = times
                        .first()
                        .and_then(|t| t.rounds.last())
                        .map_or(2, Vec::len)
                        .max(2);
                    peers.get(s == 3).and_then(|g| {
                        g.ask(&format!("{request}{c}"))
                            .map(|a| a.iter().filter_map(|w| w.parse().ok()).collect())
                    })
                }
            };
            if let (Some(v), Some(t)) = (got, times.get_mut(s)) {
                t.rounds.push(v);
            }
        }
    }
    let prefill = q_len > 1;
    let kv_bytes = 2.0 * (kv_len * hkv * d * 2) as f64;
    let flops = (p.unmasked_pairs() * 4 * d as u128) as f64;
    let unit = |t: f64| {
        if prefill {
            format!("{:.0} GFLOP/s", flops / t / 1e9)
        } else {
            format!("{:.1} GB/s", kv_bytes / t / 1e9)
        }
    };
    let case = if prefill {
        format!("prefill S {q_len}")
    } else {
        format!("decode kv {kv_len}")
    };
    let [fast, verif, native, avx2_build] = &times;
    for (peer, peer_name) in [(native, "native"), (avx2_build, "AVX2 build")] {
        for (label, t) in [("fast", fast), ("verifiable", verif)] {
            let (theirs, ratio, mm, md) = if peer.rounds.is_empty() {
                ("–".into(), "–".into(), "–".into(), "–".into())
            } else {
                (
                    format!(
                        "{:.2} / {:.2} ms ({} / {})",
                        peer.min() * 1e3,
                        peer.median() * 1e3,
                        unit(peer.min()),
                        unit(peer.median())
                    ),
                    ratio_range(t, peer),
                    format!("{:.2}", peer.min() / t.min()),
                    format!("{:.2}", peer.median() / t.median()),
                )
            };
            println!(
                "| {case} | {threads} | {label} | {:.2} / {:.2} ms ({} / {}) | {peer_name}: {theirs} | {ratio} | {mm} | {md} | {:.2} |",
                t.min() * 1e3,
                t.median() * 1e3,
                unit(t.min()),
                unit(t.median()),
                verif.median() / fast.median(),
            );
        }
    }
    eprintln!(
        "raw attention {case} t{threads}: round medians (ms) fast {:?} verifiable {:?} ggml native {:?} ggml avx2 build {:?}",
        ms(&fast.round_medians()),
        ms(&verif.round_medians()),
        ms(&native.round_medians()),
        ms(&avx2_build.round_medians())
    );
}

fn main() {
    // cargo bench passes `--bench`; nothing else is read from the command line.
    let quick = std::env::var_os("MYCEL_BENCH_QUICK").is_some();
    let rounds = std::env::var("MYCEL_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let cfg = Config {
        filter: std::env::var("MYCEL_BENCH_FILTER").ok(),
        rounds,
        round_seconds: if quick { 0.15 } else { 0.3 },
        idle_wait_seconds: std::env::var("MYCEL_BENCH_IDLE_WAIT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0),
    };
    let mut peers = Peers {
        native: Ggml::start("MYCEL_GGML_PEER", "ggml-peer"),
        avx2: Ggml::start("MYCEL_GGML_PEER_AVX2", "ggml-peer-avx2"),
    };
    let mut info = |avx2: bool| {
        peers
            .get(avx2)
            .and_then(|g| g.ask("info"))
            .map_or("not running".into(), |w| w.join(" "))
    };
    let ggml_info = format!("native build: {}; AVX2 build: {}", info(false), info(true));
    let build_info = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ggml-peer/build-info.txt"),
    )
    .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("CPU: {}", mycel_benches::cpu_line());
    println!("ggml: {ggml_info}");
    for l in build_info.lines() {
        println!("ggml build: {l}");
    }
    println!(
        "rounds: {rounds}, ~{} s per contender and round; load average at start: {}",
        cfg.round_seconds,
        load.trim()
    );
    println!();
    println!(
        "| weights | N | M | threads | mycel path | mycel min / median | ggml build: min / median (weight buffer) | mycel speed-up per round (ggml time ÷ mycel time) | min ÷ min | median ÷ median | mycel decode / bandwidth | ggml decode / bandwidth |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let threads_list: &[usize] = if quick { &[2] } else { &[1, 2] };
    let ns: &[usize] = if quick { &[4096] } else { &[4096, 11008] };
    let ms_list: &[usize] = if quick { &[1, 64] } else { &[1, 16, 64, 512] };
    for &threads in threads_list {
        for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
            for &n in ns {
                for &m in ms_list {
                    matmul_case(&cfg, &mut peers, format, n, m, threads);
                }
            }
        }
    }
    println!();
    println!(
        "| attention (32/8 heads, d 128, causal, f16 K/V) | threads | mycel mode | mycel min / median | ggml build: flash_attn_ext min / median | mycel speed-up per round (ggml time ÷ mycel time) | min ÷ min | median ÷ median | verifiable ÷ fast (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for &threads in threads_list {
        if !quick {
            attention_case(&cfg, &mut peers, 2048, 2048, threads);
        }
        attention_case(&cfg, &mut peers, 1, 8192, threads);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!();
    println!("load average at end: {}", load.trim());
    println!(
        "rounds started after the wait for a quiet machine timed out: {} of {}",
        BUSY_ROUNDS.load(core::sync::atomic::Ordering::Relaxed),
        ALL_ROUNDS.load(core::sync::atomic::Ordering::Relaxed)
    );
}

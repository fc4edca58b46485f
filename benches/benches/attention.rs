//! Attention benchmarks: verifiable vs fast mode in the same run (the goal is verifiable within
//! 1.5× of fast), prefill and decode, f32 and bf16 inputs, on every core (`threads = 0`).
//!
//! Shapes from the kernels issue: 32 query heads, 8 KV heads, head_dim 128, causal.
//! * prefill: q_len = kv_len ∈ {512, 2048}; throughput in FLOP/s counted exactly as
//!   `4 · head_dim` per unmasked (query, key) pair (so Gelem/s in criterion's output = GFLOP/s);
//! * decode: q_len = 1 against kv_len ∈ {2048, 8192}; throughput in bytes of K + V read (in the
//!   input dtype).
//!
//! Run: `cargo bench -p mycel-benches --bench attention -- --warm-up-time 1 --measurement-time 3`
use core::hint::black_box;
use core::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mycel_kernels::Backend;
use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::philox::generate_uniform;

const HEADS: usize = 32;
const KV_HEADS: usize = 8;
const D: usize = 128;

struct Inputs {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    qb: Vec<half::bf16>,
    kb: Vec<half::bf16>,
    vb: Vec<half::bf16>,
}

fn inputs(p: &AttentionParams) -> Inputs {
    let seed = [42u8; 32];
    let make = |stream: u32, n: usize| generate_uniform(&seed, stream, n).unwrap_or_default();
    let (q, k, v) = (
        make(1, p.q_elems().unwrap_or(0)),
        make(2, p.kv_elems().unwrap_or(0)),
        make(3, p.kv_elems().unwrap_or(0)),
    );
    let b = |x: &[f32]| {
        x.iter()
            .map(|&y| half::bf16::from_f32(y))
            .collect::<Vec<_>>()
    };
    Inputs {
        qb: b(&q),
        kb: b(&k),
        vb: b(&v),
        q,
        k,
        v,
    }
}

fn run(p: &AttentionParams, x: &Inputs, bf16: bool, mode: AttentionMode) -> Vec<f32> {
    let r = if bf16 {
        attention(
            p,
            AttnInput::Bf16(&x.qb),
            AttnInput::Bf16(&x.kb),
            AttnInput::Bf16(&x.vb),
            mode,
            Backend::Auto,
            0,
        )
    } else {
        attention(
            p,
            AttnInput::F32(&x.q),
            AttnInput::F32(&x.k),
            AttnInput::F32(&x.v),
            mode,
            Backend::Auto,
            0,
        )
    };
    r.unwrap_or_default()
}

fn prefill(c: &mut Criterion) {
    let mut g = c.benchmark_group("attention_prefill_causal_h32_kv8_d128");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for s in [512usize, 2048] {
        let p = AttentionParams::new(HEADS, KV_HEADS, s, s, D).causal(true);
        let x = inputs(&p);
        g.throughput(Throughput::Elements(
            (p.unmasked_pairs() * 4 * D as u128) as u64,
        ));
        for (dt, bf16) in [("f32", false), ("bf16", true)] {
            for mode in [AttentionMode::Verifiable, AttentionMode::Fast] {
                let id = BenchmarkId::new(format!("{dt}/{}", mode.label()), s);
                g.bench_function(id, |b| b.iter(|| black_box(run(&p, &x, bf16, mode))));
            }
        }
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("attention_decode_h32_kv8_d128");
    g.sample_size(20).warm_up_time(Duration::from_secs(1));
    for s in [2048usize, 8192] {
        let p = AttentionParams::new(HEADS, KV_HEADS, 1, s, D).causal(true);
        let x = inputs(&p);
        for (dt, bf16, bytes) in [("f32", false, 4u64), ("bf16", true, 2)] {
            g.throughput(Throughput::Bytes(
                2 * p.kv_elems().unwrap_or(0) as u64 * bytes,
            ));
            for mode in [AttentionMode::Verifiable, AttentionMode::Fast] {
                let id = BenchmarkId::new(format!("{dt}/{}", mode.label()), s);
                g.bench_function(id, |b| b.iter(|| black_box(run(&p, &x, bf16, mode))));
            }
        }
    }
    g.finish();
}

criterion_group!(benches, prefill, decode);
criterion_main!(benches);

//! Receipt verification benchmarks (benches/README.md, receipts section).
//!
//! * `single/*`: one receipt at a time — the bare signature rule on precomputed signed bytes
//!   (`raw_mycel_rule`), ed25519-dalek's own `verify_strict` on the same bytes (a reference
//!   point, not used by mycel), and the full path from envelope bytes: canonical decode,
//!   signature check and receipt id (SHA-256) (`decode_id_verify`, via `verify_and_id`);
//! * `batch/*`: the cofactored batch verifier on 64 and 256 decoded receipts, and the same from
//!   envelope bytes (decode + id + batch verify).
//!
//! * after the criterion groups, interleaved measurements of the decode + id + verify overhead
//!   over the raw rule and of the batch speedup (robust to load that drifts during the run).
//!
//! Receipts are signed by 16 distinct miners (seeded), as in an epoch of a small subnet.
//!
//! Run: `cargo bench -p mycel-benches --bench receipts -- --warm-up-time 1 --measurement-time 3`

use core::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mycel_benches::signed_receipts;
use mycel_protocol::ids::SigningKey;
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::sign::{verify, verify_signed_batch_with_seed};
use mycel_protocol::wire::{decode, encode};
use std::time::Instant;

/// `n` receipts signed round-robin by 16 seeded miners.
fn receipts(n: usize) -> Vec<SignedReceipt> {
    let miners: Vec<SigningKey> = (0..16u8)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    signed_receipts(&miners, n).unwrap()
}

fn single(c: &mut Criterion) {
    let rs = receipts(64);
    let envelopes: Vec<Vec<u8>> = rs.iter().map(|r| encode(r).unwrap()).collect();
    let signed: Vec<Vec<u8>> = rs.iter().map(|r| r.signed_bytes().unwrap()).collect();
    let dalek_keys: Vec<ed25519_dalek::VerifyingKey> = rs
        .iter()
        .map(|r| ed25519_dalek::VerifyingKey::from_bytes(&r.body.miner.0).unwrap())
        .collect();
    let mut g = c.benchmark_group("single");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("raw_mycel_rule", |b| {
        b.iter(|| {
            i = (i + 1) % rs.len();
            verify(
                &rs[i].body.miner.0,
                black_box(&signed[i]),
                &rs[i].signature.0,
            )
            .unwrap();
        })
    });
    g.bench_function("raw_dalek_verify_strict", |b| {
        b.iter(|| {
            i = (i + 1) % rs.len();
            let sig = ed25519_dalek::Signature::from_bytes(&rs[i].signature.0);
            dalek_keys[i]
                .verify_strict(black_box(&signed[i]), &sig)
                .unwrap();
        })
    });
    g.bench_function("decode_id_verify", |b| {
        b.iter(|| {
            i = (i + 1) % rs.len();
            let r: SignedReceipt = decode(black_box(&envelopes[i])).unwrap();
            black_box(r.verify_and_id().unwrap());
        })
    });
    g.finish();
}

fn batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch");
    for n in [64usize, 256] {
        let rs = receipts(n);
        let envelopes: Vec<Vec<u8>> = rs.iter().map(|r| encode(r).unwrap()).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("verify", n), &rs, |b, rs| {
            b.iter(|| {
                let results = verify_signed_batch_with_seed(black_box(rs), &[1; 32]);
                assert!(results.iter().all(Result::is_ok));
            })
        });
        g.bench_with_input(
            BenchmarkId::new("decode_id_verify", n),
            &envelopes,
            |b, envs| {
                b.iter(|| {
                    let decoded: Vec<SignedReceipt> =
                        envs.iter().map(|e| decode(black_box(e)).unwrap()).collect();
                    for r in &decoded {
                        black_box(r.id().unwrap());
                    }
                    let results = verify_signed_batch_with_seed(&decoded, &[1; 32]);
                    assert!(results.iter().all(Result::is_ok));
                })
            },
        );
    }
    g.finish();
}

/// Overhead of decode + id + verify over the raw rule, measured interleaved: for each receipt
/// the raw rule and then the full path are timed back to back (about 0.1 ms for the pair), and
/// the ratio is taken per pair, so load that drifts over the run (shared machines) affects both
/// sides of each ratio alike. Prints the median ratio over 200 × 64 pairs.
fn interleaved_overhead() {
    let rs = receipts(64);
    let envelopes: Vec<Vec<u8>> = rs.iter().map(|r| encode(r).unwrap()).collect();
    let signed: Vec<Vec<u8>> = rs.iter().map(|r| r.signed_bytes().unwrap()).collect();
    let rounds = 200;
    let mut ratios = Vec::with_capacity(rounds * rs.len());
    let (mut raws, mut fulls) = (
        Vec::with_capacity(ratios.capacity()),
        Vec::with_capacity(ratios.capacity()),
    );
    for _ in 0..rounds {
        for ((r, m), e) in rs.iter().zip(&signed).zip(&envelopes) {
            let t = Instant::now();
            verify(&r.body.miner.0, black_box(m), &r.signature.0).unwrap();
            let raw = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let d: SignedReceipt = decode(black_box(e)).unwrap();
            black_box(d.verify_and_id().unwrap());
            let full = t.elapsed().as_secs_f64();
            ratios.push(full / raw);
            raws.push(raw);
            fulls.push(full);
        }
    }
    for v in [&mut ratios, &mut raws, &mut fulls] {
        v.sort_by(f64::total_cmp);
    }
    let q = |v: &[f64], p: usize| v[v.len() * p / 100];
    println!(
        "interleaved: raw rule median {:.1} µs, decode+id+verify median {:.1} µs; \
         per-pair overhead median {:+.1}% (p25 {:+.1}%, p75 {:+.1}%) over {} pairs",
        q(&raws, 50) * 1e6,
        q(&fulls, 50) * 1e6,
        (q(&ratios, 50) - 1.0) * 100.0,
        (q(&ratios, 25) - 1.0) * 100.0,
        (q(&ratios, 75) - 1.0) * 100.0,
        ratios.len(),
    );
}

/// Batch speedup, measured interleaved: each round verifies the same receipts one by one and
/// then as one batch; prints per-receipt medians and the median per-round speedup.
fn interleaved_batch_speedup() {
    let rs = receipts(256);
    for n in [64usize, 256] {
        let sub = &rs[..n];
        let (mut singles, mut batches, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..60 {
            let t = Instant::now();
            for r in sub {
                r.verify().unwrap();
            }
            let single = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let results = verify_signed_batch_with_seed(black_box(sub), &[1; 32]);
            assert!(results.iter().all(Result::is_ok));
            let batch = t.elapsed().as_secs_f64();
            singles.push(single / n as f64);
            batches.push(batch / n as f64);
            ratios.push(single / batch);
        }
        for v in [&mut singles, &mut batches, &mut ratios] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "interleaved batch of {n}: single median {:.1} µs/receipt, batch median {:.1} µs/receipt \
             ({:.0} receipts/s); speedup median {:.2}x (p25 {:.2}x, p75 {:.2}x) over 60 rounds",
            singles[30] * 1e6,
            batches[30] * 1e6,
            1.0 / batches[30],
            ratios[30],
            ratios[15],
            ratios[45],
        );
    }
}

criterion_group!(benches, single, batch);

fn main() {
    benches();
    interleaved_overhead();
    interleaved_batch_speedup();
    Criterion::default().configure_from_args().final_summary();
}

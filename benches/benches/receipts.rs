//! Receipt verification benchmarks (benches/README.md, receipts section).
//!
//! * `single/*`: one receipt at a time — the bare signature rule on precomputed signed bytes
//!   (`raw_mycel_rule`), ed25519-dalek's own `verify_strict` on the same bytes (a reference
//!   point, not used by mycel), and the full path from envelope bytes: canonical decode,
//!   signature check and receipt id (SHA-256) (`decode_id_verify`, via `verify_and_id`);
//! * `batch/*`: the cofactored batch verifier on 64 and 256 decoded receipts, and the same from
//!   envelope bytes (decode + id + batch verify).
//!
//! Receipts are signed by 16 distinct miners (seeded), as in an epoch of a small subnet.
//!
//! Run: `cargo bench -p mycel-benches --bench receipts -- --warm-up-time 1 --measurement-time 3`

use core::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
use mycel_protocol::sign::{Signed, verify, verify_signed_batch_with_seed};
use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::{decode, encode};

fn receipts(n: usize) -> Vec<SignedReceipt> {
    let miners: Vec<SigningKey> = (0..16u8)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    let task = TaskSpec {
        network: NetworkId([7; 32]),
        subnet: SubnetId(3),
        epoch: Epoch(1000),
        kernel: KernelId::MatmulQ8_0,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul {
            m: 64,
            n: 4096,
            k: 4096,
        },
        weights_digest: Digest([9; 32]),
        input_seed: [5; 32],
    };
    (0..n)
        .map(|i| {
            let miner = &miners[i % miners.len()];
            let body = WorkReceipt {
                network: task.network,
                subnet: task.subnet,
                epoch: task.epoch,
                task_digest: task.digest().unwrap(),
                assigner: miners[0].hotkey(),
                miner: miner.hotkey(),
                output_commitment: Digest([(i % 251) as u8; 32]),
                output_tile_root: Digest([(i % 241) as u8; 32]),
                compute_units: task.compute_units().unwrap(),
                started_at_ms: 1_767_225_600_000 + i as u64,
                finished_at_ms: 1_767_225_600_900 + i as u64,
                nonce: i as u64,
                backend: BackendLabel::new("cuda-sm90").unwrap(),
            };
            Signed::sign(body, miner).unwrap()
        })
        .collect()
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

criterion_group!(benches, single, batch);
criterion_main!(benches);

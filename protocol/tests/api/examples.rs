//! The worked examples of spec/: spec/examples/*.bin and examples.json, and the hex blocks in
//! spec/*.md, are regenerated here from their documented inputs and compared byte for byte.
//! Run with `MYCEL_WRITE_EXAMPLES=1` to rewrite the files after a deliberate format change.
//! (spec/examples/check.py re-derives ids, signatures and the root independently in Python.)

use std::path::PathBuf;

use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{
    BackendLabel, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict, WorkReceipt,
};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::{AnyMessage, encode};
use serde_json::json;
use sha2::{Digest as _, Sha256};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/examples")
}

fn seq_seed(start: u8) -> [u8; 32] {
    core::array::from_fn(|i| start + i as u8)
}

/// Miner seed 00 01 … 1f; validator seed 20 21 … 3f.
fn keys() -> (SigningKey, SigningKey) {
    (
        SigningKey::from_seed(&seq_seed(0x00)),
        SigningKey::from_seed(&seq_seed(0x20)),
    )
}

fn network() -> NetworkId {
    NetworkId(Sha256::digest(b"mycel example network").into())
}

fn task() -> TaskSpec {
    TaskSpec {
        network: network(),
        subnet: SubnetId(1),
        epoch: Epoch(100),
        kernel: KernelId::MatmulQ8_0,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul {
            m: 8,
            n: 64,
            k: 128,
        },
        weights_digest: Digest(Sha256::digest(b"example weights").into()),
        input_seed: Sha256::digest(b"example input seed").into(),
    }
}

fn receipt(nonce: u64) -> SignedReceipt {
    let (miner, validator) = keys();
    let t = task();
    let body = WorkReceipt {
        network: t.network,
        subnet: t.subnet,
        epoch: t.epoch,
        task_digest: t.digest().unwrap(),
        assigner: validator.hotkey(),
        miner: miner.hotkey(),
        output_commitment: Digest(Sha256::digest(b"example output").into()),
        output_tile_root: Digest(Sha256::digest(b"example tiles").into()),
        compute_units: t.compute_units().unwrap(),
        started_at_ms: 1_767_225_600_000,
        finished_at_ms: 1_767_225_600_125,
        nonce,
        backend: BackendLabel::new("cpu-scalar").unwrap(),
    };
    Signed::sign(body, &miner).unwrap()
}

fn verdict() -> SignedVerdict {
    let (_, validator) = keys();
    let r = receipt(1);
    let body = Verdict {
        validator: validator.hotkey(),
        receipt_id: r.id().unwrap(),
        outcome: Outcome::Match,
        recomputed_commitment: Some(r.body.output_commitment),
    };
    Signed::sign(body, &validator).unwrap()
}

fn batch() -> ReceiptBatch {
    let t = task();
    ReceiptBatch {
        network: t.network,
        subnet: t.subnet,
        epoch: t.epoch,
        receipts: (1..=3).map(receipt).collect(),
    }
}

/// Every example file's name and bytes.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("task.bin", encode(&task()).unwrap()),
        ("receipt.bin", encode(&receipt(1)).unwrap()),
        ("verdict.bin", encode(&verdict()).unwrap()),
        ("receipt-batch.bin", encode(&batch()).unwrap()),
    ]
}

fn description() -> String {
    let (miner, validator) = keys();
    let (t, r, v, b) = (task(), receipt(1), verdict(), batch());
    let tree = b.tree().unwrap();
    let value = json!({
        "about": "Worked examples of spec/wire.md, spec/signatures.md, spec/receipts.md and spec/commitments.md. Every .bin file is one envelope; hex here is lowercase. Generated and checked by protocol/tests/api/examples.rs; re-derived independently by check.py.",
        "keys": {
            "miner_seed": hex::encode(miner.to_seed().as_ref()),
            "miner_hotkey": miner.hotkey().to_string(),
            "validator_seed": hex::encode(validator.to_seed().as_ref()),
            "validator_hotkey": validator.hotkey().to_string(),
        },
        "task": {
            "file": "task.bin",
            "envelope": hex::encode(encode(&t).unwrap()),
            "message": t,
            "digest": t.digest().unwrap().to_string(),
            "compute_units": t.compute_units().unwrap(),
        },
        "receipt": {
            "file": "receipt.bin",
            "envelope": hex::encode(encode(&r).unwrap()),
            "message": r,
            "signed_bytes": hex::encode(r.signed_bytes().unwrap()),
            "id": r.id().unwrap().to_string(),
        },
        "verdict": {
            "file": "verdict.bin",
            "envelope": hex::encode(encode(&v).unwrap()),
            "message": v,
            "signed_bytes": hex::encode(v.signed_bytes().unwrap()),
            "id": v.id().unwrap().to_string(),
        },
        "receipt_batch": {
            "file": "receipt-batch.bin",
            "receipt_ids": b.receipts.iter().map(|r| r.id().unwrap().to_string()).collect::<Vec<_>>(),
            "leaf_hashes": tree.leaf_hashes().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "root": tree.root().to_string(),
            "proofs": (0..3).map(|i| tree.proof(i).unwrap()).collect::<Vec<_>>(),
        },
    });
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

#[test]
fn example_files_match_their_inputs() {
    let dir = examples_dir();
    let write = std::env::var_os("MYCEL_WRITE_EXAMPLES").is_some();
    let mut all = files();
    all.push(("examples.json", description().into_bytes()));
    for (name, bytes) in all {
        let path = dir.join(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == bytes,
            "{name} differs from what its documented inputs give"
        );
    }
}

#[test]
fn example_files_decode_and_verify() {
    let dir = examples_dir();
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let AnyMessage::Task(t) = AnyMessage::decode(&read("task.bin")).unwrap() else {
        panic!("task.bin")
    };
    let AnyMessage::Receipt(r) = AnyMessage::decode(&read("receipt.bin")).unwrap() else {
        panic!("receipt.bin")
    };
    let AnyMessage::Verdict(v) = AnyMessage::decode(&read("verdict.bin")).unwrap() else {
        panic!("verdict.bin")
    };
    let AnyMessage::ReceiptBatch(b) = AnyMessage::decode(&read("receipt-batch.bin")).unwrap()
    else {
        panic!("batch")
    };
    r.verify().unwrap();
    r.body.check_task(&t).unwrap();
    v.verify().unwrap();
    v.body.check_receipt(&r).unwrap();
    for r in &b.receipts {
        r.verify().unwrap();
        r.body.check_task(&t).unwrap();
    }
    // compute units by hand: 2·8·64·128.
    assert_eq!(r.body.compute_units, 131_072);
}

/// Hex blocks in the spec: a line `<!-- example: NAME -->` followed by a fenced block whose hex
/// (whitespace ignored) must equal the named value.
#[test]
fn spec_hex_blocks_match() {
    let (t, r, v, b) = (task(), receipt(1), verdict(), batch());
    let tree = b.tree().unwrap();
    let values: Vec<(&str, String)> = vec![
        ("task.bin", hex::encode(encode(&t).unwrap())),
        ("task.digest", t.digest().unwrap().to_string()),
        ("receipt.bin", hex::encode(encode(&r).unwrap())),
        (
            "receipt.signed_bytes",
            hex::encode(r.signed_bytes().unwrap()),
        ),
        ("receipt.id", r.id().unwrap().to_string()),
        ("verdict.bin", hex::encode(encode(&v).unwrap())),
        ("batch.root", tree.root().to_string()),
        ("batch.leaf0", tree.leaf_hashes()[0].to_string()),
        (
            "batch.proof1",
            tree.proof(1)
                .unwrap()
                .path
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(""),
        ),
        ("tensor.f32_2x3", {
            let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect();
            mycel_protocol::commit::tensor_commitment(
                mycel_protocol::commit::TensorDtype::F32,
                &[2, 3],
                &data,
            )
            .unwrap()
            .to_string()
        }),
    ];
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let mut found = std::collections::HashSet::new();
    for file in ["wire.md", "signatures.md", "receipts.md", "commitments.md"] {
        let text = std::fs::read_to_string(spec.join(file)).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(name) = line
                .trim()
                .strip_prefix("<!-- example: ")
                .and_then(|s| s.strip_suffix(" -->"))
            else {
                continue;
            };
            assert!(
                lines.next().unwrap().starts_with("```"),
                "{file}: {name}: fence expected"
            );
            let mut hex_text = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                hex_text.extend(l.chars().filter(|c| !c.is_whitespace()));
            }
            let (_, expected) = values
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("{file}: unknown example {name}"));
            assert_eq!(&hex_text, expected, "{file}: example {name}");
            found.insert(name.to_string());
        }
    }
    for (name, _) in &values {
        assert!(
            found.contains(*name),
            "example {name} is not shown in any spec file"
        );
    }
}

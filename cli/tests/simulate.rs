//! Integration tests of `mycel simulate` and `mycel fraud verify`, on a small scenario so the
//! whole file runs in seconds even in a debug build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::receipt::{BackendLabel, Outcome, SignedReceipt, Verdict, WorkReceipt};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{decode, encode};
use serde_json::Value;

/// Six miners (two honest and one of each other behaviour), four validators (two honest, a
/// weight copier, a colluder), five epochs, small tasks.
const SCENARIO: &str = r#"
epochs = 5
seed = 11

[miners]
count = 6
lazy = 1
copier = 1
sloppy = 1
slow = 1

[validators]
count = 4
weight_copier = 1
colluder = 1

[tasks]
per_miner = 2
matmul_m = [1, 2]
matmul_n = 32
matmul_k = 64
attention_heads = 2
attention_kv_heads = 1
attention_q_len = 4
attention_kv_len = 160

[scoring]
spot_check_rate = 0.25
min_checks_per_miner = 1
"#;

fn mycel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("simulate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn simulate(dir: &Path, extra: &[&str]) -> Output {
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = mycel()
        .arg("simulate")
        .arg("--scenario")
        .arg(&scenario)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "simulate failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The run every read-only test shares (2 threads).
fn base() -> &'static PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = scratch("base");
        simulate(&dir, &["--threads", "2"]);
        dir.join("out")
    })
}

fn log(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("simulation.json")).unwrap()).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn logs_are_byte_identical_across_runs_and_thread_counts() {
    let a = base();
    let dir = scratch("again");
    simulate(&dir, &["--threads", "1", "--quiet"]);
    let b = dir.join("out");
    assert_eq!(
        std::fs::read(a.join("simulation.json")).unwrap(),
        std::fs::read(b.join("simulation.json")).unwrap()
    );
    assert_eq!(
        std::fs::read(a.join("emission.svg")).unwrap(),
        std::fs::read(b.join("emission.svg")).unwrap()
    );
    for sub in ["receipts", "fraud"] {
        let (fa, fb) = (files(&a.join(sub)), files(&b.join(sub)));
        assert_eq!(fa.len(), fb.len());
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(x.file_name(), y.file_name());
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{}",
                x.display()
            );
        }
    }
    // Another seed is another run.
    let dir = scratch("seed");
    simulate(&dir, &["--seed", "12", "--quiet", "--threads", "3"]);
    assert_ne!(
        std::fs::read(a.join("simulation.json")).unwrap(),
        std::fs::read(dir.join("out/simulation.json")).unwrap()
    );
}

#[test]
fn cheaters_earn_nothing_and_honest_miners_share_the_emission() {
    let log = log(base());
    let behaviour: Vec<(u64, String)> = log["miners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["uid"].as_u64().unwrap(),
                m["behaviour"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let epochs = log["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 5);
    // From epoch 2 on (weights of epoch 1 revealed), in every epoch.
    for e in &epochs[2..] {
        let (mut honest_total, mut honest_min, mut slow) = (0.0, f64::MAX, None);
        for (m, (uid, b)) in e["miners"].as_array().unwrap().iter().zip(&behaviour) {
            assert_eq!(m["uid"].as_u64().unwrap(), *uid);
            let share = m["incentive_share"].as_f64().unwrap();
            match b.as_str() {
                "lazy" | "copier" | "sloppy" => {
                    assert!(
                        share < 0.01,
                        "epoch {}: {b} uid {uid} has incentive {share}",
                        e["epoch"]
                    );
                    assert_eq!(m["emission_rao"].as_u64().unwrap(), 0);
                }
                "honest" => {
                    assert!(
                        share > 0.2,
                        "epoch {}: honest uid {uid} has incentive {share}",
                        e["epoch"]
                    );
                    honest_min = f64::min(honest_min, share);
                    honest_total += share;
                }
                "slow" => {
                    slow = Some(share);
                    honest_total += share;
                }
                other => panic!("unexpected behaviour {other}"),
            }
        }
        // The slow miner is paid, but less than any honest one: its latency is over the target.
        let slow = slow.unwrap();
        assert!(
            slow > 0.02 && slow < honest_min,
            "epoch {}: slow {slow}, honest min {honest_min}",
            e["epoch"]
        );
        assert!(
            honest_total > 0.99,
            "honest + slow miners hold {honest_total} of the incentive"
        );
    }
    // Every cheater was caught, honest miners never.
    for m in log["totals"]["miners"].as_array().unwrap() {
        let caught = m["caught"].as_u64().unwrap();
        match m["behaviour"].as_str().unwrap() {
            "lazy" | "copier" | "sloppy" => assert!(caught > 0, "{m}"),
            _ => {
                assert_eq!(caught, 0, "{m}");
                assert!(m["verified"].as_u64().unwrap() > 0);
            }
        }
    }
    // The colluder's boost is clipped by consensus: its vtrust is below the honest validators'.
    let vals = log["totals"]["validators"].as_array().unwrap();
    let vt = |b: &str| {
        vals.iter().find(|v| v["behaviour"] == b).unwrap()["final_vtrust"]
            .as_u64()
            .unwrap()
    };
    assert!(vt("colluder") < vt("honest"), "{vals:?}");
}

fn proofs() -> Vec<PathBuf> {
    files(&base().join("fraud"))
}

#[test]
fn fraud_proofs_from_the_run_hold() {
    let log = log(base());
    let recorded: usize = log["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fraud_proofs"].as_array().unwrap().len())
        .sum();
    let all = proofs();
    assert_eq!(all.len(), recorded);
    // One proof per (cheating) miner uid, at least.
    let mut miners = std::collections::BTreeSet::new();
    for p in &all {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let uid = name.split("-miner-").nth(1).unwrap()[..3].to_string();
        if miners.insert(uid) {
            let out = mycel().arg("fraud").arg("verify").arg(p).output().unwrap();
            assert!(out.status.success(), "{name}: {}", text(&out.stderr));
            assert!(text(&out.stdout).contains("fraud proof holds"));
            // The batch root it proves membership in is the one the validator committed.
            let (epoch, validator): (usize, u64) =
                (name[6..10].parse().unwrap(), name[21..24].parse().unwrap());
            let v = log["epochs"][epoch]["validators"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["uid"].as_u64() == Some(validator))
                .unwrap();
            let root = v["receipt_root"].as_str().unwrap();
            assert!(
                text(&out.stdout).contains(&format!("batch with root {root}")),
                "{}",
                text(&out.stdout)
            );
        }
    }
    assert_eq!(
        miners.len(),
        3,
        "expected proofs against the lazy, copier and sloppy miners: {miners:?}"
    );
    for e in log["epochs"].as_array().unwrap() {
        for p in e["fraud_proofs"].as_array().unwrap() {
            assert_eq!(p["holds"], true);
        }
    }
}

fn proof_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn verify_json(dir: &Path, name: &str, v: &Value) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    mycel()
        .arg("fraud")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap()
}

fn regenerate_weights(p: &Value) -> Option<Vec<u8>> {
    let w = &p["weights"];
    if w.is_null() {
        return None;
    }
    let seed: [u8; 32] = hex::decode(w["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let format = QuantFormat::parse(w["format"].as_str().unwrap()).unwrap();
    Some(
        generate_weights(
            &seed,
            format,
            w["rows"].as_u64().unwrap() as usize,
            w["cols"].as_u64().unwrap() as usize,
        )
        .unwrap(),
    )
}

#[test]
fn tampered_or_false_fraud_proofs_do_not_hold() {
    let dir = scratch("tamper");
    let original = proof_json(&proofs()[0]);

    // 1. A changed byte in the signed receipt: its signature no longer verifies.
    let mut p = original.clone();
    let mut receipt = hex::decode(p["receipt"].as_str().unwrap()).unwrap();
    let last = receipt.len() - 1;
    receipt[last] ^= 1;
    p["receipt"] = hex::encode(&receipt).into();
    let out = verify_json(&dir, "sig.json", &p);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does NOT hold"),
        "{}",
        text(&out.stderr)
    );

    // 2. A proof against a receipt that is correct (signed by some miner, "refuted" by some
    //    validator with a made-up commitment): re-execution sides with the receipt.
    let task = TaskSpec::decode(&hex::decode(original["task"].as_str().unwrap()).unwrap()).unwrap();
    let weights = regenerate_weights(&original);
    let truth = execute(&task, weights.as_deref(), Backend::Scalar, 1).unwrap();
    let miner = SigningKey::from_seed(&[1; 32]);
    let validator = SigningKey::from_seed(&[2; 32]);
    let make = |claimed: Digest, recomputed: Digest| -> Value {
        let body = WorkReceipt {
            network: task.network,
            subnet: task.subnet,
            epoch: task.epoch,
            task_digest: task.digest().unwrap(),
            assigner: validator.hotkey(),
            miner: miner.hotkey(),
            output_commitment: claimed,
            output_tile_root: truth.tile_root,
            compute_units: task.compute_units().unwrap(),
            started_at_ms: 1,
            finished_at_ms: 2,
            nonce: 0,
            backend: BackendLabel::new("test").unwrap(),
        };
        let receipt = Signed::sign(body, &miner).unwrap();
        let verdict = Signed::sign(
            Verdict {
                validator: validator.hotkey(),
                receipt_id: receipt.id().unwrap(),
                outcome: Outcome::Mismatch,
                recomputed_commitment: Some(recomputed),
            },
            &validator,
        )
        .unwrap();
        let mut p = original.clone();
        p["receipt"] = hex::encode(encode(&receipt).unwrap()).into();
        p["verdict"] = hex::encode(encode(&verdict).unwrap()).into();
        // These receipts were never in a committed batch: a proof may omit the membership.
        p["batch"] = Value::Null;
        p
    };
    let out = verify_json(
        &dir,
        "correct.json",
        &make(truth.commitment, Digest([7; 32])),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the receipt is correct"),
        "{}",
        text(&out.stderr)
    );

    // 3. The receipt is wrong, but so is the validator's recomputed commitment.
    let out = verify_json(
        &dir,
        "wrong-verdict.json",
        &make(Digest([9; 32]), Digest([8; 32])),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the verdict is wrong too"),
        "{}",
        text(&out.stderr)
    );

    // ... while the same construction with the true recomputed commitment holds.
    let out = verify_json(
        &dir,
        "forged-ok.json",
        &make(Digest([9; 32]), truth.commitment),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // 4. An inclusion proof that does not lead to the stated batch root.
    let mut p = original.clone();
    assert!(
        p["batch"]["root"].is_string(),
        "simulated proofs carry their batch membership"
    );
    p["batch"]["root"] = hex::encode([5u8; 32]).into();
    let out = verify_json(&dir, "root.json", &p);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("batch: the receipt is not under root"),
        "{}",
        text(&out.stderr)
    );

    // 5. Not a fraud proof at all.
    std::fs::write(dir.join("junk.json"), b"{\"format\": \"something\"}").unwrap();
    let out = mycel()
        .arg("fraud")
        .arg("verify")
        .arg(dir.join("junk.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn receipt_batches_verify_and_match_the_logged_roots() {
    let out_dir = base();
    let log = log(out_dir);
    let e0 = &log["epochs"][0];
    for (v, name) in e0["validators"]
        .as_array()
        .unwrap()
        .iter()
        .zip(e0["receipt_batches"].as_array().unwrap())
    {
        let path = out_dir.join("receipts").join(name.as_str().unwrap());
        let out = mycel()
            .arg("receipt")
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let root = v["receipt_root"].as_str().unwrap();
        assert!(
            text(&out.stdout).contains(&format!("root {root}")),
            "{}",
            text(&out.stdout)
        );
        // Independently: decode the batch and recompute the root.
        let batch: mycel_protocol::receipt::ReceiptBatch =
            decode(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(batch.root().unwrap().to_string(), root);
        assert_eq!(batch.receipts.len() as u64, v["receipts"].as_u64().unwrap());
        for r in &batch.receipts {
            let r: &SignedReceipt = r;
            r.verify().unwrap();
        }
    }
}

#[test]
fn bad_scenarios_fail_naming_the_field() {
    let dir = scratch("bad");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[miners]\ncount = 2\nlazy = 3\n").unwrap();
    let out = mycel()
        .arg("simulate")
        .arg("--scenario")
        .arg(&path)
        .arg("--out")
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("miners"),
        "{}",
        text(&out.stderr)
    );
    let out = mycel()
        .args(["simulate", "--spot-check-rate", "2", "--out"])
        .arg(dir.join("o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("scoring.spot_check_rate"),
        "{}",
        text(&out.stderr)
    );
}

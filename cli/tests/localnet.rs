//! `mycel localnet` against `mycel simulate`: 8 miners and 4 validators as 12 processes on
//! 127.0.0.1 for 3 epochs (scenarios/localnet.toml, whose comments say why its outcomes cannot
//! depend on which receipts are sampled). Every node's epoch digest must be equal in every
//! epoch, the lazy miner and the copier must end at 0 incentive, and with the latency term off
//! every miner's and validator's incentive, dividends and emission must equal simulate's for
//! the same scenario and seed, epoch by epoch.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn mycel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
}

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/localnet.toml")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn figures(epoch: &Value, list: &str, fields: &[&str]) -> Vec<(u64, Vec<Value>)> {
    epoch[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["uid"].as_u64().unwrap(),
                fields.iter().map(|f| m[*f].clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn localnet_agrees_with_itself_and_with_simulate() {
    let dir = std::env::temp_dir().join(format!("mycel-localnet-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = mycel()
        .args(["localnet", "--scenario"])
        .arg(scenario())
        .args(["--epoch-ms", "3000", "--out"])
        .arg(dir.join("net"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "localnet failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("incentive"), "no closing table:\n{stdout}");
    // The closing count is of the proofs the validators gossiped (there are no proof files).
    let proofs = stdout
        .lines()
        .find_map(|l| l.strip_prefix("fraud proofs: "))
        .unwrap_or_else(|| panic!("no fraud-proof count:\n{stdout}"));
    assert!(
        proofs.ends_with(" published (gossiped, not written to files)"),
        "{proofs}"
    );

    let net = read(&dir.join("net/localnet.json"));
    assert_eq!(net["format"], "mycel-localnet/v1");
    let epochs = net["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 3);
    for e in epochs {
        let nodes = e["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 12, "epoch {}: every node reports", e["epoch"]);
        let first = nodes[0]["epoch_digest"].as_str().unwrap();
        assert_eq!(first.len(), 64);
        for n in nodes {
            assert_eq!(n["epoch_digest"], first, "epoch {}: node {n}", e["epoch"]);
            let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
            assert_eq!(
                keys.iter().filter(|k| k.contains("digest")).count(),
                1,
                "{keys:?}"
            );
        }
        assert_eq!(nodes.iter().filter(|n| n["role"] == "validator").count(), 4);
    }

    let sim_out = mycel()
        .args(["simulate", "-q", "--scenario"])
        .arg(scenario())
        .arg("--out")
        .arg(dir.join("sim"))
        .output()
        .unwrap();
    assert!(sim_out.status.success());
    let sim = read(&dir.join("sim/simulation.json"));
    let behaviour: Vec<(u64, String)> = sim["miners"]
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
    for (a, b) in epochs.iter().zip(sim["epochs"].as_array().unwrap()) {
        // Compute units and catches of the cheaters depend on which receipts were sampled
        // (unchecked fakes are credited until a mismatch zeroes the score), so only the
        // figures the weights and Yuma produce are compared for every miner.
        let fields = ["incentive", "emission_rao", "tasks"];
        assert_eq!(
            figures(a, "miners", &fields),
            figures(b, "miners", &fields),
            "epoch {}: miners",
            a["epoch"]
        );
        let fields = ["dividends", "vtrust", "emission_rao", "weights_revealed"];
        assert_eq!(
            figures(a, "validators", &fields),
            figures(b, "validators", &fields),
            "epoch {}: validators",
            a["epoch"]
        );
    }
    let last = epochs.last().unwrap();
    let mut cheaters = 0;
    for (uid, b) in &behaviour {
        let m = last["miners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["uid"].as_u64() == Some(*uid))
            .unwrap();
        let first = &epochs[0]["miners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["uid"].as_u64() == Some(*uid))
            .unwrap()["caught"];
        if b == "lazy" || b == "copier" {
            cheaters += 1;
            assert!(
                first.as_u64().unwrap() > 0,
                "{b} uid {uid} caught in epoch 0"
            );
            assert_eq!(m["incentive"], 0, "{b} uid {uid}");
            assert_eq!(m["emission_rao"], 0, "{b} uid {uid}");
        } else {
            assert!(m["incentive"].as_i64().unwrap() > 0, "{b} uid {uid}");
            assert_eq!(first, 0, "{b} uid {uid}");
        }
    }
    assert_eq!(cheaters, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

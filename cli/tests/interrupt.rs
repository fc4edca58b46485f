//! `mycel simulate` killed mid-run (SIGKILL, no chance to clean up) leaves no half-written file
//! under a real name: every receipt batch, fraud proof, log and chart present is complete and
//! valid, and the only other files are the hidden `.mycel-tmp` temporaries, which the next run
//! removes (cli/src/fsio.rs; README.md, "Input limits and files").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use mycel_node::fraud::FraudProof;
use mycel_protocol::wire::AnyMessage;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("interrupt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn simulate(out: &Path, epochs: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mycel"));
    c.args(["simulate", "--quiet", "--threads", "2", "--epochs", epochs])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Complete files under `dir`: the hidden temporaries of a write in progress do not count.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".mycel-tmp"))
            .count()
    })
}

/// Checks every file under `out`; returns (complete files, temporaries).
fn check_tree(out: &Path) -> (usize, usize) {
    let (mut complete, mut temps) = (0, 0);
    for sub in ["", "receipts", "fraud"] {
        let dir = out.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".mycel-tmp") {
                temps += 1;
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            match (sub, name.as_str()) {
                ("receipts", n) if n.ends_with(".bin") => match AnyMessage::decode(&bytes) {
                    Ok(AnyMessage::ReceiptBatch(b)) => {
                        assert!(!b.receipts.is_empty(), "{name}: empty batch");
                        b.root().unwrap();
                    }
                    other => panic!(
                        "{}: not a complete receipt batch: {other:?}",
                        path.display()
                    ),
                },
                ("fraud", n) if n.ends_with(".json") => {
                    let text = String::from_utf8(bytes).unwrap();
                    FraudProof::from_json(&text)
                        .unwrap_or_else(|e| panic!("{}: incomplete proof: {e}", path.display()));
                }
                ("", "simulation.json") => {
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .unwrap_or_else(|e| panic!("simulation.json incomplete: {e}"));
                }
                ("", "emission.svg") => {
                    let t = String::from_utf8(bytes).unwrap();
                    assert!(t.trim_end().ends_with("</svg>"), "emission.svg incomplete");
                }
                _ => panic!("unexpected file {}", path.display()),
            }
            complete += 1;
        }
    }
    (complete, temps)
}

#[test]
fn a_killed_simulation_leaves_only_complete_files() {
    let root = scratch("kill");
    let mut checked = 0;
    let mut out = root.clone();
    // Kill at several moments after files start to appear: right away, and later, mid-epoch.
    for (round, delay_ms) in [0u64, 350, 900, 1700].into_iter().enumerate() {
        out = root.join(format!("round-{round}"));
        let receipts = out.join("receipts");
        let mut child = simulate(&out, "400").spawn().unwrap();
        let start = Instant::now();
        while count_files(&receipts) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "simulate wrote nothing in 120 s"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("simulate exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs
        child.wait().unwrap();
        let (complete, _temps) = check_tree(&out);
        assert!(
            complete > 0,
            "round {round}: nothing complete after the kill"
        );
        checked += complete;
    }
    assert!(checked >= 4);
    // A finished run in the same directory clears the temporaries a killed run left.
    let stale = out
        .join("receipts")
        .join(".epoch-999-v0.bin.4242.mycel-tmp");
    std::fs::write(&stale, b"half a file").unwrap();
    let status = simulate(&out, "1").status().unwrap();
    assert!(status.success());
    let (complete, temps) = check_tree(&out);
    assert_eq!(temps, 0, "temporaries left after a complete run");
    assert!(
        complete >= 3,
        "a complete run writes its log, chart and batches"
    );
    assert!(out.join("simulation.json").is_file());
}

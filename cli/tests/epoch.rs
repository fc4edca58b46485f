//! `mycel epoch` end to end: the chain's examples through the binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

const EXAMPLES: &str = include_str!("../../protocol/tests/vectors/yuma_examples.jsonl");

fn mycel(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mycel"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn examples() -> Vec<(Value, Value)> {
    EXAMPLES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["input"].clone(), v["expected"].clone())
        })
        .collect()
}

#[test]
fn jsonl_reproduces_every_chain_example() {
    let ex = examples();
    let input: String = ex.iter().map(|(i, _)| format!("{i}\n")).collect();
    let (code, stdout, stderr) = mycel(&["epoch", "--jsonl"], &input);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), ex.len());
    for (k, (line, (_, want))) in lines.iter().zip(&ex).enumerate() {
        let got: Value = serde_json::from_str(line).unwrap();
        assert_eq!(&got, want, "example {}", k + 1);
    }
}

#[test]
fn single_input_from_file_and_stdin() {
    let (input, want) = examples().swap_remove(6);
    let dir = std::env::temp_dir().join(format!("mycel-epoch-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("in.json");
    std::fs::write(&path, serde_json::to_string_pretty(&input).unwrap()).unwrap();
    let (code, stdout, stderr) = mycel(&["epoch", "--input", path.to_str().unwrap()], "");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), want);
    let (code, stdout, _) = mycel(&["epoch", "--input", "-"], &input.to_string());
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), want);
    let (code, stdout, _) = mycel(&["epoch"], &input.to_string());
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schema_errors_name_the_field() {
    let (mut input, _) = examples().swap_remove(1);
    // Lengths that disagree.
    let mut bad = input.clone();
    bad["stake"].as_array_mut().unwrap().pop();
    let (code, stdout, stderr) = mycel(&["epoch"], &bad.to_string());
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("stake") && stderr.contains("emission.length_mismatch"),
        "{stderr}"
    );
    // A weight on a uid >= n is dropped, as the chain drops it, and reported.
    let mut ok = input.clone();
    ok["weights"][0] = serde_json::json!([[9, 1]]);
    let (code, stdout, stderr) = mycel(&["epoch"], &ok.to_string());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["dropped_weights"],
        serde_json::json!([{"row": 0, "uid": 9, "weight": 1}])
    );
    // A total stake past 2^63 - 1 rao (four uids of 2^62).
    let mut bad = input.clone();
    bad["stake"] = serde_json::json!([1u64 << 62, 1u64 << 62, 1u64 << 62, 1u64 << 62]);
    let (code, _, stderr) = mycel(&["epoch"], &bad.to_string());
    assert_eq!(code, 1);
    assert!(
        stderr.contains("stake") && stderr.contains("emission.stake_out_of_range"),
        "{stderr}"
    );
    // A duplicate uid in a weight row.
    let mut bad = input.clone();
    bad["weights"][0] = serde_json::json!([[1, 5], [2, 5], [1, 7]]);
    let (code, _, stderr) = mycel(&["epoch"], &bad.to_string());
    assert_eq!(code, 1);
    assert!(
        stderr.contains("weights[0]") && stderr.contains("duplicate uid 1"),
        "{stderr}"
    );
    // A missing field, and a line number in --jsonl mode.
    input.as_object_mut().unwrap().remove("kappa");
    let (code, _, stderr) = mycel(
        &["epoch", "--jsonl"],
        &format!("{}\n{input}\n", examples()[0].0),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("line 2") && stderr.contains("kappa"),
        "{stderr}"
    );
    // Unsorted rows are valid input.
    let (mut ok, _) = examples().swap_remove(1);
    ok["weights"][0] = serde_json::json!([[3, 1], [1, 65535], [2, 32767]]);
    let (code, _, stderr) = mycel(&["epoch"], &ok.to_string());
    assert_eq!(code, 0, "{stderr}");
}

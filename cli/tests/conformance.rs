//! `mycel conformance run`: the reference passes every vector, through the adapter protocol
//! too (`mycel conformance serve` as the adapter), and a broken adapter is reported with the
//! failing tcIds and exit status 1.

use std::path::PathBuf;
use std::process::Command;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors")
}

fn run(extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mycel"))
        .args(["conformance", "run", "--vectors"])
        .arg(vectors())
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn the_reference_passes_every_vector() {
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("signatures.json: ") && out.contains(" passed, 0 failed"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn the_reference_served_as_an_adapter_passes_every_vector() {
    let me = env!("CARGO_BIN_EXE_mycel");
    let (code, out) = run(&["--adapter", &format!("'{me}' conformance serve")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().last().unwrap().ends_with(" 0 failed"), "{out}");
}

#[test]
fn a_wrong_adapter_is_reported_case_by_case() {
    // An adapter that answers every case "valid" with an empty output: it must fail exactly the
    // invalid cases and the valid ones with a non-empty output, each named.
    let adapter = r#"while IFS= read -r line; do id=${line#*\"tcId\":}; id=${id%%,*}; printf '{"tcId":%s,"result":"valid","output":{}}\n' "$id"; done"#;
    let (code, out) = run(&["--adapter", adapter, "--area", "merkle"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL merkle.json tcId 1 "), "{out}");
    assert!(out.contains("failing tcIds in merkle.json: "), "{out}");
    // Valid cases with an empty expected output pass: merkle `verify` of a good proof.
    assert!(
        out.contains("merkle.json: ") && !out.contains("merkle.json: 0 passed"),
        "{out}"
    );
}

#[test]
fn an_adapter_that_exits_fails_every_case() {
    let (code, out) = run(&["--adapter", "exit 0", "--area", "commitments"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("commitments.json: 0 passed, "), "{out}");
}

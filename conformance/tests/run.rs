//! The Rust runner: every committed vector file answered by the reference crates, one closing
//! line per file (`N passed, N failed`); the files equal a fresh generation byte for byte; and
//! the structural rules of the format hold (the JSON Schemas are checked by the Python runner).

use std::collections::BTreeSet;
use std::path::PathBuf;

use mycel_conformance::{AREAS, Outcome, load_dir, reference, render, run_file};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn long() -> bool {
    std::env::var_os("MYCEL_CONFORMANCE_LONG").is_some_and(|v| v == "1")
}

#[test]
fn reference_passes_every_vector() {
    let files = load_dir(&dir()).unwrap();
    let mut failed = 0;
    for f in &files {
        let report = run_file(f, &mut |req| Ok(reference::respond(req)), long());
        for x in &report.failed {
            println!("  FAIL {} tcId {}: {}", f.area, x.tc_id, x.reason);
        }
        println!("{report}");
        failed += report.failed.len();
    }
    assert_eq!(failed, 0);
}

#[test]
fn committed_files_equal_a_fresh_generation() {
    for area in AREAS {
        let fresh = mycel_conformance::generate::generate_area(area).unwrap();
        if fresh.number_of_tests == 0 {
            continue;
        }
        let path = dir().join(format!("{area}.json"));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == render(&fresh).unwrap(),
            "{area}.json differs from a fresh generation: run `cargo run -p mycel-conformance --bin generate`"
        );
    }
}

#[test]
fn format_rules_hold() {
    for f in load_dir(&dir()).unwrap() {
        assert_eq!(f.suite, mycel_conformance::SUITE);
        assert!(
            f.suite_version
                .starts_with(&format!("{}.", f.protocol_version))
        );
        assert_eq!(
            f.schema,
            format!("mycel-conformance/v1/schema/{}.schema.json", f.area)
        );
        assert!(!f.spec.is_empty() && f.spec.iter().all(|s| s.starts_with("spec/")));
        let mut ids = BTreeSet::new();
        let mut n = 0;
        for g in &f.test_groups {
            assert!(g.params.is_object());
            for c in &g.tests {
                n += 1;
                assert!(
                    ids.insert(c.tc_id),
                    "{}: duplicate tcId {}",
                    f.area,
                    c.tc_id
                );
                assert_eq!(c.tc_id, n as u64, "{}: tcIds run 1, 2, …", f.area);
                assert!(c.input.is_object());
                match c.result {
                    Outcome::Valid => assert!(
                        c.output.as_ref().is_some_and(|o| o.is_object()) && c.error.is_none()
                    ),
                    Outcome::Invalid => assert!(
                        c.output.is_none() && c.error.as_ref().is_some_and(|e| !e.is_empty())
                    ),
                }
                for flag in &c.flags {
                    assert!(
                        f.notes.contains_key(flag),
                        "{}: flag {flag} has no note",
                        f.area
                    );
                }
            }
        }
        assert_eq!(f.number_of_tests, n, "{}: numberOfTests", f.area);
        // The spec sections the file names exist, and link back to the file.
        for s in &f.spec {
            let file = s.split('#').next().unwrap();
            let text = std::fs::read_to_string(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join(file),
            )
            .unwrap();
            assert!(
                text.contains(&format!("conformance/vectors/{}.json", f.area)),
                "{file} does not link conformance/vectors/{}.json",
                f.area
            );
        }
    }
}

//! Emission (Yuma consensus) tests: the chain's own examples, the u16 weight vectors, hand-worked
//! spec examples, properties, and a float64 re-derivation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod emission_support;

use mycel_protocol::emission::{EpochInput, EpochOutput, epoch, max_upscale_u16};
use serde_json::Value;

const EXAMPLES: &str = include_str!("vectors/yuma_examples.jsonl");
const WEIGHT_VECTORS: &str = include_str!("vectors/yuma_weight_vectors.jsonl");

#[test]
fn chain_examples_pass_exactly() {
    let mut count = 0;
    for (line_no, line) in EXAMPLES.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).unwrap();
        let input: EpochInput = serde_json::from_value(v["input"].clone())
            .unwrap_or_else(|e| panic!("line {}: input: {e}", line_no + 1));
        let out = epoch(&input).unwrap_or_else(|e| panic!("line {}: {e}", line_no + 1));
        let got = serde_json::to_value(&out).unwrap();
        let want = &v["expected"];
        let want_obj = want.as_object().unwrap();
        let got_obj = got.as_object().unwrap();
        assert_eq!(
            got_obj.len(),
            want_obj.len(),
            "line {}: field count",
            line_no + 1
        );
        for (k, w) in want_obj {
            assert_eq!(got_obj.get(k), Some(w), "line {}: field {k}", line_no + 1);
        }
        // The output also round-trips through its own schema.
        let back: EpochOutput = serde_json::from_value(got).unwrap();
        assert_eq!(back, out);
        count += 1;
    }
    assert_eq!(count, 15);
}

#[test]
fn weight_vectors_pass_exactly() {
    let mut count = 0;
    for line in WEIGHT_VECTORS.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["input"]["op"], "max_upscale");
        let values: Vec<u16> = serde_json::from_value(v["input"]["values"].clone()).unwrap();
        let want: Vec<u16> = serde_json::from_value(v["expected"]["values"].clone()).unwrap();
        assert_eq!(max_upscale_u16(&values), want, "values {values:?}");
        count += 1;
    }
    assert_eq!(count, 73);
}

/// The product (closed-form consensus, sparse EMAs, targeted merge scans) against the literal
/// port on random inputs covering every option, including chain-unreachable extremes.
#[test]
fn product_matches_literal_port_on_random_inputs() {
    use emission_support::inputs::{Shape, input};
    let mut checked = 0;
    for seed in 0..3000u64 {
        let shape = Shape {
            max_n: if seed % 10 == 0 { 64 } else { 12 },
            extremes: seed % 7 == 0,
        };
        let inp = input(seed, shape);
        let got = epoch(&inp);
        let want = std::panic::catch_unwind(|| emission_support::literal::epoch(&inp));
        match (got, want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(
                    g,
                    w,
                    "seed {seed}: {}",
                    serde_json::to_string(&inp).unwrap()
                );
                checked += 1;
            }
            (Err(e), Err(_)) => assert_eq!(
                e.code(),
                "emission.bonds_moving_average_overflow",
                "seed {seed}"
            ),
            (g, w) => panic!(
                "seed {seed}: product {:?} vs literal panicked={}",
                g.err(),
                w.is_err()
            ),
        }
    }
    assert!(checked > 2900);
}

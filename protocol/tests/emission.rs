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
            conditioned: seed % 5 == 0,
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

/// Largest absolute differences between the fixed-point product and the float64 re-derivation.
#[derive(Debug, Default)]
struct Errs {
    stake: f64,
    consensus: f64,
    trust: f64,
    incentive: f64,
    dividends: f64,
    bonds: f64,
    norm_emission: f64,
    rao_rel: f64,
}

fn q(x: i64) -> f64 {
    x as f64 / 4_294_967_296.0
}

fn max_diff(a: &[i64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (q(*x) - y).abs())
        .fold(0.0, f64::max)
}

fn compare_float(inp: &EpochInput, errs: &mut Errs) -> bool {
    let fx = epoch(inp).unwrap();
    let fl = emission_support::float::epoch(inp);
    if let Some(why) = fl.ambiguous {
        if std::env::var("FLOAT_DEBUG").is_ok() {
            eprintln!("ambiguous: {why}");
        }
        return false;
    }
    assert_eq!(fx.new_validator_permit, fl.new_validator_permit);
    errs.stake = errs
        .stake
        .max(max_diff(&fx.stake, &fl.stake))
        .max(max_diff(&fx.active_stake, &fl.active_stake));
    errs.consensus = errs.consensus.max(max_diff(&fx.consensus, &fl.consensus));
    errs.trust = errs
        .trust
        .max(max_diff(&fx.validator_trust, &fl.validator_trust));
    errs.incentive = errs.incentive.max(max_diff(&fx.incentive, &fl.incentive));
    errs.dividends = errs.dividends.max(max_diff(&fx.dividends, &fl.dividends));
    for (rx, rf) in fx.ema_bonds.iter().zip(&fl.ema_bonds) {
        let mut cols: Vec<u16> = rx
            .iter()
            .map(|x| x.0)
            .chain(rf.iter().map(|x| x.0))
            .collect();
        cols.sort_unstable();
        cols.dedup();
        for j in cols {
            let a = rx.iter().find(|x| x.0 == j).map_or(0.0, |x| q(x.1));
            let b = rf.iter().find(|x| x.0 == j).map_or(0.0, |x| x.1);
            errs.bonds = errs.bonds.max((a - b).abs());
        }
    }
    for (x, y) in [
        (
            &fx.normalized_server_emission,
            &fl.normalized_server_emission,
        ),
        (
            &fx.normalized_validator_emission,
            &fl.normalized_validator_emission,
        ),
        (
            &fx.normalized_combined_emission,
            &fl.normalized_combined_emission,
        ),
    ] {
        errs.norm_emission = errs.norm_emission.max(max_diff(x, y));
    }
    let e = inp.rao_emission as f64;
    if e > 0.0 {
        for (x, y) in [
            (&fx.server_emission, &fl.server_emission),
            (&fx.validator_emission, &fl.validator_emission),
        ] {
            for (a, b) in x.iter().zip(y) {
                errs.rao_rel = errs.rao_rel.max((*a as f64 - b).abs() / e);
            }
        }
    }
    true
}

/// The float64 re-derivation agrees with the fixed-point epoch within the bound stated in
/// spec/emission.md section 6 (absolute, on values in [0, 1]).
#[test]
fn float64_rederivation_agrees_within_bound() {
    use emission_support::inputs::{Shape, input};
    let mut errs = Errs::default();
    let (mut compared, mut skipped) = (0, 0);
    for seed in 0..2000u64 {
        let inp = input(
            seed ^ 0xF10A7,
            Shape {
                max_n: if seed % 10 == 0 { 80 } else { 16 },
                extremes: false,
                conditioned: true,
            },
        );
        let before = format!("{errs:?}");
        let ok = compare_float(&inp, &mut errs);
        if std::env::var("FLOAT_DEBUG").is_ok() && before != format!("{errs:?}") {
            eprintln!(
                "seed {seed} n {} y3 {} la {} bp {} {errs:?}",
                inp.n, inp.yuma3, inp.liquid_alpha, inp.bonds_penalty
            );
        }
        if ok {
            compared += 1;
        } else {
            skipped += 1;
        }
    }
    eprintln!("compared {compared}, ambiguous {skipped}: {errs:?}");
    assert!(compared >= 1900, "too many ambiguous inputs: {skipped}");
    // 1e-6 on every normalised quantity; 1e-5 on EMA bonds (max-upscaling and liquid alpha
    // amplify the Q32 rounding of small bond shares), checked as bonds/10 <= 1e-6.
    const BOUND: f64 = 1e-6;
    for (name, v) in [
        ("stake", errs.stake),
        ("consensus", errs.consensus),
        ("validator_trust", errs.trust),
        ("incentive", errs.incentive),
        ("dividends", errs.dividends),
        ("ema_bonds", errs.bonds / 10.0),
        ("normalized emission", errs.norm_emission),
        ("rao emission / E", errs.rao_rel),
    ] {
        assert!(v <= BOUND, "{name}: {v:e} > {BOUND:e}");
    }
}

//! Emission (Yuma consensus) tests: the chain's own examples, the u16 weight vectors, hand-worked
//! spec examples, properties, and a float64 re-derivation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::needless_range_loop,
    clippy::single_element_loop,
    clippy::manual_is_multiple_of
)]

mod emission_support;

use mycel_protocol::emission::{EpochInput, EpochOutput, epoch, max_upscale_u16};
use serde_json::Value;

const EXAMPLES: &str = include_str!("vectors/yuma_examples.jsonl");
const WEIGHT_VECTORS: &str = include_str!("vectors/yuma_weight_vectors.jsonl");

const DROPPED_WEIGHT_VECTORS: &str = include_str!("vectors/yuma_dropped_weights.jsonl");

#[test]
fn chain_examples_pass_exactly() {
    assert_eq!(check_vectors(EXAMPLES), 15);
}

/// The derived vectors (marked `derived`; vectors/derive_dropped_weights.py): each chain vector
/// with weight entries on uids >= n added, which the chain drops when it loads the weights
/// (YUMA.md S5), so every output is the chain's own, plus the list of dropped entries.
#[test]
fn derived_dropped_weight_vectors_pass_exactly() {
    for line in DROPPED_WEIGHT_VECTORS.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            v["derived"]
                .as_str()
                .unwrap()
                .starts_with("derived from chain vector")
        );
        assert!(
            !v["expected"]["dropped_weights"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(check_vectors(DROPPED_WEIGHT_VECTORS), 15);
}

/// Runs every vector of a JSONL file and compares every output field exactly; returns the count.
fn check_vectors(lines: &str) -> usize {
    let mut count = 0;
    for (line_no, line) in lines.lines().enumerate() {
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
    count
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
    let (mut checked, mut out_of_range) = (0, 0);
    for seed in 0..3000u64 {
        let shape = Shape {
            max_n: if seed % 10 == 0 { 64 } else { 12 },
            extremes: seed % 7 == 0,
            conditioned: seed % 5 == 0,
        };
        let inp = input(seed, shape);
        let total: u128 = inp
            .stake
            .iter()
            .chain(inp.tao_stake.iter().flatten())
            .map(|&s| u128::from(s))
            .sum();
        let got = epoch(&inp);
        let want = std::panic::catch_unwind(|| emission_support::literal::epoch(&inp));
        match (got, want) {
            // Stakes past 2^63 − 1 in total are rejected (hole 6), exactly those.
            (Err(e), _) if e.code() == "emission.stake_out_of_range" => {
                assert!(total >= 1 << 63, "seed {seed}: total {total} rejected");
                out_of_range += 1;
            }
            (Ok(g), Ok(w)) => {
                assert!(total < 1 << 63, "seed {seed}: total {total} accepted");
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
    assert!(checked > 2800, "{checked} compared");
    assert!(out_of_range > 20, "{out_of_range} out of range");
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

mod properties {
    use super::emission_support::inputs::{Rng, Shape, input};
    use mycel_protocol::emission::fixed::{ONE, normalize, ratio_u16};
    use mycel_protocol::emission::{EpochInput, epoch};
    use proptest::prelude::*;

    fn realistic(seed: u64) -> EpochInput {
        input(
            seed,
            Shape {
                max_n: 24,
                extremes: false,
                conditioned: seed % 2 == 0,
            },
        )
    }

    fn sum(v: &[i64]) -> i128 {
        v.iter().map(|&x| i128::from(x)).sum()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Σ incentive and Σ dividends are 0 or within n units (Q32) below 1 (spec section 6).
        #[test]
        fn incentive_and_dividends_are_normalised(seed in any::<u64>()) {
            let inp = realistic(seed);
            let out = epoch(&inp).unwrap();
            let n = i128::from(inp.n);
            for v in [&out.incentive, &out.dividends] {
                let s = sum(v);
                prop_assert!(s == 0 || (i128::from(ONE) - n <= s && s <= i128::from(ONE)), "sum {s}");
            }
        }

        /// Σ server + Σ validator ≤ E, and the dust lost is at most 2n rao plus 2n/2^32 of E.
        #[test]
        fn emission_is_conserved_within_rounding(seed in any::<u64>()) {
            let inp = realistic(seed);
            let out = epoch(&inp).unwrap();
            let e = i128::from(inp.rao_emission);
            let paid: i128 = out.server_emission.iter().chain(&out.validator_emission).map(|&x| i128::from(x)).sum();
            prop_assert!(paid <= e, "paid {paid} > E {e}");
            if sum(&out.stake) != 0 {
                let n = i128::from(inp.n);
                let bound = 2 * n + (2 * n * e + (1 << 32) - 1) / (1 << 32);
                prop_assert!(e - paid <= bound, "deficit {} > {bound}", e - paid);
            }
        }

        /// A coalition holding less than κ of the validator stake cannot lift any miner's
        /// consensus above the highest weight an honest validator gives it, whatever it submits.
        #[test]
        fn minority_coalition_cannot_lift_consensus(seed in any::<u64>(), attack in any::<u64>()) {
            let mut inp = realistic(seed);
            let n = inp.n as usize;
            let before = epoch(&inp).unwrap();
            let v: Vec<usize> = (0..n).filter(|&i| before.active_stake[i] > 0).collect();
            let mut sigma: Vec<i64> = v.iter().map(|&i| before.active_stake[i]).collect();
            normalize(&mut sigma);
            let kappa = ratio_u16(inp.kappa);
            let mut r = Rng(attack);
            let mut coalition = vec![false; n];
            let mut mass = 0i64;
            for (k, &i) in v.iter().enumerate() {
                if r.chance(50) && mass + sigma[k] < kappa {
                    mass += sigma[k];
                    coalition[i] = true;
                }
            }
            // The coalition puts full weight on a random set of miners (excluding itself).
            for i in (0..n).filter(|&i| coalition[i]) {
                inp.weights[i] = (0..n as u16)
                    .filter(|&j| j as usize != i && r.chance(40))
                    .map(|j| (j, 65535))
                    .collect();
            }
            let after = epoch(&inp).unwrap();
            for j in 0..n {
                let honest_max = v
                    .iter()
                    .filter(|&&i| !coalition[i])
                    .map(|&i| after.weights[i].iter().find(|x| x.0 as usize == j).map_or(0, |x| x.1))
                    .max()
                    .unwrap_or(0);
                prop_assert!(after.consensus[j] <= honest_max.max(0) || v.iter().all(|&i| coalition[i]),
                    "column {j}: consensus {} > honest max {honest_max}", after.consensus[j]);
            }
        }

        /// Two validators with the same stake, activity, rows and bonds get the same dividends.
        #[test]
        fn identical_validators_get_identical_dividends(seed in any::<u64>()) {
            let mut inp = realistic(seed);
            let n = inp.n as usize;
            prop_assume!(n >= 4);
            let (u, w) = (0usize, n - 1);
            for (dst, src) in [(w, u)] {
                inp.stake[dst] = inp.stake[src];
                if let Some(t) = inp.tao_stake.as_mut() { t[dst] = t[src]; }
                inp.last_update[dst] = inp.last_update[src];
                inp.validator_permit[dst] = inp.validator_permit[src];
                if let Some(c) = inp.commit_blocks.as_mut() { c[dst] = c[src]; }
                let strip = |row: &Vec<(u16, u16)>| -> Vec<(u16, u16)> {
                    row.iter().copied().filter(|&(j, _)| j as usize != u && j as usize != w).collect()
                };
                inp.weights[src] = strip(&inp.weights[src]);
                inp.weights[dst] = inp.weights[src].clone();
                inp.bonds[src] = strip(&inp.bonds[src]);
                inp.bonds[dst] = inp.bonds[src].clone();
            }
            if inp.owner_uid.is_some_and(|o| o as usize == u || o as usize == w) {
                inp.owner_uid = None;
            }
            let out = epoch(&inp).unwrap();
            prop_assert_eq!(out.dividends[u], out.dividends[w]);
            prop_assert_eq!(out.validator_emission[u], out.validator_emission[w]);
            prop_assert_eq!(out.validator_trust[u], out.validator_trust[w]);
        }

        /// Relabelling uids (with rows kept in ascending order) permutes every output.
        #[test]
        fn relabelling_permutes_outputs(seed in any::<u64>(), perm_seed in any::<u64>()) {
            let mut inp = realistic(seed);
            let n = inp.n as usize;
            for row in inp.weights.iter_mut().chain(inp.bonds.iter_mut()) {
                row.sort_unstable_by_key(|x| x.0);
            }
            if inp.previous_consensus.as_ref().is_some_and(|p| p.len() != n) {
                inp.previous_consensus = None;
            }
            // Tied non-zero stakes make the permit cut depend on uid order: keep them distinct.
            let mut st = inp.stake.clone();
            st.sort_unstable();
            prop_assume!(st.windows(2).all(|w| w[0] == 0 || w[0] != w[1]) && inp.tao_stake.is_none());
            let mut r = Rng(perm_seed);
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let k = r.below(i as u64 + 1) as usize;
                p.swap(i, k);
            }
            // New uid p[i] holds old uid i.
            let map = |j: u16| if (j as usize) < n { p[j as usize] as u16 } else { j };
            let permute = |v: &Vec<u64>| { let mut o = v.clone(); for i in 0..n { o[p[i]] = v[i]; } o };
            let mut q = inp.clone();
            q.last_update = permute(&inp.last_update);
            q.block_at_registration = permute(&inp.block_at_registration);
            q.stake = permute(&inp.stake);
            for i in 0..n {
                q.validator_permit[p[i]] = inp.validator_permit[i];
                let remap = |row: &Vec<(u16, u16)>| {
                    let mut r: Vec<(u16, u16)> = row.iter().map(|&(j, x)| (map(j), x)).collect();
                    r.sort_unstable_by_key(|x| x.0);
                    r
                };
                q.weights[p[i]] = remap(&inp.weights[i]);
                q.bonds[p[i]] = remap(&inp.bonds[i]);
                if let (Some(c), Some(orig)) = (q.commit_blocks.as_mut(), inp.commit_blocks.as_ref()) {
                    c[p[i]] = orig[i];
                }
                if let (Some(c), Some(orig)) = (q.previous_consensus.as_mut(), inp.previous_consensus.as_ref()) {
                    c[p[i]] = orig[i];
                }
            }
            q.owner_uid = inp.owner_uid.map(map);
            let a = epoch(&inp).unwrap();
            let b = epoch(&q).unwrap();
            let sorted = |row: &Vec<(u16, i64)>| { let mut r = row.clone(); r.sort_unstable(); r };
            for i in 0..n {
                let k = p[i];
                prop_assert_eq!(a.consensus[i], b.consensus[k]);
                prop_assert_eq!(a.incentive[i], b.incentive[k]);
                prop_assert_eq!(a.dividends[i], b.dividends[k]);
                prop_assert_eq!(a.validator_trust[i], b.validator_trust[k]);
                prop_assert_eq!(a.server_emission[i], b.server_emission[k]);
                prop_assert_eq!(a.validator_emission[i], b.validator_emission[k]);
                prop_assert_eq!(a.new_validator_permit[i], b.new_validator_permit[k]);
                let ra: Vec<(u16, i64)> = sorted(&a.ema_bonds[i].iter().map(|&(j, x)| (map(j), x)).collect());
                prop_assert_eq!(ra, sorted(&b.ema_bonds[k]));
            }
        }
    }
}

mod worked_examples {
    //! The worked examples of spec/emission.md section 5, whose numbers were computed there by
    //! hand (integer arithmetic, rule by rule), independently of this crate.
    use mycel_protocol::emission::{ConsensusMode, EpochInput, epoch};

    /// `n` uids, nobody staked, permitted or weighting; the chain's default parameters (Yuma 2,
    /// κ = ½, β = 1, bonds moving average 0.9), every uid active and registered at block 0.
    pub(super) fn base(n: usize) -> EpochInput {
        EpochInput {
            n: n as u16,
            current_block: 1000,
            tempo: 360,
            activity_cutoff: 5000,
            last_mechanism_step_block: 0,
            last_update: vec![999; n],
            block_at_registration: vec![0; n],
            stake: vec![0; n],
            tao_stake: None,
            tao_weight: 0,
            stake_threshold: 0,
            owner_uid: None,
            validator_permit: vec![false; n],
            max_allowed_validators: 64,
            weights: vec![vec![]; n],
            bonds: vec![vec![]; n],
            commit_reveal_enabled: false,
            commit_blocks: None,
            kappa: 32767,
            bonds_penalty: 65535,
            bonds_moving_average: 900_000,
            yuma3: false,
            liquid_alpha: false,
            alpha_low: 45875,
            alpha_high: 58982,
            alpha_sigmoid_steepness: 1000,
            liquid_alpha_consensus_mode: ConsensusMode::Current,
            previous_consensus: None,
            rao_emission: 1_000_000_000,
        }
    }

    /// Example A: a consensus decided by a stake mass exactly equal to κ (P8, the `≥`).
    #[test]
    fn example_a_kappa_tie_yuma2() {
        let mut inp = base(4);
        inp.stake = vec![2_147_450_879, 2_147_516_417, 0, 0];
        inp.validator_permit = vec![true, true, false, false];
        inp.weights = vec![vec![(2, 3), (3, 1)], vec![(2, 1), (3, 3)], vec![], vec![]];
        let out = epoch(&inp).unwrap();
        assert_eq!(out.stake, vec![2_147_450_879, 2_147_516_417, 0, 0]);
        assert_eq!(out.active_stake, vec![2_147_450_879, 2_147_516_417, 0, 0]);
        assert_eq!(out.weights[0], vec![(2, 3_221_225_472), (3, 1_073_741_824)]);
        assert_eq!(out.consensus, vec![0, 0, 3_221_225_472, 3_221_225_472]);
        assert_eq!(out.validator_trust, vec![1 << 32, 1 << 32, 0, 0]);
        assert_eq!(out.ranks, vec![0, 0, 2_147_467_263, 2_147_500_031]);
        assert_eq!(out.incentive, vec![0, 0, 2_147_467_263, 2_147_500_032]);
        assert_eq!(out.dividends, vec![2_147_450_875, 2_147_516_420, 0, 0]);
        assert_eq!(
            out.normalized_server_emission,
            vec![0, 0, 1_073_733_631, 1_073_750_016]
        );
        assert_eq!(
            out.normalized_validator_emission,
            vec![1_073_725_437, 1_073_758_210, 0, 0]
        );
        assert_eq!(out.server_emission, vec![0, 0, 249_998_092, 250_001_907]);
        assert_eq!(out.validator_emission, vec![249_996_184, 250_003_815, 0, 0]);
        assert_eq!(
            out.new_bonds,
            vec![
                vec![(2, 65535), (3, 21844)],
                vec![(2, 21845), (3, 65535)],
                vec![],
                vec![]
            ]
        );
        assert_eq!(out.consensus_u16, vec![0, 0, 49151, 49151]);
        assert_eq!(out.incentive_u16, vec![0, 0, 32767, 32767]);
        assert_eq!(out.dividends_u16, vec![32766, 32768, 0, 0]);
    }

    fn example_b_input() -> EpochInput {
        let mut inp = base(3);
        inp.stake = vec![1_000_000_000_000, 0, 0];
        inp.validator_permit = vec![true, false, false];
        inp.weights = vec![vec![(1, 65535)], vec![], vec![]];
        inp.bonds = vec![vec![(1, 30000), (2, 40000)], vec![], vec![]];
        inp.yuma3 = true;
        inp
    }

    /// Example B: Yuma3 with liquid alpha; the bond to miner 2, absent from the weights, is
    /// dropped, not decayed (P5).
    #[test]
    fn example_b_liquid_alpha_drops_absent_bonds() {
        let mut inp = example_b_input();
        inp.liquid_alpha = true;
        let out = epoch(&inp).unwrap();
        assert_eq!(out.consensus, vec![0, 1 << 32, 0]);
        assert_eq!(out.ema_bonds[0], vec![(1, 3_599_445_213)]);
        assert_eq!(out.new_bonds[0], vec![(1, 54922)]);
    }

    /// Example C: Yuma3 with a fixed alpha of 0 keeps every bond, and each loses one u16 unit
    /// in the round trip (P3).
    #[test]
    fn example_c_u16_round_trip_drifts_down() {
        let mut inp = example_b_input();
        inp.bonds_moving_average = 1_000_000;
        let out = epoch(&inp).unwrap();
        assert_eq!(out.new_bonds[0], vec![(1, 29999), (2, 39999)]);
    }
}

pub(crate) mod edge_cases {
    //! The edge cases spec/emission.md defines, each against its rule (and the literal port).
    use super::emission_support::literal;
    use mycel_protocol::emission::{ConsensusMode, EpochInput, epoch};

    pub(crate) fn net() -> EpochInput {
        // Validators 0, 1 (permits), miners 2, 3; everyone active and registered at block 0.
        EpochInput {
            n: 4,
            current_block: 1000,
            tempo: 360,
            activity_cutoff: 5000,
            last_mechanism_step_block: 0,
            last_update: vec![999; 4],
            block_at_registration: vec![0; 4],
            stake: vec![600, 400, 0, 0],
            tao_stake: None,
            tao_weight: 0,
            stake_threshold: 0,
            owner_uid: None,
            validator_permit: vec![true, true, false, false],
            max_allowed_validators: 64,
            weights: vec![vec![(2, 65535), (3, 100)], vec![(2, 65535)], vec![], vec![]],
            bonds: vec![vec![]; 4],
            commit_reveal_enabled: false,
            commit_blocks: None,
            kappa: 32767,
            bonds_penalty: 65535,
            bonds_moving_average: 900_000,
            yuma3: false,
            liquid_alpha: false,
            alpha_low: 45875,
            alpha_high: 58982,
            alpha_sigmoid_steepness: 1000,
            liquid_alpha_consensus_mode: ConsensusMode::Current,
            previous_consensus: None,
            rao_emission: 1_000_000,
        }
    }

    fn run(inp: &EpochInput) -> mycel_protocol::emission::EpochOutput {
        let out = epoch(inp).unwrap();
        assert_eq!(out, literal::epoch(inp));
        out
    }

    #[test]
    fn empty_subnet() {
        let mut inp = net();
        inp.n = 0;
        for v in [
            &mut inp.last_update,
            &mut inp.block_at_registration,
            &mut inp.stake,
        ] {
            v.clear();
        }
        inp.validator_permit.clear();
        inp.weights.clear();
        inp.bonds.clear();
        let out = run(&inp);
        assert!(
            out.active.is_empty() && out.consensus.is_empty() && out.server_emission.is_empty()
        );
    }

    #[test]
    fn zero_total_stake_pays_nobody() {
        let mut inp = net();
        inp.stake = vec![0; 4];
        let out = run(&inp);
        assert_eq!(out.stake, vec![0; 4]);
        assert_eq!(out.consensus, vec![0; 4]);
        assert!(
            out.server_emission
                .iter()
                .chain(&out.validator_emission)
                .all(|&e| e == 0)
        );
        assert_eq!(out.new_validator_permit, vec![false; 4]);
    }

    #[test]
    fn no_validators_pays_by_stake() {
        // No permits: every row is masked, Z = 0 and Σa = 0, so validators are paid by s (P11).
        let mut inp = net();
        inp.validator_permit = vec![false; 4];
        let out = run(&inp);
        assert_eq!(out.active_stake, vec![0; 4]);
        assert!(out.weights.iter().all(Vec::is_empty));
        assert_eq!(out.normalized_validator_emission, out.stake);
        assert_eq!(out.server_emission, vec![0; 4]);
        // s = floor(0.6·2^32), floor(0.4·2^32); rao = floor(s·10^6 / 2^32) (P2, P11).
        assert_eq!(out.stake, vec![2_576_980_377, 1_717_986_918, 0, 0]);
        assert_eq!(out.validator_emission, vec![599_999, 399_999, 0, 0]);
    }

    #[test]
    fn all_zero_weights_pay_by_active_stake() {
        let mut inp = net();
        inp.weights = vec![vec![(2, 0), (3, 0)], vec![(2, 0)], vec![], vec![]];
        let out = run(&inp);
        // Explicit zeros are kept, unnormalised (P6).
        assert_eq!(out.weights[0], vec![(2, 0), (3, 0)]);
        assert_eq!(out.consensus, vec![0; 4]);
        assert_eq!(out.normalized_validator_emission, out.active_stake);
        assert_eq!(out.validator_emission, vec![599_999, 399_999, 0, 0]);
    }

    #[test]
    fn self_weights_are_masked_except_the_owner() {
        let mut inp = net();
        inp.weights[0] = vec![(0, 65535), (2, 65535)];
        let out = run(&inp);
        assert_eq!(out.weights[0], vec![(2, 1 << 32)]);
        inp.owner_uid = Some(0);
        let out = run(&inp);
        assert_eq!(out.weights[0], vec![(0, 1 << 31), (2, 1 << 31)]);
    }

    #[test]
    fn outdated_weights_are_masked() {
        // Miner 3 registered at block 999, validator 0 last set weights at 999: lu <= reg (P9).
        let mut inp = net();
        inp.block_at_registration[3] = 999;
        let out = run(&inp);
        assert_eq!(out.weights[0], vec![(2, 1 << 32)]);
    }

    #[test]
    fn inactive_validator_has_no_active_stake() {
        let mut inp = net();
        inp.last_update[1] = 1; // 1 + 5000 >= 1000 is still active
        assert!(run(&inp).active[1]);
        inp.activity_cutoff = 998; // 1 + 998 < 1000: inactive
        let out = run(&inp);
        assert!(!out.active[1]);
        assert_eq!(out.active_stake[1], 0);
        assert_eq!(out.active_stake[0], 1 << 32);
    }

    #[test]
    fn single_uid() {
        let mut inp = net();
        inp.n = 1;
        inp.last_update.truncate(1);
        inp.block_at_registration.truncate(1);
        inp.stake.truncate(1);
        inp.validator_permit.truncate(1);
        inp.weights = vec![vec![(0, 65535)]];
        inp.bonds = vec![vec![]];
        let out = run(&inp);
        assert!(out.weights[0].is_empty(), "self weight masked");
        assert_eq!(out.validator_emission, vec![1_000_000]);
    }

    #[test]
    fn p12_yuma3_fixed_alpha_overflow_is_an_error() {
        let mut inp = net();
        inp.yuma3 = true;
        inp.bonds_moving_average = 2_147_483_648_000_000; // 2^31 * 10^6
        assert_eq!(
            epoch(&inp).unwrap_err().code(),
            "emission.bonds_moving_average_overflow"
        );
        inp.bonds_moving_average -= 1;
        assert!(epoch(&inp).is_ok());
        inp.yuma3 = false; // the Yuma2 path saturates instead
        inp.bonds_moving_average = u64::MAX;
        assert!(epoch(&inp).is_ok());
    }
}

mod stake_bound {
    //! Hole 6 of issue #19: a total stake of 2^63 rao or more wraps the chain's Q64 stake sum
    //! (P1), and the epoch could pay more than it emits. `EpochInput::validate` rejects every
    //! input above `MAX_TOTAL_STAKE`; below it, no accepted input pays more than `E`.
    use super::edge_cases::net;
    use super::emission_support::inputs::{Rng, Shape, input};
    use super::emission_support::literal;
    use mycel_protocol::emission::{EmissionError, EpochInput, MAX_TOTAL_STAKE, epoch};
    use proptest::prelude::*;

    fn total_stake(inp: &EpochInput) -> u128 {
        inp.stake
            .iter()
            .chain(inp.tao_stake.iter().flatten())
            .map(|&s| u128::from(s))
            .sum()
    }

    fn paid(v: &[u64]) -> u128 {
        v.iter().map(|&x| u128::from(x)).sum()
    }

    /// The attack of the issue: four uids with 2^62 rao each. Without the bound (the literal
    /// port of the chain's code, which has no validation) the wrapped sum pays far more than
    /// `E`; the epoch rejects the input and names the bound.
    #[test]
    fn four_uids_of_2_pow_62_are_rejected() {
        let mut inp = net();
        inp.stake = vec![1 << 62; 4];
        inp.validator_permit = vec![true; 4];
        inp.weights = vec![vec![(2, 65535), (3, 100)], vec![(2, 65535)], vec![], vec![]];
        inp.rao_emission = 1_000_000_000;
        let unchecked = literal::epoch(&inp);
        let e = u128::from(inp.rao_emission);
        assert!(
            paid(&unchecked.server_emission) + paid(&unchecked.validator_emission) > 1000 * e,
            "the hole: the unchecked epoch pays more than it emits"
        );
        let err = epoch(&inp).unwrap_err();
        assert_eq!(
            err,
            EmissionError::StakeOutOfRange {
                total: 1 << 64,
                max: (1 << 63) - 1
            }
        );
        assert_eq!(err.code(), "emission.stake_out_of_range");
        assert_eq!(err.field(), "stake");
        assert!(err.to_string().contains("9223372036854775807"), "{err}");
    }

    /// The bound is exactly 2^63 − 1 rao, alpha and tao stake together; at the bound the epoch
    /// runs and pays at most `E`.
    #[test]
    fn bound_is_inclusive_and_counts_tao_stake() {
        assert_eq!(MAX_TOTAL_STAKE, (1 << 63) - 1);
        let mut inp = net();
        let quarter = MAX_TOTAL_STAKE / 4;
        inp.stake = vec![quarter, quarter, quarter, MAX_TOTAL_STAKE - 3 * quarter];
        inp.rao_emission = u64::MAX;
        assert_eq!(total_stake(&inp), u128::from(MAX_TOTAL_STAKE));
        let out = epoch(&inp).unwrap();
        assert!(
            paid(&out.server_emission) + paid(&out.validator_emission)
                <= u128::from(inp.rao_emission)
        );
        assert_eq!(out, literal::epoch(&inp));
        // One more rao of tao stake (even with tao_weight 0) is out of range.
        inp.tao_stake = Some(vec![0, 0, 1, 0]);
        assert_eq!(
            epoch(&inp).unwrap_err().code(),
            "emission.stake_out_of_range"
        );
        // A single stake of 2^63 alone is out of range too.
        let mut one = net();
        one.stake = vec![1 << 63, 0, 0, 0];
        assert_eq!(
            epoch(&one).unwrap_err(),
            EmissionError::StakeOutOfRange {
                total: 1 << 63,
                max: MAX_TOTAL_STAKE
            }
        );
    }

    /// Stakes drawn to straddle the bound: few uids, each up to 2^63, some tao stake.
    fn near_bound(seed: u64) -> EpochInput {
        let mut r = Rng(seed);
        let mut inp = input(
            seed,
            Shape {
                max_n: 8,
                extremes: true,
                conditioned: false,
            },
        );
        let n = usize::from(inp.n);
        let parts = (n as u64).max(1);
        inp.stake = (0..n)
            .map(|_| match r.below(4) {
                0 => r.below(1 << 63),
                1 => MAX_TOTAL_STAKE / parts - r.below(1 << 20),
                2 => MAX_TOTAL_STAKE / parts + r.below(1 << 20),
                _ => r.below(1 << 40),
            })
            .collect();
        if r.chance(30) {
            inp.tao_stake = Some((0..n).map(|_| r.below(1 << 61)).collect());
        }
        if r.chance(50) {
            inp.rao_emission = u64::MAX - r.below(1000);
        }
        inp
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// On every accepted input, Σ server + Σ validator ≤ E and Σ combined ≤ E; every
        /// rejected input is above the bound (and only the stake bound rejects it).
        #[test]
        fn accepted_inputs_never_pay_more_than_emitted(seed in any::<u64>(), near in any::<bool>()) {
            let inp = if near {
                near_bound(seed)
            } else {
                input(seed, Shape { max_n: 24, extremes: true, conditioned: false })
            };
            let total = total_stake(&inp);
            match epoch(&inp) {
                Ok(out) => {
                    prop_assert!(total <= u128::from(MAX_TOTAL_STAKE));
                    let e = u128::from(inp.rao_emission);
                    let split = paid(&out.server_emission) + paid(&out.validator_emission);
                    prop_assert!(split <= e, "paid {split} > E {e}");
                    prop_assert!(paid(&out.combined_emission) <= e);
                    prop_assert!(out.stake.iter().all(|&s| (0..=1i64 << 32).contains(&s)));
                }
                Err(EmissionError::StakeOutOfRange { total: t, .. }) => {
                    prop_assert_eq!(t, total);
                    prop_assert!(total > u128::from(MAX_TOTAL_STAKE));
                }
                Err(e) => prop_assert_eq!(e.code(), "emission.bonds_moving_average_overflow"),
            }
        }
    }
}

mod fast_path_preconditions {
    //! The epoch's u64 fast paths run only on rows whose construction proved them in range
    //! (every entry of S5's `W` in [0, 1], uids strictly ascending). These inputs sit just
    //! outside those conditions, where a wrong proof would change the result, and compare the
    //! product with the literal port.
    use super::emission_support;
    use super::worked_examples::base;
    use emission_support::inputs::{Rng, Shape, input};
    use mycel_protocol::emission::{EpochInput, epoch};

    fn compare(inp: &EpochInput, what: &str) -> bool {
        let got = epoch(inp);
        let want = std::panic::catch_unwind(|| emission_support::literal::epoch(inp));
        match (got, want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(g, w, "{what}: {}", serde_json::to_string(inp).unwrap());
                true
            }
            _ => false,
        }
    }

    /// Weight and bond rows that hold the same uids in the same order, often not ascending
    /// (submission order): Yuma 2's EMA must not take its aligned-rows form on an unsorted row.
    #[test]
    fn weights_and_bonds_in_the_same_unsorted_order() {
        let (mut checked, mut unsorted_rows) = (0, 0);
        for seed in 0..600u64 {
            let shape = Shape {
                max_n: if seed % 4 == 0 { 40 } else { 12 },
                extremes: false,
                conditioned: false,
            };
            let mut inp = input(seed, shape);
            inp.yuma3 = false;
            let mut r = Rng(seed ^ 0xB0D5);
            inp.bonds = inp
                .weights
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|&(j, _)| (j, r.below(65536) as u16))
                        .collect()
                })
                .collect();
            unsorted_rows += inp
                .weights
                .iter()
                .filter(|row| row.windows(2).any(|p| p[0].0 > p[1].0))
                .count();
            checked += usize::from(compare(&inp, &format!("seed {seed}")));
        }
        assert!(checked > 500, "{checked} compared");
        assert!(unsorted_rows > 1000, "{unsorted_rows} unsorted rows");
    }

    /// A weight row and a bond row of the same length and the same first and last uids whose
    /// middle uids differ, the misplaced bond far above its neighbour column's bond sum: the
    /// EMA's u64 row loop meets the difference only while computing, and must discard that row
    /// without overflowing (a debug build checks every operation) and compute it the general way.
    #[test]
    fn same_length_rows_whose_middle_uids_differ() {
        let mut inp = base(4);
        inp.stake = vec![2_000_000_000, 1_000_000_000, 1_000_000_000, 0];
        inp.validator_permit = vec![true, true, true, false];
        inp.weights = vec![
            vec![(1, 30_000), (2, 30_000), (3, 30_000)],
            vec![(0, 20_000), (2, 40_000), (3, 10_000)],
            vec![(0, 10_000), (1, 50_000), (3, 5_000)],
            vec![],
        ];
        // Row 0's bonds: uid 0 where its weights have uid 2, with 65 535 against column 2's
        // bond sum of 1.
        inp.bonds = vec![
            vec![(1, 10), (0, 65_535), (3, 10)],
            vec![(0, 7), (2, 1), (3, 9)],
            vec![(0, 5), (1, 6), (3, 8)],
            vec![],
        ];
        assert!(
            compare(&inp, "middle uids differ"),
            "the literal port must run it"
        );
    }

    /// A row whose kept weights sum to at least 2^31 whole units: `T · 2^32` wraps to a
    /// non-positive `I32F32`, the chain then leaves the row unnormalised (entries `w · 2^32`, far
    /// above 1) and every later pass must take its general form on that row.
    #[test]
    fn a_weight_row_summing_past_2_pow_31() {
        let n = 32_770usize;
        let mut inp = base(n);
        inp.stake[0] = 3_000_000_000;
        inp.stake[1] = 1_000_000_000;
        inp.validator_permit[0] = true;
        inp.validator_permit[1] = true;
        // Row 0: every uid at 65 535 (its own is masked: T = 32 769 · 65 535 ≥ 2^31).
        // Row 1: an ordinary row on the first uids.
        let full: Vec<(u16, u16)> = (0..n as u16).map(|j| (j, 65_535)).collect();
        let small: Vec<(u16, u16)> = (0..8u16).map(|j| (j, 1_000 + 100 * j)).collect();
        inp.weights = vec![vec![]; n];
        inp.weights[0] = full.clone();
        inp.weights[1] = small.clone();
        inp.bonds = vec![vec![]; n];
        inp.bonds[0] = full.iter().map(|&(j, _)| (j, 1_000)).collect();
        inp.bonds[1] = small.iter().map(|&(j, _)| (j, 2_000)).collect();
        let out = epoch(&inp).expect("valid input");
        assert!(
            out.weights[0].iter().any(|e| e.1 > 1 << 32),
            "row 0 is left unnormalised"
        );
        assert!(compare(&inp, "T ≥ 2^31"), "the literal port must run it");
    }
}

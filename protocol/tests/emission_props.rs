//! Emission invariants (issue #15) that `emission.rs`'s properties do not already cover
//! (those check normalisation, conservation, that a coalition under κ cannot lift consensus,
//! equal dividends for identical validators and relabelling):
//!
//! * monotone in stake: of two validators with identical weights, bonds, activity and permits,
//!   the one with more stake gets at least the dividends and validator emission of the other;
//! * a coalition under κ cannot lower consensus either: every column keeps at least the
//!   highest score that the honest validators alone back with σ-mass κ, whatever the coalition
//!   submits (spec/emission.md S6: the highest score whose σ-mass at or above it is ≥ κ).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::needless_range_loop
)]

#[path = "emission_support/inputs.rs"]
mod inputs;

use inputs::{Rng, Shape, input};
use mycel_protocol::emission::fixed::{normalize, ratio_u16};
use mycel_protocol::emission::{EpochInput, epoch};
use proptest::prelude::*;

fn realistic(seed: u64) -> EpochInput {
    input(
        seed,
        Shape {
            max_n: 24,
            extremes: false,
            conditioned: seed.is_multiple_of(2),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Validators `u` and `w` share everything but stake, `u` having `extra` more: `u` gets at
    /// least `w`'s dividends and validator emission.
    #[test]
    fn dividends_are_monotone_in_stake(seed in any::<u64>(), extra in 1u64..=1_000_000_000_000) {
        let mut inp = realistic(seed);
        let n = inp.n as usize;
        prop_assume!(n >= 4);
        let (u, w) = (0usize, n - 1);
        let strip = |row: &Vec<(u16, u16)>| -> Vec<(u16, u16)> {
            row.iter().copied().filter(|&(j, _)| j as usize != u && j as usize != w).collect()
        };
        inp.weights[u] = strip(&inp.weights[u]);
        inp.weights[w] = inp.weights[u].clone();
        inp.bonds[u] = strip(&inp.bonds[u]);
        inp.bonds[w] = inp.bonds[u].clone();
        inp.last_update[w] = inp.last_update[u];
        inp.block_at_registration[w] = inp.block_at_registration[u];
        inp.validator_permit[w] = inp.validator_permit[u];
        if let Some(t) = inp.tao_stake.as_mut() { t[w] = t[u]; }
        if let Some(c) = inp.commit_blocks.as_mut() { c[w] = c[u]; }
        if inp.owner_uid.is_some_and(|o| o as usize == u || o as usize == w) {
            inp.owner_uid = None;
        }
        inp.stake[u] = inp.stake[w].saturating_add(extra);
        let out = epoch(&inp).unwrap();
        prop_assert!(out.dividends[u] >= out.dividends[w],
            "dividends {} < {} with more stake", out.dividends[u], out.dividends[w]);
        prop_assert!(out.validator_emission[u] >= out.validator_emission[w],
            "validator emission {} < {} with more stake",
            out.validator_emission[u], out.validator_emission[w]);
    }

    /// A coalition whose σ-mass is below κ rewrites its weight rows at random (zeros, dropped
    /// entries, any value): every column's consensus stays at or above the highest score the
    /// honest validators alone back with σ-mass at least κ.
    #[test]
    fn minority_coalition_cannot_lower_consensus(seed in any::<u64>(), attack in any::<u64>()) {
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
        for i in (0..n).filter(|&i| coalition[i]) {
            let mut row = Vec::new();
            for j in 0..n as u16 {
                if r.chance(50) {
                    let any = r.below(65536) as u16;
                    row.push((j, r.pick(&[0u16, 1, 65535, any])));
                }
            }
            inp.weights[i] = row;
        }
        let after = epoch(&inp).unwrap();
        // Weights do not change who is active, so σ is the same.
        prop_assert_eq!(&after.active_stake, &before.active_stake);
        for j in 0..n {
            let honest: Vec<(i64, i64)> = v
                .iter()
                .enumerate()
                .filter(|&(_, &i)| !coalition[i])
                .filter_map(|(k, &i)| {
                    after.weights[i].iter().find(|x| x.0 as usize == j).map(|x| (x.1, sigma[k]))
                })
                .filter(|&(x, _)| x > 0)
                .collect();
            let floor = honest
                .iter()
                .map(|&(x, _)| x)
                .filter(|&x| honest.iter().filter(|&&(y, _)| y >= x).map(|&(_, s)| s).sum::<i64>() >= kappa)
                .max();
            if let Some(floor) = floor {
                prop_assert!(after.consensus[j] >= floor,
                    "column {j}: consensus {} < honest floor {floor}", after.consensus[j]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every validator sets all-zero weights (the entries kept, every value 0): no miner earns
    /// incentive or server emission, and since the whole emission sum is then zero, validators
    /// are paid by active stake (YUMA.md pitfall P11): each gets its share of E to within the
    /// fixed-point rounding, nobody without active stake gets anything, and at most E is paid.
    #[test]
    fn all_zero_weights_pay_validators_by_active_stake(seed in any::<u64>()) {
        let mut inp = realistic(seed);
        for row in &mut inp.weights {
            for e in row.iter_mut() {
                e.1 = 0;
            }
        }
        let out = epoch(&inp).unwrap();
        let e = inp.rao_emission;
        prop_assert!(out.incentive.iter().all(|&x| x == 0));
        prop_assert!(out.server_emission.iter().all(|&x| x == 0));
        let paid: u128 = out.combined_emission.iter().map(|&x| u128::from(x)).sum();
        prop_assert!(paid <= u128::from(e), "paid {paid} > E {e}");
        let total: i128 = out.active_stake.iter().map(|&s| i128::from(s)).sum();
        if total > 0 {
            let n = inp.n as i128;
            for (i, (&s, &v)) in out.active_stake.iter().zip(&out.validator_emission).enumerate() {
                let want = i128::from(e) * i128::from(s) / total;
                let tol = 2 + n * (i128::from(e) >> 28);
                prop_assert!((i128::from(v) - want).abs() <= tol,
                    "uid {i}: {v} rao, active-stake share {want} (tolerance {tol})");
                if s == 0 {
                    prop_assert_eq!(v, 0);
                }
            }
        }
    }
}

//! The spot-check sample: which of a miner's receipts a validator re-executes.
//!
//! The seed is fixed only after the validator committed its receipt batch's Merkle root
//! ([`sample_seed`]), and the sample among one miner's receipts is drawn from it by
//! [`sample`]: `rate · len` receipts rounded stochastically, at least `min`, at most all,
//! taking those with the smallest `H(seed ‖ receipt id)`.

use std::vec::Vec;

use mycel_protocol::ids::{Digest, Hotkey};

use crate::rng::derive;

/// The sample seed of a validator for one epoch: `derive("spot-check", beacon ‖ root ‖
/// validator hotkey)`, computable only once the receipt root is committed.
#[must_use]
pub fn sample_seed(beacon: &[u8; 32], root: &Digest, validator: &Hotkey) -> [u8; 32] {
    derive(
        "spot-check",
        &[beacon, root.as_bytes(), validator.as_bytes()],
    )
}

/// The spot-check sample among one miner's receipts `list` (indices into `ids`): `rate · len`
/// of them rounded stochastically (the fraction becomes one more with that probability, drawn
/// from `seed` and the first receipt's id), at least `min` and at most `len`, taking those with
/// the smallest `H(seed ‖ receipt id)`. Indices not in `ids` are skipped. `rate` is clamped to
/// `[0, 1]` (NaN counts as 0).
#[must_use]
pub fn sample(seed: &[u8; 32], ids: &[Digest], list: &[usize], rate: f64, min: u32) -> Vec<usize> {
    let list: Vec<(usize, &Digest)> = list
        .iter()
        .filter_map(|&i| ids.get(i).map(|d| (i, d)))
        .collect();
    let Some(&(_, first)) = list.first() else {
        return Vec::new();
    };
    let rate = if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    };
    let expected = list.len() as f64 * rate;
    let base = expected.floor();
    let draw = derive("round", &[seed, first.as_bytes()]);
    let mut low = [0u8; 8];
    low.copy_from_slice(draw.get(..8).unwrap_or(&[0; 8]));
    let u = u64::from_le_bytes(low) as f64 / 18_446_744_073_709_551_616.0;
    let k = (base as usize + usize::from(u < expected - base))
        .max(min as usize)
        .min(list.len());
    let mut ranked: Vec<([u8; 32], usize)> = list
        .iter()
        .map(|&(i, id)| (derive("pick", &[seed, id.as_bytes()]), i))
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().take(k).map(|(_, i)| i).collect()
}

/// The probability that [`sample`] picks none of `cheats` wrong receipts among a miner's
/// `receipts` (spec/scoring.md section 2.1): the sample size is `floor(rate · receipts)` or one
/// more (with the fractional part's probability), at least `min`, at most `receipts`, and
/// `C(receipts − cheats, k) / C(receipts, k)` is the chance a uniform k-subset misses them all.
/// For reporting and planning (floating point, never consensus).
#[must_use]
pub fn escape_probability(receipts: u32, cheats: u32, rate: f64, min: u32) -> f64 {
    let r = f64::from(receipts);
    let c = f64::from(cheats.min(receipts));
    let rate = if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    };
    let expected = r * rate;
    let base = expected.floor();
    let frac = expected - base;
    let size = |k: f64| k.max(f64::from(min)).min(r);
    let miss = |k: f64| {
        let mut p = 1.0;
        let mut i = 0.0;
        while i < k {
            p *= ((r - c - i) / (r - i)).max(0.0);
            i += 1.0;
        }
        p
    };
    (1.0 - frac) * miss(size(base)) + frac * miss(size(base + 1.0))
}

/// The probability that at least one checking validator samples a wrong receipt in an epoch,
/// given `(receipts, cheats)` per checking validator: `1 − Π escape_probability`.
#[must_use]
pub fn detection_probability(per_validator: &[(u32, u32)], rate: f64, min: u32) -> f64 {
    1.0 - per_validator
        .iter()
        .map(|&(r, c)| escape_probability(r, c, rate, min))
        .product::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_escape_matches_the_sampler() {
        assert_eq!(escape_probability(8, 0, 0.5, 0), 1.0);
        assert_eq!(escape_probability(8, 8, 0.05, 1), 0.0);
        // 8 receipts at 5 %: 0.4 expected, so 1 receipt with probability 0.4, else none.
        assert!((escape_probability(8, 8, 0.05, 0) - 0.6).abs() < 1e-12);
        assert!((escape_probability(8, 1, 0.05, 0) - (0.6 + 0.4 * 7.0 / 8.0)).abs() < 1e-12);
        assert!((detection_probability(&[(8, 8); 3], 0.05, 0) - (1.0 - 0.216)).abs() < 1e-12);
        // Against the sampler itself: 4 receipts, 1 wrong, rate 0.3 (1.2 expected).
        let ids: Vec<Digest> = (0u8..4).map(|i| Digest([i; 32])).collect();
        let list: Vec<usize> = (0..4).collect();
        let trials = 4000u32;
        let mut escaped = 0u32;
        for t in 0..trials {
            let seed = crate::rng::derive("t", &[&t.to_le_bytes()]);
            escaped += u32::from(!sample(&seed, &ids, &list, 0.3, 0).contains(&2));
        }
        let want = escape_probability(4, 1, 0.3, 0); // 0.8 * 3/4 + 0.2 * 2/4 = 0.7
        assert!((want - 0.7).abs() < 1e-12);
        let got = f64::from(escaped) / f64::from(trials);
        assert!((got - want).abs() < 0.03, "sampler {got}, predicted {want}");
    }

    #[test]
    fn the_spot_check_sample_is_fixed_by_the_root_and_sized_by_the_rate() {
        let ids: Vec<Digest> = (0u8..40).map(|i| Digest([i; 32])).collect();
        let list: Vec<usize> = (0..40).collect();
        let seed = |root: u8| sample_seed(&[1; 32], &Digest([root; 32]), &Hotkey([2; 32]));
        let a = sample(&seed(3), &ids, &list, 0.25, 1);
        assert_eq!(a.len(), 10);
        assert_eq!(a, sample(&seed(3), &ids, &list, 0.25, 1));
        assert_ne!(
            a,
            sample(&seed(4), &ids, &list, 0.25, 1),
            "another root, another sample"
        );
        assert_eq!(sample(&seed(3), &ids, &list, 1.0, 1).len(), 40);
        assert_eq!(sample(&seed(3), &ids, &list, 0.0, 0).len(), 0);
        assert_eq!(
            sample(&seed(3), &ids, &list, 0.01, 1).len(),
            1,
            "at least min"
        );
        assert_eq!(
            sample(&seed(3), &ids, &list[..2], 0.0, 5).len(),
            2,
            "at most all"
        );
        assert!(sample(&seed(3), &ids, &[], 0.5, 1).is_empty());
        assert!(
            sample(&seed(3), &ids, &[99], 1.0, 1).is_empty(),
            "unknown index"
        );
        assert_eq!(sample(&seed(3), &ids, &list, f64::NAN, 0).len(), 0);
        assert_eq!(sample(&seed(3), &ids, &list, 7.0, 0).len(), 40);
        // Fractions are rounded stochastically: 1.5 expected gives 1 or 2, about half each;
        // 0.25 expected with no minimum gives 1 about a quarter of the time.
        let (mut twos, mut ones) = (0, 0);
        for r in 0..=255u8 {
            let k = sample(&seed(r), &ids, &list[..3], 0.5, 1).len();
            assert!(k == 1 || k == 2);
            twos += usize::from(k == 2);
            ones += sample(&seed(r), &ids, &list[..1], 0.25, 0).len();
        }
        assert!((96..160).contains(&twos), "{twos} of 256");
        assert!((40..90).contains(&ones), "{ones} of 256");
    }
}

//! Unit-level tests of `node/src/validator/sample.rs`, through the public API.

use mycel_node::validator::sample::*;
use mycel_protocol::ids::{Digest, Hotkey};
use sha2::{Digest as _, Sha256};

fn seed(root: u8) -> [u8; 32] {
    sample_seed(&[1; 32], &Digest([root; 32]), &Hotkey([2; 32]), &[3; 32])
}

#[test]
fn the_sample_is_fixed_by_root_and_secret_and_sized_by_the_rate() {
    let ids: Vec<Digest> = (0u8..40).map(|i| Digest([i; 32])).collect();
    let list: Vec<usize> = (0..40).collect();
    let a = sample(&seed(3), &ids, &list, 250_000, 1);
    assert_eq!(a.len(), 10);
    assert_eq!(a, sample(&seed(3), &ids, &list, 250_000, 1));
    assert_ne!(a, sample(&seed(4), &ids, &list, 250_000, 1), "another root");
    let other_secret = sample_seed(&[1; 32], &Digest([3; 32]), &Hotkey([2; 32]), &[4; 32]);
    assert_ne!(
        a,
        sample(&other_secret, &ids, &list, 250_000, 1),
        "another secret"
    );
    assert_eq!(sample(&seed(3), &ids, &list, PPM, 1).len(), 40);
    assert_eq!(sample(&seed(3), &ids, &list, 0, 0).len(), 0);
    assert_eq!(
        sample(&seed(3), &ids, &list, 10_000, 1).len(),
        1,
        "at least min"
    );
    assert_eq!(
        sample(&seed(3), &ids, &list[..2], 0, 5).len(),
        2,
        "at most all"
    );
    assert!(sample(&seed(3), &ids, &[], 500_000, 1).is_empty());
    assert!(
        sample(&seed(3), &ids, &[99], PPM, 1).is_empty(),
        "unknown index"
    );
    assert_eq!(sample(&seed(3), &ids, &list, u32::MAX, 0).len(), 40);
    assert_eq!(rate_ppm(f64::NAN), 0);
    assert_eq!(rate_ppm(7.0), PPM);
    assert_eq!(rate_ppm(0.03), 30_000);
    // Fractions are rounded stochastically: 1.5 expected gives 1 or 2, about half each;
    // 0.25 expected with no minimum gives 1 about a quarter of the time.
    let (mut twos, mut ones) = (0, 0);
    for r in 0..=255u8 {
        let k = sample(&seed(r), &ids, &list[..3], 500_000, 1).len();
        assert!(k == 1 || k == 2);
        twos += usize::from(k == 2);
        ones += sample(&seed(r), &ids, &list[..1], 250_000, 0).len();
    }
    assert!((96..160).contains(&twos), "{twos} of 256");
    assert!((40..90).contains(&ones), "{ones} of 256");
}

#[test]
fn secrets_open_their_commitments_only() {
    let c = secret_commitment(&[9; 32]);
    assert!(check_secret(&c, &[9; 32]));
    assert!(!check_secret(&c, &[8; 32]));
    // Independent check of the layout.
    let mut pre = b"mycel/v1/sample-secret\x00".to_vec();
    pre.extend_from_slice(&[9; 32]);
    assert_eq!(c.0, <[u8; 32]>::from(Sha256::digest(&pre)));
}

#[test]
fn predicted_escape_matches_the_sampler() {
    assert_eq!(escape_probability(8, 0, 500_000, 0), 1.0);
    assert_eq!(escape_probability(8, 8, 50_000, 1), 0.0);
    // 8 receipts at 5 %: 0.4 expected, so 1 receipt with probability 0.4, else none.
    assert!((escape_probability(8, 8, 50_000, 0) - 0.6).abs() < 1e-12);
    assert!((escape_probability(8, 1, 50_000, 0) - (0.6 + 0.4 * 7.0 / 8.0)).abs() < 1e-12);
    assert!((detection_probability(&[(8, 8); 3], 50_000, 0) - (1.0 - 0.216)).abs() < 1e-12);
    // Against the sampler itself: 4 receipts, 1 wrong, rate 0.3 (1.2 expected).
    let ids: Vec<Digest> = (0u8..4).map(|i| Digest([i; 32])).collect();
    let list: Vec<usize> = (0..4).collect();
    let trials = 4000u32;
    let mut escaped = 0u32;
    for t in 0..trials {
        let s = sample_seed(&[0; 32], &Digest([0; 32]), &Hotkey([0; 32]), &{
            let mut x = [0u8; 32];
            x[..4].copy_from_slice(&t.to_le_bytes());
            x
        });
        escaped += u32::from(!sample(&s, &ids, &list, 300_000, 0).contains(&2));
    }
    let want = escape_probability(4, 1, 300_000, 0); // 0.8 * 3/4 + 0.2 * 2/4 = 0.7
    assert!((want - 0.7).abs() < 1e-12);
    let got = f64::from(escaped) / f64::from(trials);
    assert!((got - want).abs() < 0.03, "sampler {got}, predicted {want}");
}

#[test]
fn picks_are_the_smallest_pick_keys_in_ascending_order() {
    // Independent recomputation: every pick key by hand, all sorted, the first k kept. Lists
    // with repeated indices and repeated ids (equal keys, ties broken by index) included.
    let ids: Vec<Digest> = (0u8..50).map(|i| Digest([i % 37; 32])).collect();
    let s = seed(7);
    let key = |i: usize| {
        let mut h = Sha256::new();
        h.update(b"mycel/v1/sample-pick\x00");
        h.update(s);
        h.update(ids[i].0);
        <[u8; 32]>::from(h.finalize())
    };
    let lists: [Vec<usize>; 3] = [
        (0..50).collect(),
        (0..50).rev().chain([3, 3, 40, 3]).collect(),
        vec![12, 49, 12, 0],
    ];
    for list in &lists {
        for rate in [0, 1, 123_456, 500_000, 999_999, PPM] {
            let got = sample(&s, &ids, list, rate, 2);
            let mut all: Vec<([u8; 32], usize)> = list.iter().map(|&i| (key(i), i)).collect();
            all.sort();
            let want: Vec<usize> = all.iter().take(got.len()).map(|&(_, i)| i).collect();
            assert_eq!(got, want, "rate {rate}, list {list:?}");
            assert!(got.len() >= 2.min(list.len()));
        }
    }
}

//! Unit-level tests of `node/src/validator/score.rs`, through the public API.

use mycel_node::validator::score::{MinerTally, median};

#[test]
fn median_and_totals() {
    assert_eq!(median(&[]), 0);
    assert_eq!(median(&[5]), 5);
    assert_eq!(median(&[9, 1, 5, 3]), 3);
    let mut a = MinerTally {
        tasks: 2,
        verified: 1,
        unchecked: 1,
        units: 10,
        latencies: vec![4, 8],
        ..MinerTally::default()
    };
    a.add(&MinerTally {
        tasks: 1,
        mismatched: 1,
        latencies: vec![1],
        ..MinerTally::default()
    });
    assert_eq!((a.tasks, a.verified, a.mismatched, a.units), (3, 1, 1, 10));
    let r = a.result(9);
    assert_eq!((r.uid, r.latency_ms, r.compute_units), (9, 4, 10));
}

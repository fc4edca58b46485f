//! [`epoch_with`] on one reused workspace against a fresh [`epoch`] per input,
//! over a sequence that changes size, path and shape from one epoch to the next (so that every
//! reused buffer is at times too large, too small and dirty), including the chain's own examples
//! and inputs that fail.

use mycel_protocol::emission::{
    ConsensusMode, EmissionError, EpochInput, EpochOutput, EpochWorkspace, epoch, epoch_with,
};

const EXAMPLES: &str = include_str!("vectors/yuma_examples.jsonl");
/// The chain examples with weight entries on uids >= n (derived; dropped and reported).
const DROPPED: &str = include_str!("vectors/yuma_dropped_weights.jsonl");

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random sparse row over `0..width` (distinct uids, density in percent), shuffled when
/// `unsorted`, with explicit zeros now and then.
fn row(r: &mut Rng, width: usize, density: u64, unsorted: bool) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for j in 0..width {
        if r.chance(density) {
            let v = if r.chance(5) {
                0
            } else {
                r.below(65535) as u16 + 1
            };
            out.push((j as u16, v));
        }
    }
    if unsorted {
        for k in (1..out.len()).rev() {
            let l = r.below(k as u64 + 1) as usize;
            out.swap(k, l);
        }
    }
    out
}

fn random_input(seed: u64, n: usize) -> EpochInput {
    let mut r = Rng(seed);
    let density = [2, 30, 100][r.below(3) as usize];
    let unsorted = r.chance(25);
    let weights = (0..n).map(|_| row(&mut r, n, density, unsorted)).collect();
    // Bond columns may reach past n (pitfall P13).
    let bonds = (0..n)
        .map(|_| {
            let width = n + usize::from(r.chance(20)) * 3;
            row(&mut r, width, density, unsorted)
        })
        .collect();
    let yuma3 = r.chance(50);
    EpochInput {
        n: n as u16,
        current_block: 10_000,
        tempo: 360,
        activity_cutoff: 5000,
        last_mechanism_step_block: if r.chance(50) { 9_600 } else { 0 },
        last_update: (0..n).map(|_| 9_000 + r.below(1_000)).collect(),
        block_at_registration: (0..n).map(|_| r.below(9_800)).collect(),
        stake: (0..n)
            .map(|_| {
                if r.chance(10) {
                    0
                } else {
                    1 + r.below(1 << 40)
                }
            })
            .collect(),
        tao_stake: r
            .chance(30)
            .then(|| (0..n).map(|_| r.below(1 << 30)).collect()),
        tao_weight: r.next(),
        stake_threshold: if r.chance(30) { 1 << 20 } else { 0 },
        owner_uid: (n > 0 && r.chance(50)).then(|| r.below(n as u64) as u16),
        validator_permit: (0..n).map(|_| r.chance(80)).collect(),
        max_allowed_validators: (1 + r.below(n as u64)) as u16,
        weights,
        bonds,
        commit_reveal_enabled: r.chance(30),
        commit_blocks: r.chance(50).then(|| {
            (0..n)
                .map(|_| r.chance(50).then(|| r.below(10_000)))
                .collect()
        }),
        kappa: 32767,
        bonds_penalty: [0, 32768, 65535][r.below(3) as usize],
        // Now and then large enough for the Yuma3 fixed-alpha error (pitfall P12).
        bonds_moving_average: if r.chance(10) { u64::MAX } else { 900_000 },
        yuma3,
        liquid_alpha: yuma3 && r.chance(60),
        alpha_low: 45875,
        alpha_high: 58982,
        alpha_sigmoid_steepness: 1000,
        liquid_alpha_consensus_mode: [
            ConsensusMode::Current,
            ConsensusMode::Previous,
            ConsensusMode::Auto,
        ][r.below(3) as usize],
        previous_consensus: r
            .chance(50)
            .then(|| (0..n).map(|_| r.below(65536) as u16).collect()),
        rao_emission: 1_000_000_000,
    }
}

/// Runs `input` both ways and checks that they agree; returns the result.
fn check(ws: &mut EpochWorkspace, input: &EpochInput) -> Result<EpochOutput, EmissionError> {
    let fresh = epoch(input);
    let reused = epoch_with(ws, input).cloned();
    assert_eq!(reused, fresh);
    if fresh.is_err() {
        // Nothing half-written is left behind.
        assert_eq!(ws.output(), &EpochOutput::default());
    } else {
        assert_eq!(Ok(ws.output()), fresh.as_ref());
    }
    fresh
}

#[test]
fn reused_workspace_matches_fresh_epochs() {
    let mut ws = EpochWorkspace::new();
    let mut examples = 0;
    let (mut ok, mut failed) = (0, 0);
    // Sizes go up and down so that every buffer is reused both larger and smaller.
    let sizes = [1usize, 40, 7, 130, 0, 64, 3, 200, 12, 90];
    let mut dropped = DROPPED.lines();
    for (line_no, line) in EXAMPLES.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let input: EpochInput = serde_json::from_value(v["input"].clone()).unwrap();
        let out = check(&mut ws, &input).unwrap();
        // The chain's expected values, field by field, on the reused workspace's output.
        let got = serde_json::to_value(&out).unwrap();
        assert_eq!(&got, &v["expected"], "line {}", line_no + 1);
        examples += 1;
        // Its derived twin with dropped weight entries (the next chain example then checks
        // that the list is cleared on reuse).
        let d: serde_json::Value = serde_json::from_str(dropped.next().unwrap()).unwrap();
        let input: EpochInput = serde_json::from_value(d["input"].clone()).unwrap();
        let out = check(&mut ws, &input).unwrap();
        assert!(!out.dropped_weights.is_empty());
        assert_eq!(serde_json::to_value(&out).unwrap(), d["expected"]);
        // A random input of another size between two chain examples.
        for k in 0..3u64 {
            let seed = line_no as u64 * 16 + k;
            let n = sizes[(seed % sizes.len() as u64) as usize];
            match check(&mut ws, &random_input(seed, n)) {
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
        }
    }
    for seed in 1000..1060u64 {
        let n = sizes[(seed % sizes.len() as u64) as usize];
        match check(&mut ws, &random_input(seed, n)) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), "emission.bonds_moving_average_overflow");
                failed += 1;
            }
        }
    }
    // A schema error, then the workspace is used again.
    let mut bad = random_input(7, 12);
    bad.stake.pop();
    assert!(check(&mut ws, &bad).is_err());
    check(&mut ws, &random_input(8, 12)).unwrap();
    assert_eq!(examples, 15);
    assert!(ok > 80 && failed > 0, "ok {ok}, failed {failed}");
}

//! The epoch's dense fast paths (blocked consensus gather, dense EMA rows) against the literal
//! port of the chain's epoch, on dense networks large enough to span several column blocks and
//! to send consensus columns through the sampled three-way split: full rows, rows with all-zero
//! weights, rows whose single positive entry is exactly 1.0, heavy ties in the median, stale
//! weights and bonds, unsorted rows (which take the general path), n = 1 and n = 2.

mod emission_support;

use emission_support::inputs::Rng;
use mycel_protocol::emission::{ConsensusMode, EpochInput, EpochWorkspace, epoch, epoch_with};

/// How the weight values of a row are drawn.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// Uniform in 1..=65535.
    Random,
    /// Two values only: long runs of equal scores in every column (ties at the median).
    Ties,
    /// Mostly explicit zeros, some ones.
    Sparse,
}

fn dense_row(r: &mut Rng, n: usize, skip: Option<usize>, values: Values) -> Vec<(u16, u16)> {
    (0..n)
        .filter(|&j| Some(j) != skip)
        .map(|j| {
            let v = match values {
                Values::Random => 1 + r.below(65535) as u16,
                Values::Ties => [1000u16, 2000][r.below(2) as usize],
                Values::Sparse => u16::from(r.chance(10)),
            };
            (j as u16, v)
        })
        .collect()
}

fn dense_input(seed: u64, n: usize) -> EpochInput {
    let mut r = Rng(seed);
    let values = [Values::Random, Values::Ties, Values::Sparse][r.below(3) as usize];
    let blk = 100_000u64;
    let self_weight = r.chance(50);
    let mut weights: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|i| {
            let mut row = dense_row(&mut r, n, (!self_weight).then_some(i), values);
            match r.below(20) {
                // All-zero weights.
                0 => row.iter_mut().for_each(|e| e.1 = 0),
                // A single positive entry: normalised to exactly 1.0.
                1 if !row.is_empty() => {
                    row.iter_mut().for_each(|e| e.1 = 0);
                    let k = r.below(row.len() as u64) as usize;
                    row[k].1 = 40_000;
                }
                // An empty row.
                2 => row.clear(),
                _ => {}
            }
            row
        })
        .collect();
    if r.chance(15) && n > 2 {
        // One row out of order: the consensus gather falls back to its general path.
        let i = r.below(n as u64) as usize;
        weights[i].reverse();
    }
    let bonds: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|i| {
            let mut row = dense_row(&mut r, n, Some(i), Values::Random);
            if r.chance(5) {
                row.clear();
            }
            row
        })
        .collect();
    let yuma3 = r.chance(50);
    let alpha = match r.below(5) {
        0 => (0u16, 65535u16),
        1 => (30_000, 30_000),
        2 => (r.below(65536) as u16, r.below(65536) as u16),
        _ => (45_875, 58_982),
    };
    EpochInput {
        n: n as u16,
        current_block: blk,
        tempo: 360,
        activity_cutoff: 5000,
        last_mechanism_step_block: if r.chance(50) { 0 } else { blk - 360 },
        last_update: (0..n)
            .map(|_| if r.chance(90) { blk - 10 } else { blk - 6000 })
            .collect(),
        block_at_registration: (0..n)
            .map(|_| {
                if r.chance(90) {
                    r.below(50_000)
                } else {
                    blk - r.below(400)
                }
            })
            .collect(),
        stake: (0..n)
            .map(|_| {
                if r.chance(5) {
                    0
                } else {
                    1_000_000_000 + r.below(10_000_000_000_000)
                }
            })
            .collect(),
        tao_stake: None,
        tao_weight: 0,
        stake_threshold: 0,
        owner_uid: r.chance(30).then(|| r.below(n as u64) as u16),
        validator_permit: (0..n).map(|_| r.chance(95)).collect(),
        max_allowed_validators: if r.chance(70) {
            n as u16
        } else {
            (n as u16 / 2).max(1)
        },
        weights,
        bonds,
        commit_reveal_enabled: false,
        commit_blocks: None,
        kappa: if r.chance(70) {
            32767
        } else {
            r.below(65536) as u16
        },
        bonds_penalty: if r.chance(70) {
            65535
        } else {
            r.below(65536) as u16
        },
        bonds_moving_average: [900_000u64, 975_000, 500_000][r.below(3) as usize],
        yuma3,
        liquid_alpha: yuma3 && r.chance(70),
        // The chain's defaults mostly; also the full [0, 1], a single value, and any pair
        // (possibly lo > hi): liquid alpha's certified shortcut and its series fallback both
        // run, and must agree with the literal port bit for bit.
        alpha_low: alpha.0,
        alpha_high: alpha.1,
        alpha_sigmoid_steepness: [1000i16, 10, 30000, -500, 250][r.below(5) as usize],
        liquid_alpha_consensus_mode: ConsensusMode::Current,
        previous_consensus: None,
        rao_emission: 1_000_000_000,
    }
}

#[test]
fn dense_paths_match_literal_port() {
    let sizes = [1usize, 2, 3, 40, 97, 130, 200, 257];
    let mut ws = EpochWorkspace::new();
    for seed in 0..64u64 {
        let n = sizes[(seed as usize) % sizes.len()];
        let inp = dense_input(0xD0_0000 + seed, n);
        let got = epoch(&inp).expect("valid input");
        let want = emission_support::literal::epoch(&inp);
        assert_eq!(got, want, "seed {seed} n {n}");
        assert_eq!(
            epoch_with(&mut ws, &inp).expect("valid input"),
            &got,
            "seed {seed} n {n}: reused workspace"
        );
    }
}

/// `EpochInput::validate` on long rows: a repeated uid anywhere (at either side of the blocks
/// its ascending check compares at a time) is refused naming the row and uid; a row out of
/// order without a repeat, or strictly ascending, is accepted.
#[test]
fn validate_finds_a_repeat_anywhere_in_a_long_row() {
    use mycel_protocol::emission::EmissionError;
    let n = 600;
    let base = dense_input(11, n);
    let full: Vec<(u16, u16)> = (0..n as u16).map(|j| (j, 7)).collect();
    for field in ["weights", "bonds"] {
        for p in [1usize, 2, 255, 256, 257, 258, 511, 512, 513, 599] {
            let mut inp = base.clone();
            let mut row = full.clone();
            row[p].0 = row[p - 1].0;
            let rows = if field == "weights" {
                &mut inp.weights
            } else {
                &mut inp.bonds
            };
            rows[3] = row.clone();
            assert_eq!(
                inp.validate(),
                Err(EmissionError::DuplicateUid {
                    field,
                    row: 3,
                    uid: row[p].0
                }),
                "{field} p {p}"
            );
            // The same row with the two entries swapped instead: out of order, no repeat.
            let mut swapped = full.clone();
            swapped.swap(p - 1, p);
            let rows = if field == "weights" {
                &mut inp.weights
            } else {
                &mut inp.bonds
            };
            rows[3] = swapped;
            assert_eq!(inp.validate(), Ok(()), "{field} p {p} swapped");
            let rows = if field == "weights" {
                &mut inp.weights
            } else {
                &mut inp.bonds
            };
            rows[3] = full.clone();
            assert_eq!(inp.validate(), Ok(()), "{field} p {p} ascending");
        }
    }
}

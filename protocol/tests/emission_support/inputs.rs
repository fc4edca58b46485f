//! Random epoch inputs from a seed (xorshift), covering every option and edge the spec names:
//! unsorted rows, explicit zeros, self weights, stale weights, bond columns >= n, owner,
//! stake threshold, tao weight, commit-reveal, consensus modes and extreme stakes.
#![allow(dead_code)]

use mycel_protocol::emission::{ConsensusMode, EpochInput};

/// A small deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Options that shape the generated input.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub max_n: u64,
    /// Allow stakes >= 2^63 (P1) and other chain-unreachable extremes.
    pub extremes: bool,
    /// Well-conditioned values for float comparisons: non-zero stakes within one decade,
    /// non-zero weights and bonds of at least 1000 (so every normalised share is far above one
    /// Q32 unit).
    pub conditioned: bool,
}

fn row(r: &mut Rng, n: usize, density: u64, cols: usize, conditioned: bool) -> Vec<(u16, u16)> {
    let mut uids: Vec<u16> = (0..cols as u16).filter(|_| r.chance(density)).collect();
    if r.chance(50) {
        // submission order: shuffle
        for i in (1..uids.len()).rev() {
            let k = r.below(i as u64 + 1) as usize;
            uids.swap(i, k);
        }
    }
    let _ = n;
    uids.into_iter()
        .map(|j| {
            let v = match r.below(10) {
                0 => 0,
                _ if conditioned => 1000 + r.below(64536) as u16,
                1 => 65535,
                2 => 1,
                _ => r.below(65536) as u16,
            };
            (j, v)
        })
        .collect()
}

/// A random input.
pub fn input(seed: u64, shape: Shape) -> EpochInput {
    let mut r = Rng(seed);
    let n = r.below(shape.max_n + 1) as usize;
    let blk = 1_000 + r.below(100_000);
    let tempo = r.pick(&[1u64, 10, 360]);
    let cut = r.pick(&[1u64, 100, 5000]);
    let density = r.pick(&[5u64, 30, 70, 100]);
    let last_update: Vec<u64> = (0..n)
        .map(|_| blk.saturating_sub(r.below(2 * cut + 10)))
        .collect();
    let reg: Vec<u64> = (0..n)
        .map(|_| {
            if r.chance(70) {
                r.below(blk / 2)
            } else {
                blk.saturating_sub(r.below(3 * tempo + 20))
            }
        })
        .collect();
    let stake: Vec<u64> = (0..n)
        .map(|_| match r.below(12) {
            0 => 0,
            _ if shape.conditioned => 1_000_000_000_000 + r.below(9_000_000_000_000),
            1 if shape.extremes => (1 << 63) + r.below(1 << 62),
            2 if shape.extremes => r.below(1_000),
            2 => 1_000_000_000 + r.below(1_000_000_000),
            _ => r.below(10_000_000_000_000),
        })
        .collect();
    let tao = r.chance(30).then(|| {
        (0..n)
            .map(|_| r.below(1_000_000_000_000))
            .collect::<Vec<u64>>()
    });
    let permits: Vec<bool> = (0..n).map(|_| r.chance(70)).collect();
    // Extremes: weight entries on uids >= n (the chain holds them after a trim and drops them
    // when it loads the weights).
    let weight_cols = if shape.extremes && r.chance(30) {
        n + 3
    } else {
        n
    };
    let weights: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|_| row(&mut r, n, density, weight_cols, shape.conditioned))
        .collect();
    let bond_cols = if r.chance(20) { n + 3 } else { n };
    let bonds: Vec<Vec<(u16, u16)>> = (0..n)
        .map(|_| row(&mut r, n, density, bond_cols, shape.conditioned))
        .collect();
    let cr = r.chance(30);
    let yuma3 = r.chance(50);
    let bma = if !shape.extremes && r.chance(20) {
        r.below(1_000_001)
    } else if r.chance(80) || !shape.extremes {
        r.pick(&[900_000u64, 975_000, 500_000, 0, 1_000_000])
    } else if yuma3 {
        r.below(3_000_000)
    } else {
        r.next()
    };
    let mut alpha_low = r.below(65536) as u16;
    let mut alpha_high = r.below(65536) as u16;
    if r.chance(85) && alpha_low > alpha_high {
        core::mem::swap(&mut alpha_low, &mut alpha_high);
    }
    if r.chance(50) {
        alpha_low = 45875;
        alpha_high = 58982;
    }
    EpochInput {
        n: n as u16,
        current_block: blk,
        tempo,
        activity_cutoff: cut,
        last_mechanism_step_block: if r.chance(30) {
            blk.saturating_sub(r.below(400))
        } else {
            0
        },
        last_update,
        block_at_registration: reg,
        stake,
        tao_stake: tao,
        tao_weight: {
            let x = r.next();
            r.pick(&[0u64, u64::MAX / 5, u64::MAX, x])
        },
        stake_threshold: {
            let x = r.below(5_000_000_000_000);
            r.pick(&[0u64, 0, 1_000_000_000, x])
        },
        owner_uid: if n > 0 && r.chance(30) {
            Some(r.below(n as u64) as u16)
        } else {
            None
        },
        validator_permit: permits,
        max_allowed_validators: {
            let x = r.below(n as u64 + 2) as u16;
            r.pick(&[1u16, 4, 64, 256, x])
        },
        weights,
        bonds,
        commit_reveal_enabled: cr,
        commit_blocks: (cr || r.chance(10)).then(|| {
            (0..n)
                .map(|_| r.chance(60).then(|| blk.saturating_sub(r.below(blk))))
                .collect()
        }),
        kappa: {
            let x = r.below(65536) as u16;
            r.pick(&[32767u16, 0, 1, 65535, x])
        },
        bonds_penalty: {
            let x = r.below(65536) as u16;
            r.pick(&[65535u16, 0, x])
        },
        bonds_moving_average: bma,
        yuma3,
        liquid_alpha: r.chance(60),
        alpha_low,
        alpha_high,
        alpha_sigmoid_steepness: {
            let x = r.next() as i16;
            r.pick(&[1000i16, 10, -1000, i16::MAX, i16::MIN, x])
        },
        liquid_alpha_consensus_mode: r.pick(&[
            ConsensusMode::Current,
            ConsensusMode::Previous,
            ConsensusMode::Auto,
        ]),
        previous_consensus: r.chance(80).then(|| {
            let len = if r.chance(70) {
                n
            } else {
                r.below(n as u64 + 4) as usize
            };
            (0..len).map(|_| r.below(65536) as u16).collect()
        }),
        rao_emission: {
            let x = r.next();
            r.pick(&[0u64, 1_000_000_000, u64::MAX, x])
        },
    }
}

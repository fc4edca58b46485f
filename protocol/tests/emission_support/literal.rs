//! A second, deliberately literal implementation of the chain's sparse epoch, written step by
//! step after the chain's code in `substrate-fixed` types (no closed forms, no sparse
//! shortcuts): the stake-weighted median by partition search, dense per-row EMAs, and liquid
//! alpha's full 0..|c| merge sweep. Used only to cross-check the product on random inputs.
#![allow(
    dead_code,
    clippy::nonminimal_bool,
    clippy::collapsible_if,
    clippy::type_complexity,
    clippy::needless_range_loop
)]

use mycel_protocol::emission::{ConsensusMode, DroppedWeight, EpochInput, EpochOutput};
use substrate_fixed::types::{I32F32, I64F64, I96F32, U96F32};

type Q = I32F32;
type Row = Vec<(u16, Q)>;

fn z() -> Q {
    Q::from_bits(0)
}
fn one() -> Q {
    Q::from_num(1)
}
fn safe_div(a: Q, b: Q) -> Q {
    a.checked_div(b).unwrap_or(z())
}
fn wsum(v: impl Iterator<Item = Q>) -> Q {
    Q::from_bits(v.fold(0i64, |acc, x| acc.wrapping_add(x.to_bits())))
}
fn normalize(v: &mut [Q]) {
    let s = wsum(v.iter().copied());
    if s == z() {
        return;
    }
    for x in v.iter_mut() {
        *x = safe_div(*x, s);
    }
}
fn to_u16(x: Q) -> u16 {
    x.saturating_mul(Q::from_num(65535))
        .saturating_to_num::<u16>()
}
fn ratio(k: u16) -> Q {
    safe_div(Q::saturating_from_num(k), Q::saturating_from_num(u16::MAX))
}

fn weighted_median(stake: &[Q], score: &[Q], minority: Q, mut lo: Q, mut hi: Q) -> Q {
    let mut part: Vec<usize> = (0..stake.len()).collect();
    let limit = part.len();
    let mut rounds = 0;
    loop {
        let n = part.len();
        if n == 0 {
            return z();
        }
        if n == 1 {
            return score[part[0]];
        }
        let pivot = score[part[n / 2]];
        let (mut ls, mut hs) = (z(), z());
        let (mut lower, mut upper) = (vec![], vec![]);
        for &i in &part {
            if score[i] == pivot {
                continue;
            }
            if score[i] < pivot {
                ls = ls.saturating_add(stake[i]);
                lower.push(i);
            } else {
                hs = hs.saturating_add(stake[i]);
                upper.push(i);
            }
        }
        if minority < lo.saturating_add(ls) && !lower.is_empty() {
            hi = lo.saturating_add(ls);
            part = lower;
        } else if hi.saturating_sub(hs) <= minority && !upper.is_empty() {
            lo = hi.saturating_sub(hs);
            part = upper;
        } else {
            return pivot;
        }
        rounds += 1;
        if rounds > limit {
            return z();
        }
    }
}

fn col_normalize(m: &mut [Row], n: usize) {
    let mut sums = vec![z(); n];
    for row in m.iter() {
        for &(j, v) in row {
            if let Some(s) = sums.get_mut(j as usize) {
                *s = s.saturating_add(v);
            }
        }
    }
    for row in m.iter_mut() {
        for (j, v) in row.iter_mut() {
            if let Some(&s) = sums.get(*j as usize) {
                if s != z() {
                    *v = safe_div(*v, s);
                }
            }
        }
    }
}

fn mat_ema(new: &[Row], old: &[Row], alpha: Q, n: usize) -> Vec<Row> {
    let oma = one().saturating_sub(alpha);
    new.iter()
        .zip(old)
        .map(|(nr, or)| {
            let mut acc = vec![z(); n];
            for &(j, v) in nr {
                if let Some(c) = acc.get_mut(j as usize) {
                    *c = c.saturating_add(alpha.saturating_mul(v));
                }
            }
            for &(j, v) in or {
                if let Some(c) = acc.get_mut(j as usize) {
                    *c = c.saturating_add(oma.saturating_mul(v));
                }
            }
            acc.iter()
                .enumerate()
                .filter(|(_, v)| **v > z())
                .map(|(j, v)| (j as u16, *v))
                .collect()
        })
        .collect()
}

fn exp_safe(x: Q) -> Q {
    let x = x.clamp(Q::from_num(-20), Q::from_num(20));
    match substrate_fixed::transcendental::exp::<Q, Q>(x) {
        Ok(v) => v,
        Err(()) => {
            if x <= z() {
                z()
            } else {
                Q::max_value()
            }
        }
    }
}

fn sigmoid_alpha(c: Q, w: Q, b: Q, lo: Q, hi: Q, steep: Q) -> Q {
    let buy = w.saturating_sub(c).min(one()).max(z());
    let sell = b.saturating_sub(w).min(one()).max(z());
    let d = if w >= b { buy } else { sell };
    let e = exp_safe(
        steep
            .saturating_div(Q::from_num(-100))
            .saturating_mul(d.saturating_sub(Q::from_num(0.5))),
    );
    let sig = one().saturating_div(one().saturating_add(e));
    lo.saturating_add(sig.saturating_mul(hi.saturating_sub(lo)))
        .min(hi)
        .max(lo)
}

/// The literal epoch. Panics (test helper) where the chain would.
pub fn epoch(inp: &EpochInput) -> EpochOutput {
    let n = inp.n as usize;
    let owner = inp.owner_uid;
    let active: Vec<bool> = inp
        .last_update
        .iter()
        .map(|u| u.saturating_add(inp.activity_cutoff) >= inp.current_block)
        .collect();
    // Stake.
    let tw = I64F64::saturating_from_num(
        U96F32::saturating_from_num(inp.tao_weight)
            .checked_div(U96F32::saturating_from_num(u64::MAX))
            .unwrap_or(U96F32::from_bits(0)),
    );
    let mut st: Vec<I64F64> = (0..n)
        .map(|i| {
            let t = inp.tao_stake.as_ref().map_or(0, |t| t[i]);
            let s = I64F64::saturating_from_num(inp.stake[i])
                .saturating_add(I64F64::saturating_from_num(t).saturating_mul(tw));
            if owner != Some(i as u16) && s.saturating_to_num::<u64>() < inp.stake_threshold {
                I64F64::from_bits(0)
            } else {
                s
            }
        })
        .collect();
    let s64 = I64F64::from_bits(st.iter().fold(0i128, |a, x| a.wrapping_add(x.to_bits())));
    if s64 != I64F64::from_bits(0) {
        for x in st.iter_mut() {
            *x = x.checked_div(s64).unwrap_or(I64F64::from_bits(0));
        }
    }
    let stake: Vec<Q> = st.iter().map(|x| Q::saturating_from_num(*x)).collect();
    // Permits.
    let mut permits = inp.validator_permit.clone();
    if let Some(o) = owner {
        permits[o as usize] = true;
    }
    let mut new_permits: Vec<bool> = stake.iter().map(|s| *s != z()).collect();
    let k = inp.max_allowed_validators as usize;
    if n >= k {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by_key(|&i| stake[i]);
        for &i in idx.iter().take(n - k) {
            new_permits[i] = false;
        }
    }
    if let Some(o) = owner {
        new_permits[o as usize] = true;
    }
    let mut astake: Vec<Q> = (0..n)
        .map(|i| {
            if active[i] && permits[i] {
                stake[i]
            } else {
                z()
            }
        })
        .collect();
    normalize(&mut astake);
    // Weights.
    let cr_blocks: Vec<u64> = (0..n)
        .map(|i| {
            inp.commit_blocks
                .as_ref()
                .and_then(|c| c[i])
                .unwrap_or(u64::MAX)
        })
        .collect();
    let mut w: Vec<Row> = inp
        .weights
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if !permits[i] {
                return vec![];
            }
            row.iter()
                .filter(|(j, _)| (*j as usize) < n)
                .filter(|(j, _)| i != *j as usize || (Some(i as u16) == owner && Some(*j) == owner))
                .filter(|(j, _)| !(inp.last_update[i] <= inp.block_at_registration[*j as usize]))
                .filter(|(j, _)| {
                    !(inp.commit_reveal_enabled
                        && cr_blocks[i] < inp.block_at_registration[*j as usize])
                })
                .map(|&(j, v)| (j, Q::saturating_from_num(v)))
                .collect()
        })
        .collect();
    for row in w.iter_mut() {
        let t = wsum(row.iter().map(|x| x.1));
        if t > z() {
            for x in row.iter_mut() {
                x.1 = safe_div(x.1, t);
            }
        }
    }
    // Consensus: the literal partition search over a dense score table.
    let kappa = ratio(inp.kappa);
    let mut use_stake: Vec<Q> = astake.iter().copied().filter(|s| *s > z()).collect();
    normalize(&mut use_stake);
    let total = wsum(use_stake.iter().copied());
    let minority = total.saturating_sub(kappa);
    let mut scores = vec![vec![z(); use_stake.len()]; n];
    let mut kk = 0;
    for (i, row) in w.iter().enumerate() {
        if astake[i] > z() {
            for &(j, v) in row {
                scores[j as usize][kk] = v;
            }
            kk += 1;
        }
    }
    let consensus: Vec<Q> = scores
        .iter()
        .map(|col| weighted_median(&use_stake, col, minority, z(), total))
        .collect();
    // Clip.
    let clipped: Vec<Row> = w
        .iter()
        .map(|row| {
            let mut out = vec![];
            for &(j, v) in row {
                let c = consensus[j as usize];
                if c < v {
                    if z() < c {
                        out.push((j, c));
                    }
                } else {
                    out.push((j, v));
                }
            }
            out
        })
        .collect();
    let vtrust: Vec<Q> = clipped
        .iter()
        .map(|r| wsum(r.iter().map(|x| x.1)))
        .collect();
    let mut ranks = vec![z(); n];
    for (i, row) in clipped.iter().enumerate() {
        for &(j, v) in row {
            ranks[j as usize] = ranks[j as usize].saturating_add(astake[i].saturating_mul(v));
        }
    }
    let mut incentive = ranks.clone();
    normalize(&mut incentive);
    // Weights for bonds: dense interpolation.
    let beta = ratio(inp.bonds_penalty);
    let wb: Vec<Row> = if beta == z() {
        w.clone()
    } else if beta == one() {
        clipped.clone()
    } else {
        (0..n)
            .map(|i| {
                let mut r1 = vec![z(); n];
                for &(j, v) in &w[i] {
                    r1[j as usize] = v;
                }
                let mut r2 = vec![z(); n];
                for &(j, v) in &clipped[i] {
                    r2[j as usize] = v;
                }
                (0..n)
                    .filter_map(|j| {
                        let x =
                            r1[j].saturating_add(beta.saturating_mul(r2[j].saturating_sub(r1[j])));
                        (z() < x).then_some((j as u16, x))
                    })
                    .collect()
            })
            .collect()
    };
    let last_tempo = if inp.last_mechanism_step_block == 0 {
        inp.current_block.saturating_sub(inp.tempo)
    } else {
        inp.last_mechanism_step_block.saturating_add(1)
    };
    let reg = |j: u16| {
        inp.block_at_registration
            .get(j as usize)
            .copied()
            .unwrap_or(0)
    };
    let (dividends, ema_bonds) = if inp.yuma3 {
        let bonds: Vec<Row> = inp
            .bonds
            .iter()
            .map(|r| {
                r.iter()
                    .filter(|(j, _)| !(last_tempo <= reg(*j)))
                    .map(|&(j, b)| {
                        (
                            j,
                            safe_div(Q::saturating_from_num(b), Q::saturating_from_num(u16::MAX)),
                        )
                    })
                    .collect()
            })
            .collect();
        let ema: Vec<Row> = if inp.liquid_alpha
            && !consensus.is_empty()
            && consensus.iter().any(|c| *c != z())
        {
            let prev = match inp.liquid_alpha_consensus_mode {
                ConsensusMode::Current => false,
                ConsensusMode::Previous => true,
                ConsensusMode::Auto => inp.bonds_penalty == u16::MAX,
            };
            let c: Vec<Q> = if prev {
                inp.previous_consensus
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(ratio)
                    .collect()
            } else {
                consensus.clone()
            };
            let (lo, hi) = (ratio(inp.alpha_low), ratio(inp.alpha_high));
            let steep = Q::saturating_from_num(inp.alpha_sigmoid_steepness);
            // The full alpha matrix, n x |c|, with the forward-only merge sweep.
            let alphas: Vec<Vec<Q>> = wb
                .iter()
                .zip(&bonds)
                .map(|(wr, br)| {
                    let (mut wi, mut bi) = (wr.iter().peekable(), br.iter().peekable());
                    c.iter()
                        .enumerate()
                        .map(|(jp, cv)| {
                            let j = jp as u16;
                            let mut wv = z();
                            while let Some(&&(i, v)) = wi.peek() {
                                if i < j {
                                    wi.next();
                                } else {
                                    if i == j {
                                        wv = v;
                                    }
                                    break;
                                }
                            }
                            let mut bv = z();
                            while let Some(&&(i, v)) = bi.peek() {
                                if i < j {
                                    bi.next();
                                } else {
                                    if i == j {
                                        bv = v;
                                    }
                                    break;
                                }
                            }
                            sigmoid_alpha(*cv, wv, bv, lo, hi, steep)
                        })
                        .collect()
                })
                .collect();
            wb.iter()
                .zip(&bonds)
                .zip(&alphas)
                .map(|((nr, or), ar)| {
                    let mut decayed = vec![z(); ar.len()];
                    for &(j, v) in or {
                        if let (Some(a), Some(cell)) =
                            (ar.get(j as usize), decayed.get_mut(j as usize))
                        {
                            *cell = one().saturating_sub(*a).saturating_mul(v);
                        }
                    }
                    let mut out = vec![];
                    for &(j, v) in nr {
                        if let (Some(a), Some(d)) = (ar.get(j as usize), decayed.get(j as usize)) {
                            let inc = a.saturating_mul(v).max(z());
                            let val = d.saturating_add(inc).min(one());
                            if val > z() {
                                out.push((j, val));
                            }
                        }
                    }
                    out
                })
                .collect()
        } else {
            let bma = I64F64::from_num(inp.bonds_moving_average)
                .saturating_div(I64F64::from_num(1_000_000));
            let alpha = one().saturating_sub(Q::from_num(bma));
            mat_ema(&wb, &bonds, alpha, n)
        };
        let mut norm = ema.clone();
        col_normalize(&mut norm, n);
        let mut d: Vec<Q> = norm
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let t = wsum(
                    r.iter()
                        .filter_map(|&(j, v)| {
                            incentive.get(j as usize).map(|x| v.saturating_mul(*x))
                        })
                        .filter(|x| *x != z()),
                );
                t.checked_mul(astake[i]).unwrap_or(z())
            })
            .collect();
        normalize(&mut d);
        (d, ema)
    } else {
        let mut bonds: Vec<Row> = inp
            .bonds
            .iter()
            .map(|r| {
                r.iter()
                    .filter(|(j, _)| !(last_tempo <= reg(*j)))
                    .map(|&(j, b)| (j, Q::saturating_from_num(b)))
                    .collect()
            })
            .collect();
        col_normalize(&mut bonds, n);
        let mut delta: Vec<Row> = wb
            .iter()
            .zip(&astake)
            .map(|(r, a)| r.iter().map(|&(j, v)| (j, v.saturating_mul(*a))).collect())
            .collect();
        col_normalize(&mut delta, n);
        let bma = I64F64::saturating_from_num(inp.bonds_moving_average)
            .checked_div(I64F64::saturating_from_num(1_000_000))
            .unwrap_or(I64F64::from_bits(0));
        let alpha = one().saturating_sub(Q::saturating_from_num(bma));
        let mut ema = mat_ema(&delta, &bonds, alpha, n);
        col_normalize(&mut ema, n);
        let mut d: Vec<Q> = ema
            .iter()
            .map(|r| {
                r.iter().fold(z(), |acc, &(j, v)| {
                    acc.saturating_add(incentive[j as usize].saturating_mul(v))
                })
            })
            .collect();
        normalize(&mut d);
        let mut maxes = vec![z(); n];
        for r in &ema {
            for &(j, v) in r {
                if maxes[j as usize] < v {
                    maxes[j as usize] = v;
                }
            }
        }
        for r in ema.iter_mut() {
            for (j, v) in r.iter_mut() {
                if maxes[*j as usize] != z() {
                    *v = safe_div(*v, maxes[*j as usize]);
                }
            }
        }
        (d, ema)
    };
    let combined: Vec<Q> = incentive
        .iter()
        .zip(&dividends)
        .map(|(a, b)| a.saturating_add(*b))
        .collect();
    let esum = wsum(combined.iter().copied());
    let mut ns = incentive.clone();
    let mut nv = dividends.clone();
    let mut nc = combined.clone();
    if esum != z() {
        for x in ns.iter_mut().chain(nv.iter_mut()) {
            *x = safe_div(*x, esum);
        }
    }
    normalize(&mut nc);
    if esum == z() {
        if wsum(astake.iter().copied()) == z() {
            nv.clone_from(&stake);
            nc.clone_from(&stake);
        } else {
            nv.clone_from(&astake);
            nc.clone_from(&astake);
        }
    }
    let e = I96F32::saturating_from_num(inp.rao_emission);
    let rao = |v: &[Q]| -> Vec<u64> {
        v.iter()
            .map(|x| {
                I96F32::saturating_from_num(*x)
                    .saturating_mul(e)
                    .saturating_to_num::<u64>()
            })
            .collect()
    };
    let bits = |v: &[Q]| -> Vec<i64> { v.iter().map(|x| x.to_bits()).collect() };
    let rows = |m: &[Row]| -> Vec<Vec<(u16, i64)>> {
        m.iter()
            .map(|r| r.iter().map(|&(j, v)| (j, v.to_bits())).collect())
            .collect()
    };
    let u16s = |v: &[Q]| -> Vec<u16> { v.iter().map(|x| to_u16(*x)).collect() };
    EpochOutput {
        active,
        stake: bits(&stake),
        active_stake: bits(&astake),
        new_validator_permit: new_permits.clone(),
        weights: rows(&w),
        consensus: bits(&consensus),
        validator_trust: bits(&vtrust),
        ranks: bits(&ranks),
        incentive: bits(&incentive),
        dividends: bits(&dividends),
        ema_bonds: rows(&ema_bonds),
        normalized_server_emission: bits(&ns),
        normalized_validator_emission: bits(&nv),
        normalized_combined_emission: bits(&nc),
        server_emission: rao(&ns),
        validator_emission: rao(&nv),
        combined_emission: rao(&nc),
        stake_weight_u16: u16s(&stake),
        consensus_u16: u16s(&consensus),
        incentive_u16: u16s(&incentive),
        dividends_u16: u16s(&dividends),
        validator_trust_u16: u16s(&vtrust),
        new_bonds: ema_bonds
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if new_permits[i] {
                    r.iter().map(|&(j, v)| (j, to_u16(v))).collect()
                } else {
                    vec![]
                }
            })
            .collect(),
        // The chain's loader drops weight entries on uids >= n (kept above by the `j < n`
        // filter); they are listed in row order, stored order.
        dropped_weights: inp
            .weights
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                row.iter()
                    .filter(|(j, _)| (*j as usize) >= n)
                    .map(move |&(j, w)| DroppedWeight {
                        row: i as u16,
                        uid: j,
                        weight: w,
                    })
            })
            .collect(),
    }
}

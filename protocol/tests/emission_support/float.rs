//! A float64 re-derivation of the epoch, step by step (S1..S13 of spec/emission.md) with the
//! same sparse algorithms as the product but real arithmetic: no floors, no truncations, no
//! saturation. It is a test and benchmark helper, never the product: it exists to show that the
//! fixed-point result is the real-number result up to a stated rounding bound, and to time the
//! fixed-point code against plain floats. Decisions that a tiny rounding difference can flip
//! (a consensus mass within 1e-7 of kappa, `w` within 1e-7 of `b` in liquid alpha, a stake
//! within 1e-6 of the threshold, tied stakes at the permit cut, a near-zero total) set
//! `ambiguous`, and such inputs are not compared.
#![allow(dead_code, clippy::needless_range_loop, clippy::collapsible_if)]

use mycel_protocol::emission::{ConsensusMode, EpochInput};

/// The real-number results of one epoch.
#[derive(Debug, Clone, Default)]
pub struct FloatOutput {
    pub stake: Vec<f64>,
    pub active_stake: Vec<f64>,
    pub consensus: Vec<f64>,
    pub validator_trust: Vec<f64>,
    pub incentive: Vec<f64>,
    pub dividends: Vec<f64>,
    pub ema_bonds: Vec<Vec<(u16, f64)>>,
    pub normalized_server_emission: Vec<f64>,
    pub normalized_validator_emission: Vec<f64>,
    pub normalized_combined_emission: Vec<f64>,
    pub server_emission: Vec<f64>,
    pub validator_emission: Vec<f64>,
    pub new_validator_permit: Vec<bool>,
    pub ambiguous: Option<&'static str>,
}

type Row = Vec<(u16, f64)>;

const TIE: f64 = 1e-7;

fn normalize(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    if s != 0.0 {
        v.iter_mut().for_each(|x| *x /= s);
    }
}

fn col_normalize(m: &mut [Row], n: usize) {
    let mut sums = vec![0.0; n];
    for r in m.iter() {
        for &(j, v) in r {
            if let Some(s) = sums.get_mut(j as usize) {
                *s += v;
            }
        }
    }
    for r in m.iter_mut() {
        for (j, v) in r.iter_mut() {
            if let Some(&s) = sums.get(*j as usize) {
                if s != 0.0 {
                    *v /= s;
                }
            }
        }
    }
}

fn dense_ema(new: &[Row], old: &[Row], alpha: f64, n: usize) -> Vec<Row> {
    let mut acc = vec![0.0f64; n];
    let mut seen = vec![false; n];
    new.iter()
        .zip(old)
        .map(|(nr, or)| {
            let mut touched: Vec<u16> = vec![];
            for (&(j, v), a) in nr
                .iter()
                .map(|x| (x, alpha))
                .chain(or.iter().map(|x| (x, 1.0 - alpha)))
            {
                let ju = j as usize;
                if ju < n {
                    if !seen[ju] {
                        seen[ju] = true;
                        touched.push(j);
                    }
                    acc[ju] += a * v;
                }
            }
            touched.sort_unstable();
            let out = touched
                .iter()
                .filter(|&&j| acc[j as usize] > 0.0)
                .map(|&j| (j, acc[j as usize]))
                .collect();
            for &j in &touched {
                acc[j as usize] = 0.0;
                seen[j as usize] = false;
            }
            out
        })
        .collect()
}

fn scan(row: &[(u16, f64)], p: &mut usize, j: u16) -> f64 {
    while let Some(&(c, v)) = row.get(*p) {
        if c < j {
            *p += 1;
        } else {
            return if c == j { v } else { 0.0 };
        }
    }
    0.0
}

/// The float64 epoch.
pub fn epoch(inp: &EpochInput) -> FloatOutput {
    let n = inp.n as usize;
    let owner = inp.owner_uid.map(|o| o as usize);
    let mut amb: Option<&'static str> = None;
    let active: Vec<bool> = inp
        .last_update
        .iter()
        .map(|u| u.saturating_add(inp.activity_cutoff) >= inp.current_block)
        .collect();
    // S2.
    let tw = inp.tao_weight as f64 / u64::MAX as f64;
    let mut stake: Vec<f64> = (0..n)
        .map(|i| {
            let t = inp.tao_stake.as_ref().map_or(0, |t| t[i]) as f64;
            let raw = inp.stake[i] as f64 + t * tw;
            let thr = inp.stake_threshold as f64;
            if owner != Some(i) && thr > 0.0 && (raw - thr).abs() < 1e-6 * thr {
                amb = Some("threshold");
            }
            if owner != Some(i) && raw.floor() < thr {
                0.0
            } else {
                raw
            }
        })
        .collect();
    normalize(&mut stake);
    // A stake below one Q32 unit floors to 0 in fixed point: a discrete difference.
    if stake.iter().any(|&s| s > 0.0 && s < 1e-9) {
        amb = Some("tiny stake");
    }
    // S3.
    let mut permit_old = inp.validator_permit.clone();
    if let Some(o) = owner {
        permit_old[o] = true;
    }
    let mut permit_new: Vec<bool> = stake.iter().map(|s| *s != 0.0).collect();
    let k = inp.max_allowed_validators as usize;
    if n >= k {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| stake[a].total_cmp(&stake[b]));
        if n > k && k > 0 {
            let (lo, hi) = (stake[idx[n - k - 1]], stake[idx[n - k]]);
            if hi > 0.0 && (hi - lo) <= 1e-9 * hi {
                amb = Some("permit tie");
            }
        }
        for &i in idx.iter().take(n - k) {
            permit_new[i] = false;
        }
    }
    if let Some(o) = owner {
        permit_new[o] = true;
    }
    // S4.
    let mut a: Vec<f64> = (0..n)
        .map(|i| {
            if active[i] && permit_old[i] {
                stake[i]
            } else {
                0.0
            }
        })
        .collect();
    normalize(&mut a);
    // S5.
    let weights: Vec<Row> = inp
        .weights
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if !permit_old[i] {
                return vec![];
            }
            let cb = inp
                .commit_blocks
                .as_ref()
                .and_then(|c| c[i])
                .unwrap_or(u64::MAX);
            let mut out: Row = row
                .iter()
                .filter(|(j, _)| *j as usize != i || owner == Some(i))
                .filter(|(j, _)| inp.last_update[i] > inp.block_at_registration[*j as usize])
                .filter(|(j, _)| {
                    !(inp.commit_reveal_enabled && cb < inp.block_at_registration[*j as usize])
                })
                .map(|&(j, w)| (j, f64::from(w)))
                .collect();
            let t: f64 = out.iter().map(|x| x.1).sum();
            if t > 0.0 {
                out.iter_mut().for_each(|x| x.1 /= t);
            }
            out
        })
        .collect();
    // S6: the closed form over real numbers.
    let kappa = f64::from(inp.kappa) / 65535.0;
    let vset: Vec<usize> = (0..n).filter(|&i| a[i] > 0.0).collect();
    let mut sigma: Vec<f64> = vset.iter().map(|&i| a[i]).collect();
    normalize(&mut sigma);
    let mut cols: Vec<Vec<(f64, f64)>> = vec![vec![]; n];
    for (&i, &s) in vset.iter().zip(&sigma) {
        for &(j, w) in &weights[i] {
            if w > 0.0 {
                cols[j as usize].push((w, s));
            }
        }
    }
    let consensus: Vec<f64> = cols
        .iter_mut()
        .map(|col| {
            if col.is_empty() {
                return 0.0;
            }
            col.sort_by(|x, y| y.0.total_cmp(&x.0));
            let mut mass = 0.0;
            for k in 0..col.len() {
                mass += col[k].1;
                if k + 1 == col.len() || col[k + 1].0 != col[k].0 {
                    // At the last group of a full column both outcomes give the minimum.
                    let last_of_full = k + 1 == col.len() && col.len() == vset.len();
                    if (mass - kappa).abs() < TIE && !last_of_full {
                        amb = Some("kappa tie");
                    }
                    if mass >= kappa {
                        return col[k].0;
                    }
                }
            }
            if col.len() < vset.len() {
                0.0
            } else {
                col.last().map_or(0.0, |x| x.0)
            }
        })
        .collect();
    // S7, S8.
    let clipped: Vec<Row> = weights
        .iter()
        .map(|r| {
            r.iter()
                .filter_map(|&(j, w)| {
                    let c = consensus[j as usize];
                    if c < w {
                        (c > 0.0).then_some((j, c))
                    } else {
                        Some((j, w))
                    }
                })
                .collect()
        })
        .collect();
    let validator_trust: Vec<f64> = clipped
        .iter()
        .map(|r| r.iter().map(|x| x.1).sum())
        .collect();
    let mut ranks = vec![0.0; n];
    for (i, r) in clipped.iter().enumerate() {
        for &(j, w) in r {
            ranks[j as usize] += a[i] * w;
        }
    }
    let mut incentive = ranks;
    normalize(&mut incentive);
    // S9.
    let beta = f64::from(inp.bonds_penalty) / 65535.0;
    let wb: Vec<Row> = weights
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if inp.bonds_penalty == 0 {
                return r.clone();
            }
            if inp.bonds_penalty == u16::MAX {
                return clipped[i].clone();
            }
            let mut out: Row = r
                .iter()
                .map(|&(j, w)| {
                    let cj = consensus[j as usize];
                    let c = if cj < w {
                        if cj > 0.0 { cj } else { 0.0 }
                    } else {
                        w
                    };
                    (j, w + beta * (c - w))
                })
                .filter(|x| x.1 > 0.0)
                .collect();
            out.sort_by_key(|x| x.0);
            out
        })
        .collect();
    // S10.
    let last_epoch = if inp.last_mechanism_step_block != 0 {
        inp.last_mechanism_step_block.saturating_add(1)
    } else {
        inp.current_block.saturating_sub(inp.tempo)
    };
    let kept = |j: u16| {
        last_epoch
            > inp
                .block_at_registration
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
                    .filter(|x| kept(x.0))
                    .map(|&(j, b)| (j, f64::from(b) / 65535.0))
                    .collect()
            })
            .collect();
        let cmax = consensus.iter().cloned().fold(0.0, f64::max);
        if inp.liquid_alpha && cmax > 0.0 && cmax < 1e-6 {
            amb = Some("tiny consensus");
        }
        let ema: Vec<Row> = if inp.liquid_alpha && cmax > 0.0 {
            let prev = match inp.liquid_alpha_consensus_mode {
                ConsensusMode::Current => false,
                ConsensusMode::Previous => true,
                ConsensusMode::Auto => inp.bonds_penalty == u16::MAX,
            };
            let c: Vec<f64> = if prev {
                inp.previous_consensus
                    .clone()
                    .unwrap_or_default()
                    .iter()
                    .map(|&x| f64::from(x) / 65535.0)
                    .collect()
            } else {
                consensus.clone()
            };
            let lo = f64::from(inp.alpha_low) / 65535.0;
            let hi = f64::from(inp.alpha_high) / 65535.0;
            let slope = f64::from(inp.alpha_sigmoid_steepness) / -100.0;
            let mut old_row = vec![0.0f64; n];
            wb.iter()
                .zip(&bonds)
                .map(|(wr, br)| {
                    let mut targets: Vec<u16> = wr
                        .iter()
                        .map(|x| x.0)
                        .filter(|&j| (j as usize) < c.len())
                        .collect();
                    targets.sort_unstable();
                    let (mut wp, mut bp) = (0, 0);
                    let alphas: Vec<(u16, f64)> = targets
                        .iter()
                        .map(|&j| {
                            let w = scan(wr, &mut wp, j);
                            let b = scan(br, &mut bp, j);
                            if (w - b).abs() < TIE && w != b {
                                amb = Some("w~b");
                            }
                            let d = if w >= b {
                                (w - c[j as usize]).clamp(0.0, 1.0)
                            } else {
                                (b - w).clamp(0.0, 1.0)
                            };
                            let zz = (slope * (d - 0.5)).clamp(-20.0, 20.0);
                            let sig = 1.0 / (1.0 + zz.exp());
                            (j, (lo + sig * (hi - lo)).min(hi).max(lo))
                        })
                        .collect();
                    // Old bonds by column (last entry wins), in a dense row reset afterwards.
                    for &(j, b) in br.iter() {
                        if let Some(cell) = old_row.get_mut(j as usize) {
                            *cell = b;
                        }
                    }
                    let out = wr
                        .iter()
                        .filter(|x| (x.0 as usize) < c.len())
                        .filter_map(|&(j, w)| {
                            let al = alphas
                                .binary_search_by_key(&j, |x| x.0)
                                .map_or(0.0, |k| alphas[k].1);
                            let old = old_row[j as usize];
                            let v = ((1.0 - al) * old + (al * w).max(0.0)).min(1.0);
                            (v > 0.0).then_some((j, v))
                        })
                        .collect();
                    for &(j, _) in br.iter() {
                        if let Some(cell) = old_row.get_mut(j as usize) {
                            *cell = 0.0;
                        }
                    }
                    out
                })
                .collect()
        } else {
            let alpha = 1.0 - inp.bonds_moving_average as f64 / 1e6;
            dense_ema(&wb, &bonds, alpha, n)
        };
        let mut norm = ema.clone();
        col_normalize(&mut norm, n);
        let mut d: Vec<f64> = norm
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.iter()
                    .map(|&(j, e)| e * incentive[j as usize])
                    .sum::<f64>()
                    * a[i]
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
                    .filter(|x| kept(x.0))
                    .map(|&(j, b)| (j, f64::from(b)))
                    .collect()
            })
            .collect();
        col_normalize(&mut bonds, n);
        let mut delta: Vec<Row> = wb
            .iter()
            .enumerate()
            .map(|(i, r)| r.iter().map(|&(j, w)| (j, w * a[i])).collect())
            .collect();
        col_normalize(&mut delta, n);
        let alpha = 1.0 - inp.bonds_moving_average as f64 / 1e6;
        let mut ema = dense_ema(&delta, &bonds, alpha, n);
        col_normalize(&mut ema, n);
        let mut d: Vec<f64> = ema
            .iter()
            .map(|r| r.iter().map(|&(j, e)| incentive[j as usize] * e).sum())
            .collect();
        normalize(&mut d);
        let mut maxes = vec![0.0f64; n];
        for r in &ema {
            for &(j, v) in r {
                maxes[j as usize] = maxes[j as usize].max(v);
            }
        }
        for r in ema.iter_mut() {
            for (j, v) in r.iter_mut() {
                if maxes[*j as usize] != 0.0 {
                    *v /= maxes[*j as usize];
                }
            }
        }
        (d, ema)
    };
    // S11.
    let combined: Vec<f64> = incentive
        .iter()
        .zip(&dividends)
        .map(|(x, y)| x + y)
        .collect();
    let zsum: f64 = combined.iter().sum();
    if zsum > 0.0 && zsum < 1e-6 {
        amb = Some("tiny total");
    }
    let (mut ns, mut nv, mut nc) = (incentive.clone(), dividends.clone(), combined);
    if zsum != 0.0 {
        ns.iter_mut().chain(nv.iter_mut()).for_each(|x| *x /= zsum);
    }
    normalize(&mut nc);
    if zsum == 0.0 {
        let fb = if a.iter().sum::<f64>() == 0.0 {
            stake.clone()
        } else {
            a.clone()
        };
        nv.clone_from(&fb);
        nc = fb;
    }
    let e = inp.rao_emission as f64;
    FloatOutput {
        server_emission: ns.iter().map(|x| x * e).collect(),
        validator_emission: nv.iter().map(|x| x * e).collect(),
        stake,
        active_stake: a,
        consensus,
        validator_trust,
        incentive,
        dividends,
        ema_bonds,
        normalized_server_emission: ns,
        normalized_validator_emission: nv,
        normalized_combined_emission: nc,
        new_validator_permit: permit_new,
        ambiguous: amb,
    }
}

//! The Yuma emission epoch on random inputs (spec/emission.md §6): no panic; an input
//! `validate` refuses is refused by `epoch` with the same error; on an accepted input,
//! incentive and dividends each sum to 0 or to within `n` Q32 units below 1, the total paid
//! is at most `E` and, when any stake counts, short of `E` by at most
//! `2n + ⌈2n·E / 2^32⌉` rao; a workspace reused across every input of the run gives the bits
//! of a fresh epoch; and the output is, bit for bit, that of the literal port of the chain's
//! epoch (protocol/tests/emission_support/literal.rs: no closed forms, no sparse shortcuts).

use std::sync::Mutex;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use mycel_protocol::emission::fixed::ONE;
use mycel_protocol::emission::{
    ConsensusMode, EmissionError, EpochInput, EpochOutput, EpochWorkspace, epoch, epoch_with,
};

/// The literal port of the chain's epoch, shared with protocol's tests (the reference of
/// `product_matches_literal_port_on_random_inputs`).
#[path = "../../protocol/tests/emission_support/literal.rs"]
mod literal;

/// One workspace for the whole run: every input sees what the previous ones left in it.
static WORKSPACE: Mutex<Option<EpochWorkspace>> = Mutex::new(None);

/// A per-uid vector: length `n`, or (rarely) one off, to reach the length checks.
fn len_for(u: &mut Unstructured<'_>, n: usize) -> Result<usize> {
    Ok(match u.int_in_range(0u8..=63)? {
        0 => n + 1,
        1 => n.saturating_sub(1),
        _ => n,
    })
}

/// A block number: near `current` most of the time, anything sometimes.
fn block(u: &mut Unstructured<'_>, current: u64) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => u.arbitrary()?,
        1 => current,
        _ => current.saturating_sub(u.int_in_range(0u64..=5_000)?),
    })
}

fn row(u: &mut Unstructured<'_>, n: usize, cols_beyond: bool) -> Result<Vec<(u16, u16)>> {
    let len = u.int_in_range(0usize..=n.min(24) + 1)?;
    let mut r = Vec::with_capacity(len);
    for _ in 0..len {
        let uid = if u.ratio(1u8, 32)? || (cols_beyond && u.ratio(1u8, 8)?) {
            u.arbitrary()?
        } else {
            u.int_in_range(0..=n.saturating_sub(1).min(u16::MAX as usize) as u16)?
        };
        let value = match u.int_in_range(0u8..=7)? {
            0 => 0,
            1 => u16::MAX,
            _ => u.arbitrary()?,
        };
        r.push((uid, value));
    }
    if u.ratio(3u8, 4)? {
        // Usually one entry per uid, as the chain stores rows; sometimes repeats (refused).
        r.sort_unstable_by_key(|e| e.0);
        r.dedup_by_key(|e| e.0);
    }
    Ok(r)
}

fn arb_input(u: &mut Unstructured<'_>) -> Result<EpochInput> {
    let n = if u.ratio(1u8, 16)? {
        u.int_in_range(0usize..=300)?
    } else {
        u.int_in_range(0usize..=12)?
    };
    let current_block = if u.ratio(1u8, 8)? {
        u.arbitrary()?
    } else {
        u.int_in_range(0u64..=1 << 24)?
    };
    let tempo = if u.ratio(1u8, 8)? {
        u.arbitrary()?
    } else {
        u.int_in_range(0u64..=400)?
    };
    let activity_cutoff = if u.ratio(1u8, 8)? {
        u.arbitrary()?
    } else {
        u.int_in_range(0u64..=6_000)?
    };
    // Stakes: one input in four draws any u64, so sums of 2^63 and more (the chain's pitfall P1,
    // issue #19 hole 6) reach `EpochInput::validate`, which must refuse them with the same error
    // as `epoch`; the rest keep every stake below 2^61 / n so that most inputs are accepted.
    let cap = if u.ratio(1u8, 4)? {
        u64::MAX
    } else {
        (1u64 << 61) / n.max(1) as u64
    };
    let stake_vec = |u: &mut Unstructured<'_>| -> Result<Vec<u64>> {
        let len = len_for(u, n)?;
        (0..len)
            .map(|_| {
                Ok(match u.int_in_range(0u8..=7)? {
                    0 => 0,
                    1 => cap,
                    2 => u.int_in_range(0..=cap)?,
                    _ => u.int_in_range(0..=cap.min(1 << 40))?,
                })
            })
            .collect()
    };
    let stake = stake_vec(u)?;
    let tao_stake = if u.arbitrary()? {
        Some(stake_vec(u)?)
    } else {
        None
    };
    let last_update = (0..len_for(u, n)?)
        .map(|_| block(u, current_block))
        .collect::<Result<_>>()?;
    let block_at_registration = (0..len_for(u, n)?)
        .map(|_| block(u, current_block))
        .collect::<Result<_>>()?;
    let validator_permit = (0..len_for(u, n)?)
        .map(|_| u.arbitrary())
        .collect::<Result<_>>()?;
    let weights = (0..len_for(u, n)?)
        .map(|_| row(u, n, false))
        .collect::<Result<_>>()?;
    let bonds = (0..len_for(u, n)?)
        .map(|_| row(u, n, true))
        .collect::<Result<_>>()?;
    let commit_blocks = if u.arbitrary()? {
        Some(
            (0..len_for(u, n)?)
                .map(|_| {
                    Ok(if u.arbitrary()? {
                        Some(block(u, current_block)?)
                    } else {
                        None
                    })
                })
                .collect::<Result<_>>()?,
        )
    } else {
        None
    };
    let previous_consensus = if u.arbitrary()? {
        let len = if u.ratio(1u8, 4)? {
            u.int_in_range(0usize..=n + 2)?
        } else {
            n
        };
        Some((0..len).map(|_| u.arbitrary()).collect::<Result<_>>()?)
    } else {
        None
    };
    Ok(EpochInput {
        n: n as u16,
        current_block,
        tempo,
        activity_cutoff,
        last_mechanism_step_block: if u.arbitrary()? {
            0
        } else {
            block(u, current_block)?
        },
        last_update,
        block_at_registration,
        stake,
        tao_stake,
        tao_weight: u.arbitrary()?,
        stake_threshold: if u.arbitrary()? {
            0
        } else {
            u.int_in_range(0..=cap.min(1 << 40))?
        },
        owner_uid: if u.arbitrary()? {
            Some(u.int_in_range(0..=n as u16)?)
        } else {
            None
        },
        validator_permit,
        max_allowed_validators: if u.arbitrary()? {
            u.arbitrary()?
        } else {
            u.int_in_range(0..=16)?
        },
        weights,
        bonds,
        commit_reveal_enabled: u.arbitrary()?,
        commit_blocks,
        kappa: u.arbitrary()?,
        bonds_penalty: u.arbitrary()?,
        bonds_moving_average: if u.ratio(1u8, 8)? {
            u.arbitrary()?
        } else {
            u.int_in_range(0..=1_000_000)?
        },
        yuma3: u.arbitrary()?,
        liquid_alpha: u.arbitrary()?,
        alpha_low: u.arbitrary()?,
        alpha_high: u.arbitrary()?,
        alpha_sigmoid_steepness: u.arbitrary()?,
        liquid_alpha_consensus_mode: *u.choose(&[
            ConsensusMode::Current,
            ConsensusMode::Previous,
            ConsensusMode::Auto,
        ])?,
        previous_consensus,
        rao_emission: if u.arbitrary()? {
            u.arbitrary()?
        } else {
            u.int_in_range(0..=1 << 40)?
        },
    })
}

/// The literal port's output, or `None` where it panics. It panics only on an arithmetic
/// overflow that debug assertions (on in fuzz builds) catch and the chain's release build wraps,
/// and there is then no wrapped value to compare with. The panic is caught quietly: libFuzzer's
/// hook would abort on it, so the hook is set aside for the call.
fn literal_epoch(input: &EpochInput) -> Option<EpochOutput> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(|| literal::epoch(input));
    std::panic::set_hook(hook);
    out.ok()
}

fn sum(v: &[i64]) -> i128 {
    v.iter().map(|&x| i128::from(x)).sum()
}

/// One structured run; `Err` only when the input ran out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let input = arb_input(u)?;
    let fresh = epoch(&input);
    let mut guard = WORKSPACE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ws = guard.get_or_insert_with(EpochWorkspace::new);
    let reused = epoch_with(ws, &input).cloned();
    assert_eq!(reused, fresh, "reused workspace differs from a fresh epoch");
    match input.validate() {
        Err(e) => {
            assert_eq!(fresh, Err(e), "epoch and validate disagree");
            return Ok(());
        }
        Ok(()) => {
            if let Err(e) = &fresh {
                assert!(
                    matches!(e, EmissionError::BondsMovingAverageOverflow { .. }),
                    "valid input refused: {e}"
                );
                return Ok(());
            }
        }
    }
    let out = fresh.expect("checked above");
    if let Some(want) = literal_epoch(&input) {
        assert_eq!(out, want, "the product differs from the literal port");
    }
    let n = usize::from(input.n);
    for (name, len) in [
        ("incentive", out.incentive.len()),
        ("dividends", out.dividends.len()),
        ("consensus", out.consensus.len()),
        ("server_emission", out.server_emission.len()),
        ("validator_emission", out.validator_emission.len()),
        ("new_bonds", out.new_bonds.len()),
    ] {
        assert_eq!(len, n, "{name} has {len} entries, n = {n}");
    }
    let ni = i128::from(input.n);
    for (name, v) in [("incentive", &out.incentive), ("dividends", &out.dividends)] {
        let s = sum(v);
        assert!(
            s == 0 || (i128::from(ONE) - ni <= s && s <= i128::from(ONE)),
            "{name} sums to {s} (n = {n})"
        );
        assert!(
            v.iter().all(|&x| (0..=ONE).contains(&x)),
            "{name} entry outside [0, 1]"
        );
    }
    let e = i128::from(input.rao_emission);
    let paid: i128 = out
        .server_emission
        .iter()
        .chain(&out.validator_emission)
        .map(|&x| i128::from(x))
        .sum();
    assert!(paid <= e, "paid {paid} > E {e}");
    if sum(&out.stake) != 0 {
        let bound = 2 * ni + (2 * ni * e + (1 << 32) - 1) / (1 << 32);
        assert!(e - paid <= bound, "dust {} > bound {bound}", e - paid);
    }
    Ok(())
}

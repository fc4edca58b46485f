//! What each simulated miner behaviour computes for a task with the real kernels, and the
//! simulated latency model.

use mycel_kernels::Backend;
use mycel_kernels::exec::execute;
use mycel_protocol::ids::Digest;
use mycel_protocol::task::{AttnMode, KernelParams, TaskSpec};

use super::scenario::{MinerBehaviour, Scenario};
use crate::error::Result;
use crate::miner::Claim;
use crate::rng::DetRng;
use crate::validator::tasks::WeightPool;

/// Executes `task` honestly with the real kernels (single-threaded: the simulation runs tasks
/// side by side instead).
///
/// # Errors
/// Kernel errors.
pub fn execute_honest(pool: &WeightPool, task: &TaskSpec) -> Result<Claim> {
    let weights = pool.find(task).map(|w| w.bytes.as_slice());
    let out = execute(task, weights, Backend::Auto, 1)?;
    Ok(Claim::from(&out))
}

/// Whether a miner of `behaviour` fakes the `index`-th task of a validator: every task for lazy
/// miners and copiers, every fourth for grinders.
#[must_use]
pub fn fakes(behaviour: MinerBehaviour, index: u32) -> bool {
    match behaviour {
        MinerBehaviour::Lazy | MinerBehaviour::Copier => true,
        MinerBehaviour::Grinder => index.is_multiple_of(4),
        _ => false,
    }
}

/// What a miner of `behaviour` computes for the `index`-th task a validator gave it. Copiers
/// are handled by the caller (they need another miner's claim); for them this returns `None`.
///
/// # Errors
/// Kernel errors.
pub fn execute_as(
    behaviour: MinerBehaviour,
    pool: &WeightPool,
    task: &TaskSpec,
    index: u32,
    lazy_seed: &[u8; 32],
) -> Result<Option<Claim>> {
    match behaviour {
        MinerBehaviour::Honest
        | MinerBehaviour::Slow
        | MinerBehaviour::ClockLiar
        | MinerBehaviour::DoubleDipper => execute_honest(pool, task).map(Some),
        MinerBehaviour::Grinder if !fakes(behaviour, index) => execute_honest(pool, task).map(Some),
        MinerBehaviour::Lazy | MinerBehaviour::Grinder => {
            let mut r = DetRng::new("lazy", &[lazy_seed]);
            Ok(Some(Claim {
                commitment: Digest(r.bytes32()),
                tile_root: Digest(r.bytes32()),
            }))
        }
        MinerBehaviour::Sloppy => {
            let mut claimed = *task;
            if let KernelParams::Attention { mode, .. } = &mut claimed.params {
                *mode = AttnMode::Fast;
            }
            execute_honest(pool, &claimed).map(Some)
        }
        MinerBehaviour::Copier => Ok(None),
    }
}

/// Simulated execution time of a task for a miner, in ms: overhead plus compute units at the
/// miner's throughput, with up to `jitter_permille` random extra, times `slow_factor` for slow
/// and clock-liar miners. Lazy miners and grinders answer in `lazy_ms`.
pub fn latency_ms(
    s: &Scenario,
    behaviour: MinerBehaviour,
    compute_units: u64,
    jitter_seed: &[u8; 32],
) -> u64 {
    let tm = &s.timing;
    if matches!(behaviour, MinerBehaviour::Lazy | MinerBehaviour::Grinder) {
        return tm.lazy_ms.max(1);
    }
    let base = tm
        .overhead_ms
        .saturating_add(compute_units.div_ceil(tm.units_per_ms));
    let mut r = DetRng::new("jitter", &[jitter_seed]);
    let jitter = base.saturating_mul(r.below(tm.jitter_permille + 1)) / 1000;
    let t = base.saturating_add(jitter).max(1);
    if matches!(behaviour, MinerBehaviour::Slow | MinerBehaviour::ClockLiar) {
        t.saturating_mul(tm.slow_factor)
    } else {
        t
    }
}

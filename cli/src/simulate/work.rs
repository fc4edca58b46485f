//! The work itself: the subnet's public weight matrices, task generation from the epoch beacon,
//! execution by each miner behaviour with the real kernels, and the simulated latency model.

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::task::{AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};

use super::rng::{DetRng, derive};
use super::scenario::{MinerBehaviour, Scenario, parse_dtype};
use crate::fraud::WeightsSource;

/// One public weight matrix of the subnet.
#[derive(Debug, Clone)]
pub struct WeightMatrix {
    /// Generator seed.
    pub seed: [u8; 32],
    /// Quantization format.
    pub format: QuantFormat,
    /// Rows (`n`).
    pub rows: u32,
    /// Inner dimension (`k`).
    pub cols: u32,
    /// The bare GGML blocks.
    pub bytes: Vec<u8>,
    /// Their digest (what tasks name).
    pub digest: Digest,
}

impl WeightMatrix {
    /// Where a verifier regenerates these weights from.
    pub fn source(&self) -> WeightsSource {
        WeightsSource::new(&self.seed, self.format, self.rows, self.cols)
    }
}

/// The subnet's public weights: `weight_matrices` matrices per format, generated from the seed.
#[derive(Debug, Clone, Default)]
pub struct WeightPool {
    /// Q8_0 matrices.
    pub q8_0: Vec<WeightMatrix>,
    /// Q4_0 matrices.
    pub q4_0: Vec<WeightMatrix>,
}

impl WeightPool {
    /// Generates the pool (empty lists for formats the scenario never uses).
    pub fn generate(s: &Scenario) -> Result<Self, String> {
        let t = &s.tasks;
        let make = |format: QuantFormat, used: bool| -> Result<Vec<WeightMatrix>, String> {
            if !used {
                return Ok(Vec::new());
            }
            (0..t.weight_matrices)
                .map(|j| {
                    let seed = derive(
                        "weights",
                        &[
                            &s.seed.to_le_bytes(),
                            format.name().as_bytes(),
                            &j.to_le_bytes(),
                        ],
                    );
                    let bytes =
                        generate_weights(&seed, format, t.matmul_n as usize, t.matmul_k as usize)
                            .map_err(|e| format!("generating weights: {e}"))?;
                    let digest = weights_digest(&bytes);
                    Ok(WeightMatrix {
                        seed,
                        format,
                        rows: t.matmul_n,
                        cols: t.matmul_k,
                        bytes,
                        digest,
                    })
                })
                .collect()
        };
        Ok(Self {
            q8_0: make(QuantFormat::Q8_0, t.matmul_q8_0 > 0)?,
            q4_0: make(QuantFormat::Q4_0, t.matmul_q4_0 > 0)?,
        })
    }

    /// The matrix a task names, if it is a matmul task on a pool matrix.
    pub fn find(&self, task: &TaskSpec) -> Option<&WeightMatrix> {
        let list = match task.kernel {
            KernelId::MatmulQ8_0 => &self.q8_0,
            KernelId::MatmulQ4_0 => &self.q4_0,
            _ => return None,
        };
        list.iter().find(|w| w.digest == task.weights_digest)
    }
}

/// What every task of one epoch shares.
#[derive(Debug, Clone, Copy)]
pub struct TaskContext {
    /// Network id.
    pub network: NetworkId,
    /// Subnet.
    pub subnet: SubnetId,
    /// Epoch.
    pub epoch: u64,
    /// The epoch's beacon.
    pub beacon: [u8; 32],
}

/// Generates the `index`-th task validator `validator` gives miner `miner` in an epoch.
///
/// The kind, shape and weights come from `H(beacon ‖ validator ‖ index)`, so a validator gives
/// every miner the same workload in a slot (their scores compare like with like); the input
/// seed comes from `H(beacon ‖ validator ‖ miner ‖ index)`, so no two miners compute the same
/// output and copying another miner's commitment is caught.
pub fn make_task(
    s: &Scenario,
    pool: &WeightPool,
    ctx: TaskContext,
    validator: &Hotkey,
    miner: &Hotkey,
    index: u32,
) -> Result<TaskSpec, String> {
    let t = &s.tasks;
    let mut rng = DetRng::new(
        "task-shape",
        &[&ctx.beacon, validator.as_bytes(), &index.to_le_bytes()],
    );
    let kind = rng
        .weighted(&[t.matmul_q8_0, t.matmul_q4_0, t.attention])
        .ok_or("tasks: empty mix")?;
    let input_seed = derive(
        "task-input",
        &[
            &ctx.beacon,
            validator.as_bytes(),
            miner.as_bytes(),
            &index.to_le_bytes(),
        ],
    );
    let (kernel, params, weights_digest) = match kind {
        0 | 1 => {
            let list = if kind == 0 { &pool.q8_0 } else { &pool.q4_0 };
            let w = list
                .get(rng.below(list.len() as u64) as usize)
                .ok_or("tasks: no weight matrix for this format")?;
            let m = t.matmul_m[rng.below(t.matmul_m.len() as u64) as usize];
            let kernel = if kind == 0 {
                KernelId::MatmulQ8_0
            } else {
                KernelId::MatmulQ4_0
            };
            (
                kernel,
                KernelParams::Matmul {
                    m,
                    n: w.rows,
                    k: w.cols,
                },
                w.digest,
            )
        }
        _ => {
            let dtype_name =
                &t.attention_dtypes[rng.below(t.attention_dtypes.len() as u64) as usize];
            let dtype = parse_dtype(dtype_name).ok_or("tasks.attention_dtypes: unknown dtype")?;
            let causal = rng.below(2) == 1;
            let params = KernelParams::Attention {
                n_heads: t.attention_heads,
                n_kv_heads: t.attention_kv_heads,
                q_len: t.attention_q_len,
                kv_len: t.attention_kv_len,
                head_dim: t.attention_head_dim,
                causal,
                dtype,
                mode: AttnMode::Verifiable,
            };
            // Attention takes no weights; the digest is that of the empty weight set.
            (KernelId::Attention, params, weights_digest(&[]))
        }
    };
    let task = TaskSpec {
        network: ctx.network,
        subnet: ctx.subnet,
        epoch: Epoch(ctx.epoch),
        kernel,
        kernel_version: KERNEL_VERSION,
        params,
        weights_digest,
        input_seed,
    };
    task.validate()
        .map_err(|e| format!("generated an invalid task: {e}"))?;
    Ok(task)
}

/// What a miner claims for one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Output commitment.
    pub commitment: Digest,
    /// Output tile root.
    pub tile_root: Digest,
}

/// Executes `task` honestly with the real kernels (single-threaded: the simulation runs tasks
/// side by side instead).
pub fn execute_honest(pool: &WeightPool, task: &TaskSpec) -> Result<Claim, String> {
    let weights = pool.find(task).map(|w| w.bytes.as_slice());
    let out =
        execute(task, weights, Backend::Auto, 1).map_err(|e| format!("executing a task: {e}"))?;
    Ok(Claim {
        commitment: out.commitment,
        tile_root: out.tile_root,
    })
}

/// What a miner of `behaviour` computes for `task`. Copiers are handled by the caller (they
/// need another miner's claim); for them this returns `None`.
pub fn execute_as(
    behaviour: MinerBehaviour,
    pool: &WeightPool,
    task: &TaskSpec,
    lazy_seed: &[u8; 32],
) -> Result<Option<Claim>, String> {
    match behaviour {
        MinerBehaviour::Honest | MinerBehaviour::Slow => execute_honest(pool, task).map(Some),
        MinerBehaviour::Lazy => {
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
/// miners. Lazy miners answer in `lazy_ms`.
pub fn latency_ms(
    s: &Scenario,
    behaviour: MinerBehaviour,
    compute_units: u64,
    jitter_seed: &[u8; 32],
) -> u64 {
    let tm = &s.timing;
    if behaviour == MinerBehaviour::Lazy {
        return tm.lazy_ms.max(1);
    }
    let base = tm
        .overhead_ms
        .saturating_add(compute_units.div_ceil(tm.units_per_ms));
    let mut r = DetRng::new("jitter", &[jitter_seed]);
    let jitter = base.saturating_mul(r.below(tm.jitter_permille + 1)) / 1000;
    let t = base.saturating_add(jitter).max(1);
    if behaviour == MinerBehaviour::Slow {
        t.saturating_mul(tm.slow_factor)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(beacon: u8) -> TaskContext {
        TaskContext {
            network: NetworkId([1; 32]),
            subnet: SubnetId(1),
            epoch: 0,
            beacon: [beacon; 32],
        }
    }

    #[test]
    fn tasks_are_deterministic_and_mixed() {
        let s = Scenario::default();
        let pool = WeightPool::generate(&s).unwrap();
        let (v, m) = (Hotkey([2; 32]), Hotkey([3; 32]));
        let a = make_task(&s, &pool, ctx(9), &v, &m, 0).unwrap();
        let b = make_task(&s, &pool, ctx(9), &v, &m, 0).unwrap();
        assert_eq!(a, b);
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..40 {
            let t = make_task(&s, &pool, ctx(9), &v, &m, i).unwrap();
            kinds.insert(format!("{:?}", t.kernel));
            if let Some(w) = pool.find(&t) {
                assert_eq!(w.digest, t.weights_digest);
            }
        }
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        // Same slot, another miner: same kind, shape and weights, other inputs.
        let other = make_task(&s, &pool, ctx(9), &v, &Hotkey([4; 32]), 0).unwrap();
        assert_eq!(
            (other.kernel, other.params, other.weights_digest),
            (a.kernel, a.params, a.weights_digest)
        );
        assert_ne!(other.input_seed, a.input_seed);
        assert_eq!(other.compute_units().unwrap(), a.compute_units().unwrap());
    }

    #[test]
    fn behaviours_claim_what_they_should() {
        let s = Scenario::default();
        let pool = WeightPool::generate(&s).unwrap();
        let (v, m) = (Hotkey([2; 32]), Hotkey([3; 32]));
        let mut saw_attention = false;
        for i in 0..12 {
            let t = make_task(&s, &pool, ctx(5), &v, &m, i).unwrap();
            let truth = execute_honest(&pool, &t).unwrap();
            let honest = execute_as(MinerBehaviour::Honest, &pool, &t, &[0; 32])
                .unwrap()
                .unwrap();
            let slow = execute_as(MinerBehaviour::Slow, &pool, &t, &[0; 32])
                .unwrap()
                .unwrap();
            let lazy = execute_as(MinerBehaviour::Lazy, &pool, &t, &[0; 32])
                .unwrap()
                .unwrap();
            let sloppy = execute_as(MinerBehaviour::Sloppy, &pool, &t, &[0; 32])
                .unwrap()
                .unwrap();
            assert_eq!(honest, truth);
            assert_eq!(slow, truth);
            assert_ne!(lazy.commitment, truth.commitment);
            if t.kernel == KernelId::Attention {
                saw_attention = true;
                // Fast mode reorders the softmax; on these shapes its bits differ.
                assert_ne!(sloppy.commitment, truth.commitment);
            } else {
                assert_eq!(sloppy, truth);
            }
            assert_eq!(
                execute_as(MinerBehaviour::Copier, &pool, &t, &[0; 32]).unwrap(),
                None
            );
        }
        assert!(saw_attention);
    }

    #[test]
    fn slow_miners_take_slow_factor_times_longer() {
        let s = Scenario::default();
        let seed = [4; 32];
        let h = latency_ms(&s, MinerBehaviour::Honest, 1_000_000, &seed);
        let slow = latency_ms(&s, MinerBehaviour::Slow, 1_000_000, &seed);
        assert_eq!(slow, 5 * h);
        // 20 ms overhead + 10 ms of compute, plus at most 10 % jitter.
        assert!((30..=33).contains(&h), "{h}");
        assert_eq!(latency_ms(&s, MinerBehaviour::Lazy, 1_000_000, &seed), 2);
    }
}

//! The roles of mycel-node: `Miner`, `Validator` (each epoch step as its own method), the
//! public `WeightPool` tasks name, `FraudProof` and the subnet simulation `simulate`.

use mycel_kernels::exec::weight_format;
use mycel_node::fraud::{Confirmed, FraudProof as RFraud, WeightsSource};
use mycel_node::miner::{Claim, Miner as RMiner, ReceiptFields};
use mycel_node::sim::{NoClock, Scenario, SimLog, Subnet, to_json};
use mycel_node::tile_proof::{TileConfirmed, TileProof as RTile};
use mycel_node::validator::intake::IssuedTasks as RIssued;
use mycel_node::validator::sample::{
    check_secret, rate_ppm, sample, sample_seed, secret_commitment,
};
use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool as RPool, issue_task};
use mycel_node::validator::{
    CommittedBatch as RCommitted, Judgement as RJudgement, Validator as RValidator,
};
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::BackendLabel;
use mycel_protocol::sign::verify_signed_batch;
use mycel_protocol::task::KernelParams;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::array::ByteInput;
use crate::convert::{array, bytes, json_to_py};
use crate::errors::{self, IntoPyResult};
use crate::kernels::parse_backend;
use crate::keys::Keypair;
use crate::merkle::InclusionProof;
use crate::messages::{ReceiptBatch, SignedReceipt, SignedVerdict, TaskSpec};

/// A Python dict (or None) as a serde value of `T`, through `json.dumps`; errors name `name`.
fn from_dict<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<T> {
    let text: String = py
        .import("json")?
        .call_method1("dumps", (value,))
        .map_err(|e| errors::argument(format!("{name}: not JSON-serialisable: {e}")))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| errors::argument(format!("{name}: {e}")))
}

/// A serde value as Python objects (through JSON).
fn to_py<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| errors::error("EncodeError", "encode.serializer", e.to_string()))?;
    json_to_py(py, &text)
}

/// The weights of a matmul task: given bytes, generated from a 32-byte seed, or (neither
/// given) the task's seeded weights; `None` for attention. Returns owned bytes so the caller
/// can release the GIL.
pub fn task_weights(
    py: Python<'_>,
    task: &mycel_protocol::task::TaskSpec,
    weights: Option<&Bound<'_, PyAny>>,
    weights_seed: Option<&[u8]>,
) -> PyResult<Option<Vec<u8>>> {
    match (weights, weights_seed) {
        (Some(_), Some(_)) => Err(errors::argument(
            "weights, weights_seed: pass one of them, not both",
        )),
        (Some(w), None) => Ok(Some(ByteInput::extract("weights", w)?.as_slice()?.to_vec())),
        (None, Some(seed)) => {
            let seed = array::<32>("weights_seed", seed)?;
            match (weight_format(task.kernel), task.params) {
                (Some(format), KernelParams::Matmul { n, k, .. }) => Ok(Some(
                    py.detach(|| {
                        mycel_kernels::exec::generate_weights(&seed, format, n as usize, k as usize)
                    })
                    .py()?,
                )),
                _ => Err(errors::argument(
                    "weights_seed: applies to matmul tasks only",
                )),
            }
        }
        // Neither given: a self-contained task's weights derive from its own seed
        // (spec/kernels.md section 5, "Seeded weights"); attention has none.
        (None, None) => py
            .detach(|| mycel_node::task::seeded_weights(task))
            .map_err(errors::node),
    }
}

fn fields(
    assigner: &[u8],
    nonce: u64,
    started_at_ms: u64,
    finished_at_ms: u64,
    label: &str,
) -> PyResult<ReceiptFields> {
    Ok(ReceiptFields {
        assigner: Hotkey(array("assigner", assigner)?),
        nonce,
        started_at_ms,
        finished_at_ms,
        backend: BackendLabel::new(label).py()?,
    })
}

/// A miner: executes tasks and signs receipts for them (mycel-node's `Miner`).
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct Miner {
    inner: RMiner,
}

#[pymethods]
impl Miner {
    /// A miner signing with `keypair`.
    #[new]
    fn new(keypair: &Keypair) -> Self {
        Self {
            inner: RMiner::new(keypair.key.clone()),
        }
    }

    /// The miner's hotkey.
    #[getter]
    fn hotkey<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.hotkey().0)
    }

    /// Executes `task` (matmul tasks need `weights` or `weights_seed`) on `backend` and
    /// returns the signed receipt; the GIL is released while it runs.
    #[pyo3(signature = (task, weights=None, backend="auto", *, assigner, weights_seed=None,
        nonce=0, started_at_ms=0, finished_at_ms=0, label="cpu", threads=0))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        task: &TaskSpec,
        weights: Option<&Bound<'_, PyAny>>,
        backend: &str,
        assigner: &[u8],
        weights_seed: Option<&[u8]>,
        nonce: u64,
        started_at_ms: u64,
        finished_at_ms: u64,
        label: &str,
        threads: usize,
    ) -> PyResult<SignedReceipt> {
        let backend = parse_backend(backend)?;
        let f = fields(assigner, nonce, started_at_ms, finished_at_ms, label)?;
        let w = task_weights(py, &task.inner, weights, weights_seed)?;
        let spec = task.inner;
        let out = py
            .detach(|| self.inner.run(&spec, w.as_deref(), backend, threads, f))
            .map_err(errors::node)?;
        Ok(SignedReceipt { inner: out.receipt })
    }

    /// Signs a receipt for `task` claiming `commitment` and `tile_root` without executing
    /// anything (for hosts that executed the task themselves).
    #[pyo3(signature = (task, commitment, tile_root, *, assigner, nonce=0, started_at_ms=0,
        finished_at_ms=0, label="cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        task: &TaskSpec,
        commitment: &[u8],
        tile_root: &[u8],
        assigner: &[u8],
        nonce: u64,
        started_at_ms: u64,
        finished_at_ms: u64,
        label: &str,
    ) -> PyResult<SignedReceipt> {
        let claim = Claim {
            commitment: Digest(array("commitment", commitment)?),
            tile_root: Digest(array("tile_root", tile_root)?),
        };
        let f = fields(assigner, nonce, started_at_ms, finished_at_ms, label)?;
        Ok(SignedReceipt {
            inner: self
                .inner
                .sign(&task.inner, claim, f)
                .map_err(errors::node)?,
        })
    }
}

/// The subnet's public weight matrices, generated from a run seed and a task mix (the
/// `[tasks]` table of a scenario as a dict; None: the defaults).
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct WeightPool {
    pool: RPool,
    config: TaskConfig,
}

#[pymethods]
impl WeightPool {
    /// The pool of run `seed` for the task mix `tasks`.
    #[new]
    #[pyo3(signature = (seed, tasks=None))]
    fn new(py: Python<'_>, seed: u64, tasks: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let config: TaskConfig = match tasks {
            Some(t) => from_dict(py, "tasks", t)?,
            None => TaskConfig::default(),
        };
        let c = config.clone();
        let pool = py
            .detach(|| RPool::generate(seed, &c))
            .map_err(errors::node)?;
        Ok(Self { pool, config })
    }

    /// The weights (GGML block bytes) a task names, or None (attention, or not in the pool).
    fn weights_for<'py>(&self, py: Python<'py>, task: &TaskSpec) -> Option<Bound<'py, PyBytes>> {
        self.pool.find(&task.inner).map(|w| bytes(py, &w.bytes))
    }

    /// Where a verifier regenerates a task's weights from (the fraud proof's `weights`
    /// field), or None.
    fn source_for<'py>(
        &self,
        py: Python<'py>,
        task: &TaskSpec,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.pool
            .find(&task.inner)
            .map(|w| to_py(py, &w.source()))
            .transpose()
    }

    /// The task mix as a dict.
    #[getter]
    fn tasks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.config)
    }
}

/// A receipt batch as a validator committed it: the batch, its Merkle root over the receipt
/// ids, the envelope bytes and the ids.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct CommittedBatch {
    inner: RCommitted,
}

#[pymethods]
impl CommittedBatch {
    /// The Merkle root the validator publishes before drawing its sample.
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.root.0)
    }
    /// Receipt ids, in batch order.
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.inner.ids.iter().map(|d| bytes(py, &d.0)).collect()
    }
    /// The batch.
    #[getter]
    fn batch(&self) -> ReceiptBatch {
        ReceiptBatch {
            inner: self.inner.batch.clone(),
        }
    }
    /// The batch's canonical envelope.
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.bytes)
    }
    /// The inclusion proof of receipt `index` under the root.
    fn proof(&self, index: u64) -> PyResult<InclusionProof> {
        Ok(InclusionProof {
            inner: self.inner.tree.proof(index).py()?,
        })
    }
    fn __len__(&self) -> usize {
        self.inner.ids.len()
    }
}

/// A validator (mycel-node's `Validator`): each step of an epoch is a method; the state it
/// carries across epochs (score EMA, bans, pending reveals) saves to JSON and restores.
#[pyclass(module = "mycel._mycel")]
#[derive(Debug)]
pub struct Validator {
    inner: RValidator,
}

#[pymethods]
impl Validator {
    /// A validator signing with `keypair`; `ema_alpha` is the score EMA's coefficient in
    /// `[0, 1]` (the default is the default scenario's).
    #[new]
    #[pyo3(signature = (keypair, ema_alpha=None))]
    fn new(keypair: &Keypair, ema_alpha: Option<f64>) -> PyResult<Self> {
        let mut s = Scenario::default();
        if let Some(a) = ema_alpha {
            s.scoring.ema_alpha = a;
        }
        Ok(Self {
            inner: RValidator::new(keypair.key.clone(), s.ema_alpha_q32()).map_err(errors::node)?,
        })
    }

    /// A validator restored from `state` (the JSON text of `state()`).
    #[staticmethod]
    fn from_state(keypair: &Keypair, state: &str) -> PyResult<Self> {
        let st = mycel_node::validator::ValidatorState::from_json(state).map_err(errors::node)?;
        Ok(Self {
            inner: RValidator::from_state(keypair.key.clone(), st),
        })
    }

    /// The state to save (JSON text): score EMA, bans, pending weight reveals.
    fn state(&self) -> PyResult<String> {
        self.inner.state().to_json().map_err(errors::node)
    }

    /// The validator's hotkey.
    #[getter]
    fn hotkey<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.hotkey().0)
    }

    /// The `index`-th task this validator gives `miner` in an epoch (kind, shape and weights
    /// from the pool's task mix and the beacon; the input seed also binds the miner).
    #[pyo3(signature = (pool, *, network, subnet, epoch, beacon, miner, index))]
    #[allow(clippy::too_many_arguments)]
    fn issue_task(
        &self,
        pool: &WeightPool,
        network: &[u8],
        subnet: u16,
        epoch: u64,
        beacon: &[u8],
        miner: &[u8],
        index: u32,
    ) -> PyResult<TaskSpec> {
        let ctx = TaskContext {
            network: NetworkId(array("network", network)?),
            subnet: SubnetId(subnet),
            epoch,
            beacon: array("beacon", beacon)?,
        };
        let miner = Hotkey(array("miner", miner)?);
        let inner = issue_task(
            &pool.config,
            &pool.pool,
            ctx,
            &self.inner.hotkey(),
            &miner,
            index,
        )
        .map_err(errors::node)?;
        Ok(TaskSpec { inner })
    }

    /// Commits to the receipts received: the batch and its Merkle root over the receipt ids.
    #[pyo3(signature = (receipts, *, network, subnet, epoch))]
    fn commit_batch(
        &self,
        receipts: Vec<PyRef<'_, SignedReceipt>>,
        network: &[u8],
        subnet: u16,
        epoch: u64,
    ) -> PyResult<CommittedBatch> {
        let rs = receipts.iter().map(|r| r.inner.clone()).collect();
        Ok(CommittedBatch {
            inner: self
                .inner
                .commit_batch(
                    NetworkId(array("network", network)?),
                    SubnetId(subnet),
                    Epoch(epoch),
                    rs,
                )
                .map_err(errors::node)?,
        })
    }

    /// Batch-verifies the committed receipts' signatures; returns the failures as `(index,
    /// code)`. `seed` (32 bytes) fixes the batch coefficients; None draws them from the OS.
    #[pyo3(signature = (batch, seed=None))]
    fn verify_batch(
        &self,
        py: Python<'_>,
        batch: &CommittedBatch,
        seed: Option<&[u8]>,
    ) -> PyResult<Vec<(usize, &'static str)>> {
        let seed = seed.map(|s| array::<32>("seed", s)).transpose()?;
        let results = py.detach(|| match seed {
            Some(s) => Ok(self.inner.verify_batch(&batch.inner, &s)),
            None => verify_signed_batch(&batch.inner.batch.receipts),
        });
        Ok(results
            .py()?
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.code())))
            .collect())
    }

    /// The sample seed: `SHA-256("mycel/v1/sample" ‖ 0x00 ‖ beacon ‖ root ‖ hotkey ‖ secret)`,
    /// computable once the batch root is committed and the secret (committed before any
    /// receipt arrived, see `secret_commitment`) revealed.
    fn sample_seed<'py>(
        &self,
        py: Python<'py>,
        beacon: &[u8],
        batch: &CommittedBatch,
        secret: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let beacon = array::<32>("beacon", beacon)?;
        let secret = array::<32>("secret", secret)?;
        Ok(bytes(
            py,
            &sample_seed(&beacon, &batch.inner.root, &self.inner.hotkey(), &secret),
        ))
    }

    /// The commitment to a 32-byte sample secret, published with the tasks before receipts
    /// arrive: `SHA-256("mycel/v1/sample-secret" ‖ 0x00 ‖ secret)`.
    #[staticmethod]
    fn secret_commitment<'py>(py: Python<'py>, secret: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let secret = array::<32>("secret", secret)?;
        Ok(bytes(py, &secret_commitment(&secret).0))
    }

    /// Whether a revealed `secret` opens `commitment`.
    #[staticmethod]
    fn check_secret(commitment: &[u8], secret: &[u8]) -> PyResult<bool> {
        Ok(check_secret(
            &Digest(array("commitment", commitment)?),
            &array::<32>("secret", secret)?,
        ))
    }

    /// The spot-check sample among one miner's receipts (`indices` into the batch): `rate`
    /// (in `[0, 1]`, taken in parts per million) of them rounded stochastically from `seed`, at
    /// least `min`.
    #[staticmethod]
    #[pyo3(signature = (seed, batch, indices, rate, min=0))]
    fn sample(
        seed: &[u8],
        batch: &CommittedBatch,
        indices: Vec<usize>,
        rate: f64,
        min: u32,
    ) -> PyResult<Vec<usize>> {
        let seed = array::<32>("seed", seed)?;
        Ok(sample(
            &seed,
            &batch.inner.ids,
            &indices,
            rate_ppm(rate),
            min,
        ))
    }

    /// Re-executes a task; returns `(commitment, tile_root)`. The GIL is released.
    #[pyo3(signature = (task, weights=None, backend="auto", *, weights_seed=None, threads=0))]
    fn reexecute<'py>(
        &self,
        py: Python<'py>,
        task: &TaskSpec,
        weights: Option<&Bound<'py, PyAny>>,
        backend: &str,
        weights_seed: Option<&[u8]>,
        threads: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let backend = parse_backend(backend)?;
        let w = task_weights(py, &task.inner, weights, weights_seed)?;
        let spec = task.inner;
        let claim = py
            .detach(|| self.inner.reexecute(&spec, w.as_deref(), backend, threads))
            .map_err(errors::node)?;
        Ok((
            bytes(py, &claim.commitment.0),
            bytes(py, &claim.tile_root.0),
        ))
    }

    /// Judges `receipt` against the re-executed truth `(commitment, tile_root)`: a signed
    /// `"match"` verdict when both equal the receipt's, a signed `"mismatch"` (the core of a
    /// fraud proof) when the commitment differs, and `"tile_root_mismatch"` (no verdict: the
    /// receipt earns nothing) when only the tile root differs.
    fn judge(&self, receipt: &SignedReceipt, truth: (Vec<u8>, Vec<u8>)) -> PyResult<Judgement> {
        let claim = Claim {
            commitment: Digest(array("truth[0]", &truth.0)?),
            tile_root: Digest(array("truth[1]", &truth.1)?),
        };
        let id = receipt.inner.id().py()?;
        Ok(Judgement {
            inner: self
                .inner
                .judge(id, &receipt.inner, claim)
                .map_err(errors::node)?,
        })
    }

    /// Signs an `"unchecked"` verdict on a receipt accepted without re-execution.
    fn unchecked(&self, receipt: &SignedReceipt) -> PyResult<SignedVerdict> {
        let id = receipt.inner.id().py()?;
        Ok(SignedVerdict {
            inner: self.inner.unchecked(id).map_err(errors::node)?,
        })
    }

    /// The fraud proof for the mismatching receipt at `index` of `batch` (with its inclusion
    /// proof); `weights_source` is the pool's `source_for(task)` for matmul tasks.
    #[pyo3(signature = (batch, index, task, verdict, weights_source=None, note=""))]
    #[allow(clippy::too_many_arguments)]
    fn fraud_proof(
        &self,
        py: Python<'_>,
        batch: &CommittedBatch,
        index: usize,
        task: &TaskSpec,
        verdict: &SignedVerdict,
        weights_source: Option<&Bound<'_, PyAny>>,
        note: &str,
    ) -> PyResult<FraudProof> {
        let source: Option<WeightsSource> = weights_source
            .map(|w| from_dict(py, "weights_source", w))
            .transpose()?;
        Ok(FraudProof {
            inner: self
                .inner
                .fraud_proof(
                    &batch.inner,
                    index,
                    &task.inner,
                    &verdict.inner,
                    source,
                    note.to_owned(),
                )
                .map_err(errors::node)?,
        })
    }

    /// Bans `miner` through epoch `until`.
    fn ban(&mut self, miner: &[u8], until: u64) -> PyResult<()> {
        self.inner.ban(Hotkey(array("miner", miner)?), until);
        Ok(())
    }

    /// Whether `miner` is banned in `epoch`.
    fn is_banned(&self, miner: &[u8], epoch: u64) -> PyResult<bool> {
        Ok(self.inner.is_banned(&Hotkey(array("miner", miner)?), epoch))
    }

    /// Folds one epoch's `(uid, score)` pairs into the score EMA.
    fn update_scores(&mut self, scores: Vec<(u16, u64)>) -> PyResult<()> {
        self.inner.update_scores(&scores).map_err(errors::node)
    }

    /// The EMA's u16 weights over the uids in `keep` (None: all), as `(uid, weight)` pairs.
    #[pyo3(signature = (keep=None))]
    fn weights(&self, keep: Option<Vec<u16>>) -> PyResult<Vec<(u16, u16)>> {
        self.inner
            .weights(|uid| keep.as_ref().is_none_or(|k| k.contains(&uid)))
            .map_err(errors::node)
    }

    /// Commits to `weights` for (`network`, `subnet`, `epoch`) with a 32-byte `salt`; returns
    /// the commitment (32 bytes) and keeps the reveal until `due_reveals` hands it out.
    #[allow(clippy::too_many_arguments)]
    fn commit_weights<'py>(
        &mut self,
        py: Python<'py>,
        network: &[u8],
        subnet: u16,
        epoch: u64,
        weights: Vec<(u16, u16)>,
        salt: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let salt = array::<32>("salt", salt)?;
        let c = self
            .inner
            .commit_weights(
                NetworkId(array("network", network)?),
                SubnetId(subnet),
                Epoch(epoch),
                weights,
                salt,
            )
            .map_err(errors::node)?;
        Ok(bytes(py, &c.commitment))
    }

    /// Takes the reveals due in `epoch` (committed at least `delay` epochs earlier), oldest
    /// first, each as a dict `{"commit": ..., "reveal": ...}`.
    fn due_reveals<'py>(
        &mut self,
        py: Python<'py>,
        epoch: u64,
        delay: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let due = self.inner.due_reveals(epoch, delay);
        let items = due
            .iter()
            .map(|p| to_py(py, p))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

/// What re-executing a receipt found (`Validator.judge`).
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct Judgement {
    inner: RJudgement,
}

#[pymethods]
impl Judgement {
    /// `"match"`, `"mismatch"` or `"tile_root_mismatch"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        match self.inner {
            RJudgement::Match(_) => "match",
            RJudgement::Mismatch(_) => "mismatch",
            RJudgement::TileRootMismatch { .. } => "tile_root_mismatch",
        }
    }
    /// Whether the receipt is correct (commitment and tile root both match).
    #[getter]
    fn is_match(&self) -> bool {
        self.inner.is_match()
    }
    /// The signed verdict (None for a tile-root mismatch, which a v1 verdict cannot carry).
    #[getter]
    fn verdict(&self) -> Option<SignedVerdict> {
        self.inner
            .verdict()
            .map(|v| SignedVerdict { inner: v.clone() })
    }
    /// The tile root re-execution gave, for a tile-root mismatch.
    #[getter]
    fn recomputed_tile_root<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        match &self.inner {
            RJudgement::TileRootMismatch { recomputed } => Some(bytes(py, &recomputed.0)),
            _ => None,
        }
    }
}

/// The tasks a validator issued in one epoch: receipts are credited only for these, to the
/// miner they were issued to, once per task (spec/receipts.md, "Crediting receipts").
#[pyclass(module = "mycel._mycel")]
#[derive(Debug)]
pub struct IssuedTasks {
    inner: RIssued,
}

#[pymethods]
impl IssuedTasks {
    /// An empty book for one epoch of one subnet of one network.
    #[new]
    #[pyo3(signature = (*, network, subnet, epoch))]
    fn new(network: &[u8], subnet: u16, epoch: u64) -> PyResult<Self> {
        Ok(Self {
            inner: RIssued::new(
                NetworkId(array("network", network)?),
                SubnetId(subnet),
                Epoch(epoch),
            ),
        })
    }
    /// Records `task` as issued to `miner` at `issued_ms`; returns the task digest.
    #[pyo3(signature = (miner, task, issued_ms=0))]
    fn issue<'py>(
        &mut self,
        py: Python<'py>,
        miner: &[u8],
        task: &TaskSpec,
        issued_ms: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let d = self
            .inner
            .issue(Hotkey(array("miner", miner)?), task.inner, issued_ms)
            .map_err(errors::node)?;
        Ok(bytes(py, &d.0))
    }
    /// Admits `receipt` for crediting by the validator `me`: None when admitted, else the
    /// rejection's code (`"wrong_epoch"`, `"unknown_task"`, `"wrong_miner"`, `"duplicate"`,
    /// ...). The signature is checked separately, in a batch.
    fn admit(&mut self, me: &[u8], receipt: &SignedReceipt) -> PyResult<Option<&'static str>> {
        let me = Hotkey(array("me", me)?);
        Ok(self
            .inner
            .admit(&me, &receipt.inner)
            .err()
            .map(|r| r.code()))
    }
    /// The digests of the issued tasks the validator `me` has credited so far.
    fn credited<'py>(&self, py: Python<'py>, me: &[u8]) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let me = Hotkey(array("me", me)?);
        Ok(self
            .inner
            .credited(&me)
            .iter()
            .map(|d| bytes(py, &d.0))
            .collect())
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// A self-contained task, as `mycel task new` makes it: inputs and (for matmul) weights derive
/// from `seed`, so any host executes it from the task bytes alone (`execute_task(task)`). The
/// defaults are the CLI's.
#[pyfunction]
#[pyo3(signature = (kernel, seed, *, m=8, n=256, k=256, heads=4, kv_heads=2, q_len=16,
    kv_len=256, head_dim=64, dtype="f32", mode="verifiable", causal=false, network=None,
    subnet=1, epoch=0))]
#[allow(clippy::too_many_arguments)]
pub fn new_task(
    kernel: &str,
    seed: &[u8],
    m: u32,
    n: u32,
    k: u32,
    heads: u32,
    kv_heads: u32,
    q_len: u32,
    kv_len: u32,
    head_dim: u32,
    dtype: &str,
    mode: &str,
    causal: bool,
    network: Option<&[u8]>,
    subnet: u16,
    epoch: u64,
) -> PyResult<TaskSpec> {
    use mycel_kernels::quant::QuantFormat;
    use mycel_node::task::{AttentionShape, TaskScope, attention_task, matmul_task};
    use mycel_protocol::task::{AttnDtype, AttnMode};
    let seed = array::<32>("seed", seed)?;
    let scope = TaskScope {
        network: NetworkId(network.map_or(Ok([0; 32]), |b| array("network", b))?),
        subnet: SubnetId(subnet),
        epoch: Epoch(epoch),
    };
    let task = match kernel {
        "matmul-q8_0" => matmul_task(scope, QuantFormat::Q8_0, m, n, k, seed),
        "matmul-q4_0" => matmul_task(scope, QuantFormat::Q4_0, m, n, k, seed),
        "attention" => {
            let dtype = match dtype {
                "f32" => AttnDtype::F32,
                "f16" => AttnDtype::F16,
                "bf16" => AttnDtype::Bf16,
                other => {
                    return Err(errors::argument(format!(
                        "dtype: expected 'f32', 'f16' or 'bf16', got {other:?}"
                    )));
                }
            };
            let mode = match mode {
                "verifiable" => AttnMode::Verifiable,
                "fast" => AttnMode::Fast,
                other => {
                    return Err(errors::argument(format!(
                        "mode: expected 'verifiable' or 'fast', got {other:?}"
                    )));
                }
            };
            let shape = AttentionShape {
                n_heads: heads,
                n_kv_heads: kv_heads,
                q_len,
                kv_len,
                head_dim,
                causal,
                dtype,
                mode,
            };
            attention_task(scope, shape, seed)
        }
        other => {
            return Err(errors::argument(format!(
                "kernel: expected 'matmul-q8_0', 'matmul-q4_0' or 'attention', got {other:?}"
            )));
        }
    };
    Ok(TaskSpec {
        inner: task.map_err(errors::node)?,
    })
}

/// What a fraud proof that holds establishes.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct ConfirmedFraud {
    inner: Confirmed,
}

#[pymethods]
impl ConfirmedFraud {
    /// The task.
    #[getter]
    fn task(&self) -> TaskSpec {
        TaskSpec {
            inner: self.inner.task,
        }
    }
    /// The miner's receipt.
    #[getter]
    fn receipt(&self) -> SignedReceipt {
        SignedReceipt {
            inner: self.inner.receipt.clone(),
        }
    }
    /// The validator's verdict.
    #[getter]
    fn verdict(&self) -> SignedVerdict {
        SignedVerdict {
            inner: self.inner.verdict.clone(),
        }
    }
    /// The commitment re-execution gives.
    #[getter]
    fn recomputed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.recomputed.0)
    }
    /// The committed batch root the receipt was shown to be under, if the proof has one.
    #[getter]
    fn batch_root<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.batch_root.map(|d| bytes(py, &d.0))
    }
}

/// A fraud proof (`mycel-fraud-proof/v1` JSON): anyone re-executes the task and confirms the
/// mismatch with `check()`.
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, PartialEq, Eq)]
pub struct FraudProof {
    inner: RFraud,
}

#[pymethods]
impl FraudProof {
    /// Parses a proof file's text (`FraudError` with code `fraud.not_a_proof` /
    /// `fraud.format`).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Self {
            inner: RFraud::from_json(text).map_err(errors::fraud)?,
        })
    }

    /// The proof as the file's JSON text.
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().map_err(errors::node)
    }

    /// Checks every rule (envelopes, signatures, batch membership, weights, re-execution) and
    /// returns what the proof establishes; raises `FraudError` naming the first rule that
    /// fails. The GIL is released while it re-executes.
    fn check(&self, py: Python<'_>) -> PyResult<ConfirmedFraud> {
        let confirmed = py.detach(|| self.inner.check()).map_err(errors::fraud)?;
        Ok(ConfirmedFraud { inner: confirmed })
    }

    /// The free-text note.
    #[getter]
    fn note(&self) -> String {
        self.inner.note.clone()
    }
}

/// What a tile fraud proof that holds establishes.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct ConfirmedTile {
    inner: TileConfirmed,
}

#[pymethods]
impl ConfirmedTile {
    /// The task.
    #[getter]
    fn task(&self) -> TaskSpec {
        TaskSpec {
            inner: self.inner.task,
        }
    }
    /// The miner's receipt.
    #[getter]
    fn receipt(&self) -> SignedReceipt {
        SignedReceipt {
            inner: self.inner.receipt.clone(),
        }
    }
    /// The opened tile's index.
    #[getter]
    fn tile(&self) -> u64 {
        self.inner.tile
    }
    /// The tile's place in the output: `(row0, row1, col0, col1)`.
    #[getter]
    fn rect(&self) -> (u64, u64, u64, u64) {
        let r = self.inner.rect;
        (r.row0, r.row1, r.col0, r.col1)
    }
    /// The leaf hash of the tile the miner committed.
    #[getter]
    fn claimed_leaf<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.claimed_leaf.0)
    }
    /// The leaf hash of the tile recomputation gives.
    #[getter]
    fn recomputed_leaf<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.recomputed_leaf.0)
    }
    /// The committed batch root the receipt was shown to be under, if the proof has one.
    #[getter]
    fn batch_root<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.batch_root.map(|d| bytes(py, &d.0))
    }
}

/// A tile fraud proof (`mycel-fraud-proof/v2` JSON): one output tile the miner opened under
/// its signed tile root, recomputed alone by `check()` (spec/receipts.md section 8b).
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, PartialEq, Eq)]
pub struct TileProof {
    inner: RTile,
}

#[pymethods]
impl TileProof {
    /// Parses a proof file's text (`FraudError` with code `fraud.not_a_proof` /
    /// `fraud.format`).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Self {
            inner: RTile::from_json(text).map_err(errors::fraud)?,
        })
    }

    /// The proof as the file's JSON text.
    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().map_err(errors::node)
    }

    /// Checks every rule (envelopes, signature, opening under the tile root, weight rows under
    /// the weights root, the recomputed tile) and returns what the proof establishes; raises
    /// `FraudError` naming the first rule that fails. The GIL is released while it recomputes.
    fn check(&self, py: Python<'_>) -> PyResult<ConfirmedTile> {
        let confirmed = py.detach(|| self.inner.check()).map_err(errors::fraud)?;
        Ok(ConfirmedTile { inner: confirmed })
    }

    /// The free-text note.
    #[getter]
    fn note(&self) -> String {
        self.inner.note.clone()
    }
}

/// The result of `simulate`: the epoch log and the files a run writes.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct Simulation {
    log: String,
    proofs: Vec<(String, String)>,
    batches: Vec<(String, Vec<u8>)>,
}

#[pymethods]
impl Simulation {
    /// The epoch log: `simulation.json` as Python objects.
    #[getter]
    fn log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.log)
    }
    /// The epoch log's JSON text, byte for byte what `mycel simulate` writes.
    #[getter]
    fn log_json(&self) -> String {
        self.log.clone()
    }
    /// The fraud proofs published, as `(file name, FraudProof)`.
    #[getter]
    fn fraud_proofs(&self) -> PyResult<Vec<(String, FraudProof)>> {
        self.proofs
            .iter()
            .map(|(name, text)| {
                Ok((
                    name.clone(),
                    FraudProof {
                        inner: RFraud::from_json(text).map_err(errors::fraud)?,
                    },
                ))
            })
            .collect()
    }
    /// The receipt batches committed, as `(file name, envelope bytes)`.
    #[getter]
    fn receipt_batches<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyBytes>)> {
        self.batches
            .iter()
            .map(|(n, b)| (n.clone(), bytes(py, b)))
            .collect()
    }
}

/// Runs the subnet simulation of `mycel simulate`: `scenario` is a dict (the scenario file's
/// tables), a path to a TOML scenario file, or None (the default scenario); `seed` and
/// `epochs` override the scenario's. The GIL is released while it runs.
#[pyfunction]
#[pyo3(signature = (scenario=None, *, seed=None, epochs=None, threads=0))]
pub fn simulate(
    py: Python<'_>,
    scenario: Option<&Bound<'_, PyAny>>,
    seed: Option<u64>,
    epochs: Option<u64>,
    threads: usize,
) -> PyResult<Simulation> {
    let mut s: Scenario = match scenario {
        None => Scenario::default(),
        Some(v) if v.is_instance_of::<PyDict>() => from_dict(py, "scenario", v)?,
        Some(v) => {
            let path: std::path::PathBuf = if v.is_instance_of::<PyString>() {
                v.extract::<String>()?.into()
            } else {
                v.call_method0("__fspath__")
                    .map_err(|_| {
                        errors::dtype("scenario", "a dict, a path or None", "another object")
                    })?
                    .extract::<String>()?
                    .into()
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                errors::error(
                    "ScenarioError",
                    "node.scenario",
                    format!("{}: {e}", path.display()),
                )
            })?;
            Scenario::from_toml(&text).map_err(errors::node)?
        }
    };
    if let Some(seed) = seed {
        s.seed = seed;
    }
    if let Some(epochs) = epochs {
        s.epochs = epochs;
    }
    let n = s.epochs;
    py.detach(move || -> Result<Simulation, mycel_node::Error> {
        let mut subnet = Subnet::new(s)?;
        let mut records = Vec::new();
        let mut proofs = Vec::new();
        let mut batches = Vec::new();
        for _ in 0..n {
            let outcome = subnet.step(threads, &NoClock)?;
            records.push(outcome.record);
            proofs.extend(outcome.artifacts.proofs);
            batches.extend(outcome.artifacts.batches);
        }
        let log = SimLog::new(&subnet, records);
        Ok(Simulation {
            log: to_json(&log)?,
            proofs,
            batches,
        })
    })
    .map_err(errors::node)
}

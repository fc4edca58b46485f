//! Scoring, the chain's weight normalisation, sampling and crediting as plain functions
//! (spec/scoring.md, spec/emission.md §4, spec/sampling.md, spec/receipts.md §7): conversion
//! only, over `mycel-protocol` and `mycel-node`.

use mycel_node::validator::sample::{sample, sample_seed as rsample_seed};
use mycel_protocol::emission::max_upscale_u16;
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::{CreditLedger as RLedger, DEFAULT_LEDGER_ENTRIES, ReceiptBinding};
use mycel_protocol::scoring::{
    MinerEpochResult, ScoreParams, WeightCommit, WeightReveal, score as rscore,
    verify_reveal as rverify_reveal, weights_commitment as rweights_commitment,
    weights_from_scores as rweights_from_scores,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{array, bytes};
use crate::errors;
use crate::messages::SignedReceipt;

/// A miner's score for one epoch (spec/scoring.md §2): 0 with any mismatch, else its compute
/// units, scaled down by `latency_target_ms / latency_ms` beyond the target (0: no latency
/// term). A ban after a fraud proof is the caller's (score the banned miner 0).
#[pyfunction]
#[pyo3(signature = (*, uid, verified, mismatched, unchecked, compute_units, latency_ms, latency_target_ms=2000))]
#[allow(clippy::too_many_arguments)]
pub fn score(
    uid: u16,
    verified: u32,
    mismatched: u32,
    unchecked: u32,
    compute_units: u64,
    latency_ms: u64,
    latency_target_ms: u64,
) -> u64 {
    rscore(
        &MinerEpochResult {
            uid,
            verified,
            mismatched,
            unchecked,
            compute_units,
            latency_ms,
        },
        &ScoreParams { latency_target_ms },
    )
}

/// Scores to u16 weights (spec/scoring.md §3): ascending by uid, zeros dropped.
#[pyfunction]
pub fn weights_from_scores(scores: Vec<(u16, u64)>) -> PyResult<Vec<(u16, u16)>> {
    rweights_from_scores(&scores).map_err(errors::scoring)
}

/// The chain's u16 normalisation at `set_weights` (spec/emission.md §4).
#[pyfunction]
pub fn max_upscale(values: Vec<u16>) -> Vec<u16> {
    max_upscale_u16(&values)
}

/// The commitment to a weight vector (spec/scoring.md §4).
#[pyfunction]
pub fn weights_commitment<'py>(
    py: Python<'py>,
    network: &[u8],
    hotkey: &[u8],
    subnet: u16,
    epoch: u64,
    weights: Vec<(u16, u16)>,
    salt: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let c = rweights_commitment(
        &NetworkId(array("network", network)?),
        &Hotkey(array("hotkey", hotkey)?),
        SubnetId(subnet),
        Epoch(epoch),
        &weights,
        &array("salt", salt)?,
    )
    .map_err(errors::scoring)?;
    Ok(bytes(py, &c))
}

fn item<T: for<'a, 'py> FromPyObject<'a, 'py>>(d: &Bound<'_, PyDict>, key: &str) -> PyResult<T> {
    d.get_item(key)?
        .ok_or_else(|| errors::argument(format!("missing key {key:?}")))?
        .extract()
        .map_err(Into::into)
}

/// Checks a reveal against its commitment (spec/scoring.md §4): `commit` holds `network`,
/// `hotkey`, `subnet`, `epoch`, `commitment`; `reveal` holds `network`, `hotkey`, `subnet`,
/// `epoch`, `weights`, `salt`. Raises `ScoringError` naming the first mismatch.
#[pyfunction]
pub fn verify_reveal(commit: &Bound<'_, PyDict>, reveal: &Bound<'_, PyDict>) -> PyResult<()> {
    let c = WeightCommit {
        network: NetworkId(array("network", &item::<Vec<u8>>(commit, "network")?)?),
        hotkey: Hotkey(array("hotkey", &item::<Vec<u8>>(commit, "hotkey")?)?),
        subnet: SubnetId(item(commit, "subnet")?),
        epoch: Epoch(item(commit, "epoch")?),
        commitment: array("commitment", &item::<Vec<u8>>(commit, "commitment")?)?,
    };
    let r = WeightReveal {
        network: NetworkId(array("network", &item::<Vec<u8>>(reveal, "network")?)?),
        hotkey: Hotkey(array("hotkey", &item::<Vec<u8>>(reveal, "hotkey")?)?),
        subnet: SubnetId(item(reveal, "subnet")?),
        epoch: Epoch(item(reveal, "epoch")?),
        weights: item(reveal, "weights")?,
        salt: array("salt", &item::<Vec<u8>>(reveal, "salt")?)?,
    };
    rverify_reveal(&c, &r).map_err(errors::scoring)
}

/// A validator's spot-check seed for one epoch (spec/sampling.md §2).
#[pyfunction]
pub fn sample_seed<'py>(
    py: Python<'py>,
    beacon: &[u8],
    root: &[u8],
    validator: &[u8],
    secret: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let s = rsample_seed(
        &array("beacon", beacon)?,
        &Digest(array("root", root)?),
        &Hotkey(array("validator", validator)?),
        &array("secret", secret)?,
    );
    Ok(bytes(py, &s))
}

/// The sample among one miner's receipts (spec/sampling.md §3): `indices` into `ids` (receipt
/// ids, 32 bytes each), the rate in parts per million; returns the indices to re-execute.
#[pyfunction]
#[pyo3(signature = (seed, ids, indices, rate_ppm, min=0))]
pub fn sample_receipts(
    seed: &[u8],
    ids: Vec<Vec<u8>>,
    indices: Vec<usize>,
    rate_ppm: u32,
    min: u32,
) -> PyResult<Vec<usize>> {
    let ids = ids
        .iter()
        .map(|b| array::<32>("ids", b).map(Digest))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(sample(&array("seed", seed)?, &ids, &indices, rate_ppm, min))
}

/// The receipts a validator has credited (spec/receipts.md §7): one execution is credited at
/// most once, whatever its nonce.
#[pyclass(module = "mycel._mycel")]
#[derive(Debug)]
pub struct CreditLedger {
    inner: RLedger,
}

#[pymethods]
impl CreditLedger {
    #[new]
    #[pyo3(signature = (max_entries=DEFAULT_LEDGER_ENTRIES))]
    fn new(max_entries: usize) -> Self {
        Self {
            inner: RLedger::new(max_entries),
        }
    }

    /// Credits `receipt` if it answers the expected assignment (rules 2-5) and no receipt of
    /// the same (assigner, task digest) was credited; raises `ReceiptError` otherwise
    /// (`receipt.already_credited`, `receipt.wrong_epoch`, …), recording nothing.
    #[pyo3(signature = (receipt, *, network, subnet, epoch, assigner, miner, task_digest))]
    #[allow(clippy::too_many_arguments)]
    fn credit(
        &mut self,
        receipt: &SignedReceipt,
        network: &[u8],
        subnet: u16,
        epoch: u64,
        assigner: &[u8],
        miner: &[u8],
        task_digest: &[u8],
    ) -> PyResult<()> {
        let expected = ReceiptBinding {
            network: NetworkId(array("network", network)?),
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            assigner: Hotkey(array("assigner", assigner)?),
            miner: Hotkey(array("miner", miner)?),
            task_digest: Digest(array("task_digest", task_digest)?),
        };
        self.inner
            .credit(&receipt.inner.body, &expected)
            .map_err(errors::protocol)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

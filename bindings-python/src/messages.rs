//! Protocol messages (spec/wire.md, spec/receipts.md): TaskSpec, WorkReceipt, SignedReceipt,
//! Verdict, SignedVerdict, ReceiptBatch; batch verification and `inspect`.

use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, Signature, SubnetId};
use mycel_protocol::receipt::{
    BackendLabel, Outcome, ReceiptBatch as RBatch, SignedReceipt as RSignedReceipt,
    SignedVerdict as RSignedVerdict, Verdict as RVerdict, WorkReceipt as RWorkReceipt,
};
use mycel_protocol::sign::{Signable, Signed, verify_signed_batch};
use mycel_protocol::task::{AttnDtype, AttnMode, KernelId, KernelParams, TaskSpec as RTaskSpec};
use mycel_protocol::wire::{AnyMessage, decode, encode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde_json::{Value, json};

use crate::convert::{array, bytes, json_value_to_py};
use crate::errors::{self, IntoPyResult};
use crate::keys::Keypair;
use crate::merkle::InclusionProof;

/// The kernel's name as in the CLI: `matmul-q8_0`, `matmul-q4_0`, `attention`.
pub fn kernel_name(kernel: KernelId) -> &'static str {
    match kernel {
        KernelId::MatmulQ8_0 => "matmul-q8_0",
        KernelId::MatmulQ4_0 => "matmul-q4_0",
        KernelId::Attention => "attention",
        _ => "unknown",
    }
}

fn parse_kernel(name: &str) -> PyResult<KernelId> {
    match name {
        "matmul-q8_0" => Ok(KernelId::MatmulQ8_0),
        "matmul-q4_0" => Ok(KernelId::MatmulQ4_0),
        "attention" => Ok(KernelId::Attention),
        other => Err(errors::argument(format!(
            "kernel: expected 'matmul-q8_0', 'matmul-q4_0' or 'attention', got {other:?}"
        ))),
    }
}

fn dtype_name(d: AttnDtype) -> &'static str {
    match d {
        AttnDtype::F32 => "f32",
        AttnDtype::F16 => "f16",
        AttnDtype::Bf16 => "bf16",
        _ => "unknown",
    }
}

fn parse_dtype(name: &str) -> PyResult<AttnDtype> {
    match name {
        "f32" => Ok(AttnDtype::F32),
        "f16" => Ok(AttnDtype::F16),
        "bf16" => Ok(AttnDtype::Bf16),
        other => Err(errors::argument(format!(
            "dtype: expected 'f32', 'f16' or 'bf16', got {other:?}"
        ))),
    }
}

fn mode_name(m: AttnMode) -> &'static str {
    match m {
        AttnMode::Verifiable => "verifiable",
        AttnMode::Fast => "fast",
        _ => "unknown",
    }
}

fn parse_mode(name: &str) -> PyResult<AttnMode> {
    match name {
        "verifiable" => Ok(AttnMode::Verifiable),
        "fast" => Ok(AttnMode::Fast),
        other => Err(errors::argument(format!(
            "mode: expected 'verifiable' or 'fast', got {other:?}"
        ))),
    }
}

/// A required keyword of a kernel family, or an `ArgumentError` naming it.
fn need(name: &str, kernel: &str, value: Option<u32>) -> PyResult<u32> {
    value.ok_or_else(|| errors::argument(format!("{name}: required for a {kernel} task")))
}

/// One unit of work anyone can re-execute bit for bit (envelope kind `task`).
#[pyclass(frozen, eq, hash, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskSpec {
    pub(crate) inner: RTaskSpec,
}

#[pymethods]
impl TaskSpec {
    /// A task; raises `TaskError` when it breaks a rule of spec/receipts.md. Matmul kernels take
    /// `m, n, k`; attention takes `n_heads, n_kv_heads, q_len, kv_len, head_dim` and
    /// optionally `causal, dtype, mode`.
    #[new]
    #[pyo3(signature = (kernel, *, network=None, subnet=0, epoch=0, weights_digest=None,
        input_seed=None, m=None, n=None, k=None, n_heads=None, n_kv_heads=None, q_len=None,
        kv_len=None, head_dim=None, causal=false, dtype="f32", mode="verifiable",
        kernel_version=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kernel: &str,
        network: Option<&[u8]>,
        subnet: u16,
        epoch: u64,
        weights_digest: Option<&[u8]>,
        input_seed: Option<&[u8]>,
        m: Option<u32>,
        n: Option<u32>,
        k: Option<u32>,
        n_heads: Option<u32>,
        n_kv_heads: Option<u32>,
        q_len: Option<u32>,
        kv_len: Option<u32>,
        head_dim: Option<u32>,
        causal: bool,
        dtype: &str,
        mode: &str,
        kernel_version: u16,
    ) -> PyResult<Self> {
        let kernel_id = parse_kernel(kernel)?;
        let params = match kernel_id {
            KernelId::Attention => KernelParams::Attention {
                n_heads: need("n_heads", kernel, n_heads)?,
                n_kv_heads: need("n_kv_heads", kernel, n_kv_heads)?,
                q_len: need("q_len", kernel, q_len)?,
                kv_len: need("kv_len", kernel, kv_len)?,
                head_dim: need("head_dim", kernel, head_dim)?,
                causal,
                dtype: parse_dtype(dtype)?,
                mode: parse_mode(mode)?,
            },
            _ => KernelParams::Matmul {
                m: need("m", kernel, m)?,
                n: need("n", kernel, n)?,
                k: need("k", kernel, k)?,
            },
        };
        let opt32 = |name: &str, v: Option<&[u8]>| -> PyResult<[u8; 32]> {
            v.map_or(Ok([0u8; 32]), |b| array::<32>(name, b))
        };
        let inner = RTaskSpec {
            network: NetworkId(opt32("network", network)?),
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            kernel: kernel_id,
            kernel_version,
            params,
            weights_digest: Digest(opt32("weights_digest", weights_digest)?),
            input_seed: opt32("input_seed", input_seed)?,
        };
        inner.validate().py()?;
        Ok(Self { inner })
    }

    /// Decodes a canonical TaskSpec envelope (raises `DecodeError` / `TaskError`).
    #[staticmethod]
    fn decode(data: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: RTaskSpec::decode(data).py()?,
        })
    }

    /// The canonical envelope bytes.
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &self.inner.encode().py()?))
    }

    /// The task digest: SHA-256 of the canonical envelope (what receipts name).
    #[getter]
    fn digest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &self.inner.digest().py()?.0))
    }

    /// The task's id: its digest.
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.digest(py)
    }

    /// The task's price in compute units (what a receipt must state).
    #[getter]
    fn compute_units(&self) -> PyResult<u64> {
        self.inner.compute_units().py()
    }

    /// The network id (32 bytes).
    #[getter]
    fn network<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.network.0)
    }

    /// The subnet id.
    #[getter]
    fn subnet(&self) -> u16 {
        self.inner.subnet.0
    }

    /// The epoch.
    #[getter]
    fn epoch(&self) -> u64 {
        self.inner.epoch.0
    }

    /// The kernel: `matmul-q8_0`, `matmul-q4_0` or `attention`.
    #[getter]
    fn kernel(&self) -> &'static str {
        kernel_name(self.inner.kernel)
    }

    /// The kernel version.
    #[getter]
    fn kernel_version(&self) -> u16 {
        self.inner.kernel_version
    }

    /// The shape parameters as a dict (`m, n, k` or the attention fields).
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match self.inner.params {
            KernelParams::Matmul { m, n, k } => {
                d.set_item("m", m)?;
                d.set_item("n", n)?;
                d.set_item("k", k)?;
            }
            KernelParams::Attention {
                n_heads,
                n_kv_heads,
                q_len,
                kv_len,
                head_dim,
                causal,
                dtype,
                mode,
            } => {
                d.set_item("n_heads", n_heads)?;
                d.set_item("n_kv_heads", n_kv_heads)?;
                d.set_item("q_len", q_len)?;
                d.set_item("kv_len", kv_len)?;
                d.set_item("head_dim", head_dim)?;
                d.set_item("causal", causal)?;
                d.set_item("dtype", dtype_name(dtype))?;
                d.set_item("mode", mode_name(mode))?;
            }
            _ => {}
        }
        Ok(d)
    }

    /// SHA-256 of the public weights the task runs on (32 bytes).
    #[getter]
    fn weights_digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.weights_digest.0)
    }

    /// The seed of the generated activations (32 bytes).
    #[getter]
    fn input_seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.input_seed)
    }

    fn __repr__(&self) -> String {
        format!(
            "TaskSpec(kernel={:?}, params={:?}, epoch={})",
            kernel_name(self.inner.kernel),
            self.inner.params,
            self.inner.epoch.0
        )
    }
}

/// A miner's claim to have executed one task (sign it to get a `SignedReceipt`).
#[pyclass(frozen, eq, hash, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkReceipt {
    pub(crate) inner: RWorkReceipt,
}

#[pymethods]
impl WorkReceipt {
    /// A receipt; raises `ReceiptError` for a bad backend label or reversed times.
    #[new]
    #[pyo3(signature = (*, network, subnet, epoch, task_digest, assigner, miner,
        output_commitment, output_tile_root, compute_units, started_at_ms=0, finished_at_ms=0,
        nonce=0, backend="cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        network: &[u8],
        subnet: u16,
        epoch: u64,
        task_digest: &[u8],
        assigner: &[u8],
        miner: &[u8],
        output_commitment: &[u8],
        output_tile_root: &[u8],
        compute_units: u64,
        started_at_ms: u64,
        finished_at_ms: u64,
        nonce: u64,
        backend: &str,
    ) -> PyResult<Self> {
        let inner = RWorkReceipt {
            network: NetworkId(array("network", network)?),
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            task_digest: Digest(array("task_digest", task_digest)?),
            assigner: Hotkey(array("assigner", assigner)?),
            miner: Hotkey(array("miner", miner)?),
            output_commitment: Digest(array("output_commitment", output_commitment)?),
            output_tile_root: Digest(array("output_tile_root", output_tile_root)?),
            compute_units,
            started_at_ms,
            finished_at_ms,
            nonce,
            backend: BackendLabel::new(backend).py()?,
        };
        inner.check().py()?;
        Ok(Self { inner })
    }

    /// The receipt for `task` with the given output: network, subnet, epoch, task digest and
    /// compute units are the task's.
    #[staticmethod]
    #[pyo3(signature = (task, *, miner, assigner, output_commitment, output_tile_root,
        started_at_ms=0, finished_at_ms=0, nonce=0, backend="cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn for_task(
        task: &TaskSpec,
        miner: &[u8],
        assigner: &[u8],
        output_commitment: &[u8],
        output_tile_root: &[u8],
        started_at_ms: u64,
        finished_at_ms: u64,
        nonce: u64,
        backend: &str,
    ) -> PyResult<Self> {
        let t = &task.inner;
        let inner = RWorkReceipt {
            network: t.network,
            subnet: t.subnet,
            epoch: t.epoch,
            task_digest: t.digest().py()?,
            assigner: Hotkey(array("assigner", assigner)?),
            miner: Hotkey(array("miner", miner)?),
            output_commitment: Digest(array("output_commitment", output_commitment)?),
            output_tile_root: Digest(array("output_tile_root", output_tile_root)?),
            compute_units: t.compute_units().py()?,
            started_at_ms,
            finished_at_ms,
            nonce,
            backend: BackendLabel::new(backend).py()?,
        };
        inner.check().py()?;
        Ok(Self { inner })
    }

    /// Signs the receipt with the miner's key (`SignatureError` if it is not the miner's).
    fn sign(&self, keypair: &Keypair) -> PyResult<SignedReceipt> {
        Ok(SignedReceipt {
            inner: Signed::sign(self.inner.clone(), &keypair.key).py()?,
        })
    }

    /// The exact bytes a signature covers: `mycel/v1/receipt`, 0x00, the canonical body.
    fn signed_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(
            py,
            &mycel_protocol::sign::signed_bytes(&self.inner).py()?,
        ))
    }

    /// Checks the receipt against its task (network, subnet, epoch, digest, compute units).
    fn check_task(&self, task: &TaskSpec) -> PyResult<()> {
        self.inner.check_task(&task.inner).py()
    }

    /// The network id.
    #[getter]
    fn network<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.network.0)
    }
    /// The subnet id.
    #[getter]
    fn subnet(&self) -> u16 {
        self.inner.subnet.0
    }
    /// The epoch.
    #[getter]
    fn epoch(&self) -> u64 {
        self.inner.epoch.0
    }
    /// SHA-256 of the task's envelope.
    #[getter]
    fn task_digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.task_digest.0)
    }
    /// Hotkey of the validator that assigned the task.
    #[getter]
    fn assigner<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.assigner.0)
    }
    /// Hotkey of the miner (the signer).
    #[getter]
    fn miner<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.miner.0)
    }
    /// Tensor commitment of the output.
    #[getter]
    fn output_commitment<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.output_commitment.0)
    }
    /// Merkle root over the output's tiles.
    #[getter]
    fn output_tile_root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.output_tile_root.0)
    }
    /// Compute units claimed.
    #[getter]
    fn compute_units(&self) -> u64 {
        self.inner.compute_units
    }
    /// Advisory start time (ms since the Unix epoch).
    #[getter]
    fn started_at_ms(&self) -> u64 {
        self.inner.started_at_ms
    }
    /// Advisory finish time (ms since the Unix epoch).
    #[getter]
    fn finished_at_ms(&self) -> u64 {
        self.inner.finished_at_ms
    }
    /// The miner's nonce.
    #[getter]
    fn nonce(&self) -> u64 {
        self.inner.nonce
    }
    /// Diagnostic backend label.
    #[getter]
    fn backend(&self) -> String {
        self.inner.backend.as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!(
            "WorkReceipt(miner={}, task_digest={}, epoch={})",
            self.inner.miner, self.inner.task_digest, self.inner.epoch.0
        )
    }
}

/// A work receipt with the miner's signature (envelope kind `receipt`).
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReceipt {
    pub(crate) inner: RSignedReceipt,
}

#[pymethods]
impl SignedReceipt {
    /// Decodes a canonical receipt envelope (the signature is not checked: call `verify`).
    #[staticmethod]
    fn decode(data: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: decode(data).py()?,
        })
    }

    /// The canonical envelope bytes.
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &encode(&self.inner).py()?))
    }

    /// Verifies the signature; raises `SignatureError` with the failing rule's code.
    fn verify(&self) -> PyResult<()> {
        self.inner.verify().py()
    }

    /// Whether the signature is valid.
    fn is_valid(&self) -> bool {
        self.inner.verify().is_ok()
    }

    /// The receipt id: SHA-256 of the signed bytes.
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &self.inner.id().py()?.0))
    }

    /// The signed body.
    #[getter]
    fn body(&self) -> WorkReceipt {
        WorkReceipt {
            inner: self.inner.body.clone(),
        }
    }

    /// The signature (64 bytes).
    #[getter]
    fn signature<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.signature.0)
    }

    /// The signer's hotkey (the miner).
    #[getter]
    fn signer<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.body.signer().0)
    }

    /// Checks the receipt against its task.
    fn check_task(&self, task: &TaskSpec) -> PyResult<()> {
        self.inner.body.check_task(&task.inner).py()
    }

    /// The same receipt with another signature (for building test cases).
    fn with_signature(&self, signature: &[u8]) -> PyResult<Self> {
        let mut inner = self.inner.clone();
        inner.signature = Signature(array("signature", signature)?);
        Ok(Self { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "SignedReceipt(miner={}, task_digest={})",
            self.inner.body.miner, self.inner.body.task_digest
        )
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Match => "match",
        Outcome::Mismatch => "mismatch",
        Outcome::Unchecked => "unchecked",
        _ => "unknown",
    }
}

/// A validator's answer to one receipt (sign it to get a `SignedVerdict`).
#[pyclass(frozen, eq, hash, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Verdict {
    pub(crate) inner: RVerdict,
}

#[pymethods]
impl Verdict {
    /// A verdict: `outcome` is `"match"`, `"mismatch"` (both with the recomputed commitment) or
    /// `"unchecked"` (without); raises `ReceiptError` when they disagree.
    #[new]
    #[pyo3(signature = (*, validator, receipt_id, outcome, recomputed_commitment=None))]
    fn new(
        validator: &[u8],
        receipt_id: &[u8],
        outcome: &str,
        recomputed_commitment: Option<&[u8]>,
    ) -> PyResult<Self> {
        let outcome = match outcome {
            "match" => Outcome::Match,
            "mismatch" => Outcome::Mismatch,
            "unchecked" => Outcome::Unchecked,
            other => {
                return Err(errors::argument(format!(
                    "outcome: expected 'match', 'mismatch' or 'unchecked', got {other:?}"
                )));
            }
        };
        let inner = RVerdict {
            validator: Hotkey(array("validator", validator)?),
            receipt_id: Digest(array("receipt_id", receipt_id)?),
            outcome,
            recomputed_commitment: recomputed_commitment
                .map(|c| array("recomputed_commitment", c).map(Digest))
                .transpose()?,
        };
        inner.check().py()?;
        Ok(Self { inner })
    }

    /// Signs the verdict with the validator's key.
    fn sign(&self, keypair: &Keypair) -> PyResult<SignedVerdict> {
        Ok(SignedVerdict {
            inner: Signed::sign(self.inner.clone(), &keypair.key).py()?,
        })
    }

    /// The validator's hotkey.
    #[getter]
    fn validator<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.validator.0)
    }
    /// The id of the judged receipt.
    #[getter]
    fn receipt_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.receipt_id.0)
    }
    /// `"match"`, `"mismatch"` or `"unchecked"`.
    #[getter]
    fn outcome(&self) -> &'static str {
        outcome_name(self.inner.outcome)
    }
    /// The commitment the validator computed (None for `"unchecked"`).
    #[getter]
    fn recomputed_commitment<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.recomputed_commitment.map(|c| bytes(py, &c.0))
    }

    fn __repr__(&self) -> String {
        format!(
            "Verdict(outcome={:?}, receipt_id={})",
            outcome_name(self.inner.outcome),
            self.inner.receipt_id
        )
    }
}

/// A verdict with the validator's signature (envelope kind `verdict`).
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedVerdict {
    pub(crate) inner: RSignedVerdict,
}

#[pymethods]
impl SignedVerdict {
    /// Decodes a canonical verdict envelope (the signature is not checked: call `verify`).
    #[staticmethod]
    fn decode(data: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: decode(data).py()?,
        })
    }
    /// The canonical envelope bytes.
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &encode(&self.inner).py()?))
    }
    /// Verifies the signature; raises `SignatureError`.
    fn verify(&self) -> PyResult<()> {
        self.inner.verify().py()
    }
    /// Whether the signature is valid.
    fn is_valid(&self) -> bool {
        self.inner.verify().is_ok()
    }
    /// The verdict id: SHA-256 of the signed bytes.
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &self.inner.id().py()?.0))
    }
    /// The signed body.
    #[getter]
    fn body(&self) -> Verdict {
        Verdict {
            inner: self.inner.body.clone(),
        }
    }
    /// The signature (64 bytes).
    #[getter]
    fn signature<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.signature.0)
    }
    /// Checks the verdict against the receipt it judges (`ReceiptError`).
    fn check_receipt(&self, receipt: &SignedReceipt) -> PyResult<()> {
        self.inner.body.check_receipt(&receipt.inner).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "SignedVerdict(outcome={:?}, receipt_id={})",
            outcome_name(self.inner.body.outcome),
            self.inner.body.receipt_id
        )
    }
}

/// Signed receipts of one network, subnet and epoch under one Merkle root (envelope kind
/// `receipt-batch`).
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBatch {
    pub(crate) inner: RBatch,
}

#[pymethods]
impl ReceiptBatch {
    /// A batch; raises `ReceiptError` if a receipt belongs elsewhere or there are too many.
    #[new]
    #[pyo3(signature = (*, network, subnet, epoch, receipts))]
    fn new(
        network: &[u8],
        subnet: u16,
        epoch: u64,
        receipts: Vec<PyRef<'_, SignedReceipt>>,
    ) -> PyResult<Self> {
        let inner = RBatch {
            network: NetworkId(array("network", network)?),
            subnet: SubnetId(subnet),
            epoch: Epoch(epoch),
            receipts: receipts.iter().map(|r| r.inner.clone()).collect(),
        };
        mycel_protocol::wire::Message::check(&inner).py()?;
        Ok(Self { inner })
    }
    /// Decodes a canonical batch envelope.
    #[staticmethod]
    fn decode(data: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: decode(data).py()?,
        })
    }
    /// The canonical envelope bytes.
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &encode(&self.inner).py()?))
    }
    /// The receipts, in leaf order.
    #[getter]
    fn receipts(&self) -> Vec<SignedReceipt> {
        self.inner
            .receipts
            .iter()
            .map(|r| SignedReceipt { inner: r.clone() })
            .collect()
    }
    /// The batch root: the Merkle root over the receipt ids.
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(py, &self.inner.root().py()?.0))
    }
    /// The inclusion proof of receipt `index` (leaf data: the receipt id).
    fn proof(&self, index: u64) -> PyResult<InclusionProof> {
        Ok(InclusionProof {
            inner: self.inner.proof(index).py()?,
        })
    }
    fn __len__(&self) -> usize {
        self.inner.receipts.len()
    }
}

/// Verifies many signed receipts as one batch (the GIL is released); returns the failures as
/// `(index, code)` pairs, in input order (empty: all valid). Same verdicts as `.verify()` one
/// by one.
#[pyfunction]
pub fn verify_batch(
    py: Python<'_>,
    receipts: Vec<PyRef<'_, SignedReceipt>>,
) -> PyResult<Vec<(usize, &'static str)>> {
    let items: Vec<RSignedReceipt> = receipts.iter().map(|r| r.inner.clone()).collect();
    py.detach(|| {
        let results = verify_signed_batch(&items).py()?;
        Ok(results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.code())))
            .collect())
    })
}

fn signature_status<T: Signable>(m: &Signed<T>) -> Value {
    match m.verify() {
        Ok(()) => json!("valid"),
        Err(e) => json!(format!("invalid: {e} ({})", e.code())),
    }
}

/// Decodes an envelope of any kind into a dict: the same JSON `mycel inspect` prints
/// (the message, `version`, `bytes`, and the `derived` values: digest and compute units, ids,
/// signature verdicts, batch root).
#[pyfunction]
pub fn inspect<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let msg = AnyMessage::decode(data).py()?;
    let derived = match &msg {
        AnyMessage::Task(t) => {
            json!({ "digest": t.digest().py()?, "compute_units": t.compute_units().py()? })
        }
        AnyMessage::Receipt(r) => json!({ "id": r.id().py()?, "signature": signature_status(r) }),
        AnyMessage::Verdict(v) => json!({ "id": v.id().py()?, "signature": signature_status(v) }),
        AnyMessage::ReceiptBatch(b) => json!({
            "root": b.root().py()?,
            "receipt_ids": b.receipts.iter().map(Signed::id).collect::<Result<Vec<_>, _>>().py()?,
            "signatures": b.receipts.iter().map(signature_status).collect::<Vec<_>>(),
        }),
        _ => json!({}),
    };
    let mut value = serde_json::to_value(&msg)
        .map_err(|e| errors::error("EncodeError", "encode.serializer", e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.insert("version".into(), json!(data.first().copied().unwrap_or(0)));
        map.insert("bytes".into(), json!(data.len()));
        map.insert("derived".into(), derived);
    }
    json_value_to_py(py, &value)
}

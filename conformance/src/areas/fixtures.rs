//! Fixtures the generator builds cases from: keys from fixed seeds, the test network, seeded
//! tasks, receipts, verdicts and batches, and raw (unchecked) envelopes for invalid cases.

use mycel_kernels::Backend;
use mycel_kernels::quant::QuantFormat;
use mycel_node::task::{AttentionShape, TaskScope, attention_task, execute_seeded, matmul_task};
use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, Signature, SigningKey, SubnetId};
use mycel_protocol::receipt::{
    BackendLabel, Outcome, ReceiptBatch, SignedReceipt, SignedVerdict, Verdict, WorkReceipt,
};
use mycel_protocol::sign::{Signed, tagged_bytes};
use mycel_protocol::task::{AttnDtype, AttnMode, TaskSpec};
use mycel_protocol::wire::MessageKind;
use serde::Serialize;

use crate::util::{b32, sha256};
use crate::{Error, Result};

/// Turns any displayable error into a harness error.
pub fn e<T: core::fmt::Display>(x: T) -> Error {
    Error(x.to_string())
}

/// The network id of the cases: SHA-256("mycel conformance network").
pub fn network() -> NetworkId {
    NetworkId(sha256(&[b"mycel conformance network"]))
}

/// Another network id (for wrong-network cases).
pub fn other_network() -> NetworkId {
    NetworkId(sha256(&[b"mycel conformance other network"]))
}

/// The subnet of the cases.
pub const SUBNET: SubnetId = SubnetId(3);
/// The epoch of the cases.
pub const EPOCH: Epoch = Epoch(7);

/// A signing key from a named seed.
pub fn key(name: &str) -> SigningKey {
    SigningKey::from_seed(&b32(name))
}

/// The scope of the cases.
pub fn scope() -> TaskScope {
    TaskScope {
        network: network(),
        subnet: SUBNET,
        epoch: EPOCH,
    }
}

/// A seeded matmul task.
///
/// # Errors
/// Invalid shapes.
pub fn matmul(format: QuantFormat, m: u32, n: u32, k: u32, seed: &str) -> Result<TaskSpec> {
    matmul_task(scope(), format, m, n, k, b32(seed)).map_err(e)
}

/// A seeded attention task.
///
/// # Errors
/// Invalid shapes.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    heads: (u32, u32),
    q_len: u32,
    kv_len: u32,
    head_dim: u32,
    causal: bool,
    dtype: AttnDtype,
    mode: AttnMode,
    seed: &str,
) -> Result<TaskSpec> {
    attention_task(
        scope(),
        AttentionShape {
            n_heads: heads.0,
            n_kv_heads: heads.1,
            q_len,
            kv_len,
            head_dim,
            causal,
            dtype,
            mode,
        },
        b32(seed),
    )
    .map_err(e)
}

/// The honest (commitment, tile root) of a seeded task.
///
/// # Errors
/// Kernel errors.
pub fn truth(task: &TaskSpec) -> Result<(Digest, Digest)> {
    let out = execute_seeded(task, Backend::Scalar, 1).map_err(e)?;
    Ok((out.commitment, out.tile_root))
}

/// A receipt body for `task` from `miner` assigned by `assigner`, claiming `claim`.
///
/// # Errors
/// Tasks whose compute units cannot be computed.
pub fn receipt_body(
    task: &TaskSpec,
    miner: &SigningKey,
    assigner: &SigningKey,
    claim: (Digest, Digest),
    nonce: u64,
) -> Result<WorkReceipt> {
    Ok(WorkReceipt {
        network: task.network,
        subnet: task.subnet,
        epoch: task.epoch,
        task_digest: task.digest().map_err(e)?,
        assigner: assigner.hotkey(),
        miner: miner.hotkey(),
        output_commitment: claim.0,
        output_tile_root: claim.1,
        compute_units: task.compute_units().map_err(e)?,
        started_at_ms: 1_700_000_000_000,
        finished_at_ms: 1_700_000_000_250,
        nonce,
        backend: BackendLabel::new("cpu-scalar").map_err(e)?,
    })
}

/// Signs with the checked signer.
///
/// # Errors
/// A key that is not the body's signer.
pub fn sign<T: mycel_protocol::sign::Signable>(body: T, key: &SigningKey) -> Result<Signed<T>> {
    Signed::sign(body, key).map_err(e)
}

/// Signs `body` as `kind` without any check (for invalid cases): the signature covers
/// `tag(kind) || 0x00 || postcard(body)`.
///
/// # Errors
/// Serialisation failures (not expected).
pub fn sign_raw<T: Serialize>(body: T, kind: MessageKind, key: &SigningKey) -> Result<Signed<T>> {
    let b = postcard::to_allocvec(&body).map_err(e)?;
    let signature = key.sign_raw(&tagged_bytes(kind, &b));
    Ok(Signed { body, signature })
}

/// Signs arbitrary bytes (wrong-domain cases).
pub fn sig_over(key: &SigningKey, bytes: &[u8]) -> Signature {
    key.sign_raw(bytes)
}

/// A verdict body.
pub fn verdict(
    validator: &SigningKey,
    receipt_id: Digest,
    outcome: Outcome,
    c: Option<Digest>,
) -> Verdict {
    Verdict {
        validator: validator.hotkey(),
        receipt_id,
        outcome,
        recomputed_commitment: c,
    }
}

/// An envelope of `kind` around `postcard(msg)`, with no check at all.
///
/// # Errors
/// Serialisation failures (not expected).
pub fn raw_envelope<T: Serialize>(kind: MessageKind, msg: &T) -> Result<Vec<u8>> {
    let mut out = vec![1u8, kind.code()];
    out.extend(postcard::to_allocvec(msg).map_err(e)?);
    Ok(out)
}

/// The standard fixtures: a seeded Q8_0 task, its honest receipt, a Match verdict and a
/// two-receipt batch.
#[derive(Debug, Clone)]
pub struct Basics {
    /// The task.
    pub task: TaskSpec,
    /// The miner.
    pub miner: SigningKey,
    /// The validator (assigner).
    pub validator: SigningKey,
    /// The honest receipt.
    pub receipt: SignedReceipt,
    /// A Match verdict on it.
    pub verdict: SignedVerdict,
    /// A batch of the receipt and a second one.
    pub batch: ReceiptBatch,
}

/// Builds [`Basics`].
///
/// # Errors
/// Fixture failures (not expected).
pub fn basics() -> Result<Basics> {
    let task = matmul(QuantFormat::Q8_0, 2, 32, 64, "basics task")?;
    let miner = key("miner 1");
    let validator = key("validator 1");
    let t = truth(&task)?;
    let receipt = sign(receipt_body(&task, &miner, &validator, t, 1)?, &miner)?;
    let id = receipt.id().map_err(e)?;
    let verdict = sign(
        verdict(&validator, id, Outcome::Match, Some(t.0)),
        &validator,
    )?;
    let task2 = matmul(QuantFormat::Q4_0, 1, 32, 32, "basics task 2")?;
    let miner2 = key("miner 2");
    let r2 = sign(
        receipt_body(&task2, &miner2, &validator, truth(&task2)?, 9)?,
        &miner2,
    )?;
    let batch = ReceiptBatch {
        network: network(),
        subnet: SUBNET,
        epoch: EPOCH,
        receipts: vec![receipt.clone(), r2],
    };
    Ok(Basics {
        task,
        miner,
        validator,
        receipt,
        verdict,
        batch,
    })
}

/// The hotkey of a named key.
pub fn hotkey(name: &str) -> Hotkey {
    key(name).hotkey()
}

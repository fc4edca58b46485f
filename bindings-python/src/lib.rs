//! # mycel-python
//!
//! The native module `mycel._mycel` of the `mycel` Python package (built with maturin into one
//! abi3 wheel for CPython >= 3.9). The public API is `python/mycel/__init__.py`, which
//! re-exports what is registered here; `python/mycel/_mycel.pyi` types it.
//!
//! This crate is thin on purpose: it converts between Python objects (bytes, numpy arrays,
//! dicts) and the types of `mycel-protocol`, `mycel-kernels` and `mycel-node`, and maps their
//! errors by
//! their stable `code()` onto the exception classes of `mycel.exceptions`. Kernels run with
//! the GIL released. It holds no protocol or kernel logic of its own.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cuda` | no | the CUDA backend of mycel-kernels (`backend="cuda"`) |
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod array;
mod convert;
mod emission;
mod errors;
mod kernels;
mod keys;
mod merkle;
mod messages;
mod roles;
mod scoring;

use pyo3::prelude::*;

/// The native module: registrations only.
#[pymodule]
fn _mycel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Keys and the raw signature rule.
    m.add_class::<keys::Keypair>()?;
    m.add_function(wrap_pyfunction!(keys::verify_signature, m)?)?;
    m.add_function(wrap_pyfunction!(keys::verify_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(keys::signature_error, m)?)?;
    m.add_function(wrap_pyfunction!(keys::validate_hotkey, m)?)?;
    // Messages.
    m.add_class::<messages::TaskSpec>()?;
    m.add_class::<messages::WorkReceipt>()?;
    m.add_class::<messages::SignedReceipt>()?;
    m.add_class::<messages::Verdict>()?;
    m.add_class::<messages::SignedVerdict>()?;
    m.add_class::<messages::ReceiptBatch>()?;
    m.add_function(wrap_pyfunction!(messages::verify_batch, m)?)?;
    m.add_function(wrap_pyfunction!(messages::inspect, m)?)?;
    // Commitments.
    m.add_class::<merkle::MerkleTree>()?;
    m.add_class::<merkle::InclusionProof>()?;
    m.add_function(wrap_pyfunction!(merkle::leaf_hash, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::node_hash, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_root, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::tensor_commitment_array, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::tensor_commitment_bytes, m)?)?;
    // Emission.
    m.add_function(wrap_pyfunction!(emission::_yuma_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(emission::yuma_epoch_json, m)?)?;
    // Kernels.
    m.add_function(wrap_pyfunction!(kernels::resolve_backend, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::quantize, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::quantize_q8, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::quantize_q4, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::dequantize, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::matmul, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::attention, m)?)?;
    m.add_class::<kernels::TaskResult>()?;
    m.add_function(wrap_pyfunction!(kernels::execute_task, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::generate_weights, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::weights_digest, m)?)?;
    // Roles (mycel-node).
    m.add_class::<roles::Miner>()?;
    m.add_class::<roles::Validator>()?;
    m.add_class::<roles::WeightPool>()?;
    m.add_class::<roles::CommittedBatch>()?;
    m.add_class::<roles::FraudProof>()?;
    m.add_class::<roles::ConfirmedFraud>()?;
    m.add_class::<roles::TileProof>()?;
    m.add_class::<roles::ConfirmedTile>()?;
    m.add_class::<roles::Judgement>()?;
    m.add_class::<roles::IssuedTasks>()?;
    m.add_function(wrap_pyfunction!(roles::new_task, m)?)?;
    m.add_class::<roles::Simulation>()?;
    m.add_function(wrap_pyfunction!(roles::simulate, m)?)?;
    // Scoring, weight normalisation, sampling, crediting.
    m.add_function(wrap_pyfunction!(scoring::score, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::weights_from_scores, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::max_upscale, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::weights_commitment, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::verify_reveal, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::sample_seed, m)?)?;
    m.add_function(wrap_pyfunction!(scoring::sample_receipts, m)?)?;
    m.add_class::<scoring::CreditLedger>()?;
    // Benchmark support.
    m.add_function(wrap_pyfunction!(kernels::_time_rust, m)?)?;
    Ok(())
}

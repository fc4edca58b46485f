//! # mycel-node
//!
//! The roles of a mycel subnet as a sans-IO library: the [`miner`] that executes tasks and signs
//! receipts, the [`validator`] that issues tasks, commits, verifies, samples, re-executes,
//! judges, builds [`fraud`] proofs, scores and commits its weights, and the whole subnet
//! simulation ([`sim`]). Every host calls it: the `mycel` CLI, the Python and WASM bindings,
//! the conformance runners.
//!
//! In the style of quinn-proto and rustls, this crate does no I/O: no files, no sockets, no
//! clocks and no global state. Time, randomness and inputs are passed in; outputs are returned
//! as values (receipts, verdicts, fraud proofs, JSON text) for the host to store or send.
//!
//! Data flows one way: `cli`, bindings → `mycel-node` → `mycel-kernels`, `mycel-protocol`.
//!
//! | module | what it holds |
//! |---|---|
//! | [`miner`] | [`Miner`]: execute a `TaskSpec` on a backend, sign the `WorkReceipt` |
//! | [`validator`] | [`Validator`]: each epoch step as its own method; task issue, sampling, tallies |
//! | [`fraud`] | [`FraudProof`] (`mycel-fraud-proof/v1` JSON) and its [`FraudProof::check`] |
//! | [`tile_proof`] | [`TileProof`] (`mycel-fraud-proof/v2`): one opened tile, recomputed alone; [`AnyProof`] reads both versions |
//! | [`equivocation`] | [`equivocation::Equivocation`]: two receipts of one miner claiming different outputs for one task, a fraud proof without re-execution |
//! | [`sim`] | the subnet simulation: `Scenario`, `Subnet::step`, the JSON log |
//! | [`task`] | self-contained tasks whose weights derive from their seed (`mycel task new`) |
//! | [`rng`] | deterministic derivations (SHA-256 with a domain tag) the roles and the simulation use |
//! | [`error`] | the crate's [`Error`], each variant with a stable `code()` |
//!
//! ## One epoch, one miner, one validator
//!
//! ```
//! use mycel_kernels::Backend;
//! use mycel_node::miner::{Miner, ReceiptFields};
//! use mycel_node::validator::tasks::{TaskConfig, TaskContext, WeightPool, issue_task};
//! use mycel_node::validator::{Validator, sample};
//! use mycel_protocol::ids::{Epoch, NetworkId, SigningKey, SubnetId};
//! use mycel_protocol::receipt::BackendLabel;
//!
//! let mix = TaskConfig::default();
//! let pool = WeightPool::generate(7, &mix)?;
//! let validator = Validator::new(SigningKey::from_seed(&[1; 32]), 1 << 31)?;
//! let miner = Miner::new(SigningKey::from_seed(&[2; 32]));
//! let ctx = TaskContext { network: NetworkId([9; 32]), subnet: SubnetId(1), epoch: 0, beacon: [3; 32] };
//!
//! // Issue, execute, sign.
//! let task = issue_task(&mix, &pool, ctx, &validator.hotkey(), &miner.hotkey(), 0)?;
//! let weights = pool.find(&task).map(|w| w.bytes.as_slice());
//! let fields = ReceiptFields {
//!     assigner: validator.hotkey(),
//!     nonce: 0,
//!     started_at_ms: 0,
//!     finished_at_ms: 5,
//!     backend: BackendLabel::new("cpu")?,
//! };
//! let receipt = miner.run(&task, weights, Backend::Auto, 1, fields)?.receipt;
//!
//! // Commit the batch, verify it, sample after the root, re-execute, judge.
//! let batch = validator.commit_batch(ctx.network, ctx.subnet, Epoch(0), vec![receipt.clone()])?;
//! assert!(validator.verify_batch(&batch, &[4; 32]).iter().all(Result::is_ok));
//! let secret = [8; 32]; // its commitment was published before the receipts arrived
//! let seed = sample::sample_seed(&ctx.beacon, &batch.root, &validator.hotkey(), &secret);
//! assert_eq!(sample::sample(&seed, &batch.ids, &[0], sample::PPM, 1), vec![0]);
//! let truth = validator.reexecute(&task, weights, Backend::Auto, 1)?;
//! let judgement = validator.judge(batch.ids[0], &receipt, truth)?;
//! assert!(judgement.is_match());
//! # Ok::<(), mycel_node::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod equivocation;
pub mod error;
pub mod fraud;
pub mod miner;
pub mod proof_file;
pub mod rng;
pub mod sim;
pub mod task;
pub mod tile_proof;
pub mod validator;

pub use error::{Error, FraudError, Result};
pub use fraud::FraudProof;
pub use miner::Miner;
pub use tile_proof::{AnyProof, TileProof};
pub use validator::Validator;

//! # mycel-wasm
//!
//! mycel for browsers and Node through wasm-bindgen: a validator in a browser tab verifies a
//! miner's signed receipts, re-executes a task with the same kernels (SIMD128) and gets the
//! same commitment as any native host. The crate is thin: argument checks, conversion and
//! error mapping over `mycel-protocol` and `mycel-kernels`, no logic of its own.
//!
//! Errors reach JS as `Error`s named `MycelError` with a stable `code`: the Rust crates' codes
//! (`"decode.trailing_bytes"`, `"signature.equation"`, `"shape_mismatch"`, …) or
//! [`error::codes`] for arguments of the wrong type, length or value.
//!
//! `build.sh` builds the package: `pkg/` (ES module for browsers) and `pkg-node/` (CommonJS).
//! See README.md beside this file.
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

pub mod convert;
pub mod emission;
pub mod error;
pub mod kernels;
pub mod keys;
pub mod merkle;
pub mod messages;
pub mod task;
pub mod validator;

use wasm_bindgen::prelude::*;

pub use error::{Fail, Result};

/// Shapes of the plain objects the functions return, for the generated `.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** An RFC 6962 inclusion proof. */
export interface InclusionProof { index: number; treeSize: number; path: Uint8Array[] }
/** One receipt of a verified batch; `valid` false names the failing rule in `code`. */
export interface BatchReceipt {
  index: number; id: Uint8Array; miner: Uint8Array; assigner: Uint8Array;
  taskDigest: Uint8Array; outputCommitment: Uint8Array; outputTileRoot: Uint8Array;
  computeUnits: bigint; backend: string; valid: boolean; code: string | null; message: string | null;
}
/** What `verifyReceiptBatch` reports. */
export interface ReceiptBatchReport {
  network: Uint8Array; subnet: number; epoch: bigint; root: Uint8Array; receipts: BatchReceipt[];
}
/** The input of one Yuma epoch (the fields of `mycel epoch --input`). */
export interface EpochInput {
  n: number; current_block: number | bigint; tempo: number | bigint; activity_cutoff: number | bigint;
  last_update: ArrayLike<number | bigint>; block_at_registration: ArrayLike<number | bigint>;
  stake: ArrayLike<number | bigint>; validator_permit: boolean[]; max_allowed_validators: number;
  weights: Array<Array<[number, number]>>; bonds: Array<Array<[number, number]>>;
  kappa: number; bonds_penalty: number; bonds_moving_average: number | bigint; yuma3: boolean;
  liquid_alpha: boolean; alpha_low: number; alpha_high: number; alpha_sigmoid_steepness: number;
  rao_emission: number | bigint; [extra: string]: unknown;
}
/** The output of one Yuma epoch (64-bit values as bigint). */
export interface EpochOutput {
  active: boolean[]; incentive: bigint[]; dividends: bigint[]; consensus: bigint[];
  server_emission: bigint[]; validator_emission: bigint[]; [field: string]: unknown;
}
/** The error every function throws: `code` is stable, `message` is for people. */
export interface MycelError extends Error { name: "MycelError"; code: string }
"#;

/// The package version (the workspace version).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

#[cfg(test)]
mod tests {
    use mycel_protocol::sign::verify_slices;

    /// The batch verdicts the JS `verifySignatures` returns equal the single rule's, on every
    /// Wycheproof vector plus wrong-length keys and signatures.
    #[test]
    fn batch_verdicts_equal_the_single_rule() {
        let text = include_str!("../../protocol/tests/vectors/wycheproof_ed25519_test.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let (mut pks, mut msgs, mut sigs) = (Vec::new(), Vec::new(), Vec::new());
        for g in v["testGroups"].as_array().unwrap() {
            let pk = hex::decode(g["publicKey"]["pk"].as_str().unwrap()).unwrap();
            for t in g["tests"].as_array().unwrap() {
                pks.push(pk.clone());
                msgs.push(hex::decode(t["msg"].as_str().unwrap()).unwrap());
                sigs.push(hex::decode(t["sig"].as_str().unwrap()).unwrap());
            }
        }
        assert_eq!(pks.len(), 151);
        pks.push(vec![1; 31]);
        msgs.push(vec![]);
        sigs.push(vec![0; 64]);
        pks.push(pks[0].clone());
        msgs.push(msgs[0].clone());
        sigs.push(sigs[0][..63].to_vec());
        let batch = crate::keys::batch_verdicts(&pks, &msgs, &sigs).unwrap();
        let single: Vec<_> = pks
            .iter()
            .zip(&msgs)
            .zip(&sigs)
            .map(|((p, m), s)| verify_slices(p, m, s))
            .collect();
        assert_eq!(batch, single);
        assert!(batch.iter().any(Result::is_ok) && batch.iter().any(Result::is_err));
        assert_eq!(
            crate::keys::batch_verdicts(&pks[..2], &msgs[..1], &sigs[..2])
                .unwrap_err()
                .code,
            crate::error::codes::INPUT_LENGTH
        );
    }
}

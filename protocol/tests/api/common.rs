//! Shared fixtures.

use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};

/// A small valid matmul task.
pub fn matmul_task() -> TaskSpec {
    TaskSpec {
        network: NetworkId([0x11; 32]),
        subnet: SubnetId(7),
        epoch: Epoch(42),
        kernel: KernelId::MatmulQ8_0,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul { m: 4, n: 8, k: 64 },
        weights_digest: Digest([0x22; 32]),
        input_seed: [0x33; 32],
    }
}

use mycel_protocol::ids::{Hotkey, SigningKey};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
use mycel_protocol::sign::Signed;

/// The miner key of the fixtures (seed 0x01…).
pub fn miner_key() -> SigningKey {
    SigningKey::from_seed(&[0x01; 32])
}

/// The validator key of the fixtures (seed 0x02…).
pub fn validator_key() -> SigningKey {
    SigningKey::from_seed(&[0x02; 32])
}

/// An unsigned receipt for [`matmul_task`], by [`miner_key`], assigned by [`validator_key`].
pub fn receipt(nonce: u64) -> WorkReceipt {
    let task = matmul_task();
    WorkReceipt {
        network: task.network,
        subnet: task.subnet,
        epoch: task.epoch,
        task_digest: task.digest().unwrap(),
        assigner: validator_key().hotkey(),
        miner: miner_key().hotkey(),
        output_commitment: Digest([0x44; 32]),
        output_tile_root: Digest([0x55; 32]),
        compute_units: task.compute_units().unwrap(),
        started_at_ms: 1_700_000_000_000,
        finished_at_ms: 1_700_000_000_250,
        nonce,
        backend: BackendLabel::new("cpu-scalar").unwrap(),
    }
}

/// A signed receipt.
pub fn signed_receipt(nonce: u64) -> SignedReceipt {
    Signed::sign(receipt(nonce), &miner_key()).unwrap()
}

/// A hotkey that is not the fixtures' signer.
pub fn other_hotkey() -> Hotkey {
    SigningKey::from_seed(&[0x03; 32]).hotkey()
}

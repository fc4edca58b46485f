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

//! Property tests: encode/decode round trips, canonical uniqueness, no panics on any bytes.

use mycel_protocol::ids::{Digest, Epoch, Hotkey, NetworkId, SubnetId};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt, WorkReceipt};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::{AnyMessage, decode, encode};
use proptest::prelude::*;

use crate::common::{miner_key, signed_receipt};

fn arb_task() -> impl Strategy<Value = TaskSpec> {
    let matmul = (1u32..=512, 1u32..=512, 1u32..=64).prop_map(|(m, n, kb)| KernelParams::Matmul {
        m,
        n,
        k: kb * 32,
    });
    let attn = (
        1u32..=8,
        1u32..=4096,
        1u32..=4096,
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(
            |(kvh, q, kv, big, causal, dt, fast)| KernelParams::Attention {
                n_heads: kvh * 2,
                n_kv_heads: kvh,
                q_len: if causal { q.min(kv) } else { q },
                kv_len: kv,
                head_dim: if big { 128 } else { 64 },
                causal,
                dtype: [AttnDtype::F32, AttnDtype::F16, AttnDtype::Bf16][dt as usize],
                mode: if fast {
                    AttnMode::Fast
                } else {
                    AttnMode::Verifiable
                },
            },
        );
    (
        any::<[u8; 32]>(),
        any::<u16>(),
        any::<u64>(),
        prop_oneof![
            matmul.prop_map(|p| (false, p)),
            attn.prop_map(|p| (true, p))
        ],
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<bool>(),
    )
        .prop_map(
            |(net, subnet, epoch, (is_attn, params), wd, seed, q4)| TaskSpec {
                network: NetworkId(net),
                subnet: SubnetId(subnet),
                epoch: Epoch(epoch),
                kernel: if is_attn {
                    KernelId::Attention
                } else if q4 {
                    KernelId::MatmulQ4_0
                } else {
                    KernelId::MatmulQ8_0
                },
                kernel_version: KERNEL_VERSION,
                params,
                weights_digest: Digest(wd),
                input_seed: seed,
            },
        )
}

fn arb_receipt() -> impl Strategy<Value = WorkReceipt> {
    (
        (
            any::<[u8; 32]>(),
            any::<u16>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        ),
        (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
        ),
        "[ -~]{0,32}",
    )
        .prop_map(
            |((net, subnet, epoch, td, assigner), (oc, tr, cu, start, dur, nonce), label)| {
                WorkReceipt {
                    network: NetworkId(net),
                    subnet: SubnetId(subnet),
                    epoch: Epoch(epoch),
                    task_digest: Digest(td),
                    assigner: Hotkey(assigner),
                    miner: miner_key().hotkey(),
                    output_commitment: Digest(oc),
                    output_tile_root: Digest(tr),
                    compute_units: cu,
                    started_at_ms: start,
                    finished_at_ms: start.saturating_add(u64::from(dur)),
                    nonce,
                    backend: BackendLabel::new(&label).unwrap(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn task_round_trip(t in arb_task()) {
        let bytes = encode(&t).unwrap();
        prop_assert!(bytes.len() <= 256);
        prop_assert_eq!(decode::<TaskSpec>(&bytes).unwrap(), t);
    }

    #[test]
    fn receipt_round_trip(r in arb_receipt()) {
        let s = Signed::sign(r, &miner_key()).unwrap();
        let bytes = encode(&s).unwrap();
        prop_assert!(bytes.len() <= 512);
        let back: SignedReceipt = decode(&bytes).unwrap();
        back.verify().unwrap();
        prop_assert_eq!(back, s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = AnyMessage::decode(&bytes) {
            prop_assert_eq!(m.encode().unwrap(), bytes);
        }
    }

    /// Any single-byte change to a valid envelope either fails to decode or decodes to a
    /// message whose canonical encoding is exactly the changed bytes (one encoding per value).
    #[test]
    fn mutations_keep_encodings_unique(pos in 0usize..400, val in any::<u8>()) {
        let mut bytes = encode(&signed_receipt(3)).unwrap();
        let pos = pos % bytes.len();
        bytes[pos] = val;
        if let Ok(m) = AnyMessage::decode(&bytes) {
            prop_assert_eq!(m.encode().unwrap(), bytes);
        }
    }
}

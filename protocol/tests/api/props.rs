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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random batches with random bit flips in signatures, keys and messages: the batch verdict
    /// of every item equals its single verdict (valid, or the same reason).
    #[test]
    fn batch_equals_single(
        n in 1usize..24,
        flips in proptest::collection::vec((any::<usize>(), 0usize..3, 0usize..512), 0..6),
        seed in any::<[u8; 32]>(),
    ) {
        use mycel_protocol::ids::SigningKey;
        use mycel_protocol::sign::{BatchItem, verify, verify_batch_with_seed};
        let mut items: Vec<([u8; 32], Vec<u8>, [u8; 64])> = (0..n)
            .map(|i| {
                let key = SigningKey::from_seed(&[(i % 5) as u8 + 1; 32]);
                let msg = vec![i as u8; i + 1];
                let sig = key.sign_raw(&msg);
                (key.hotkey().0, msg, sig.0)
            })
            .collect();
        for (which, part, bit) in flips {
            let item = &mut items[which % n];
            match part {
                0 => item.2[(bit / 8) % 64] ^= 1 << (bit % 8),
                1 => item.0[(bit / 8) % 32] ^= 1 << (bit % 8),
                _ => {
                    let len = item.1.len();
                    item.1[(bit / 8) % len] ^= 1 << (bit % 8);
                }
            }
        }
        let batch: Vec<BatchItem<'_>> =
            items.iter().map(|(pk, m, s)| BatchItem { public_key: pk, message: m, signature: s }).collect();
        let verdict = verify_batch_with_seed(&batch, &seed);
        for ((pk, m, s), got) in items.iter().zip(verdict.results()) {
            prop_assert_eq!(*got, verify(pk, m, s));
        }
    }
}

//! Writes the validator page's bundled inbox sample (`www/samples/inbox.json`): one epoch of a
//! small subnet as a validator receives it: a receipt batch, the tasks it assigned and where
//! the public weights come from. Two honest miners, a lazy one (signs a commitment without
//! computing), and one receipt altered after signing (its signature no longer holds).
//!
//! Run: `cargo run -p mycel-wasm --example make_inbox -- bindings-wasm/www/samples/inbox.json`
//! Deterministic: the same file every run.

use std::process::ExitCode;

use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, ReceiptBatch, WorkReceipt};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::encode;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: make_inbox OUT.json");
        return ExitCode::from(2);
    };
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_inbox: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seed(tag: u8, i: u8) -> [u8; 32] {
    let mut s = [tag; 32];
    s[31] = i;
    s
}

fn run(out: &str) -> Result<(), Box<dyn core::error::Error>> {
    let network = NetworkId([0x6d; 32]);
    let (subnet, epoch) = (SubnetId(1), Epoch(5));
    let validator = SigningKey::from_seed(&seed(0xa0, 0));
    let (m, n, k) = (4u32, 64u32, 256u32);
    let mats = [
        (QuantFormat::Q8_0, KernelId::MatmulQ8_0, seed(0xc8, 0)),
        (QuantFormat::Q4_0, KernelId::MatmulQ4_0, seed(0xc4, 0)),
    ];
    let mut weights_json = Vec::new();
    let mut weights = Vec::new();
    for (format, _, s) in &mats {
        let w = generate_weights(s, *format, n as usize, k as usize)?;
        weights_json.push(serde_json::json!({
            "generator": "mycel-kernels/generate_weights",
            "seed": hex::encode(s),
            "format": format.name(),
            "rows": n,
            "cols": k,
            "digest": weights_digest(&w).to_string(),
        }));
        weights.push(w);
    }
    let miners = [("honest", 1u8), ("honest", 2), ("lazy", 3)];
    let mut tasks_hex = Vec::new();
    let mut receipts = Vec::new();
    let mut miners_json = Vec::new();
    for (label, mi) in miners {
        let key = SigningKey::from_seed(&seed(0xb0, mi));
        miners_json.push(serde_json::json!({"hotkey": key.hotkey().to_string(), "label": label}));
        for slot in 0u8..3 {
            let input_seed = seed(0xd0 + slot, mi);
            let (task, w) = if slot < 2 {
                let (_, kernel, _) = mats[usize::from(slot)];
                let w = &weights[usize::from(slot)];
                (
                    TaskSpec {
                        network,
                        subnet,
                        epoch,
                        kernel,
                        kernel_version: KERNEL_VERSION,
                        params: KernelParams::Matmul { m, n, k },
                        weights_digest: weights_digest(w),
                        input_seed,
                    },
                    Some(w.as_slice()),
                )
            } else {
                (
                    TaskSpec {
                        network,
                        subnet,
                        epoch,
                        kernel: KernelId::Attention,
                        kernel_version: KERNEL_VERSION,
                        params: KernelParams::Attention {
                            n_heads: 4,
                            n_kv_heads: 2,
                            q_len: 8,
                            kv_len: 128,
                            head_dim: 64,
                            causal: true,
                            dtype: AttnDtype::F16,
                            mode: AttnMode::Verifiable,
                        },
                        weights_digest: Digest([0; 32]),
                        input_seed,
                    },
                    None,
                )
            };
            let (commitment, tile_root) = if label == "lazy" {
                // Signs without computing: a commitment to nothing in particular.
                (Digest(seed(0xee, slot)), Digest(seed(0xef, slot)))
            } else {
                let o = execute(&task, w, Backend::Scalar, 1)?;
                (o.commitment, o.tile_root)
            };
            let receipt = WorkReceipt {
                network,
                subnet,
                epoch,
                task_digest: task.digest()?,
                assigner: validator.hotkey(),
                miner: key.hotkey(),
                output_commitment: commitment,
                output_tile_root: tile_root,
                compute_units: task.compute_units()?,
                started_at_ms: 1_700_000_000_000 + u64::from(slot) * 1000,
                finished_at_ms: 1_700_000_000_500 + u64::from(slot) * 1000,
                nonce: u64::from(mi) << 8 | u64::from(slot),
                backend: BackendLabel::new(if label == "lazy" {
                    "cuda"
                } else {
                    "cpu-scalar"
                })?,
            };
            let mut signed = Signed::sign(receipt, &key)?;
            if mi == 2 && slot == 1 {
                // Altered after signing: the nonce changes, the signature stays.
                signed.body.nonce += 1;
            }
            receipts.push(signed);
            tasks_hex.push(hex::encode(task.encode()?));
        }
    }
    let batch = ReceiptBatch {
        network,
        subnet,
        epoch,
        receipts,
    };
    let json = serde_json::json!({
        "format": "mycel-validator-inbox/v1",
        "note": "One epoch as validator a0..a0 receives it: 2 honest miners, 1 lazy miner, 1 receipt altered after signing (honest miner 2, slot 1). Made by bindings-wasm/examples/make_inbox.rs.",
        "validator": validator.hotkey().to_string(),
        // The epoch's public beacon: with the committed batch root it seeds the spot-check sample.
        "beacon": hex::encode([0x42u8; 32]),
        "batch": hex::encode(encode(&batch)?),
        "tasks": tasks_hex,
        "weights": weights_json,
        "miners": miners_json,
    });
    std::fs::write(out, serde_json::to_string_pretty(&json)? + "\n")?;
    Ok(())
}

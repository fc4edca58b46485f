//! Size and verification time of tile fraud proofs (`mycel-fraud-proof/v2`) for the largest
//! valid tasks (spec/receipts.md §8b, "Measured"):
//!
//! * matmul Q8_0, m = 4096, 16384 × 8192 weights (2^40 compute units, the compute bound),
//!   kernel version 2, weights seeded (the proof carries the seed) and the same weights given
//!   explicitly (the proof carries the tile's 256 rows); and kernel version 1 with seeded
//!   weights (the verifier regenerates the whole matrix, row by row, for its SHA-256);
//! * attention 32 / 8 heads, head_dim 128, q_len 1, kv_len 131 066 (the memory bound), f32.
//!
//! The miner cheats by signing an all-zero output (its tile root is built from one leaf hash,
//! so nothing of the task's size is computed); the validator opens one tile and proves it.
//! Verification (`TileProof::check` from the JSON text) runs `RUNS` times; min and median are
//! printed. Run with `cargo run -p mycel-node --release --example tile_proof_size`.

use std::time::Instant;

use mycel_kernels::exec::generate_weights;
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tile::rows_root;
use mycel_node::fraud::CheckOptions;
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::task::{
    AttentionShape, TaskScope, attention_task, matmul_task_version, weights_seed,
};
use mycel_node::tile_proof::{TileProof, WeightsInput, check_json};
use mycel_protocol::commit::{MerkleTree, leaf_hash};
use mycel_protocol::ids::SigningKey;
use mycel_protocol::opening::{TileGrid, TileOpening};
use mycel_protocol::receipt::BackendLabel;
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION_ROWS, TaskSpec};

const RUNS: usize = 5;

/// A cheating miner's receipt for an all-zero output, and its opening of `tile`.
fn cheat(
    task: &TaskSpec,
    tile: u64,
) -> Result<(mycel_protocol::receipt::SignedReceipt, TileOpening), Box<dyn core::error::Error>> {
    let grid = TileGrid::of_task(task);
    let mut leaves = Vec::new();
    for t in 0..grid.count() {
        let r = grid.tile(t)?;
        leaves.push(leaf_hash(&vec![0u8; r.byte_len() as usize]));
    }
    let tree = MerkleTree::from_leaf_hashes(leaves);
    let miner = Miner::new(SigningKey::from_seed(&[2; 32]));
    let claim = Claim {
        commitment: mycel_protocol::ids::Digest([0; 32]),
        tile_root: tree.root(),
    };
    let fields = ReceiptFields {
        assigner: SigningKey::from_seed(&[1; 32]).hotkey(),
        nonce: 0,
        started_at_ms: 0,
        finished_at_ms: 1,
        backend: BackendLabel::new("cpu")?,
    };
    let receipt = miner.sign(task, claim, fields)?;
    let proof = tree.proof(tile)?;
    let opening = TileOpening {
        index: tile,
        tile_count: proof.tree_size,
        tile: vec![0u8; grid.tile(tile)?.byte_len() as usize],
        path: proof.path,
    };
    Ok((receipt, opening))
}

fn measure(label: &str, proof: &TileProof) -> Result<(), Box<dyn core::error::Error>> {
    let json = proof.to_json()?;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        check_json(&json, &CheckOptions::default())?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{label}: {} bytes of JSON; verification min {:.3} s, median {:.3} s ({RUNS} runs)",
        json.len(),
        times[0],
        times[RUNS / 2]
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn core::error::Error>> {
    let seed = [0x5A; 32];
    let task = matmul_task_version(
        TaskScope::default(),
        QuantFormat::Q8_0,
        [4096, 16384, 8192],
        seed,
        KERNEL_VERSION_ROWS,
    )?;
    // The last tile: rows 4080..4096, weight rows 16128..16384.
    let tile = TileGrid::of_task(&task).count() - 1;
    let (receipt, opening) = cheat(&task, tile)?;
    let seeded = TileProof::new(
        &task,
        &receipt,
        &opening,
        WeightsInput::Seeded(weights_seed(&seed)),
        None,
        String::new(),
    )?;
    measure(
        "matmul Q8_0 m=4096, 16384x8192, v2, seeded weights",
        &seeded,
    )?;

    // The same shape at kernel version 1 (one SHA-256 over the weights): the proof carries the
    // seed and the verifier regenerates all 2^27 weight values, row by row, to check it.
    let v1_task = matmul_task_version(
        TaskScope::default(),
        QuantFormat::Q8_0,
        [4096, 16384, 8192],
        seed,
        mycel_protocol::task::KERNEL_VERSION,
    )?;
    let (receipt, opening) = cheat(&v1_task, tile)?;
    let v1 = TileProof::new(
        &v1_task,
        &receipt,
        &opening,
        WeightsInput::Seeded(weights_seed(&seed)),
        None,
        String::new(),
    )?;
    measure("matmul Q8_0 m=4096, 16384x8192, v1, seeded weights", &v1)?;

    // The same shape with explicit weights (another digest, so another task and receipt).
    let w = generate_weights(&weights_seed(&seed), QuantFormat::Q8_0, 16384, 8192)?;
    let mut explicit_task = task;
    explicit_task.input_seed = [0x5B; 32];
    explicit_task.weights_digest = rows_root(QuantFormat::Q8_0, &w, 8192)?;
    let (receipt, opening) = cheat(&explicit_task, tile)?;
    let explicit = TileProof::new(
        &explicit_task,
        &receipt,
        &opening,
        WeightsInput::Bytes(&w),
        None,
        String::new(),
    )?;
    drop(w);
    measure(
        "matmul Q8_0 m=4096, 16384x8192, v2, explicit rows",
        &explicit,
    )?;

    let shape = AttentionShape {
        n_heads: 32,
        n_kv_heads: 8,
        q_len: 1,
        kv_len: 131_066,
        head_dim: 128,
        causal: false,
        dtype: AttnDtype::F32,
        mode: AttnMode::Verifiable,
    };
    let task = attention_task(TaskScope::default(), shape, [0x5C; 32])?;
    let (receipt, opening) = cheat(&task, 1)?;
    let attn = TileProof::new(
        &task,
        &receipt,
        &opening,
        WeightsInput::None,
        None,
        String::new(),
    )?;
    measure(
        "attention 32/8 heads, d=128, q_len=1, kv_len=131066, f32",
        &attn,
    )?;
    Ok(())
}

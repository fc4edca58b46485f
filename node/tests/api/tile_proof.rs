//! Tile fraud proofs (hole 7 of the protocol-soundness issue, spec/receipts.md §8b): a cheating
//! miner on the largest matmul weights a task can name is convicted by recomputing one tile;
//! an honest miner cannot be framed; forged rows, paths and openings are refused with their
//! reason; version-1 proofs keep verifying.

use mycel_kernels::Backend;
use mycel_kernels::exec::{TaskOutput, execute, generate_weights, tile_root};
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tensor::Tensor;
use mycel_kernels::tile::rows_root;
use mycel_node::FraudError;
use mycel_node::fraud::{CheckOptions, WeightsSource};
use mycel_node::miner::{Claim, Miner, ReceiptFields};
use mycel_node::task::{
    AttentionShape, TaskScope, attention_task, execute_seeded, matmul_task, matmul_task_version,
    weights_seed,
};
use mycel_node::tile_proof::{
    AnyProof, Checked, TileProof, WeightsInput, check_json, first_differing_tile, open_tile,
    tile_leaf_hashes,
};
use mycel_node::validator::{Judgement, TileJudgement, Validator};
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::opening::{TileGrid, TileOpening};
use mycel_protocol::receipt::{BackendLabel, SignedReceipt};
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION_ROWS, TaskSpec};

fn miner() -> Miner {
    Miner::new(SigningKey::from_seed(&[2; 32]))
}

fn validator() -> Validator {
    Validator::new(SigningKey::from_seed(&[1; 32]), 1 << 31).unwrap()
}

fn fields() -> ReceiptFields {
    ReceiptFields {
        assigner: validator().hotkey(),
        nonce: 0,
        started_at_ms: 0,
        finished_at_ms: 1,
        backend: BackendLabel::new("cpu").unwrap(),
    }
}

/// A cheating miner's output: all zeros, of the task's output shape.
fn zeros(task: &TaskSpec) -> Tensor {
    let g = TileGrid::of_task(task);
    Tensor::from_f32(
        &[g.rows as usize, g.cols as usize],
        vec![0.0; (g.rows * g.cols) as usize],
    )
    .unwrap()
}

/// A receipt claiming `output` (its commitment and tile root) for `task`.
fn claim(task: &TaskSpec, output: &Tensor) -> SignedReceipt {
    let c = Claim {
        commitment: output.commitment().unwrap(),
        tile_root: tile_root(output).unwrap(),
    };
    miner().sign(task, c, fields()).unwrap()
}

/// The tile proof `v` makes of a mismatching opening (`why`: why it must mismatch).
fn mismatch(
    v: &Validator,
    task: &TaskSpec,
    receipt: &SignedReceipt,
    opening: &TileOpening,
    weights: WeightsInput<'_>,
    why: &str,
) -> Box<TileProof> {
    match v
        .judge_opening(task, receipt, opening, weights, Backend::Auto)
        .unwrap()
    {
        TileJudgement::Mismatch(proof) => proof,
        _ => panic!("{why}"),
    }
}

fn fraud_code(p: &TileProof) -> &'static str {
    p.check().unwrap_err().code()
}

/// The attack of hole 7: a 16384 x 8192 Q8_0 task (2^27 weight values, twice what a v1 proof
/// regenerates) with seeded weights, kernel version 2. The miner signs an all-zero output; the
/// validator challenges one tile and convicts it with a proof of one tile and 256 rows'
/// range proof; the proof file round-trips through JSON and `check_json`.
#[test]
fn a_cheating_miner_on_16384_x_8192_q8_0_weights_is_convicted_by_one_tile() {
    let seed = [0x17; 32];
    let task = matmul_task_version(
        TaskScope::default(),
        QuantFormat::Q8_0,
        [1, 16384, 8192],
        seed,
        KERNEL_VERSION_ROWS,
    )
    .unwrap();
    let fake = zeros(&task);
    let receipt = claim(&task, &fake);
    let tile = 37; // columns 9472..9728
    let opening = open_tile(&fake, tile).unwrap();
    let v = validator();
    let proof = mismatch(
        &v,
        &task,
        &receipt,
        &opening,
        WeightsInput::Seeded(weights_seed(&seed)),
        "the zero tile must be a mismatch",
    );
    let ok = proof.check().unwrap();
    assert_eq!(ok.tile, tile);
    assert_eq!(ok.rect.col0, 9472);
    let json = proof.to_json().unwrap();
    assert!(
        json.len() < 64 * 1024,
        "seeded proof is {} bytes",
        json.len()
    );
    assert!(matches!(
        check_json(&json, &CheckOptions::default()).unwrap(),
        Checked::Tile(_)
    ));
    // A v1 proof of the same task cannot regenerate these weights: the reason says so.
    let src = WeightsSource::new(&weights_seed(&seed), QuantFormat::Q8_0, 16384, 8192);
    let e = src.generate().unwrap_err();
    assert_eq!(e.code(), "fraud.weights_source");
    assert!(e.to_string().contains("mycel-fraud-proof/v2"), "{e}");

    // Forgeries, each refused for its own reason.
    let mut p = (*proof).clone();
    let w = p.weights.as_mut().unwrap();
    w.seed = Some(hex::encode([0x99; 32]));
    assert_eq!(fraud_code(&p), "fraud.weights_root");
    let mut p = (*proof).clone();
    p.weights.as_mut().unwrap().proof.as_mut().unwrap().path[0].0[0] ^= 1;
    assert_eq!(fraud_code(&p), "fraud.weights_root");
    let mut p = (*proof).clone();
    p.weights.as_mut().unwrap().proof.as_mut().unwrap().start += 1;
    assert_eq!(fraud_code(&p), "fraud.weights_source");
    let mut p = (*proof).clone();
    p.weights = None;
    assert_eq!(fraud_code(&p), "fraud.weights_missing");
    // An opening the miner never committed to (another tile's bytes at this index).
    let mut forged = opening.clone();
    forged.tile[0] ^= 1;
    let mut p = (*proof).clone();
    p.opening = hex::encode(forged.encode().unwrap());
    assert_eq!(fraud_code(&p), "fraud.tile_opening");
    let mut p = (*proof).clone();
    p.opening = "00".into();
    assert_eq!(fraud_code(&p), "fraud.tile_opening");
    // The budget is per tile: 2·16·256·8192 = 2^26 units for this (one-row) tile.
    let e = proof
        .check_with(&CheckOptions {
            max_compute_units: 1 << 20,
        })
        .unwrap_err();
    assert_eq!(e.code(), "fraud.over_budget");
}

/// An honest miner opens a correct tile: the validator finds it matches, and a proof built
/// around it is refused with `fraud.tile_matches` (the miner is innocent).
#[test]
fn an_honest_miner_cannot_be_framed_by_a_tile_proof() {
    let seed = [0x21; 32];
    let task = matmul_task_version(
        TaskScope::default(),
        QuantFormat::Q4_0,
        [20, 600, 256],
        seed,
        KERNEL_VERSION_ROWS,
    )
    .unwrap();
    let out: TaskOutput = execute_seeded(&task, Backend::Auto, 1).unwrap();
    let receipt = miner().sign(&task, Claim::from(&out), fields()).unwrap();
    let v = validator();
    for tile in 0..TileGrid::of_task(&task).count() {
        let opening = miner().open_tile(&out, tile).unwrap();
        assert_eq!(
            v.judge_opening(
                &task,
                &receipt,
                &opening,
                WeightsInput::Seeded(weights_seed(&seed)),
                Backend::Scalar
            )
            .unwrap(),
            TileJudgement::Matches
        );
        let framed = TileProof::new(
            &task,
            &receipt,
            &opening,
            WeightsInput::Seeded(weights_seed(&seed)),
            None,
            "framed".into(),
        )
        .unwrap();
        let e = framed.check().unwrap_err();
        assert!(matches!(e, FraudError::TileMatches { index, .. } if index == tile));
        assert!(e.to_string().contains("innocent"), "{e}");
    }
    // The tile challenge: the validator's own output and the miner's delivered hashes agree.
    let hashes = tile_leaf_hashes(&out.output).unwrap();
    assert_eq!(
        first_differing_tile(&out.output, &hashes, &receipt).unwrap(),
        None
    );
}

/// Weights given as explicit rows (a subnet's real model): kernel version 2 carries only the
/// tile's rows; a forged row or a short row set is refused with its reason.
#[test]
fn explicit_weight_rows_prove_and_forged_rows_are_refused() {
    let (m, n, k) = (17u32, 700u32, 128u32);
    let w = generate_weights(&[0x33; 32], QuantFormat::Q8_0, n as usize, k as usize).unwrap();
    let mut task = matmul_task(TaskScope::default(), QuantFormat::Q8_0, m, n, k, [4; 32]).unwrap();
    task.kernel_version = KERNEL_VERSION_ROWS;
    task.weights_digest = rows_root(QuantFormat::Q8_0, &w, k as usize).unwrap();
    let honest = execute(&task, Some(&w), Backend::Auto, 1).unwrap();
    // The miner corrupts one element of its output (tile 4: rows 16.., columns 256..512).
    let mut values: Vec<f32> = bytemuck::cast_slice(honest.output.as_bytes()).to_vec();
    values[16 * 700 + 300] += 1.0;
    let fake = Tensor::from_f32(&[17, 700], values).unwrap();
    let receipt = claim(&task, &fake);
    let hashes = tile_leaf_hashes(&fake).unwrap();
    let bad = first_differing_tile(&honest.output, &hashes, &receipt)
        .unwrap()
        .unwrap();
    assert_eq!(bad, 4);
    // Hashes that do not build the signed root are refused.
    let mut wrong = hashes.clone();
    wrong[0] = Digest([0; 32]);
    assert!(first_differing_tile(&honest.output, &wrong, &receipt).is_err());
    let opening = open_tile(&fake, bad).unwrap();
    let proof = mismatch(
        &validator(),
        &task,
        &receipt,
        &opening,
        WeightsInput::Bytes(&w),
        "tile 4 differs",
    );
    let ok = proof.check().unwrap();
    assert_eq!((ok.rect.col0, ok.rect.col1), (256, 512));
    let rows = proof.weights.as_ref().unwrap().rows.clone().unwrap();
    assert_eq!(rows.len(), 2 * 256 * 4 * 34);
    // One flipped byte in the rows.
    let mut p = (*proof).clone();
    let mut bytes = hex::decode(&rows).unwrap();
    bytes[100] ^= 1;
    p.weights.as_mut().unwrap().rows = Some(hex::encode(&bytes));
    let e = p.check().unwrap_err();
    assert_eq!(e.code(), "fraud.weights_root");
    assert!(e.to_string().contains("merkle.root_mismatch"), "{e}");
    // A row short.
    let mut p = (*proof).clone();
    p.weights.as_mut().unwrap().rows = Some(hex::encode(&bytes[..bytes.len() - 136]));
    assert_eq!(p.check().unwrap_err().code(), "fraud.weights_source");
    // Both rows and seed.
    let mut p = (*proof).clone();
    p.weights.as_mut().unwrap().seed = Some(hex::encode([1; 32]));
    assert_eq!(p.check().unwrap_err().code(), "fraud.weights_source");
    // The opening of another tile with this tile's rows: the rows do not fit it.
    let mut p = (*proof).clone();
    p.opening = hex::encode(open_tile(&fake, 0).unwrap().encode().unwrap());
    let e = p.check().unwrap_err();
    assert_eq!(e.code(), "fraud.weights_source");
    assert!(e.to_string().contains("the tile needs rows 0..256"), "{e}");
    // A proof around an honest tile (0) of this receipt: the miner is innocent of it.
    let framed = TileProof::new(
        &task,
        &receipt,
        &open_tile(&fake, 0).unwrap(),
        WeightsInput::Bytes(&w),
        None,
        String::new(),
    )
    .unwrap();
    assert_eq!(framed.check().unwrap_err().code(), "fraud.tile_matches");
    // An opening that is not under the receipt's root: the validator says why.
    let foreign = open_tile(&honest.output, bad).unwrap();
    assert!(matches!(
        validator()
            .judge_opening(&task, &receipt, &foreign, WeightsInput::Bytes(&w), Backend::Auto)
            .unwrap(),
        TileJudgement::BadOpening(r) if r.contains("merkle.root_mismatch")
    ));
}

/// Kernel version 1: seeded weights are regenerated whole, row by row, for their SHA-256;
/// other weights cannot be shown to a third party (the validator says so).
#[test]
fn kernel_version_1_tiles_prove_with_seeded_weights_only() {
    let seed = [0x44; 32];
    let task = matmul_task(TaskScope::default(), QuantFormat::Q8_0, 3, 300, 64, seed).unwrap();
    let fake = zeros(&task);
    let receipt = claim(&task, &fake);
    let opening = open_tile(&fake, 1).unwrap();
    let v = validator();
    let proof = mismatch(
        &v,
        &task,
        &receipt,
        &opening,
        WeightsInput::Seeded(weights_seed(&seed)),
        "zeros differ",
    );
    proof.check().unwrap();
    let mut p = (*proof).clone();
    p.weights.as_mut().unwrap().seed = Some(hex::encode([0; 32]));
    assert_eq!(p.check().unwrap_err().code(), "fraud.weights_digest");
    let w = mycel_node::task::seeded_weights(&task).unwrap().unwrap();
    assert!(matches!(
        v.judge_opening(&task, &receipt, &opening, WeightsInput::Bytes(&w), Backend::Auto)
            .unwrap(),
        TileJudgement::MismatchUnprovable(r) if r.contains("kernel version 1")
    ));
}

/// Attention (verifiable) tiles prove without weights; Fast-mode tasks never do.
#[test]
fn attention_tiles_prove_and_fast_mode_is_refused() {
    let mut shape = AttentionShape {
        n_heads: 8,
        n_kv_heads: 2,
        q_len: 5,
        kv_len: 300,
        head_dim: 64,
        causal: true,
        dtype: AttnDtype::F16,
        mode: AttnMode::Verifiable,
    };
    let task = attention_task(TaskScope::default(), shape, [5; 32]).unwrap();
    let honest = execute(&task, None, Backend::Auto, 1).unwrap();
    let mut values: Vec<f32> = bytemuck::cast_slice(honest.output.as_bytes()).to_vec();
    values[39 * 64 + 7] = 0.5; // row 39: tile 2
    let fake = Tensor::from_f32(&[40, 64], values).unwrap();
    let receipt = claim(&task, &fake);
    let opening = open_tile(&fake, 2).unwrap();
    let proof = mismatch(
        &validator(),
        &task,
        &receipt,
        &opening,
        WeightsInput::None,
        "tile 2 differs",
    );
    proof.check().unwrap();
    let honest_opening = open_tile(&fake, 1).unwrap();
    assert_eq!(
        validator()
            .judge_opening(
                &task,
                &receipt,
                &honest_opening,
                WeightsInput::None,
                Backend::Scalar
            )
            .unwrap(),
        TileJudgement::Matches
    );
    shape.mode = AttnMode::Fast;
    let fast = attention_task(TaskScope::default(), shape, [5; 32]).unwrap();
    let receipt = claim(&fast, &fake);
    let p = TileProof::new(
        &fast,
        &receipt,
        &opening,
        WeightsInput::None,
        None,
        String::new(),
    )
    .unwrap();
    assert_eq!(p.check().unwrap_err(), FraudError::FastMode);
}

/// Version-1 proof files keep verifying through the reader of both versions, and an unknown
/// format is named.
#[test]
fn v1_proofs_still_verify_and_formats_are_named() {
    let seed = [0x55; 32];
    let task = matmul_task(TaskScope::default(), QuantFormat::Q8_0, 2, 64, 64, seed).unwrap();
    let fake = zeros(&task);
    let receipt = claim(&task, &fake);
    let v = validator();
    let batch = v
        .commit_batch(task.network, task.subnet, task.epoch, vec![receipt.clone()])
        .unwrap();
    let truth = execute_seeded(&task, Backend::Auto, 1).unwrap();
    let Judgement::Mismatch(verdict) = v
        .judge(batch.ids[0], &receipt, Claim::from(&truth))
        .unwrap()
    else {
        panic!("zeros are a mismatch");
    };
    let src = WeightsSource::new(&weights_seed(&seed), QuantFormat::Q8_0, 64, 64);
    let v1 = v
        .fraud_proof(&batch, 0, &task, &verdict, Some(src), String::new())
        .unwrap()
        .to_json()
        .unwrap();
    assert!(matches!(AnyProof::from_json(&v1).unwrap(), AnyProof::V1(_)));
    assert!(matches!(
        check_json(&v1, &CheckOptions::default()).unwrap(),
        Checked::Commitment(_)
    ));
    // A v1 proof (whole re-execution) of a kernel-version-2 task checks the row root.
    let task2 = matmul_task_version(
        TaskScope::default(),
        QuantFormat::Q8_0,
        [2, 64, 64],
        seed,
        KERNEL_VERSION_ROWS,
    )
    .unwrap();
    let receipt2 = claim(&task2, &fake);
    let batch2 = v
        .commit_batch(
            task2.network,
            task2.subnet,
            task2.epoch,
            vec![receipt2.clone()],
        )
        .unwrap();
    let truth2 = execute_seeded(&task2, Backend::Auto, 1).unwrap();
    assert_eq!(truth2.commitment, truth.commitment);
    let Judgement::Mismatch(verdict2) = v
        .judge(batch2.ids[0], &receipt2, Claim::from(&truth2))
        .unwrap()
    else {
        panic!("zeros are a mismatch");
    };
    let src = WeightsSource::new(&weights_seed(&seed), QuantFormat::Q8_0, 64, 64);
    let p2 = v
        .fraud_proof(&batch2, 0, &task2, &verdict2, Some(src), String::new())
        .unwrap();
    p2.check().unwrap();
    let other = v1.replace("mycel-fraud-proof/v1", "mycel-fraud-proof/v9");
    let e = check_json(&other, &CheckOptions::default()).unwrap_err();
    assert_eq!(e.code(), "fraud.format");
    assert!(e.to_string().contains("v9"), "{e}");
    assert_eq!(
        check_json("[1]", &CheckOptions::default())
            .unwrap_err()
            .code(),
        "fraud.not_a_proof"
    );
    // Each version's own reader names the other version's file by its format.
    let v2 = TileProof::new(
        &task,
        &receipt,
        &open_tile(&fake, 0).unwrap(),
        WeightsInput::Seeded(weights_seed(&seed)),
        None,
        String::new(),
    )
    .unwrap()
    .to_json()
    .unwrap();
    let e = mycel_node::FraudProof::from_json(&v2).unwrap_err();
    assert_eq!(e.code(), "fraud.format");
    assert!(e.to_string().contains("mycel-fraud-proof/v2"), "{e}");
    assert_eq!(
        TileProof::from_json(&v1).unwrap_err().code(),
        "fraud.format"
    );
    // An opening round-trips canonically.
    let o: TileOpening = open_tile(&fake, 0).unwrap();
    assert_eq!(TileOpening::decode(&o.encode().unwrap()).unwrap(), o);
}

//! Tile fraud proofs (`mycel-fraud-proof/v2`): a miner's signed receipt, one output tile it
//! opened under its signed `output_tile_root`, and the weight rows that tile needs; the
//! verifier recomputes that tile alone (spec/receipts.md §8b).
//!
//! A version-1 proof ([`crate::fraud::FraudProof`]) re-executes the whole task, so it only
//! works for tasks within the verifier's budget and whose whole weights it can regenerate. A
//! tile proof works for every valid task: its cost is one tile (at most 16 × 256 outputs), and
//! with kernel version 2 the weights digest is a Merkle root over the weight rows, so the proof
//! carries (or, for seeded weights, regenerates) only the tile's rows with one range proof.
//!
//! # File format (`mycel-fraud-proof/v2`, JSON)
//!
//! ```text
//! {
//!   "format":  "mycel-fraud-proof/v2",
//!   "task":    hex of the TaskSpec envelope,
//!   "receipt": hex of the signed WorkReceipt envelope,
//!   "opening": hex of the canonical TileOpening (protocol::opening): tile index, tile count,
//!              the tile's bytes, its audit path to the receipt's output_tile_root,
//!   "weights": null for attention; for matmul {"rows": hex of the tile's weight rows or null,
//!              "seed": 64 hex digits of the generator seed or null (exactly one of the two),
//!              "proof": the rows' range proof under the weights root (kernel version 2), or
//!              null (kernel version 1, seeded weights only)},
//!   "batch":   null, or the receipt's place in a committed receipt batch (as in v1),
//!   "note":    free text (ignored)
//! }
//! ```
//!
//! The proof **holds** when, in this order: the envelopes and the opening decode canonically;
//! the receipt's signature is valid and it belongs to the task; the task is bit-defined (not
//! Fast-mode attention); the batch proof (if any) holds; the opening fits the task's tile grid
//! and its path leads to the receipt's tile root (`fraud.tile_opening`); the tile's compute
//! units are within the budget; the weight rows are the committed ones (`fraud.weights_root`,
//! `fraud.weights_digest`, `fraud.weights_source`); and recomputing the tile gives other bytes
//! than the opened tile (`fraud.tile_matches` when they are equal: the miner is innocent).

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use mycel_kernels::Backend;
use mycel_kernels::exec::weight_format;
use mycel_kernels::quant::QuantFormat;
use mycel_kernels::tensor::Tensor;
use mycel_kernels::tile::{
    generate_weight_rows, generated_weights_digest, task_tile, tile_compute_units, tile_leaves,
};
use mycel_protocol::commit::{MerkleTree, RangeProof, leaf_hash, weight_row_leaf_hash};
use mycel_protocol::ids::Digest;
use mycel_protocol::opening::{TileGrid, TileOpening, TileRect};
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::task::{KernelParams, TaskSpec};
use mycel_protocol::wire::encode;
use serde::{Deserialize, Serialize};

use crate::error::FraudError;
use crate::fraud::{
    BatchMembership, CheckOptions, check_receipt, decode_receipt, decode_task, hex_field,
    refuse_fast_mode, with_code,
};
pub use crate::proof_file::format_of;

/// The `format` string of a tile fraud proof file.
pub const FORMAT_V2: &str = "mycel-fraud-proof/v2";
/// Largest tile proof file a host should read: the largest tile's weight rows (256 rows of
/// 65 536 Q8_0 values, 17.8 MB) as hex, plus room for the rest.
pub const MAX_FILE_LEN_V2: u64 = 40 * 1024 * 1024;

/// Where a tile proof's weight rows come from, and the proof that they are the committed rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofWeights {
    /// The tile's weight rows (bare GGML blocks, rows `col0..col1` of the tile), hex; `null`
    /// when `seed` regenerates them.
    pub rows: Option<String>,
    /// The generator seed of the task's weights (`mycel-kernels/generate_weights`), hex; `null`
    /// when `rows` carries them.
    pub seed: Option<String>,
    /// The rows' range proof under the task's weights root (kernel version 2); `null` for a
    /// kernel-version-1 task, whose seeded weights the verifier regenerates whole, row by row,
    /// to check their SHA-256.
    pub proof: Option<RangeProof>,
}

/// A tile fraud proof file (read by [`TileProof::from_json`], written by [`TileProof::to_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileProof {
    /// Always [`FORMAT_V2`].
    pub format: String,
    /// The TaskSpec envelope, hex.
    pub task: String,
    /// The signed receipt envelope, hex.
    pub receipt: String,
    /// The canonical tile opening, hex.
    pub opening: String,
    /// The weight rows of a matmul tile, or null.
    pub weights: Option<ProofWeights>,
    /// Where the receipt sits in a committed receipt batch, or null.
    #[serde(default)]
    pub batch: Option<BatchMembership>,
    /// Free text for people; not verified.
    #[serde(default)]
    pub note: String,
}

/// What a tile proof that holds establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileConfirmed {
    /// The task.
    pub task: TaskSpec,
    /// The receipt.
    pub receipt: SignedReceipt,
    /// The opened tile's index.
    pub tile: u64,
    /// Its place in the output.
    pub rect: TileRect,
    /// The leaf hash of the tile the miner committed.
    pub claimed_leaf: Digest,
    /// The leaf hash of the tile recomputation gives.
    pub recomputed_leaf: Digest,
    /// The committed batch root the receipt was shown to be under, if any.
    pub batch_root: Option<Digest>,
}

/// The weights a prover has at hand for a matmul task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WeightsInput<'a> {
    /// No weights (attention).
    None,
    /// Weights generated from this generator seed (`mycel-kernels/generate_weights`); a
    /// seeded task's is `task::weights_seed(input_seed)`.
    Seeded([u8; 32]),
    /// The whole weight matrix as bare GGML blocks.
    Bytes(&'a [u8]),
}

/// The opening of tile `index` of an output tensor: its bytes and its audit path under the
/// tensor's tile root. A miner answers a challenge with it.
///
/// # Errors
/// Kernel errors for a tensor without tiles; protocol errors for an index out of range.
pub fn open_tile(output: &Tensor, index: u64) -> crate::Result<TileOpening> {
    let leaves = tile_leaves(output)?;
    let tree = MerkleTree::from_leaf_data(&leaves);
    let proof = tree.proof(index)?;
    let tile = usize::try_from(index)
        .ok()
        .and_then(|i| leaves.get(i))
        .cloned()
        .ok_or_else(|| crate::Error::InvalidArgument(format!("tile {index} does not exist")))?;
    Ok(TileOpening {
        index,
        tile_count: proof.tree_size,
        tile,
        path: proof.path,
    })
}

/// The leaf hashes of an output's tiles (what a miner delivers so a validator finds the first
/// tile that differs, [`first_differing_tile`]).
///
/// # Errors
/// Kernel errors for a tensor without tiles.
pub fn tile_leaf_hashes(output: &Tensor) -> crate::Result<Vec<Digest>> {
    Ok(tile_leaves(output)?.iter().map(|l| leaf_hash(l)).collect())
}

/// The first tile whose leaf hash differs between the validator's own output and the leaf
/// hashes a miner delivered, after checking that those hashes build the receipt's tile root.
/// `None` when every tile is the same.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] when the delivered hashes do not build the receipt's tile
/// root or have another count than the output has tiles (the receipt is then a mismatch that
/// no third party can be shown).
pub fn first_differing_tile(
    own: &Tensor,
    delivered: &[Digest],
    receipt: &SignedReceipt,
) -> crate::Result<Option<u64>> {
    let mine = tile_leaf_hashes(own)?;
    if delivered.len() != mine.len() {
        return Err(crate::Error::InvalidArgument(format!(
            "the miner delivered {} tile hashes, the output has {} tiles",
            delivered.len(),
            mine.len()
        )));
    }
    if MerkleTree::from_leaf_hashes(delivered.to_vec()).root() != receipt.body.output_tile_root {
        return Err(crate::Error::InvalidArgument(
            "the delivered tile hashes do not build the receipt's tile root".into(),
        ));
    }
    Ok(mine
        .iter()
        .zip(delivered)
        .position(|(a, b)| a != b)
        .map(|i| i as u64))
}

fn to_usize(x: u64) -> Result<usize, FraudError> {
    usize::try_from(x).map_err(|_| FraudError::Execution("index does not fit this host".into()))
}

/// The format and `[n, k]` of a matmul task.
fn matmul_shape(task: &TaskSpec) -> Option<(QuantFormat, usize, usize)> {
    match (weight_format(task.kernel), task.params) {
        (Some(f), KernelParams::Matmul { n, k, .. }) => Some((f, n as usize, k as usize)),
        _ => None,
    }
}

/// The [`ProofWeights`] for tile `rect` of a matmul task from the weights at hand (`None` for
/// attention). For kernel version 2 this builds the tree over every row (regenerating seeded
/// weights row by row) for the range proof.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] for weights that do not fit the task (wrong length, no
/// weights for matmul, explicit rows for a kernel-version-1 task); kernel errors.
pub fn proof_weights(
    task: &TaskSpec,
    rect: &TileRect,
    input: WeightsInput<'_>,
) -> crate::Result<Option<ProofWeights>> {
    let Some((format, n, k)) = matmul_shape(task) else {
        return Ok(None);
    };
    let row = format.matrix_bytes(1, k)?;
    let (c0, c1) = (
        usize::try_from(rect.col0).unwrap_or(usize::MAX),
        usize::try_from(rect.col1).unwrap_or(usize::MAX),
    );
    let leaves: Vec<Digest> = match input {
        WeightsInput::None => {
            return Err(crate::Error::InvalidArgument(
                "a matmul tile proof needs the task's weights".into(),
            ));
        }
        _ if !task.weights_by_rows() => match input {
            WeightsInput::Seeded(seed) => {
                return Ok(Some(ProofWeights {
                    rows: None,
                    seed: Some(hex::encode(seed)),
                    proof: None,
                }));
            }
            _ => {
                return Err(crate::Error::InvalidArgument(
                    "kernel version 1 commits the weights by one SHA-256 over the whole matrix: a tile proof can only regenerate seeded weights (issue kernel-version-2 tasks for other weights)"
                        .into(),
                ));
            }
        },
        WeightsInput::Seeded(seed) => {
            let mut leaves = Vec::with_capacity(n);
            let step = (1usize << 20).checked_div(k).unwrap_or(1).max(1);
            let mut r = 0;
            while r < n {
                let r1 = r.saturating_add(step).min(n);
                let bytes = generate_weight_rows(&seed, format, k, r, r1)?;
                leaves.extend(bytes.chunks(row).map(weight_row_leaf_hash));
                r = r1;
            }
            leaves
        }
        WeightsInput::Bytes(bytes) => {
            if Some(bytes.len()) != n.checked_mul(row) {
                return Err(crate::Error::InvalidArgument(format!(
                    "weights: {} bytes, the task's [{n}, {k}] {} matrix has {}",
                    bytes.len(),
                    format.name(),
                    n.saturating_mul(row)
                )));
            }
            bytes.chunks(row).map(weight_row_leaf_hash).collect()
        }
    };
    let range = MerkleTree::from_leaf_hashes(leaves).range_proof(rect.col0, rect.col1)?;
    Ok(Some(match input {
        WeightsInput::Bytes(bytes) => ProofWeights {
            rows: Some(hex::encode(
                bytes
                    .get(c0.saturating_mul(row)..c1.saturating_mul(row))
                    .unwrap_or_default(),
            )),
            seed: None,
            proof: Some(range),
        },
        WeightsInput::Seeded(seed) => ProofWeights {
            rows: None,
            seed: Some(hex::encode(seed)),
            proof: Some(range),
        },
        WeightsInput::None => return Ok(None),
    }))
}

impl TileProof {
    /// Builds a proof from its parts (it is not checked: [`TileProof::check`] does that).
    ///
    /// # Errors
    /// As [`proof_weights`]; protocol errors encoding the parts.
    pub fn new(
        task: &TaskSpec,
        receipt: &SignedReceipt,
        opening: &TileOpening,
        weights: WeightsInput<'_>,
        batch: Option<BatchMembership>,
        note: String,
    ) -> crate::Result<Self> {
        let rect = TileGrid::of_task(task)
            .tile(opening.index)
            .map_err(|e| crate::Error::Protocol(mycel_protocol::Error::from(e)))?;
        Ok(Self {
            format: FORMAT_V2.into(),
            task: hex::encode(task.encode()?),
            receipt: hex::encode(encode(receipt)?),
            opening: hex::encode(opening.encode()?),
            weights: proof_weights(task, &rect, weights)?,
            batch,
            note,
        })
    }

    /// Parses a proof file's text (the reader of both versions: [`crate::proof_file`]).
    ///
    /// # Errors
    /// [`FraudError::TooLarge`] over [`crate::proof_file::MAX_PROOF_LEN`] bytes,
    /// [`FraudError::NotAProof`] or
    /// [`FraudError::Field`] for text that is not a proof file, [`FraudError::Format`] for
    /// another version's.
    pub fn from_json(text: &str) -> Result<Self, FraudError> {
        crate::proof_file::read(text, FORMAT_V2)
    }

    /// The proof as pretty-printed JSON, ending in a newline.
    ///
    /// # Errors
    /// [`crate::Error::Json`] (not expected).
    pub fn to_json(&self) -> crate::Result<String> {
        crate::proof_file::to_json(self)
    }

    /// Checks every rule of the module docs with the default options.
    ///
    /// # Errors
    /// The [`FraudError`] of the first rule that fails.
    pub fn check(&self) -> Result<TileConfirmed, FraudError> {
        self.check_with(&CheckOptions::default())
    }

    /// Checks every rule of the module docs, in order; the budget bounds the tile's compute
    /// units (plus, for a kernel-version-1 seeded task, the `n·k` weights regenerated).
    ///
    /// # Errors
    /// The [`FraudError`] of the first rule that fails.
    pub fn check_with(&self, options: &CheckOptions) -> Result<TileConfirmed, FraudError> {
        let task = decode_task(&self.task)?;
        let receipt = decode_receipt(&self.receipt)?;
        let opening = TileOpening::decode(&hex_field("opening", &self.opening)?)
            .map_err(|e| FraudError::TileOpening(with_code(&e)))?;
        check_receipt(&receipt, &task)?;
        refuse_fast_mode(&task)?;
        if let Some(b) = &self.batch {
            b.check(&receipt)?;
        }
        let rect = opening
            .verify(&TileGrid::of_task(&task), &receipt.body.output_tile_root)
            .map_err(|e| FraudError::TileOpening(with_code(&e)))?;
        let mut units = tile_compute_units(&task, &rect);
        if let (Some((_, n, k)), false) = (matmul_shape(&task), task.weights_by_rows()) {
            units = units.saturating_add((n as u64).saturating_mul(k as u64));
        }
        if units > options.max_compute_units {
            return Err(FraudError::OverBudget {
                units,
                budget: options.max_compute_units,
            });
        }
        let rows = self.weight_rows(&task, &rect)?;
        let tile = task_tile(&task, &rect, rows.as_deref(), Backend::Auto)
            .map_err(|e| FraudError::Execution(format!("{e} ({})", e.code())))?;
        let (claimed_leaf, recomputed_leaf) = (leaf_hash(&opening.tile), leaf_hash(&tile));
        if tile == opening.tile {
            return Err(FraudError::TileMatches {
                index: opening.index,
                leaf: recomputed_leaf.to_string(),
            });
        }
        Ok(TileConfirmed {
            task,
            receipt,
            tile: opening.index,
            rect,
            claimed_leaf,
            recomputed_leaf,
            batch_root: self.batch.as_ref().map(|b| b.root),
        })
    }

    /// The tile's weight rows, checked against the task's weights commitment (`None` for
    /// attention).
    fn weight_rows(&self, task: &TaskSpec, rect: &TileRect) -> Result<Option<Vec<u8>>, FraudError> {
        let bad = |field: &'static str, reason: String| FraudError::WeightsSource { field, reason };
        let Some((format, n, k)) = matmul_shape(task) else {
            return match self.weights {
                None => Ok(None),
                Some(_) => Err(bad(
                    "weights",
                    "an attention task has no weights: expected null".into(),
                )),
            };
        };
        let w = self.weights.as_ref().ok_or(FraudError::WeightsMissing)?;
        let seed: Option<[u8; 32]> = match &w.seed {
            None => None,
            Some(s) => Some(
                hex::decode(s)
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or_else(|| bad("seed", "expected 64 hex digits".into()))?,
            ),
        };
        let (c0, c1) = (to_usize(rect.col0)?, to_usize(rect.col1)?);
        let gen_err = |e: mycel_kernels::Error| bad("seed", format!("{e} ({})", e.code()));
        if !task.weights_by_rows() {
            // Kernel version 1: one SHA-256 over the whole matrix; only seeded weights can be
            // checked without carrying the whole matrix.
            let Some(seed) = seed else {
                return Err(bad(
                    "rows",
                    "kernel version 1 commits the weights by one SHA-256 over the whole matrix: explicit rows cannot be checked (seeded weights only; use kernel version 2)".into(),
                ));
            };
            if w.rows.is_some() || w.proof.is_some() {
                return Err(bad(
                    "rows",
                    "a kernel-version-1 proof carries only the seed".into(),
                ));
            }
            let d = generated_weights_digest(&seed, format, n, k, false).map_err(gen_err)?;
            if d != task.weights_digest {
                return Err(FraudError::WeightsDigest {
                    expected: task.weights_digest.to_string(),
                    actual: d.to_string(),
                });
            }
            return generate_weight_rows(&seed, format, k, c0, c1)
                .map(Some)
                .map_err(gen_err);
        }
        let proof = w.proof.as_ref().ok_or_else(|| {
            bad(
                "proof",
                "a kernel-version-2 task needs the rows' range proof".into(),
            )
        })?;
        if (proof.start, proof.end, proof.tree_size) != (rect.col0, rect.col1, n as u64) {
            return Err(bad(
                "proof",
                format!(
                    "the range proof covers rows {}..{} of {}, the tile needs rows {}..{} of {n}",
                    proof.start, proof.end, proof.tree_size, rect.col0, rect.col1
                ),
            ));
        }
        let rows = match (&w.rows, seed) {
            (Some(h), None) => hex::decode(h).map_err(|_| FraudError::NotHex {
                field: "weights.rows",
            })?,
            (None, Some(seed)) => {
                generate_weight_rows(&seed, format, k, c0, c1).map_err(gen_err)?
            }
            _ => {
                return Err(bad(
                    "rows",
                    "exactly one of rows and seed must be given".into(),
                ));
            }
        };
        let row = format.matrix_bytes(1, k).map_err(gen_err)?;
        let want = c1.saturating_sub(c0).saturating_mul(row);
        if rows.len() != want {
            return Err(bad(
                "rows",
                format!(
                    "{} bytes, rows {c0}..{c1} of {} hold {want}",
                    rows.len(),
                    format.name()
                ),
            ));
        }
        let leaves: Vec<Digest> = rows.chunks(row).map(weight_row_leaf_hash).collect();
        proof
            .verify_leaf_hashes(&leaves, &task.weights_digest)
            .map_err(|e| FraudError::WeightsRoot(format!("{e} ({})", e.code())))?;
        Ok(Some(rows))
    }
}

/// A fraud proof file of either version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnyProof {
    /// `mycel-fraud-proof/v1`: the whole task re-executed.
    V1(crate::fraud::FraudProof),
    /// `mycel-fraud-proof/v2`: one tile recomputed.
    V2(TileProof),
}

/// What a proof of either version establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checked {
    /// A v1 proof holds.
    Commitment(crate::fraud::Confirmed),
    /// A v2 tile proof holds.
    Tile(TileConfirmed),
}

impl AnyProof {
    /// Parses a proof file of either version by its `format` field.
    ///
    /// # Errors
    /// [`FraudError::TooLarge`] over [`crate::proof_file::MAX_PROOF_LEN`] bytes;
    /// [`FraudError::NotAProof`] for text that is not a JSON object with
    /// a `format` string; [`FraudError::Format`] for another format; [`FraudError::Field`] for
    /// a field the version does not define or cannot read.
    pub fn from_json(text: &str) -> Result<Self, FraudError> {
        let format = format_of(text)?;
        match format.as_str() {
            crate::fraud::FORMAT => crate::fraud::FraudProof::from_json(text).map(Self::V1),
            FORMAT_V2 => TileProof::from_json(text).map(Self::V2),
            _ => Err(FraudError::Format {
                expected: "mycel-fraud-proof/v1 or mycel-fraud-proof/v2",
                found: format,
            }),
        }
    }

    /// Checks the proof by its version's rules.
    ///
    /// # Errors
    /// The [`FraudError`] of the first rule that fails.
    pub fn check_with(&self, options: &CheckOptions) -> Result<Checked, FraudError> {
        match self {
            Self::V1(p) => p.check_with(options).map(Checked::Commitment),
            Self::V2(p) => p.check_with(options).map(Checked::Tile),
        }
    }
}

/// Parses and checks a proof file's text of either version.
///
/// # Errors
/// As [`AnyProof::from_json`] and [`AnyProof::check_with`].
pub fn check_json(text: &str, options: &CheckOptions) -> Result<Checked, FraudError> {
    AnyProof::from_json(text)?.check_with(options)
}

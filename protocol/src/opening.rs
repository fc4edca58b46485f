//! Tile openings: one output tile of a receipt, shown with its Merkle path to the receipt's
//! `output_tile_root` (spec/receipts.md §8b).
//!
//! Every task's output is an f32 tensor viewed as 2-D `[R, C]` and cut into tiles of
//! [`TILE_ROWS`] × [`TILE_COLS`] elements ([`TileGrid`]); the receipt's tile root is the RFC 6962
//! root over the tiles' little-endian bytes. A [`TileOpening`] is what a miner sends when a
//! validator challenges one tile, and what a tile fraud proof carries: the tile's bytes and its
//! inclusion proof. Whoever holds it can check it against the signed root
//! ([`TileOpening::verify`]) and recompute that tile alone.
//!
//! The encoding is canonical postcard (spec/wire.md rules, no envelope header): [`TileOpening::decode`]
//! refuses more than [`MAX_OPENING_LEN`] bytes before decoding, trailing bytes and non-minimal
//! encodings.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::commit::InclusionProof;
use crate::error::{DecodeError, EncodeError, OpeningError, Result};
use crate::ids::Digest;
use crate::task::{KernelParams, TaskSpec};

/// Rows of one output tile.
pub const TILE_ROWS: u64 = 16;
/// Columns of one output tile.
pub const TILE_COLS: u64 = 256;
/// Bytes of one output element (every task's output is f32).
pub const OUTPUT_ELEM_BYTES: u64 = 4;
/// The largest tile, in bytes: 16 × 256 f32 values.
pub const MAX_TILE_BYTES: u64 = TILE_ROWS * TILE_COLS * OUTPUT_ELEM_BYTES;
/// Bound on an encoded opening: the largest tile, a 64-hash path and the integers.
pub const MAX_OPENING_LEN: usize = (MAX_TILE_BYTES as usize) + 64 * 32 + 64;

/// The tile grid of an output viewed as 2-D `[rows, cols]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileGrid {
    /// Output rows `R` (the product of every dimension but the last).
    pub rows: u64,
    /// Output columns `C` (the last dimension).
    pub cols: u64,
}

/// One tile's place in the output: rows `row0..row1`, columns `col0..col1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileRect {
    /// First row.
    pub row0: u64,
    /// One past the last row.
    pub row1: u64,
    /// First column.
    pub col0: u64,
    /// One past the last column.
    pub col1: u64,
}

impl TileRect {
    /// Rows in the tile.
    pub fn rows(&self) -> u64 {
        self.row1.saturating_sub(self.row0)
    }

    /// Columns in the tile.
    pub fn cols(&self) -> u64 {
        self.col1.saturating_sub(self.col0)
    }

    /// Elements in the tile.
    pub fn elems(&self) -> u64 {
        self.rows().saturating_mul(self.cols())
    }

    /// The tile's byte length (f32 elements).
    pub fn byte_len(&self) -> u64 {
        self.elems().saturating_mul(OUTPUT_ELEM_BYTES)
    }
}

impl TileGrid {
    /// The grid of a task's output: matmul `[m, n]`, attention `[n_heads·q_len, head_dim]`.
    pub fn of_task(task: &TaskSpec) -> Self {
        match task.params {
            KernelParams::Matmul { m, n, .. } => Self {
                rows: u64::from(m),
                cols: u64::from(n),
            },
            KernelParams::Attention {
                n_heads,
                q_len,
                head_dim,
                ..
            } => Self {
                rows: u64::from(n_heads).saturating_mul(u64::from(q_len)),
                cols: u64::from(head_dim),
            },
        }
    }

    /// Tile rows of the grid (`⌈R / 16⌉`).
    pub fn tile_rows(&self) -> u64 {
        self.rows.div_ceil(TILE_ROWS)
    }

    /// Tile columns of the grid (`⌈C / 256⌉`).
    pub fn tile_cols(&self) -> u64 {
        self.cols.div_ceil(TILE_COLS)
    }

    /// Number of tiles (leaves of the tile tree).
    pub fn count(&self) -> u64 {
        self.tile_rows().saturating_mul(self.tile_cols())
    }

    /// Where tile `index` lies (row-major over the grid; edge tiles are smaller).
    pub fn tile(&self, index: u64) -> core::result::Result<TileRect, OpeningError> {
        let count = self.count();
        let tc = self.tile_cols();
        if index >= count || tc == 0 {
            return Err(OpeningError::TileIndex { index, count });
        }
        let (r, c) = (index / tc, index % tc);
        let row0 = r.saturating_mul(TILE_ROWS);
        let col0 = c.saturating_mul(TILE_COLS);
        Ok(TileRect {
            row0,
            row1: row0.saturating_add(TILE_ROWS).min(self.rows),
            col0,
            col1: col0.saturating_add(TILE_COLS).min(self.cols),
        })
    }
}

/// One output tile and its inclusion proof under a receipt's `output_tile_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileOpening {
    /// The tile's index in the grid (row-major).
    pub index: u64,
    /// The number of tiles (the tree size).
    pub tile_count: u64,
    /// The tile's elements, row by row, as little-endian f32 bytes.
    pub tile: Vec<u8>,
    /// The audit path from the tile's leaf to the root (RFC 6962).
    pub path: Vec<Digest>,
}

impl TileOpening {
    /// The canonical encoding (postcard, no header).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let bytes = postcard::to_allocvec(self).map_err(|_| EncodeError::Serializer)?;
        if bytes.len() > MAX_OPENING_LEN {
            return Err(EncodeError::TooLarge {
                len: bytes.len(),
                max: MAX_OPENING_LEN,
            }
            .into());
        }
        Ok(bytes)
    }

    /// Decodes a canonical encoding: at most [`MAX_OPENING_LEN`] bytes (checked first), no
    /// trailing bytes, and the bytes must be exactly what [`TileOpening::encode`] writes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_OPENING_LEN {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_OPENING_LEN,
            }
            .into());
        }
        let (o, rest) = postcard::take_from_bytes::<Self>(bytes).map_err(|e| match e {
            postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
            _ => DecodeError::Malformed,
        })?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes.into());
        }
        if postcard::to_allocvec(&o).map_err(|_| DecodeError::Malformed)? != bytes {
            return Err(DecodeError::NonCanonical.into());
        }
        Ok(o)
    }

    /// The tile's inclusion proof.
    pub fn inclusion(&self) -> InclusionProof {
        InclusionProof {
            index: self.index,
            tree_size: self.tile_count,
            path: self.path.clone(),
        }
    }

    /// Where the tile lies in `grid`, after checking that the opening fits it: the tile count
    /// is the grid's, the index is within it and the tile has the byte length of that place.
    pub fn rect(&self, grid: &TileGrid) -> Result<TileRect> {
        if self.tile_count != grid.count() {
            return Err(OpeningError::TileCount {
                expected: grid.count(),
                found: self.tile_count,
            }
            .into());
        }
        let rect = grid.tile(self.index)?;
        if self.tile.len() as u64 != rect.byte_len() {
            return Err(OpeningError::TileLength {
                expected: rect.byte_len(),
                found: self.tile.len() as u64,
            }
            .into());
        }
        Ok(rect)
    }

    /// Checks the opening against a task's output grid and a signed tile root: [`Self::rect`],
    /// then the inclusion proof of the tile's bytes under `root`. Returns the tile's place.
    pub fn verify(&self, grid: &TileGrid, root: &Digest) -> Result<TileRect> {
        let rect = self.rect(grid)?;
        self.inclusion().verify(&self.tile, root)?;
        Ok(rect)
    }
}

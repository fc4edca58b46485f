//! Merkle range proofs, weight-row leaves and tile openings (spec/commitments.md §2a,
//! spec/receipts.md §8b).

use mycel_protocol::Error;
use mycel_protocol::commit::{
    MerkleTree, RangeProof, leaf_hash, merkle_root, node_hash, weight_row_leaf_hash, weights_root,
};
use mycel_protocol::error::{DecodeError, MerkleError, OpeningError};
use mycel_protocol::ids::Digest;
use mycel_protocol::opening::{TileGrid, TileOpening, TileRect};
use mycel_protocol::task::{KernelParams, TaskSpec};
use sha2::{Digest as _, Sha256};

use crate::common::matmul_task;

fn leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i as u8; 1 + i % 5]).collect()
}

/// The naive RFC 6962 root over leaf hashes (recursion on the definition).
fn naive_root(h: &[Digest]) -> Digest {
    if h.len() == 1 {
        return h[0];
    }
    let mut k = 1;
    while k * 2 < h.len() {
        k *= 2;
    }
    node_hash(&naive_root(&h[..k]), &naive_root(&h[k..]))
}

#[test]
fn range_proofs_verify_for_every_range_of_small_trees() {
    for n in 1..=20usize {
        let data = leaves(n);
        let tree = MerkleTree::from_leaf_data(&data);
        let root = merkle_root(&data);
        let hashes: Vec<Digest> = data.iter().map(|d| leaf_hash(d)).collect();
        assert_eq!(naive_root(&hashes), root);
        for a in 0..n {
            for b in a + 1..=n {
                let p = tree.range_proof(a as u64, b as u64).unwrap();
                assert_eq!(p.len(), (b - a) as u64);
                p.verify_leaf_hashes(&hashes[a..b], &root).unwrap();
                // The whole tree needs no path; one leaf needs at most the audit path's length.
                if a == 0 && b == n {
                    assert!(p.path.is_empty());
                }
                if b == a + 1 {
                    assert_eq!(p.path.len(), tree.proof(a as u64).unwrap().path.len());
                }
                // Any changed leaf or path element, a missing or extra leaf, a missing or extra
                // path element, a shifted range: all rejected.
                let mut bad = hashes[a..b].to_vec();
                bad[0].0[0] ^= 1;
                assert_eq!(
                    p.verify_leaf_hashes(&bad, &root),
                    Err(Error::Merkle(MerkleError::RootMismatch))
                );
                for i in 0..p.path.len() {
                    let mut q = p.clone();
                    q.path[i].0[31] ^= 0x80;
                    assert!(q.verify_leaf_hashes(&hashes[a..b], &root).is_err());
                }
                assert_eq!(
                    p.verify_leaf_hashes(&hashes[a..b - 1], &root),
                    Err(Error::Merkle(MerkleError::LeafCount {
                        expected: (b - a) as u64,
                        found: (b - a - 1) as u64
                    }))
                );
                let mut longer = p.clone();
                longer.path.push(root);
                assert_eq!(
                    longer.verify_leaf_hashes(&hashes[a..b], &root),
                    Err(Error::Merkle(MerkleError::PathLength))
                );
                if let Some((_, shorter)) = p.path.split_last() {
                    let q = RangeProof {
                        path: shorter.to_vec(),
                        ..p.clone()
                    };
                    assert_eq!(
                        q.verify_leaf_hashes(&hashes[a..b], &root),
                        Err(Error::Merkle(MerkleError::PathLength))
                    );
                }
                if b < n {
                    let shifted = RangeProof {
                        start: p.start + 1,
                        end: p.end + 1,
                        ..p.clone()
                    };
                    assert!(shifted.verify_leaf_hashes(&hashes[a..b], &root).is_err());
                }
            }
        }
    }
}

#[test]
fn range_proof_bounds() {
    let tree = MerkleTree::from_leaf_data(leaves(5));
    for (a, b) in [(0, 0), (3, 2), (4, 6), (5, 6)] {
        assert_eq!(
            tree.range_proof(a, b),
            Err(Error::Merkle(MerkleError::RangeOutOfBounds {
                start: a,
                end: b,
                size: 5
            }))
        );
    }
    assert_eq!(
        MerkleTree::default().range_proof(0, 1),
        Err(Error::Merkle(MerkleError::EmptyTree))
    );
    let p = RangeProof {
        start: 0,
        end: 1,
        tree_size: 0,
        path: vec![],
    };
    assert_eq!(
        p.root_from_leaf_hashes(&[Digest([0; 32])]),
        Err(Error::Merkle(MerkleError::EmptyTree))
    );
    // A huge claimed tree with a tiny range needs only ~2 hashes per level: a short path is
    // refused without walking the tree.
    let p = RangeProof {
        start: 7,
        end: 8,
        tree_size: u64::MAX,
        path: vec![Digest([1; 32]); 3],
    };
    assert_eq!(
        p.root_from_leaf_hashes(&[Digest([0; 32])]),
        Err(Error::Merkle(MerkleError::PathLength))
    );
    assert_eq!(
        Error::Merkle(MerkleError::LeafCount {
            expected: 1,
            found: 0
        })
        .code(),
        "merkle.leaf_count"
    );
}

#[test]
fn weight_rows_have_their_own_leaf_domain() {
    let row = [7u8; 34];
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(b"mycel/v2/weight-row");
    h.update([0u8]);
    h.update(row);
    let expected = Digest(h.finalize().into());
    assert_eq!(weight_row_leaf_hash(&row), expected);
    assert_ne!(weight_row_leaf_hash(&row), leaf_hash(&row));
    let rows = [[1u8; 34], [2; 34], [3; 34]];
    let hashes: Vec<Digest> = rows.iter().map(|r| weight_row_leaf_hash(r)).collect();
    assert_eq!(weights_root(rows), naive_root(&hashes));
}

#[test]
fn tile_grid_of_tasks() {
    let t = TaskSpec {
        params: KernelParams::Matmul {
            m: 33,
            n: 600,
            k: 32,
        },
        ..matmul_task()
    };
    let g = TileGrid::of_task(&t);
    assert_eq!((g.rows, g.cols), (33, 600));
    assert_eq!((g.tile_rows(), g.tile_cols(), g.count()), (3, 3, 9));
    assert_eq!(
        g.tile(0).unwrap(),
        TileRect {
            row0: 0,
            row1: 16,
            col0: 0,
            col1: 256
        }
    );
    assert_eq!(
        g.tile(8).unwrap(),
        TileRect {
            row0: 32,
            row1: 33,
            col0: 512,
            col1: 600
        }
    );
    assert_eq!(g.tile(8).unwrap().byte_len(), 88 * 4);
    assert_eq!(
        g.tile(9),
        Err(OpeningError::TileIndex { index: 9, count: 9 })
    );
}

fn opening_of(values: &[f32], rows: usize, cols: usize, index: u64) -> (TileOpening, Digest) {
    // Tiles of 16 x 256, row-major over the grid, leaf = the tile's rows' LE bytes.
    let mut tiles = Vec::new();
    for tr in 0..rows.div_ceil(16) {
        for tc in 0..cols.div_ceil(256) {
            let mut leaf = Vec::new();
            for r in tr * 16..(tr * 16 + 16).min(rows) {
                for c in tc * 256..(tc * 256 + 256).min(cols) {
                    leaf.extend(values[r * cols + c].to_le_bytes());
                }
            }
            tiles.push(leaf);
        }
    }
    let tree = MerkleTree::from_leaf_data(&tiles);
    let proof = tree.proof(index).unwrap();
    (
        TileOpening {
            index,
            tile_count: tiles.len() as u64,
            tile: tiles[index as usize].clone(),
            path: proof.path,
        },
        tree.root(),
    )
}

#[test]
fn tile_openings_verify_and_encode_canonically() {
    let (rows, cols) = (33usize, 600usize);
    let values: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5).collect();
    let grid = TileGrid {
        rows: rows as u64,
        cols: cols as u64,
    };
    for index in 0..9 {
        let (o, root) = opening_of(&values, rows, cols, index);
        assert_eq!(o.verify(&grid, &root).unwrap(), grid.tile(index).unwrap());
        let bytes = o.encode().unwrap();
        assert_eq!(TileOpening::decode(&bytes).unwrap(), o);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            TileOpening::decode(&longer),
            Err(Error::Decode(DecodeError::TrailingBytes))
        );
        assert_eq!(
            TileOpening::decode(&bytes[..bytes.len() - 1]),
            Err(Error::Decode(DecodeError::Truncated))
        );
        // A changed element, a wrong count, a wrong length, another index: each its reason.
        let mut bad = o.clone();
        bad.tile[0] ^= 1;
        assert_eq!(
            bad.verify(&grid, &root),
            Err(Error::Merkle(MerkleError::RootMismatch))
        );
        let mut bad = o.clone();
        bad.tile_count += 1;
        assert_eq!(
            bad.verify(&grid, &root),
            Err(Error::Opening(OpeningError::TileCount {
                expected: 9,
                found: 10
            }))
        );
        let mut bad = o.clone();
        bad.tile.truncate(8);
        assert_eq!(
            bad.verify(&grid, &root).unwrap_err().code(),
            "opening.tile_length"
        );
        let mut bad = o.clone();
        bad.index = 9;
        assert_eq!(
            bad.verify(&grid, &root),
            Err(Error::Opening(OpeningError::TileIndex {
                index: 9,
                count: 9
            }))
        );
    }
    // A non-minimal varint for the index is not canonical.
    let (o, _) = opening_of(&values, rows, cols, 1);
    let bytes = o.encode().unwrap();
    assert_eq!(bytes[0], 1);
    let mut padded = vec![0x81, 0x00];
    padded.extend(&bytes[1..]);
    assert_eq!(
        TileOpening::decode(&padded),
        Err(Error::Decode(DecodeError::NonCanonical))
    );
    assert_eq!(
        TileOpening::decode(&vec![0; mycel_protocol::opening::MAX_OPENING_LEN + 1])
            .unwrap_err()
            .code(),
        "decode.too_large"
    );
}

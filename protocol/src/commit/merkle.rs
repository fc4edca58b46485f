//! Merkle trees with RFC 6962 domain separation (spec/commitments.md §Merkle tree).
//!
//! * leaf hash: `SHA-256(0x00 || data)`; node hash: `SHA-256(0x01 || left || right)`;
//! * a tree of n > 1 leaves splits at k, the largest power of two below n: the root is
//!   `node(MTH(D[0..k]), MTH(D[k..n]))` (RFC 6962 §2.1);
//! * the empty tree's root is `SHA-256("")` and it has no inclusion proofs;
//! * inclusion proofs are RFC 6962 audit paths (siblings from the leaf up), verified with the
//!   algorithm of RFC 9162 §2.1.3.2;
//! * range proofs ([`RangeProof`]) prove a contiguous run of leaves with one list of subtree
//!   hashes (spec/commitments.md §2a);
//! * weight rows of a kernel-version-2 task are leaves with their own domain tag
//!   ([`weight_row_leaf_hash`], [`weights_root`]).

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{MerkleError, Result};
use crate::ids::Digest;

/// Prefix of leaf hashes.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of interior node hashes.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Digest(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Digest(h.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Digest {
    Digest(Sha256::digest([]).into())
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root over leaf hashes (RFC 6962 MTH).
fn root_of(leaves: &[Digest]) -> Digest {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => match leaves.split_at_checked(split_point(leaves.len())) {
            Some((left, right)) => node_hash(&root_of(left), &root_of(right)),
            None => empty_root(),
        },
    }
}

/// The audit path of leaf `m` (RFC 6962 PATH), appended from the leaf up.
fn path_of(m: usize, leaves: &[Digest], out: &mut Vec<Digest>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if let Some((left, right)) = leaves.split_at_checked(k) {
        if m < k {
            path_of(m, left, out);
            out.push(root_of(right));
        } else {
            path_of(m - k, right, out);
            out.push(root_of(left));
        }
    }
}

/// A Merkle tree held as its leaf hashes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MerkleTree {
    leaves: Vec<Digest>,
}

impl MerkleTree {
    /// The tree over these leaf data (each hashed with [`leaf_hash`]).
    pub fn from_leaf_data<I, T>(data: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        Self {
            leaves: data.into_iter().map(|d| leaf_hash(d.as_ref())).collect(),
        }
    }

    /// The tree over already-computed leaf hashes.
    pub fn from_leaf_hashes(leaves: Vec<Digest>) -> Self {
        Self { leaves }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The leaf hashes.
    pub fn leaf_hashes(&self) -> &[Digest] {
        &self.leaves
    }

    /// The root.
    pub fn root(&self) -> Digest {
        root_of(&self.leaves)
    }

    /// The range proof of leaves `start..end` (spec/commitments.md §2a).
    pub fn range_proof(&self, start: u64, end: u64) -> Result<RangeProof> {
        let size = self.leaves.len() as u64;
        check_range(start, end, size)?;
        let (a, b) = (
            usize::try_from(start).map_err(|_| MerkleError::RangeOutOfBounds {
                start,
                end,
                size,
            })?,
            usize::try_from(end).map_err(|_| MerkleError::RangeOutOfBounds { start, end, size })?,
        );
        let mut path = Vec::new();
        range_path(0, &self.leaves, a, b, &mut path);
        Ok(RangeProof {
            start,
            end,
            tree_size: size,
            path,
        })
    }

    /// The inclusion proof of leaf `index`.
    pub fn proof(&self, index: u64) -> Result<InclusionProof> {
        let size = self.leaves.len() as u64;
        if size == 0 {
            return Err(MerkleError::EmptyTree.into());
        }
        let m = usize::try_from(index)
            .ok()
            .filter(|&m| m < self.leaves.len())
            .ok_or(MerkleError::IndexOutOfRange { index, size })?;
        let mut path = Vec::new();
        path_of(m, &self.leaves, &mut path);
        Ok(InclusionProof {
            index,
            tree_size: size,
            path,
        })
    }
}

/// The root over leaf data: `MerkleTree::from_leaf_data(data).root()`.
pub fn merkle_root<I, T>(data: I) -> Digest
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    MerkleTree::from_leaf_data(data).root()
}

/// An inclusion proof: leaf index, tree size and the audit path (siblings from the leaf up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the proven leaf.
    pub index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up to the root.
    pub path: Vec<Digest>,
}

impl InclusionProof {
    /// The root this proof yields for a leaf hash (RFC 9162 §2.1.3.2).
    pub fn root_from_leaf_hash(&self, leaf: &Digest) -> Result<Digest> {
        if self.tree_size == 0 {
            return Err(MerkleError::EmptyTree.into());
        }
        if self.index >= self.tree_size {
            return Err(MerkleError::IndexOutOfRange {
                index: self.index,
                size: self.tree_size,
            }
            .into());
        }
        let (mut f, mut s) = (self.index, self.tree_size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if s == 0 {
                return Err(MerkleError::PathLength.into());
            }
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        if s != 0 {
            return Err(MerkleError::PathLength.into());
        }
        Ok(r)
    }

    /// Checks that `leaf_data` is leaf `index` of the tree with `root`.
    pub fn verify(&self, leaf_data: &[u8], root: &Digest) -> Result<()> {
        self.verify_leaf_hash(&leaf_hash(leaf_data), root)
    }

    /// Checks that the leaf with hash `leaf` is leaf `index` of the tree with `root`.
    pub fn verify_leaf_hash(&self, leaf: &Digest, root: &Digest) -> Result<()> {
        if self.root_from_leaf_hash(leaf)? == *root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch.into())
        }
    }
}

/// Checks `start < end ≤ size`.
fn check_range(start: u64, end: u64, size: u64) -> Result<()> {
    if size == 0 {
        return Err(MerkleError::EmptyTree.into());
    }
    if start >= end || end > size {
        return Err(MerkleError::RangeOutOfBounds { start, end, size }.into());
    }
    Ok(())
}

/// Appends the range path of `a..b` within the subtree `leaves` (absolute offset `lo`): the
/// hash of every maximal subtree disjoint from the range, left to right (pre-order).
fn range_path(lo: usize, leaves: &[Digest], a: usize, b: usize, out: &mut Vec<Digest>) {
    let hi = lo.saturating_add(leaves.len());
    if hi <= a || lo >= b {
        out.push(root_of(leaves));
        return;
    }
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if let Some((left, right)) = leaves.split_at_checked(k) {
        range_path(lo, left, a, b, out);
        range_path(lo.saturating_add(k), right, a, b, out);
    }
}

/// A range proof: leaves `start..end` of a tree of `tree_size` leaves, and the hashes of the
/// maximal subtrees that hold no leaf of the range, in left-to-right order
/// (spec/commitments.md §2a).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeProof {
    /// First proven leaf.
    pub start: u64,
    /// One past the last proven leaf.
    pub end: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Hashes of the subtrees outside the range, left to right.
    pub path: Vec<Digest>,
}

/// The walk of [`RangeProof::root_from_leaf_hashes`]: the subtree `[lo, lo + size)`.
struct RangeWalk<'a> {
    a: u64,
    b: u64,
    leaves: core::slice::Iter<'a, Digest>,
    path: core::slice::Iter<'a, Digest>,
}

impl RangeWalk<'_> {
    fn root(&mut self, lo: u64, size: u64) -> Result<Digest> {
        let hi = lo.saturating_add(size);
        if hi <= self.a || lo >= self.b {
            return self
                .path
                .next()
                .copied()
                .ok_or_else(|| MerkleError::PathLength.into());
        }
        if size == 1 {
            return self.leaves.next().copied().ok_or_else(|| {
                MerkleError::LeafCount {
                    expected: self.b.saturating_sub(self.a),
                    found: 0,
                }
                .into()
            });
        }
        // The largest power of two strictly below `size` (≥ 2 here): 2^⌊log2(size − 1)⌋.
        let k = 1u64 << (63 - size.saturating_sub(1).leading_zeros());
        let left = self.root(lo, k)?;
        let right = self.root(lo.saturating_add(k), size.saturating_sub(k))?;
        Ok(node_hash(&left, &right))
    }
}

impl RangeProof {
    /// The number of leaves the proof covers (`end − start`).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the proof covers no leaf (never true of a valid proof).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The root this proof yields for the hashes of leaves `start..end`, in order. The leaf count
    /// must be `end − start` and the path must be used up exactly.
    pub fn root_from_leaf_hashes(&self, leaves: &[Digest]) -> Result<Digest> {
        check_range(self.start, self.end, self.tree_size)?;
        if leaves.len() as u64 != self.len() {
            return Err(MerkleError::LeafCount {
                expected: self.len(),
                found: leaves.len() as u64,
            }
            .into());
        }
        // A valid path has at most two hashes per level (64 levels for a u64 size).
        if self.path.len() > 128 {
            return Err(MerkleError::PathLength.into());
        }
        let mut walk = RangeWalk {
            a: self.start,
            b: self.end,
            leaves: leaves.iter(),
            path: self.path.iter(),
        };
        let root = walk.root(0, self.tree_size)?;
        if walk.path.next().is_some() {
            return Err(MerkleError::PathLength.into());
        }
        Ok(root)
    }

    /// Checks that `leaves` (leaf hashes) are leaves `start..end` of the tree with `root`.
    pub fn verify_leaf_hashes(&self, leaves: &[Digest], root: &Digest) -> Result<()> {
        if self.root_from_leaf_hashes(leaves)? == *root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch.into())
        }
    }
}

/// Domain tag of a weight-row leaf (kernel version 2, spec/commitments.md §2a).
pub const WEIGHT_ROW_TAG: &[u8] = b"mycel/v2/weight-row";

/// The leaf hash of one weight row (its bare GGML block bytes):
/// `SHA-256(0x00 || "mycel/v2/weight-row" || 0x00 || row)`.
pub fn weight_row_leaf_hash(row: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(WEIGHT_ROW_TAG);
    h.update([0u8]);
    h.update(row);
    Digest(h.finalize().into())
}

/// The weights root of a kernel-version-2 task: the Merkle root over the weight rows' leaf
/// hashes ([`weight_row_leaf_hash`]), row 0 first.
pub fn weights_root<I, T>(rows: I) -> Digest
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    MerkleTree::from_leaf_hashes(
        rows.into_iter()
            .map(|r| weight_row_leaf_hash(r.as_ref()))
            .collect(),
    )
    .root()
}

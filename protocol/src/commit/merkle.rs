//! Merkle trees with RFC 6962 domain separation (spec/commitments.md §Merkle tree).
//!
//! * leaf hash: `SHA-256(0x00 || data)`; node hash: `SHA-256(0x01 || left || right)`;
//! * a tree of n > 1 leaves splits at k, the largest power of two below n: the root is
//!   `node(MTH(D[0..k]), MTH(D[k..n]))` (RFC 6962 §2.1);
//! * the empty tree's root is `SHA-256("")` and it has no inclusion proofs;
//! * inclusion proofs are RFC 6962 audit paths (siblings from the leaf up), verified with the
//!   algorithm of RFC 9162 §2.1.3.2.

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

//! Commitments: tensor commitments and Merkle trees, all SHA-256 (spec/commitments.md).

pub mod merkle;
pub mod tensor;

pub use merkle::{
    InclusionProof, MerkleTree, RangeProof, WEIGHT_ROW_TAG, empty_root, leaf_hash, merkle_root,
    node_hash, weight_row_leaf_hash, weights_root,
};
pub use tensor::{TensorDtype, TensorHasher, tensor_byte_len, tensor_commitment};

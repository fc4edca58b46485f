//! Commitments: tensor commitments and Merkle trees, all SHA-256 (spec/commitments.md).

pub mod merkle;
pub mod tensor;

pub use merkle::{InclusionProof, MerkleTree, empty_root, leaf_hash, merkle_root, node_hash};
pub use tensor::{TensorDtype, TensorHasher, tensor_byte_len, tensor_commitment};

//! Tensor commitments and Merkle trees.

use mycel_protocol::Error;
use mycel_protocol::commit::{
    InclusionProof, MerkleTree, TensorDtype, TensorHasher, empty_root, leaf_hash, merkle_root,
    node_hash, tensor_commitment,
};
use mycel_protocol::error::{CommitError, MerkleError};
use mycel_protocol::ids::Digest;
use sha2::{Digest as _, Sha256};

/// Certificate Transparency reference tree (trillian `merkle/testonly`): these leaf inputs and
/// the RFC 6962 roots of their first 1..=8 leaves.
const CT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn certificate_transparency_roots() {
    let leaves: Vec<Vec<u8>> = CT_LEAVES.iter().map(|h| hex::decode(h).unwrap()).collect();
    for n in 1..=8 {
        assert_eq!(
            merkle_root(&leaves[..n]).to_string(),
            CT_ROOTS[n - 1],
            "size {n}"
        );
    }
}

#[test]
fn empty_tree_rule() {
    let root = merkle_root(Vec::<Vec<u8>>::new());
    assert_eq!(root, empty_root());
    assert_eq!(
        root.to_string(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        MerkleTree::default().proof(0),
        Err(Error::Merkle(MerkleError::EmptyTree))
    );
}

/// A second, deliberately naive implementation: hash pairs level by level, carrying an odd last
/// node up unchanged (equivalent to RFC 6962's split at the largest power of two).
fn naive_root(leaves: &[Vec<u8>]) -> Digest {
    let mut level: Vec<[u8; 32]> = leaves
        .iter()
        .map(|l| {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(l)
                .finalize()
                .into()
        })
        .collect();
    if level.is_empty() {
        return Digest(Sha256::digest([]).into());
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| match c {
                [a, b] => Sha256::new()
                    .chain_update([1u8])
                    .chain_update(a)
                    .chain_update(b)
                    .finalize()
                    .into(),
                [a] => *a,
                _ => unreachable!(),
            })
            .collect();
    }
    Digest(level[0])
}

#[test]
fn proofs_for_every_leaf_of_sizes_1_to_33() {
    for n in 1..=33usize {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| format!("leaf {i}").into_bytes()).collect();
        let tree = MerkleTree::from_leaf_data(&leaves);
        let root = tree.root();
        assert_eq!(root, naive_root(&leaves), "size {n}");
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = tree.proof(i as u64).unwrap();
            proof.verify(leaf, &root).unwrap();
            // Wrong leaf data.
            assert_eq!(
                proof.verify(b"other", &root),
                Err(Error::Merkle(MerkleError::RootMismatch))
            );
            // Each path element tampered.
            for j in 0..proof.path.len() {
                let mut bad = proof.clone();
                bad.path[j].0[0] ^= 1;
                assert_eq!(
                    bad.verify(leaf, &root),
                    Err(Error::Merkle(MerkleError::RootMismatch)),
                    "n {n} i {i} j {j}"
                );
            }
            // Path too long or too short.
            let mut long = proof.clone();
            long.path.push(Digest([0; 32]));
            assert!(long.verify(leaf, &root).is_err());
            if !proof.path.is_empty() {
                let mut short = proof.clone();
                short.path.pop();
                assert_eq!(
                    short.verify(leaf, &root),
                    Err(Error::Merkle(MerkleError::PathLength))
                );
            }
            // Another index or tree size.
            if n > 1 {
                let other = InclusionProof {
                    index: ((i + 1) % n) as u64,
                    ..proof.clone()
                };
                assert!(other.verify(leaf, &root).is_err());
            }
            // An index at or past the claimed size.
            let past = InclusionProof {
                index: n as u64,
                ..proof.clone()
            };
            assert_eq!(
                past.verify(leaf, &root),
                Err(Error::Merkle(MerkleError::IndexOutOfRange {
                    index: n as u64,
                    size: n as u64
                }))
            );
        }
        assert_eq!(
            tree.proof(n as u64),
            Err(Error::Merkle(MerkleError::IndexOutOfRange {
                index: n as u64,
                size: n as u64
            }))
        );
    }
}

#[test]
fn leaf_and_node_hashes_are_domain_separated() {
    let a = leaf_hash(b"x");
    assert_eq!(
        a.0,
        <[u8; 32]>::from(
            Sha256::new()
                .chain_update([0u8])
                .chain_update(b"x")
                .finalize()
        )
    );
    // A node is never a leaf: hashing the 64 bytes of two children as a leaf differs.
    let mut cat = a.0.to_vec();
    cat.extend_from_slice(&a.0);
    assert_ne!(node_hash(&a, &a), leaf_hash(&cat));
}

fn expected_commitment(code: u8, shape: &[u64], data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"mycel/v1/tensor\x00");
    h.update([code, shape.len() as u8]);
    for d in shape {
        h.update(d.to_le_bytes());
    }
    h.update(data);
    h.finalize().into()
}

#[test]
fn tensor_commitment_hashes_header_then_data() {
    let data: Vec<u8> = [1.0f32, -2.5, 3.25, 0.0, 7.0, 8.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let c = tensor_commitment(TensorDtype::F32, &[2, 3], &data).unwrap();
    assert_eq!(c.0, expected_commitment(0x01, &[2, 3], &data));
    // Same bytes, different shape or dtype: different commitment.
    assert_ne!(
        c,
        tensor_commitment(TensorDtype::F32, &[3, 2], &data).unwrap()
    );
    assert_ne!(
        c,
        tensor_commitment(TensorDtype::F16, &[2, 6], &data).unwrap()
    );
    // Incremental equals one-shot.
    let mut h = TensorHasher::new(TensorDtype::F32, &[2, 3]).unwrap();
    h.update(&data[..5]);
    h.update(&data[5..]);
    assert_eq!(h.finalize().unwrap(), c);
    // Quantized: 2 rows of one Q8_0 block (34 bytes) / Q4_0 block (18 bytes).
    assert!(tensor_commitment(TensorDtype::Q8_0, &[2, 32], &[0u8; 68]).is_ok());
    assert!(tensor_commitment(TensorDtype::Q4_0, &[2, 64], &[0u8; 72]).is_ok());
}

#[test]
fn tensor_commitment_rejects_bad_shapes() {
    let e = |r: Result<Digest, Error>| match r {
        Err(Error::Commit(e)) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        e(tensor_commitment(TensorDtype::F32, &[], &[])),
        CommitError::Rank(0)
    );
    assert_eq!(
        e(tensor_commitment(TensorDtype::F32, &[1; 9], &[0; 4])),
        CommitError::Rank(9)
    );
    assert_eq!(
        e(tensor_commitment(TensorDtype::F32, &[2, 0], &[])),
        CommitError::ZeroDimension
    );
    assert_eq!(
        e(tensor_commitment(TensorDtype::Q8_0, &[2, 33], &[0; 68])),
        CommitError::NotBlockAligned
    );
    assert_eq!(
        e(tensor_commitment(TensorDtype::F32, &[u64::MAX, 2], &[])),
        CommitError::SizeOverflow
    );
    assert_eq!(
        e(tensor_commitment(TensorDtype::F32, &[2, 3], &[0; 23])),
        CommitError::LengthMismatch {
            expected: 24,
            actual: 23
        }
    );
    let mut h = TensorHasher::new(TensorDtype::F16, &[4]).unwrap();
    h.update(&[0; 9]);
    assert_eq!(
        e(h.finalize()),
        CommitError::LengthMismatch {
            expected: 8,
            actual: 9
        }
    );
    assert_eq!(TensorDtype::from_code(0x10), Some(TensorDtype::Q8_0));
    assert_eq!(TensorDtype::from_code(0x04), None);
}

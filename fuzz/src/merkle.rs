//! Merkle inclusion proofs (spec/commitments.md): honest proofs verify; a proof changed in any
//! way (index, tree size, path, leaf) verifies only if it still names the same leaf with the
//! same audit path (anything else would be a SHA-256 collision); arbitrary proofs never panic.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use mycel_protocol::commit::merkle::{InclusionProof, MerkleTree, leaf_hash, node_hash};
use mycel_protocol::ids::Digest;

/// Root by the obvious level-by-level algorithm (an odd last node is carried up unchanged),
/// independent of the crate's recursive RFC 6962 split.
fn naive_root(leaves: &[Digest]) -> Option<Digest> {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| match c {
                [a, b] => node_hash(a, b),
                [a] => *a,
                _ => unreachable!("chunks(2)"),
            })
            .collect();
    }
    level.first().copied()
}

fn digest(u: &mut Unstructured<'_>) -> Result<Digest> {
    Ok(Digest(u.arbitrary()?))
}

/// One structured run; `Err` only when the input ran out.
pub fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // An arbitrary proof against an arbitrary root: a typed result, never a panic.
    if u.ratio(1u8, 4)? {
        let path_len = u.int_in_range(0usize..=80)?;
        let proof = InclusionProof {
            index: u.arbitrary()?,
            tree_size: u.arbitrary()?,
            path: (0..path_len).map(|_| digest(u)).collect::<Result<_>>()?,
        };
        let leaf = digest(u)?;
        let root = digest(u)?;
        // The fuzzer can learn the compared root (libFuzzer traces comparisons), so a verified
        // arbitrary proof is no bug; it must only agree with the root it computes.
        match (
            proof.root_from_leaf_hash(&leaf),
            proof.verify_leaf_hash(&leaf, &root),
        ) {
            (Ok(r), Ok(())) => assert_eq!(r, root),
            (Ok(r), Err(_)) => assert_ne!(r, root),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (Err(e), Ok(())) => panic!("verified although the root failed: {e}"),
        }
        return Ok(());
    }
    let n = u.int_in_range(1usize..=300)?;
    let salt: u64 = u.arbitrary()?;
    let data: Vec<[u8; 16]> = (0..n as u64)
        .map(|i| {
            let mut d = [0u8; 16];
            d[..8].copy_from_slice(&salt.to_le_bytes());
            d[8..].copy_from_slice(&i.to_le_bytes());
            d
        })
        .collect();
    let tree = MerkleTree::from_leaf_data(&data);
    let root = tree.root();
    assert_eq!(
        Some(root),
        naive_root(tree.leaf_hashes()),
        "root differs from the naive one"
    );
    let index = u.int_in_range(0..=n - 1)?;
    let proof = tree.proof(index as u64).expect("every leaf has a proof");
    proof
        .verify(&data[index], &root)
        .expect("honest proof verifies");
    assert!(tree.proof(n as u64).is_err());

    let mut bad = proof.clone();
    let mut leaf = data[index];
    for _ in 0..u.int_in_range(1u8..=3)? {
        match u.int_in_range(0u8..=7)? {
            0 => bad.index = u.arbitrary()?,
            1 => bad.tree_size = u.arbitrary()?,
            2 => bad.tree_size = bad.tree_size.wrapping_add(u.int_in_range(0u64..=8)?) ^ 1,
            3 => {
                if !bad.path.is_empty() {
                    let i = u.choose_index(bad.path.len())?;
                    let bit: u8 = u.int_in_range(0..=255)?;
                    bad.path[i].0[usize::from(bit / 8)] ^= 1 << (bit % 8);
                }
            }
            4 => {
                bad.path.pop();
            }
            5 => bad.path.push(digest(u)?),
            6 => {
                if bad.path.len() >= 2 {
                    let i = u.choose_index(bad.path.len())?;
                    let j = u.choose_index(bad.path.len())?;
                    bad.path.swap(i, j);
                }
            }
            _ => leaf = u.arbitrary()?,
        }
    }
    if bad.verify(&leaf, &root).is_ok() {
        assert_eq!(
            leaf_hash(&leaf),
            leaf_hash(&data[index]),
            "another leaf verified"
        );
        assert_eq!(bad.path, proof.path, "another audit path verified");
    }
    Ok(())
}

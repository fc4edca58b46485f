//! `merkle.json`: the RFC 6962 Merkle tree of spec/commitments.md: roots of trees of every
//! small size, inclusion proofs, and proofs that must fail.
//!
//! Operations: `root` `{leaves: [hex]}` → `{root}`; `proof` `{leaves, index}` →
//! `{index, treeSize, path}`; `verify` `{leaf, index, treeSize, path, root}` → `{}` or a
//! `merkle.*` code (leaf is leaf *data*, hashed with the 0x00 prefix).
#![allow(clippy::indexing_slicing)] // drafts index fixtures of fixed, known length

use mycel_protocol::commit::{InclusionProof, MerkleTree, leaf_hash, node_hash};
use mycel_protocol::ids::Digest;
use serde_json::{Value, json};

use crate::Result;
use crate::generate::{Draft, DraftGroup, Meta};
use crate::util::{Answer, array, byte_list, bytes, hx, stream_bytes, uint};

/// The file's header.
pub fn meta() -> Meta {
    Meta {
        spec: vec!["spec/commitments.md#2-merkle-tree"],
        header: vec![
            "RFC 6962 / 9162 Merkle trees with leaf prefix 0x00 and node prefix 0x01 over SHA-256; the empty tree's root is SHA-256 of the empty string.",
            "Operations: root {leaves} -> {root}; proof {leaves, index} -> {index, treeSize, path}; verify {leaf, index, treeSize, path, root} -> {} or merkle.* (leaf is the leaf data).",
        ],
        notes: vec![
            ("Valid", "A root, proof or verification that succeeds."),
            ("Empty", "The empty tree."),
            ("Unbalanced", "A tree size that is not a power of two."),
            (
                "BadProof",
                "A proof that must not verify: changed sibling, order, index, size, leaf or root.",
            ),
            (
                "PathLength",
                "An audit path of the wrong length for its index and tree size.",
            ),
            ("OutOfRange", "A leaf index not below the tree size."),
            (
                "SecondPreimage",
                "An interior node presented as leaf data: the 0x00/0x01 prefixes keep it from verifying.",
            ),
            (
                "SizeAmbiguity",
                "A proof that also verifies for another (index, tree size) with the same path: a verifier relying on the index must know the tree size.",
            ),
        ],
    }
}

fn leaves(n: usize, label: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| stream_bytes(&format!("{label} {i}"), 1 + (i * 7) % 40))
        .collect()
}

fn hexes(v: &[Vec<u8>]) -> Vec<Value> {
    v.iter().map(|b| hx(b)).collect()
}

fn vcase(leaf: &[u8], p: &InclusionProof, root: &Digest) -> Value {
    json!({
        "leaf": hx(leaf),
        "index": p.index,
        "treeSize": p.tree_size,
        "path": p.path.iter().map(|d| hx(&d.0)).collect::<Vec<_>>(),
        "root": hx(&root.0),
    })
}

/// Draft cases.
///
/// # Errors
/// Not expected.
#[allow(clippy::too_many_lines)]
pub fn drafts() -> Result<Vec<DraftGroup>> {
    let mut roots = Vec::new();
    for n in (0..=17).chain([31, 32, 33, 100]) {
        let l = leaves(n, "merkle leaf");
        let flags: &[&str] = match n {
            0 => &["Empty"],
            n if n.is_power_of_two() => &["Valid"],
            _ => &["Unbalanced"],
        };
        roots.push(Draft::valid(
            format!("{n} leaves"),
            flags,
            json!({"leaves": hexes(&l)}),
        ));
    }
    roots.push(Draft::valid(
        "one empty leaf (hash of the 0x00 prefix alone)",
        &["Valid"],
        json!({"leaves": [""]}),
    ));
    roots.push(Draft::valid(
        "two identical leaves",
        &["Valid"],
        json!({"leaves": ["ab", "ab"]}),
    ));

    let mut proofs = Vec::new();
    for (n, idx) in [
        (1usize, 0u64),
        (2, 1),
        (3, 2),
        (5, 4),
        (7, 3),
        (8, 0),
        (8, 7),
        (13, 12),
        (33, 32),
        (100, 64),
    ] {
        let l = leaves(n, "merkle leaf");
        let flags: &[&str] = if n.is_power_of_two() {
            &["Valid"]
        } else {
            &["Unbalanced"]
        };
        proofs.push(Draft::valid(
            format!("leaf {idx} of {n}"),
            flags,
            json!({"leaves": hexes(&l), "index": idx}),
        ));
    }
    proofs.push(Draft::invalid(
        "index 5 of 5 leaves",
        &["OutOfRange"],
        json!({"leaves": hexes(&leaves(5, "merkle leaf")), "index": 5}),
        "merkle.index_out_of_range",
    ));
    proofs.push(Draft::invalid(
        "a proof in the empty tree",
        &["Empty"],
        json!({"leaves": [], "index": 0}),
        "merkle.empty_tree",
    ));

    let mut verify = Vec::new();
    let l = leaves(13, "merkle leaf");
    let tree = MerkleTree::from_leaf_data(l.iter());
    let root = tree.root();
    for idx in [0u64, 5, 12] {
        let p = tree.proof(idx).map_err(super::fixtures::e)?;
        verify.push(Draft::valid(
            format!("leaf {idx} of 13"),
            &["Valid", "Unbalanced"],
            vcase(&l[idx as usize], &p, &root),
        ));
    }
    let p5 = tree.proof(5).map_err(super::fixtures::e)?;
    let mut bad = p5.clone();
    bad.path[1].0[0] ^= 1;
    verify.push(Draft::invalid(
        "one bit of a sibling flipped",
        &["BadProof"],
        vcase(&l[5], &bad, &root),
        "merkle.root_mismatch",
    ));
    let mut bad = p5.clone();
    bad.path.swap(0, 1);
    verify.push(Draft::invalid(
        "two siblings swapped",
        &["BadProof"],
        vcase(&l[5], &bad, &root),
        "merkle.root_mismatch",
    ));
    let mut bad = p5.clone();
    bad.index = 4;
    verify.push(Draft::invalid(
        "the proof of leaf 5 claimed for index 4",
        &["BadProof"],
        vcase(&l[5], &bad, &root),
        "merkle.root_mismatch",
    ));
    verify.push(Draft::invalid(
        "another leaf's data",
        &["BadProof"],
        vcase(&l[6], &p5, &root),
        "merkle.root_mismatch",
    ));
    verify.push(Draft::invalid(
        "another tree's root",
        &["BadProof"],
        vcase(
            &l[5],
            &p5,
            &MerkleTree::from_leaf_data(leaves(13, "other").iter()).root(),
        ),
        "merkle.root_mismatch",
    ));
    let mut bad = p5.clone();
    bad.path.push(root);
    verify.push(Draft::invalid(
        "one sibling too many",
        &["PathLength"],
        vcase(&l[5], &bad, &root),
        "merkle.path_length",
    ));
    let mut bad = p5.clone();
    bad.path.pop();
    verify.push(Draft::invalid(
        "one sibling missing",
        &["PathLength"],
        vcase(&l[5], &bad, &root),
        "merkle.path_length",
    ));
    let mut bad = p5.clone();
    bad.tree_size = 64;
    verify.push(Draft::invalid(
        "tree size 64 claimed for a 13-leaf proof",
        &["PathLength"],
        vcase(&l[5], &bad, &root),
        "merkle.path_length",
    ));
    let mut bad = p5.clone();
    bad.index = 13;
    verify.push(Draft::invalid(
        "index 13 in a tree of 13",
        &["OutOfRange"],
        vcase(&l[5], &bad, &root),
        "merkle.index_out_of_range",
    ));
    let mut bad = p5.clone();
    bad.tree_size = 0;
    bad.index = 0;
    verify.push(Draft::invalid(
        "tree size 0",
        &["Empty"],
        vcase(&l[5], &bad, &root),
        "merkle.empty_tree",
    ));
    // An interior node as leaf data: node_hash(leaf0, leaf1) presented as a leaf of a 2-leaf
    // tree's parent level.
    let l4 = leaves(4, "merkle leaf");
    let t4 = MerkleTree::from_leaf_data(l4.iter());
    let left = node_hash(&leaf_hash(&l4[0]), &leaf_hash(&l4[1]));
    let right = node_hash(&leaf_hash(&l4[2]), &leaf_hash(&l4[3]));
    let mut interior = left.0.to_vec();
    interior.extend_from_slice(&right.0);
    let fake = InclusionProof {
        index: 0,
        tree_size: 1,
        path: vec![],
    };
    verify.push(Draft::invalid(
        "the root's two children concatenated as the data of a one-leaf tree",
        &["SecondPreimage"],
        vcase(&interior, &fake, &t4.root()),
        "merkle.root_mismatch",
    ));
    let fake2 = InclusionProof {
        index: 0,
        tree_size: 2,
        path: vec![right],
    };
    verify.push(Draft::invalid(
        "the left child's preimage as leaf data with the right child as sibling",
        &["SecondPreimage"],
        vcase(
            &[leaf_hash(&l4[0]).0, leaf_hash(&l4[1]).0].concat(),
            &fake2,
            &t4.root(),
        ),
        "merkle.root_mismatch",
    ));
    // Tree-size ambiguity: leaf 2 of 3 has the path [leaf-hash-free sibling]: the same proof as
    // leaf 1 of 2 over the parent level. Both verify.
    let l3 = leaves(3, "merkle leaf");
    let t3 = MerkleTree::from_leaf_data(l3.iter());
    let p = t3.proof(2).map_err(super::fixtures::e)?;
    verify.push(Draft::valid(
        "leaf 2 of 3",
        &["Valid", "Unbalanced"],
        vcase(&l3[2], &p, &t3.root()),
    ));
    let alias = InclusionProof {
        index: 1,
        tree_size: 2,
        path: p.path.clone(),
    };
    verify.push(Draft::valid(
        "the same leaf and path as leaf 1 of 2: verifies too (bind the tree size)",
        &["SizeAmbiguity"],
        vcase(&l3[2], &alias, &t3.root()),
    ));

    Ok(vec![
        DraftGroup::new(
            "root",
            "Roots of trees of 0 to 17, 31 to 33 and 100 leaves.",
            roots,
        ),
        DraftGroup::new("proof", "Inclusion proofs.", proofs),
        DraftGroup::new(
            "verify",
            "Verifying inclusion proofs, and proofs that must fail.",
            verify,
        ),
    ])
}

fn proof_of(input: &Value) -> core::result::Result<InclusionProof, String> {
    let path = byte_list(input, "path")?
        .into_iter()
        .map(|b| {
            <[u8; 32]>::try_from(b)
                .map(Digest)
                .map_err(|_| crate::util::bad("path"))
        })
        .collect::<core::result::Result<Vec<_>, _>>()?;
    Ok(InclusionProof {
        index: uint(input, "index")?,
        tree_size: uint(input, "treeSize")?,
        path,
    })
}

/// The reference answer.
pub fn respond(op: &str, _params: &Value, input: &Value) -> Answer {
    match op {
        "root" => {
            let l = byte_list(input, "leaves")?;
            Ok(json!({"root": hx(&MerkleTree::from_leaf_data(l.iter()).root().0)}))
        }
        "proof" => {
            let l = byte_list(input, "leaves")?;
            let p = MerkleTree::from_leaf_data(l.iter())
                .proof(uint(input, "index")?)
                .map_err(|e| e.code().to_string())?;
            Ok(json!({
                "index": p.index,
                "treeSize": p.tree_size,
                "path": p.path.iter().map(|d| hx(&d.0)).collect::<Vec<_>>(),
            }))
        }
        "verify" => {
            let p = proof_of(input)?;
            let leaf = bytes(input, "leaf")?;
            let root = Digest(array::<32>(input, "root")?);
            p.verify(&leaf, &root)
                .map(|()| json!({}))
                .map_err(|e| e.code().to_string())
        }
        other => Err(super::unknown_op(other)),
    }
}

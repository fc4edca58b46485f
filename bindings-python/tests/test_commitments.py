"""Commitments checked against an independent hashlib implementation of spec/commitments.md:
RFC 6962 Merkle roots and proofs, tensor commitments of numpy arrays."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

import mycel


def ref_leaf(d: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + d).digest()


def ref_node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def ref_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return ref_leaf(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return ref_node(ref_root(leaves[:k]), ref_root(leaves[k:]))


def ref_commitment(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    head = b"mycel/v1/tensor\x00" + bytes([code, len(shape)]) + b"".join(struct.pack("<Q", d) for d in shape)
    return hashlib.sha256(head + data).digest()


@pytest.mark.parametrize("n", list(range(0, 18)))
def test_merkle_roots_and_every_proof(n: int) -> None:
    leaves = [bytes([i]) * (i % 5) for i in range(n)]
    assert mycel.merkle_root(leaves) == ref_root(leaves)
    tree = mycel.MerkleTree(leaves)
    assert tree.root == ref_root(leaves) and len(tree) == n
    for i in range(n):
        p = tree.proof(i)
        p.verify(leaves[i], tree.root)
        assert p.root_for(leaves[i]) == tree.root
        again = mycel.InclusionProof(index=p.index, tree_size=p.tree_size, path=p.path)
        assert again == p
        if p.path:
            short = mycel.InclusionProof(index=i, tree_size=n, path=p.path[:-1])
            with pytest.raises(mycel.MerkleError) as e:
                short.verify(leaves[i], tree.root)
            assert e.value.code == "merkle.path_length"
    if n == 0:
        with pytest.raises(mycel.MerkleError) as e2:
            tree.proof(0)
        assert e2.value.code == "merkle.empty_tree"


def test_leaf_and_node_hash() -> None:
    assert mycel.leaf_hash(b"abc") == ref_leaf(b"abc")
    a, b = ref_leaf(b"a"), ref_leaf(b"b")
    assert mycel.node_hash(a, b) == ref_node(a, b)
    with pytest.raises(mycel.ArgumentError):
        mycel.node_hash(a[:31], b)


def test_tensor_commitments_of_arrays() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 7)).astype(np.float32)
    assert mycel.tensor_commitment(x) == ref_commitment(0x01, x.shape, x.tobytes())
    h = x.astype(np.float16)
    assert mycel.tensor_commitment(h) == ref_commitment(0x02, h.shape, h.tobytes())
    assert mycel.tensor_commitment(x.tobytes(), "f32", x.shape) == mycel.tensor_commitment(x)
    q = mycel.quantize_q8_0(x.reshape(3, -1)[:, :32].copy())
    assert mycel.tensor_commitment(q.tobytes(), "q8_0", (3, 32)) == ref_commitment(0x10, (3, 32), q.tobytes())
    with pytest.raises(mycel.CommitmentError) as e:
        mycel.tensor_commitment(x.tobytes()[:-1], "f32", x.shape)
    assert e.value.code == "commit.length_mismatch"
    with pytest.raises(mycel.CommitmentError) as e2:
        mycel.tensor_commitment(b"", "f32", ())
    assert e2.value.code == "commit.rank"
    with pytest.raises(mycel.ShapeError) as e3:
        mycel.tensor_commitment(x[:, ::2])
    assert e3.value.code == "not_contiguous" and "tensor" in str(e3.value)
    with pytest.raises(mycel.DtypeError) as e4:
        mycel.tensor_commitment(x.astype(np.float64))
    assert "tensor" in str(e4.value)


def test_bfloat16_commitment() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.arange(64, dtype=np.float32).reshape(8, 8).astype(ml_dtypes.bfloat16)
    assert mycel.tensor_commitment(x) == ref_commitment(0x03, x.shape, x.tobytes())

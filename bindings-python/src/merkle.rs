//! Commitments (spec/commitments.md): RFC 6962 Merkle trees with inclusion proofs, and tensor
//! commitments of numpy arrays or raw bytes.

use mycel_protocol::commit::{
    InclusionProof as RProof, MerkleTree as RTree, TensorDtype, leaf_hash as r_leaf_hash,
    node_hash as r_node_hash, tensor_commitment,
};
use mycel_protocol::ids::Digest;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::array::FloatArray;
use crate::convert::{array, bytes};
use crate::errors::{self, IntoPyResult};

/// `SHA-256(0x00 || data)`: the hash of a Merkle leaf.
#[pyfunction]
pub fn leaf_hash<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    bytes(py, &r_leaf_hash(data).0)
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
#[pyfunction]
pub fn node_hash<'py>(py: Python<'py>, left: &[u8], right: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let (l, r) = (Digest(array("left", left)?), Digest(array("right", right)?));
    Ok(bytes(py, &r_node_hash(&l, &r).0))
}

/// The RFC 6962 Merkle root over leaf data (each leaf hashed with `leaf_hash`); the empty
/// tree's root is `SHA-256(b"")`.
#[pyfunction]
pub fn merkle_root<'py>(py: Python<'py>, leaves: Vec<Vec<u8>>) -> Bound<'py, PyBytes> {
    bytes(py, &RTree::from_leaf_data(&leaves).root().0)
}

/// A Merkle tree over leaf data, with inclusion proofs.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug, Clone)]
pub struct MerkleTree {
    inner: RTree,
}

#[pymethods]
impl MerkleTree {
    /// The tree over these leaves (bytes each).
    #[new]
    fn new(leaves: Vec<Vec<u8>>) -> Self {
        Self {
            inner: RTree::from_leaf_data(&leaves),
        }
    }
    /// The root (32 bytes).
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.inner.root().0)
    }
    /// The inclusion proof of leaf `index` (`MerkleError` if out of range or the tree is empty).
    fn proof(&self, index: u64) -> PyResult<InclusionProof> {
        Ok(InclusionProof {
            inner: self.inner.proof(index).py()?,
        })
    }
    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// An RFC 6962 inclusion proof: leaf index, tree size, audit path (siblings from the leaf up).
#[pyclass(frozen, eq, module = "mycel._mycel")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub(crate) inner: RProof,
}

#[pymethods]
impl InclusionProof {
    /// A proof from its parts (each path entry 32 bytes).
    #[new]
    #[pyo3(signature = (*, index, tree_size, path))]
    fn new(index: u64, tree_size: u64, path: Vec<Vec<u8>>) -> PyResult<Self> {
        let path = path
            .iter()
            .map(|p| array("path", p).map(Digest))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            inner: RProof {
                index,
                tree_size,
                path,
            },
        })
    }
    /// Index of the proven leaf.
    #[getter]
    fn index(&self) -> u64 {
        self.inner.index
    }
    /// Number of leaves in the tree.
    #[getter]
    fn tree_size(&self) -> u64 {
        self.inner.tree_size
    }
    /// Sibling hashes from the leaf up.
    #[getter]
    fn path<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.inner.path.iter().map(|d| bytes(py, &d.0)).collect()
    }
    /// Checks that `leaf_data` is leaf `index` of the tree with `root`; raises `MerkleError`.
    fn verify(&self, leaf_data: &[u8], root: &[u8]) -> PyResult<()> {
        self.inner
            .verify(leaf_data, &Digest(array("root", root)?))
            .py()
    }
    /// The root this proof yields for `leaf_data`.
    fn root_for<'py>(&self, py: Python<'py>, leaf_data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        Ok(bytes(
            py,
            &self
                .inner
                .root_from_leaf_hash(&r_leaf_hash(leaf_data))
                .py()?
                .0,
        ))
    }
}

fn parse_tensor_dtype(name: &str) -> PyResult<TensorDtype> {
    match name {
        "f32" | "float32" => Ok(TensorDtype::F32),
        "f16" | "float16" => Ok(TensorDtype::F16),
        "bf16" | "bfloat16" => Ok(TensorDtype::Bf16),
        "q8_0" => Ok(TensorDtype::Q8_0),
        "q4_0" => Ok(TensorDtype::Q4_0),
        other => Err(errors::argument(format!(
            "dtype: expected 'f32', 'f16', 'bf16', 'q8_0' or 'q4_0', got {other:?}"
        ))),
    }
}

/// The tensor commitment of a float32, float16 or bfloat16 numpy array (C-contiguous), with
/// the array's own shape.
#[pyfunction]
pub fn tensor_commitment_array<'py>(
    py: Python<'py>,
    tensor: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let a = FloatArray::extract("tensor", tensor)?;
    let shape: Vec<u64> = a.shape().iter().map(|&d| d as u64).collect();
    let dtype = match a {
        FloatArray::F32(_) => TensorDtype::F32,
        FloatArray::F16(_) => TensorDtype::F16,
        FloatArray::Bf16(_) => TensorDtype::Bf16,
    };
    let data = a.le_bytes()?;
    let digest = py.detach(|| tensor_commitment(dtype, &shape, data)).py()?;
    Ok(bytes(py, &digest.0))
}

/// The tensor commitment of raw little-endian bytes of a tensor of `dtype` (`f32`, `f16`,
/// `bf16`, `q8_0`, `q4_0`) and `shape`.
#[pyfunction]
pub fn tensor_commitment_bytes<'py>(
    py: Python<'py>,
    dtype: &str,
    shape: Vec<u64>,
    data: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let dtype = parse_tensor_dtype(dtype)?;
    Ok(bytes(py, &tensor_commitment(dtype, &shape, data).py()?.0))
}

//! Merkle trees (RFC 6962 hashing, spec/commitments.md) and tensor commitments.

use js_sys::{Array, Object};
use mycel_protocol::commit::{InclusionProof, MerkleTree, TensorDtype, tensor_commitment};
use mycel_protocol::ids::Digest;
use wasm_bindgen::prelude::*;

use crate::convert::{array, byte_list, bytes, dim, list, num, prop, set, to_js_bytes};
use crate::error::{Fail, Result};

/// A proof as a JS object `{ index, treeSize, path: Uint8Array[] }`.
pub(crate) fn proof_to_js(p: &InclusionProof) -> JsValue {
    let o = Object::new();
    set(&o, "index", p.index as f64);
    set(&o, "treeSize", p.tree_size as f64);
    let path = Array::new();
    for d in &p.path {
        path.push(&to_js_bytes(d.as_bytes()));
    }
    set(&o, "path", path);
    o.into()
}

/// A proof from its JS object form.
fn proof_from_js(v: &JsValue) -> Result<InclusionProof> {
    if !v.is_object() {
        return Err(Fail::input_type("proof must be an object"));
    }
    let index = dim(num(v, "index")?, "proof.index")? as u64;
    let tree_size = dim(num(v, "treeSize")?, "proof.treeSize")? as u64;
    let path = list(&prop(v, "path"), "proof.path")?
        .iter()
        .enumerate()
        .map(|(i, x)| array::<32>(x, &format!("proof.path[{i}]")).map(Digest))
        .collect::<Result<Vec<_>>>()?;
    Ok(InclusionProof {
        index,
        tree_size,
        path,
    })
}

/// The Merkle root over leaf data (each leaf a `Uint8Array`); the empty list has the root of
/// the empty tree.
#[wasm_bindgen(js_name = merkleRoot, unchecked_return_type = "Uint8Array")]
pub fn merkle_root(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] leaves: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let leaves = byte_list(&leaves, "leaves")?;
    Ok(to_js_bytes(
        mycel_protocol::commit::merkle_root(leaves.iter()).as_bytes(),
    ))
}

/// The inclusion proof of leaf `index` among `leaves`.
#[wasm_bindgen(js_name = merkleProof, unchecked_return_type = "InclusionProof")]
pub fn merkle_proof(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] leaves: JsValue,
    index: u32,
) -> core::result::Result<JsValue, Fail> {
    let leaves = byte_list(&leaves, "leaves")?;
    let tree = MerkleTree::from_leaf_data(leaves.iter());
    Ok(proof_to_js(&tree.proof(u64::from(index))?))
}

/// Whether `proof` places `leaf` (leaf data) under `root`. A well-formed proof that does not
/// lead to `root` is `false`; a malformed one throws (`merkle.*`, `input.*`).
#[wasm_bindgen(js_name = verifyMerkleProof)]
pub fn verify_merkle_proof(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] leaf: JsValue,
    #[wasm_bindgen(unchecked_param_type = "InclusionProof")] proof: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] root: JsValue,
) -> core::result::Result<bool, Fail> {
    let leaf = bytes(&leaf, "leaf")?;
    let proof = proof_from_js(&proof)?;
    let root = Digest(array::<32>(&root, "root")?);
    let got = proof.root_from_leaf_hash(&mycel_protocol::commit::leaf_hash(&leaf))?;
    Ok(got == root)
}

/// The tensor commitment (spec/commitments.md) of `data` as a tensor of `dtype`
/// (`"f32" | "f16" | "bf16" | "q8_0" | "q4_0"`) and `shape`.
#[wasm_bindgen(js_name = tensorCommitment, unchecked_return_type = "Uint8Array")]
pub fn tensor_commitment_js(
    dtype: &str,
    #[wasm_bindgen(unchecked_param_type = "number[] | Uint32Array")] shape: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data: JsValue,
) -> core::result::Result<JsValue, Fail> {
    let dtype = match dtype {
        "f32" => TensorDtype::F32,
        "f16" => TensorDtype::F16,
        "bf16" => TensorDtype::Bf16,
        "q8_0" => TensorDtype::Q8_0,
        "q4_0" => TensorDtype::Q4_0,
        other => {
            return Err(Fail::input_value(format!(
                "unknown dtype {other:?} (f32, f16, bf16, q8_0, q4_0)"
            )));
        }
    };
    let shape = shape_list(&shape)?;
    let data = bytes(&data, "data")?;
    Ok(to_js_bytes(
        tensor_commitment(dtype, &shape, &data)?.as_bytes(),
    ))
}

/// A shape from a JS array of numbers or a `Uint32Array`.
fn shape_list(v: &JsValue) -> Result<Vec<u64>> {
    if let Some(a) = v.dyn_ref::<js_sys::Uint32Array>() {
        return Ok(a.to_vec().into_iter().map(u64::from).collect());
    }
    list(v, "shape")?
        .iter()
        .map(|x| {
            x.as_f64()
                .ok_or_else(|| Fail::input_type("shape entries must be numbers"))
                .and_then(|f| dim(f, "shape entry"))
                .map(|d| d as u64)
        })
        .collect()
}

//! The kernels on typed arrays: Q8_0/Q4_0 quantize, dequantize and matmul, attention in
//! verifiable mode (spec/kernels.md). One thread; SIMD128 where the module was built with it.

use mycel_kernels::matmul::{CpuKernel, Weights, matmul as kmatmul};
use mycel_kernels::quant::{
    QuantFormat, dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0,
};
use mycel_kernels::{AttentionMode, AttentionParams, AttnInput, attention as kattention};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes, dim, floats, num, opt_bool, opt_string, options, to_js_bytes};
use crate::error::{Fail, Result};
use crate::task::{parse_backend, parse_format};

/// Quantizes `x` (finite values, rows of `k`, `k` a multiple of 32) to GGML blocks of `format`
/// (`"q8_0"` or `"q4_0"`) with GGML's reference quantizer.
#[wasm_bindgen(unchecked_return_type = "Uint8Array")]
pub fn quantize(
    format: &str,
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] x: JsValue,
    k: f64,
) -> core::result::Result<JsValue, Fail> {
    let x = floats(&x, "x")?;
    let k = dim(k, "k")?;
    let out = match parse_format(format)? {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&x, k)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&x, k)?).to_vec(),
    };
    Ok(to_js_bytes(&out))
}

/// Dequantizes GGML blocks of `format` to f32 (32 values per block).
#[wasm_bindgen(unchecked_return_type = "Float32Array")]
pub fn dequantize(
    format: &str,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] blocks: JsValue,
) -> core::result::Result<Vec<f32>, Fail> {
    let b = bytes(&blocks, "blocks")?;
    let format = parse_format(format)?;
    let bb = format.block_bytes();
    if !b.len().is_multiple_of(bb) {
        return Err(Fail::input_length(format!(
            "{} bytes are not a whole number of {}-byte {} blocks",
            b.len(),
            bb,
            format.name()
        )));
    }
    let cast = |_| Fail::new("misaligned", "blocks do not cast");
    Ok(match format {
        QuantFormat::Q8_0 => dequantize_q8_0(bytemuck::try_cast_slice(&b).map_err(cast)?),
        QuantFormat::Q4_0 => dequantize_q4_0(bytemuck::try_cast_slice(&b).map_err(cast)?),
    })
}

/// `Y[m, n] = X[m, k] · W[n, k]ᵀ`: `x` f32 activations (quantized to Q8_0 on the fly), `w`
/// bare GGML blocks of `format`, `k` their row length. `backend` `"auto"` (SIMD128) or
/// `"scalar"` give the same bits.
#[wasm_bindgen(unchecked_return_type = "Float32Array")]
pub fn matmul(
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] x: JsValue,
    m: f64,
    format: &str,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] w: JsValue,
    k: f64,
    backend: Option<String>,
) -> core::result::Result<Vec<f32>, Fail> {
    let x = floats(&x, "x")?;
    let wb = bytes(&w, "w")?;
    let weights = Weights::from_bytes(parse_format(format)?, &wb, dim(k, "k")?)?;
    let backend = parse_backend(backend.as_deref())?;
    Ok(kmatmul(&x, dim(m, "m")?, &weights, backend, 1)?)
}

/// The matmul code path `"auto"` runs in this module: `"simd128"` or `"scalar"`.
#[wasm_bindgen(js_name = matmulKernel)]
pub fn matmul_kernel() -> String {
    match CpuKernel::auto(QuantFormat::Q8_0) {
        CpuKernel::Simd128 => "simd128".into(),
        CpuKernel::Scalar => "scalar".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Checked attention parameters from `{ nHeads, nKvHeads, qLen, kvLen, headDim, causal? }`.
fn attention_params(p: &JsValue) -> Result<AttentionParams> {
    let p = options(p, "params")?;
    let mut a = AttentionParams::new(
        dim(num(&p, "nHeads")?, "nHeads")?,
        dim(num(&p, "nKvHeads")?, "nKvHeads")?,
        dim(num(&p, "qLen")?, "qLen")?,
        dim(num(&p, "kvLen")?, "kvLen")?,
        dim(num(&p, "headDim")?, "headDim")?,
    );
    a.causal = opt_bool(&p, "causal")?;
    Ok(a)
}

/// Scaled dot-product attention in verifiable mode (bit-exact on every host): `q`
/// `[nHeads, qLen, headDim]`, `k` and `v` `[nKvHeads, kvLen, headDim]`, f32, row-major;
/// grouped-query when `nKvHeads < nHeads`; `causal` aligns the mask bottom-right. Returns
/// `[nHeads, qLen, headDim]`.
#[wasm_bindgen(unchecked_return_type = "Float32Array")]
pub fn attention(
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] q: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] k: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] v: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{ nHeads: number, nKvHeads: number, qLen: number, kvLen: number, headDim: number, causal?: boolean, backend?: \"auto\" | \"scalar\" }"
    )]
    params: JsValue,
) -> core::result::Result<Vec<f32>, Fail> {
    let a = attention_params(&params)?;
    let backend = parse_backend(opt_string(&params, "backend")?.as_deref())?;
    let (q, k, v) = (floats(&q, "q")?, floats(&k, "k")?, floats(&v, "v")?);
    Ok(kattention(
        &a,
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
        AttentionMode::Verifiable,
        backend,
        1,
    )?)
}

//! Executing a `TaskSpec` (spec/kernels.md §5): the same commitment on every host.

use mycel_kernels::Backend;
use mycel_kernels::exec::{generate_weights, weights_digest};
use mycel_kernels::quant::QuantFormat;
use mycel_node::task::TaskWeights;
use mycel_protocol::task::TaskSpec;
use wasm_bindgen::prelude::*;

use crate::convert::{array, bytes, dim, opt_string, options, prop, to_js_bytes};
use crate::error::{Fail, Result};

/// What executing a task produced.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone)]
pub struct TaskResult {
    /// The output's tensor commitment (what a receipt's `output_commitment` holds), 32 bytes.
    pub commitment: Vec<u8>,
    /// The Merkle root over the output tiles (a receipt's `output_tile_root`), 32 bytes.
    #[wasm_bindgen(js_name = tileRoot)]
    pub tile_root: Vec<u8>,
    /// The output tensor's shape.
    pub shape: Vec<u32>,
    /// The output tensor (f32, row-major).
    pub output: Vec<f32>,
}

/// A backend by name: `"auto"` (SIMD128 where built with it), `"scalar"` (the reference).
pub fn parse_backend(name: Option<&str>) -> Result<Backend> {
    match name.unwrap_or("auto") {
        "auto" | "simd128" => Ok(Backend::Auto),
        "scalar" => Ok(Backend::Scalar),
        other => Err(Fail::input_value(format!(
            "unknown backend {other:?} (auto, simd128, scalar)"
        ))),
    }
}

/// A weight format by name (`"q8_0"`, `"q4_0"`).
pub fn parse_format(name: &str) -> Result<QuantFormat> {
    QuantFormat::parse(name)
        .ok_or_else(|| Fail::input_value(format!("unknown weight format {name:?} (q8_0, q4_0)")))
}

/// Executes a task from its envelope bytes: the Rust core of [`execute_task`].
pub fn run_task(
    task: &[u8],
    weights: Option<Vec<u8>>,
    weights_seed: Option<[u8; 32]>,
    backend: Backend,
) -> Result<TaskResult> {
    let t = TaskSpec::decode(task)?;
    t.validate()?;
    // Neither given: the task's own seeded weights (tasks from `mycel task new`); a task that
    // names other weights is refused with `node.invalid_argument`, as are both given and
    // explicit weights on a task without weights.
    let source = TaskWeights::given(weights.as_deref(), weights_seed)?;
    let out = mycel_node::task::execute_with(&t, source, backend, 1)?;
    let output: &[f32] = bytemuck::try_cast_slice(out.output.as_bytes())
        .map_err(|e| Fail::new("internal", e.to_string()))?;
    Ok(TaskResult {
        commitment: out.commitment.0.to_vec(),
        tile_root: out.tile_root.0.to_vec(),
        shape: out
            .output
            .shape()
            .iter()
            .map(|&d| u32::try_from(d).unwrap_or(u32::MAX))
            .collect(),
        output: output.to_vec(),
    })
}

/// Executes a task (its canonical envelope) and returns `{ commitment, tileRoot, shape, output }`.
/// Matmul tasks need their public weights: `options.weights` (bare GGML blocks) or
/// `options.weightsSeed` (32 bytes, the weights generated as `mycel task run --weights-seed`
/// does); their SHA-256 must equal the task's weights digest. Without either, a matmul task's
/// weights are its seeded weights (a self-contained task from `mycel task new`), as
/// `mycel task run` does; both at once, or weights given for an attention task (which takes
/// none), are refused (`node.invalid_argument`). `options.backend` is `"auto"`
/// (default; SIMD128) or `"scalar"`: the bits are the same.
#[wasm_bindgen(js_name = executeTask)]
pub fn execute_task(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] task: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{ weights?: Uint8Array, weightsSeed?: Uint8Array, backend?: \"auto\" | \"simd128\" | \"scalar\" }"
    )]
    options_: JsValue,
) -> core::result::Result<TaskResult, Fail> {
    let task = bytes(&task, "task")?;
    let o = options(&options_, "options")?;
    let w = prop(&o, "weights");
    let weights = if w.is_undefined() || w.is_null() {
        None
    } else {
        Some(bytes(&w, "options.weights")?)
    };
    let s = prop(&o, "weightsSeed");
    let seed = if s.is_undefined() || s.is_null() {
        None
    } else {
        Some(array::<32>(&s, "options.weightsSeed")?)
    };
    let backend = parse_backend(opt_string(&o, "backend")?.as_deref())?;
    run_task(&task, weights, seed, backend)
}

/// The weights `mycel task run --weights-seed` generates: bare GGML blocks of an `[n, k]`
/// matrix from a 32-byte seed (spec/kernels.md §5 "Generated weights").
#[wasm_bindgen(js_name = generateWeights, unchecked_return_type = "Uint8Array")]
pub fn generate_weights_js(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] seed: JsValue,
    format: &str,
    n: f64,
    k: f64,
) -> core::result::Result<JsValue, Fail> {
    let seed = array::<32>(&seed, "seed")?;
    let format = parse_format(format)?;
    let w = generate_weights(&seed, format, dim(n, "n")?, dim(k, "k")?)?;
    Ok(to_js_bytes(&w))
}

/// The weights digest a task names: SHA-256 of the bare GGML block bytes.
#[wasm_bindgen(js_name = weightsDigest, unchecked_return_type = "Uint8Array")]
pub fn weights_digest_js(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] weights: JsValue,
) -> core::result::Result<JsValue, Fail> {
    Ok(to_js_bytes(
        weights_digest(&bytes(&weights, "weights")?).as_bytes(),
    ))
}

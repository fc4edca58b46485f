//! The work kernels (spec/kernels.md) on numpy arrays: quantize / dequantize (GGML block
//! bytes), matmul, attention, task execution. Inputs are borrowed without copying when they
//! are C-contiguous; the GIL is released while a kernel runs.

use mycel_kernels::attention::{AttentionMode, AttentionParams};
use mycel_kernels::exec::generate_weights as r_generate_weights;
use mycel_kernels::matmul::{QWeights, Weights, matmul as r_matmul};
use mycel_kernels::quant::{
    QuantFormat, dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0,
};
use mycel_kernels::tensor::Data;
use mycel_kernels::{Backend, attention as r_attention};
use mycel_node::task::TaskWeights;
use mycel_protocol::task::TaskSpec as RTaskSpec;
use numpy::PyArray1;
use numpy::prelude::*;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::array::{ByteInput, FloatArray};
use crate::convert::{array, bytes};
use crate::errors::{self, IntoPyResult};
use crate::messages::TaskSpec;

/// A backend name as the CLI takes it: `auto`, `scalar`, `avx2`, `cuda`, `cuda:N`.
pub fn parse_backend(name: &str) -> PyResult<Backend> {
    Backend::parse(name).ok_or_else(|| {
        errors::argument(format!(
            "backend: expected 'auto', 'scalar', 'avx2', 'cuda' or 'cuda:N', got {name:?}"
        ))
    })
}

fn parse_format(name: &str) -> PyResult<QuantFormat> {
    QuantFormat::parse(name)
        .ok_or_else(|| errors::argument(format!("format: expected 'q8_0' or 'q4_0', got {name:?}")))
}

/// A flat f32 vector as a numpy array of `shape` (the vector's buffer is moved, not copied).
fn f32_array<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any())
}

/// A byte vector as a uint8 numpy array of `shape`.
fn u8_array<'py>(py: Python<'py>, values: Vec<u8>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any())
}

/// The CPU instruction set (`"scalar"`, `"avx2"`, ...) that `backend` runs with on this
/// machine; raises `BackendUnavailable` when it cannot run here.
#[pyfunction]
#[pyo3(signature = (backend="auto"))]
pub fn resolve_backend(backend: &str) -> PyResult<&'static str> {
    Ok(parse_backend(backend)?.resolve().py()?.label())
}

/// Quantizes a float32 array `[..., K]` (K a multiple of 32, all values finite) row by row
/// with GGML's reference quantizer of `format`; returns uint8 `[..., K/32 * block_bytes]`: the
/// GGML block bytes of each row.
#[pyfunction]
#[pyo3(signature = (x, format))]
pub fn quantize<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    format: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let format = parse_format(format)?;
    let a = FloatArray::extract_f32("x", x)?;
    let shape = a.shape().to_vec();
    let k = *shape
        .last()
        .ok_or_else(|| errors::shape("x", "needs at least one dimension"))?;
    let row_bytes = format
        .matrix_bytes(1, k)
        .map_err(|e| errors::shape("x", e))?;
    let data = a.as_slice().map_err(|_| errors::not_contiguous("x"))?;
    let out: Vec<u8> = py
        .detach(|| -> mycel_kernels::Result<Vec<u8>> {
            Ok(match format {
                QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(data, k)?).to_vec(),
                QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(data, k)?).to_vec(),
            })
        })
        .py()?;
    let mut out_shape = shape;
    if let Some(last) = out_shape.last_mut() {
        *last = row_bytes;
    }
    u8_array(py, out, &out_shape)
}

/// `quantize(x, "q8_0")`.
#[pyfunction]
pub fn quantize_q8<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    quantize(py, x, "q8_0")
}

/// `quantize(x, "q4_0")`.
#[pyfunction]
pub fn quantize_q4<'py>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    quantize(py, x, "q4_0")
}

/// Reads block bytes (argument `name`) as an `[n, k]` weight matrix. `k` comes from the
/// argument, else from a 2-D array's row length, else the whole buffer is one row.
fn weights_of<'a>(
    name: &str,
    input: &'a ByteInput<'_>,
    format: QuantFormat,
    k: Option<usize>,
) -> PyResult<Weights<'a>> {
    let data = input.as_slice()?;
    let bb = format.block_bytes();
    let row_k = |row_bytes: usize| -> PyResult<usize> {
        if row_bytes == 0 || !row_bytes.is_multiple_of(bb) {
            return Err(errors::shape(
                name,
                format!(
                    "rows of {row_bytes} bytes are not whole {} blocks of {bb} bytes",
                    format.name()
                ),
            ));
        }
        Ok(row_bytes / bb * 32)
    };
    let k = match (k, input.shape()) {
        (Some(k), Some([_, row])) => {
            let from_rows = row_k(*row)?;
            if from_rows != k {
                return Err(errors::shape(
                    name,
                    format!("rows hold {from_rows} elements, expected k = {k}"),
                ));
            }
            k
        }
        (Some(k), _) => k,
        (None, Some([_, row])) => row_k(*row)?,
        (None, _) => row_k(data.len())?,
    };
    Weights::from_bytes(format, data, k).map_err(|e| errors::shape(name, e))
}

/// Dequantizes GGML block bytes (`bytes` or uint8 array) of `format`: float32 `[n, k]`. `k` is
/// the row length in elements (default: a 2-D array's row, or one row of everything).
#[pyfunction]
#[pyo3(signature = (blocks, format, k=None))]
pub fn dequantize<'py>(
    py: Python<'py>,
    blocks: &Bound<'py, PyAny>,
    format: &str,
    k: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let format = parse_format(format)?;
    let input = ByteInput::extract("blocks", blocks)?;
    let w = weights_of("blocks", &input, format, k)?;
    let (n, k) = (w.n(), w.k());
    let out = py.detach(|| match w.blocks() {
        QWeights::Q8_0(b) => dequantize_q8_0(b),
        QWeights::Q4_0(b) => dequantize_q4_0(b),
        _ => Vec::new(),
    });
    f32_array(py, out, &[n, k])
}

/// `Y = X · Wᵀ`: X float32 `[M, K]` (or `[K]`, giving `[N]`), W the GGML block bytes of an
/// `[N, K]` matrix (`bytes`, or uint8 `[N, K/32 * block_bytes]`) in `format`. X is quantized
/// to Q8_0 on the fly (GGML's rule); the output is float32, bit-identical on every backend.
#[pyfunction]
#[pyo3(signature = (x, w, format="q8_0", *, backend="auto", threads=0))]
pub fn matmul<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    format: &str,
    backend: &str,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let format = parse_format(format)?;
    let backend = parse_backend(backend)?;
    let xa = FloatArray::extract_f32("x", x)?;
    let (m, k, one_row) = match xa.shape() {
        [k] => (1, *k, true),
        [m, k] => (*m, *k, false),
        other => {
            return Err(errors::shape(
                "x",
                format!("expected [M, K] or [K], got shape {other:?}"),
            ));
        }
    };
    let win = ByteInput::extract("w", w)?;
    let weights = weights_of("w", &win, format, Some(k))?;
    let xs = xa.as_slice().map_err(|_| errors::not_contiguous("x"))?;
    let n = weights.n();
    let out = py
        .detach(|| r_matmul(xs, m, &weights, backend, threads))
        .py()?;
    if one_row {
        f32_array(py, out, &[n])
    } else {
        f32_array(py, out, &[m, n])
    }
}

/// Scaled dot-product attention with the CLI's layouts: q `[n_heads, q_len, head_dim]`, k and
/// v `[n_kv_heads, kv_len, head_dim]` (float32, float16 or bfloat16); returns float32
/// `[n_heads, q_len, head_dim]`. `mode="verifiable"` gives the same bits on every backend;
/// `"fast"` agrees within the spec's tolerance. `scale=None` is `1/sqrt(head_dim)`.
#[pyfunction]
#[pyo3(signature = (q, k, v, *, causal=true, mode="verifiable", scale=None, backend="auto", threads=0))]
#[allow(clippy::too_many_arguments)]
pub fn attention<'py>(
    py: Python<'py>,
    q: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    causal: bool,
    mode: &str,
    scale: Option<f32>,
    backend: &str,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let mode = AttentionMode::parse(mode).ok_or_else(|| {
        errors::argument(format!(
            "mode: expected 'verifiable' or 'fast', got {mode:?}"
        ))
    })?;
    let backend = parse_backend(backend)?;
    let (qa, ka, va) = (
        FloatArray::extract("q", q)?,
        FloatArray::extract("k", k)?,
        FloatArray::extract("v", v)?,
    );
    let dims3 = |name: &str, s: &[usize]| -> PyResult<[usize; 3]> {
        <[usize; 3]>::try_from(s).map_err(|_| {
            errors::shape(
                name,
                format!("expected 3 dimensions [heads, len, head_dim], got shape {s:?}"),
            )
        })
    };
    let [h, lq, d] = dims3("q", qa.shape())?;
    let [hkv, lkv, dk] = dims3("k", ka.shape())?;
    let vs = dims3("v", va.shape())?;
    if vs != [hkv, lkv, dk] {
        return Err(errors::shape(
            "v",
            format!("shape {vs:?} differs from k's {:?}", [hkv, lkv, dk]),
        ));
    }
    if dk != d {
        return Err(errors::shape(
            "k",
            format!("head_dim {dk} differs from q's {d}"),
        ));
    }
    let mut params = AttentionParams::new(h, hkv, lq, lkv, d).causal(causal);
    if let Some(s) = scale {
        params = params.with_scale(s);
    }
    let (qi, ki, vi) = (qa.input()?, ka.input()?, va.input()?);
    let out = py
        .detach(|| r_attention(&params, qi, ki, vi, mode, backend, threads))
        .py()?;
    f32_array(py, out, &[h, lq, d])
}

/// What executing a task gives: the output commitment and tile root (what a receipt signs) and
/// the output tensor.
#[pyclass(frozen, module = "mycel._mycel")]
#[derive(Debug)]
pub struct TaskResult {
    commitment: [u8; 32],
    tile_root: [u8; 32],
    output: Py<PyAny>,
}

#[pymethods]
impl TaskResult {
    /// The tensor commitment of the output (32 bytes).
    #[getter]
    fn commitment<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.commitment)
    }
    /// The Merkle root over the output's tiles (32 bytes).
    #[getter]
    fn tile_root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes(py, &self.tile_root)
    }
    /// The output tensor (float32 numpy array).
    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.output.bind(py).clone()
    }
    fn __repr__(&self) -> String {
        let hex: String = self.commitment.iter().map(|b| format!("{b:02x}")).collect();
        format!("TaskResult(commitment={hex})")
    }
}

/// Executes a task (a `TaskSpec` or its envelope bytes) and returns its output commitment, tile
/// root and output: the same commitment as `mycel task run` on every host. A self-contained
/// task (`new_task`, `mycel task new`) needs nothing else; a matmul task that names other
/// weights takes them as `weights` (GGML block bytes) or `weights_seed` (32 bytes, weights
/// generated as `generate_weights` does); their SHA-256 must equal the task's weights digest.
/// Weights given for an attention task (which takes none) raise `ArgumentError`.
#[pyfunction]
#[pyo3(signature = (task, backend="auto", *, weights=None, weights_seed=None, threads=0))]
pub fn execute_task<'py>(
    py: Python<'py>,
    task: &Bound<'py, PyAny>,
    backend: &str,
    weights: Option<&Bound<'py, PyAny>>,
    weights_seed: Option<&[u8]>,
    threads: usize,
) -> PyResult<TaskResult> {
    let spec: RTaskSpec = if let Ok(t) = task.cast::<TaskSpec>() {
        t.get().inner
    } else if let Ok(b) = task.cast::<PyBytes>() {
        RTaskSpec::decode(b.as_bytes()).py()?
    } else {
        return Err(errors::dtype(
            "task",
            "a TaskSpec or its envelope bytes",
            &task
                .get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string()),
        ));
    };
    let backend = parse_backend(backend)?;
    let input = weights
        .map(|w| ByteInput::extract("weights", w))
        .transpose()?;
    let seed = weights_seed
        .map(|s| array::<32>("weights_seed", s))
        .transpose()?;
    let blocks = input.as_ref().map(ByteInput::as_slice).transpose()?;
    // Neither given: a self-contained task's weights derive from its own seed (spec/kernels.md
    // section 5, "Seeded weights"), as `mycel task run` does; both given: `ArgumentError`.
    let source = TaskWeights::given(blocks, seed).map_err(errors::node)?;
    let out = py
        .detach(|| mycel_node::task::execute_with(&spec, source, backend, threads))
        .map_err(errors::node)?;
    let shape = out.output.shape().to_vec();
    let values = match out.output.into_data() {
        Data::F32(v) => v,
        other => {
            return Err(errors::kernel(mycel_kernels::Error::DtypeMismatch {
                expected: "f32",
                actual: match other {
                    Data::F16(_) => "f16",
                    Data::BF16(_) => "bf16",
                    _ => "quantized",
                },
            }));
        }
    };
    Ok(TaskResult {
        commitment: out.commitment.0,
        tile_root: out.tile_root.0,
        output: f32_array(py, values, &shape)?.unbind(),
    })
}

/// Deterministic weights for tests and simulations (spec/kernels.md §5): an `[n, k]` matrix
/// generated from `seed` (32 bytes) and quantized to `format`, as uint8 `[n, k/32 *
/// block_bytes]` GGML block bytes. Their SHA-256 (`weights_digest`) is what tasks name.
#[pyfunction]
pub fn generate_weights<'py>(
    py: Python<'py>,
    seed: &[u8],
    format: &str,
    n: usize,
    k: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let seed = array::<32>("seed", seed)?;
    let format = parse_format(format)?;
    let row = format
        .matrix_bytes(1, k)
        .map_err(|e| errors::shape("k", e))?;
    let out = py.detach(|| r_generate_weights(&seed, format, n, k)).py()?;
    u8_array(py, out, &[n, row])
}

/// The weights digest: SHA-256 of the bare GGML block bytes (`bytes` or uint8 array).
#[pyfunction]
pub fn weights_digest<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let input = ByteInput::extract("weights", weights)?;
    let data = input.as_slice()?;
    let d = py.detach(|| mycel_kernels::exec::weights_digest(data));
    Ok(bytes(py, &d.0))
}

/// Benchmark support (`bench/bench.py`): runs one operation `iters` times entirely in Rust and
/// returns the median seconds per call, so that the Python call's overhead is measured against
/// the Rust call in the same process, on the same inputs. `op` is `"leaf_hash"` (args: data),
/// `"matmul"` (x, w, format, threads) or `"attention"` (q, k, v, causal, threads); the GIL is
/// released while timing.
#[pyfunction]
#[pyo3(signature = (op, iters, *args))]
pub fn _time_rust(
    py: Python<'_>,
    op: &str,
    iters: usize,
    args: &Bound<'_, pyo3::types::PyTuple>,
) -> PyResult<f64> {
    use std::time::Instant;
    let iters = iters.max(1);
    let mut samples = Vec::with_capacity(iters);
    let arg = |i: usize| args.get_item(i);
    match op {
        "leaf_hash" => {
            let data: Vec<u8> = arg(0)?.extract()?;
            py.detach(|| {
                for _ in 0..iters {
                    let t = Instant::now();
                    core::hint::black_box(mycel_protocol::commit::leaf_hash(
                        core::hint::black_box(&data),
                    ));
                    samples.push(t.elapsed().as_secs_f64());
                }
            });
        }
        "matmul" => {
            let x = FloatArray::extract_f32("x", &arg(0)?)?;
            let win = ByteInput::extract("w", &arg(1)?)?;
            let format = parse_format(&arg(2)?.extract::<String>()?)?;
            let threads: usize = arg(3)?.extract()?;
            let k = *x.shape().last().unwrap_or(&0);
            let m = x.shape().first().copied().unwrap_or(1);
            let w = weights_of("w", &win, format, Some(k))?;
            let xs = x.as_slice().map_err(|_| errors::not_contiguous("x"))?;
            py.detach(|| -> mycel_kernels::Result<()> {
                for _ in 0..iters {
                    let t = Instant::now();
                    core::hint::black_box(r_matmul(xs, m, &w, Backend::Auto, threads)?);
                    samples.push(t.elapsed().as_secs_f64());
                }
                Ok(())
            })
            .py()?;
        }
        "attention" => {
            let (q, k, v) = (
                FloatArray::extract("q", &arg(0)?)?,
                FloatArray::extract("k", &arg(1)?)?,
                FloatArray::extract("v", &arg(2)?)?,
            );
            let causal: bool = arg(3)?.extract()?;
            let threads: usize = arg(4)?.extract()?;
            let (qs, ks) = (q.shape(), k.shape());
            let params = AttentionParams::new(
                qs.first().copied().unwrap_or(0),
                ks.first().copied().unwrap_or(0),
                qs.get(1).copied().unwrap_or(0),
                ks.get(1).copied().unwrap_or(0),
                qs.get(2).copied().unwrap_or(0),
            )
            .causal(causal);
            let (qi, ki, vi) = (q.input()?, k.input()?, v.input()?);
            py.detach(|| -> mycel_kernels::Result<()> {
                for _ in 0..iters {
                    let t = Instant::now();
                    core::hint::black_box(r_attention(
                        &params,
                        qi,
                        ki,
                        vi,
                        AttentionMode::Verifiable,
                        Backend::Auto,
                        threads,
                    )?);
                    samples.push(t.elapsed().as_secs_f64());
                }
                Ok(())
            })
            .py()?;
        }
        "verify_batch" => {
            let receipts: Vec<PyRef<'_, crate::messages::SignedReceipt>> = arg(0)?.extract()?;
            let items: Vec<_> = receipts.iter().map(|r| r.inner.clone()).collect();
            py.detach(|| -> PyResult<()> {
                for _ in 0..iters {
                    let t = Instant::now();
                    core::hint::black_box(mycel_protocol::sign::verify_signed_batch(&items).py()?);
                    samples.push(t.elapsed().as_secs_f64());
                }
                Ok(())
            })?;
        }
        other => return Err(errors::argument(format!("op: unknown {other:?}"))),
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples.get(samples.len() / 2).copied().unwrap_or(0.0))
}

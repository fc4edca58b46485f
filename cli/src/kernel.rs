//! `mycel kernel …`: run the work kernels on files (spec/kernels.md).
//!
//! One clap subcommand per operation; each is a small function below. Arrays travel as `.npy`
//! (read and written with `npyz`), quantized weights as bare GGML blocks, row after row, no
//! header: byte for byte what GGML stores for that tensor. `--backend` selects the
//! implementation, so anyone can check from the shell that backends agree bit for bit.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use mycel_kernels::Backend;
use mycel_kernels::matmul::{Weights, matmul};
use mycel_kernels::quant::{
    BlockQ4_0, BlockQ8_0, QuantFormat, dequantize_q4_0, dequantize_q8_0, quantize_q4_0,
    quantize_q8_0,
};
use npyz::WriterBuilder;

use crate::fsio::write_atomic;
pub use crate::npy::NpyArray;

use crate::CliResult;

/// `mycel kernel`: quantize, dequantize and multiply on files.
#[derive(Debug, Args)]
pub struct KernelArgs {
    #[command(subcommand)]
    op: KernelOp,
}

/// One variant per kernel operation.
#[derive(Debug, Subcommand)]
enum KernelOp {
    /// Quantize a float32 .npy ([rows, K] or [K]) into bare GGML blocks.
    Quantize(QuantizeArgs),
    /// Dequantize bare GGML blocks (rows of K) into a float32 .npy [rows, K].
    Dequantize(DequantizeArgs),
    /// Y = X · Wᵀ: X float32 .npy [M, K] (or [K]), W bare GGML blocks [N, K]; writes Y [M, N].
    Matmul(MatmulArgs),
    /// Scaled dot-product attention: Q [n_heads, q_len, D], K/V [n_kv_heads, kv_len, D] .npy
    /// (float32 or float16) to a float32 .npy like Q.
    Attention(crate::kernel_attention::AttentionArgs),
}

/// Weight format on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// GGML Q8_0 (34-byte blocks).
    #[value(name = "q8_0")]
    Q8_0,
    /// GGML Q4_0 (18-byte blocks).
    #[value(name = "q4_0")]
    Q4_0,
}

impl From<FormatArg> for QuantFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Q8_0 => QuantFormat::Q8_0,
            FormatArg::Q4_0 => QuantFormat::Q4_0,
        }
    }
}

/// Parse `scalar`, `avx2`, `auto`, `cuda` or `cuda:N` (clap value parser).
pub fn parse_backend(s: &str) -> Result<Backend, String> {
    Backend::parse(s)
        .ok_or_else(|| format!("unknown backend {s:?} (scalar, avx2, auto, cuda, cuda:N)"))
}

#[derive(Debug, Args)]
struct QuantizeArgs {
    /// Block format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Input .npy, float32, shape [rows, K] or [K]; K a multiple of 32.
    input: PathBuf,
    /// Output file: the blocks, row after row.
    output: PathBuf,
}

#[derive(Debug, Args)]
struct DequantizeArgs {
    /// Block format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Row length K (a multiple of 32).
    #[arg(long)]
    k: usize,
    /// Input file of bare blocks.
    input: PathBuf,
    /// Output .npy, float32 [rows, K].
    output: PathBuf,
}

#[derive(Debug, Args)]
struct MatmulArgs {
    /// Weight block format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// scalar, avx2, auto, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Worker threads (0 = all CPUs).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Activations .npy, float32 [M, K] or [K].
    x: PathBuf,
    /// Weights: bare blocks of an [N, K] matrix.
    w: PathBuf,
    /// Output .npy, float32 [M, N].
    output: PathBuf,
}

/// Dispatch `mycel kernel <op>`.
pub fn run(args: KernelArgs) -> CliResult {
    match args.op {
        KernelOp::Quantize(a) => quantize(a),
        KernelOp::Dequantize(a) => dequantize(a),
        KernelOp::Matmul(a) => matmul_cmd(a),
        KernelOp::Attention(a) => crate::kernel_attention::run(a),
    }
}

fn quantize(a: QuantizeArgs) -> CliResult {
    let (shape, x) = read_npy_f32(&a.input)?;
    let (rows, k) = as_matrix(&shape, &a.input)?;
    let bytes: Vec<u8> = match QuantFormat::from(a.format) {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&x, k)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&x, k)?).to_vec(),
    };
    write_atomic(&a.output, &bytes)?;
    eprintln!(
        "quantized [{rows}, {k}] to {} bytes of {:?}",
        bytes.len(),
        a.format
    );
    Ok(ExitCode::SUCCESS)
}

fn dequantize(a: DequantizeArgs) -> CliResult {
    let format = QuantFormat::from(a.format);
    let bytes = crate::fsio::read_limited(
        &a.input,
        crate::fsio::BLOCKS_FILE_LIMIT,
        "a GGML block file",
    )?;
    let w = Weights::from_bytes(format, &bytes, a.k)?;
    let values = match format {
        QuantFormat::Q8_0 => dequantize_q8_0(
            bytemuck::try_cast_slice::<u8, BlockQ8_0>(&bytes).map_err(|e| e.to_string())?,
        ),
        QuantFormat::Q4_0 => dequantize_q4_0(
            bytemuck::try_cast_slice::<u8, BlockQ4_0>(&bytes).map_err(|e| e.to_string())?,
        ),
    };
    write_npy_f32(&a.output, &[w.n(), a.k], &values)?;
    Ok(ExitCode::SUCCESS)
}

fn matmul_cmd(a: MatmulArgs) -> CliResult {
    let (shape, x) = read_npy_f32(&a.x)?;
    let (m, k) = as_matrix(&shape, &a.x)?;
    let bytes =
        crate::fsio::read_limited(&a.w, crate::fsio::BLOCKS_FILE_LIMIT, "a GGML block file")?;
    let w = Weights::from_bytes(a.format.into(), &bytes, k)?;
    let y = matmul(&x, m, &w, a.backend, a.threads)?;
    write_npy_f32(&a.output, &[m, w.n()], &y)?;
    Ok(ExitCode::SUCCESS)
}

/// `[rows, K]` from a 1-D or 2-D shape.
fn as_matrix(shape: &[usize], path: &Path) -> Result<(usize, usize), String> {
    match *shape {
        [k] => Ok((1, k)),
        [rows, k] => Ok((rows, k)),
        _ => Err(format!(
            "{}: expected a 1-D or 2-D array, got shape {shape:?}",
            path.display()
        )),
    }
}

/// Read a C-order `.npy` of float32 or float16: `(shape, data)`, bounded as
/// [`crate::npy::parse`] says.
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, NpyArray), String> {
    let err = |e: &dyn core::fmt::Display| format!("{}: {e}", path.display());
    let file_len = fs::metadata(path).map_err(|e| err(&e))?.len();
    let f = fs::File::open(path).map_err(|e| err(&e))?;
    crate::npy::parse(std::io::BufReader::new(f), file_len).map_err(|e| err(&e))
}

/// Read a float32 `.npy` (float16 is rejected here: matmul inputs are float32).
pub fn read_npy_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>), String> {
    match read_npy(path)? {
        (shape, NpyArray::F32(v)) => Ok((shape, v)),
        (_, NpyArray::F16(_)) => Err(format!("{}: expected float32, got float16", path.display())),
    }
}

/// Write a float32 `.npy` (C order), through a temporary file renamed into place so a failure
/// leaves nothing half-written.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), String> {
    let mut buf = Vec::with_capacity(data.len() * 4 + 128);
    {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(BufWriter::new(&mut buf))
            .begin_nd()
            .map_err(|e| e.to_string())?;
        w.extend(data.iter().copied()).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    write_atomic(path, &buf)
}

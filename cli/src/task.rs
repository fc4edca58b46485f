//! `mycel task new`: write a self-contained TaskSpec envelope whose inputs and weights derive
//! from a seed (spec/kernels.md §5, "Seeded weights").
//!
//! `mycel task run SPEC_FILE`: execute a task and print its output commitment
//! (spec/kernels.md §5).
//!
//! `mycel task open SPEC_FILE --tile N --out FILE`: the miner's answer to a tile challenge:
//! execute the task and write the canonical opening of output tile N (its bytes and Merkle path
//! under the tile root, spec/receipts.md §8b).
//!
//! SPEC_FILE holds a canonical `TaskSpec` envelope (spec/wire.md), as raw bytes or as hex text.
//! Matmul tasks need their weights: `--weights FILE` (bare GGML blocks) or `--weights-seed HEX`
//! (weights generated from a 32-byte seed, spec/kernels.md §5 "Generated weights"); either way
//! their SHA-256 must equal the task's weights digest. Without either, the weights are the task's
//! seeded weights (tasks from `mycel task new`). stdout gets the commitment in hex;
//! stderr gets the tile root and a summary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mycel_kernels::Backend;
use mycel_node::task::TaskWeights;
use mycel_protocol::task::TaskSpec;

use crate::CliResult;
use crate::kernel::{parse_backend, write_npy_f32};

/// `mycel task`: work units.
#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    op: TaskOp,
}

#[derive(Debug, Subcommand)]
enum TaskOp {
    /// Write a self-contained task (inputs and weights from --seed) as a TaskSpec envelope.
    New(NewArgs),
    /// Execute a task and print its output commitment (hex).
    Run(RunArgs),
    /// Execute a task and write the opening of one output tile (a miner answering a challenge).
    Open(OpenArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KernelArg {
    #[value(name = "matmul-q8_0")]
    MatmulQ8_0,
    #[value(name = "matmul-q4_0")]
    MatmulQ4_0,
    Attention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DtypeArg {
    F32,
    F16,
    Bf16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    Verifiable,
    Fast,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The kernel.
    #[arg(long)]
    kernel: KernelArg,
    /// The task seed (64 hex digits): the input seed, and the source of matmul weights.
    #[arg(long)]
    seed: String,
    /// Where to write the TaskSpec envelope (raw bytes; never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Matmul: activation rows.
    #[arg(long, default_value_t = 8)]
    m: u32,
    /// Matmul: weight rows (output features).
    #[arg(long, default_value_t = 256)]
    n: u32,
    /// Matmul: inner dimension (a multiple of 32).
    #[arg(long, default_value_t = 256)]
    k: u32,
    /// Attention: query heads.
    #[arg(long, default_value_t = 4)]
    heads: u32,
    /// Attention: key/value heads (divides --heads).
    #[arg(long, default_value_t = 2)]
    kv_heads: u32,
    /// Attention: query positions.
    #[arg(long, default_value_t = 16)]
    q_len: u32,
    /// Attention: key/value positions.
    #[arg(long, default_value_t = 256)]
    kv_len: u32,
    /// Attention: head dimension (64 or 128).
    #[arg(long, default_value_t = 64)]
    head_dim: u32,
    /// Attention: input dtype.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    dtype: DtypeArg,
    /// Attention: verifiable (bit-defined) or fast.
    #[arg(long, value_enum, default_value_t = ModeArg::Verifiable)]
    mode: ModeArg,
    /// Attention: causal mask.
    #[arg(long)]
    causal: bool,
    /// Matmul: kernel version 1 (weights digest = SHA-256 of the matrix) or 2 (Merkle root over
    /// the weight rows: tile fraud proofs carry only a tile's rows).
    #[arg(long, default_value_t = 1)]
    kernel_version: u16,
    /// Network id (64 hex digits; default all zeros).
    #[arg(long)]
    network: Option<String>,
    /// Subnet id.
    #[arg(long, default_value_t = 1)]
    subnet: u16,
    /// Epoch.
    #[arg(long, default_value_t = 0)]
    epoch: u64,
}

#[derive(Debug, Args)]
struct OpenArgs {
    #[command(flatten)]
    run: RunArgs,
    /// The output tile to open (row-major over the 16 x 256 tile grid).
    #[arg(long)]
    tile: u64,
    /// Where to write the canonical opening (raw bytes; never overwritten).
    #[arg(long = "opening", value_name = "FILE")]
    opening: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The TaskSpec envelope: raw bytes or hex text.
    spec: PathBuf,
    /// The weights as bare GGML blocks.
    #[arg(long, conflicts_with = "weights_seed")]
    weights: Option<PathBuf>,
    /// Generate the weights from this 32-byte seed (64 hex digits) instead of reading a file.
    #[arg(long)]
    weights_seed: Option<String>,
    /// scalar, avx2, auto, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Worker threads (0 = all CPUs).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write the output tensor to this .npy file (float32).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Dispatch `mycel task <op>`.
pub fn run(args: TaskArgs) -> CliResult {
    match args.op {
        TaskOp::New(a) => new_task(a),
        TaskOp::Run(a) => run_task(a),
        TaskOp::Open(a) => open_tile(a),
    }
}

/// A 32-byte argument given as 64 hex digits (surrounding whitespace ignored); the error names
/// the flag `what`.
pub fn hex32(what: &str, s: &str) -> Result<[u8; 32], String> {
    hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} must be 64 hex digits"))
}

fn new_task(a: NewArgs) -> CliResult {
    use mycel_kernels::quant::QuantFormat;
    use mycel_node::task::{AttentionShape, TaskScope, attention_task, matmul_task_version};
    use mycel_protocol::ids::{Epoch, NetworkId, SubnetId};
    use mycel_protocol::task::{AttnDtype, AttnMode};

    let seed = hex32("--seed", &a.seed)?;
    let scope = TaskScope {
        network: NetworkId(match &a.network {
            Some(n) => hex32("--network", n)?,
            None => [0; 32],
        }),
        subnet: SubnetId(a.subnet),
        epoch: Epoch(a.epoch),
    };
    let task = match a.kernel {
        KernelArg::MatmulQ8_0 => matmul_task_version(
            scope,
            QuantFormat::Q8_0,
            [a.m, a.n, a.k],
            seed,
            a.kernel_version,
        )?,
        KernelArg::MatmulQ4_0 => matmul_task_version(
            scope,
            QuantFormat::Q4_0,
            [a.m, a.n, a.k],
            seed,
            a.kernel_version,
        )?,
        KernelArg::Attention if a.kernel_version != 1 => {
            return Err("--kernel-version 2 applies to matmul tasks only".into());
        }
        KernelArg::Attention => attention_task(
            scope,
            AttentionShape {
                n_heads: a.heads,
                n_kv_heads: a.kv_heads,
                q_len: a.q_len,
                kv_len: a.kv_len,
                head_dim: a.head_dim,
                causal: a.causal,
                dtype: match a.dtype {
                    DtypeArg::F32 => AttnDtype::F32,
                    DtypeArg::F16 => AttnDtype::F16,
                    DtypeArg::Bf16 => AttnDtype::Bf16,
                },
                mode: match a.mode {
                    ModeArg::Verifiable => AttnMode::Verifiable,
                    ModeArg::Fast => AttnMode::Fast,
                },
            },
            seed,
        )?,
    };
    let bytes = task.encode()?;
    crate::fsio::write_new(&a.out, &bytes, false)?;
    println!("{}", task.digest()?);
    eprintln!(
        "{}: {} bytes, {:?} {:?}, {} compute units",
        a.out.display(),
        bytes.len(),
        task.kernel,
        task.params,
        task.compute_units()?
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a task file: a canonical `TaskSpec` envelope as raw bytes, or the same bytes as hex
/// text (whitespace ignored). Every command that takes a task file (`task run`, `task open`,
/// `receipt sign`, `receipt verify --task`, `fraud prove`) reads it through here, so they all
/// accept the same two forms and name the file and the envelope's error code on failure.
pub fn read_task(path: &std::path::Path) -> Result<TaskSpec, String> {
    let raw = crate::fsio::read_limited(path, crate::fsio::TASK_FILE_LIMIT, "a task file")?;
    let invalid = |e: &mycel_protocol::Error| {
        format!(
            "{}: not a valid TaskSpec envelope (raw bytes or hex text): {e} ({})",
            path.display(),
            e.code()
        )
    };
    match TaskSpec::decode(&raw) {
        Ok(t) => Ok(t),
        Err(first) => {
            let text: String = String::from_utf8_lossy(&raw).split_whitespace().collect();
            match hex::decode(&text).ok().map(|b| TaskSpec::decode(&b)) {
                Some(Ok(t)) => Ok(t),
                Some(Err(e)) => Err(invalid(&e)),
                None => Err(invalid(&first)),
            }
        }
    }
}

/// The weights `--weights FILE` (its bytes) or `--weights-seed HEX` name (clap allows one);
/// neither: the task's own seeded weights. Shared by `task run` and `fraud prove`.
pub fn weights_source<'a>(
    file: Option<&'a [u8]>,
    seed_hex: Option<&str>,
) -> Result<TaskWeights<'a>, String> {
    let seed = seed_hex.map(|h| hex32("--weights-seed", h)).transpose()?;
    TaskWeights::given(file, seed).map_err(|e| e.to_string())
}

/// Adds the CLI's flags to the node's "this task needs weights" refusal.
pub fn explain_weights(e: mycel_node::Error, source: TaskWeights<'_>) -> String {
    match (&e, source) {
        (mycel_node::Error::InvalidArgument(_), TaskWeights::Seeded) => {
            format!("{e}: pass --weights FILE or --weights-seed HEX")
        }
        _ => e.to_string(),
    }
}

/// Execute the task of `a` with the weights its flags name.
fn execute_args(
    a: &RunArgs,
) -> Result<(TaskSpec, mycel_kernels::exec::TaskOutput), Box<dyn core::error::Error>> {
    let task = read_task(&a.spec)?;
    let file = a
        .weights
        .as_deref()
        .map(|p| crate::fsio::read_limited(p, crate::fsio::BLOCKS_FILE_LIMIT, "a weights file"))
        .transpose()?;
    let source = weights_source(file.as_deref(), a.weights_seed.as_deref())?;
    let out = mycel_node::task::execute_with(&task, source, a.backend, a.threads)
        .map_err(|e| explain_weights(e, source))?;
    Ok((task, out))
}

fn run_task(a: RunArgs) -> CliResult {
    let (_, out) = execute_args(&a)?;
    if let Some(path) = &a.out {
        let values: &[f32] =
            bytemuck::try_cast_slice(out.output.as_bytes()).map_err(|e| e.to_string())?;
        write_npy_f32(path, out.output.shape(), values)?;
    }
    println!("{}", out.commitment);
    eprintln!(
        "output {:?} f32, tile root {}",
        out.output.shape(),
        out.tile_root
    );
    Ok(ExitCode::SUCCESS)
}

fn open_tile(a: OpenArgs) -> CliResult {
    let (_, out) = execute_args(&a.run)?;
    let opening = mycel_node::tile_proof::open_tile(&out.output, a.tile)?;
    let bytes = opening.encode()?;
    crate::fsio::write_new(&a.opening, &bytes, false)?;
    println!("{}", mycel_protocol::commit::leaf_hash(&opening.tile));
    eprintln!(
        "{}: tile {} of {} ({} bytes), under tile root {}",
        a.opening.display(),
        opening.index,
        opening.tile_count,
        opening.tile.len(),
        out.tile_root
    );
    Ok(ExitCode::SUCCESS)
}

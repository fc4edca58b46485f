//! `mycel task run SPEC_FILE`: execute a task and print its output commitment
//! (spec/kernels.md §5).
//!
//! SPEC_FILE holds a canonical `TaskSpec` envelope (spec/wire.md), as raw bytes or as hex text.
//! Matmul tasks need their weights: `--weights FILE` (bare GGML blocks) or `--weights-seed HEX`
//! (weights generated from a 32-byte seed, spec/kernels.md §5 "Generated weights"); either way
//! their SHA-256 must equal the task's weights digest. stdout gets the commitment in hex;
//! stderr gets the tile root and a summary.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mycel_kernels::Backend;
use mycel_kernels::exec::{execute, generate_weights, weight_format};
use mycel_protocol::task::{KernelParams, TaskSpec};

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
    /// Execute a task and print its output commitment (hex).
    Run(RunArgs),
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
        TaskOp::Run(a) => run_task(a),
    }
}

/// Decode a task file: raw envelope bytes, or the same as hex text (whitespace ignored).
fn read_task(path: &PathBuf) -> Result<TaskSpec, String> {
    let raw = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match TaskSpec::decode(&raw) {
        Ok(t) => Ok(t),
        Err(first) => {
            let text: String = String::from_utf8_lossy(&raw).split_whitespace().collect();
            match hex::decode(&text).ok().map(|b| TaskSpec::decode(&b)) {
                Some(Ok(t)) => Ok(t),
                Some(Err(e)) => Err(format!(
                    "{}: not a valid TaskSpec envelope: {e}",
                    path.display()
                )),
                None => Err(format!(
                    "{}: not a valid TaskSpec envelope: {first}",
                    path.display()
                )),
            }
        }
    }
}

fn run_task(a: RunArgs) -> CliResult {
    let task = read_task(&a.spec)?;
    let weights = match (
        &a.weights,
        &a.weights_seed,
        weight_format(task.kernel),
        task.params,
    ) {
        (Some(path), _, _, _) => {
            Some(fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        (None, Some(seed_hex), Some(format), KernelParams::Matmul { n, k, .. }) => {
            let seed: [u8; 32] = hex::decode(seed_hex.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or("--weights-seed must be 64 hex digits")?;
            Some(generate_weights(&seed, format, n as usize, k as usize)?)
        }
        (None, Some(_), _, _) => return Err("--weights-seed applies to matmul tasks only".into()),
        (None, None, Some(_), _) => {
            return Err(
                "this task needs weights: pass --weights FILE or --weights-seed HEX".into(),
            );
        }
        (None, None, None, _) => None,
    };
    let out = execute(&task, weights.as_deref(), a.backend, a.threads)?;
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

//! `mycel kernel attention`: scaled dot-product attention on `.npy` files
//! (spec/kernels.md, "Attention").
//!
//! Q is `[n_heads, q_len, head_dim]`, K and V are `[n_kv_heads, kv_len, head_dim]` (float32 or
//! float16 each; bf16 has no `.npy` dtype), the output is float32 `[n_heads, q_len, head_dim]`.
//! In verifiable mode every `--backend` writes byte-identical files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mycel_kernels::Backend;
use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};

use crate::CliResult;
use crate::kernel::{NpyArray, parse_backend, read_npy, write_npy_f32};

/// Attention mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The determinism contract: identical bits on every backend.
    Verifiable,
    /// Reordered for speed; within the spec's tolerance of verifiable mode.
    Fast,
}

/// `mycel kernel attention`.
#[derive(Debug, Args)]
pub struct AttentionArgs {
    /// verifiable (bit-identical on every backend) or fast.
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// scalar, avx2, auto, cuda or cuda:N.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Apply the causal mask (query i sees keys 0..=kv_len - q_len + i).
    #[arg(long)]
    causal: bool,
    /// Number of KV heads; must equal K's first dimension (a check, K's shape decides).
    #[arg(long)]
    kv_heads: Option<usize>,
    /// Score scale (default 1/sqrt(head_dim), computed in f32).
    #[arg(long)]
    scale: Option<f32>,
    /// Worker threads (0 = all CPUs).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Queries .npy, float32 or float16, [n_heads, q_len, head_dim].
    q: PathBuf,
    /// Keys .npy, float32 or float16, [n_kv_heads, kv_len, head_dim].
    k: PathBuf,
    /// Values .npy, float32 or float16, [n_kv_heads, kv_len, head_dim].
    v: PathBuf,
    /// Output .npy, float32 [n_heads, q_len, head_dim].
    output: PathBuf,
}

/// A 3-D shape or a message naming the file.
fn shape3(shape: &[usize], path: &Path, what: &str) -> Result<[usize; 3], String> {
    match *shape {
        [a, b, c] => Ok([a, b, c]),
        _ => Err(format!(
            "{}: {what} must be a 3-D array [heads, len, head_dim], got shape {shape:?}",
            path.display()
        )),
    }
}

fn as_input(a: &NpyArray) -> AttnInput<'_> {
    match a {
        NpyArray::F32(x) => AttnInput::F32(x),
        NpyArray::F16(x) => AttnInput::F16(x),
    }
}

/// Run `mycel kernel attention`.
pub fn run(a: AttentionArgs) -> CliResult {
    let (qs, q) = read_npy(&a.q)?;
    let (ks, k) = read_npy(&a.k)?;
    let (vs, v) = read_npy(&a.v)?;
    let [n_heads, q_len, d] = shape3(&qs, &a.q, "Q")?;
    let [n_kv, kv_len, dk] = shape3(&ks, &a.k, "K")?;
    if vs != ks {
        return Err(format!(
            "{}: V has shape {vs:?} but K has shape {ks:?}; they must be equal",
            a.v.display()
        )
        .into());
    }
    if dk != d {
        return Err(format!("head_dim differs: Q has {d}, K and V have {dk}").into());
    }
    if let Some(n) = a.kv_heads
        && n != n_kv
    {
        return Err(
            format!("--kv-heads {n} does not match K's shape {ks:?} ({n_kv} KV heads)").into(),
        );
    }
    let mut params = AttentionParams::new(n_heads, n_kv, q_len, kv_len, d).causal(a.causal);
    if let Some(s) = a.scale {
        params = params.with_scale(s);
    }
    let mode = match a.mode {
        ModeArg::Verifiable => AttentionMode::Verifiable,
        ModeArg::Fast => AttentionMode::Fast,
    };
    let out = attention(
        &params,
        as_input(&q),
        as_input(&k),
        as_input(&v),
        mode,
        a.backend,
        a.threads,
    )?;
    write_npy_f32(&a.output, &[n_heads, q_len, d], &out)?;
    eprintln!(
        "attention {} ({:?} backend): Q [{n_heads}, {q_len}, {d}], K/V [{n_kv}, {kv_len}, {d}]{} -> {}",
        mode.label(),
        a.backend,
        if a.causal { ", causal" } else { "" },
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

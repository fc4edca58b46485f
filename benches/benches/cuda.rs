//! GPU benchmarks of the CUDA backend (feature `cuda`), in one run with their references:
//!
//! * device-to-device copy bandwidth (the HBM reference for the matvec goal);
//! * Q4_0 / Q8_0 matvec, M = 1, K = 4096, N = 11008: weight GB/s, round-robin over enough
//!   weight copies that they do not fit in L2 (so the number is HBM, not cache);
//! * Q4_0 / Q8_0 prefill, M = 512: TFLOP/s (2·M·N·K per call), activation quantization
//!   included and separately;
//! * Philox generation of the M = 512 activations;
//! * attention, verifiable and fast mode (32 heads, 8 KV heads, head_dim 128, f32 on device):
//!   prefill 2048 causal (TFLOP/s) and decode against 8192 keys (GB/s of K and V).
//!
//! Prints one JSON object per line on stdout (`{"bench": ..., "value": ..., "unit": ...}`) and a
//! readable line per result on stderr. The PyTorch references (int8 `_int_mm` peak,
//! dequantize-then-bf16 matmul, SDPA) are measured by benches/gpu/torch_ref.py in the same
//! `scripts/gpu-check` run. Without a device it prints SKIP and succeeds, unless `MYCEL_REQUIRE_GPU=1` (then any
//! failure, a missing device included, exits with status 2).
//!
//! Run: `cargo bench -p mycel-benches --features cuda --bench cuda` (on a machine with a GPU), or
//! through `scripts/gpu-check`, which builds it here and runs it on a lent device.

use std::process::ExitCode;
use std::time::Instant;

use mycel_benches::median_per_call;
use mycel_kernels::attention::{AttentionMode, AttentionParams};
use mycel_kernels::cuda::{CudaDevice, DeviceTensor, DeviceWeights};
use mycel_kernels::philox::generate_uniform;
use mycel_kernels::quant::{QuantFormat, quantize_q4_0, quantize_q8_0};

type Res<T> = Result<T, mycel_kernels::Error>;

fn emit(bench: &str, value: f64, unit: &str, extra: &str) {
    println!(
        "{{\"bench\": \"{bench}\", \"value\": {value:.6}, \"unit\": \"{unit}\"{}{extra}}}",
        if extra.is_empty() { "" } else { ", " }
    );
    eprintln!("{bench:<44} {value:>12.3} {unit}  {extra}");
}

fn weight_bytes(format: QuantFormat, n: usize, k: usize, seed: u8) -> Res<Vec<u8>> {
    let w = generate_uniform(&[seed; 32], 9, n * k)?;
    Ok(match format {
        QuantFormat::Q8_0 => bytemuck::cast_slice(&quantize_q8_0(&w, k)?).to_vec(),
        QuantFormat::Q4_0 => bytemuck::cast_slice(&quantize_q4_0(&w, k)?).to_vec(),
    })
}

fn weights(
    dev: &CudaDevice,
    format: QuantFormat,
    n: usize,
    k: usize,
    seed: u8,
) -> Res<DeviceWeights> {
    dev.upload_weights(format, n, k, &weight_bytes(format, n, k, seed)?)
}

fn copy_bandwidth(dev: &CudaDevice) -> Res<f64> {
    let len = 256 << 20; // 1 GiB of f32
    let src = dev.zeros_f32(len)?;
    let mut dst: DeviceTensor = dev.zeros_f32(len)?;
    let t = median_per_call(2, 5, 10, || {
        dev.copy_f32(&src, &mut dst)?;
        dev.synchronize()
    })?;
    // a copy reads and writes every byte
    let gbs = 2.0 * (len * 4) as f64 / t.as_secs_f64() / 1e9;
    emit(
        "d2d_copy_1GiB",
        gbs,
        "GB/s",
        "\"note\": \"read+write bytes\"",
    );
    Ok(gbs)
}

fn matvec(dev: &CudaDevice, format: QuantFormat, copy_gbs: f64) -> Res<()> {
    let (n, k) = (11008, 4096);
    let host = weight_bytes(format, n, k, 1)?;
    let first = dev.upload_weights(format, n, k, &host)?;
    let bytes = first.bytes();
    // enough copies at distinct addresses to exceed a 50 MB L2 several times over (the same
    // contents: caches key on addresses)
    let copies = (256usize << 20).div_ceil(bytes).max(2);
    let mut ws = vec![first];
    for _ in 1..copies {
        ws.push(dev.upload_weights(format, n, k, &host)?);
    }
    let x = dev.generate_uniform(&[7; 32], 0, 0, k)?;
    let a = dev.quantize_q8_0(&x, 1, k)?;
    let mut out = dev.zeros_f32(n)?;
    let t = median_per_call(3, 7, 20, || {
        for w in &ws {
            dev.matmul_into(w, &a, &mut out)?;
        }
        dev.synchronize()
    })?;
    let per_call = t.as_secs_f64() / copies as f64;
    let gbs = bytes as f64 / per_call / 1e9;
    let name = format!("matvec_{}_m1_k4096_n11008", format.name());
    emit(
        &name,
        gbs,
        "GB/s",
        &format!(
            "\"us_per_call\": {:.2}, \"weight_bytes\": {bytes}, \"copies\": {copies}, \"pct_of_copy_bw\": {:.1}",
            per_call * 1e6,
            100.0 * gbs / copy_gbs
        ),
    );
    // one call with its own synchronization: the latency a single layer sees
    let t1 = median_per_call(3, 7, 50, || {
        dev.matmul_into(&ws[0], &a, &mut out)?;
        dev.synchronize()
    })?;
    emit(
        &format!("{name}_single_call_latency"),
        t1.as_secs_f64() * 1e6,
        "us",
        "\"note\": \"launch + kernel + synchronize, weights possibly L2-resident\"",
    );
    Ok(())
}

fn prefill(dev: &CudaDevice, format: QuantFormat) -> Res<()> {
    let (m, n, k) = (512, 11008, 4096);
    let w = weights(dev, format, n, k, 3)?;
    let x = dev.generate_uniform(&[9; 32], 0, 0, m * k)?;
    let mut a = dev.quantize_q8_0(&x, m, k)?;
    let mut out = dev.zeros_f32(m * n)?;
    let flop = 2.0 * (m * n * k) as f64;
    let t = median_per_call(3, 7, 10, || {
        dev.matmul_into(&w, &a, &mut out)?;
        dev.synchronize()
    })?;
    emit(
        &format!("prefill_{}_m512_k4096_n11008", format.name()),
        flop / t.as_secs_f64() / 1e12,
        "TFLOP/s",
        &format!("\"ms_per_call\": {:.4}", t.as_secs_f64() * 1e3),
    );
    let tq = median_per_call(3, 7, 10, || {
        dev.quantize_q8_0_into(&x, &mut a)?;
        dev.matmul_into(&w, &a, &mut out)?;
        dev.synchronize()
    })?;
    emit(
        &format!("prefill_{}_m512_with_quantize", format.name()),
        flop / tq.as_secs_f64() / 1e12,
        "TFLOP/s",
        &format!("\"ms_per_call\": {:.4}", tq.as_secs_f64() * 1e3),
    );
    Ok(())
}

fn attention(dev: &CudaDevice) -> Res<()> {
    // issue 6 shapes: 32 heads, 8 KV heads, head_dim 128; prefill 2048 causal, decode kv 8192
    let prefill = AttentionParams::new(32, 8, 2048, 2048, 128).causal(true);
    let decode = AttentionParams::new(32, 8, 1, 8192, 128);
    for (name, p, mode) in [
        (
            "attention_verifiable_h32_kv8_d128_s2048_causal",
            prefill,
            AttentionMode::Verifiable,
        ),
        (
            "attention_fast_h32_kv8_d128_s2048_causal",
            prefill,
            AttentionMode::Fast,
        ),
        (
            "attention_verifiable_decode_kv8192",
            decode,
            AttentionMode::Verifiable,
        ),
        ("attention_fast_decode_kv8192", decode, AttentionMode::Fast),
    ] {
        let q = dev.generate_uniform(&[5; 32], 1, 0, p.q_elems()?)?;
        let k = dev.generate_uniform(&[5; 32], 2, 0, p.kv_elems()?)?;
        let v = dev.generate_uniform(&[5; 32], 3, 0, p.kv_elems()?)?;
        let mut out = dev.zeros_f32(p.q_elems()?)?;
        let t = median_per_call(1, 5, 3, || {
            dev.attention_into(&p, &q, &k, &v, mode, &mut out)?;
            dev.synchronize()
        })?;
        if p.q_len == 1 {
            // f32 K and V bytes read per call
            let bytes = 2 * p.kv_elems()? * 4;
            emit(
                name,
                bytes as f64 / t.as_secs_f64() / 1e9,
                "GB/s",
                &format!(
                    "\"us_per_call\": {:.2}, \"note\": \"f32 K+V bytes\"",
                    t.as_secs_f64() * 1e6
                ),
            );
        } else {
            let flops = 4.0 * (p.q_len * p.kv_len * p.head_dim * p.n_heads) as f64 / 2.0;
            emit(
                name,
                flops / t.as_secs_f64() / 1e12,
                "TFLOP/s",
                &format!(
                    "\"ms_per_call\": {:.3}, \"note\": \"causal: half the QK and PV flops\"",
                    t.as_secs_f64() * 1e3
                ),
            );
        }
    }
    Ok(())
}

fn run() -> Res<()> {
    let dev = CudaDevice::open(0)?;
    let (major, minor) = dev.compute_capability();
    emit(
        "device",
        f64::from(major * 10 + minor),
        "sm",
        &format!("\"name\": \"{}\"", dev.name().replace('"', "'")),
    );
    let t = Instant::now();
    dev.warm_up()?;
    emit(
        "nvrtc_compile_all_kernels",
        t.elapsed().as_secs_f64() * 1e3,
        "ms",
        "",
    );
    let copy = copy_bandwidth(&dev)?;
    matvec(&dev, QuantFormat::Q4_0, copy)?;
    matvec(&dev, QuantFormat::Q8_0, copy)?;
    prefill(&dev, QuantFormat::Q4_0)?;
    prefill(&dev, QuantFormat::Q8_0)?;
    attention(&dev)?;
    let len = 512 * 4096;
    let tg = median_per_call(3, 7, 20, || {
        let _x = dev.generate_uniform(&[1; 32], 0, 0, len)?;
        dev.synchronize()
    })?;
    emit(
        "philox_generate_2M_f32",
        (len * 4) as f64 / tg.as_secs_f64() / 1e9,
        "GB/s",
        &format!("\"us_per_call\": {:.2}", tg.as_secs_f64() * 1e6),
    );
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    if !mycel_kernels::cuda::available() && std::env::var("MYCEL_REQUIRE_GPU").as_deref() != Ok("1")
    {
        eprintln!("SKIP cuda bench: no CUDA driver or device on this machine");
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cuda bench: {e} ({})", e.code());
            ExitCode::from(2)
        }
    }
}

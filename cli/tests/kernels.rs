//! `mycel kernel …` and `mycel task run` through the binary: files in, files out, bit-identical
//! backends, clear errors (exit status 1, no panic) on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mycel_kernels::cpu;
use mycel_kernels::quant::{dequantize_q8_0, quantize_q4_0, quantize_q8_0};
use mycel_protocol::ids::{Digest, Epoch, NetworkId, SubnetId};
use mycel_protocol::task::{KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use npyz::WriterBuilder;

fn mycel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
        .args(args)
        .output()
        .unwrap()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mycel-cli-kernels-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_npy(path: &Path, shape: &[u64], data: &[f32]) {
    std::fs::write(path, npy_bytes(shape, data)).unwrap();
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let f = npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap();
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().unwrap())
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exit status 1 with an `error:` line: a handled error, not a panic (101) or usage error (2).
fn fails_cleanly(out: &Output, needle: &str) {
    fails_cleanly_as("-", out, needle);
}

/// [`fails_cleanly`], naming the case in every failure message.
fn fails_cleanly_as(case: &str, out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "case {case}: stderr: {err}");
    assert!(err.starts_with("error: "), "case {case}: stderr: {err}");
    assert!(
        err.contains(needle),
        "case {case}: expected {needle:?} in {err}"
    );
    assert!(!err.contains("panicked"), "case {case}: {err}");
}

fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
        .collect()
}

#[test]
fn quantize_dequantize_round_trip_through_files() {
    let d = tmpdir("roundtrip");
    let x = values(4 * 64);
    write_npy(&d.join("x.npy"), &[4, 64], &x);
    for format in ["q8_0", "q4_0"] {
        let bin = d.join(format!("w.{format}.bin"));
        ok(&mycel(&[
            "kernel",
            "quantize",
            "--format",
            format,
            p(&d.join("x.npy")),
            p(&bin),
        ]));
        let bytes = std::fs::read(&bin).unwrap();
        let want: Vec<u8> = if format == "q8_0" {
            bytemuck::cast_slice(&quantize_q8_0(&x, 64).unwrap()).to_vec()
        } else {
            bytemuck::cast_slice(&quantize_q4_0(&x, 64).unwrap()).to_vec()
        };
        assert_eq!(bytes, want, "{format}: bare GGML blocks, row after row");
        assert_eq!(bytes.len(), 4 * 2 * if format == "q8_0" { 34 } else { 18 });
        let y = d.join(format!("y.{format}.npy"));
        ok(&mycel(&[
            "kernel",
            "dequantize",
            "--format",
            format,
            "--k",
            "64",
            p(&bin),
            p(&y),
        ]));
        let (shape, got) = read_npy(&y);
        assert_eq!(shape, vec![4, 64]);
        if format == "q8_0" {
            assert_eq!(got, dequantize_q8_0(&quantize_q8_0(&x, 64).unwrap()));
        }
        for (a, b) in x.iter().zip(&got) {
            assert!((a - b).abs() < 0.7, "{a} vs {b}");
        }
    }
}

#[test]
fn matmul_backends_are_byte_identical_through_the_cli() {
    let d = tmpdir("matmul");
    let (m, n, k) = (5, 19, 96);
    write_npy(&d.join("x.npy"), &[m, k], &values((m * k) as usize));
    write_npy(
        &d.join("wf.npy"),
        &[n, k],
        &values((n * k) as usize)
            .iter()
            .map(|v| v * 0.3)
            .collect::<Vec<_>>(),
    );
    for format in ["q8_0", "q4_0"] {
        let w = d.join(format!("w.{format}.bin"));
        ok(&mycel(&[
            "kernel",
            "quantize",
            "--format",
            format,
            p(&d.join("wf.npy")),
            p(&w),
        ]));
        let mut outputs = Vec::new();
        let mut backends = vec!["scalar", "auto"];
        if cpu::avx2_available() {
            backends.push("avx2");
        } else {
            eprintln!("skipping --backend avx2: this CPU lacks AVX2/FMA/F16C");
        }
        for backend in &backends {
            for threads in ["1", "3"] {
                let y = d.join(format!("y.{format}.{backend}.{threads}.npy"));
                ok(&mycel(&[
                    "kernel",
                    "matmul",
                    "--format",
                    format,
                    "--backend",
                    backend,
                    "--threads",
                    threads,
                    p(&d.join("x.npy")),
                    p(&w),
                    p(&y),
                ]));
                outputs.push(std::fs::read(&y).unwrap());
            }
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "{format}: outputs differ between backends"
        );
        let (shape, _) = read_npy(&d.join(format!("y.{format}.scalar.1.npy")));
        assert_eq!(shape, vec![m, n]);
    }
}

/// The bytes of an `.npy` file with a version 1.0 preamble around `header` (a newline is added).
fn npy_v1(header: &str) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16 + 1).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.push(b'\n');
    b
}

/// The bytes `write_npy` writes.
fn npy_bytes(shape: &[u64], data: &[f32]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut buf)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    buf
}

/// Every bad `.npy` input to `mycel kernel quantize`, one row a case: its name (also the file
/// name), the file's bytes (`None`: no file), the format, and the text the error must contain.
#[test]
fn bad_npy_inputs_fail_cleanly() {
    let d = tmpdir("bad-npy");
    let good = npy_bytes(&[2, 64], &values(128));
    // A version 2 preamble declaring a 2 GiB header in a 70-byte file (found by the npy_reader
    // fuzz target: npyz allocated the header before reading it).
    let mut huge_header = b"\x93NUMPY\x02\x00".to_vec();
    huge_header.extend_from_slice(&0x7ffc_ff8c_u32.to_le_bytes());
    huge_header.extend_from_slice(&[b' '; 58]);
    // A header that claims far more data than the file holds.
    let mut short = good.clone();
    let at = short.windows(6).position(|w| w == b"(2, 64").unwrap();
    short[at..at + 6].copy_from_slice(b"(9, 64");
    let mut nan = values(128);
    nan[77] = f32::NAN;
    let mut f64_array = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[32])
        .writer(&mut f64_array)
        .begin_nd()
        .unwrap();
    w.extend((0..32).map(f64::from)).unwrap();
    w.finish().unwrap();
    let cases: Vec<(&str, Option<Vec<u8>>, &str, &str)> = vec![
        ("missing", None, "q8_0", "missing.npy"),
        (
            "huge-header",
            Some(huge_header),
            "q8_0",
            "header of 2147286924 bytes exceeds the 65536-byte header limit",
        ),
        // Nested brackets in the header (the npy_reader fuzz target found npyz's header parser
        // exponential in them: this 285-byte-class file ran for minutes): refused at once.
        (
            "nested",
            Some(npy_v1(&format!(
                "{{'descr': '<f4', 'fortran_order': False, 'shape':{}{}",
                "{".repeat(60),
                " ".repeat(3)
            ))),
            "q8_0",
            "nested or repeated brackets",
        ),
        // A shape whose dimensions overflow 64 bits when multiplied (npyz multiplies unchecked;
        // found by the npy_reader fuzz target): refused by name.
        (
            "wide",
            Some(npy_v1(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 4, 0), }",
            )),
            "q8_0",
            "overflows 64 bits",
        ),
        (
            "garbage",
            Some(b"not an npy file at all".to_vec()),
            "q8_0",
            "garbage.npy",
        ),
        ("short", Some(short), "q8_0", "does not fit"),
        // K not a multiple of 32.
        (
            "k48",
            Some(npy_bytes(&[2, 48], &values(96))),
            "q4_0",
            "multiple of 32",
        ),
        ("nan", Some(npy_bytes(&[2, 64], &nan)), "q8_0", "non-finite"),
        // float64 arrays are refused with a message.
        ("f64", Some(f64_array), "q8_0", "not supported"),
    ];
    let out = d.join("out.bin");
    for (name, bytes, format, needle) in cases {
        let input = d.join(format!("{name}.npy"));
        if let Some(b) = &bytes {
            std::fs::write(&input, b).unwrap();
        }
        let o = mycel(&["kernel", "quantize", "--format", format, p(&input), p(&out)]);
        fails_cleanly_as(name, &o, needle);
        assert!(!out.exists(), "case {name}: nothing written on error");
    }
}

#[test]
fn bad_weights_and_backends_fail_cleanly() {
    let d = tmpdir("bad");
    let good = d.join("x.npy");
    write_npy(&good, &[2, 64], &values(128));
    // Weights of the wrong size / wrong K.
    std::fs::write(d.join("w.bin"), vec![0u8; 100]).unwrap();
    fails_cleanly(
        &mycel(&[
            "kernel",
            "dequantize",
            "--format",
            "q8_0",
            "--k",
            "64",
            p(&d.join("w.bin")),
            p(&d.join("y.npy")),
        ]),
        "rows",
    );
    // `mycel kernel matmul --format q8_0 [--backend B] x.npy WEIGHTS y.npy`.
    let matmul = |backend: &[&str], weights: &str| {
        let (w, y) = (d.join(weights), d.join("y.npy"));
        let mut args = vec!["kernel", "matmul", "--format", "q8_0"];
        args.extend_from_slice(backend);
        args.extend([p(&good), p(&w), p(&y)]);
        mycel(&args)
    };
    fails_cleanly(&matmul(&[], "w.bin"), "rows");
    // Unknown backend: a usage error from clap (status 2).
    assert_eq!(
        matmul(&["--backend", "tpu"], "w.bin").status.code(),
        Some(2)
    );
    // CUDA in a build or on a machine without it: a clear error, or success where it exists.
    ok(&mycel(&[
        "kernel",
        "quantize",
        "--format",
        "q8_0",
        p(&good),
        p(&d.join("w64.bin")),
    ]));
    let o = matmul(&["--backend", "cuda"], "w64.bin");
    if !o.status.success() {
        fails_cleanly(&o, "cuda");
    }
}

fn task_file(
    dir: &Path,
    kernel: KernelId,
    m: u32,
    n: u32,
    k: u32,
    seed: [u8; 32],
    digest: Digest,
) -> PathBuf {
    let t = TaskSpec {
        network: NetworkId([0x11; 32]),
        subnet: SubnetId(1),
        epoch: Epoch(5),
        kernel,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Matmul { m, n, k },
        weights_digest: digest,
        input_seed: seed,
    };
    let path = dir.join(format!("task-{m}-{n}-{k}.bin"));
    std::fs::write(&path, t.encode().unwrap()).unwrap();
    path
}

#[test]
fn task_run_prints_the_reference_commitment() {
    // The first case of kernels/tests/data/task_golden.txt (independent Python reference).
    let d = tmpdir("task");
    let digest =
        Digest::from_hex("6c21f49c6fa40e9969ccb2f84403bfe12636aab4303fd0ab106d921ef3d4089a")
            .unwrap();
    let golden = include_str!("../../kernels/tests/data/task_golden.txt");
    let line = golden
        .lines()
        .find(|l| l.starts_with("q8_0 3 5 96 "))
        .unwrap();
    let want = line.split(' ').nth(8).unwrap();
    let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
    let spec = task_file(&d, KernelId::MatmulQ8_0, 3, 5, 96, seed, digest);
    let wseed = "07".repeat(32);
    for backend in ["scalar", "auto"] {
        let o = mycel(&[
            "task",
            "run",
            p(&spec),
            "--weights-seed",
            &wseed,
            "--backend",
            backend,
        ]);
        ok(&o);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), want);
    }
    // The same with the weights given as a file, and the spec given as hex text.
    let w = mycel_kernels::exec::generate_weights(
        &[7; 32],
        mycel_kernels::quant::QuantFormat::Q8_0,
        5,
        96,
    )
    .unwrap();
    std::fs::write(d.join("w.bin"), &w).unwrap();
    let hex_spec = d.join("task.hex");
    std::fs::write(&hex_spec, hex::encode(std::fs::read(&spec).unwrap()) + "\n").unwrap();
    let o = mycel(&[
        "task",
        "run",
        p(&hex_spec),
        "--weights",
        p(&d.join("w.bin")),
        "--out",
        p(&d.join("y.npy")),
    ]);
    ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), want);
    assert_eq!(read_npy(&d.join("y.npy")).0, vec![3, 5]);
    // Errors: wrong weights, no weights, a file that is not a task.
    let o = mycel(&["task", "run", p(&spec), "--weights-seed", &"08".repeat(32)]);
    fails_cleanly(&o, "digest");
    fails_cleanly(&mycel(&["task", "run", p(&spec)]), "needs weights");
    std::fs::write(d.join("junk.bin"), b"\x01\x02junk").unwrap();
    fails_cleanly(
        &mycel(&[
            "task",
            "run",
            p(&d.join("junk.bin")),
            "--weights-seed",
            &wseed,
        ]),
        "TaskSpec",
    );
    fails_cleanly(
        &mycel(&["task", "run", p(&spec), "--weights-seed", "abc"]),
        "64 hex digits",
    );
}

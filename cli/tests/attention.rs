//! `mycel kernel attention` end to end: scalar and AVX2 output files are byte-identical in
//! verifiable mode, float16 inputs work, the output matches the library, and bad inputs give
//! a clear error, exit status 1 and no output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mycel_kernels::attention::{AttentionMode, AttentionParams, AttnInput, attention};
use mycel_kernels::{Backend, cpu};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
}

/// The library's verifiable attention on the scalar backend, one thread: what the CLI must
/// print, bit for bit.
fn scalar_verifiable(
    p: &AttentionParams,
    q: AttnInput<'_>,
    k: AttnInput<'_>,
    v: AttnInput<'_>,
) -> Vec<f32> {
    attention(p, q, k, v, AttentionMode::Verifiable, Backend::Scalar, 1).unwrap()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mycel-cli-attn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A version-1.0 .npy written by hand (independent of the CLI's reader): magic, header dict
/// padded with spaces to a multiple of 64 bytes and ended by '\n', then little-endian data.
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn write_f32(path: &Path, shape: &[usize], x: &[f32]) {
    let data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy_bytes("<f4", shape, &data)).unwrap();
}

fn write_f16(path: &Path, shape: &[usize], x: &[half::f16]) {
    let data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy_bytes("<f2", shape, &data)).unwrap();
}

/// The float32 payload of an .npy written by the CLI (header length from bytes 8..10).
fn read_f32_payload(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = core::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(header.contains("'<f4'"), "{header}");
    b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn vals(seed: u32, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 8_388_608.0
                - 1.0
        })
        .collect()
}

fn run(args: &[&str], files: &[&Path]) -> Output {
    let mut c = bin();
    c.args(["kernel", "attention"]).args(args);
    for f in files {
        c.arg(f);
    }
    c.output().unwrap()
}

const H: usize = 4;
const HKV: usize = 2;
const Q_LEN: usize = 5;
const KV_LEN: usize = 70;
const D: usize = 64;

fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Vec<f32>, Vec<f32>, Vec<f32>) {
    let (q, k, v) = (
        vals(1, H * Q_LEN * D),
        vals(2, HKV * KV_LEN * D),
        vals(3, HKV * KV_LEN * D),
    );
    let (qp, kp, vp) = (dir.join("q.npy"), dir.join("k.npy"), dir.join("v.npy"));
    write_f32(&qp, &[H, Q_LEN, D], &q);
    write_f32(&kp, &[HKV, KV_LEN, D], &k);
    write_f32(&vp, &[HKV, KV_LEN, D], &v);
    (qp, kp, vp, q, k, v)
}

#[test]
fn backends_write_identical_files_and_match_the_library() {
    let dir = tmpdir("parity");
    let (qp, kp, vp, q, k, v) = setup(&dir);
    let (o_s, o_a) = (dir.join("out_scalar.npy"), dir.join("out_avx2.npy"));
    let r = run(
        &[
            "--mode",
            "verifiable",
            "--backend",
            "scalar",
            "--causal",
            "--kv-heads",
            "2",
        ],
        &[&qp, &kp, &vp, &o_s],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let p = AttentionParams::new(H, HKV, Q_LEN, KV_LEN, D).causal(true);
    let lib = scalar_verifiable(
        &p,
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
    );
    let got = read_f32_payload(&o_s);
    assert_eq!(
        got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        lib.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    if cpu::avx2_available() {
        let r = run(
            &[
                "--mode",
                "verifiable",
                "--backend",
                "avx2",
                "--causal",
                "--threads",
                "2",
            ],
            &[&qp, &kp, &vp, &o_a],
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(std::fs::read(&o_s).unwrap(), std::fs::read(&o_a).unwrap());
    } else {
        eprintln!("skipping the AVX2 comparison: this CPU lacks AVX2/FMA/F16C");
    }
    // Fast mode runs and stays within the spec tolerance of verifiable mode.
    let o_f = dir.join("out_fast.npy");
    let r = run(&["--mode", "fast", "--causal"], &[&qp, &kp, &vp, &o_f]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let tol = 1.0 / 8192.0 + 4.0 * KV_LEN as f32 / 16_777_216.0;
    for (a, b) in read_f32_payload(&o_f).iter().zip(&lib) {
        assert!((a - b).abs() <= tol);
    }
    // An explicit scale is used.
    let o_x = dir.join("out_scale.npy");
    let r = run(
        &["--mode", "verifiable", "--causal", "--scale", "0.5"],
        &[&qp, &kp, &vp, &o_x],
    );
    assert!(r.status.success());
    let lib_x = scalar_verifiable(
        &p.with_scale(0.5),
        AttnInput::F32(&q),
        AttnInput::F32(&k),
        AttnInput::F32(&v),
    );
    assert_eq!(read_f32_payload(&o_x), lib_x);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn float16_inputs() {
    let dir = tmpdir("f16");
    let h = |x: Vec<f32>| x.into_iter().map(half::f16::from_f32).collect::<Vec<_>>();
    let (q, k, v) = (
        h(vals(4, H * Q_LEN * D)),
        h(vals(5, HKV * KV_LEN * D)),
        h(vals(6, HKV * KV_LEN * D)),
    );
    let (qp, kp, vp, op) = (
        dir.join("q.npy"),
        dir.join("k.npy"),
        dir.join("v.npy"),
        dir.join("o.npy"),
    );
    write_f16(&qp, &[H, Q_LEN, D], &q);
    write_f16(&kp, &[HKV, KV_LEN, D], &k);
    write_f16(&vp, &[HKV, KV_LEN, D], &v);
    let r = run(
        &["--mode", "verifiable", "--backend", "scalar"],
        &[&qp, &kp, &vp, &op],
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let p = AttentionParams::new(H, HKV, Q_LEN, KV_LEN, D);
    let lib = scalar_verifiable(
        &p,
        AttnInput::F16(&q),
        AttnInput::F16(&k),
        AttnInput::F16(&v),
    );
    assert_eq!(read_f32_payload(&op), lib);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each bad input: exit status 1, an `error:` line naming the problem, no output file.
#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tmpdir("bad");
    let (qp, kp, vp, _, _, _) = setup(&dir);
    let out = dir.join("out.npy");
    let expect_fail = |args: &[&str], files: &[&Path], needle: &str| {
        let r = run(args, files);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("error:") && err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!out.exists(), "{args:?} left an output file");
    };
    let v = ["--mode", "verifiable"];
    expect_fail(
        &["--mode", "verifiable", "--kv-heads", "4"],
        &[&qp, &kp, &vp, &out],
        "--kv-heads 4",
    );
    // K as Q: 2 query heads, 70 queries — causal needs q_len <= kv_len: fine; swap shapes so
    // heads do not divide: Q with 3 heads.
    let q3 = dir.join("q3.npy");
    write_f32(&q3, &[3, Q_LEN, D], &vals(7, 3 * Q_LEN * D));
    expect_fail(&v, &[&q3, &kp, &vp, &out], "head configuration");
    let q96 = dir.join("q96.npy");
    write_f32(&q96, &[H, Q_LEN, 96], &vals(8, H * Q_LEN * 96));
    let k96 = dir.join("k96.npy");
    write_f32(&k96, &[HKV, KV_LEN, 96], &vals(9, HKV * KV_LEN * 96));
    expect_fail(&v, &[&q96, &k96, &k96, &out], "head_dim 96");
    expect_fail(&v, &[&q96, &kp, &vp, &out], "head_dim differs");
    let q2d = dir.join("q2d.npy");
    write_f32(&q2d, &[H * Q_LEN, D], &vals(10, H * Q_LEN * D));
    expect_fail(&v, &[&q2d, &kp, &vp, &out], "3-D");
    let vshort = dir.join("vshort.npy");
    write_f32(
        &vshort,
        &[HKV, KV_LEN - 1, D],
        &vals(11, HKV * (KV_LEN - 1) * D),
    );
    expect_fail(&v, &[&qp, &kp, &vshort, &out], "must be equal");
    let f64p = dir.join("f64.npy");
    std::fs::write(
        &f64p,
        npy_bytes("<f8", &[H, Q_LEN, D], &vec![0u8; H * Q_LEN * D * 8]),
    )
    .unwrap();
    expect_fail(&v, &[&f64p, &kp, &vp, &out], "not supported");
    let trunc = dir.join("trunc.npy");
    let full = std::fs::read(&qp).unwrap();
    std::fs::write(&trunc, &full[..full.len() - 100]).unwrap();
    expect_fail(&v, &[&trunc, &kp, &vp, &out], "trunc.npy");
    expect_fail(
        &v,
        &[&dir.join("missing.npy"), &kp, &vp, &out],
        "missing.npy",
    );
    let long_q = dir.join("long_q.npy");
    write_f32(
        &long_q,
        &[HKV, KV_LEN + 1, D],
        &vals(12, HKV * (KV_LEN + 1) * D),
    );
    expect_fail(
        &["--mode", "verifiable", "--causal"],
        &[&long_q, &kp, &vp, &out],
        "q_len",
    );
    expect_fail(
        &["--mode", "verifiable", "--scale", "inf"],
        &[&qp, &kp, &vp, &out],
        "scale",
    );
    // clap usage errors exit with 2.
    let r = run(&["--mode", "sloppy"], &[&qp, &kp, &vp, &out]);
    assert_eq!(r.status.code(), Some(2));
    let r = run(
        &["--mode", "fast", "--backend", "gpu9"],
        &[&qp, &kp, &vp, &out],
    );
    assert_eq!(r.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

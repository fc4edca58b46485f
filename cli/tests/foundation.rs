//! Integration tests of the foundation subcommands: keygen, receipt sign/verify, inspect,
//! sig verify (single and batch, on the Wycheproof vectors).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mycel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh empty directory under the target dir (no temp-dir crate needed).
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("foundation-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn keygen(dir: &Path, name: &str, seed: Option<&str>) -> String {
    let mut cmd = mycel();
    cmd.arg("keygen").arg("--out").arg(dir.join(name));
    if let Some(s) = seed {
        cmd.args(["--seed", s]);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_owned()
}

#[test]
fn keygen_writes_private_file_and_refuses_overwrite() {
    let dir = scratch("keygen");
    let hotkey = keygen(&dir, "k.key", None);
    assert_eq!(hotkey.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(dir.join("k.key")).unwrap();
    let o = run(mycel().arg("keygen").arg("--out").arg(dir.join("k.key")));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("refusing to overwrite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.join("k.key")).unwrap(), before);
    // Two random keys differ; a seeded key is RFC 8032's (§7.1 TEST 1).
    assert_ne!(keygen(&dir, "k2.key", None), hotkey);
    assert_eq!(
        keygen(
            &dir,
            "rfc.key",
            Some("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        ),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let o = run(mycel()
        .arg("keygen")
        .arg("--out")
        .arg(dir.join("short.key"))
        .args(["--seed", "00"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("short.key").exists());
}

/// Signs a receipt for spec/examples/task.bin; returns the receipt path.
fn sign(dir: &Path, key: &str, assigner: &str, nonce: u64, name: &str) -> PathBuf {
    let out = dir.join(name);
    let o = run(mycel()
        .args(["receipt", "sign", "--key"])
        .arg(dir.join(key))
        .arg("--task")
        .arg(repo().join("spec/examples/task.bin"))
        .args(["--assigner", assigner])
        .args([
            "--output-commitment",
            &"ab".repeat(32),
            "--tile-root",
            &"cd".repeat(32),
        ])
        .args([
            "--nonce",
            &nonce.to_string(),
            "--started-ms",
            "1000",
            "--finished-ms",
            "2000",
        ])
        .arg("--out")
        .arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim().len(), 64, "prints the receipt id");
    out
}

#[test]
fn receipt_sign_verify_and_tamper() {
    let dir = scratch("receipt");
    // A seeded miner key whose hotkey ends in 0xab (f047…f2ab): the byte just before the output
    // commitment below, which the tamper step must not mistake for the commitment's first.
    let miner = keygen(
        &dir,
        "miner.key",
        Some("000000000000000000000000000000000000000000000000000000000000004c"),
    );
    assert!(miner.ends_with("ab"), "{miner}");
    let validator = keygen(&dir, "validator.key", None);
    let files: Vec<PathBuf> = (0..5)
        .map(|i| sign(&dir, "miner.key", &validator, i, &format!("r{i}.bin")))
        .collect();
    let task = repo().join("spec/examples/task.bin");

    // Valid, batch and single, with and without the task check.
    for extra in [&[][..], &["--single"][..]] {
        let o = run(mycel()
            .args(["receipt", "verify"])
            .args(&files)
            .arg("--task")
            .arg(&task)
            .args(extra));
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        assert_eq!(
            stdout(&o).lines().filter(|l| l.contains(": ok ")).count(),
            5
        );
    }

    // Tamper one receipt in the middle: change a byte of the output commitment. The commitment
    // (32 × 0xab) is found by the tile root that follows it (32 × 0xcd): the miner's random key
    // just before it ends in 0xab one time in 256, and a search for the commitment alone would
    // then flip the key's last byte instead (a key error, not a signature-equation error).
    let bytes = std::fs::read(&files[2]).unwrap();
    let mut marker = [0xab; 64];
    marker[32..].fill(0xcd);
    let pos = bytes.windows(64).position(|w| w == marker).unwrap();
    let mut bad = bytes.clone();
    bad[pos] ^= 0x01;
    std::fs::write(&files[2], &bad).unwrap();
    for extra in [&[][..], &["--single"][..]] {
        let o = run(mycel().args(["receipt", "verify"]).args(&files).args(extra));
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        let failed: Vec<&str> = out.lines().filter(|l| l.contains("FAILED")).collect();
        assert_eq!(failed.len(), 1, "{out}");
        assert!(
            failed[0].starts_with(&files[2].display().to_string()),
            "{out}"
        );
        assert!(failed[0].contains("signature.equation"), "{out}");
    }

    // Truncated file: a decode error naming the file.
    std::fs::write(&files[3], &bytes[..100]).unwrap();
    let o = run(mycel().args(["receipt", "verify"]).arg(&files[3]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("decode.truncated"), "{}", stdout(&o));

    // Wrong task: the example receipt batch is for the example task; a receipt checked against
    // another task fails with the digest rule.
    let other_task = dir.join("other-task.bin");
    let mut t = std::fs::read(&task).unwrap();
    t[34] = 2; // subnet 1 -> 2 (same length)
    std::fs::write(&other_task, &t).unwrap();
    let o = run(mycel()
        .args(["receipt", "verify"])
        .arg(&files[0])
        .arg("--task")
        .arg(&other_task));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("receipt.subnet_mismatch"),
        "{}",
        stdout(&o)
    );

    // The task file may also be hex text (as `task run` accepts it): same result.
    let hex_task = dir.join("task.hex");
    let hex: String = std::fs::read(&task)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(&hex_task, format!("{}\n{}\n", &hex[..40], &hex[40..])).unwrap();
    let o = run(mycel()
        .args(["receipt", "verify"])
        .arg(&files[0])
        .arg("--task")
        .arg(&hex_task));
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // A task file that is neither: an error naming the file and the envelope's code.
    let junk_task = dir.join("junk-task.bin");
    std::fs::write(&junk_task, b"not an envelope").unwrap();
    let o = run(mycel()
        .args(["receipt", "verify"])
        .arg(&files[0])
        .arg("--task")
        .arg(&junk_task));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&junk_task.display().to_string()) && err.contains("not a valid TaskSpec"),
        "{err}"
    );
    assert!(err.contains("(decode."), "{err}");

    // Signing with a key that is not the miner's is not possible by construction (the miner is
    // the key's hotkey); refusing to overwrite the output:
    let o = run(mycel()
        .args(["receipt", "sign", "--key"])
        .arg(dir.join("miner.key"))
        .arg("--task")
        .arg(&task)
        .args([
            "--assigner",
            &validator,
            "--output-commitment",
            &"00".repeat(32),
            "--tile-root",
            &"00".repeat(32),
        ])
        .arg("--out")
        .arg(&files[0]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("refusing to overwrite"));
}

#[test]
fn receipt_verify_batch_file() {
    let batch = repo().join("spec/examples/receipt-batch.bin");
    let o = run(mycel()
        .args(["receipt", "verify"])
        .arg(&batch)
        .arg("--task")
        .arg(repo().join("spec/examples/task.bin")));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("receipt batch of 3, root 84e1f6a3456408d5c0e1390f0f90b500fad11b92929fed826787ec7e49102b79"), "{out}");
    assert!(out.contains("receipt-batch.bin[2]: ok "), "{out}");
}

#[test]
fn inspect_every_example() {
    for (file, kind) in [
        ("task.bin", "task"),
        ("receipt.bin", "receipt"),
        ("verdict.bin", "verdict"),
        ("receipt-batch.bin", "receipt-batch"),
    ] {
        let o = run(mycel()
            .arg("inspect")
            .arg(repo().join("spec/examples").join(file)));
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["kind"], kind);
        assert_eq!(v["version"], 1);
    }
    let o = run(mycel()
        .arg("inspect")
        .arg(repo().join("spec/examples/task.bin")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["derived"]["compute_units"], 131072);
    assert_eq!(
        v["derived"]["digest"],
        "148423f0bf28fac8b113132f39eeb8c0df7b7db09e7a3fb12289bd25a7dba433"
    );
    let o = run(mycel()
        .arg("inspect")
        .arg(repo().join("spec/examples/receipt.bin")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["derived"]["signature"], "valid");
    assert_eq!(v["message"]["body"]["backend"], "cpu-scalar");
}

#[test]
fn inspect_rejects_bad_input_without_panicking() {
    let dir = scratch("inspect");
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty", b"", "decode.missing_header"),
        ("version", &[9, 1, 0], "decode.unsupported_version"),
        ("kind", &[1, 0x7f, 0], "decode.unknown_kind"),
        ("garbage", &[1, 2, 0xff, 0xff, 0xff], "decode."),
    ];
    for (name, bytes, code) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = run(mycel().arg("inspect").arg(&p));
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(stderr(&o).contains(code), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = run(mycel().arg("inspect").arg(dir.join("missing")));
    assert_eq!(o.status.code(), Some(1));
}

/// (tcId, JSON line, expected valid) for every Wycheproof vector.
fn wycheproof_lines() -> Vec<(u64, String, bool)> {
    let text =
        std::fs::read_to_string(repo().join("protocol/tests/vectors/wycheproof_ed25519_test.json"))
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for g in v["testGroups"].as_array().unwrap() {
        let pk = g["publicKey"]["pk"].as_str().unwrap();
        for t in g["tests"].as_array().unwrap() {
            let line = serde_json::json!({"pk": pk, "msg": t["msg"], "sig": t["sig"]}).to_string();
            out.push((t["tcId"].as_u64().unwrap(), line, t["result"] == "valid"));
        }
    }
    assert_eq!(out.len(), 151);
    out
}

fn sig_verify(input: &str, batch: bool) -> Output {
    let mut cmd = mycel();
    cmd.args(["sig", "verify"]);
    if batch {
        cmd.arg("--batch");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn sig_verify_wycheproof_single_and_batch() {
    let vectors = wycheproof_lines();
    let input: String = vectors.iter().map(|(_, l, _)| format!("{l}\n")).collect();
    let single = sig_verify(&input, false);
    let batch = sig_verify(&input, true);
    assert_eq!(single.status.code(), Some(1), "some vectors are invalid");
    let single_out = stdout(&single);
    let lines: Vec<&str> = single_out.lines().collect();
    assert_eq!(lines.len(), 151);
    for ((tc, _, expected), got) in vectors.iter().zip(&lines) {
        assert_eq!(*got == "valid", *expected, "tc {tc}: {got}");
        if !expected {
            assert!(got.starts_with("invalid: "), "tc {tc}: {got}");
        }
    }
    assert_eq!(
        stdout(&batch),
        single_out,
        "--batch must print the same verdicts"
    );
    // Only the valid ones: exit status 0, single and batch.
    let valid: String = vectors
        .iter()
        .filter(|v| v.2)
        .map(|(_, l, _)| format!("{l}\n"))
        .collect();
    assert!(sig_verify(&valid, false).status.success());
    assert!(sig_verify(&valid, true).status.success());
}

#[test]
fn sig_verify_reasons_and_bad_lines() {
    // RFC 8032 TEST 1, then S + L (malleated), a wrong-length signature and malformed lines.
    let pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    // S + L (little-endian), computed independently with Python integers.
    let s_plus_l = "4c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b";
    let input = format!(
        "{{\"pk\":\"{pk}\",\"msg\":\"\",\"sig\":\"{sig}\"}}\n\
         {{\"pk\":\"{pk}\",\"msg\":\"\",\"sig\":\"{}{s_plus_l}\"}}\n\
         {{\"pk\":\"{pk}\",\"msg\":\"00\",\"sig\":\"{sig}\"}}\n\
         {{\"pk\":\"{pk}\",\"msg\":\"\",\"sig\":\"{}\"}}\n\
         \n\
         not json\n\
         {{\"pk\":\"zz\",\"msg\":\"\",\"sig\":\"\"}}\n",
        &sig[..64],
        &sig[..126]
    );
    for batch in [false, true] {
        let o = sig_verify(&input, batch);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "blank line skipped: {out}");
        assert_eq!(lines[0], "valid");
        assert!(lines[1].contains("signature.scalar_not_reduced"), "{out}");
        assert!(lines[2].contains("signature.equation"), "{out}");
        assert!(lines[3].contains("signature.signature_length"), "{out}");
        assert!(lines[4].starts_with("invalid: bad input"), "{out}");
        assert!(lines[5].starts_with("invalid: bad input: pk"), "{out}");
    }
}

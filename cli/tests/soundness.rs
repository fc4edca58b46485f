//! Protocol soundness through the `mycel` binary: framed fraud proofs on Fast-mode tasks are
//! refused with the reason (hole 1); the oversized 116-byte task and a proof wrapping it make no
//! command abort, even under a 4 GiB address-space limit (hole 2).

use std::path::PathBuf;
use std::process::{Command, Output};

use mycel_protocol::ids::{Digest, Epoch, NetworkId, SigningKey, SubnetId};
use mycel_protocol::receipt::{BackendLabel, Outcome, Verdict, WorkReceipt};
use mycel_protocol::sign::Signed;
use mycel_protocol::task::{AttnDtype, AttnMode, KERNEL_VERSION, KernelId, KernelParams, TaskSpec};
use mycel_protocol::wire::encode;

fn mycel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mycel"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("soundness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// Runs `mycel ARGS` under a 4 GiB address-space limit (`ulimit -v`, through sh).
fn limited(args: &[&str]) -> Output {
    let mut cmd = String::from("ulimit -v 4194304 && exec \"$0\"");
    for (i, _) in args.iter().enumerate() {
        cmd.push_str(&format!(" \"${}\"", i + 1));
    }
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(env!("CARGO_BIN_EXE_mycel"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn framed_proofs_on_fast_tasks_are_refused_with_the_reason() {
    let dir = scratch("framer");
    let out = mycel()
        .args(["simulate", "-q", "--scenario"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/adversaries/framer.toml"
        ))
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let proofs: Vec<PathBuf> = std::fs::read_dir(dir.join("fraud"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!proofs.is_empty());
    let (mut fast, mut correct) = (0, 0);
    for p in &proofs {
        let out = mycel().args(["fraud", "verify"]).arg(p).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", p.display());
        let err = text(&out.stderr);
        assert!(err.contains("does NOT hold"), "{err}");
        if err.contains("Fast-mode work cannot be convicted by commitment (") {
            assert!(err.contains("fraud.fast_mode"));
            fast += 1;
        } else {
            assert!(err.contains("the receipt is correct"), "{err}");
            correct += 1;
        }
    }
    assert!(fast > 0, "{fast} fast, {correct} verifiable");
    assert_eq!(fast + correct, proofs.len());
}

/// The 116-byte task: 256 heads, kv_len 131072, head_dim 128 (16 GiB of K and V).
fn huge_task() -> TaskSpec {
    TaskSpec {
        network: NetworkId([0; 32]),
        subnet: SubnetId(1),
        epoch: Epoch(0),
        kernel: KernelId::Attention,
        kernel_version: KERNEL_VERSION,
        params: KernelParams::Attention {
            n_heads: 256,
            n_kv_heads: 256,
            q_len: 1,
            kv_len: 131_072,
            head_dim: 128,
            causal: false,
            dtype: AttnDtype::F32,
            mode: AttnMode::Verifiable,
        },
        weights_digest: Digest([0; 32]),
        input_seed: [1; 32],
    }
}

/// The envelope `[version, kind] || postcard(task)` built without the encoder's validation
/// (the encoder refuses invalid tasks; an attacker does not use it).
fn raw_task_envelope(t: &TaskSpec) -> Vec<u8> {
    let valid = TaskSpec {
        params: KernelParams::Matmul { m: 1, n: 1, k: 32 },
        kernel: KernelId::MatmulQ8_0,
        ..*t
    };
    let mut env = valid.encode().unwrap()[..2].to_vec();
    env.extend_from_slice(&postcard::to_allocvec(t).unwrap());
    env
}

#[test]
fn the_oversized_task_and_a_proof_wrapping_it_never_abort() {
    let dir = scratch("huge");
    let task = huge_task();
    assert!(task.validate().is_err(), "the memory bound rejects it");
    let env = raw_task_envelope(&task);
    let task_file = dir.join("huge.task");
    std::fs::write(&task_file, &env).unwrap();
    let out = limited(&["task", "run", task_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("memory bound"), "{err}");

    // A fraud proof around it, signed with throwaway keys.
    let miner = SigningKey::from_seed(&[7; 32]);
    let validator = SigningKey::from_seed(&[8; 32]);
    let receipt = Signed::sign(
        WorkReceipt {
            network: task.network,
            subnet: task.subnet,
            epoch: task.epoch,
            task_digest: Digest([3; 32]),
            assigner: validator.hotkey(),
            miner: miner.hotkey(),
            output_commitment: Digest([1; 32]),
            output_tile_root: Digest([2; 32]),
            compute_units: 1,
            started_at_ms: 0,
            finished_at_ms: 1,
            nonce: 0,
            backend: BackendLabel::new("x").unwrap(),
        },
        &miner,
    )
    .unwrap();
    let verdict = Signed::sign(
        Verdict {
            validator: validator.hotkey(),
            receipt_id: receipt.id().unwrap(),
            outcome: Outcome::Mismatch,
            recomputed_commitment: Some(Digest([9; 32])),
        },
        &validator,
    )
    .unwrap();
    let proof = serde_json::json!({
        "format": "mycel-fraud-proof/v1",
        "task": hex::encode(&env),
        "receipt": hex::encode(encode(&receipt).unwrap()),
        "verdict": hex::encode(encode(&verdict).unwrap()),
        "weights": null,
        "batch": null,
        "note": "",
    });
    let proof_file = dir.join("huge.json");
    std::fs::write(&proof_file, proof.to_string()).unwrap();
    let out = limited(&["fraud", "verify", proof_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("memory bound"), "{err}");
}

/// Hole 7 through the binary: a seeded kernel-version-2 task, a miner that signs another
/// output's commitments, its opening of one tile (`mycel task open`), the validator's tile proof
/// (`mycel fraud prove`), and `mycel fraud verify` on it; an honest receipt yields no proof
/// (`fraud.tile_matches`) and an opening under another root is refused (`fraud.tile_opening`).
#[test]
fn tile_proofs_through_the_cli() {
    let dir = scratch("tile");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = mycel().args(args).output().unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let new = |seed: &str, out: &str| {
        let (code, _, err) = run(&[
            "task",
            "new",
            "--kernel",
            "matmul-q8_0",
            "--seed",
            seed,
            "--m",
            "20",
            "--n",
            "600",
            "--k",
            "128",
            "--kernel-version",
            "2",
            "--out",
            out,
        ]);
        assert_eq!(code, Some(0), "{err}");
    };
    new(&"aa".repeat(32), &p("task.bin"));
    new(&"bb".repeat(32), &p("other.bin"));
    // Commitment (stdout) and tile root (stderr) of a task's output.
    let commitments = |task: &str| {
        let (code, out, err) = run(&["task", "run", task]);
        assert_eq!(code, Some(0), "{err}");
        let root = err.split("tile root ").nth(1).unwrap().trim().to_owned();
        (out.trim().to_owned(), root)
    };
    let (code, hotkey, err) = run(&["keygen", "--out", &p("miner.key")]);
    assert_eq!(code, Some(0), "{err}");
    let hotkey = hotkey.split_whitespace().last().unwrap().to_owned();
    let sign = |(commitment, root): &(String, String), out: &str| {
        let (code, _, err) = run(&[
            "receipt",
            "sign",
            "--key",
            &p("miner.key"),
            "--task",
            &p("task.bin"),
            "--assigner",
            &hotkey,
            "--output-commitment",
            commitment,
            "--tile-root",
            root,
            "--out",
            out,
        ]);
        assert_eq!(code, Some(0), "{err}");
    };
    // `mycel task open TASK --tile 4`, and `mycel fraud prove` for task.bin.
    let open_tile_4 = |task: &str, opening: &str| {
        let (code, _, err) = run(&["task", "open", task, "--tile", "4", "--opening", opening]);
        assert_eq!(code, Some(0), "{err}");
    };
    let prove = |receipt: &str, opening: &str, out: &str| {
        run(&[
            "fraud",
            "prove",
            "--task",
            &p("task.bin"),
            "--receipt",
            &p(receipt),
            "--opening",
            &p(opening),
            "--out",
            &p(out),
        ])
    };
    // The cheater claims the other task's output for this task, and opens its tile 4.
    sign(&commitments(&p("other.bin")), &p("cheat.bin"));
    open_tile_4(&p("other.bin"), &p("cheat-open.bin"));
    let (code, _, err) = prove("cheat.bin", "cheat-open.bin", "proof.json");
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["fraud", "verify", &p("proof.json")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("tile fraud proof holds")
            && out.contains("tile 4 (rows 16..20, columns 256..512)"),
        "{out}"
    );
    let json = std::fs::read_to_string(p("proof.json")).unwrap();
    assert!(json.contains("\"format\": \"mycel-fraud-proof/v2\""));
    // The honest opening of the same tile is not under the cheater's root.
    open_tile_4(&p("task.bin"), &p("honest-open.bin"));
    let (code, _, err) = prove("cheat.bin", "honest-open.bin", "bad.json");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("fraud.tile_opening") && err.contains("merkle.root_mismatch"),
        "{err}"
    );
    // An honest receipt: its tile matches, nothing is written.
    sign(&commitments(&p("task.bin")), &p("honest.bin"));
    let (code, _, err) = prove("honest.bin", "honest-open.bin", "framed.json");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("fraud.tile_matches") && err.contains("innocent"),
        "{err}"
    );
    assert!(!dir.join("framed.json").exists() && !dir.join("bad.json").exists());
    // A tampered tile in the proof file is refused for its reason.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let opening = v["opening"].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        &opening[..40],
        if &opening[40..41] == "0" { "1" } else { "0" }
    );
    v["opening"] = serde_json::Value::String(flipped + &opening[41..]);
    std::fs::write(p("tampered.json"), v.to_string()).unwrap();
    let (code, _, err) = run(&["fraud", "verify", &p("tampered.json")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("fraud.tile_opening"), "{err}");
    // An attention task, with extra `task new` flags.
    let seed = "cc".repeat(32);
    let attention = |extra: &[&str]| {
        let out = p("attn.bin");
        let mut args = vec![
            "task",
            "new",
            "--kernel",
            "attention",
            "--seed",
            &seed,
            "--out",
            &out,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Version 2 is for matmul only.
    let (code, _, err) = attention(&["--kernel-version", "2"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("matmul"), "{err}");
    // An attention task takes no weights: explicit ones are refused, not ignored.
    let (code, _, err) = attention(&[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["task", "run", &p("attn.bin")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim().len(), 64, "{out}");
    let (code, _, err) = run(&[
        "task",
        "run",
        &p("attn.bin"),
        "--weights-seed",
        &"dd".repeat(32),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("takes no weights"), "{err}");
}

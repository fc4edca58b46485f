//! `mycel localnet`: a whole subnet as separate `mycel node` processes on 127.0.0.1.
//!
//! It writes every node's key file (derived from the scenario's seed, as `mycel simulate`
//! derives them), starts one process per miner and validator with every other node as a
//! bootstrap peer and a common genesis a few seconds ahead, waits until every node has closed
//! the last epoch, and writes `localnet.json` (format `mycel-localnet/v1`): per epoch, each
//! node's epoch digest and the miners' and validators' figures in simulate's format. It prints
//! simulate's closing tables, and fails if two nodes' digests differ in any epoch.
//!
//! Under `--out` (default `./mycel-localnet/`): `localnet.json`, `keys/`, `state/` (each node's
//! saved state) and `logs/` (each node's stderr).

use core::time::Duration;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use mycel_node::sim::hosted::genesis_keys;
use mycel_node::sim::{EpochRecord, MinerRecord, SimLog, Subnet, ValidatorRecord};
use mycel_protocol::ids::Digest;
use serde_json::{Value, json};

use crate::CliResult;
use crate::node::GenesisArgs;
use crate::simulate::report;

/// The `format` of `localnet.json`.
pub const FORMAT: &str = "mycel-localnet/v1";

/// Arguments of `mycel localnet`.
#[derive(Debug, clap::Args)]
pub struct LocalnetArgs {
    #[command(flatten)]
    pub genesis: GenesisArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "mycel-localnet")]
    pub out: PathBuf,
    /// Time between starting the processes and epoch 0, ms.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub startup_ms: u64,
    /// Test only: faults injected into every node's connections (drop ppm, delay ppm, max
    /// delay ms), as `DROP,DELAY,MAX`.
    #[arg(long, value_name = "D,P,MS", hide = true)]
    pub faults: Option<String>,
}

/// One node process.
struct Proc {
    name: String,
    role: &'static str,
    uid: u16,
    child: Child,
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn genesis_flags(g: &GenesisArgs, epochs: u64) -> Vec<String> {
    let s = &g.scenario;
    let mut v = Vec::new();
    if let Some(path) = &s.scenario {
        v.push("--scenario".into());
        v.push(path.display().to_string());
    }
    for (flag, val) in [
        ("--miners", s.miners.map(|x| x.to_string())),
        ("--validators", s.validators.map(|x| x.to_string())),
        ("--seed", s.seed.map(|x| x.to_string())),
        // f64's Display is the shortest text that parses back to the same value.
        (
            "--spot-check-rate",
            s.spot_check_rate.map(|x| x.to_string()),
        ),
        ("--epochs", Some(epochs.to_string())),
        ("--epoch-ms", Some(g.epoch_ms.to_string())),
    ] {
        if let Some(x) = val {
            v.push(flag.into());
            v.push(x);
        }
    }
    v
}

fn create_dir(d: &Path) -> Result<(), String> {
    fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))
}

/// Runs `mycel localnet`.
pub fn run(mut args: LocalnetArgs) -> CliResult {
    if args.genesis.scenario.epochs.is_none() {
        args.genesis.scenario.epochs = Some(3);
    }
    let scenario = args.genesis.scenario()?;
    let epochs = scenario.epochs;
    let keys = genesis_keys(&scenario)?;
    // Fail here, not in twelve processes, on a scenario the network does not run.
    for k in &keys {
        mycel_node::sim::hosted::Hosted::new(scenario.clone(), k, None)?;
    }
    let subnet = Subnet::new(scenario.clone())?;
    let nv = subnet.validators.len();
    let (keys_dir, state_dir, logs_dir) = (
        args.out.join("keys"),
        args.out.join("state"),
        args.out.join("logs"),
    );
    for d in [&keys_dir, &state_dir, &logs_dir] {
        create_dir(d)?;
    }
    let mut nodes = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let (role, uid) = if i < nv {
            ("validator", i as u16)
        } else {
            ("miner", i as u16)
        };
        let name = format!("{role}-{uid:03}");
        let key_path = keys_dir.join(format!("{name}.json"));
        let _ = fs::remove_file(&key_path);
        crate::keys::save(&key_path, key)?;
        let _ = fs::remove_file(state_dir.join(format!("{name}.json")));
        let peer = mycel_net::identity::peer_id(&key.hotkey())?;
        nodes.push((name, role, uid, key_path, free_port()?, peer));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?
        .as_millis() as u64;
    let genesis_ms = now + args.startup_ms;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the mycel binary: {e}"))?;
    let (tx, rx) = mpsc::channel::<(usize, Value)>();
    let mut procs: Vec<Proc> = Vec::with_capacity(nodes.len());
    for (i, (name, role, uid, key_path, port, _)) in nodes.iter().enumerate() {
        let bootstrap: Vec<String> = nodes
            .iter()
            .filter(|n| n.0 != *name)
            .map(|n| format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", n.4, n.5))
            .collect();
        let log = fs::File::create(logs_dir.join(format!("{name}.log")))
            .map_err(|e| format!("cannot create a log file: {e}"))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("node")
            .arg(role)
            .arg("--key")
            .arg(key_path)
            .arg("--listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{port}"))
            .arg("--genesis-ms")
            .arg(genesis_ms.to_string())
            .arg("--state")
            .arg(state_dir.join(format!("{name}.json")))
            .args(genesis_flags(&args.genesis, epochs))
            .arg("--bootstrap")
            .args(&bootstrap);
        if let Some(f) = &args.faults {
            let p: Vec<&str> = f.split(',').collect();
            if let [d, de, ms] = p.as_slice() {
                cmd.args(["--fault-drop-ppm", d, "--fault-delay-ppm", de])
                    .args(["--fault-max-delay-ms", ms]);
            } else {
                return Err("--faults: DROP,DELAY,MAX".into());
            }
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Ok(v) = serde_json::from_str::<Value>(&line)
                        && tx.send((i, v)).is_err()
                    {
                        break;
                    }
                }
            });
        }
        procs.push(Proc {
            name: name.clone(),
            role,
            uid: *uid,
            child,
        });
    }
    drop(tx);
    eprintln!(
        "localnet: {} validators and {} miners started; epoch 0 at +{} ms, {} epochs of {} ms; logs in {}",
        nv,
        nodes.len() - nv,
        args.startup_ms,
        epochs,
        args.genesis.epoch_ms,
        logs_dir.display()
    );

    // Collect events until every process has exited (or the deadline).
    let deadline = Instant::now()
        + Duration::from_millis(args.startup_ms + epochs * args.genesis.epoch_ms + 30_000);
    let mut reports: BTreeMap<u64, BTreeMap<usize, Value>> = BTreeMap::new();
    let mut penalties = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((i, v)) => match v.get("event").and_then(Value::as_str) {
                Some("epoch") => {
                    let e = v.get("epoch").and_then(Value::as_u64).unwrap_or(u64::MAX);
                    if let Some(d) = v.get("epoch_digest").and_then(Value::as_str) {
                        eprintln!(
                            "localnet: epoch {e}: {} digest {}",
                            procs.get(i).map_or("?", |p| p.name.as_str()),
                            d.get(..16).unwrap_or(d)
                        );
                    }
                    reports.entry(e).or_default().insert(i, v);
                }
                Some("penalized") => penalties += 1,
                _ => {}
            },
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() > deadline {
                    eprintln!("localnet: deadline passed; stopping the nodes");
                    break;
                }
            }
        }
    }
    let mut failed = Vec::new();
    for p in &mut procs {
        if matches!(p.child.try_wait(), Ok(None)) {
            let _ = p.child.kill();
        }
        match p.child.wait() {
            Ok(s) if s.success() => {}
            Ok(s) => failed.push(format!("{} exited with {s}", p.name)),
            Err(e) => failed.push(format!("{}: {e}", p.name)),
        }
    }

    // localnet.json and simulate's closing tables.
    let mut out_epochs = Vec::new();
    let mut records = Vec::new();
    let mut disagreements = Vec::new();
    for e in 0..epochs {
        let got = reports.remove(&e).unwrap_or_default();
        let mut node_entries = Vec::new();
        let mut digests = BTreeMap::<String, usize>::new();
        for (i, v) in &got {
            let Some(p) = procs.get(*i) else { continue };
            let d = v
                .get("epoch_digest")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            *digests.entry(d.clone()).or_default() += 1;
            node_entries.push(json!({
                "peer_id": v.get("peer_id").cloned().unwrap_or(Value::Null),
                "role": p.role,
                "uid": p.uid,
                "epoch_digest": d,
                "receipts": v.get("receipts").cloned().unwrap_or(Value::Null),
                "receipts_ms": v.get("receipts_ms").cloned().unwrap_or(Value::Null),
            }));
        }
        if got.len() != procs.len() {
            disagreements.push(format!(
                "epoch {e}: {} of {} nodes reported",
                got.len(),
                procs.len()
            ));
        }
        if digests.len() > 1 {
            disagreements.push(format!("epoch {e}: {} different digests", digests.len()));
        }
        // The figures: those of the lowest-uid validator that reported (every node builds them
        // from the same gossiped summaries).
        let source = got
            .values()
            .min_by_key(|v| {
                (
                    v.get("role").and_then(Value::as_str) != Some("validator"),
                    v.get("uid").and_then(Value::as_u64),
                )
            })
            .cloned()
            .unwrap_or(Value::Null);
        let miners: Vec<MinerRecord> =
            serde_json::from_value(source.get("miners").cloned().unwrap_or(json!([])))
                .map_err(|err| format!("epoch {e}: miner figures: {err}"))?;
        let validators: Vec<ValidatorRecord> =
            serde_json::from_value(source.get("validators").cloned().unwrap_or(json!([])))
                .map_err(|err| format!("epoch {e}: validator figures: {err}"))?;
        out_epochs.push(json!({
            "epoch": e,
            "nodes": node_entries,
            "miners": miners,
            "validators": validators,
        }));
        let tasks = miners.iter().map(|m| u64::from(m.tasks)).sum();
        records.push(EpochRecord {
            epoch: e,
            block: (e + 1) * scenario.emission.tempo,
            beacon: Digest([0; 32]),
            tasks,
            validators,
            miners,
            fraud_proofs: Vec::new(),
            receipt_batches: Vec::new(),
        });
    }
    let doc = json!({
        "format": FORMAT,
        "epoch_ms": args.genesis.epoch_ms,
        "genesis_ms": genesis_ms,
        "penalized_peers": penalties,
        "epochs": out_epochs,
    });
    let path = args.out.join("localnet.json");
    let text = serde_json::to_string_pretty(&doc).map_err(|e| format!("encoding: {e}"))? + "\n";
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let published: u64 = records
        .iter()
        .flat_map(|r| &r.validators)
        .map(|v| u64::from(v.mismatches))
        .sum();
    let log = SimLog::new(&subnet, records);
    // The nodes gossip their fraud proofs instead of writing files: count them from the
    // validators' summaries instead of simulate's list of files.
    let tables = report::tables(&log).replace(
        "\nfraud proofs: 0\n",
        &format!("\nfraud proofs: {published} published (gossiped, not written to files)\n"),
    );
    print!("{tables}");
    println!("localnet log: {}", path.display());
    if !failed.is_empty() || !disagreements.is_empty() {
        for f in failed.iter().chain(&disagreements) {
            eprintln!("localnet: {f}");
        }
        return Err(
            "the localnet did not finish in agreement (see above and the node logs)".into(),
        );
    }
    eprintln!(
        "localnet: all {} nodes agree on every epoch digest",
        procs.len()
    );
    Ok(ExitCode::SUCCESS)
}

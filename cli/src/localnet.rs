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

use mycel_node::sim::hosted::Role;
use mycel_node::sim::hosted::localnet::{EpochLine, add_up, genesis_nodes};
use serde_json::Value;

use crate::CliResult;
use crate::node::GenesisArgs;
use crate::simulate::report;

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
    let nodes = genesis_nodes(&scenario)?;
    let nv = nodes.iter().filter(|n| n.role == Role::Validator).count();
    let (keys_dir, state_dir, logs_dir) = (
        args.out.join("keys"),
        args.out.join("state"),
        args.out.join("logs"),
    );
    for d in [&keys_dir, &state_dir, &logs_dir] {
        create_dir(d)?;
    }
    // Per node: its key file, port and peer id.
    let mut ends = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let key_path = keys_dir.join(format!("{}.json", node.name));
        let _ = fs::remove_file(&key_path);
        crate::keys::save(&key_path, &node.key)?;
        let _ = fs::remove_file(state_dir.join(format!("{}.json", node.name)));
        let peer = mycel_net::identity::peer_id(&node.key.hotkey())?;
        ends.push((key_path, free_port()?, peer));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?
        .as_millis() as u64;
    let genesis_ms = now + args.startup_ms;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the mycel binary: {e}"))?;
    let (tx, rx) = mpsc::channel::<(usize, Value)>();
    let mut procs: Vec<Proc> = Vec::with_capacity(nodes.len());
    for (i, (node, (key_path, port, _))) in nodes.iter().zip(&ends).enumerate() {
        let name = &node.name;
        let bootstrap: Vec<String> = ends
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (_, port, peer))| format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}"))
            .collect();
        let log = fs::File::create(logs_dir.join(format!("{name}.log")))
            .map_err(|e| format!("cannot create a log file: {e}"))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("node")
            .arg(node.role.name())
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
    let mut reports: BTreeMap<u64, BTreeMap<usize, EpochLine>> = BTreeMap::new();
    let mut penalties = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((i, v)) => match v.get("event").and_then(Value::as_str) {
                Some(EpochLine::EVENT) => {
                    let Ok(line) = serde_json::from_value::<EpochLine>(v) else {
                        continue;
                    };
                    let d = &line.epoch_digest;
                    eprintln!(
                        "localnet: epoch {}: {} digest {}",
                        line.epoch,
                        procs.get(i).map_or("?", |p| p.name.as_str()),
                        d.get(..16).unwrap_or(d)
                    );
                    reports.entry(line.epoch).or_default().insert(i, line);
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
    let run = add_up(&scenario, epochs, &nodes, reports);
    let path = args.out.join("localnet.json");
    let text = run.to_json(args.genesis.epoch_ms, genesis_ms, penalties)?;
    crate::fsio::write_atomic(&path, text.as_bytes())?;
    // The nodes gossip their fraud proofs instead of writing files: count them from the
    // validators' summaries instead of simulate's list of files.
    let tables = report::tables_with_proofs(
        &run.sim_log(&scenario)?,
        &format!(
            "{} published (gossiped, not written to files)",
            run.published_proofs()
        ),
    );
    print!("{tables}");
    println!("localnet log: {}", path.display());
    if !failed.is_empty() || !run.disagreements.is_empty() {
        for f in failed.iter().chain(&run.disagreements) {
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

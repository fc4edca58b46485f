//! `mycel node miner|validator`: one node of a subnet on the network (mycel-net over libp2p).
//!
//! The subnet is named by its genesis: the scenario (file and flags, as `mycel simulate` reads
//! them), the Unix ms at which epoch 0 starts and the epoch length. Every node of a subnet must
//! be given the same ones. Events go to stdout as JSON lines (`listening`, `penalized`,
//! `epoch`), log lines to stderr.

use core::str::FromStr;
use std::path::PathBuf;
use std::process::ExitCode;

use mycel_net::Multiaddr;
use mycel_net::node::{Config, Event};
use mycel_net::{Faults, Limits};
use mycel_node::sim::hosted::Role;
use mycel_node::sim::hosted::localnet::EpochLine;
use mycel_node::sim::parse_miner_behaviour;
use serde_json::json;

use crate::CliResult;
use crate::simulate::{ScenarioArgs, load_scenario};

/// The role a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeRole {
    /// A miner: answers task requests with signed receipts.
    Miner,
    /// A validator: issues tasks, checks receipts, publishes weights.
    Validator,
}

/// The subnet's genesis: the scenario and the epoch clock (shared by `node` and `localnet`).
#[derive(Debug, Clone, clap::Args)]
pub struct GenesisArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Wall-clock length of an epoch, ms.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub epoch_ms: u64,
}

impl GenesisArgs {
    /// The scenario these flags describe.
    pub fn scenario(&self) -> Result<mycel_node::sim::Scenario, String> {
        load_scenario(&self.scenario)
    }
}

/// The limits a node puts on its peers (README, "Network limits").
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Largest gossip message accepted, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_gossip_bytes)]
    pub max_gossip_bytes: usize,
    /// Task requests accepted per second from one peer (burst of the same size); a peer over
    /// it is disconnected and blocked.
    #[arg(long, value_name = "N", default_value_t = Limits::default().requests_per_sec)]
    pub max_requests_per_sec: u32,
    /// Established connections in all.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: u32,
    /// Established connections per peer.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections_per_peer)]
    pub max_connections_per_peer: u32,
    /// Incoming connections still in their handshake.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_pending)]
    pub max_pending: u32,
    /// Time limit of one task request, ms (a failed request is retried until the deadline).
    #[arg(long, value_name = "MS", default_value_t = Limits::default().request_timeout.as_millis() as u64)]
    pub request_timeout_ms: u64,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_gossip_bytes: self.max_gossip_bytes,
            requests_per_sec: self.max_requests_per_sec,
            max_connections: self.max_connections,
            max_connections_per_peer: self.max_connections_per_peer,
            max_pending: self.max_pending,
            request_timeout: core::time::Duration::from_millis(self.request_timeout_ms),
            ..Limits::default()
        }
    }
}

/// Arguments of `mycel node`.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The node's role (must be its key's role in the roster).
    pub role: NodeRole,
    /// The node's key file (`mycel keygen`; its hotkey must be in the subnet's roster).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to listen, a multiaddr (e.g. /ip4/127.0.0.1/tcp/4001).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Peers to dial (multiaddrs, ideally ending in `/p2p/<peer id>`); repeat or separate by
    /// spaces.
    #[arg(long, value_name = "ADDR", num_args = 0..)]
    pub bootstrap: Vec<String>,
    /// Run this miner behaviour instead of the scenario's (honest, lazy, copier, sloppy, slow,
    /// clock-liar).
    #[arg(long, value_name = "NAME")]
    pub behaviour: Option<String>,
    /// Unix ms at which epoch 0 starts (the same on every node of the subnet).
    #[arg(long, value_name = "MS")]
    pub genesis_ms: u64,
    /// Save the node's state here after every epoch, and resume from it at start.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub genesis: GenesisArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Test only: per write, the probability (ppm) that the connection is dropped.
    #[arg(long, value_name = "PPM", default_value_t = 0, hide = true)]
    pub fault_drop_ppm: u32,
    /// Test only: per write, the probability (ppm) that it is delayed.
    #[arg(long, value_name = "PPM", default_value_t = 0, hide = true)]
    pub fault_delay_ppm: u32,
    /// Test only: the longest injected delay, ms.
    #[arg(long, value_name = "MS", default_value_t = 0, hide = true)]
    pub fault_max_delay_ms: u64,
}

fn addr(s: &str, flag: &str) -> Result<Multiaddr, String> {
    Multiaddr::from_str(s).map_err(|e| format!("{flag} {s:?}: not a multiaddr: {e}"))
}

/// Runs `mycel node`.
pub fn run(args: NodeArgs) -> CliResult {
    let scenario = args.genesis.scenario()?;
    let key = crate::keys::load(&args.key)?;
    let behaviour = args
        .behaviour
        .as_deref()
        .map(|b| parse_miner_behaviour(b).ok_or_else(|| format!("--behaviour: unknown {b:?}")))
        .transpose()?;
    let hosted = mycel_node::sim::hosted::Hosted::new(scenario.clone(), &key, behaviour)?;
    let want = match args.role {
        NodeRole::Miner => Role::Miner,
        NodeRole::Validator => Role::Validator,
    };
    hosted
        .expect_role(want)
        .map_err(|e| format!("{}: {e}", args.key.display()))?;
    let mut bootstrap = Vec::new();
    for b in &args.bootstrap {
        for part in b.split_whitespace() {
            bootstrap.push(addr(part, "--bootstrap")?);
        }
    }
    let cfg = Config {
        last_epoch: Some(scenario.epochs.saturating_sub(1)),
        scenario,
        key,
        behaviour,
        listen: addr(&args.listen, "--listen")?,
        bootstrap,
        genesis_ms: args.genesis_ms,
        epoch_ms: args.genesis.epoch_ms,
        state_file: args.state.clone(),
        limits: args.limits.limits(),
        faults: Faults {
            drop_ppm: args.fault_drop_ppm,
            delay_ppm: args.fault_delay_ppm,
            max_delay_ms: args.fault_max_delay_ms,
            seed: u64::from(hosted.me()?.uid),
        },
        log: true,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let result = rt.block_on(async move {
        let node = tokio::spawn(mycel_net::run(cfg, Some(tx)));
        while let Some(ev) = rx.recv().await {
            print_event(&ev);
        }
        node.await
    });
    match result {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(e)) => Err(e.to_string().into()),
        Err(e) => Err(format!("node task: {e}").into()),
    }
}

/// One event as a JSON line on stdout.
fn print_event(ev: &Event) {
    let line = match ev {
        Event::Listening(a) => json!({"event": "listening", "addr": a.to_string()}).to_string(),
        Event::Penalized { peer, reason } => {
            json!({"event": "penalized", "peer": peer.to_string(), "reason": reason}).to_string()
        }
        Event::EpochClosed(r) => {
            match EpochLine::new(r.peer_id.to_string(), r.role, r.uid, &r.closed, r.receipts)
                .to_json()
            {
                Ok(line) => line,
                Err(e) => {
                    eprintln!("epoch {}: {e}", r.closed.epoch);
                    return;
                }
            }
        }
        _ => return,
    };
    println!("{line}");
}

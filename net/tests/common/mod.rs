//! A subnet of in-process nodes for the network tests: each node is its own libp2p swarm on
//! 127.0.0.1 (real TCP, noise, yamux), run as a tokio task that can be aborted (killed) and
//! started again from its saved state.
#![allow(dead_code)]

use core::time::Duration;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use mycel_net::node::{Config, EpochReport, Event};
use mycel_net::{Faults, Limits, Multiaddr};
use mycel_node::sim::Scenario;
use mycel_node::sim::hosted::genesis_keys;
use mycel_protocol::ids::SigningKey;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `miners` miners (one lazy if `lazy`), `validators` honest validators, small tasks.
pub fn scenario(miners: usize, validators: usize, epochs: u64, lazy: bool) -> Scenario {
    let mut s = Scenario {
        epochs,
        seed: 21,
        ..Scenario::default()
    };
    s.miners.count = miners;
    s.miners.lazy = usize::from(lazy);
    s.miners.copier = 0;
    s.miners.sloppy = 0;
    s.miners.slow = 0;
    s.validators.count = validators;
    s.validators.weight_copier = 0;
    s.validators.colluder = 0;
    s.tasks.per_miner = 4;
    s.scoring.min_checks_per_miner = 1;
    s.scoring.latency_target_ms = 0;
    s.validate().unwrap();
    s
}

pub struct Net {
    pub scenario: Scenario,
    pub keys: Vec<SigningKey>,
    pub ports: Vec<u16>,
    pub genesis_ms: u64,
    pub epoch_ms: u64,
    pub dir: PathBuf,
    pub tx: UnboundedSender<(usize, Event)>,
}

impl Net {
    pub fn new(
        scenario: Scenario,
        epoch_ms: u64,
        startup_ms: u64,
        name: &str,
    ) -> (Self, UnboundedReceiver<(usize, Event)>) {
        let keys = genesis_keys(&scenario).unwrap();
        let ports = keys.iter().map(|_| free_port()).collect();
        let dir = std::env::temp_dir().join(format!("mycel-net-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (tx, rx) = unbounded_channel();
        (
            Self {
                scenario,
                keys,
                ports,
                genesis_ms: now_ms() + startup_ms,
                epoch_ms,
                dir,
                tx,
            },
            rx,
        )
    }

    pub fn addr(&self, i: usize) -> Multiaddr {
        let peer = mycel_net::identity::peer_id(&self.keys[i].hotkey()).unwrap();
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", self.ports[i])
            .parse()
            .unwrap()
    }

    pub fn config(&self, i: usize, faults: Faults) -> Config {
        Config {
            scenario: self.scenario.clone(),
            key: self.keys[i].clone(),
            behaviour: None,
            listen: format!("/ip4/127.0.0.1/tcp/{}", self.ports[i])
                .parse()
                .unwrap(),
            bootstrap: (0..self.keys.len())
                .filter(|j| *j != i)
                .map(|j| self.addr(j))
                .collect(),
            genesis_ms: self.genesis_ms,
            epoch_ms: self.epoch_ms,
            last_epoch: Some(self.scenario.epochs - 1),
            state_file: Some(self.dir.join(format!("node-{i}.json"))),
            limits: Limits::default(),
            faults,
            log: std::env::var_os("MYCEL_NET_LOG").is_some(),
        }
    }

    /// Starts node `i`; its events arrive tagged with `i`.
    pub fn start(&self, i: usize, faults: Faults) -> JoinHandle<mycel_net::Result<()>> {
        let cfg = self.config(i, faults);
        let (tx, mut rx) = unbounded_channel();
        let out = self.tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if out.send((i, ev)).is_err() {
                    break;
                }
            }
        });
        tokio::spawn(mycel_net::run(cfg, Some(tx)))
    }

    /// Sleeps until `ms` after genesis.
    pub async fn at(&self, ms: u64) {
        let target = self.genesis_ms + ms;
        let now = now_ms();
        if target > now {
            tokio::time::sleep(Duration::from_millis(target - now)).await;
        }
    }
}

/// Collects epoch reports and penalties until every handle in `running` has finished.
pub async fn collect(
    rx: &mut UnboundedReceiver<(usize, Event)>,
    reports: &mut Vec<(usize, EpochReport)>,
    penalties: &mut Vec<(usize, String, String)>,
    until_ms: u64,
) {
    loop {
        let left = until_ms.saturating_sub(now_ms());
        if left == 0 {
            return;
        }
        match tokio::time::timeout(Duration::from_millis(left), rx.recv()).await {
            Ok(Some((i, Event::EpochClosed(r)))) => reports.push((i, *r)),
            Ok(Some((i, Event::Penalized { peer, reason }))) => {
                penalties.push((i, peer.to_string(), reason))
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
}

/// Asserts that in every epoch every report carries the same digest; returns the reporting
/// nodes per epoch.
pub fn assert_agree(reports: &[(usize, EpochReport)], epochs: u64) -> Vec<Vec<usize>> {
    (0..epochs)
        .map(|e| {
            let mine: Vec<&(usize, EpochReport)> = reports
                .iter()
                .filter(|(_, r)| r.closed.epoch == e)
                .collect();
            assert!(!mine.is_empty(), "epoch {e}: no report");
            let d = mine[0].1.closed.digest;
            for (i, r) in &mine {
                assert_eq!(r.closed.digest, d, "epoch {e}: node {i} diverges");
            }
            let mut who: Vec<usize> = mine.iter().map(|(i, _)| *i).collect();
            who.sort_unstable();
            who
        })
        .collect()
}

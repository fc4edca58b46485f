//! One node on the network: a libp2p swarm driving a [`Hosted`] role through the epochs.
//!
//! An epoch of `epoch_ms` starting at `genesis_ms + e·epoch_ms` runs in fixed windows (shares of
//! the epoch):
//!
//! | at | who | what |
//! |---|---|---|
//! | 0 | validators | publish the sample-secret opening, send every task (`/mycel/task/1`), retry failures |
//! | 0–45 % | miners | check each task, execute it, answer with the signed receipt |
//! | 45 % | validators | commit the receipt batch, verify, sample, re-execute; publish root, summary, fraud proofs |
//! | 65 % | validators | ban on the proofs that hold, score, publish the weight commitment and due reveals |
//! | 75 %, 85 % | validators | republish root, summary, proofs, commitment and reveals (new round) |
//! | 95 % | every node | close the epoch: Yuma over the reveals received, the epoch digest, save state |

use core::time::Duration;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::string::String;
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, allow_block_list, connection_limits, identify};
use mycel_node::FraudProof;
use mycel_node::sim::MinerBehaviour;
use mycel_node::sim::Scenario;
use mycel_node::sim::hosted::{Assigned, CheckReport, Closed, Hosted, Member, Role, Summary, Work};
use mycel_node::validator::intake::IssuedTasks;
use mycel_node::validator::sample::{check_secret, secret_commitment};
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::receipt::SignedReceipt;
use mycel_protocol::task::TaskSpec;
use mycel_protocol::wire::{decode, encode};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{Error, Result};
use crate::identity::{keypair, peer_id};
use crate::limits::{Bucket, Limits};
use crate::transport::{self, Faults};
use crate::wire::{
    Gossip, Payload, SignedGossip, TASK_PROTOCOL, TOPICS, TaskCodec, TaskRequest, topic,
};

/// The identify protocol version of this release for a subnet: `mycel/1/<network>/<subnet>`.
/// Peers announcing anything else are refused.
#[must_use]
pub fn protocol_version(network: &mycel_protocol::ids::NetworkId, subnet: u16) -> String {
    format!("mycel/1/{network}/{subnet}")
}

/// Everything a node needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The subnet's genesis (roster, stakes, tasks, scoring, emission).
    pub scenario: Scenario,
    /// The node's key (its hotkey must be in the roster).
    pub key: SigningKey,
    /// A miner behaviour overriding the scenario's.
    pub behaviour: Option<MinerBehaviour>,
    /// Where to listen (e.g. `/ip4/127.0.0.1/tcp/4001`).
    pub listen: Multiaddr,
    /// Peers to dial at start and re-dial when the connection is lost.
    pub bootstrap: Vec<Multiaddr>,
    /// Unix ms at which epoch 0 starts.
    pub genesis_ms: u64,
    /// Wall-clock length of an epoch, ms.
    pub epoch_ms: u64,
    /// Stop after closing this epoch (`None`: run forever).
    pub last_epoch: Option<u64>,
    /// Where the node saves its state after each epoch (and reads it at start).
    pub state_file: Option<PathBuf>,
    /// Bounds on what peers may send.
    pub limits: Limits,
    /// Faults injected into every connection (tests).
    pub faults: Faults,
    /// Print log lines to stderr.
    pub log: bool,
}

/// What a node reports to its host.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Listening on this address.
    Listening(Multiaddr),
    /// A peer broke a rule: it was disconnected and blocked.
    Penalized {
        /// The peer.
        peer: PeerId,
        /// What it did.
        reason: String,
    },
    /// An epoch closed on this node.
    EpochClosed(Box<EpochReport>),
}

/// One closed epoch as a node saw it.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// This node's role.
    pub role: Role,
    /// This node's uid.
    pub uid: u16,
    /// The closed epoch (digest, Yuma output, figures).
    pub closed: Closed,
    /// Validators: receipts received, and the ms from the first task sent to the last
    /// receipt received.
    pub receipts: Option<(u32, u64)>,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    tasks: request_response::Behaviour<TaskCodec>,
}

/// A task a validator sent, and where it stands.
#[derive(Debug)]
struct Sent {
    assigned: Assigned,
    digest: Digest,
    peer: PeerId,
    answered: bool,
    in_flight: Option<OutboundRequestId>,
    retry_at: u64,
}

/// One epoch's state on this node.
#[derive(Debug, Default)]
struct EpochState {
    opened: bool,
    secret: [u8; 32],
    sent: Vec<Sent>,
    book: Option<IssuedTasks>,
    inbox: Vec<(SignedReceipt, u64)>,
    first_sent_ms: u64,
    last_arrival_ms: u64,
    report: Option<CheckReport>,
    checked: bool,
    settled: bool,
    rounds: u8,
    outbox: Vec<Payload>,
    proofs: BTreeMap<[u8; 32], FraudProof>,
    summaries: BTreeMap<u16, Summary>,
    openings: BTreeMap<u16, Digest>,
    answered: HashMap<Digest, Vec<u8>>,
}

struct Node {
    cfg: Config,
    hosted: Hosted,
    me: Member,
    swarm: Swarm<Behaviour>,
    peers: HashMap<PeerId, Member>,
    topics: BTreeMap<&'static str, IdentTopic>,
    epochs: BTreeMap<u64, EpochState>,
    buckets: HashMap<PeerId, Bucket>,
    requests: HashMap<OutboundRequestId, (u64, usize)>,
    events: Option<UnboundedSender<Event>>,
    bootstrap: Vec<(Multiaddr, Option<PeerId>)>,
    next_dial_ms: u64,
    label: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    // A fresh key's seed is 32 bytes from the operating system's random source; if that
    // source fails, fall back to the clock hashed (a test network only loses sample secrecy).
    match SigningKey::generate() {
        Ok(k) => b.copy_from_slice(&k.to_seed()[..]),
        Err(_) => b.copy_from_slice(&Sha256::digest(now_ms().to_le_bytes())),
    }
    b
}

/// Runs a node until it has closed `cfg.last_epoch` (or forever). Dropping the future stops it
/// at once, like killing its process.
///
/// # Errors
/// Set-up errors (key not in the roster, listen address, saved state), or [`Error::Behind`]
/// for a saved state that missed an epoch.
pub async fn run(cfg: Config, events: Option<UnboundedSender<Event>>) -> Result<()> {
    let mut node = Node::new(cfg, events)?;
    node.run().await
}

impl Node {
    fn new(cfg: Config, events: Option<UnboundedSender<Event>>) -> Result<Self> {
        if cfg.epoch_ms < 200 {
            return Err(Error::InvalidArgument("epoch_ms: at least 200 ms".into()));
        }
        let mut hosted = Hosted::new(cfg.scenario.clone(), &cfg.key, cfg.behaviour)?;
        if let Some(path) = &cfg.state_file
            && path.exists()
        {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let state = mycel_node::sim::hosted::HostedState::from_json(&text)?;
            hosted.restore(state, &cfg.key)?;
        }
        let me = hosted.me()?;
        let mut peers = HashMap::new();
        for m in hosted.roster() {
            peers.insert(peer_id(&m.hotkey)?, m);
        }
        let key = keypair(&cfg.key)?;
        let network = hosted.network();
        let subnet = hosted.subnet_id();
        let limits = cfg.limits;
        let faults = cfg.faults;
        let version = protocol_version(&network, subnet.0);
        let wrapped = transport::build(&key, faults)?;
        let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_other_transport(move |_| wrapped)
            .map_err(|e| Error::Libp2p(e.to_string()))?
            .with_behaviour(|k| {
                let gossip_cfg = gossipsub::ConfigBuilder::default()
                    .validation_mode(ValidationMode::Strict)
                    .validate_messages()
                    .max_transmit_size(limits.max_gossip_bytes)
                    .heartbeat_interval(Duration::from_millis(250))
                    .message_id_fn(|m: &gossipsub::Message| {
                        gossipsub::MessageId::from(Sha256::digest(&m.data).to_vec())
                    })
                    .build()
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let gossipsub =
                    gossipsub::Behaviour::new(MessageAuthenticity::Signed(k.clone()), gossip_cfg)
                        .map_err(std::io::Error::other)?;
                let tasks = request_response::Behaviour::with_codec(
                    TaskCodec::default(),
                    [(TASK_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(limits.request_timeout),
                );
                Ok(Behaviour {
                    limits: connection_limits::Behaviour::new(
                        connection_limits::ConnectionLimits::default()
                            .with_max_established(Some(limits.max_connections))
                            .with_max_established_per_peer(Some(limits.max_connections_per_peer))
                            .with_max_pending_incoming(Some(limits.max_pending)),
                    ),
                    blocked: allow_block_list::Behaviour::default(),
                    identify: identify::Behaviour::new(
                        identify::Config::new(version.clone(), k.public())
                            .with_agent_version(format!("mycel-net/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    gossipsub,
                    tasks,
                })
            })
            .map_err(|e| Error::Libp2p(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle_timeout))
            .build();
        let mut topics = BTreeMap::new();
        for name in TOPICS {
            topics.insert(name, IdentTopic::new(topic(&network, subnet, name)));
        }
        let bootstrap = cfg
            .bootstrap
            .iter()
            .map(|a| {
                let p = a.iter().find_map(|p| match p {
                    libp2p::multiaddr::Protocol::P2p(id) => Some(id),
                    _ => None,
                });
                (a.clone(), p)
            })
            .collect();
        let label = format!("{} uid {}", me.role.name(), me.uid);
        Ok(Self {
            cfg,
            hosted,
            me,
            swarm,
            peers,
            topics,
            epochs: BTreeMap::new(),
            buckets: HashMap::new(),
            requests: HashMap::new(),
            events,
            bootstrap,
            next_dial_ms: 0,
            label,
        })
    }

    fn log(&self, msg: &str) {
        if self.cfg.log {
            eprintln!("[{}] {}: {msg}", now_ms(), self.label);
        }
    }

    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    fn penalize(&mut self, peer: PeerId, reason: &str) {
        self.log(&format!("peer {peer} disconnected and blocked: {reason}"));
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.emit(Event::Penalized {
            peer,
            reason: reason.into(),
        });
    }

    fn epoch_at(&self, t: u64) -> Option<(u64, u64)> {
        let since = t.checked_sub(self.cfg.genesis_ms)?;
        Some((since / self.cfg.epoch_ms, since % self.cfg.epoch_ms))
    }

    async fn run(&mut self) -> Result<()> {
        self.swarm
            .listen_on(self.cfg.listen.clone())
            .map_err(|e| Error::Libp2p(format!("listen on {}: {e}", self.cfg.listen)))?;
        for t in self.topics.values() {
            self.swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(t)
                .map_err(|e| Error::Libp2p(e.to_string()))?;
        }
        if let Some((e, _)) = self.epoch_at(now_ms())
            && self.hosted.next_epoch() < e
        {
            return Err(Error::Behind {
                closed: self.hosted.next_epoch(),
                current: e,
            });
        }
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev)?,
                _ = tick.tick() => {
                    if self.on_tick()? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The schedule; returns true when the node is done.
    fn on_tick(&mut self) -> Result<bool> {
        let now = now_ms();
        if now >= self.next_dial_ms {
            self.next_dial_ms = now + 500;
            self.redial();
        }
        let Some((e, into)) = self.epoch_at(now) else {
            return Ok(false);
        };
        let t = self.cfg.epoch_ms;
        let next = self.hosted.next_epoch();
        // Close the epoch in progress once its close time has passed (also when the clock has
        // moved into the next epoch already).
        if next < e || (next == e && into >= t * 95 / 100) {
            if next + 1 < e {
                return Err(Error::Behind {
                    closed: next,
                    current: e,
                });
            }
            self.close(next)?;
            if self.cfg.last_epoch.is_some_and(|last| next >= last) {
                return Ok(true);
            }
            return Ok(false);
        }
        if next != e {
            return Ok(false);
        }
        if self.me.role == Role::Validator {
            let st = self.epochs.entry(e).or_default();
            if !st.opened {
                self.open(e, now)?;
            }
            if into < t * 45 / 100 {
                self.retry(e, now);
            } else if !self.state(e).checked {
                self.check(e)?;
            }
            if into >= t * 65 / 100 && !self.state(e).settled {
                self.settle(e)?;
            }
            let rounds = self.state(e).rounds;
            if (into >= t * 75 / 100 && rounds < 2) || (into >= t * 85 / 100 && rounds < 3) {
                self.republish(e);
            }
        }
        Ok(false)
    }

    fn state(&mut self, e: u64) -> &mut EpochState {
        self.epochs.entry(e).or_default()
    }

    fn redial(&mut self) {
        let connected = self.swarm.connected_peers().count();
        for (addr, peer) in self.bootstrap.clone() {
            let needed = match peer {
                Some(p) => p != *self.swarm.local_peer_id() && !self.swarm.is_connected(&p),
                None => connected == 0,
            };
            if needed {
                let _ = self.swarm.dial(addr);
            }
        }
    }

    fn publish(&mut self, e: u64, round: u8, payload: Payload) {
        let kind = payload.kind();
        let gossip = Gossip {
            network: self.hosted.network(),
            subnet: self.hosted.subnet_id(),
            epoch: e,
            round,
            signer: self.me.hotkey,
            payload,
        };
        let bytes = match SignedGossip::sign(gossip, &self.cfg.key).and_then(|g| g.encode()) {
            Ok(b) => b,
            Err(err) => {
                self.log(&format!("cannot publish a {}: {err}", kind.name()));
                return;
            }
        };
        let Some(t) = self.topics.get(kind.topic()).cloned() else {
            return;
        };
        if let Err(err) = self.swarm.behaviour_mut().gossipsub.publish(t, bytes) {
            // No peer on the topic yet, or a duplicate: the next round republishes.
            self.log(&format!("publish {} of epoch {e}: {err}", kind.name()));
        }
    }

    /// Epoch start on a validator: the sample-secret opening, then every task.
    fn open(&mut self, e: u64, now: u64) -> Result<()> {
        let secret = random32();
        let tasks = self.hosted.validator_tasks(e)?;
        let book = self.hosted.new_book(e);
        let mut sent = Vec::with_capacity(tasks.len());
        for a in tasks {
            let digest = a.task.digest().map_err(mycel_node::Error::from)?;
            let peer = peer_id(&a.miner)?;
            sent.push(Sent {
                assigned: a,
                digest,
                peer,
                answered: false,
                in_flight: None,
                retry_at: now,
            });
        }
        {
            let st = self.state(e);
            st.opened = true;
            st.secret = secret;
            st.sent = sent;
            st.book = Some(book);
            st.first_sent_ms = now;
        }
        self.publish(e, 0, Payload::Opening(secret_commitment(&secret)));
        self.log(&format!("epoch {e}: opened, sending tasks"));
        self.retry(e, now);
        Ok(())
    }

    /// Sends every unanswered task that is not in flight and due.
    fn retry(&mut self, e: u64, now: u64) {
        let mut to_send = Vec::new();
        if let Some(st) = self.epochs.get(&e) {
            for (i, s) in st.sent.iter().enumerate() {
                if !s.answered && s.in_flight.is_none() && s.retry_at <= now {
                    to_send.push(i);
                }
            }
        }
        for i in to_send {
            let Some(s) = self.epochs.get(&e).and_then(|st| st.sent.get(i)) else {
                continue;
            };
            let (peer, task, miner) = (s.peer, s.assigned.task, s.assigned.miner);
            let bytes = match encode(&task) {
                Ok(b) => b,
                Err(err) => {
                    self.log(&format!("cannot encode a task: {err}"));
                    continue;
                }
            };
            let id = self
                .swarm
                .behaviour_mut()
                .tasks
                .send_request(&peer, TaskRequest::Frame(bytes));
            self.requests.insert(id, (e, i));
            let st = self.state(e);
            if let Some(book) = st.book.as_mut()
                && book
                    .get(&task.digest().unwrap_or(Digest([0; 32])))
                    .is_none()
            {
                let _ = book.issue(miner, task, now);
            }
            if let Some(s) = st.sent.get_mut(i) {
                s.in_flight = Some(id);
            }
        }
    }

    fn check(&mut self, e: u64) -> Result<()> {
        let (secret, book, inbox) = {
            let st = self.state(e);
            st.checked = true;
            (st.secret, st.book.take(), core::mem::take(&mut st.inbox))
        };
        let Some(book) = book else { return Ok(()) };
        let n = inbox.len();
        let report = self.hosted.validator_check(e, &secret, book, inbox)?;
        let summary = self.hosted.summary(e, &report)?;
        let mut outbox = std::vec![
            Payload::Root {
                root: report.root(),
                receipts: report.receipts(),
                secret,
            },
            Payload::Summary(summary.clone()),
        ];
        for (uid, p) in report.proofs() {
            self.log(&format!(
                "epoch {e}: mismatch from miner uid {uid}: fraud proof published"
            ));
            if let Ok(json) = p.to_json() {
                outbox.push(Payload::Proof(json));
            }
        }
        self.log(&format!("epoch {e}: {n} receipts, root {}", report.root()));
        for p in &outbox {
            self.publish(e, 0, p.clone());
        }
        let me = self.me.uid;
        let st = self.state(e);
        st.summaries.insert(me, summary);
        for (_, p) in report.proofs() {
            if let Ok(json) = p.to_json() {
                st.proofs
                    .insert(Sha256::digest(json.as_bytes()).into(), p.clone());
            }
        }
        st.report = Some(report);
        st.outbox = outbox;
        Ok(())
    }

    fn settle(&mut self, e: u64) -> Result<()> {
        let (report, proofs) = {
            let st = self.state(e);
            st.settled = true;
            (
                st.report.take(),
                st.proofs.values().cloned().collect::<Vec<_>>(),
            )
        };
        let Some(report) = report else {
            self.log(&format!("epoch {e}: no check phase, no weights"));
            return Ok(());
        };
        for p in &proofs {
            match self.hosted.validator_apply_proof(e, p) {
                Ok(uid) => self.log(&format!("epoch {e}: proof holds, miner uid {uid} banned")),
                Err(err) => self.log(&format!("epoch {e}: proof refused: {err}")),
            }
        }
        let settlement = self.hosted.validator_settle(e, &report, random32())?;
        let mut out = Vec::new();
        for c in settlement.commits {
            self.hosted.offer_commit(&c)?;
            out.push(Payload::Commit(c));
        }
        for r in settlement.reveals {
            self.hosted.offer_reveal(&r)?;
            out.push(Payload::Reveal(r));
        }
        for p in &out {
            self.publish(e, 0, p.clone());
        }
        self.state(e).outbox.extend(out);
        Ok(())
    }

    fn republish(&mut self, e: u64) {
        let (round, outbox) = {
            let st = self.state(e);
            st.rounds = st.rounds.max(1) + 1;
            (st.rounds - 1, st.outbox.clone())
        };
        for p in outbox {
            self.publish(e, round, p);
        }
    }

    fn close(&mut self, e: u64) -> Result<()> {
        let st = self.epochs.remove(&e).unwrap_or_default();
        let summaries: Vec<Summary> = st.summaries.into_values().collect();
        let closed = self.hosted.close_epoch(e, &summaries)?;
        self.log(&format!(
            "epoch {e} closed: digest {} ({} summaries)",
            closed.digest,
            summaries.len()
        ));
        if let Some(path) = &self.cfg.state_file {
            let json = self.hosted.state().to_json()?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, json)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|err| Error::Io {
                    path: path.display().to_string(),
                    reason: err.to_string(),
                })?;
        }
        let receipts = (self.me.role == Role::Validator).then(|| {
            let n = st.sent.iter().filter(|s| s.answered).count() as u32;
            (n, st.last_arrival_ms.saturating_sub(st.first_sent_ms))
        });
        self.epochs.retain(|k, _| *k > e);
        self.emit(Event::EpochClosed(Box::new(EpochReport {
            peer_id: *self.swarm.local_peer_id(),
            role: self.me.role,
            uid: self.me.uid,
            closed,
            receipts,
        })));
        Ok(())
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) -> Result<()> {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                self.log(&format!("listening on {address}"));
                self.emit(Event::Listening(address));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let ours = protocol_version(&self.hosted.network(), self.hosted.subnet_id().0);
                if info.protocol_version != ours {
                    self.penalize(
                        peer_id,
                        &format!(
                            "incompatible protocol version {:?} (this node speaks {ours:?})",
                            info.protocol_version
                        ),
                    );
                } else {
                    for a in info.listen_addrs {
                        self.swarm.add_peer_address(peer_id, a);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let verdict = self.on_gossip(&message.data);
                let acceptance = match &verdict {
                    Ok(true) => MessageAcceptance::Accept,
                    Ok(false) => MessageAcceptance::Ignore,
                    Err(_) => MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
                if let Err(reason) = verdict {
                    self.penalize(propagation_source, &format!("gossip rejected: {reason}"));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Tasks(ev)) => self.on_tasks(ev)?,
            _ => {}
        }
        Ok(())
    }

    /// Checks and uses a gossip message: Ok(true) accept, Ok(false) ignore (stale or
    /// duplicate), Err(reason) reject.
    fn on_gossip(&mut self, data: &[u8]) -> core::result::Result<bool, String> {
        let msg = SignedGossip::decode(data).map_err(|e| e.to_string())?;
        let g = msg.gossip;
        if g.network != self.hosted.network() || g.subnet != self.hosted.subnet_id() {
            return Err("for another network or subnet".into());
        }
        let signer = self
            .hosted
            .member(&g.signer)
            .filter(|m| m.role == Role::Validator)
            .ok_or_else(|| format!("signed by {}, not a validator", g.signer))?;
        let cur = self.hosted.next_epoch();
        if g.epoch + 1 == cur {
            return Ok(false); // late: the epoch is closed here
        }
        if g.epoch != cur && g.epoch != cur + 1 {
            return Err(format!(
                "a {} of epoch {} replayed in epoch {cur}",
                g.payload.kind().name(),
                g.epoch
            ));
        }
        let e = g.epoch;
        let delay = self.hosted.scenario().scoring.reveal_delay_epochs;
        match g.payload {
            Payload::Opening(c) => {
                self.state(e).openings.entry(signer.uid).or_insert(c);
            }
            Payload::Root { root, secret, .. } => {
                if let Some(c) = self.state(e).openings.get(&signer.uid).copied()
                    && !check_secret(&c, &secret)
                {
                    self.log(&format!(
                        "epoch {e}: validator uid {}'s sample secret does not open its commitment (root {root})",
                        signer.uid
                    ));
                }
            }
            Payload::Summary(s) => {
                if s.validator != signer.uid || s.epoch != e {
                    return Err("a summary for another validator or epoch".into());
                }
                self.state(e).summaries.entry(signer.uid).or_insert(s);
            }
            Payload::Proof(json) => {
                let p = FraudProof::from_json(&json).map_err(|e| format!("proof: {e}"))?;
                let id: [u8; 32] = Sha256::digest(json.as_bytes()).into();
                let st = self.state(e);
                if st.proofs.contains_key(&id) {
                    return Ok(false);
                }
                st.proofs.insert(id, p);
            }
            Payload::Commit(c) => {
                if c.hotkey != g.signer || c.epoch.0 != e {
                    return Err("a commitment for another validator or epoch".into());
                }
                if e != cur {
                    return Ok(false);
                }
                self.hosted.offer_commit(&c).map_err(|e| e.to_string())?;
            }
            Payload::Reveal(r) => {
                if r.hotkey != g.signer || r.epoch.0.saturating_add(delay) != e {
                    return Err("a reveal for another validator or epoch".into());
                }
                if e != cur {
                    return Ok(false);
                }
                self.hosted.offer_reveal(&r).map_err(|e| e.to_string())?;
            }
        }
        Ok(true)
    }

    fn on_tasks(&mut self, ev: request_response::Event<TaskRequest, Vec<u8>>) -> Result<()> {
        use request_response::{Event as E, Message as M};
        match ev {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => match request {
                TaskRequest::Frame(bytes) => self.on_request(peer, &bytes, channel),
                TaskRequest::Refused(why) => {
                    self.penalize(peer, &format!("task request refused: {why}"));
                    Ok(())
                }
            },
            E::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                self.on_response(peer, request_id, &response);
                Ok(())
            }
            E::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((e, i)) = self.requests.remove(&request_id) {
                    let now = now_ms();
                    if let Some(s) = self.state(e).sent.get_mut(i) {
                        s.in_flight = None;
                        s.retry_at = now + 250;
                    }
                    self.log(&format!(
                        "epoch {e}: task request failed ({error}), will retry"
                    ));
                }
                Ok(())
            }
            E::InboundFailure { .. } => Ok(()),
            E::ResponseSent { .. } => Ok(()),
        }
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: &[u8],
        channel: ResponseChannel<Vec<u8>>,
    ) -> Result<()> {
        let now = now_ms();
        let rate = self.cfg.limits.requests_per_sec;
        let bucket = self
            .buckets
            .entry(peer)
            .or_insert_with(|| Bucket::new(rate, now));
        if !bucket.take(rate, now) {
            self.penalize(peer, &format!("more than {rate} task requests per second"));
            return Ok(());
        }
        let Some(assigner) = self
            .peers
            .get(&peer)
            .filter(|m| m.role == Role::Validator)
            .map(|m| m.hotkey)
        else {
            self.penalize(peer, "a task request from a peer that is not a validator");
            return Ok(());
        };
        if self.me.role != Role::Miner {
            self.penalize(peer, "a task request to a validator");
            return Ok(());
        }
        let task: TaskSpec = match decode(request) {
            Ok(t) => t,
            Err(err) => {
                self.penalize(
                    peer,
                    &format!("malformed task envelope: {err} ({})", err.code()),
                );
                return Ok(());
            }
        };
        let Some((e, _)) = self.epoch_at(now) else {
            return Ok(()); // before genesis: no answer
        };
        if task.epoch.0 < e {
            self.penalize(
                peer,
                &format!("a task of epoch {} replayed in epoch {e}", task.epoch.0),
            );
            return Ok(());
        }
        let digest = task.digest().map_err(mycel_node::Error::from)?;
        if let Some(bytes) = self.state(e).answered.get(&digest).cloned() {
            let _ = self
                .swarm
                .behaviour_mut()
                .tasks
                .send_response(channel, bytes);
            return Ok(());
        }
        let work: Work = match self.hosted.miner_work(e, &assigner, &task) {
            Ok(w) => w,
            Err(err) => {
                self.penalize(peer, &format!("task refused: {err}"));
                return Ok(());
            }
        };
        let receipt = self.hosted.miner_sign(&work, now, now_ms())?;
        let bytes = encode(&receipt).map_err(mycel_node::Error::from)?;
        self.state(e).answered.insert(digest, bytes.clone());
        let _ = self
            .swarm
            .behaviour_mut()
            .tasks
            .send_response(channel, bytes);
        Ok(())
    }

    fn on_response(&mut self, peer: PeerId, id: OutboundRequestId, response: &[u8]) {
        let Some((e, i)) = self.requests.remove(&id) else {
            return;
        };
        let now = now_ms();
        let receipt: SignedReceipt = match decode(response) {
            Ok(r) => r,
            Err(err) => {
                self.penalize(peer, &format!("malformed receipt envelope: {err}"));
                return;
            }
        };
        let late = self
            .epoch_at(now)
            .is_none_or(|(cur, into)| cur != e || into >= self.cfg.epoch_ms * 45 / 100);
        let st = self.state(e);
        let Some(s) = st.sent.get_mut(i) else { return };
        s.in_flight = None;
        if receipt.body.miner != s.assigned.miner || receipt.body.task_digest != s.digest {
            let reason = "a receipt for another task or miner";
            self.penalize(peer, reason);
            return;
        }
        if late || st.checked {
            return; // after the deadline: counts as absent
        }
        s.answered = true;
        st.inbox.push((receipt, now));
        st.last_arrival_ms = now;
    }
}

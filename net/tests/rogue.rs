//! A rogue peer against a live network of in-process nodes: malformed, oversized and replayed
//! task requests, malformed and replayed gossip, and a wrong protocol version in identify. Each
//! is rejected with its reason, the rogue is disconnected and blocked, and the honest nodes
//! keep running and agree on every epoch digest.
//!
//! The task attacks use the key of a registered validator whose node is not running (a
//! compromised validator), so they reach the decoder and the task checks; the gossip attacks
//! and the version check use fresh keys.

mod common;

use core::time::Duration;
use std::io;

use common::{Net, assert_agree, collect, now_ms, scenario};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, noise, tcp, yamux};
use mycel_net::Faults;
use mycel_net::node::protocol_version;
use mycel_net::wire::{Gossip, Payload, SignedGossip, TASK_PROTOCOL, topic};
use mycel_node::sim::hosted::Hosted;
use mycel_protocol::ids::{Digest, SigningKey};
use mycel_protocol::wire::encode;

/// Writes a request's bytes exactly as given (no length prefix added), so the test can send
/// what an honest codec never would.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

#[async_trait::async_trait]
impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;
    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        io.take(1024).read_to_end(&mut v).await?;
        Ok(v)
    }
    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        io.take(1024).read_to_end(&mut v).await?;
        Ok(v)
    }
    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&req).await?;
        io.close().await
    }
    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&res).await
    }
}

#[derive(NetworkBehaviour)]
struct Rogue {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    tasks: request_response::Behaviour<RawCodec>,
}

fn rogue(key: &SigningKey, version: String) -> Swarm<Rogue> {
    let kp = mycel_net::identity::keypair(key).unwrap();
    libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|k| Rogue {
            identify: identify::Behaviour::new(identify::Config::new(version, k.public())),
            gossipsub: gossipsub::Behaviour::new(
                MessageAuthenticity::Signed(k.clone()),
                gossipsub::Config::default(),
            )
            .unwrap(),
            tasks: request_response::Behaviour::with_codec(
                RawCodec,
                [(TASK_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

enum Attack {
    Request(Vec<u8>),
    Gossip(String, Vec<u8>),
    Nothing,
}

/// Connects to `target`, waits until `at_ms` (Unix), attacks, and returns how long after the
/// attack the target closed the connection (None: it did not within 4 s).
async fn attack(
    mut swarm: Swarm<Rogue>,
    target: Multiaddr,
    peer: PeerId,
    at_ms: u64,
    what: Attack,
) -> Option<u64> {
    if let Attack::Gossip(t, _) = &what {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&IdentTopic::new(t.clone()))
            .unwrap();
    }
    let mut next_dial = 0;
    let mut ready = matches!(what, Attack::Request(_) | Attack::Nothing);
    let mut connected = false;
    let mut sent_at = None;
    let deadline = at_ms + 4000;
    while now_ms() < deadline {
        // The target may not listen yet: dial until connected.
        if !connected && now_ms() >= next_dial {
            let _ = swarm.dial(target.clone());
            next_dial = now_ms() + 300;
        }
        let ev = tokio::time::timeout(Duration::from_millis(20), swarm.select_next_some()).await;
        match ev {
            Ok(SwarmEvent::ConnectionEstablished { peer_id, .. }) if peer_id == peer => {
                connected = true;
            }
            Ok(SwarmEvent::ConnectionClosed { peer_id, .. }) if peer_id == peer && connected => {
                return Some(now_ms().saturating_sub(sent_at.unwrap_or(at_ms)));
            }
            Ok(SwarmEvent::Behaviour(RogueEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                ..
            }))) if peer_id == peer => ready = true,
            _ => {}
        }
        if sent_at.is_none() && connected && ready && now_ms() >= at_ms {
            match &what {
                Attack::Request(bytes) => {
                    swarm
                        .behaviour_mut()
                        .tasks
                        .send_request(&peer, bytes.clone());
                }
                Attack::Gossip(t, bytes) => {
                    swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(IdentTopic::new(t.clone()), bytes.clone())
                        .unwrap();
                }
                Attack::Nothing => {}
            }
            sent_at = Some(now_ms());
        }
    }
    None
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_peer_is_rejected_and_disconnected_and_the_nodes_keep_running() {
    // Validators are nodes 0 and 1, miners 2, 3 and 4; node 1 does not run: its key is the
    // rogue's for the task attacks.
    let s = scenario(3, 2, 3, false);
    let t = 2500;
    let (net, mut rx) = Net::new(s.clone(), t, 2000, "rogue");
    let running = [0usize, 2, 3, 4];
    let handles: Vec<_> = running
        .iter()
        .map(|&i| net.start(i, Faults::default()))
        .collect();
    let version = protocol_version(
        &Hosted::new(s.clone(), &net.keys[0], None)
            .unwrap()
            .network(),
        s.subnet,
    );
    let peer = |i: usize| mycel_net::identity::peer_id(&net.keys[i].hotkey()).unwrap();
    let stolen = net.keys[1].clone();
    let v1 = Hosted::new(s.clone(), &stolen, None).unwrap();
    let old_task = v1
        .validator_tasks(0)
        .unwrap()
        .into_iter()
        .find(|a| a.miner == net.keys[4].hotkey())
        .unwrap()
        .task;
    let e1 = net.genesis_ms + t + t / 5;
    let e2 = net.genesis_ms + 2 * t + t / 5;
    let roots = topic(&v1.network(), v1.subnet_id(), "roots");
    let replayed = SignedGossip::sign(
        Gossip {
            network: v1.network(),
            subnet: v1.subnet_id(),
            epoch: 0,
            round: 0,
            signer: stolen.hotkey(),
            payload: Payload::Opening(Digest([7; 32])),
        },
        &stolen,
    )
    .unwrap()
    .encode()
    .unwrap();
    let fresh = || SigningKey::generate().unwrap();
    let attacks = vec![
        (
            "malformed task envelope",
            2,
            stolen.clone(),
            version.clone(),
            e1,
            Attack::Request(frame(b"garbage")),
        ),
        // A length prefix of 1 GiB and four bytes: refused on the prefix, at once.
        (
            "exceeds the bound of 256",
            3,
            stolen.clone(),
            version.clone(),
            e1,
            Attack::Request([0x40, 0, 0, 0, 1, 2, 3, 4].to_vec()),
        ),
        (
            "replayed in epoch 1",
            4,
            stolen.clone(),
            version.clone(),
            e1,
            Attack::Request(frame(&encode(&old_task).unwrap())),
        ),
        (
            "gossip rejected",
            0,
            fresh(),
            version.clone(),
            e1,
            Attack::Gossip(roots.clone(), vec![1, 0x11, 0xff, 0xff]),
        ),
        (
            "replayed in epoch 2",
            2,
            fresh(),
            version.clone(),
            e2,
            Attack::Gossip(roots.clone(), replayed),
        ),
        (
            "incompatible protocol version",
            3,
            fresh(),
            "mycel/0/other".into(),
            e1,
            Attack::Nothing,
        ),
    ];
    let mut expected = Vec::new();
    let mut tasks = Vec::new();
    for (reason, target, key, version, at, what) in attacks {
        let me = mycel_net::identity::peer_id(&key.hotkey()).unwrap();
        expected.push((reason, target, me.to_string()));
        let sw = rogue(&key, version);
        tasks.push(tokio::spawn(attack(
            sw,
            net.addr(target),
            peer(target),
            at,
            what,
        )));
    }
    let mut reports = Vec::new();
    let mut penalties = Vec::new();
    collect(
        &mut rx,
        &mut reports,
        &mut penalties,
        net.genesis_ms + 3 * t + 5000,
    )
    .await;
    for (i, h) in running.iter().zip(handles) {
        h.await.unwrap().unwrap_or_else(|e| panic!("node {i}: {e}"));
    }
    for ((reason, target, _), task) in expected.iter().zip(tasks) {
        let closed = task.await.unwrap();
        let ms = closed.unwrap_or_else(|| {
            panic!("{reason}: the rogue was not disconnected; penalties {penalties:?}")
        });
        assert!(ms < 2000, "{reason}: disconnected after {ms} ms");
        eprintln!("{reason}: node {target} disconnected the rogue {ms} ms after the attack");
    }
    for (reason, target, who) in &expected {
        assert!(
            penalties
                .iter()
                .any(|(i, p, r)| i == target && p == who && r.contains(reason)),
            "node {target} did not reject {reason}: {penalties:?}"
        );
    }
    assert_eq!(penalties.len(), expected.len(), "{penalties:?}");
    let who = assert_agree(&reports, 3);
    for w in &who {
        assert_eq!(w, &running.to_vec());
    }
    let _ = std::fs::remove_dir_all(&net.dir);
}

//! A subnet of hosted nodes seen from outside, as `mycel localnet` runs it: the nodes of a
//! genesis ([`genesis_nodes`]: key, role, uid, name), the report each node prints when it
//! closes an epoch ([`EpochLine`], one JSON line of `mycel node`), and what the reports of all
//! nodes add up to ([`add_up`]: per epoch, each node's digest, the figures in simulate's format,
//! and every disagreement; [`Localnet::to_json`] is `localnet.json`, format [`FORMAT`]).
//!
//! No I/O here: the host starts the processes, reads their lines and writes the files.

use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use mycel_protocol::ids::{Digest, SigningKey};
use serde::{Deserialize, Serialize};

use super::{Closed, Hosted, Role, genesis_keys};
use crate::error::{Error, Result};
use crate::sim::log::{EpochRecord, MinerRecord, SimLog, ValidatorRecord};
use crate::sim::{Scenario, Subnet};

/// The `format` of a localnet log (`localnet.json`).
pub const FORMAT: &str = "mycel-localnet/v1";

/// One node of a subnet's genesis.
#[derive(Debug, Clone)]
pub struct GenesisNode {
    /// `validator-000`, `miner-004`, ...: its role and uid (the name of its files).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its uid.
    pub uid: u16,
    /// Its key ([`genesis_keys`]).
    pub key: SigningKey,
}

/// Every node of the subnet `scenario` describes, validators first (uid order), each key
/// checked to run as a network node ([`Hosted::new`]), so that a scenario the network does not
/// run fails once, here, rather than in every node process.
///
/// # Errors
/// [`Error::Scenario`] for an invalid scenario; [`Hosted::new`]'s errors.
pub fn genesis_nodes(scenario: &Scenario) -> Result<Vec<GenesisNode>> {
    genesis_keys(scenario)?
        .into_iter()
        .map(|key| {
            let me = Hosted::new(scenario.clone(), &key, None)?.me()?;
            Ok(GenesisNode {
                name: format!("{}-{:03}", me.role.name(), me.uid),
                role: me.role,
                uid: me.uid,
                key,
            })
        })
        .collect()
}

/// A node's report of an epoch it closed: the `epoch` event line of `mycel node` on stdout,
/// which `mycel localnet` reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLine {
    /// Always [`EpochLine::EVENT`].
    pub event: String,
    /// The epoch.
    pub epoch: u64,
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// The node's role.
    pub role: Role,
    /// The node's uid.
    pub uid: u16,
    /// The digest of the epoch's Yuma output as this node computed it, hex.
    pub epoch_digest: String,
    /// Validators: the receipts received; `null` for a miner.
    pub receipts: Option<u32>,
    /// Validators: ms from the first task sent to the last receipt received; `null` for a miner.
    pub receipts_ms: Option<u64>,
    /// The miners' figures (simulate's format).
    pub miners: Vec<MinerRecord>,
    /// The validators' figures (simulate's format).
    pub validators: Vec<ValidatorRecord>,
}

impl EpochLine {
    /// The `event` of an epoch line.
    pub const EVENT: &'static str = "epoch";

    /// The report of `closed` by the node `peer_id` (role `role`, uid `uid`); `receipts` is a
    /// validator's (receipts received, ms from its first task sent to its last receipt).
    #[must_use]
    pub fn new(
        peer_id: String,
        role: Role,
        uid: u16,
        closed: &Closed,
        receipts: Option<(u32, u64)>,
    ) -> Self {
        Self {
            event: Self::EVENT.into(),
            epoch: closed.epoch,
            peer_id,
            role,
            uid,
            epoch_digest: closed.digest.to_string(),
            receipts: receipts.map(|r| r.0),
            receipts_ms: receipts.map(|r| r.1),
            miners: closed.miners.clone(),
            validators: closed.validators.clone(),
        }
    }

    /// The line: one JSON object, every object's keys sorted, no newline.
    ///
    /// # Errors
    /// [`Error::Json`] (not expected).
    pub fn to_json(&self) -> Result<String> {
        sorted_json(self, false)
    }

    /// The epoch line `line` is, or `None` for another event or not an epoch line.
    #[must_use]
    pub fn from_json(line: &str) -> Option<Self> {
        serde_json::from_str::<Self>(line)
            .ok()
            .filter(|l| l.event == Self::EVENT)
    }
}

/// `value` as JSON with every object's keys sorted (as `serde_json::Value` writes them).
fn sorted_json<T: Serialize>(value: &T, pretty: bool) -> Result<String> {
    let v = serde_json::to_value(value).map_err(|e| Error::Json(e.to_string()))?;
    if pretty {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    }
    .map_err(|e| Error::Json(e.to_string()))
}

/// One node's entry of an epoch in `localnet.json`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeEpoch {
    /// The node's peer id.
    pub peer_id: String,
    /// Its role (as the host started it).
    pub role: Role,
    /// Its uid (as the host started it).
    pub uid: u16,
    /// Its epoch digest, hex.
    pub epoch_digest: String,
    /// Validators: receipts received.
    pub receipts: Option<u32>,
    /// Validators: ms from the first task sent to the last receipt received.
    pub receipts_ms: Option<u64>,
}

/// One epoch of `localnet.json`.
#[derive(Debug, Clone, Serialize)]
pub struct LocalnetEpoch {
    /// The epoch.
    pub epoch: u64,
    /// Each node that reported it, in the host's order.
    pub nodes: Vec<NodeEpoch>,
    /// The miners' figures: those of the lowest-uid validator that reported (every node builds
    /// them from the same gossiped summaries), else of the lowest-uid miner.
    pub miners: Vec<MinerRecord>,
    /// The validators' figures, from the same node.
    pub validators: Vec<ValidatorRecord>,
}

/// What the reports of every node of a localnet add up to.
#[derive(Debug, Clone)]
pub struct Localnet {
    /// Per epoch, `localnet.json`'s entries.
    pub epochs: Vec<LocalnetEpoch>,
    /// Per epoch, the figures as simulate's epoch records (no beacon, proofs or batch files:
    /// the nodes gossip them).
    pub records: Vec<EpochRecord>,
    /// Every way the nodes did not agree: an epoch some node did not report, an epoch with two
    /// digests.
    pub disagreements: Vec<String>,
}

/// Adds up the nodes' reports: `nodes` in the order the host started them, `reports[e][i]` the
/// line node `i` printed for epoch `e`, for the epochs `0..epochs` of `scenario`.
#[must_use]
pub fn add_up(
    scenario: &Scenario,
    epochs: u64,
    nodes: &[GenesisNode],
    mut reports: BTreeMap<u64, BTreeMap<usize, EpochLine>>,
) -> Localnet {
    let mut out = Localnet {
        epochs: Vec::new(),
        records: Vec::new(),
        disagreements: Vec::new(),
    };
    for e in 0..epochs {
        let got = reports.remove(&e).unwrap_or_default();
        let mut entries = Vec::new();
        let mut digests = BTreeMap::<&str, usize>::new();
        for (i, line) in &got {
            let Some(node) = nodes.get(*i) else { continue };
            *digests.entry(line.epoch_digest.as_str()).or_default() += 1;
            entries.push(NodeEpoch {
                peer_id: line.peer_id.clone(),
                role: node.role,
                uid: node.uid,
                epoch_digest: line.epoch_digest.clone(),
                receipts: line.receipts,
                receipts_ms: line.receipts_ms,
            });
        }
        if got.len() != nodes.len() {
            out.disagreements.push(format!(
                "epoch {e}: {} of {} nodes reported",
                got.len(),
                nodes.len()
            ));
        }
        if digests.len() > 1 {
            out.disagreements
                .push(format!("epoch {e}: {} different digests", digests.len()));
        }
        let source = got
            .values()
            .min_by_key(|l| (l.role != Role::Validator, l.uid));
        let (miners, validators) = source
            .map(|l| (l.miners.clone(), l.validators.clone()))
            .unwrap_or_default();
        out.records.push(EpochRecord {
            epoch: e,
            block: e.saturating_add(1).saturating_mul(scenario.emission.tempo),
            beacon: Digest([0; 32]),
            tasks: miners.iter().map(|m| u64::from(m.tasks)).sum(),
            validators: validators.clone(),
            miners: miners.clone(),
            fraud_proofs: Vec::new(),
            receipt_batches: Vec::new(),
        });
        out.epochs.push(LocalnetEpoch {
            epoch: e,
            nodes: entries,
            miners,
            validators,
        });
    }
    out
}

impl Localnet {
    /// The fraud proofs the validators published (gossiped, not written to files): the
    /// mismatches in their figures.
    #[must_use]
    pub fn published_proofs(&self) -> u64 {
        self.records
            .iter()
            .flat_map(|r| &r.validators)
            .map(|v| u64::from(v.mismatches))
            .sum()
    }

    /// The run as simulate's log of `scenario` (for its closing tables).
    ///
    /// # Errors
    /// [`Subnet::new`]'s errors.
    pub fn sim_log(&self, scenario: &Scenario) -> Result<SimLog> {
        let subnet = Subnet::new(scenario.clone())?;
        Ok(SimLog::new(&subnet, self.records.clone()))
    }

    /// `localnet.json` (format [`FORMAT`]): the epoch length and genesis, the count of peers
    /// penalized, and the epochs; pretty-printed, every object's keys sorted, ending in a
    /// newline.
    ///
    /// # Errors
    /// [`Error::Json`] (not expected).
    pub fn to_json(
        &self,
        epoch_ms: u64,
        genesis_ms: u64,
        penalized_peers: usize,
    ) -> Result<String> {
        #[derive(Serialize)]
        struct Doc<'a> {
            format: &'static str,
            epoch_ms: u64,
            genesis_ms: u64,
            penalized_peers: usize,
            epochs: &'a [LocalnetEpoch],
        }
        let doc = Doc {
            format: FORMAT,
            epoch_ms,
            genesis_ms,
            penalized_peers,
            epochs: &self.epochs,
        };
        Ok(sorted_json(&doc, true)? + "\n")
    }
}

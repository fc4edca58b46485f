//! The bounds a node puts on its peers (README, "Network limits", lists them with their flags).

use core::time::Duration;

use crate::wire::MAX_GOSSIP_LEN;

/// What a node accepts from its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest gossip message, bytes (`--max-gossip-bytes`; each kind has its own smaller
    /// bound as well, spec/net.md). Task frames have fixed bounds: 256 bytes for a request,
    /// 512 for a response (the protocol's envelope bounds).
    pub max_gossip_bytes: usize,
    /// Task requests accepted per second from one peer, with a burst of the same size
    /// (`--max-requests-per-sec`); a peer over it is disconnected and blocked.
    pub requests_per_sec: u32,
    /// Established connections in all (`--max-connections`).
    pub max_connections: u32,
    /// Established connections per peer (`--max-connections-per-peer`).
    pub max_connections_per_peer: u32,
    /// Incoming connections still in their handshake (`--max-pending`).
    pub max_pending: u32,
    /// How long a task request may take before it fails and is retried
    /// (`--request-timeout-ms`).
    pub request_timeout: Duration,
    /// How long a connection without streams stays open.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_gossip_bytes: MAX_GOSSIP_LEN,
            requests_per_sec: 256,
            max_connections: 256,
            max_connections_per_peer: 2,
            max_pending: 64,
            request_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// A token bucket: `rate` tokens a second, holding at most `rate`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens_milli: u64,
    last_ms: u64,
}

impl Bucket {
    pub(crate) fn new(rate: u32, now_ms: u64) -> Self {
        Self {
            tokens_milli: u64::from(rate) * 1000,
            last_ms: now_ms,
        }
    }

    /// Takes a token if there is one.
    pub(crate) fn take(&mut self, rate: u32, now_ms: u64) -> bool {
        let cap = u64::from(rate) * 1000;
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms;
        self.tokens_milli = cap.min(
            self.tokens_milli
                .saturating_add(elapsed.saturating_mul(u64::from(rate))),
        );
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

//! The transport: TCP, noise, yamux, and an optional fault-injecting wrapper around every TCP
//! connection (below noise), which delays writes and drops connections with a seeded
//! probability. Drops and delays therefore hit real libp2p connections: the streams, requests
//! and gossip on a dropped connection are lost, and the nodes must re-dial and retry.

use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll};
use core::time::Duration;
use std::io;
use std::sync::Arc;

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{PeerId, Transport, noise, tcp, yamux};

use crate::error::{Error, Result};

/// What the fault-injecting wrapper does to every connection. All zero: nothing (the
/// wrapper is then not installed at all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Per write, the probability (parts per million) that the connection is reset instead:
    /// everything in flight on it is lost.
    pub drop_ppm: u32,
    /// Per write, the probability (ppm) that it is held back by a delay first.
    pub delay_ppm: u32,
    /// The longest delay, ms (each delay is uniform in `1..=max_delay_ms`).
    pub max_delay_ms: u64,
    /// Seed of the faults' random stream (each connection draws its own from it).
    pub seed: u64,
}

impl Faults {
    /// Whether any fault is configured.
    #[must_use]
    pub const fn any(&self) -> bool {
        self.drop_ppm > 0 || (self.delay_ppm > 0 && self.max_delay_ms > 0)
    }
}

static DROPS: AtomicU64 = AtomicU64::new(0);
static DELAYS: AtomicU64 = AtomicU64::new(0);

/// How many connections the fault injector has dropped and how many writes it has delayed in
/// this process so far (tests check that faults did happen).
#[must_use]
pub fn injected() -> (u64, u64) {
    (
        DROPS.load(Ordering::Relaxed),
        DELAYS.load(Ordering::Relaxed),
    )
}

/// A splitmix64 stream: small, seeded, good enough to pick faults.
#[derive(Debug)]
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn ppm(&mut self, p: u32) -> bool {
        p > 0 && (self.next() % 1_000_000) < u64::from(p)
    }
}

/// A TCP stream with faults injected on its writes.
#[derive(Debug)]
pub struct FaultyStream<S> {
    inner: S,
    faults: Faults,
    rng: Mix,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    dead: bool,
}

impl<S> FaultyStream<S> {
    fn new(inner: S, faults: Faults, stream_seed: u64) -> Self {
        Self {
            inner,
            faults,
            rng: Mix(faults.seed ^ stream_seed.wrapping_mul(0x2545_f491_4f6c_dd1d)),
            sleep: None,
            dead: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FaultyStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FaultyStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.dead {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if this.sleep.is_none() {
            if this.rng.ppm(this.faults.drop_ppm) {
                this.dead = true;
                DROPS.fetch_add(1, Ordering::Relaxed);
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "fault injected: connection dropped",
                )));
            }
            if this.faults.max_delay_ms > 0 && this.rng.ppm(this.faults.delay_ppm) {
                let ms = 1 + this.rng.next() % this.faults.max_delay_ms;
                DELAYS.fetch_add(1, Ordering::Relaxed);
                this.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_millis(ms))));
            }
        }
        if let Some(s) = this.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

use core::future::Future as _;

/// TCP (no Nagle) + noise + yamux, with `faults` injected below noise when any is set.
///
/// # Errors
/// [`Error::Libp2p`] if noise cannot be set up for the key.
pub fn build(key: &Keypair, faults: Faults) -> Result<Boxed<(PeerId, StreamMuxerBox)>> {
    let noise = noise::Config::new(key).map_err(|e| Error::Libp2p(e.to_string()))?;
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    if !faults.any() {
        return Ok(tcp
            .upgrade(Version::V1)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .timeout(Duration::from_secs(10))
            .boxed());
    }
    let counter = Arc::new(AtomicU64::new(0));
    Ok(tcp
        .map(move |stream, _| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            FaultyStream::new(stream, faults, n)
        })
        .upgrade(Version::V1)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .timeout(Duration::from_secs(10))
        .boxed())
}

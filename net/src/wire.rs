//! What travels between nodes (spec/net.md): the `/mycel/task/1` request-response frames and
//! the signed gossip envelopes. Every size is checked before anything is allocated, and every
//! body is decoded canonically (postcard, no trailing bytes, re-encoded and compared).

use std::io;
use std::vec::Vec;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use mycel_node::sim::hosted::Summary;
use mycel_protocol::ids::{Digest, Hotkey, NetworkId, Signature, SigningKey, SubnetId};
use mycel_protocol::scoring::{WeightCommit, WeightReveal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The request-response protocol: a validator sends a `TaskSpec` envelope, the miner answers
/// with its `SignedReceipt` envelope.
pub const TASK_PROTOCOL: StreamProtocol = StreamProtocol::new("/mycel/task/1");

/// The gossip envelope's first byte.
pub const NET_VERSION: u8 = 1;

/// The domain tag of a gossip signature: the signed bytes are `tag ‖ 0x00 ‖ postcard(Gossip)`.
pub const GOSSIP_TAG: &[u8] = b"mycel/net/v1/gossip";

/// Bytes of a frame's length prefix (u32, big-endian).
pub const FRAME_PREFIX: usize = 4;

/// The largest request frame (a `TaskSpec` envelope is at most 256 bytes).
pub const MAX_REQUEST_LEN: usize = 256;

/// The largest response frame (a `SignedReceipt` envelope is at most 512 bytes).
pub const MAX_RESPONSE_LEN: usize = 512;

/// The gossip message kinds, one byte each (the envelope's second byte), and their bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A validator's commitment to its sample secret (before any receipt).
    Opening = 0x10,
    /// A validator's receipt batch root and the sample secret behind its opening.
    Root = 0x11,
    /// A validator's verdict summary (counts and per-miner tallies).
    Summary = 0x12,
    /// A fraud proof (`mycel-fraud-proof/v1` JSON).
    Proof = 0x13,
    /// A weight commitment.
    Commit = 0x14,
    /// A weight reveal.
    Reveal = 0x15,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Opening,
        Kind::Root,
        Kind::Summary,
        Kind::Proof,
        Kind::Commit,
        Kind::Reveal,
    ];

    /// The kind with this code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == code)
    }

    /// The largest envelope of this kind, header included (spec/net.md).
    #[must_use]
    pub const fn max_len(self) -> usize {
        match self {
            Kind::Opening | Kind::Root | Kind::Commit => 512,
            Kind::Reveal => 32 * 1024,
            Kind::Proof => 96 * 1024,
            Kind::Summary => 1 << 20,
        }
    }

    /// The gossip topic it travels on: receipt roots, verdicts, proofs or weights.
    #[must_use]
    pub const fn topic(self) -> &'static str {
        match self {
            Kind::Opening | Kind::Root => "roots",
            Kind::Summary => "verdicts",
            Kind::Proof => "proofs",
            Kind::Commit | Kind::Reveal => "weights",
        }
    }

    /// A short name for logs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Opening => "opening",
            Kind::Root => "root",
            Kind::Summary => "summary",
            Kind::Proof => "proof",
            Kind::Commit => "commit",
            Kind::Reveal => "reveal",
        }
    }
}

/// The largest gossip envelope of any kind.
pub const MAX_GOSSIP_LEN: usize = 1 << 20;

/// The four topic names of a subnet.
pub const TOPICS: [&str; 4] = ["roots", "verdicts", "proofs", "weights"];

/// The full topic of a subnet: `mycel/1/<network hex>/<subnet>/<name>`.
#[must_use]
pub fn topic(network: &NetworkId, subnet: SubnetId, name: &str) -> String {
    format!("mycel/1/{network}/{}/{name}", subnet.0)
}

/// What a gossip message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// `secret_commitment(secret)` of the validator's sample secret for the epoch.
    Opening(Digest),
    /// The receipt batch root, its receipt count and the sample secret.
    Root {
        /// The Merkle root.
        root: Digest,
        /// Receipts in the batch.
        receipts: u32,
        /// The sample secret (opens the epoch's [`Payload::Opening`]).
        secret: [u8; 32],
    },
    /// A verdict summary.
    Summary(Summary),
    /// A fraud proof's JSON text.
    Proof(String),
    /// A weight commitment (its hotkey must be the signer).
    Commit(WeightCommit),
    /// A weight reveal (its hotkey must be the signer).
    Reveal(WeightReveal),
}

impl Payload {
    /// The payload's kind.
    #[must_use]
    pub const fn kind(&self) -> Kind {
        match self {
            Payload::Opening(_) => Kind::Opening,
            Payload::Root { .. } => Kind::Root,
            Payload::Summary(_) => Kind::Summary,
            Payload::Proof(_) => Kind::Proof,
            Payload::Commit(_) => Kind::Commit,
            Payload::Reveal(_) => Kind::Reveal,
        }
    }
}

/// A gossip message before signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gossip {
    /// The network.
    pub network: NetworkId,
    /// The subnet.
    pub subnet: SubnetId,
    /// The epoch it was published in.
    pub epoch: u64,
    /// The publication round (a republished message counts up, so its bytes differ).
    pub round: u8,
    /// The signer (a registered validator).
    pub signer: Hotkey,
    /// The content.
    pub payload: Payload,
}

/// A signed gossip message, as it travels in its envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedGossip {
    /// The message.
    pub gossip: Gossip,
    /// The signer's ed25519 signature over `GOSSIP_TAG ‖ 0x00 ‖ postcard(gossip)`.
    pub signature: Signature,
}

fn signed_bytes(g: &Gossip) -> Result<Vec<u8>> {
    let body = postcard::to_allocvec(g).map_err(|e| Error::Wire(format!("encoding: {e}")))?;
    let mut out = Vec::with_capacity(GOSSIP_TAG.len() + 1 + body.len());
    out.extend_from_slice(GOSSIP_TAG);
    out.push(0);
    out.extend_from_slice(&body);
    Ok(out)
}

impl SignedGossip {
    /// Signs `gossip` with `key` (whose hotkey must be the signer).
    ///
    /// # Errors
    /// [`Error::Wire`] if the key is not the signer's.
    pub fn sign(gossip: Gossip, key: &SigningKey) -> Result<Self> {
        if key.hotkey() != gossip.signer {
            return Err(Error::Wire("the signing key is not the signer's".into()));
        }
        let signature = key.sign_raw(&signed_bytes(&gossip)?);
        Ok(Self { gossip, signature })
    }

    /// The envelope: `[NET_VERSION, kind] ‖ postcard(self)`, within its kind's bound.
    ///
    /// # Errors
    /// [`Error::Wire`] for a message over its bound.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let kind = self.gossip.payload.kind();
        let mut out = std::vec![NET_VERSION, kind as u8];
        let out = postcard::to_extend(self, core::mem::take(&mut out))
            .map_err(|e| Error::Wire(format!("encoding: {e}")))?;
        if out.len() > kind.max_len() {
            return Err(Error::Wire(format!(
                "{} message of {} bytes exceeds its bound of {}",
                kind.name(),
                out.len(),
                kind.max_len()
            )));
        }
        Ok(out)
    }

    /// Decodes an envelope: the global and per-kind bounds first, then the version and kind,
    /// then the body canonically (no trailing bytes; re-encoding gives the same bytes); then
    /// the payload must be of the envelope's kind and the signature must verify under the
    /// strict rule (spec/signatures.md).
    ///
    /// # Errors
    /// [`Error::Wire`] naming the first broken rule.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_GOSSIP_LEN {
            return Err(Error::Wire(format!(
                "envelope of {} bytes exceeds {MAX_GOSSIP_LEN}",
                bytes.len()
            )));
        }
        let (version, code, body) = match bytes {
            [v, k, body @ ..] => (*v, *k, body),
            _ => return Err(Error::Wire("envelope shorter than its header".into())),
        };
        if version != NET_VERSION {
            return Err(Error::Wire(format!("unsupported version {version}")));
        }
        let kind = Kind::from_code(code)
            .ok_or_else(|| Error::Wire(format!("unknown kind {code:#04x}")))?;
        if bytes.len() > kind.max_len() {
            return Err(Error::Wire(format!(
                "{} envelope of {} bytes exceeds its bound of {}",
                kind.name(),
                bytes.len(),
                kind.max_len()
            )));
        }
        let (msg, rest): (Self, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| Error::Wire(format!("body: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::Wire(format!("{} trailing bytes", rest.len())));
        }
        if msg.gossip.payload.kind() != kind {
            return Err(Error::Wire(format!(
                "a {} payload in a {} envelope",
                msg.gossip.payload.kind().name(),
                kind.name()
            )));
        }
        let again = postcard::to_allocvec(&msg).map_err(|e| Error::Wire(format!("body: {e}")))?;
        if again != body {
            return Err(Error::Wire("body is not canonical".into()));
        }
        let signed = signed_bytes(&msg.gossip)?;
        mycel_protocol::sign::verify(msg.gossip.signer.as_bytes(), &signed, &msg.signature.0)
            .map_err(|e| Error::Wire(format!("signature: {e}")))?;
        Ok(msg)
    }
}

/// The `/mycel/task/1` codec: each message is one frame, a u32 big-endian length then that many
/// bytes. The length is checked against the bound before anything is read or allocated, so an
/// oversized frame is refused on its first four bytes.
#[derive(Debug, Clone, Copy)]
pub struct TaskCodec {
    /// The largest request frame accepted.
    pub max_request: usize,
    /// The largest response frame accepted.
    pub max_response: usize,
}

impl Default for TaskCodec {
    fn default() -> Self {
        Self {
            max_request: MAX_REQUEST_LEN,
            max_response: MAX_RESPONSE_LEN,
        }
    }
}

/// Reads one frame of at most `max` bytes.
///
/// # Errors
/// `InvalidData` for a frame over the bound or an empty one; I/O errors.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; FRAME_PREFIX];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the bound of {max}"),
        ));
    }
    if len == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "empty frame"));
    }
    let mut buf = std::vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one frame.
///
/// # Errors
/// `InvalidData` for a frame over `max`; I/O errors.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: &[u8],
    max: usize,
) -> io::Result<()> {
    if bytes.len() > max || u32::try_from(bytes.len()).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {} bytes exceeds the bound of {max}", bytes.len()),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

/// A task request as the codec reads it: the frame, or why it was refused. (libp2p drops a
/// codec's read errors without telling the node, so a refusal travels as a value and the node
/// penalizes the sender.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRequest {
    /// The frame's bytes (a `TaskSpec` envelope, still to be decoded).
    Frame(Vec<u8>),
    /// The frame broke a bound; nothing beyond its length prefix was read.
    Refused(String),
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for TaskCodec {
    type Protocol = StreamProtocol;
    type Request = TaskRequest;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<TaskRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_frame(io, self.max_request).await {
            Ok(bytes) => Ok(TaskRequest::Frame(bytes)),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Ok(TaskRequest::Refused(e.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: TaskRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            TaskRequest::Frame(bytes) => write_frame(io, &bytes, self.max_request).await,
            TaskRequest::Refused(why) => Err(io::Error::new(io::ErrorKind::InvalidInput, why)),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_response).await
    }
}

//! One key, two names: a node's libp2p identity is its mycel signing key, so its [`PeerId`] and
//! its hotkey name the same party.

use libp2p::PeerId;
use libp2p::identity::{Keypair, PublicKey, ed25519};
use mycel_protocol::ids::{Hotkey, SigningKey};

use crate::error::{Error, Result};

/// The libp2p keypair of a mycel signing key (the same ed25519 seed).
///
/// # Errors
/// [`Error::Libp2p`] if libp2p refuses the seed (not expected: every 32-byte seed is a key).
pub fn keypair(key: &SigningKey) -> Result<Keypair> {
    let mut seed = key.to_seed();
    Keypair::ed25519_from_bytes(&mut seed[..]).map_err(|e| Error::Libp2p(e.to_string()))
}

/// The [`PeerId`] of a hotkey.
///
/// # Errors
/// [`Error::Wire`] for 32 bytes that are not an ed25519 public key.
pub fn peer_id(hotkey: &Hotkey) -> Result<PeerId> {
    let pk = ed25519::PublicKey::try_from_bytes(hotkey.as_bytes())
        .map_err(|e| Error::Wire(format!("hotkey {hotkey}: {e}")))?;
    Ok(PublicKey::from(pk).to_peer_id())
}

/// The hotkey behind a libp2p public key, if it is ed25519.
#[must_use]
pub fn hotkey_of(public: &PublicKey) -> Option<Hotkey> {
    public
        .clone()
        .try_into_ed25519()
        .ok()
        .map(|k| Hotkey(k.to_bytes()))
}

//! Identities and identifiers: hotkeys, uids, subnet ids, epochs, digests, network ids and the
//! signing key.
//!
//! Byte-array ids encode as raw fixed-length bytes in the wire format (postcard) and as lowercase
//! hex strings in human-readable formats (JSON).

use core::fmt;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::{KeyError, Result};

/// Lowercase hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
        write!(f, "{}{}", char::from(hi), char::from(lo))?;
    }
    Ok(())
}

/// Parses a lowercase or uppercase hex string of exactly `N` bytes.
pub(crate) fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (hi, lo) = match pair {
            [hi, lo] => (*hi, *lo),
            _ => return None,
        };
        *o = (nibble(hi)? << 4) | nibble(lo)?;
    }
    Some(out)
}

/// Serializes a fixed byte array: raw bytes (a tuple) for binary formats, hex for text formats.
pub(crate) fn ser_bytes<S: Serializer, const N: usize>(
    bytes: &[u8; N],
    serializer: S,
) -> core::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    if serializer.is_human_readable() {
        struct Hex<'a>(&'a [u8]);
        impl fmt::Display for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, self.0)
            }
        }
        serializer.collect_str(&Hex(bytes))
    } else {
        let mut tup = serializer.serialize_tuple(N)?;
        for b in bytes {
            tup.serialize_element(b)?;
        }
        tup.end()
    }
}

/// Deserializes what [`ser_bytes`] writes.
pub(crate) fn de_bytes<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> core::result::Result<[u8; N], D::Error> {
    struct ArrayVisitor<const N: usize>;
    impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<[u8; N], E> {
            parse_hex::<N>(v).ok_or_else(|| E::custom("expected a hex string of the right length"))
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> core::result::Result<[u8; N], A::Error> {
            let mut out = [0u8; N];
            for (i, o) in out.iter_mut().enumerate() {
                *o = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    if deserializer.is_human_readable() {
        deserializer.deserialize_str(ArrayVisitor::<N>)
    } else {
        deserializer.deserialize_tuple(N, ArrayVisitor::<N>)
    }
}

/// Defines a fixed-size byte-array newtype with hex `Display`/`Debug` and dual serde encoding.
macro_rules! byte_id {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
            /// Parses a hex string of exactly the right length.
            pub fn from_hex(s: &str) -> Option<Self> {
                parse_hex::<$len>(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                write_hex(f, &self.0)?;
                write!(f, ")")
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                ser_bytes(&self.0, s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                de_bytes::<D, $len>(d).map(Self)
            }
        }
    };
}

byte_id!(
    /// A hotkey: the 32-byte encoding of an ed25519 public key. Holding one says nothing about
    /// validity; [`Hotkey::validate`] applies the key rules of spec/signatures.md.
    Hotkey,
    32
);

byte_id!(
    /// A SHA-256 digest (task digests, receipt ids, commitments, Merkle roots).
    Digest,
    32
);

byte_id!(
    /// A 32-byte network identifier; every receipt names the network it belongs to so it cannot
    /// be replayed on another.
    NetworkId,
    32
);

byte_id!(
    /// A 64-byte ed25519 signature: R (32 bytes) then S (32 bytes, little-endian).
    Signature,
    64
);

impl Hotkey {
    /// Checks the public-key rules of spec/signatures.md (canonical encoding, on the curve, not of
    /// small order). Registries SHOULD apply this once when a hotkey is registered.
    pub fn validate(&self) -> Result<()> {
        crate::sign::verify::check_public_key(&self.0)
            .map(|_| ())
            .map_err(Into::into)
    }
}

/// A neuron's position in a subnet's metagraph.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Uid(pub u16);

/// A subnet identifier (netuid).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SubnetId(pub u16);

/// An epoch number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u64);

/// An ed25519 signing key (RFC 8032 32-byte seed). The seed is wiped on drop and `Debug` prints
/// only the public key.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// The key whose RFC 8032 secret seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            inner: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The key for a seed given as a byte slice (must be 32 bytes).
    pub fn from_seed_slice(seed: &[u8]) -> Result<Self> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| KeyError::Length)?);
        Ok(Self::from_seed(&seed))
    }

    /// A fresh key from the operating system's random source.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| KeyError::Randomness)?;
        Ok(Self::from_seed(&seed))
    }

    /// A fresh key from caller-supplied randomness (for hosts without OS randomness).
    pub fn generate_with(fill: impl FnOnce(&mut [u8; 32])) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        fill(&mut seed);
        Self::from_seed(&seed)
    }

    /// The seed, for storing the key. The copy is wiped when dropped.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.inner.to_bytes())
    }

    /// The public key.
    pub fn hotkey(&self) -> Hotkey {
        Hotkey(self.inner.verifying_key().to_bytes())
    }

    /// Signs `message` as given (RFC 8032 Ed25519, deterministic). Protocol messages are signed
    /// through [`crate::sign::Signed::sign`], which adds the domain tag.
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        use ed25519_dalek::ed25519::signature::Signer as _;
        Signature(self.inner.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("hotkey", &self.hotkey())
            .finish_non_exhaustive()
    }
}

// ed25519_dalek::SigningKey wipes its secret on drop (its `zeroize` feature is on).
impl ZeroizeOnDrop for SigningKey {}

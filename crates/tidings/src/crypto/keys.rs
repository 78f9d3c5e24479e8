//! X25519 key pairs and the Diffie-Hellman function `DH()` of Noise §4.1.
//!
//! One type, [`StaticKeypair`], serves both static and ephemeral keys: the
//! core is sans-IO, so every secret arrives as 32 bytes the caller drew from
//! its own RNG. That is also why no `fixed_ephemeral_…_for_testing_only` hook
//! exists: tests simply pass fixed bytes.

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, ErrorKind, Result};

/// Length in bytes of an X25519 public key, secret key and DH output (`DHLEN`).
pub const DH_LEN: usize = 32;

/// An X25519 key pair. The secret is zeroized on drop and never printed.
///
/// The public key is computed once at construction (a fixed-base scalar
/// multiplication), so a long-lived server or device key costs nothing per
/// handshake.
#[derive(Clone)]
pub struct StaticKeypair {
    // `StaticSecret` zeroizes itself on drop (x25519-dalek feature `zeroize`).
    secret: StaticSecret,
    public: PublicKey,
}

impl StaticKeypair {
    /// Builds a key pair from 32 secret bytes (clamping happens inside X25519).
    ///
    /// The bytes are copied in; zeroize your own copy once this returns.
    pub fn from_secret_bytes(secret: [u8; DH_LEN]) -> Self {
        let mut bytes = secret;
        let secret = StaticSecret::from(bytes);
        bytes.zeroize();
        let public = PublicKey::from(&secret);
        StaticKeypair { secret, public }
    }

    /// Whether this pair was made from `secret` (both are the holder's own
    /// copies, so the comparison need not be constant-time).
    pub(crate) fn has_secret(&self, secret: &[u8; DH_LEN]) -> bool {
        *Zeroizing::new(self.secret.to_bytes()) == *secret
    }

    /// The public key, to publish or pin.
    pub fn public_key(&self) -> [u8; DH_LEN] {
        self.public.to_bytes()
    }

    /// `DH(self, their_public)`: the X25519 shared secret.
    ///
    /// Refuses with [`ErrorKind::LowOrderPoint`] when the result is all zeros,
    /// which happens exactly when `their_public` is a low-order point (or a
    /// non-canonical encoding of one): such a peer would force a shared secret
    /// that does not depend on our key. Noise §12.1 permits this error; the
    /// Tidings design requires it.
    pub fn diffie_hellman(&self, their_public: &[u8; DH_LEN]) -> Result<SharedSecret> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*their_public));
        if shared.was_contributory() {
            Ok(SharedSecret(shared))
        } else {
            Err(Error::new(
                ErrorKind::LowOrderPoint,
                "peer public key is a low-order point",
            ))
        }
    }

    /// `DH(self, peer_public)` for a peer whose static key is known in
    /// advance, computed once to be reused by every IK handshake with it.
    pub fn static_static(&self, peer_public: &[u8; DH_LEN]) -> Result<StaticStaticDh> {
        Ok(StaticStaticDh::new(
            self.public_key(),
            *peer_public,
            *self.diffie_hellman(peer_public)?.as_bytes(),
        ))
    }
}

impl fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeypair")
            .field("public", &Hex(self.public.as_bytes()))
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The output of [`StaticKeypair::diffie_hellman`]; zeroized on drop, never printed.
pub struct SharedSecret(x25519_dalek::SharedSecret);

impl SharedSecret {
    /// The 32 shared bytes (input keying material for `MixKey`).
    pub fn as_bytes(&self) -> &[u8; DH_LEN] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// A precomputed static-static DH (the `ss` token of IK) for one pair of keys.
///
/// `DH(s, rs)` is the same on every handshake between two static keys, so it
/// can be computed once, as WireGuard does for its peers; each IK handshake
/// then costs one X25519 operation less on that side, with byte-identical
/// messages. A handshake uses it only if both public keys match its own `s`
/// and `rs`; otherwise it computes the DH as usual. It is as secret as the
/// static key itself: zeroized on drop (every clone too), never printed.
#[derive(Clone)]
pub struct StaticStaticDh {
    local_public: [u8; DH_LEN],
    peer_public: [u8; DH_LEN],
    shared: Zeroizing<[u8; DH_LEN]>,
}

impl StaticStaticDh {
    pub(crate) fn new(
        local_public: [u8; DH_LEN],
        peer_public: [u8; DH_LEN],
        shared: [u8; DH_LEN],
    ) -> Self {
        StaticStaticDh {
            local_public,
            peer_public,
            shared: Zeroizing::new(shared),
        }
    }

    /// The peer's static public key this value was computed for.
    pub fn peer_public(&self) -> [u8; DH_LEN] {
        self.peer_public
    }

    /// The shared secret, if it was computed for exactly these two keys.
    pub(crate) fn for_keys(
        &self,
        local: &[u8; DH_LEN],
        peer: &[u8; DH_LEN],
    ) -> Option<&[u8; DH_LEN]> {
        (self.local_public == *local && self.peer_public == *peer).then_some(&*self.shared)
    }
}

impl fmt::Debug for StaticStaticDh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticStaticDh")
            .field("peer_public", &Hex(&self.peer_public))
            .field("shared", &"<redacted>")
            .finish()
    }
}

/// Lower-case hex for public values in `Debug` output.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let keys = StaticKeypair::from_secret_bytes([0x42; 32]);
        let shown = format!("{keys:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&"42".repeat(32)));
        let peer = StaticKeypair::from_secret_bytes([7; 32]);
        let shared = keys.diffie_hellman(&peer.public_key()).unwrap();
        assert_eq!(format!("{shared:?}"), "SharedSecret(<redacted>)");
    }

    #[test]
    fn dh_agrees_both_ways() {
        let a = StaticKeypair::from_secret_bytes([1; 32]);
        let b = StaticKeypair::from_secret_bytes([2; 32]);
        let ab = a.diffie_hellman(&b.public_key()).unwrap();
        let ba = b.diffie_hellman(&a.public_key()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
    }
}

//! Reconnect: `Noise_IK` with the Tidings prologue, one round trip.
//!
//! The device (initiator) pins the server's static key. Its hello carries an
//! 8-byte big-endian timestamp, a strictly increasing per-device counter from
//! saved client state, then the early payload (read-only hello and resume
//! cursors; opaque here). The timestamp is the replay guard: the server
//! refuses a hello whose timestamp is not above the last one it accepted from
//! that device.
//!
//! The responder is a typestate: no [`Transport`] exists until
//! [`IkHello::accept`], so nothing can be acted on before the handshake is
//! complete and the replay check has passed.

use super::cipherstate::{MAX_MESSAGE_LEN, TAG_LEN};
use super::handshakestate::HandshakeState;
use super::keys::{DH_LEN, StaticKeypair, StaticStaticDh};
use super::pattern::HandshakePattern;
use super::prologue::{PROTOCOL_VERSION, prologue};
use super::transport::Transport;
use crate::error::{Error, ErrorKind, Result};

/// Length of the replay-guard timestamp that opens the hello payload.
pub const TIMESTAMP_LEN: usize = 8;

/// Bytes of the hello around its early payload: `e` (32), encrypted `s`
/// (32 + 16), the timestamp (8) and the payload tag (16).
pub const IK_HELLO_OVERHEAD: usize = DH_LEN + (DH_LEN + TAG_LEN) + TIMESTAMP_LEN + TAG_LEN;

/// Largest early payload a hello can carry within the 65,535-byte limit.
pub const MAX_EARLY_PAYLOAD_LEN: usize = MAX_MESSAGE_LEN - IK_HELLO_OVERHEAD;

fn ik_prologue() -> Vec<u8> {
    prologue(PROTOCOL_VERSION, HandshakePattern::Ik)
}

/// A device's pinned server, with the IK static-static DH computed once
/// (see [`StaticStaticDh`]): each reconnect then costs the device three X25519
/// operations instead of four.
pub struct PinnedServer {
    device_keys: StaticKeypair,
    static_static: StaticStaticDh,
}

impl PinnedServer {
    /// Pins `server_public` for `device_keys`. Fails with
    /// [`ErrorKind::LowOrderPoint`] if the pinned key is a low-order point.
    pub fn new(device_keys: &StaticKeypair, server_public: [u8; DH_LEN]) -> Result<Self> {
        Ok(PinnedServer {
            static_static: device_keys.static_static(&server_public)?,
            device_keys: device_keys.clone(),
        })
    }

    /// The pinned server static key.
    pub fn server_public(&self) -> [u8; DH_LEN] {
        self.static_static.peer_public()
    }

    /// Whether this pin was made for this device secret and server key.
    pub(crate) fn is_for(
        &self,
        device_secret: &[u8; DH_LEN],
        server_public: &[u8; DH_LEN],
    ) -> bool {
        self.server_public() == *server_public && self.device_keys.has_secret(device_secret)
    }
}

impl core::fmt::Debug for PinnedServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PinnedServer")
            .field("device_keys", &self.device_keys)
            .field("static_static", &self.static_static)
            .finish()
    }
}

/// The device side, before its hello is written.
#[derive(Debug)]
pub struct IkInitiator {
    handshake: HandshakeState,
    timestamp: u64,
}

impl IkInitiator {
    /// Starts a reconnect. `ephemeral_secret` must be 32 fresh random bytes;
    /// `timestamp` must exceed every timestamp this device sent before.
    pub fn new(
        device_keys: &StaticKeypair,
        server_public: [u8; DH_LEN],
        ephemeral_secret: [u8; DH_LEN],
        timestamp: u64,
    ) -> Self {
        let handshake = HandshakeState::initiator(
            HandshakePattern::Ik,
            &ik_prologue(),
            device_keys,
            ephemeral_secret,
            server_public,
        );
        IkInitiator {
            handshake,
            timestamp,
        }
    }

    /// Like [`new`](Self::new), reusing the pin's precomputed static-static DH.
    pub fn pinned(pin: &PinnedServer, ephemeral_secret: [u8; DH_LEN], timestamp: u64) -> Self {
        let handshake = HandshakeState::initiator(
            HandshakePattern::Ik,
            &ik_prologue(),
            &pin.device_keys,
            ephemeral_secret,
            pin.server_public(),
        )
        .with_static_static(&pin.static_static);
        IkInitiator {
            handshake,
            timestamp,
        }
    }

    /// Appends the hello (`-> e, es, s, ss` with timestamp || early payload) to `out`.
    pub fn write_hello(mut self, early_payload: &[u8], out: &mut Vec<u8>) -> Result<IkHelloSent> {
        if early_payload.len() > MAX_EARLY_PAYLOAD_LEN {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                "early payload too large",
            ));
        }
        let mut payload = Vec::with_capacity(TIMESTAMP_LEN.saturating_add(early_payload.len()));
        payload.extend_from_slice(&self.timestamp.to_be_bytes());
        payload.extend_from_slice(early_payload);
        self.handshake.write_message(&payload, out)?;
        Ok(IkHelloSent {
            handshake: self.handshake,
        })
    }
}

/// The device side, waiting for the server's response.
#[derive(Debug)]
pub struct IkHelloSent {
    handshake: HandshakeState,
}

impl IkHelloSent {
    /// Reads the response (`<- e, ee, se`), appends its payload to `out` and
    /// returns the transport. A response from anyone but the pinned server
    /// fails with [`ErrorKind::DecryptFailed`]; `out` is then unchanged.
    pub fn read_response(mut self, response: &[u8], out: &mut Vec<u8>) -> Result<Transport> {
        let start = out.len();
        self.handshake.read_message(response, out)?;
        self.handshake
            .into_transport()
            .inspect_err(|_| out.truncate(start))
    }
}

/// The server side, before the hello is read.
#[derive(Debug)]
pub struct IkResponder {
    handshake: HandshakeState,
}

impl IkResponder {
    /// Prepares to read one hello. `ephemeral_secret` must be 32 fresh random bytes.
    pub fn new(server_keys: &StaticKeypair, ephemeral_secret: [u8; DH_LEN]) -> Self {
        let handshake = HandshakeState::responder(
            HandshakePattern::Ik,
            &ik_prologue(),
            server_keys,
            ephemeral_secret,
        );
        IkResponder { handshake }
    }

    /// Reads and authenticates the hello. Fails with [`ErrorKind::DecryptFailed`]
    /// (wrong server key, prologue or version, tampering),
    /// [`ErrorKind::LowOrderPoint`] or [`ErrorKind::HandshakeMalformed`].
    pub fn read_hello(self, hello: &[u8]) -> Result<IkHello> {
        self.read_hello_with(hello, |_| None)
    }

    /// [`read_hello`](Self::read_hello) for a server that keeps a
    /// [`StaticStaticDh`] per enrolled device: `lookup` gets the device key
    /// as soon as it is decrypted and may return that device's value, saving
    /// one X25519 operation. Same messages, same checks, same errors.
    pub fn read_hello_with<'c>(
        mut self,
        hello: &[u8],
        lookup: impl FnOnce(&[u8; DH_LEN]) -> Option<&'c StaticStaticDh>,
    ) -> Result<IkHello> {
        let mut lookup = Some(lookup);
        let mut find = |device_key: &[u8; DH_LEN]| lookup.take().and_then(|f| f(device_key));
        let mut payload = Vec::new();
        self.handshake
            .read_message_with(hello, &mut payload, Some(&mut find))?;
        let device_key = self
            .handshake
            .remote_static()
            .ok_or_else(|| Error::new(ErrorKind::HandshakeMalformed, "hello lacks a static key"))?;
        let (timestamp, early) = payload
            .split_first_chunk::<TIMESTAMP_LEN>()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::HandshakeMalformed,
                    "hello payload lacks a timestamp",
                )
            })?;
        Ok(IkHello {
            timestamp: u64::from_be_bytes(*timestamp),
            early_payload: early.to_vec(),
            device_key,
            handshake: self.handshake,
        })
    }
}

/// An authenticated hello awaiting the server's decision.
///
/// Check [`device_key`](Self::device_key) against the enrolled devices and
/// look up that device's last accepted timestamp, then [`accept`](Self::accept)
/// or [`reject`](Self::reject). Until then the early payload may only be
/// inspected, never acted upon.
#[derive(Debug)]
pub struct IkHello {
    handshake: HandshakeState,
    device_key: [u8; DH_LEN],
    timestamp: u64,
    early_payload: Vec<u8>,
}

impl IkHello {
    /// The device's static public key, proven by the handshake.
    pub fn device_key(&self) -> [u8; DH_LEN] {
        self.device_key
    }

    /// `DH(server static, device static)` as this handshake used it, for
    /// the server's cache: a device that missed it costs no second X25519.
    pub fn static_static(&self) -> Option<StaticStaticDh> {
        self.handshake.static_static()
    }

    /// The device's replay-guard counter.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The early payload (read-only hello and resume cursors).
    pub fn early_payload(&self) -> &[u8] {
        &self.early_payload
    }

    /// Completes the handshake: appends the response (`<- e, ee, se` carrying
    /// `response_payload`) to `out` and returns the transport.
    ///
    /// Refuses with [`ErrorKind::Replay`] when `timestamp() <= last_seen_timestamp`,
    /// writing nothing. On success the caller must store `timestamp()` as the
    /// device's new last-seen value.
    pub fn accept(
        mut self,
        last_seen_timestamp: Option<u64>,
        response_payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Transport> {
        if last_seen_timestamp.is_some_and(|last| self.timestamp <= last) {
            return Err(Error::new(
                ErrorKind::Replay,
                "hello timestamp did not increase",
            ));
        }
        let start = out.len();
        self.handshake.write_message(response_payload, out)?;
        self.handshake
            .into_transport()
            .inspect_err(|_| out.truncate(start))
    }

    /// Abandons the handshake; nothing is sent and every key is wiped.
    pub fn reject(self) {}
}

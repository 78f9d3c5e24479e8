//! `HandshakeState` of Noise §5.3, driven by the token lists in [`super::pattern`].
//!
//! This is the generic, low-level layer: any prologue, any payloads. Tidings
//! code should use the typed wrappers ([`super::ik`], [`super::xk`]), which fix
//! the prologue and payload layout and make out-of-order calls impossible.
//!
//! The ephemeral key is an input, drawn by the caller from its RNG before the
//! handshake starts, so the state is deterministic given its inputs.

use core::fmt;

use zeroize::Zeroizing;

use super::cipherstate::{CipherState, MAX_MESSAGE_LEN};
use super::keys::{DH_LEN, StaticKeypair, StaticStaticDh};
use super::pattern::{HandshakePattern, Token};
use super::symmetricstate::{HASH_LEN, SymmetricState};
use super::transport::Transport;
use crate::error::{Error, ErrorKind, Result};

mod tokens;

/// Finds the precomputed static-static DH for a peer static key, if any.
pub(crate) type StaticStaticLookup<'f, 'c> =
    &'f mut dyn FnMut(&[u8; DH_LEN]) -> Option<&'c StaticStaticDh>;

/// Which side of the handshake this state plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends the first message.
    Initiator,
    /// Receives the first message.
    Responder,
}

/// A Noise handshake in progress.
///
/// Call [`write_message`](Self::write_message) and
/// [`read_message`](Self::read_message) alternately, as
/// [`is_my_turn`](Self::is_my_turn) says, until
/// [`is_finished`](Self::is_finished); then [`split`](Self::split). Any error
/// ends the handshake: later calls fail with [`ErrorKind::HandshakeOutOfOrder`].
pub struct HandshakeState {
    pattern: HandshakePattern,
    role: Role,
    symmetric: SymmetricState,
    s: StaticKeypair,
    e: StaticKeypair,
    rs: Option<[u8; DH_LEN]>,
    re: Option<[u8; DH_LEN]>,
    /// `DH(s, rs)` computed earlier for exactly this `s` and `rs`, if any.
    static_static: Option<Zeroizing<[u8; DH_LEN]>>,
    next_message: usize,
    failed: bool,
}

impl fmt::Debug for HandshakeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeState")
            .field("pattern", &self.pattern)
            .field("role", &self.role)
            .field("next_message", &self.next_message)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl HandshakeState {
    /// `Initialize()` for the initiator, who knows the responder's static key.
    pub fn initiator(
        pattern: HandshakePattern,
        prologue: &[u8],
        s: &StaticKeypair,
        ephemeral_secret: [u8; DH_LEN],
        responder_static: [u8; DH_LEN],
    ) -> Self {
        Self::new(
            pattern,
            Role::Initiator,
            prologue,
            s,
            ephemeral_secret,
            Some(responder_static),
        )
    }

    /// `Initialize()` for the responder.
    pub fn responder(
        pattern: HandshakePattern,
        prologue: &[u8],
        s: &StaticKeypair,
        ephemeral_secret: [u8; DH_LEN],
    ) -> Self {
        Self::new(
            pattern,
            Role::Responder,
            prologue,
            s,
            ephemeral_secret,
            None,
        )
    }

    fn new(
        pattern: HandshakePattern,
        role: Role,
        prologue: &[u8],
        s: &StaticKeypair,
        ephemeral_secret: [u8; DH_LEN],
        rs: Option<[u8; DH_LEN]>,
    ) -> Self {
        let mut symmetric = SymmetricState::new(pattern.protocol_name());
        symmetric.mix_hash(prologue);
        if pattern.responder_static_premessage() {
            // `<- s`: both sides hash the responder's static public key.
            let responder_static = match role {
                Role::Initiator => rs,
                Role::Responder => Some(s.public_key()),
            };
            if let Some(key) = responder_static {
                symmetric.mix_hash(&key);
            }
        }
        HandshakeState {
            pattern,
            role,
            symmetric,
            s: s.clone(),
            e: StaticKeypair::from_secret_bytes(ephemeral_secret),
            rs,
            re: None,
            static_static: None,
            next_message: 0,
            failed: false,
        }
    }

    /// Uses `precomputed` for the `ss` token if it was computed for this
    /// state's `s` and the already known `rs` (initiator side).
    pub(crate) fn with_static_static(mut self, precomputed: &StaticStaticDh) -> Self {
        self.adopt_static_static(precomputed);
        self
    }

    /// Keeps a copy of the precomputed `DH(s, rs)` if the keys match.
    fn adopt_static_static(&mut self, precomputed: &StaticStaticDh) {
        if let Some(rs) = self.rs {
            let shared = precomputed.for_keys(&self.s.public_key(), &rs);
            self.static_static = shared.map(|ss| Zeroizing::new(*ss));
        }
    }

    /// `DH(s, rs)` as this handshake used it (looked up or computed), for
    /// the owner's cache; `None` before the `ss` token.
    pub(crate) fn static_static(&self) -> Option<StaticStaticDh> {
        let (shared, peer_public) = (self.static_static.as_ref()?, self.rs?);
        Some(StaticStaticDh::new(
            self.s.public_key(),
            peer_public,
            **shared,
        ))
    }

    /// The pattern being run.
    pub fn pattern(&self) -> HandshakePattern {
        self.pattern
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// True when the next call must be [`write_message`](Self::write_message).
    pub fn is_my_turn(&self) -> bool {
        let initiator_writes = self.next_message % 2 == 0;
        !self.failed && !self.is_finished() && initiator_writes == (self.role == Role::Initiator)
    }

    /// True once every handshake message has been written or read.
    pub fn is_finished(&self) -> bool {
        self.next_message >= self.pattern.message_count()
    }

    /// The peer's static public key, once known (for the initiator: from the start).
    pub fn remote_static(&self) -> Option<[u8; DH_LEN]> {
        self.rs
    }

    /// `GetHandshakeHash()`: binds the whole transcript; final once finished.
    pub fn handshake_hash(&self) -> [u8; HASH_LEN] {
        self.symmetric.handshake_hash()
    }

    /// Writes the next handshake message carrying `payload`, appending it to `out`.
    ///
    /// A payload that would make the message exceed 65,535 bytes is refused
    /// with [`ErrorKind::MessageTooLarge`] and changes nothing. On any other
    /// failure `out` is unchanged and the handshake is over.
    pub fn write_message(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let tokens = self.turn(true)?;
        if self.message_len(tokens, payload.len()) > MAX_MESSAGE_LEN {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                "handshake message over 65535 bytes",
            ));
        }
        let start = out.len();
        let written = self.write_tokens(tokens, payload, out);
        self.finish_step(written, out, start)
    }

    /// Reads the next handshake message, appending its payload to `out`.
    ///
    /// On failure `out` is unchanged and the handshake is over. A bad tag is
    /// [`ErrorKind::DecryptFailed`], a low-order key [`ErrorKind::LowOrderPoint`],
    /// a wrong length [`ErrorKind::HandshakeMalformed`].
    pub fn read_message(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.read_message_with(message, out, None)
    }

    /// [`read_message`](Self::read_message), asking `lookup` for a
    /// precomputed `DH(s, rs)` as soon as the peer's static key is read.
    pub(crate) fn read_message_with(
        &mut self,
        message: &[u8],
        out: &mut Vec<u8>,
        lookup: Option<StaticStaticLookup<'_, '_>>,
    ) -> Result<()> {
        let tokens = self.turn(false)?;
        let start = out.len();
        let read = if message.len() > MAX_MESSAGE_LEN {
            Err(malformed("handshake message over 65535 bytes"))
        } else {
            self.read_tokens(tokens, message, out, lookup)
        };
        self.finish_step(read, out, start)
    }

    /// `Split()`: the transport ciphers as `(send, receive)` for this role.
    pub fn split(self) -> Result<(CipherState, CipherState)> {
        if self.failed || !self.is_finished() {
            return Err(out_of_order("split before the handshake finished"));
        }
        let (initiator_to_responder, responder_to_initiator) = self.symmetric.split();
        Ok(match self.role {
            Role::Initiator => (initiator_to_responder, responder_to_initiator),
            Role::Responder => (responder_to_initiator, initiator_to_responder),
        })
    }

    /// `Split()` into a Tidings [`Transport`] (rekey marker, budgets, fail-closed).
    pub fn into_transport(self) -> Result<Transport> {
        let hash = self.handshake_hash();
        let (send, recv) = self.split()?;
        Ok(Transport::new(send, recv, hash))
    }

    /// The tokens of the next message, if it is ours to `write` (or to read).
    fn turn(&self, write: bool) -> Result<&'static [Token]> {
        if self.failed || self.is_finished() || self.is_my_turn() != write {
            return Err(out_of_order("handshake step out of order"));
        }
        self.pattern
            .messages()
            .get(self.next_message)
            .copied()
            .ok_or_else(|| out_of_order("handshake already finished"))
    }

    /// Advances on success; on failure rolls `out` back and ends the handshake.
    fn finish_step(&mut self, step: Result<()>, out: &mut Vec<u8>, start: usize) -> Result<()> {
        match step {
            Ok(()) => self.next_message = self.next_message.saturating_add(1),
            Err(_) => {
                out.truncate(start);
                self.failed = true;
            }
        }
        step
    }
}

fn malformed(reason: &'static str) -> Error {
    Error::new(ErrorKind::HandshakeMalformed, reason)
}

fn out_of_order(reason: &'static str) -> Error {
    Error::new(ErrorKind::HandshakeOutOfOrder, reason)
}

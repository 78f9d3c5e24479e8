//! The transport cipher: Noise transport messages over an ordered stream.
//!
//! Nonces are implicit (each side counts its messages), so a duplicated,
//! reordered, dropped or truncated message fails authentication. Any failure
//! to open ends the transport for good: the peer reconnects and resumes, which
//! is cheaper and safer than guessing what went wrong.
//!
//! Rekeying is announced in-band. A transport message whose plaintext is empty
//! is the *rekey marker*: its sender calls Noise `Rekey()` on its send key right
//! after sealing it, and the receiver on its receive key right after opening
//! it. Real payloads are therefore never empty: [`Transport::seal`] refuses them.

use core::fmt;

use super::cipherstate::{CipherState, MAX_MESSAGE_LEN, TAG_LEN};
use super::rekey::{MAX_MESSAGES_PER_KEY, RekeyPolicy};
use super::resting::RestingCipher;
use super::symmetricstate::HASH_LEN;
use crate::error::{Error, ErrorKind, Result};

/// Largest plaintext one transport message can carry.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - TAG_LEN;

/// What [`Transport::open`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Opened {
    /// A payload; its plaintext was appended to `out`.
    Payload,
    /// The peer's rekey marker; the receive key has been rotated. `out` is unchanged.
    Rekeyed,
}

/// An established secure channel: one send and one receive cipher.
///
/// Calling order for a sender: `rekey_due(now)` → (`seal_rekey(now, out)` if
/// due) → `seal(payload, out)`. A receiver calls `open` for each message in
/// stream order. Keys are zeroized when the transport is dropped.
pub struct Transport {
    send: RestingCipher,
    recv: RestingCipher,
    handshake_hash: [u8; HASH_LEN],
    policy: RekeyPolicy,
    /// Messages sealed under the current send key, marker included.
    sent_under_key: u64,
    /// When the current send key was first seen in use; `None` until a
    /// time-carrying call (`rekey_due`, `seal_rekey`) has been made.
    key_started_ms: Option<u64>,
    closed: bool,
}

impl Transport {
    /// A transport over the `(send, receive)` ciphers of a finished
    /// handshake, with [`RekeyPolicy::DEFAULT`].
    pub(crate) fn new(
        send: CipherState,
        recv: CipherState,
        handshake_hash: [u8; HASH_LEN],
    ) -> Self {
        Transport {
            send: RestingCipher::new(send),
            recv: RestingCipher::new(recv),
            handshake_hash,
            policy: RekeyPolicy::DEFAULT,
            sent_under_key: 0,
            key_started_ms: None,
            closed: false,
        }
    }

    /// Replaces the rekey budget.
    pub fn set_rekey_policy(&mut self, policy: RekeyPolicy) {
        self.policy = policy;
    }

    /// The final handshake hash: a public value unique to this session, for
    /// channel binding (Noise §11.2).
    pub fn handshake_hash(&self) -> [u8; HASH_LEN] {
        self.handshake_hash
    }

    /// True once an `open` has failed; every later call then fails with
    /// [`ErrorKind::TransportClosed`].
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Frees the receive key's expanded schedule (1,176 bytes) until the
    /// next [`open`](Self::open), which rebuilds it from the key and nonce
    /// kept: a server's sessions hear from their devices seldom, and this
    /// is most of what an idle one holds.
    pub fn rest_receiving(&mut self) {
        self.recv.rest();
    }

    /// Frees the send key's expanded schedule until the next
    /// [`seal`](Self::seal) or [`seal_rekey`](Self::seal_rekey), as
    /// [`rest_receiving`](Self::rest_receiving) does for the other way.
    pub fn rest_sending(&mut self) {
        self.send.rest();
    }

    /// Whether the receive key's schedule is expanded now.
    pub fn is_receiving_expanded(&self) -> bool {
        self.recv.is_awake()
    }

    /// Whether the send key's schedule is expanded now.
    pub fn is_sending_expanded(&self) -> bool {
        self.send.is_awake()
    }

    /// The nonce the next sealed message will use.
    pub fn send_nonce(&self) -> u64 {
        self.send.nonce()
    }

    /// The nonce the next opened message must have used.
    pub fn receive_nonce(&self) -> u64 {
        self.recv.nonce()
    }

    /// Whether the send key has used up its [`RekeyPolicy`] budget at `now_ms`.
    ///
    /// The first time-carrying call starts the current key's clock, so call
    /// this before each send (it takes `&mut self` for that reason).
    pub fn rekey_due(&mut self, now_ms: u64) -> bool {
        if self.closed {
            return false;
        }
        let started = *self.key_started_ms.get_or_insert(now_ms);
        self.policy.is_due(self.sent_under_key, started, now_ms)
    }

    /// Seals one payload, appending the ciphertext (plaintext length + 16) to `out`.
    ///
    /// Refuses, changing nothing: an empty payload ([`ErrorKind::InvalidArgument`],
    /// empty is the rekey marker); one over [`MAX_PLAINTEXT_LEN`]
    /// ([`ErrorKind::MessageTooLarge`]); and a send key that has reached
    /// [`MAX_MESSAGES_PER_KEY`]` - 1` messages ([`ErrorKind::NonceExhausted`]:
    /// the last slot is kept for the rekey marker, so `seal_rekey` still works).
    pub fn seal(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.check_open()?;
        if plaintext.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "empty plaintext is reserved for the rekey marker",
            ));
        }
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                "transport payload over 65519 bytes",
            ));
        }
        if self.sent_under_key >= MAX_MESSAGES_PER_KEY - 1 {
            return Err(Error::new(
                ErrorKind::NonceExhausted,
                "AES-GCM message limit for this key reached; rekey first",
            ));
        }
        self.send
            .with(|send| send.encrypt_with_ad(&[], plaintext, out))?;
        self.sent_under_key = self.sent_under_key.saturating_add(1);
        Ok(())
    }

    /// Seals the rekey marker (16 bytes appended to `out`), then rotates the
    /// send key and restarts its budget at `now_ms`.
    pub fn seal_rekey(&mut self, now_ms: u64, out: &mut Vec<u8>) -> Result<()> {
        self.check_open()?;
        if self.sent_under_key >= MAX_MESSAGES_PER_KEY {
            return Err(Error::new(
                ErrorKind::NonceExhausted,
                "AES-GCM message limit for this key reached",
            ));
        }
        self.send.with(|send| {
            send.encrypt_with_ad(&[], &[], out)?;
            send.rekey();
            Ok::<_, Error>(())
        })?;
        self.sent_under_key = 0;
        self.key_started_ms = Some(now_ms);
        Ok(())
    }

    /// Opens the next message of the stream, appending its plaintext to `out`.
    ///
    /// Any failure (bad tag, wrong length, a duplicated, reordered or
    /// truncated message) is the one opaque [`ErrorKind::DecryptFailed`]: the
    /// receive counter does not advance, `out` keeps its length and contents,
    /// and the transport is closed.
    pub fn open(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<Opened> {
        self.check_open()?;
        let start = out.len();
        let opened = if ciphertext.len() > MAX_MESSAGE_LEN {
            Err(Error::from(ErrorKind::DecryptFailed))
        } else {
            self.recv
                .with(|recv| recv.decrypt_with_ad(&[], ciphertext, out))
        };
        if opened.is_err() {
            self.closed = true;
            return Err(Error::new(
                ErrorKind::DecryptFailed,
                "transport message failed authentication",
            ));
        }
        if out.len() == start {
            self.recv.with(CipherState::rekey);
            return Ok(Opened::Rekeyed);
        }
        Ok(Opened::Payload)
    }

    /// Sets both nonce counters, to reach the limits in tests.
    #[cfg(feature = "testing")]
    pub fn set_nonces_for_testing_only(&mut self, send: u64, receive: u64) {
        self.send.with(|cipher| cipher.set_nonce(send));
        self.recv.with(|recv| recv.set_nonce(receive));
    }

    /// Pretends `count` messages have been sealed under the current send key.
    #[cfg(feature = "testing")]
    pub fn set_sent_under_key_for_testing_only(&mut self, count: u64) {
        self.sent_under_key = count;
    }

    fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(
                ErrorKind::TransportClosed,
                "transport closed after a failed open",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("send_nonce", &self.send.nonce())
            .field("receive_nonce", &self.recv.nonce())
            .field("sent_under_key", &self.sent_under_key)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}
